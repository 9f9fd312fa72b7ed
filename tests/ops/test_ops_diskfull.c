/*
 * A full data file system (engine/net/diskfull.c): the data directory on a
 * small tmpfs this test mounts, filled up by a file beside it. Writes are
 * refused with STORAGE_FULL (never INTERNAL), the log says ENOSPC, reads go
 * on, writing resumes by itself once the file is removed, the store checks
 * clean, and every settle acknowledged before, during and after is still
 * there (resent with its request id after a restart, each is answered with
 * its own settlement id).
 *
 * Needs root (mount); skipped, saying so, when mounting is impossible.
 * On the code before, the refusals were INTERNAL and the log said nothing
 * of ENOSPC: the STORAGE_FULL and "ENOSPC" assertions fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_proc.h"
#include "ops_util.h"

#define ACKED_MAX 20000
#define PIPELINE 64
#define ROUNDS_MAX 200

static struct engine_fixture f;
static char mnt[PATH_MAX];
static struct {
    char id[32];
    uint64_t settlement_id;
} acked[ACKED_MAX];
static size_t acked_count;
static unsigned next_id;

struct round {
    size_t ok, full, other;
};

/* PIPELINE settles at once on tc; the acknowledged ones are remembered. */
static void settle_round(struct tc *tc, struct round *r)
{
    char ids[PIPELINE][32];
    for (int i = 0; i < PIPELINE; i++) {
        snprintf(ids[i], sizeof ids[i], "df-%u", next_id++);
        Sanhe__Request *req = request_settle(ids[i], FIXTURE_H1, false);
        assert_int_equal(tc_send(tc, req), 0);
        request_free(req);
    }
    for (int i = 0; i < PIPELINE; i++) {
        Sanhe__Response *resp = NULL;
        assert_int_equal(tc_recv(tc, &resp, 30000), 0);
        int err = response_error(resp);
        if (err == 0 && resp->settle != NULL && acked_count < ACKED_MAX) {
            snprintf(acked[acked_count].id, sizeof acked[0].id, "%s", resp->request_id);
            acked[acked_count++].settlement_id = resp->settle->settlement_id;
            r->ok++;
        } else if (err == SH_E_STORAGE_FULL) {
            r->full++;
        } else {
            fprintf(stderr, "unexpected answer to %s: %d\n", resp->request_id, err);
            r->other++;
        }
        sanhe__response__free_unpacked(resp, NULL);
    }
}

/* Writes a file until the file system is full; returns its size. */
static long long fill(const char *path)
{
    static char block[64 * 1024];
    memset(block, 0x5a, sizeof block);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    long long total = 0;
    for (;;) {
        ssize_t n = write(fd, block, sizeof block);
        if (n <= 0)
            break;
        total += n;
    }
    close(fd);
    return total;
}

static int start_engine(void)
{
    char conf[PATH_MAX], port[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
    struct engine_proc p;
    unlink(fixture_path(&f, "port", port));
    int rc = engine_proc_start(&p, SANHE_ENGINE_PATH, fixture_path(&f, "engine.conf", conf), port,
                               fixture_path(&f, "engine.out", out),
                               fixture_path(&f, "engine.err", err), 15000);
    f.pid = p.pid;
    f.port = p.port;
    f.halted = false;
    return rc;
}

static void test_disk_full(void **state)
{
    (void)state;
    assert_int_equal(fixture_start(&f, NULL), 0);
    assert_int_equal(fixture_halt(&f), 0);
    fixture_path(&f, "mnt", mnt);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=16m,mode=0700") != 0) {
        fprintf(stderr, "test_ops_diskfull: SKIPPED: cannot mount a tmpfs at %s: %s (needs root)\n",
                mnt, strerror(errno));
        mnt[0] = '\0';
        fixture_stop(&f);
        skip();
    }
    char data[PATH_MAX], filler[PATH_MAX];
    const char *const cp[] = {"/bin/cp", "-a", fixture_path(&f, "data", data), mnt, NULL};
    assert_int_equal(fixture_run(cp, NULL, NULL), 0);
    assert_int_equal(ops_conf_replace(&f, "data_dir = data", "data_dir = mnt/data"), 0);
    assert_int_equal(start_engine(), 0);

    struct tc *tc;
    assert_int_equal(fixture_connect(&f, "counter-h1", false, &tc), 0);
    struct round before = {0};
    settle_round(tc, &before);
    assert_int_equal(before.ok, PIPELINE);

    /* Full: rounds until one is refused (LMDB may reuse free pages first). */
    long long filled = fill(fixture_path(&f, "mnt/filler", filler));
    struct round during = {0};
    for (int i = 0; i < ROUNDS_MAX && during.full == 0; i++)
        settle_round(tc, &during);
    fprintf(stderr, "disk full: filler %lld bytes; %zu acknowledged, %zu STORAGE_FULL, %zu other\n",
            filled, during.ok, during.full, during.other);
    assert_true(during.full > 0);
    assert_int_equal(during.other, 0);
    assert_true(ops_log_wait(&f, "ENOSPC", 5000));
    /* Reads go on. */
    assert_int_equal(ops_call(tc, request_settle("df-read", FIXTURE_H1, true)), 0);
    assert_int_equal(ops_call(tc, request_query("df-q", acked[0].settlement_id)), 0);

    /* Space returns: writing resumes by itself. */
    assert_int_equal(unlink(filler), 0);
    struct round after = {0};
    settle_round(tc, &after);
    assert_int_equal(after.ok, PIPELINE);
    assert_true(ops_log_wait(&f, "writes resumed", 5000));
    tc_close(tc);

    /* Nothing acknowledged is lost: check, restart, resend every one. */
    assert_int_equal(fixture_halt(&f), 0);
    assert_int_equal(ops_engine(&f, "check", NULL, "check"), 0);
    assert_int_equal(start_engine(), 0);
    assert_int_equal(fixture_connect(&f, "counter-h1", false, &tc), 0);
    for (size_t i = 0; i < acked_count; i++) {
        Sanhe__Request *req = request_settle(acked[i].id, FIXTURE_H1, false);
        Sanhe__Response *resp = NULL;
        assert_int_equal(tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS), 0);
        assert_non_null(resp->settle);
        assert_int_equal(resp->settle->settlement_id, acked[i].settlement_id);
        sanhe__response__free_unpacked(resp, NULL);
        request_free(req);
    }
    fprintf(stderr, "disk full: all %zu acknowledged settles answered again as before\n",
            acked_count);
    tc_close(tc);
    assert_int_equal(fixture_halt(&f), 0);
    assert_int_equal(umount(mnt), 0);
    mnt[0] = '\0';
    fixture_stop(&f);
}

/* Whatever failed: no engine left running, no mount left behind. */
static int teardown(void **state)
{
    (void)state;
    if (f.pid > 0)
        ops_engine_kill(&f);
    if (mnt[0] != '\0')
        umount2(mnt, MNT_DETACH);
    if (f.dir[0] != '\0')
        fixture_stop(&f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_disk_full, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
