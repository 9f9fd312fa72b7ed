/*
 * sanhe-engine backup and restore (engine/app/backup.c): a hot backup taken
 * while a child process settles without pause, verified by check; a backup
 * into a directory that holds a store refused; restore refused while the
 * engine runs (exit 3), then done with the engine stopped; the restored
 * store checks clean and every settle acknowledged before the backup began
 * is there (resent with its request id after a restart, each is answered
 * with its own settlement id).
 */
#include <limits.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_proc.h"
#include "ops_util.h"

#define BEFORE 40
#define LOAD_ROUNDS_MAX 2000

static struct engine_fixture f;
static pid_t load_pid = -1;
static uint64_t before_ids[BEFORE];

static uint64_t settle(struct tc *tc, const char *id)
{
    Sanhe__Request *req = request_settle(id, FIXTURE_H1, false);
    Sanhe__Response *resp = NULL;
    uint64_t sid = 0;
    if (tc_call(tc, req, &resp, 30000) == 0 && response_error(resp) == 0 && resp->settle != NULL)
        sid = resp->settle->settlement_id;
    sanhe__response__free_unpacked(resp, NULL);
    request_free(req);
    return sid;
}

/* The load: settles one after another until SIGTERM; writes the count of
 * acknowledged ones to DIR/load.count at the end. */
static void load_child(void)
{
    /* SIGTERM stays pending (blocked) and is polled between settles. */
    bool stop = false;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct tc *tc;
    if (fixture_connect(&f, "counter-h1", false, &tc) != 0)
        _exit(2);
    unsigned acked = 0;
    for (unsigned i = 0; i < LOAD_ROUNDS_MAX && !stop; i++) {
        char id[32];
        snprintf(id, sizeof id, "load-%u", i);
        acked += settle(tc, id) != 0;
        sigset_t pending;
        sigpending(&pending);
        stop = sigismember(&pending, SIGTERM);
    }
    tc_close(tc);
    char path[PATH_MAX];
    FILE *out = fopen(fixture_path(&f, "load.count", path), "w");
    if (out != NULL) {
        fprintf(out, "%u\n", acked);
        fclose(out);
    }
    _exit(0);
}

static void test_backup_restore(void **state)
{
    (void)state;
    assert_int_equal(fixture_start(&f, NULL), 0);
    struct tc *tc;
    assert_int_equal(fixture_connect(&f, "counter-h1", false, &tc), 0);
    for (int i = 0; i < BEFORE; i++) {
        char id[32];
        snprintf(id, sizeof id, "before-%d", i);
        before_ids[i] = settle(tc, id);
        assert_true(before_ids[i] != 0);
    }
    tc_close(tc);

    load_pid = fork();
    assert_true(load_pid >= 0);
    if (load_pid == 0)
        load_child();
    ops_sleep_ms(300); /* the load is on */
    char bk[PATH_MAX], out[PATH_MAX];
    fixture_path(&f, "backup-1", bk);
    assert_int_equal(ops_engine(&f, "backup", bk, "backup"), 0);
    assert_true(ops_file_contains(fixture_path(&f, "backup.out", out), ": verified"));
    assert_true(ops_file_contains(out, "backup-1: clean"));
    /* A second backup into the same directory is refused. */
    assert_int_equal(ops_engine(&f, "backup", bk, "backup2"), 1);
    assert_true(ops_file_contains(fixture_path(&f, "backup2.out", out), "already holds a store"));
    ops_sleep_ms(200);
    kill(load_pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(load_pid, &status, 0), load_pid);
    load_pid = -1;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char count_path[PATH_MAX];
    unsigned load_acked = 0;
    FILE *in = fopen(fixture_path(&f, "load.count", count_path), "r");
    assert_non_null(in);
    assert_int_equal(fscanf(in, "%u", &load_acked), 1);
    fclose(in);
    fprintf(stderr, "backup under load: %u settles acknowledged by the load meanwhile\n",
            load_acked);
    assert_true(load_acked > 0);

    /* Restore: refused while the engine runs, done once it is stopped. */
    assert_int_equal(ops_engine(&f, "restore", bk, "restore-live"), 3);
    assert_int_equal(fixture_halt(&f), 0);
    assert_int_equal(ops_engine(&f, "restore", bk, "restore"), 0);
    assert_true(ops_file_contains(fixture_path(&f, "restore.out", out), ": clean"));
    assert_true(ops_file_contains(out, "previous store is kept as"));
    assert_int_equal(ops_engine(&f, "check", NULL, "check"), 0);

    char conf[PATH_MAX], port[PATH_MAX], eout[PATH_MAX], eerr[PATH_MAX];
    struct engine_proc p;
    unlink(fixture_path(&f, "port", port));
    assert_int_equal(engine_proc_start(&p, SANHE_ENGINE_PATH, fixture_path(&f, "engine.conf", conf),
                                       port, fixture_path(&f, "engine2.out", eout),
                                       fixture_path(&f, "engine2.err", eerr), 15000),
                     0);
    f.port = p.port;
    assert_int_equal(fixture_connect(&f, "counter-h1", false, &tc), 0);
    for (int i = 0; i < BEFORE; i++) {
        char id[32];
        snprintf(id, sizeof id, "before-%d", i);
        assert_int_equal(settle(tc, id), before_ids[i]);
    }
    tc_close(tc);
    assert_int_equal(engine_proc_stop(&p, 15000), 0);
    fixture_stop(&f);
}

static int teardown(void **state)
{
    (void)state;
    if (load_pid > 0) {
        kill(load_pid, SIGKILL);
        waitpid(load_pid, NULL, 0);
    }
    fixture_stop(&f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_backup_restore, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
