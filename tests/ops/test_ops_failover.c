/*
 * What failover to the DRBD peer relies on (ops/RUNBOOK.md, "High
 * availability"): an engine started on a copy of the data directory taken
 * at an arbitrary instant under load recovers, checks clean, and has every
 * settle that was acknowledged before that instant.
 *
 * The instant: the engine is frozen (SIGSTOP) while a child process settles
 * without pause; the data directory is copied; then the engine is killed
 * (kill -9: node A is gone). The copy is the file as the kernel held it at
 * that instant, which holds every acknowledged write (each was synced before
 * its reply) and possibly more; the stricter power-cut case, where only what
 * reached the disk survives, is tests/fault's crash test. The kernel here
 * cannot run DRBD itself.
 */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

#define LOAD_MAX 100000
#define ACKED_MAX 100000

static struct engine_fixture f;
static pid_t load_pid = -1;
static struct engine_proc standby = {.pid = -1};

/* Settles until the engine goes; each acknowledged "id sid" line is written
 * (and flushed) to DIR/acked as soon as it is read. */
static void load_child(void)
{
    char path[PATH_MAX];
    FILE *out = fopen(fixture_path(&f, "acked", path), "w");
    struct tc *tc;
    if (out == NULL || fixture_connect(&f, "counter-h1", false, &tc) != 0)
        _exit(2);
    for (unsigned i = 0; i < LOAD_MAX; i++) {
        char id[32];
        snprintf(id, sizeof id, "fo-%u", i);
        Sanhe__Request *req = request_settle(id, FIXTURE_H1, false);
        Sanhe__Response *resp = NULL;
        int rc = tc_call(tc, req, &resp, 60000);
        if (rc == 0 && response_error(resp) == 0 && resp->settle != NULL) {
            fprintf(out, "%s %llu\n", id, (unsigned long long)resp->settle->settlement_id);
            fflush(out);
        }
        sanhe__response__free_unpacked(resp, NULL);
        request_free(req);
        if (rc != 0)
            break;
    }
    fclose(out);
    _exit(0);
}

static void test_failover_copy(void **state)
{
    (void)state;
    assert_int_equal(fixture_start(&f, NULL), 0);
    load_pid = fork();
    assert_true(load_pid >= 0);
    if (load_pid == 0)
        load_child();
    ops_sleep_ms(700 + (int)(getpid() % 500)); /* an arbitrary instant under load */

    assert_int_equal(kill(f.pid, SIGSTOP), 0);
    char data[PATH_MAX], copy[PATH_MAX];
    const char *const cp[] = {"/bin/cp", "-a", fixture_path(&f, "data", data),
                              fixture_path(&f, "standby-data", copy), NULL};
    assert_int_equal(fixture_run(cp, NULL, NULL), 0);
    ops_engine_kill(&f); /* node A is gone */
    int status = 0;
    assert_int_equal(waitpid(load_pid, &status, 0), load_pid);
    load_pid = -1;

    /* Node B: the copy, checked, then served. */
    assert_int_equal(ops_conf_replace(&f, "data_dir = data", "data_dir = standby-data"), 0);
    assert_int_equal(ops_engine(&f, "check", NULL, "standby-check"), 0);
    char conf[PATH_MAX], port[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
    unlink(fixture_path(&f, "port", port));
    assert_int_equal(engine_proc_start(&standby, SANHE_ENGINE_PATH,
                                       fixture_path(&f, "engine.conf", conf), port,
                                       fixture_path(&f, "standby.out", out),
                                       fixture_path(&f, "standby.err", err), 15000),
                     0);
    f.port = standby.port;
    struct tc *tc;
    assert_int_equal(fixture_connect(&f, "counter-h1", false, &tc), 0);
    char path[PATH_MAX], id[64];
    unsigned long long sid;
    FILE *in = fopen(fixture_path(&f, "acked", path), "r");
    assert_non_null(in);
    size_t checked = 0;
    while (checked < ACKED_MAX && fscanf(in, "%63s %llu", id, &sid) == 2) {
        Sanhe__Request *req = request_settle(id, FIXTURE_H1, false);
        Sanhe__Response *resp = NULL;
        assert_int_equal(tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS), 0);
        assert_non_null(resp->settle);
        assert_int_equal(resp->settle->settlement_id, sid);
        sanhe__response__free_unpacked(resp, NULL);
        request_free(req);
        checked++;
    }
    fclose(in);
    fprintf(stderr, "failover: %zu settles acknowledged before the instant, all on the copy\n",
            checked);
    assert_true(checked > 0);
    tc_close(tc);
    assert_int_equal(engine_proc_stop(&standby, 15000), 0);
    fixture_stop(&f);
}

static int teardown(void **state)
{
    (void)state;
    if (load_pid > 0) {
        kill(load_pid, SIGKILL);
        waitpid(load_pid, NULL, 0);
    }
    if (f.pid > 0)
        ops_engine_kill(&f);
    if (standby.pid > 0)
        engine_proc_kill(&standby);
    fixture_stop(&f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_failover_copy, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
