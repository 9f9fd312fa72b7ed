/*
 * `sanhe-engine check` on damaged stores (issue 24): a store with settles,
 * reverses and cancels (settled, reversed and cancelled by a real engine,
 * then stopped) is copied BITFLIP_COPIES times, each copy with
 * BITFLIP_BITS random bits flipped past LMDB's two meta pages, and checked.
 * Each check must end with a report: exit 0 (the bits fell where nothing
 * is read) or 1 with its "N problem(s)" line, within BITFLIP_CHECK_MS, and
 * never by a signal. A crash inside LMDB is the check's own child's
 * (engine/app/check.c), reported as damage; the check itself must not die.
 *
 * SANHE_BITFLIP_SEED repeats a run (the seed is printed, default fixed);
 * SANHE_BITFLIP_VERBOSE=1 prints the whole output of a check whose walk
 * crashed (under AddressSanitizer: where);
 * SANHE_TEST_ENGINE runs the checks of another build (an older engine,
 * whose check died of SIGSEGV on such a store).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "net_fixture.h"

#define BITFLIP_SEED_DEFAULT 20261207u
#define BITFLIP_COPIES 30
#define BITFLIP_BITS 20
#define BITFLIP_SETTLES 240
#define BITFLIP_META_BYTES (2 * 4096) /* LMDB's meta pages, at its default page size */
#define BITFLIP_CHECK_MS 60000        /* a hang is a failure too */
#define BITFLIP_STORE_MAX (64u << 20)

static struct engine_fixture fixture;

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- The store ------------------------------------------------------------------- */

static Sanhe__Request *request_reverse(const char *rid, const char *target)
{
    Sanhe__Request *r = calloc(1, sizeof *r);
    Sanhe__ReverseRequest *rev = calloc(1, sizeof *rev);
    assert_non_null(r);
    assert_non_null(rev);
    sanhe__request__init(r);
    sanhe__reverse_request__init(rev);
    r->request_id = strdup(rid);
    rev->target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
    rev->settlement_request_id = strdup(target);
    r->op_case = SANHE__REQUEST__OP_REVERSE;
    r->reverse = rev;
    return r;
}

static Sanhe__Request *request_cancel(const char *rid, const char *target)
{
    Sanhe__Request *r = calloc(1, sizeof *r);
    Sanhe__CancelRequest *c = calloc(1, sizeof *c);
    assert_non_null(r);
    assert_non_null(c);
    sanhe__request__init(r);
    sanhe__cancel_request__init(c);
    r->request_id = strdup(rid);
    c->cancel_of = strdup(target);
    r->op_case = SANHE__REQUEST__OP_CANCEL;
    r->cancel = c;
    return r;
}

static void call_ok(struct tc *tc, Sanhe__Request *request)
{
    Sanhe__Response *response = NULL;
    assert_int_equal(tc_call(tc, request, &response, FIXTURE_TIMEOUT_MS), 0);
    if (response_error(response) != 0)
        fail_msg("%s: %s", request->request_id,
                 response->error->message != NULL ? response->error->message : "");
    sanhe__response__free_unpacked(response, NULL);
    request_free(request);
}

/* Settles, every fifth reversed, every seventh other cancelled, cancels of ids
 * never sent (markers): every kind of record the check follows. */
static void fill_store(void)
{
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    char rid[32], target[32];
    for (int i = 0; i < BITFLIP_SETTLES; i++) {
        snprintf(rid, sizeof rid, "bf-s%d", i);
        call_ok(tc, request_settle(rid, FIXTURE_H1, false));
        if (i % 5 == 4) {
            snprintf(target, sizeof target, "bf-s%d", i);
            snprintf(rid, sizeof rid, "bf-r%d", i);
            call_ok(tc, request_reverse(rid, target));
        } else if (i % 7 == 6) {
            snprintf(target, sizeof target, "bf-s%d", i);
            snprintf(rid, sizeof rid, "bf-c%d", i);
            call_ok(tc, request_cancel(rid, target));
            snprintf(target, sizeof target, "bf-never%d", i);
            snprintf(rid, sizeof rid, "bf-m%d", i);
            call_ok(tc, request_cancel(rid, target));
        }
    }
    tc_close(tc);
}

static uint8_t *file_read(const char *path, size_t *len)
{
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    uint8_t *buf = malloc(BITFLIP_STORE_MAX);
    assert_non_null(buf);
    *len = fread(buf, 1, BITFLIP_STORE_MAX, in);
    assert_true(feof(in));
    fclose(in);
    return buf;
}

static void file_write(const char *path, const uint8_t *data, size_t len)
{
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(data, 1, len, out), len);
    assert_int_equal(fclose(out), 0);
}

/* ---- One check ------------------------------------------------------------------- */

struct outcome {
    int exited;   /* the exit status, or -1 */
    int signaled; /* the signal it died of, or 0 */
    bool hung;
    bool summary;     /* its "N problem(s)" line */
    bool child_crash; /* the walk's child died and the check said so */
};

static bool file_has(const char *path, const char *text)
{
    FILE *in = fopen(path, "r");
    if (in == NULL)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, in) != NULL)
        found = strstr(line, text) != NULL;
    fclose(in);
    return found;
}

static void print_head(const char *path, int lines_max)
{
    FILE *in = fopen(path, "r");
    char line[1024];
    for (int n = 0; in != NULL && n < lines_max && fgets(line, sizeof line, in) != NULL; n++)
        printf("  | %s", line);
    if (in != NULL)
        fclose(in);
}

/* The lines of path that contain text, prefixed with the copy's number. */
static void print_matching(const char *path, const char *text, int copy)
{
    FILE *in = fopen(path, "r");
    char line[1024];
    while (in != NULL && fgets(line, sizeof line, in) != NULL)
        if (strstr(line, text) != NULL)
            printf("bitflip: copy %d: %s", copy, line);
    if (in != NULL)
        fclose(in);
}

static struct outcome run_check(const char *out)
{
    char conf[PATH_MAX];
    fixture_path(&fixture, "engine.conf", conf);
    remove(out);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(fixture_engine(), fixture_engine(), "check", "-c", conf, (char *)NULL);
        _exit(127);
    }
    struct outcome o = {.exited = -1};
    int status = 0;
    int64_t deadline = now_ms() + BITFLIP_CHECK_MS;
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    if (got == 0) {
        o.hung = true;
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return o;
    }
    assert_int_equal(got, pid);
    if (WIFEXITED(status))
        o.exited = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        o.signaled = WTERMSIG(status);
    o.summary = file_has(out, " problem");
    o.child_crash = file_has(out, "stopped on signal");
    return o;
}

/* ---- The sweep -------------------------------------------------------------------- */

static void test_damaged_stores_get_a_report(void **state)
{
    (void)state;
    const char *env = getenv("SANHE_BITFLIP_SEED");
    uint64_t seed = env != NULL && env[0] != '\0' ? strtoull(env, NULL, 10) : BITFLIP_SEED_DEFAULT;
    printf("bitflip: seed %" PRIu64 " (SANHE_BITFLIP_SEED=%" PRIu64 " repeats it)\n", seed, seed);
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;

    fill_store();
    assert_int_equal(fixture_check(&fixture), 0); /* halts the engine: the store is at rest */
    char data[PATH_MAX], lock[PATH_MAX], out[PATH_MAX];
    fixture_path(&fixture, "data/data.mdb", data);
    fixture_path(&fixture, "data/lock.mdb", lock);
    fixture_path(&fixture, "bitflip.out", out);
    size_t len = 0;
    uint8_t *pristine = file_read(data, &len);
    assert_true(len > BITFLIP_META_BYTES * 4);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);

    int clean = 0, reported = 0, child_crashes = 0, failures = 0;
    int64_t t0 = now_ms();
    for (int n = 0; n < BITFLIP_COPIES; n++) {
        memcpy(copy, pristine, len);
        for (int b = 0; b < BITFLIP_BITS; b++) {
            size_t at = BITFLIP_META_BYTES + (size_t)(rng() % (len - BITFLIP_META_BYTES));
            copy[at] ^= (uint8_t)(1u << (rng() % 8));
        }
        remove(lock);
        file_write(data, copy, len);
        struct outcome o = run_check(out);
        bool ok = !o.hung && o.signaled == 0 && (o.exited == 0 || (o.exited == 1 && o.summary));
        if (!ok) {
            failures++;
            printf("bitflip: copy %d: %s %d; its output:\n", n,
                   o.hung       ? "hung, killed after ms"
                   : o.signaled ? "died of signal"
                                : "exited",
                   o.hung       ? BITFLIP_CHECK_MS
                   : o.signaled ? o.signaled
                                : o.exited);
            print_head(out, 10);
        }
        if (ok && o.child_crash)
            print_matching(out, "stopped on signal", n);
        if (ok && o.child_crash && getenv("SANHE_BITFLIP_VERBOSE") != NULL)
            print_head(out, 200);
        clean += ok && o.exited == 0;
        reported += ok && o.exited == 1;
        child_crashes += ok && o.child_crash;
    }
    printf("bitflip: %d copies of a %zu KiB store, %d bits each: %d clean, %d damage reported "
           "(%d of them a crash of the walk, reported), %d failed; %" PRId64 " ms\n",
           BITFLIP_COPIES, len / 1024, BITFLIP_BITS, clean, reported, child_crashes, failures,
           now_ms() - t0);
    free(copy);
    free(pristine);
    assert_int_equal(failures, 0);
    /* The bits must have done damage somewhere, or the sweep tests nothing. */
    assert_true(reported > 0);
}

static int group_setup(void **state)
{
    (void)state;
    return fixture_start(&fixture, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    fixture_stop(&fixture);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_stores_get_a_report),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
