/*
 * The map: it grows by itself from a small start, between batches and in
 * the middle of one; at its hard limit a write is refused with STORAGE_FULL
 * and everything committed before stays intact and consistent.
 */
#include "test_ledger_fixture.h"

#define MIB (1ull << 20)
#define KIB (1ull << 10)

static Sanhe__Request *rq_numbered(const char *prefix, int i)
{
    char rid[SH_CODE_MAX];
    snprintf(rid, sizeof rid, "%s%d", prefix, i);
    /* Several lines: a settlement record of a realistic size. */
    Sanhe__Claim *c = claim_new(H1, i % 2 ? P_LOWINC : P_PLAIN, "outpatient", "2026-03-01");
    claim_line(c, "A001", 2000, 2600);
    claim_line(c, "A002", 1000, 5000 + i % 100);
    claim_line(c, "B001", 3000, 1800);
    claim_line(c, "C001", 1000, 900);
    return rq_settle(rid, c);
}

static void map_grows_between_batches(void **state)
{
    (void)state;
    struct fx *f = fx_new_loaded(256 * KIB, 0);
    struct sh_caller c = fx_counter(H1);
    struct ledger_info info;
    int i = 0;
    do {
        fx_settle_ok(f, &c, rq_numbered("g", i++));
        assert_int_equal(ledger_info(f->ledger, &info), 0);
    } while (info.map_grown < 3 && i < 100000);
    assert_true(info.map_grown >= 3);
    assert_true(info.map_size >= 2 * MIB);
    assert_int_equal(info.settlements, (uint64_t)i);
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

static void map_grows_in_the_middle_of_a_batch(void **state)
{
    (void)state;
    struct fx *f = fx_new_loaded(256 * KIB, 0);
    struct sh_caller c = fx_counter(H1);
    enum { N = 1200 };
    static Sanhe__Request *reqs[N]; /* alive until the commit */
    struct ledger_batch *b;
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    for (int i = 0; i < N; i++) {
        reqs[i] = rq_numbered("m", i);
        struct sh_reply reply;
        assert_int_equal(ledger_batch_apply(b, &c, reqs[i], &reply), 0);
        Sanhe__Response *r = fx_unpack(reply);
        if (r->error != NULL)
            fail_msg("request %d refused: %s", i, r->error->message);
        assert_int_equal(r->settle->settlement_id, (uint64_t)i + 1);
        sanhe__response__free_unpacked(r, NULL);
    }
    assert_int_equal(ledger_batch_commit(b), 0);
    for (int i = 0; i < N; i++)
        sanhe__request__free_unpacked(reqs[i], NULL);
    struct ledger_info info;
    assert_int_equal(ledger_info(f->ledger, &info), 0);
    assert_true(info.map_grown >= 2);
    assert_int_equal(info.settlements, N);
    assert_int_equal(fx_check(f), 0);
    fx_reopen(f);
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

/* Settles one per batch until the store is full; returns how many landed. */
static int fill_to_the_limit(struct fx *f, const char *prefix, int *refused_at)
{
    struct sh_caller c = fx_counter(H1);
    int landed = 0;
    for (int i = 0; i < 100000; i++) {
        Sanhe__Response *r = fx_call(f, &c, rq_numbered(prefix, i));
        int code = r->error != NULL ? -(int)r->error->code : 0;
        sanhe__response__free_unpacked(r, NULL);
        if (code == SH_E_STORAGE_FULL) {
            *refused_at = i;
            return landed;
        }
        assert_int_equal(code, 0);
        landed++;
    }
    fail_msg("the store never filled");
    return -1;
}

static void hard_limit_refuses_and_keeps_what_was_committed(void **state)
{
    (void)state;
    struct fx *f = fx_new_loaded(256 * KIB, 512 * KIB);
    struct sh_caller c = fx_counter(H1);
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    int refused_at = -1;
    int landed = fill_to_the_limit(f, "h", &refused_at);
    assert_true(landed > 50);
    struct ledger_info info;
    assert_int_equal(ledger_info(f->ledger, &info), 0);
    assert_int_equal(info.map_size, 512 * KIB);
    assert_int_equal(info.settlements, (uint64_t)landed);
    uint8_t before[32], after[32];
    assert_int_equal(ledger_test_digest(f->ledger, NULL, before), 0);
    /* Refused again, and again nothing changes; the refused id is free. */
    for (int k = 0; k < 3; k++)
        assert_int_equal(fx_code(f, &c, rq_numbered("h", refused_at)), SH_E_STORAGE_FULL);
    assert_int_equal(ledger_test_digest(f->ledger, NULL, after), 0);
    assert_memory_equal(before, after, 32);
    char rid[SH_CODE_MAX];
    snprintf(rid, sizeof rid, "h%d", refused_at);
    assert_int_equal(fx_code(f, &c, rq_query_rid(rid, NULL)), SH_E_NOT_FOUND);
    /* Reads still work; every settlement is there. */
    assert_int_equal(fx_code(f, &c, rq_query_id(1)), 0);
    assert_int_equal(fx_code(f, &c, rq_query_id((uint64_t)landed)), 0);
    assert_int_equal(fx_code(f, &bureau, rq_eligibility(P_LOWINC, "2026-03-01")), 0);
    assert_int_equal(
        fx_code(f, &c,
                rq_presettle("p", claim_one(H1, P_LOWINC, "inpatient", "2026-03-01", "A003", 1))),
        0);
    /* A replay is a read of the idempotency record: still answered. */
    assert_int_equal(fx_code(f, &c, rq_numbered("h", 0)), 0);
    assert_int_equal(fx_check(f), 0);
    fx_reopen(f);
    assert_int_equal(fx_check(f), 0);
    assert_int_equal(ledger_test_digest(f->ledger, NULL, after), 0);
    assert_memory_equal(before, after, 32);
    fx_free(f);
}

static void hard_limit_in_the_middle_of_a_batch(void **state)
{
    (void)state;
    struct fx *f = fx_new_loaded(256 * KIB, 512 * KIB);
    struct sh_caller c = fx_counter(H1);
    int refused_at = -1;
    int landed = fill_to_the_limit(f, "a", &refused_at);
    /* A batch at the limit: whatever is refused is refused alone, and what
     * the batch acknowledges after its commit is there. */
    enum { N = 50 };
    struct ledger_batch *b;
    int ok = 0, full = 0;
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    Sanhe__Request *reqs[N];
    for (int i = 0; i < N; i++) {
        reqs[i] = rq_numbered("b", i);
        struct sh_reply reply;
        assert_int_equal(ledger_batch_apply(b, &c, reqs[i], &reply), 0);
        int code = fx_code_of(fx_unpack(reply));
        assert_true(code == 0 || code == SH_E_STORAGE_FULL);
        ok += code == 0;
        full += code == SH_E_STORAGE_FULL;
    }
    int rc = ledger_batch_commit(b);
    for (int i = 0; i < N; i++)
        sanhe__request__free_unpacked(reqs[i], NULL);
    assert_true(rc == 0 || rc == SH_E_STORAGE_FULL);
    assert_true(full > 0);
    struct ledger_info info;
    assert_int_equal(ledger_info(f->ledger, &info), 0);
    assert_int_equal(info.settlements, (uint64_t)landed + (rc == 0 ? (uint64_t)ok : 0));
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_grows_between_batches),
        cmocka_unit_test(map_grows_in_the_middle_of_a_batch),
        cmocka_unit_test(hard_limit_refuses_and_keeps_what_was_committed),
        cmocka_unit_test(hard_limit_in_the_middle_of_a_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
