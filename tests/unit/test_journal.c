/*
 * The journal's hash chain (docs/storage.md#the-journal).
 *
 * Known answers: a fixed entry encodes to fixed bytes, and with a fixed
 * previous hash it hashes to a fixed digest, computed outside the engine
 * (SHA-256 of prev || body with Python's hashlib over the layout of
 * journal.h). ledger_check recomputes hashes with the engine's own
 * journal_hash, so a journal_hash that left the previous hash out would
 * still pass every check of a store it wrote itself: only an answer fixed
 * outside the engine catches it.
 *
 * Re-chained tampering: an entry is changed in a field nothing else
 * cross-checks (its time), and its hash recomputed with the engine's own
 * function, the way someone who had the code would. Fixing only that entry
 * and the next entry's prev_hash must be caught, because the next hash
 * covers its prev_hash; fixing every later hash too passes the check (the
 * store has nothing else to compare with) but changes the last hash, so an
 * anchor kept outside (a bureau's copy of the last hash) exposes it. A chain
 * whose hashes did not cover their predecessors would pass the first and
 * keep the anchor: both tests fail on it. And an entry whose prev_hash no
 * longer names its predecessor, every later hash recomputed, is caught by
 * the check's following of the links alone.
 */
#include <lmdb.h>
#include <openssl/evp.h>

#include "test_ledger_fixture.h"

#include "journal.h"
#include "store_keys.h"

static void hex_decode(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* ---- Known answers -------------------------------------------------------------------- */

static const char BODY_HEX[] =
    "010000000000000007013525cd01000000000000002a0000019ca6b1dc00000a483333303432343030"
    "31000000000003d090000000000000271000000000000013880000000000003a980000000000035b60"
    "000000000002bf200000000000011170020004636f6f7000000000000249f00006617373697374000000"
    "0000007530";
/* SHA-256(00 01 02 .. 1f || body) */
static const char HASH_HEX[] = "a84b08d76f97fa247984d2030c8a2ee7e19316ffe2f887cf44b9f59dd21cfcbc";
/* SHA-256(32 zero bytes || body): the first entry of a journal */
static const char HASH_FIRST_HEX[] =
    "2709cec5630f626f8512354250ae407dbb3c8c16cc09ea1ee9852d351f9fea93";

static void fixed_entry(struct journal_entry *e)
{
    memset(e, 0, sizeof *e);
    e->seq = 7;
    e->day = 20260301;
    e->kind = JOURNAL_SETTLE;
    e->settlement_id = 42;
    e->time_ms = 1772323200000LL;
    snprintf(e->hospital, sizeof e->hospital, "%s", "H330424001");
    e->total = 250000;
    e->out_of_scope = 10000;
    e->over_limit = 5000;
    e->pre_selfpay = 15000;
    e->in_scope = 220000;
    e->fund_total = 180000;
    e->patient_pays = 70000;
    e->fund_count = 2;
    snprintf(e->funds[0].fund, sizeof e->funds[0].fund, "%s", "coop");
    e->funds[0].pay = 150000;
    snprintf(e->funds[1].fund, sizeof e->funds[1].fund, "%s", "assist");
    e->funds[1].pay = 30000;
}

static void body_is_the_known_bytes(void **state)
{
    (void)state;
    struct journal_entry e;
    fixed_entry(&e);
    uint8_t body[JOURNAL_BODY_MAX], want[(sizeof BODY_HEX - 1) / 2];
    hex_decode(BODY_HEX, want, sizeof want);
    size_t len = journal_body_encode(&e, body, sizeof body);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(body, want, sizeof want);
}

static void hash_is_the_known_digest(void **state)
{
    (void)state;
    struct journal_entry e;
    fixed_entry(&e);
    uint8_t body[JOURNAL_BODY_MAX], prev[LEDGER_HASH_LEN], got[LEDGER_HASH_LEN];
    uint8_t want[LEDGER_HASH_LEN];
    for (size_t i = 0; i < sizeof prev; i++)
        prev[i] = (uint8_t)i;
    size_t len = journal_body_encode(&e, body, sizeof body);
    assert_true(len > 0);
    assert_int_equal(journal_hash(prev, body, len, got), 0);
    hex_decode(HASH_HEX, want, sizeof want);
    assert_memory_equal(got, want, sizeof want);
    /* The first entry's prev_hash is 32 zero bytes. */
    memset(prev, 0, sizeof prev);
    assert_int_equal(journal_hash(prev, body, len, got), 0);
    hex_decode(HASH_FIRST_HEX, want, sizeof want);
    assert_memory_equal(got, want, sizeof want);
}

/* One bit of the previous hash changes the digest: the hash covers it. */
static void hash_covers_the_previous_hash(void **state)
{
    (void)state;
    struct journal_entry e;
    fixed_entry(&e);
    uint8_t body[JOURNAL_BODY_MAX], prev[LEDGER_HASH_LEN] = {0};
    uint8_t a[LEDGER_HASH_LEN], b[LEDGER_HASH_LEN];
    size_t len = journal_body_encode(&e, body, sizeof body);
    assert_int_equal(journal_hash(prev, body, len, a), 0);
    prev[LEDGER_HASH_LEN - 1] ^= 0x01;
    assert_int_equal(journal_hash(prev, body, len, b), 0);
    assert_memory_not_equal(a, b, LEDGER_HASH_LEN);
}

/* ---- Re-chained tampering through raw LMDB -------------------------------------------- */

struct raw {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi journal, meta;
};

static void raw_open(struct fx *f, struct raw *r)
{
    ledger_close(f->ledger);
    f->ledger = NULL;
    assert_int_equal(mdb_env_create(&r->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(r->env, 32), 0);
    assert_int_equal(mdb_env_open(r->env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
    assert_int_equal(mdb_dbi_open(r->txn, "journal", 0, &r->journal), 0);
    assert_int_equal(mdb_dbi_open(r->txn, "meta", 0, &r->meta), 0);
}

static void raw_close(struct fx *f, struct raw *r)
{
    assert_int_equal(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
    fx_open_ledger(f);
}

static void raw_get_entry(struct raw *r, uint64_t seq, struct journal_entry *e)
{
    uint8_t key[8];
    store_key_u64(key, seq);
    MDB_val k = {.mv_size = sizeof key, .mv_data = key}, v;
    assert_int_equal(mdb_get(r->txn, r->journal, &k, &v), 0);
    assert_true(journal_decode(v.mv_data, v.mv_size, e));
}

/* Writes e back with its stored prev_hash and hash as they are in e. */
static void raw_put_entry(struct raw *r, const struct journal_entry *e)
{
    uint8_t value[JOURNAL_VALUE_MAX], key[8];
    size_t body = journal_body_encode(e, value, JOURNAL_BODY_MAX);
    assert_true(body > 0);
    memcpy(value + body, e->prev_hash, LEDGER_HASH_LEN);
    memcpy(value + body + LEDGER_HASH_LEN, e->hash, LEDGER_HASH_LEN);
    store_key_u64(key, e->seq);
    MDB_val k = {.mv_size = sizeof key, .mv_data = key};
    MDB_val v = {.mv_size = body + 2 * LEDGER_HASH_LEN, .mv_data = value};
    assert_int_equal(mdb_put(r->txn, r->journal, &k, &v, 0), 0);
}

/* e's hash recomputed from its prev_hash and body, with the engine's function. */
static void rehash(struct journal_entry *e)
{
    uint8_t body[JOURNAL_BODY_MAX];
    size_t len = journal_body_encode(e, body, sizeof body);
    assert_true(len > 0);
    assert_int_equal(journal_hash(e->prev_hash, body, len, e->hash), 0);
}

static void raw_last_hash(struct raw *r, uint8_t out[LEDGER_HASH_LEN], const uint8_t *set)
{
    MDB_val k = {.mv_size = strlen(STORE_META_LAST_HASH), .mv_data = STORE_META_LAST_HASH}, v;
    if (set != NULL) {
        v = (MDB_val){.mv_size = LEDGER_HASH_LEN, .mv_data = (void *)set};
        assert_int_equal(mdb_put(r->txn, r->meta, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_get(r->txn, r->meta, &k, &v), 0);
    assert_int_equal(v.mv_size, LEDGER_HASH_LEN);
    memcpy(out, v.mv_data, LEDGER_HASH_LEN);
}

#define CHAIN_ENTRIES 5

/* Five entries (four settles, a reversal), all checked clean. */
static void chain_make(struct fx *f)
{
    struct sh_caller c = fx_counter(H1);
    uint64_t id = fx_settle_ok(f, &c, rq_settle_std("j1", H1, P_LOWINC, "2026-03-01", 2500000));
    fx_settle_ok(f, &c, rq_settle_std("j2", H1, P_PLAIN, "2026-03-01", 120000));
    assert_int_equal(fx_code(f, &c, rq_reverse_id("j3", id)), 0);
    fx_settle_ok(f, &c, rq_settle_std("j4", H1, P_LOWINC, "2026-03-01", 40000));
    fx_settle_ok(f, &c, rq_settle_std("j5", H1, P_PLAIN, "2026-03-01", 75000));
    struct ledger_info info;
    assert_int_equal(ledger_info(f->ledger, &info), 0);
    assert_int_equal(info.journal_entries, CHAIN_ENTRIES);
    assert_int_equal(fx_check(f), 0);
}

/* Entry 2 an hour later, its own hash and entry 3's prev_hash made to
 * match; nothing after that. The hash of entry 3 covers its prev_hash, so
 * the check must see it. */
static void rechain_one_link_is_caught(void **state)
{
    struct fx *f = *state;
    chain_make(f);
    struct raw r;
    raw_open(f, &r);
    struct journal_entry e2, e3;
    raw_get_entry(&r, 2, &e2);
    raw_get_entry(&r, 3, &e3);
    e2.time_ms += 3600 * 1000;
    rehash(&e2);
    raw_put_entry(&r, &e2);
    memcpy(e3.prev_hash, e2.hash, LEDGER_HASH_LEN);
    raw_put_entry(&r, &e3);
    raw_close(f, &r);
    int problems = fx_check(f);
    if (problems <= 0)
        fail_msg("an entry changed and re-linked to the next went unnoticed: "
                 "the hashes do not cover the previous hash");
}

/* Entry 2 an hour later and every hash from it on recomputed, the last one
 * in meta too: the store alone cannot tell (the check passes), but the last
 * hash is no longer the one an auditor kept. */
static void rechain_to_the_end_moves_the_anchor(void **state)
{
    struct fx *f = *state;
    chain_make(f);
    struct raw r;
    raw_open(f, &r);
    uint8_t anchor[LEDGER_HASH_LEN], last[LEDGER_HASH_LEN];
    raw_last_hash(&r, anchor, NULL);
    uint8_t prev[LEDGER_HASH_LEN];
    for (uint64_t seq = 2; seq <= CHAIN_ENTRIES; seq++) {
        struct journal_entry e;
        raw_get_entry(&r, seq, &e);
        if (seq == 2)
            e.time_ms += 3600 * 1000;
        else
            memcpy(e.prev_hash, prev, LEDGER_HASH_LEN);
        rehash(&e);
        raw_put_entry(&r, &e);
        memcpy(prev, e.hash, LEDGER_HASH_LEN);
    }
    raw_last_hash(&r, last, prev);
    raw_close(f, &r);
    /* Recomputed exactly as the engine chains, so the store is consistent. */
    assert_int_equal(fx_check(f), 0);
    if (memcmp(anchor, last, LEDGER_HASH_LEN) == 0)
        fail_msg("an entry changed under an unchanged last hash: the chain anchors nothing");
}

/* Entry 2 given another prev_hash, and every hash from it on recomputed
 * (meta's last hash too): each entry is consistent in itself, and only the
 * link from entry 1 to entry 2 is broken. The check must follow the links. */
static void rechain_from_a_forged_link_is_caught(void **state)
{
    struct fx *f = *state;
    chain_make(f);
    struct raw r;
    raw_open(f, &r);
    uint8_t prev[LEDGER_HASH_LEN], last[LEDGER_HASH_LEN];
    for (uint64_t seq = 2; seq <= CHAIN_ENTRIES; seq++) {
        struct journal_entry e;
        raw_get_entry(&r, seq, &e);
        if (seq == 2)
            e.prev_hash[0] ^= 0x01;
        else
            memcpy(e.prev_hash, prev, LEDGER_HASH_LEN);
        rehash(&e);
        raw_put_entry(&r, &e);
        memcpy(prev, e.hash, LEDGER_HASH_LEN);
    }
    raw_last_hash(&r, last, prev);
    raw_close(f, &r);
    if (fx_check(f) <= 0)
        fail_msg("entry 2 no longer links to entry 1, and the check did not see it");
}

/* The last hash in meta one bit off: the chain no longer ends where meta
 * says it does. */
static void last_hash_changed_is_caught(void **state)
{
    struct fx *f = *state;
    chain_make(f);
    struct raw r;
    raw_open(f, &r);
    uint8_t last[LEDGER_HASH_LEN], set[LEDGER_HASH_LEN];
    raw_last_hash(&r, last, NULL);
    memcpy(set, last, sizeof set);
    set[LEDGER_HASH_LEN - 1] ^= 0x01;
    raw_last_hash(&r, last, set);
    raw_close(f, &r);
    if (fx_check(f) <= 0)
        fail_msg("meta's last hash is not the last entry's, and the check did not see it");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(body_is_the_known_bytes),
        cmocka_unit_test(hash_is_the_known_digest),
        cmocka_unit_test(hash_covers_the_previous_hash),
        T(rechain_one_link_is_caught),
        T(rechain_to_the_end_moves_the_anchor),
        T(rechain_from_a_forged_link_is_caught),
        T(last_hash_changed_is_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
