/*
 * The LMDB store underneath the ledger: key layouts and their order, the
 * record codec, sticky transaction errors, nested transactions, the reused
 * read transaction, scans and the map's growth to its limit.
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

#include "store.h"
#include "store_codec.h"
#include "store_keys.h"

#define PERSON "330424196201120129"

/* ---- Keys ---------------------------------------------------------------------------------- */

static int sign(int v) { return (v > 0) - (v < 0); }

static void acc_keys_sort_by_year_fund_cap_group(void **state)
{
    (void)state;
    static const struct {
        int32_t year;
        const char *fund, *cap;
    } k[] = {
        {2025, "coop", "z"},         {2026, "assist", "assist"}, {2026, "assist", "outpatient"},
        {2026, "coop", "inpatient"}, {2026, "coop", "in"},       {2026, "co", "zz"},
        {2026, "coopx", ""}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        for (size_t j = 0; j < sizeof k / sizeof k[0]; j++) {
            uint8_t a[STORE_ACC_KEY_MAX], b[STORE_ACC_KEY_MAX];
            int la = store_key_acc(a, PERSON, k[i].year, k[i].fund, k[i].cap);
            int lb = store_key_acc(b, PERSON, k[j].year, k[j].fund, k[j].cap);
            assert_int_equal(la, 22 + strlen(k[i].fund) + 1 + strlen(k[i].cap));
            assert_int_equal(lb, 22 + strlen(k[j].fund) + 1 + strlen(k[j].cap));
            int want = k[i].year != k[j].year         ? sign(k[i].year - k[j].year)
                       : strcmp(k[i].fund, k[j].fund) ? sign(strcmp(k[i].fund, k[j].fund))
                                                      : sign(strcmp(k[i].cap, k[j].cap));
            /* LMDB's order: memcmp over the shorter, then the shorter first */
            int cmp = memcmp(a, b, (size_t)(la < lb ? la : lb));
            assert_int_equal(cmp != 0 ? sign(cmp) : sign(la - lb), want);
            assert_int_equal(sign(memcmp(a, b, sizeof a)), want); /* zero-filled: the same */
        }
    }
    uint8_t key[STORE_ACC_KEY_MAX];
    char person[SH_PERSON_ID_LEN + 1], fund[STORE_PAD], cap[STORE_PAD];
    int32_t year;
    int len = store_key_acc(key, PERSON, 2026, "coop", "inpatient");
    assert_int_equal(len, 22 + 5 + 9);
    assert_int_equal(store_key_acc_parse(key, (size_t)len, person, &year, fund, cap), 0);
    assert_string_equal(person, PERSON);
    assert_int_equal(year, 2026);
    assert_string_equal(fund, "coop");
    assert_string_equal(cap, "inpatient");
    char longest[STORE_PAD + 1];
    memset(longest, 'x', STORE_PAD);
    longest[STORE_PAD] = '\0';
    assert_int_equal(store_key_acc(key, PERSON, 2026, longest, "c"), -1);
    assert_int_equal(store_key_acc(key, "3304241962", 2026, "coop", "c"), -1);
    longest[STORE_PAD - 1] = '\0'; /* 31 characters fit */
    len = store_key_acc(key, PERSON, 2026, longest, longest);
    assert_int_equal(len, STORE_ACC_KEY_MAX - 1);
    assert_int_equal(store_key_acc_parse(key, (size_t)len, person, &year, fund, cap), 0);
    assert_string_equal(fund, longest);
    assert_string_equal(cap, longest);
    assert_int_equal(store_key_acc_parse(key, STORE_ACC_KEY_MAX, person, &year, fund, cap), 0);
    /* not keys: no NUL after the fund, too short, too long */
    assert_int_equal(store_key_acc_parse(key, 22 + 5, person, &year, fund, cap), -1);
    assert_int_equal(store_key_acc_parse(key, 22, person, &year, fund, cap), -1);
    assert_int_equal(store_key_acc_parse(key, STORE_ACC_KEY_MAX + 1, person, &year, fund, cap), -1);
}

static void request_and_day_keys(void **state)
{
    (void)state;
    uint8_t key[STORE_REQUEST_KEY_MAX];
    char h[SH_CODE_MAX], r[SH_CODE_MAX];
    int n = store_key_request(key, "H330424001", "a1");
    assert_int_equal(n, 13);
    assert_int_equal(store_key_request_parse(key, (size_t)n, h, r), 0);
    assert_string_equal(h, "H330424001");
    assert_string_equal(r, "a1");
    assert_int_equal(store_key_request(key, "H1", ""), -1);
    assert_int_equal(store_key_request(key, "H1", "0123456789abcdef0123456789abcdef"), -1);
    assert_int_equal(store_key_request_parse((const uint8_t *)"nonul", 5, h, r), -1);
    /* Day keys of one hospital and day are contiguous and in seq order. */
    uint8_t a[STORE_DAY_KEY_LEN], b[STORE_DAY_KEY_LEN], c[STORE_DAY_KEY_LEN];
    assert_int_equal(store_key_day(a, 20260301, "H1", 2), STORE_DAY_KEY_LEN);
    assert_int_equal(store_key_day(b, 20260301, "H1", 10), STORE_DAY_KEY_LEN);
    assert_int_equal(store_key_day(c, 20260301, "H10", 1), STORE_DAY_KEY_LEN);
    assert_true(memcmp(a, b, sizeof a) < 0 && memcmp(b, c, sizeof b) < 0);
    assert_memory_equal(a, b, STORE_DAY_PREFIX_LEN);
}

/* ---- Codec ----------------------------------------------------------------------------------- */

static void codec_round_trips_and_is_sticky(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct store_w w;
    store_w_init(&w, buf, sizeof buf);
    store_w_u8(&w, 7);
    store_w_u32(&w, 20260301);
    store_w_i64(&w, -5);
    store_w_str(&w, "coop");
    store_w_str(&w, NULL);
    assert_false(w.bad);
    struct store_r r;
    char s[8];
    store_r_init(&r, buf, w.len);
    assert_int_equal(store_r_u8(&r), 7);
    assert_int_equal(store_r_u32(&r), 20260301);
    assert_int_equal(store_r_i64(&r), -5);
    store_r_str(&r, s, sizeof s);
    assert_string_equal(s, "coop");
    store_r_str(&r, s, sizeof s);
    assert_string_equal(s, "");
    assert_true(store_r_done(&r));
    /* A string longer than the reader's buffer, a short read: bad, sticky. */
    uint8_t skip[13];
    store_r_init(&r, buf, w.len);
    store_r_bytes(&r, skip, sizeof skip);
    store_r_str(&r, s, 4); /* "coop" needs 5 bytes with its NUL */
    assert_true(r.bad);
    assert_int_equal(store_r_u32(&r), 0);
    assert_false(store_r_done(&r));
    store_r_init(&r, buf, 3);
    assert_int_equal(store_r_u32(&r), 0);
    assert_true(r.bad);
    /* The writer overflows once and stays overflowed. */
    store_w_init(&w, buf, 10);
    store_w_u64(&w, 1);
    store_w_u64(&w, 2);
    assert_true(w.bad);
    store_w_u8(&w, 1);
    assert_int_equal(w.len, 8);
    /* Leftover bytes: not done. */
    store_r_init(&r, buf, 9);
    store_r_u64(&r);
    assert_false(store_r_done(&r));
}

/* ---- The environment ------------------------------------------------------------------------- */

struct env {
    char dir[256];
    struct store store;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static struct env *env_open(uint64_t initial, uint64_t max)
{
    struct env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    snprintf(e->dir, sizeof e->dir, "/tmp/sanhe-store-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    struct store_config cfg = {
        .dir = e->dir, .map_size_initial = initial, .map_size_max = max, .durable = false};
    struct sh_error err = {0};
    assert_int_equal(store_open(&e->store, &cfg, &err), 0);
    return e;
}

static void env_close(struct env *e)
{
    store_close(&e->store);
    nftw(e->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(e);
}

static bool has(struct store *s, const char *key)
{
    struct store_txn t;
    MDB_val v;
    assert_int_equal(store_read_begin(s, &t), 0);
    bool found = store_get(&t, STORE_DB_META, key, strlen(key), &v);
    store_read_end(&t);
    return found;
}

static void txn_errors_are_sticky(void **state)
{
    (void)state;
    struct env *e = env_open(0, 0);
    struct store_txn t;
    assert_int_equal(store_write_begin(&e->store, NULL, &t), 0);
    store_put(&t, STORE_DB_META, "a", 1, "1", 1);
    char big[1024];
    memset(big, 'k', sizeof big);
    store_put(&t, STORE_DB_META, big, sizeof big, "x", 1); /* key too long for LMDB */
    assert_int_equal(t.ret, SH_E_INTERNAL);
    assert_int_equal(t.mdb_rc, MDB_BAD_VALSIZE);
    store_put(&t, STORE_DB_META, "b", 1, "1", 1); /* a no-op now */
    MDB_val v;
    assert_false(store_get(&t, STORE_DB_META, "a", 1, &v));
    assert_int_equal(store_write_commit(&t), SH_E_INTERNAL); /* aborts */
    assert_false(has(&e->store, "a"));
    assert_false(has(&e->store, "b"));
    assert_int_equal(store_error_map(MDB_MAP_FULL), SH_E_STORAGE_FULL);
    assert_int_equal(store_error_map(MDB_TXN_FULL), SH_E_LIMIT_EXCEEDED);
    assert_int_equal(store_error_map(MDB_CORRUPTED), SH_E_INTERNAL);
    assert_true(store_error_is_pressure(MDB_MAP_FULL));
    assert_true(store_error_is_fatal(MDB_PANIC));
    assert_false(store_error_is_fatal(MDB_MAP_FULL));
    env_close(e);
}

static void nested_txns_and_the_reused_read_txn(void **state)
{
    (void)state;
    struct env *e = env_open(0, 0);
    struct store_txn parent, child, read;
    MDB_val v;
    assert_int_equal(store_write_begin(&e->store, NULL, &parent), 0);
    store_put(&parent, STORE_DB_META, "p", 1, "1", 1);
    assert_int_equal(store_write_begin(&e->store, &parent, &child), 0);
    assert_true(store_get(&child, STORE_DB_META, "p", 1, &v)); /* sees the parent */
    store_put(&child, STORE_DB_META, "c1", 2, "1", 1);
    store_write_abort(&child);
    assert_false(store_get(&parent, STORE_DB_META, "c1", 2, &v));
    assert_int_equal(store_write_begin(&e->store, &parent, &child), 0);
    store_put(&child, STORE_DB_META, "c2", 2, "1", 1);
    assert_int_equal(store_write_commit(&child), 0);
    assert_true(store_get(&parent, STORE_DB_META, "c2", 2, &v));
    /* A read while the write is open sees only what is committed. */
    assert_int_equal(store_read_begin(&e->store, &read), 0);
    assert_false(store_get(&read, STORE_DB_META, "p", 1, &v));
    store_read_end(&read);
    assert_int_equal(store_write_commit(&parent), 0);
    assert_true(has(&e->store, "p"));
    assert_true(has(&e->store, "c2"));
    assert_false(has(&e->store, "c1"));
    env_close(e);
}

static int count_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    (void)val;
    int *n = ctx;
    return ++*n == 3 ? 1 : 0; /* stop after three */
}

static int fail_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)ctx;
    (void)key;
    (void)val;
    return SH_E_BAD_REQUEST;
}

static void scans_stay_in_their_prefix(void **state)
{
    (void)state;
    struct env *e = env_open(0, 0);
    struct store_txn t;
    assert_int_equal(store_write_begin(&e->store, NULL, &t), 0);
    const char *keys[] = {"a1", "b1", "b2", "b3", "b4", "c1"};
    for (size_t i = 0; i < 6; i++)
        store_put(&t, STORE_DB_META, keys[i], 2, "", 0);
    int n = 0;
    store_scan(&t, STORE_DB_META, "b", 1, count_one, &n);
    assert_int_equal(n, 3);
    n = -100;
    store_scan(&t, STORE_DB_META, "b", 1, count_one, &n);
    assert_int_equal(n, -96);
    n = -100;
    store_scan(&t, STORE_DB_META, NULL, 0, count_one, &n);
    assert_int_equal(n, -94);
    assert_int_equal(store_count(&t, STORE_DB_META), 6);
    assert_int_equal(t.ret, 0);
    store_scan(&t, STORE_DB_META, "c", 1, fail_one, NULL);
    assert_int_equal(t.ret, SH_E_BAD_REQUEST);
    store_write_abort(&t);
    env_close(e);
}

static void map_grows_to_its_limit(void **state)
{
    (void)state;
    struct env *e = env_open(1 << 20, 4 << 20);
    assert_int_equal(e->store.map_size, 1 << 20);
    assert_int_equal(store_grow(&e->store), 0);
    assert_int_equal(e->store.map_size, 2 << 20);
    assert_int_equal(store_grow(&e->store), 0);
    assert_int_equal(store_grow(&e->store), SH_E_STORAGE_FULL);
    assert_int_equal(e->store.map_size, 4 << 20);
    /* Fill it: MDB_MAP_FULL comes back as STORAGE_FULL, nothing kept. */
    struct store_txn t;
    assert_int_equal(store_write_begin(&e->store, NULL, &t), 0);
    static uint8_t val[4000];
    for (uint32_t i = 0; t.ret == 0 && i < 10000; i++) {
        uint8_t key[4];
        store_be32_put(key, i);
        store_put(&t, STORE_DB_JOURNAL, key, sizeof key, val, sizeof val);
    }
    assert_int_equal(t.ret, SH_E_STORAGE_FULL);
    assert_int_equal(t.mdb_rc, MDB_MAP_FULL);
    store_write_abort(&t);
    assert_int_equal(store_grow(&e->store), SH_E_STORAGE_FULL);
    assert_int_equal(store_write_begin(&e->store, NULL, &t), 0);
    assert_int_equal(store_count(&t, STORE_DB_JOURNAL), 0);
    store_write_abort(&t);
    env_close(e);
}

static void open_refuses_a_bad_config(void **state)
{
    (void)state;
    struct store s;
    struct sh_error err = {0};
    struct store_config cfg = {.dir = "/nonexistent/sanhe"};
    assert_int_equal(store_open(&s, &cfg, &err), SH_E_INTERNAL);
    cfg.dir = "/tmp";
    cfg.map_size_initial = 8 << 20;
    cfg.map_size_max = 4 << 20;
    assert_int_equal(store_open(&s, &cfg, &err), SH_E_BAD_REQUEST);
    cfg.dir = NULL;
    assert_int_equal(store_open(&s, &cfg, &err), SH_E_BAD_REQUEST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(acc_keys_sort_by_year_fund_cap_group),
        cmocka_unit_test(request_and_day_keys),
        cmocka_unit_test(codec_round_trips_and_is_sticky),
        cmocka_unit_test(txn_errors_are_sticky),
        cmocka_unit_test(nested_txns_and_the_reused_read_txn),
        cmocka_unit_test(scans_stay_in_their_prefix),
        cmocka_unit_test(map_grows_to_its_limit),
        cmocka_unit_test(open_refuses_a_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
