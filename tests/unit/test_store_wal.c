/*
 * The store's write-ahead log (engine/store/store_wal.h, docs/storage.md):
 * a store left without a clean close (a child process that ends without
 * store_close; the page cache keeps its writes, the power cut cases are
 * tests/powercut's) is recovered by redoing its records past the last
 * checkpoint, across a ring that wrapped; nested aborts leave nothing in
 * the log; a commit too large for a record is made durable at once; a
 * not-durable open replays the log and marks it clean; an idle store
 * checkpoints by itself, so that a crash after it has nothing to redo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"

#define SEGMENT (32u << 10)
#define COMMITS 200u /* about 1 KiB each: the ring of 4 x 32 KiB wraps */
#define VALUE 900u
#define NEVER_MS 0xffffffffu

static uint32_t checkpoint_ms = NEVER_MS; /* cfg_of's */

struct fx {
    char dir[256];
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/sanhe-wal-XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct store_config cfg_of(const struct fx *f, bool durable, bool read_only)
{
    return (struct store_config){.dir = f->dir,
                                 .durable = durable,
                                 .read_only = read_only,
                                 .wal_segment_bytes = SEGMENT,
                                 .wal_checkpoint_bytes = 1ull << 40,
                                 .wal_checkpoint_ms = checkpoint_ms};
}

static void value_of(uint32_t i, uint8_t *v)
{
    for (uint32_t j = 0; j < VALUE; j++)
        v[j] = (uint8_t)(i * 31u + j);
}

static void put_one(struct store *s, uint32_t i)
{
    struct store_txn txn;
    uint8_t v[VALUE];
    char key[16];
    value_of(i, v);
    snprintf(key, sizeof key, "k%05u", i);
    assert_int_equal(store_write_begin(s, NULL, &txn), 0);
    store_put(&txn, STORE_DB_META, key, strlen(key), v, sizeof v);
    assert_int_equal(store_write_commit(&txn), 0);
    assert_int_equal(store_sync(s), 0);
}

/* Whether key i holds its value (want) or is absent (!want). */
static void expect_key(struct store *s, const char *key, const uint8_t *val, size_t len, bool want)
{
    struct store_txn txn;
    MDB_val v;
    assert_int_equal(store_read_begin(s, &txn), 0);
    bool found = store_get(&txn, STORE_DB_META, key, strlen(key), &v);
    assert_int_equal(found, want);
    if (want) {
        assert_int_equal(v.mv_size, len);
        assert_memory_equal(v.mv_data, val, len);
    }
    store_read_end(&txn);
}

/* Runs fn on a durable store in a child that ends without closing it. */
static void crash_child(const struct fx *f, void (*fn)(struct store *s))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store s;
        struct sh_error err = {0};
        struct store_config c = cfg_of(f, true, false);
        if (store_open(&s, &c, &err) != 0)
            _exit(3);
        fn(&s);
        _exit(0); /* no store_close: the checkpoint stays the open's */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void many_commits(struct store *s)
{
    for (uint32_t i = 0; i < COMMITS; i++)
        put_one(s, i);
    struct store_wal_stats ws;
    store_wal_stats(s, &ws);
    /* A ring with no free segment ahead is checkpointed before a
     * transaction (checkpoints_waited) or, failing that, at a commit. */
    if (ws.records < COMMITS / 2 || ws.segment_switches < 4 ||
        ws.ring_full + ws.checkpoints_waited == 0)
        _exit(4); /* the ring did not wrap as the test means it to */
}

static void recovers_across_a_wrapped_ring(void **state)
{
    struct fx *f = *state;
    crash_child(f, many_commits);
    struct store s;
    struct sh_error err = {0};
    struct store_config ro = cfg_of(f, true, true);
    /* The log is not replayed and no engine runs: a read-only open refuses. */
    assert_int_not_equal(store_open(&s, &ro, &err), 0);
    assert_non_null(strstr(err.msg, "not closed cleanly"));
    struct store_config rw = cfg_of(f, true, false);
    assert_int_equal(store_open(&s, &rw, &err), 0);
    struct store_wal_stats ws;
    store_wal_stats(&s, &ws);
    assert_true(ws.replayed > 0); /* the last ring-full checkpoint was before the end */
    for (uint32_t i = 0; i < COMMITS; i++) {
        uint8_t v[VALUE];
        char key[16];
        value_of(i, v);
        snprintf(key, sizeof key, "k%05u", i);
        expect_key(&s, key, v, sizeof v, true);
    }
    put_one(&s, COMMITS); /* the new generation writes on */
    store_close(&s);
    /* Closed cleanly: a read-only open reads it all. */
    assert_int_equal(store_open(&s, &ro, &err), 0);
    uint8_t v[VALUE];
    value_of(COMMITS, v);
    char key[16];
    snprintf(key, sizeof key, "k%05u", COMMITS);
    expect_key(&s, key, v, sizeof v, true);
    store_close(&s);
}

static void nested_commits(struct store *s)
{
    struct store_txn top, child;
    assert_int_equal(store_write_begin(s, NULL, &top), 0);
    store_put(&top, STORE_DB_META, "a", 1, "1", 1);
    assert_int_equal(store_write_begin(s, &top, &child), 0);
    store_put(&child, STORE_DB_META, "b", 1, "2", 1);
    store_write_abort(&child);
    assert_int_equal(store_write_begin(s, &top, &child), 0);
    store_put(&child, STORE_DB_META, "c", 1, "3", 1);
    store_del(&child, STORE_DB_META, "a", 1);
    store_put(&child, STORE_DB_META, "a", 1, "4", 1);
    store_del(&child, STORE_DB_META, "nothing", 7); /* absent: nothing to redo */
    assert_int_equal(store_write_commit(&child), 0);
    assert_int_equal(store_write_commit(&top), 0);
    assert_int_equal(store_sync(s), 0);
}

static void nested_aborts_leave_nothing(void **state)
{
    struct fx *f = *state;
    crash_child(f, nested_commits);
    struct store s;
    struct sh_error err = {0};
    struct store_config rw = cfg_of(f, true, false);
    assert_int_equal(store_open(&s, &rw, &err), 0);
    struct store_wal_stats ws;
    store_wal_stats(&s, &ws);
    assert_int_equal(ws.replayed, 1); /* one record: the outermost commit */
    expect_key(&s, "a", (const uint8_t *)"4", 1, true);
    expect_key(&s, "b", NULL, 0, false);
    expect_key(&s, "c", (const uint8_t *)"3", 1, true);
    store_close(&s);
}

static void large_commit(struct store *s)
{
    struct store_txn txn;
    static uint8_t big[SEGMENT]; /* more than a record holds (a quarter segment) */
    memset(big, 7, sizeof big);
    assert_int_equal(store_write_begin(s, NULL, &txn), 0);
    store_put(&txn, STORE_DB_META, "big", 3, big, sizeof big);
    assert_int_equal(store_write_commit(&txn), 0);
    struct store_wal_stats ws;
    store_wal_stats(s, &ws);
    if (ws.large_commits != 1 || ws.records != 0)
        _exit(4);
    put_one(s, 1); /* and a record after it */
}

static void a_large_commit_is_durable_at_once(void **state)
{
    struct fx *f = *state;
    crash_child(f, large_commit);
    struct store s;
    struct sh_error err = {0};
    struct store_config rw = cfg_of(f, true, false);
    assert_int_equal(store_open(&s, &rw, &err), 0);
    struct store_wal_stats ws;
    store_wal_stats(&s, &ws);
    assert_int_equal(ws.replayed, 1); /* put_one's, after the large commit's checkpoint */
    static uint8_t big[SEGMENT];
    memset(big, 7, sizeof big);
    expect_key(&s, "big", big, sizeof big, true);
    store_close(&s);
}

static void one_commit(struct store *s) { put_one(s, 5); }

/* A store opened without durability replays the log, then marks it clean:
 * a later durable open must not bring back the checkpoint's old meta
 * pages over what the non-durable run wrote. */
static void a_not_durable_open_replays_and_marks_clean(void **state)
{
    struct fx *f = *state;
    crash_child(f, one_commit);
    struct store s;
    struct sh_error err = {0};
    struct store_config nd = cfg_of(f, false, false);
    assert_int_equal(store_open(&s, &nd, &err), 0);
    struct store_wal_stats ws;
    store_wal_stats(&s, &ws);
    assert_int_equal(ws.replayed, 1);
    put_one(&s, 6);
    store_close(&s);
    struct store_config rw = cfg_of(f, true, false);
    assert_int_equal(store_open(&s, &rw, &err), 0);
    uint8_t v[VALUE];
    value_of(6, v);
    expect_key(&s, "k00006", v, sizeof v, true);
    value_of(5, v);
    expect_key(&s, "k00005", v, sizeof v, true);
    store_close(&s);
}

static uint32_t idle_ckpt_ms; /* the checkpoint interval of idle_commits' store */

/* Five commits, then idle for ten checkpoint intervals. */
static void idle_commits(struct store *s)
{
    for (uint32_t i = 0; i < 5; i++)
        put_one(s, i);
    usleep(idle_ckpt_ms * 10u * 1000u);
}

/* A store that stops writing brings its memtable into LMDB by itself,
 * within a checkpoint interval: an open after a crash then finds nothing
 * to redo. With checkpoints that never come, the same crash leaves all
 * five records to redo. */
static void an_idle_store_checkpoints_by_itself(void **state)
{
    struct fx *f = *state;
    uint32_t intervals[2] = {20, NEVER_MS};
    uint64_t want[2] = {0, 5};
    for (int round = 0; round < 2; round++) {
        idle_ckpt_ms = intervals[round] == NEVER_MS ? 30 : intervals[round];
        checkpoint_ms = intervals[round];
        crash_child(f, idle_commits);
        struct store s;
        struct sh_error err = {0};
        struct store_config c = cfg_of(f, true, false);
        assert_int_equal(store_open(&s, &c, &err), 0);
        struct store_wal_stats ws;
        store_wal_stats(&s, &ws);
        assert_int_equal(ws.replayed, want[round]);
        uint8_t v[VALUE];
        value_of(4, v);
        expect_key(&s, "k00004", v, sizeof v, true);
        store_close(&s);
    }
    checkpoint_ms = NEVER_MS;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(recovers_across_a_wrapped_ring, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(nested_aborts_leave_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_large_commit_is_durable_at_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_not_durable_open_replays_and_marks_clean, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(an_idle_store_checkpoints_by_itself, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
