/*
 * The power-cut test (tests/powercut/README.md): records every write and
 * sync the ledger makes to its data file under an in-process workload
 * (pc_work.h, pc_record.h), builds the disk states a power cut could leave
 * (pc_state.h), recovers each one and checks it (pc_verify.h).
 *
 *   test_powercut [--mode pipelined|serial|server|ack-early] [--drop-synced]
 *                 [--expect-violations] [--states N] [--batches N]
 *
 * --mode ack-early and --drop-synced break the design or the harness on
 * purpose; with --expect-violations the test passes only when the states
 * show the loss, so the harness is shown able to fail.
 *
 * Half of the states come from a fixed seed (SANHE_POWERCUT_SEED to change
 * it), half from a fresh one printed at the start (SANHE_POWERCUT_FRESH_SEED
 * repeats a run). SANHE_POWERCUT_STATES overrides --states;
 * SANHE_POWERCUT_SECONDS bounds the time spent on states (default 300).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash_req.h"
#include "pc_record.h"
#include "pc_state.h"
#include "pc_verify.h"
#include "pc_work.h"

#define STATES_MIN 1000u /* what CI must run, each mode (normal build) */
#define STATES_ASAN 250u
#define SEED_FIXED 20261207u
#define VIOLATIONS_SHOWN 8
#define WAL_RING_WRAPPED 4u /* segment switches: every segment of the ring used, one reused */

static struct options {
    enum pc_mode mode;
    bool drop_synced;
    bool skip_restore;
    bool expect_violations;
    uint32_t states;
    uint32_t batches;
    uint64_t seed, fresh_seed;
    double seconds;
} opt = {.states = 1200, .batches = 40, .seconds = 300};

static const char *mode_name(enum pc_mode m)
{
    return m == PC_MODE_SERIAL      ? "serial"
           : m == PC_MODE_ACK_EARLY ? "ack-early"
           : m == PC_MODE_SERVER    ? "server"
                                    : "pipelined";
}

static const char *fate_name(enum pc_fate f)
{
    return f == PC_FATE_LOST ? "pending lost" : f == PC_FATE_KEPT ? "pending kept" : "random";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return dflt;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    return *end == '\0' ? (uint64_t)v : dflt;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- Crash points ------------------------------------------------------------------------------
 */

/* The points around each sync and acknowledgement after the reference
 * data's: just before a sync starts, just before it returns (the most
 * writes pending), just after, and just after each acknowledgement; and
 * the end of the log. */
static size_t crash_points(const struct pc_log *log, size_t start, size_t **out)
{
    size_t *p = malloc((log->n + 2) * sizeof *p), n = 0;
    assert_non_null(p);
    for (size_t c = start; c <= log->n; c++) {
        bool before = c < log->n &&
                      (log->events[c].kind == PC_SYNC_BEGIN || log->events[c].kind == PC_SYNC_END);
        bool after = log->events[c - 1].kind == PC_SYNC_END || log->events[c - 1].kind == PC_ACK;
        if (before || after || c == log->n)
            p[n++] = c;
    }
    *out = p;
    return n;
}

/* ---- The run ------------------------------------------------------------------------------------
 */

struct totals {
    uint32_t states, violating, distinct;
    uint32_t by_fate[3];
    struct pc_state_stats st;
    struct pc_verify_stats vs;
    uint64_t acked_checked; /* acknowledged requests covered, over all states */
};

static void add_state(struct totals *t, const struct pc_state_stats *s)
{
    t->st.durable_writes += s->durable_writes;
    t->st.pending_writes += s->pending_writes;
    t->st.pages_kept += s->pages_kept;
    t->st.pages_lost += s->pages_lost;
    t->st.pages_torn += s->pages_torn;
}

static size_t acked_count(const struct pc_work *w, size_t c)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        n += w->reqs[i].acked && w->reqs[i].ack_event < c;
    return n;
}

static void workload_coverage(const struct pc_work *w, const struct pc_log *log)
{
    uint32_t settles = 0, undos = 0, retries = 0, cancels = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct pc_request *r = &w->reqs[i];
        settles += r->op == SANHE__REQUEST__OP_SETTLE && r->ok && !r->retry;
        undos += r->undid && !r->retry;
        retries += r->retry;
        cancels += r->op == SANHE__REQUEST__OP_CANCEL;
    }
    printf("powercut: workload %s: %u batches, %zu requests (%u settles landed, %u undone, "
           "%u cancels, %u retries, %" PRIu64 " of them answered byte for byte), "
           "map grew %u times to %" PRIu64 " KiB\n",
           mode_name(w->mode), w->batches, w->n, settles, undos, cancels, retries,
           w->retries_same_bytes, w->info.map_grown, w->info.map_size >> 10);
    printf("powercut: log: %zu events, %" PRIu64 " writes (%" PRIu64 " vectored, %" PRIu64
           " bytes), %" PRIu64 " syncs, files:",
           log->n, log->writes, log->vectored, log->write_bytes, log->syncs);
    for (int f = 0; f < log->file_count; f++)
        printf(" %s", log->files[f]);
    printf("\n");
    const struct store_wal_stats *ws = &w->wal;
    printf("powercut: write-ahead log: %" PRIu64 " records (%" PRIu64 " bytes), %" PRIu64
           " segment switches, %" PRIu64 " checkpoints by the checkpoint thread, %" PRIu64
           " on the writer (%" PRIu64 " commits too large for a record, %" PRIu64
           " with the ring full, the rest at open and map growth)\n",
           ws->records, ws->record_bytes, ws->segment_switches, ws->checkpoints_async,
           ws->checkpoints_sync, ws->large_commits, ws->ring_full);
    if (log->unmodelled != 0)
        printf("powercut: %u calls outside the model, first: %s\n", log->unmodelled,
               log->unmodelled_what);
    assert_int_equal(log->unmodelled, 0);
    assert_true(log->file_count >= 1 && log->syncs > 0);
    assert_true(settles > 0 && undos > 0 && retries > 0 && cancels > 0);
    assert_true(w->retries_same_bytes > 0);
    /* The log's paths are all taken: records, checkpoints of both kinds,
     * the ring wrapped. */
    assert_true(ws->records > 0 && ws->checkpoints_sync > 0);
    /* A commit too large for a record comes from the workload's big batches;
     * the server's batches are whatever the loop read in one turn, so there
     * it depends on timing, and the in-process modes cover it. */
    if (w->mode != PC_MODE_SERVER)
        assert_true(ws->large_commits > 0);
    assert_true(ws->segment_switches >= WAL_RING_WRAPPED);
    if (w->mode != PC_MODE_SERIAL) /* serial checkpoints only when it must */
        assert_true(ws->checkpoints_async > 0);
    if (w->mode != PC_MODE_SERVER)           /* the server's store was made by sanhe-engine load */
        assert_true(w->info.map_grown >= 1); /* the workload covers map growth */
}

/* pc_verify in a child process: a store that crashes its reader (SIGBUS
 * on a map past the end of a short file, an assertion on a corrupt page)
 * is a violation like any other, and the test goes on. */
static void recover(const struct pc_work *w, size_t c, const char *dir, struct pc_verdict *v,
                    struct pc_verify_stats *vs)
{
    struct result {
        struct pc_verdict v;
        struct pc_verify_stats vs;
    } res;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        /* cmocka's handlers would report the child as a failed test. */
        const int sigs[] = {SIGBUS, SIGSEGV, SIGABRT, SIGILL, SIGFPE};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        memset(&res, 0, sizeof res);
        pc_verify(w, c, dir, &res.v, &res.vs);
        ssize_t n = write(fds[1], &res, sizeof res);
        _exit(n == (ssize_t)sizeof res ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof res) {
        ssize_t n = read(fds[0], (char *)&res + got, sizeof res - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got == sizeof res && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        *v = res.v;
        vs->opened += res.vs.opened;
        vs->checks += res.vs.checks;
        vs->settles_found += res.vs.settles_found;
        vs->undos_found += res.vs.undos_found;
        vs->replays_same += res.vs.replays_same;
        vs->fresh_settles += res.vs.fresh_settles;
        vs->replayed += res.vs.replayed;
        vs->replaying += res.vs.replaying;
        return;
    }
    memset(v, 0, sizeof *v);
    v->violations = 1;
    if (WIFSIGNALED(status))
        snprintf(v->first, sizeof v->first, "recovery crashed: %s", strsignal(WTERMSIG(status)));
    else
        snprintf(v->first, sizeof v->first, "recovery failed (exit %d)", WEXITSTATUS(status));
}

static void one_state(const struct pc_work *w, const struct pc_log *log, size_t c,
                      enum pc_fate fate, uint64_t seed, uint32_t k, const char *dir,
                      struct totals *t, uint8_t *seen)
{
    uint64_t rng = seed ^ (0x9e3779b97f4a7c15ull * (k + 1));
    struct pc_image img;
    struct pc_state_stats ss;
    assert_int_equal(pc_state_build(log, c, fate, &rng, opt.drop_synced, &img, &ss), 0);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(pc_image_write(log, &img, dir), 0);
    pc_image_free(&img);
    struct pc_verdict v;
    recover(w, c, dir, &v, &t->vs);
    t->states++;
    t->by_fate[fate]++;
    add_state(t, &ss);
    t->acked_checked += acked_count(w, c);
    if (!seen[c]) {
        seen[c] = 1;
        t->distinct++;
    }
    if (v.violations > 0 && t->violating++ < VIOLATIONS_SHOWN)
        printf("powercut: VIOLATION state %u (seed %" PRIu64 ", crash at event %zu of %zu, %s, "
               "%" PRIu64 " pending writes): %s%s\n",
               k, seed, c, log->n, fate_name(fate), ss.pending_writes, v.first,
               v.violations > 1 ? " (and more)" : "");
}

static void run(void **state)
{
    (void)state;
    char base[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/sanhe-powercut-XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(base));
    char rec[600], dir[600];
    snprintf(rec, sizeof rec, "%s/recorded", base);
    snprintf(dir, sizeof dir, "%s/state", base);
    assert_int_equal(mkdir(rec, 0700), 0);
    printf("powercut: mode %s%s, seed %" PRIu64 ", fresh seed %" PRIu64
           " (SANHE_POWERCUT_SEED, SANHE_POWERCUT_FRESH_SEED repeat it)\n",
           mode_name(opt.mode),
           opt.drop_synced    ? ", harness broken: last synced write dropped"
           : opt.skip_restore ? ", design broken: recovery without the meta restore"
                              : "",
           opt.seed, opt.fresh_seed);

    struct pc_work w;
    double t0 = now_s();
    if (opt.mode == PC_MODE_SERVER)
        assert_int_equal(pc_server_run(&w, opt.batches, opt.seed), 0);
    else
        assert_int_equal(pc_work_run(&w, rec, opt.mode, opt.batches, opt.seed), 0);
    const struct pc_log *log = pc_record_log();
    w.skip_restore = opt.skip_restore;
    workload_coverage(&w, log);

    size_t *points = NULL;
    size_t start = w.load_ack_event + 1;
    size_t np = crash_points(log, start, &points);
    assert_true(np > 0);
    uint8_t *seen = calloc(log->n + 1, 1);
    assert_non_null(seen);
    struct totals t = {0};
    double t1 = now_s();
    uint32_t half = opt.states / 2;
    for (uint32_t k = 0; k < opt.states && now_s() - t1 < opt.seconds; k++) {
        size_t c;
        enum pc_fate fate;
        uint64_t seed;
        if (k < half) { /* each point in turn, its fate changing from round to round */
            uint32_t turn = (k + k / (uint32_t)np) % 4;
            c = points[k % np];
            fate = turn == 0 ? PC_FATE_LOST : turn == 1 ? PC_FATE_KEPT : PC_FATE_RANDOM;
            seed = opt.seed;
        } else { /* anywhere after the reference data, random fates */
            uint64_t r = opt.fresh_seed ^ (0xd1b54a32d192ed03ull * (k + 1));
            c = crash_rng_below(&r, 2)
                    ? points[crash_rng_below(&r, (uint32_t)np)]
                    : start + crash_rng_below(&r, (uint32_t)(log->n - start + 1));
            fate = PC_FATE_RANDOM;
            seed = opt.fresh_seed;
        }
        one_state(&w, log, c, fate, seed, k, dir, &t, seen);
    }
    double t2 = now_s();

    printf("powercut: %u states (%u random, %u with every pending write lost, %u with every one "
           "kept) at %u distinct crash points (the %zu points around syncs and replies, and "
           "random ones among the %zu events after the reference data), in %.1f s (the "
           "workload %.1f s)\n",
           t.states, t.by_fate[PC_FATE_RANDOM], t.by_fate[PC_FATE_LOST], t.by_fate[PC_FATE_KEPT],
           t.distinct, np, log->n - start + 1, t2 - t1, t1 - t0);
    printf("powercut: writes laid: %" PRIu64 " synced, %" PRIu64 " pending (4 KiB pages: %" PRIu64
           " kept, %" PRIu64 " lost, %" PRIu64 " torn at 512-byte sectors)\n",
           t.st.durable_writes, t.st.pending_writes, t.st.pages_kept, t.st.pages_lost,
           t.st.pages_torn);
    printf("powercut: each state: opened as the engine does (%" PRIu64 " opened); "
           "sanhe-engine check's ledger_check after recovery and again after a retry batch and a "
           "new settle (%" PRIu64 " checks); every acknowledged settle queried for its "
           "breakdown and reversal (%" PRIu64 " found, %" PRIu64 " of them reversed as "
           "acknowledged); every acknowledged success resent with its request id (%" PRIu64
           " replayed byte for byte, no new settlement id); %" PRIu64 " new settles after "
           "recovery; %" PRIu64 " acknowledged requests covered in all; %" PRIu64
           " write-ahead log records redone, by %" PRIu64 " of the recoveries\n",
           t.vs.opened, t.vs.checks, t.vs.settles_found, t.vs.undos_found, t.vs.replays_same,
           t.vs.fresh_settles, t.acked_checked, t.vs.replayed, t.vs.replaying);
    printf("powercut: %u of %u states violate (%s)\n", t.violating, t.states,
           opt.expect_violations ? "expected: the design or the harness is broken on purpose"
                                 : "expected none");

    free(seen);
    free(points);
    pc_work_free(&w);
    pc_record_free();
    nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    assert_true(t.states >= (opt.states < STATES_MIN ? opt.states : STATES_MIN));
    if (opt.expect_violations)
        assert_true(t.violating > 0);
    else
        assert_int_equal(t.violating, 0);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: test_powercut [--mode pipelined|serial|server|ack-early] [--drop-synced] "
            "[--no-meta-restore] [--expect-violations] [--states N] [--batches N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--mode") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            opt.mode = strcmp(m, "serial") == 0      ? PC_MODE_SERIAL
                       : strcmp(m, "ack-early") == 0 ? PC_MODE_ACK_EARLY
                       : strcmp(m, "server") == 0    ? PC_MODE_SERVER
                       : strcmp(m, "pipelined") == 0 ? PC_MODE_PIPELINED
                                                     : (usage(), PC_MODE_PIPELINED);
        } else if (strcmp(a, "--drop-synced") == 0) {
            opt.drop_synced = true;
        } else if (strcmp(a, "--no-meta-restore") == 0) {
            opt.skip_restore = true;
        } else if (strcmp(a, "--expect-violations") == 0) {
            opt.expect_violations = true;
        } else if (strcmp(a, "--states") == 0 && i + 1 < argc) {
            opt.states = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--batches") == 0 && i + 1 < argc) {
            opt.batches = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else {
            usage();
        }
    }
#if defined(__SANITIZE_ADDRESS__)
    /* Under ASan a state costs ten times as much (most of it the fork of a
     * process with ASan's shadow maps): the normal build runs the states
     * CI asks for, the ASan build a sample of each mode. */
    if (opt.states > STATES_ASAN)
        opt.states = STATES_ASAN;
#endif
    opt.states = (uint32_t)env_u64("SANHE_POWERCUT_STATES", opt.states);
    opt.seconds = (double)env_u64("SANHE_POWERCUT_SECONDS", (uint64_t)opt.seconds);
    opt.seed = env_u64("SANHE_POWERCUT_SEED", SEED_FIXED);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    opt.fresh_seed =
        env_u64("SANHE_POWERCUT_FRESH_SEED", ((uint64_t)ts.tv_sec * 1000003u) ^
                                                 (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32));
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(run)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
