/*
 * ledger_check: clean after a random mix of every write in batches of
 * random size, and not clean after the store is tampered with through raw
 * LMDB. Failure injection: the nth LMDB write of a request fails, for every
 * n; each time the request is refused, nothing changes and the store stays
 * consistent.
 */
#include <lmdb.h>

#include "store_keys.h"

#include "test_ledger_fixture.h"

/* ---- A reproducible random mix -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int rng_below(int n) { return (int)(rng() % (uint64_t)n); }

static const char *const hospitals[] = {H1, H2, H3};
static const char *const persons[] = {P_LOWINC, P_DEAD, P_PLAIN, P_NOTENR};
static const char *const visits[] = {"outpatient", "chronic", "inpatient"};
static const char *const codes[] = {"A001", "A002", "A003", "B001", "C001", "Z999"};

/* The claim of settle number k, the same every time it is built. */
static Sanhe__Claim *mix_claim(const char *hospital, uint64_t k)
{
    uint64_t saved = rng_state;
    rng_state = k * 0x9E3779B97F4A7C15ull + 1;
    char date[40];
    snprintf(date, sizeof date, "%d-%02d-%02d", 2025 + rng_below(2), 1 + rng_below(12),
             1 + rng_below(28));
    Sanhe__Claim *c = claim_new(hospital, persons[rng_below(4)], visits[rng_below(3)], date);
    int lines = 1 + rng_below(4);
    for (int i = 0; i < lines; i++)
        claim_line(c, codes[rng_below(rng_below(40) == 0 ? 6 : 5)], 1000 * (1 + rng_below(3)),
                   1 + rng_below(3000000));
    rng_state = saved;
    return c;
}

struct mix {
    int settles; /* settle k has request id "s<k>" at hospital hospitals[k % 3] */
    int others;
};

static Sanhe__Request *mix_request(struct mix *m, struct sh_caller *caller)
{
    char rid[SH_CODE_MAX], target[SH_CODE_MAX];
    int h = rng_below(3);
    *caller = fx_counter(hospitals[h]);
    int k = m->settles > 0 ? rng_below(m->settles) : 0;
    snprintf(target, sizeof target, "s%d", k);
    switch (rng_below(10)) {
    case 0: /* a retry of an earlier settle: the same payload, or not */
        *caller = fx_counter(hospitals[k % 3]);
        return rq_settle(target, mix_claim(hospitals[k % 3], (uint64_t)k + (rng_below(4) == 0)));
    case 1:
    case 2:
        snprintf(rid, sizeof rid, "o%d", m->others++);
        *caller = fx_counter(hospitals[k % 3]);
        return rq_reverse_rid(rid, target);
    case 3:
        snprintf(rid, sizeof rid, "o%d", m->others++);
        return rq_reverse_id(rid, 1 + (uint64_t)rng_below(m->settles + 1));
    case 4: /* a cancel of a settle, of a future settle, or of another cancel */
        snprintf(rid, sizeof rid, "o%d", m->others++);
        if (rng_below(3) == 0)
            snprintf(target, sizeof target, "s%d", m->settles + rng_below(3));
        else if (rng_below(3) == 0)
            snprintf(target, sizeof target, "o%d", rng_below(m->others));
        *caller = fx_counter(hospitals[rng_below(2) ? k % 3 : h]);
        return rq_cancel(rid, target);
    default: {
        int s = m->settles++;
        snprintf(rid, sizeof rid, "s%d", s);
        *caller = fx_counter(hospitals[s % 3]);
        return rq_settle(rid, mix_claim(hospitals[s % 3], (uint64_t)s));
    }
    }
}

/* n batches of 1..8 random writes; returns how many were answered ok. */
static int mix_run(struct fx *f, struct mix *m, int batches)
{
    int ok = 0;
    for (int n = 0; n < batches; n++) {
        enum { MAX = 8 };
        Sanhe__Request *reqs[MAX];
        struct sh_caller callers[MAX];
        struct sh_reply replies[MAX];
        int count = 1 + rng_below(MAX);
        struct ledger_batch *b;
        f->now_ms += 3600000 * (int64_t)rng_below(30);
        assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
        for (int i = 0; i < count; i++) {
            reqs[i] = mix_request(m, &callers[i]);
            assert_int_equal(ledger_batch_apply(b, &callers[i], reqs[i], &replies[i]), 0);
        }
        assert_int_equal(ledger_batch_commit(b), 0);
        for (int i = 0; i < count; i++) {
            Sanhe__Response *r = fx_unpack(replies[i]);
            ok += r->error == NULL;
            if (r->error != NULL && r->error->code == SANHE__ERROR_CODE__INTERNAL)
                fail_msg("INTERNAL: %s", r->error->message);
            sanhe__response__free_unpacked(r, NULL);
            sanhe__request__free_unpacked(reqs[i], NULL);
        }
    }
    return ok;
}

static void check_is_clean_after_a_random_mix(void **state)
{
    struct fx *f = *state;
    struct mix m = {0};
    rng_state = 20260301;
    int ok = 0;
    for (int round = 0; round < 6; round++) {
        ok += mix_run(f, &m, 40);
        assert_int_equal(fx_check(f), 0);
    }
    assert_true(ok > 300);
    struct ledger_info info;
    assert_int_equal(ledger_info(f->ledger, &info), 0);
    assert_true(info.settlements > 100);
    assert_true(info.journal_entries > info.settlements); /* some reversals */
    fx_reopen(f);
    assert_int_equal(fx_check(f), 0);
}

/* ---- Tampering through raw LMDB ------------------------------------------------------------ */

enum tamper_kind {
    TAMPER_BUMP_LAST_BYTE,
    TAMPER_FLIP_MIDDLE_BYTE,
    TAMPER_DELETE,
    TAMPER_COPY,
    TAMPER_SETTLEMENT_CLASS, /* a class total 1 fen more (not in the journal) */
    TAMPER_SETTLEMENT_LINE,  /* a line 1 fen more (not in the journal) */
    TAMPER_SETTLEMENT_PAY,   /* the patient's share 1 fen more */
    TAMPER_REQUEST_HASH,     /* an idempotency record's payload hash, one bit */
    TAMPER_SETTLEMENT_HUGE,  /* amounts whose sums overflow int64 */
};

/* A request_log value (u8 version, u16 + hospital, u16 + request id, the
 * packed record) with one bit of its payload hash flipped. */
static void tamper_request_hash(uint8_t *val, MDB_val *nv, size_t cap)
{
    size_t head = 1;
    for (int i = 0; i < 2; i++)
        head += 2 + ((size_t)val[head] << 8 | val[head + 1]);
    assert_true(head < nv->mv_size);
    Sanhe__RequestRecord *rec = sanhe__request_record__unpack(NULL, nv->mv_size - head, val + head);
    assert_non_null(rec);
    assert_true(rec->has_payload_hash && rec->payload_hash.len == 32);
    rec->payload_hash.data[0] ^= 0x01;
    nv->mv_size = head + sanhe__request_record__get_packed_size(rec);
    assert_true(nv->mv_size <= cap);
    sanhe__request_record__pack(rec, val + head);
    sanhe__request_record__free_unpacked(rec, NULL);
}

/* A settlement record with one amount changed, packed again into val. */
static void tamper_settlement(enum tamper_kind kind, uint8_t *val, MDB_val *nv, size_t cap)
{
    Sanhe__SettlementRecord *rec = sanhe__settlement_record__unpack(NULL, nv->mv_size, val);
    assert_non_null(rec);
    Sanhe__Settlement *s = rec->settlement;
    assert_true(s->breakdown->has_class_a_total && s->claim->n_lines > 0);
    if (kind == TAMPER_SETTLEMENT_HUGE) {
        s->claim->lines[0]->amount = INT64_MAX;
        s->breakdown->patient_pays = INT64_MAX;
        s->breakdown->class_a_total = INT64_MAX;
        if (rec->n_deltas > 0)
            rec->deltas[0]->paid = INT64_MAX;
    } else if (kind == TAMPER_SETTLEMENT_CLASS)
        s->breakdown->class_a_total += 1;
    else if (kind == TAMPER_SETTLEMENT_LINE)
        s->claim->lines[0]->amount += 1;
    else
        s->breakdown->patient_pays += 1;
    nv->mv_size = sanhe__settlement_record__get_packed_size(rec);
    assert_true(nv->mv_size <= cap);
    sanhe__settlement_record__pack(rec, val);
    sanhe__settlement_record__free_unpacked(rec, NULL);
}

/* Changes the first entry of a database (ledger closed), then reopens. */
static void tamper(struct fx *f, const char *db, enum tamper_kind kind)
{
    ledger_close(f->ledger);
    f->ledger = NULL;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    uint8_t key[512], val[4096];
    assert_true(k.mv_size <= sizeof key && v.mv_size <= sizeof val);
    memcpy(key, k.mv_data, k.mv_size);
    memcpy(val, v.mv_data, v.mv_size);
    MDB_val nk = {.mv_size = k.mv_size, .mv_data = key};
    MDB_val nv = {.mv_size = v.mv_size, .mv_data = val};
    mdb_cursor_close(cur);
    if (kind == TAMPER_DELETE) {
        assert_int_equal(mdb_del(txn, dbi, &nk, NULL), 0);
    } else if (kind == TAMPER_COPY) {
        key[nk.mv_size - 1] ^= 0x01; /* the same value under another key */
        assert_int_equal(mdb_put(txn, dbi, &nk, &nv, 0), 0);
    } else if (kind == TAMPER_REQUEST_HASH) {
        tamper_request_hash(val, &nv, sizeof val);
        assert_int_equal(mdb_put(txn, dbi, &nk, &nv, 0), 0);
    } else if (kind >= TAMPER_SETTLEMENT_CLASS) {
        tamper_settlement(kind, val, &nv, sizeof val);
        assert_int_equal(mdb_put(txn, dbi, &nk, &nv, 0), 0);
    } else {
        size_t at = kind == TAMPER_BUMP_LAST_BYTE ? nv.mv_size - 1 : nv.mv_size / 2;
        val[at] ^= 0x01;
        assert_int_equal(mdb_put(txn, dbi, &nk, &nv, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    fx_open_ledger(f);
}

static void tamper_case_at(void **state, const char *db, enum tamper_kind kind, bool flush)
{
    struct fx *f = *state;
    struct mix m = {0};
    rng_state = 7;
    mix_run(f, &m, 12);
    struct sh_caller c = fx_counter(H1);
    uint64_t id = fx_settle_ok(f, &c, rq_settle_std("t1", H1, P_LOWINC, "2026-03-01", 2500000));
    assert_int_equal(fx_code(f, &c, rq_reverse_id("t2", id)), 0);
    fx_settle_ok(f, &c, rq_settle_std("t3", H1, P_LOWINC, "2026-03-01", 2500000));
    assert_int_equal(fx_check(f), 0);
    /* The requests and journal_day indexes have something to tamper with
     * only once they are up to date; the logs are checked both ways. */
    if (flush)
        assert_int_equal(ledger_index_flush(f->ledger, f->now_ms), 0);
    assert_int_equal(fx_check(f), 0);
    tamper(f, db, kind);
    int problems = fx_check(f);
    if (problems <= 0)
        fail_msg("tampering with %s (%d) went unnoticed", db, (int)kind);
}

static void tamper_case(void **state, const char *db, enum tamper_kind kind)
{
    tamper_case_at(state, db, kind, false);
}

static void tamper_accumulator_value(void **s)
{
    tamper_case(s, "accumulators", TAMPER_BUMP_LAST_BYTE);
}
static void tamper_accumulator_delete(void **s) { tamper_case(s, "accumulators", TAMPER_DELETE); }
static void tamper_accumulator_extra(void **s) { tamper_case(s, "accumulators", TAMPER_COPY); }
static void tamper_journal_amount(void **s) { tamper_case(s, "journal", TAMPER_FLIP_MIDDLE_BYTE); }
static void tamper_journal_hash(void **s) { tamper_case(s, "journal", TAMPER_BUMP_LAST_BYTE); }
static void tamper_journal_delete(void **s) { tamper_case(s, "journal", TAMPER_DELETE); }
static void tamper_journal_day(void **s) { tamper_case_at(s, "journal_day", TAMPER_DELETE, true); }
static void tamper_journal_day_extra(void **s)
{
    tamper_case_at(s, "journal_day", TAMPER_COPY, true);
}
static void tamper_request_delete(void **s) { tamper_case_at(s, "requests", TAMPER_DELETE, true); }
static void tamper_request_extra(void **s) { tamper_case_at(s, "requests", TAMPER_COPY, true); }
static void tamper_request_log_delete(void **s) { tamper_case(s, "request_log", TAMPER_DELETE); }
static void tamper_request_log_indexed(void **s)
{
    tamper_case_at(s, "request_log", TAMPER_DELETE, true);
}
static void tamper_request_log_value(void **s)
{
    tamper_case(s, "request_log", TAMPER_REQUEST_HASH);
}
static void tamper_settlement_delete(void **s) { tamper_case(s, "settlements", TAMPER_DELETE); }
static void tamper_settlement_class(void **s)
{
    tamper_case(s, "settlements", TAMPER_SETTLEMENT_CLASS);
}
static void tamper_settlement_line(void **s)
{
    tamper_case(s, "settlements", TAMPER_SETTLEMENT_LINE);
}
static void tamper_settlement_pay(void **s)
{
    tamper_case(s, "settlements", TAMPER_SETTLEMENT_PAY);
}

static void tamper_settlement_huge(void **s)
{
    tamper_case(s, "settlements", TAMPER_SETTLEMENT_HUGE);
}

/* Counts the lines a check reports. */
static void count_report(void *ctx, const char *line)
{
    (void)line;
    ++*(int *)ctx;
}

/* meta's next settlement id with a high bit flipped: the check reports it
 * and finishes, in bounded memory and lines, instead of sizing its table of
 * ids by it (64 GiB) or reporting billions of ids missing. */
static void tamper_meta_next_settlement(void **state)
{
    struct fx *f = *state;
    struct mix m = {0};
    rng_state = 11;
    mix_run(f, &m, 12);
    assert_int_equal(fx_check(f), 0);
    ledger_close(f->ledger);
    f->ledger = NULL;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    MDB_val k = {.mv_size = strlen(STORE_META_NEXT_SETTLEMENT),
                 .mv_data = (void *)STORE_META_NEXT_SETTLEMENT};
    MDB_val v;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_int_equal(v.mv_size, 8);
    uint8_t val[8];
    memcpy(val, v.mv_data, 8);
    val[3] ^= 0x10; /* + 2^36 */
    MDB_val nv = {.mv_size = 8, .mv_data = val};
    assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    fx_open_ledger(f);
    int lines = 0;
    int problems = ledger_check(f->ledger, count_report, &lines);
    if (problems <= 0)
        fail_msg("a next settlement id 2^36 too high: the check returned %d", problems);
    assert_true(lines >= 1 && lines <= 1001);
}

/* ---- Failure injection ----------------------------------------------------------------------- */

typedef Sanhe__Request *(*make_fn)(void);

static Sanhe__Request *mk_settle(void)
{
    return rq_settle_std("f1", H1, P_LOWINC, "2026-03-02", 2500000);
}
static Sanhe__Request *mk_reverse(void) { return rq_reverse_rid("f2", "base"); }
static Sanhe__Request *mk_cancel_landed(void) { return rq_cancel("f3", "base2"); }
static Sanhe__Request *mk_cancel_marker(void) { return rq_cancel("f4", "never"); }
static Sanhe__Request *mk_load(void) { return rq_load_default(); }

/* Runs call with the nth write from now failing with mdb_code; its code
 * goes to *code. Returns whether the failure happened; if it did, the store
 * must be exactly as before and consistent. */
static bool fail_nth_write(struct fx *f, int n, int mdb_code, int (*call)(struct fx *, void *),
                           void *ctx, int *code)
{
    uint8_t before[32], after[32];
    assert_int_equal(ledger_test_digest(f->ledger, NULL, before), 0);
    ledger_test_fail_write(f->ledger, (uint32_t)n, mdb_code);
    *code = call(f, ctx);
    bool fired = ledger_test_fail_pending(f->ledger) == 0;
    ledger_test_fail_write(f->ledger, 0, 0);
    if (fired) {
        assert_int_equal(ledger_test_digest(f->ledger, NULL, after), 0);
        assert_memory_equal(before, after, 32);
        assert_int_equal(fx_check(f), 0);
    }
    return fired;
}

struct op_call {
    const struct sh_caller *caller;
    make_fn make;
};

static int op_run(struct fx *f, void *ctx)
{
    const struct op_call *c = ctx;
    return fx_code(f, c->caller, c->make());
}

static int flush_run(struct fx *f, void *ctx)
{
    (void)ctx;
    return ledger_index_flush(f->ledger, f->now_ms);
}

/* For n = 1, 2, ...: the nth write of the request fails with mdb_code; the
 * request must be refused with want, change nothing and leave the store
 * consistent; until n passes its number of writes and it succeeds. */
static void inject_each_write(struct fx *f, const struct sh_caller *caller, make_fn make,
                              int mdb_code, int want, int writes)
{
    int n = 1;
    struct op_call call = {.caller = caller, .make = make};
    for (;; n++) {
        assert_true(n < 100);
        /* Up to date first, so that no commit below brings the indexes up
         * to date too (that has its own test) and the count is the op's. */
        assert_int_equal(ledger_index_flush(f->ledger, f->now_ms), 0);
        int code = 0;
        if (!fail_nth_write(f, n, mdb_code, op_run, &call, &code)) {
            assert_int_equal(code, 0);
            break;
        }
        assert_int_equal(code, want);
    }
    if (n - 1 != writes)
        fail_msg("%d writes, expected %d", n - 1, writes); /* each made to fail once */
    assert_int_equal(fx_check(f), 0);
}

static void inject_all_ops(struct fx *f, int mdb_code, int want)
{
    struct sh_caller c = fx_counter(H1);
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    inject_each_write(f, &admin, mk_load, mdb_code, want, 17);
    fx_settle_ok(f, &c, rq_settle_std("base", H1, P_LOWINC, "2026-03-01", 2500000));
    inject_each_write(f, &c, mk_settle, mdb_code, want, 9);
    inject_each_write(f, &c, mk_reverse, mdb_code, want, 8);
    inject_each_write(f, &c, mk_cancel_marker, mdb_code, want, 4);
    /* and a cancel that reverses a settle that landed */
    fx_settle_ok(f, &c, rq_settle_std("base2", H1, P_LOWINC, "2026-03-01", 1000));
    inject_each_write(f, &c, mk_cancel_landed, mdb_code, want, 7);
}

static void injected_write_failures_change_nothing(void **state)
{
    inject_all_ops(*state, MDB_BAD_VALSIZE, SH_E_INTERNAL);
}

/* The indexes brought up to date with each of its writes failing in turn:
 * refused, nothing changed, every request still answered from its record
 * (the writer's map of unindexed records reloaded), then it succeeds. */
static void injected_failures_in_index_flush(void **state)
{
    struct fx *f = *state;
    f->cfg.index_lag_flush = 4096; /* no commit may bring them up to date by itself */
    fx_reopen(f);
    struct sh_caller c = fx_counter(H1);
    uint64_t id0 = fx_settle_ok(f, &c, rq_settle_std("i0", H1, P_LOWINC, "2026-03-01", 2500000));
    fx_settle_ok(f, &c, rq_settle_std("i1", H1, P_LOWINC, "2026-03-01", 1000));
    assert_int_equal(fx_code(f, &c, rq_cancel("i2", "never-came")), 0);
    int n = 1;
    for (;; n++) {
        assert_true(n < 100);
        int rc = 0;
        if (!fail_nth_write(f, n, MDB_BAD_VALSIZE, flush_run, NULL, &rc)) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, SH_E_INTERNAL);
        assert_int_equal(
            fx_settle_ok(f, &c, rq_settle_std("i0", H1, P_LOWINC, "2026-03-01", 2500000)), id0);
        assert_int_equal(
            fx_code(f, &c, rq_settle_std("never-came", H1, P_LOWINC, "2026-03-01", 1000)),
            SH_E_ALREADY_REVERSED);
    }
    /* 4 records (the cancel: its own and a marker), 2 entries, 2 marks */
    assert_int_equal(n - 1, 8);
    assert_int_equal(fx_check(f), 0);
    assert_int_equal(fx_settle_ok(f, &c, rq_settle_std("i0", H1, P_LOWINC, "2026-03-01", 2500000)),
                     id0);
}

/* A fatal LMDB error breaks the batch: the whole batch is refused. */
static void injected_panic_fails_the_batch(void **state)
{
    inject_all_ops(*state, MDB_PANIC, SH_E_INTERNAL);
}

/* At the hard limit an injected MDB_MAP_FULL is STORAGE_FULL. */
static void injected_map_full_at_the_limit(void **state)
{
    (void)state;
    struct fx *f = fx_new_loaded(1ull << 20, 1ull << 20);
    inject_all_ops(f, MDB_MAP_FULL, SH_E_STORAGE_FULL);
    fx_free(f);
}

/* Below the limit an injected MDB_MAP_FULL grows the map and the request
 * succeeds, whichever write met it. */
static void injected_map_full_below_the_limit_grows(void **state)
{
    (void)state;
    struct fx *f = fx_new_loaded(1ull << 20, 0);
    struct sh_caller c = fx_counter(H1);
    fx_settle_ok(f, &c, rq_settle_std("base", H1, P_LOWINC, "2026-03-01", 2500000));
    for (uint32_t n = 1; n <= 9; n++) {
        struct ledger_info before, after;
        assert_int_equal(ledger_info(f->ledger, &before), 0);
        /* In a batch with an earlier request, so that the rebuild replays it. */
        char rid[16];
        snprintf(rid, sizeof rid, "g%u", n);
        Sanhe__Request *first = rq_settle_std(rid, H1, P_PLAIN, "2026-03-01", 100000);
        snprintf(rid, sizeof rid, "h%u", n);
        Sanhe__Request *second = rq_settle_std(rid, H1, P_LOWINC, "2026-03-02", 100000);
        struct ledger_batch *b;
        struct sh_reply r1, r2;
        assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
        assert_int_equal(ledger_batch_apply(b, &c, first, &r1), 0);
        ledger_test_fail_write(f->ledger, n, MDB_MAP_FULL);
        assert_int_equal(ledger_batch_apply(b, &c, second, &r2), 0);
        assert_int_equal(ledger_test_fail_pending(f->ledger), 0);
        assert_int_equal(ledger_batch_commit(b), 0);
        assert_int_equal(fx_code_of(fx_unpack(r1)), 0);
        assert_int_equal(fx_code_of(fx_unpack(r2)), 0);
        sanhe__request__free_unpacked(first, NULL);
        sanhe__request__free_unpacked(second, NULL);
        assert_int_equal(ledger_info(f->ledger, &after), 0);
        assert_int_equal(after.map_grown, before.map_grown + 1);
        assert_int_equal(after.settlements, before.settlements + 2);
    }
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(check_is_clean_after_a_random_mix),
        T(tamper_accumulator_value),
        T(tamper_accumulator_delete),
        T(tamper_accumulator_extra),
        T(tamper_journal_amount),
        T(tamper_journal_hash),
        T(tamper_journal_delete),
        T(tamper_journal_day),
        T(tamper_journal_day_extra),
        T(tamper_request_delete),
        T(tamper_request_extra),
        T(tamper_request_log_delete),
        T(tamper_request_log_indexed),
        T(tamper_request_log_value),
        T(tamper_settlement_delete),
        T(tamper_settlement_class),
        T(tamper_settlement_line),
        T(tamper_settlement_pay),
        T(tamper_settlement_huge),
        T(tamper_meta_next_settlement),
        T(injected_write_failures_change_nothing),
        T(injected_panic_fails_the_batch),
        T(injected_failures_in_index_flush),
        cmocka_unit_test(injected_map_full_at_the_limit),
        cmocka_unit_test(injected_map_full_below_the_limit_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
