/*
 * Group commit: several requests in one batch see each other's accumulator
 * changes in order, a refused request in the middle spoils nothing, an
 * aborted batch leaves nothing, a reopened store has everything, and a
 * durable store works the same. A batch committed without its sync is
 * visible and kept once ledger_sync returns; a failed sync refuses its
 * write and every later one.
 */
#include <errno.h>

#include "test_ledger_fixture.h"

#define N_CLAIMS 6

/* A claim of P_LOWINC whose pay depends on the accumulators before it
 * (outpatient: capped per year, so later claims pay less). */
static Sanhe__Request *rq_outpatient(int i)
{
    char rid[16];
    snprintf(rid, sizeof rid, "o%d", i);
    return rq_settle(rid, claim_one(H3, P_LOWINC, "outpatient", "2026-03-01", "A002", 120000));
}

struct batch_run {
    struct sh_reply replies[N_CLAIMS + 1];
};

/* The claims one by one, each in a batch of its own: the reference. */
static void run_one_by_one(struct fx *f, struct batch_run *out)
{
    struct sh_caller c = fx_counter(H3);
    for (int i = 0; i < N_CLAIMS; i++)
        out->replies[i] = fx_call_raw(f, &c, rq_outpatient(i));
}

static void batch_sees_earlier_requests_in_order(void **state)
{
    (void)state;
    struct fx *ref = fx_new_loaded(0, 0);
    struct fx *f = fx_new_loaded(0, 0);
    struct batch_run one, all;
    run_one_by_one(ref, &one);
    struct sh_caller c = fx_counter(H3);
    struct ledger_batch *b;
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    Sanhe__Request *reqs[N_CLAIMS];
    for (int i = 0; i < N_CLAIMS; i++) {
        reqs[i] = rq_outpatient(i);
        assert_int_equal(ledger_batch_apply(b, &c, reqs[i], &all.replies[i]), 0);
    }
    /* Nothing is visible to reads before the commit. */
    Sanhe__Request *q = rq_query_id(1);
    struct sh_reply qr;
    assert_int_equal(ledger_read(f->ledger, &c, q, &qr), 0);
    assert_int_equal(fx_code_of(fx_unpack(qr)), SH_E_NOT_FOUND);
    assert_int_equal(ledger_batch_commit(b), 0);
    assert_int_equal(ledger_read(f->ledger, &c, q, &qr), 0);
    assert_int_equal(fx_code_of(fx_unpack(qr)), 0);
    sanhe__request__free_unpacked(q, NULL);
    sh_fen pays[N_CLAIMS];
    for (int i = 0; i < N_CLAIMS; i++) {
        assert_int_equal(one.replies[i].len, all.replies[i].len);
        assert_memory_equal(one.replies[i].data, all.replies[i].data, one.replies[i].len);
        Sanhe__Response *r = fx_unpack(all.replies[i]);
        free(one.replies[i].data);
        pays[i] = r->settle->breakdown->fund_total;
        sanhe__response__free_unpacked(r, NULL);
        sanhe__request__free_unpacked(reqs[i], NULL);
    }
    /* The caps bite: later claims in the batch paid less. */
    assert_true(pays[N_CLAIMS - 1] < pays[0]);
    uint8_t d1[32], d2[32];
    assert_int_equal(ledger_test_digest(ref->ledger, "accumulators", d1), 0);
    assert_int_equal(ledger_test_digest(f->ledger, "accumulators", d2), 0);
    assert_memory_equal(d1, d2, 32);
    assert_int_equal(fx_check(f), 0);
    fx_free(ref);
    fx_free(f);
}

static void refused_request_in_the_middle_spoils_nothing(void **state)
{
    struct fx *f = *state;
    struct sh_caller c = fx_counter(H1);
    Sanhe__Request *reqs[] = {
        rq_settle_std("m1", H1, P_LOWINC, "2026-03-01", 2500000),
        rq_settle("m2",
                  claim_one(H1, P_LOWINC, "inpatient", "2026-03-01", "Z999", 100)), /* refused */
        rq_settle_std("m1", H1, P_LOWINC, "2026-03-01", 2500001),                   /* reused */
        rq_reverse_rid("m3", "m1"), /* sees m1 of this batch */
        rq_settle_std("m4", H1, P_LOWINC, "2026-03-02", 2500000),
        rq_cancel("m5", "m6"),
        rq_settle_std("m6", H1, P_LOWINC, "2026-03-02", 2500000), /* cancelled in this batch */
    };
    const int want[] = {0, SH_E_UNKNOWN_ITEM,    SH_E_REQUEST_ID_REUSED, 0, 0,
                        0, SH_E_ALREADY_REVERSED};
    size_t n = sizeof reqs / sizeof reqs[0];
    struct ledger_batch *b;
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    for (size_t i = 0; i < n; i++) {
        struct sh_reply reply;
        assert_int_equal(ledger_batch_apply(b, &c, reqs[i], &reply), 0);
        assert_int_equal(fx_code_of(fx_unpack(reply)), want[i]);
    }
    assert_int_equal(ledger_batch_commit(b), 0);
    for (size_t i = 0; i < n; i++)
        sanhe__request__free_unpacked(reqs[i], NULL);
    /* m4 paid as the first claim of the year, since m1 was reversed. */
    Sanhe__Response *r = fx_call(f, &c, rq_query_rid("m4", NULL));
    assert_int_equal(r->query->settlement->breakdown->fund_total, 2043000);
    sanhe__response__free_unpacked(r, NULL);
    struct ledger_info info;
    assert_int_equal(ledger_info(f->ledger, &info), 0);
    assert_int_equal(info.settlements, 2);
    assert_int_equal(info.journal_entries, 3);
    assert_int_equal(fx_check(f), 0);
}

static void load_and_settle_in_one_batch(void **state)
{
    (void)state;
    struct fx *f = fx_new(0, 0, false);
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    struct sh_caller c = fx_counter(H1);
    Sanhe__Request *load = rq_load_default();
    Sanhe__Request *settle = rq_settle_std("s1", H1, P_LOWINC, "2026-03-01", 2500000);
    struct ledger_batch *b;
    struct sh_reply reply;
    /* Aborted: neither the data nor the policies stay. */
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    assert_int_equal(ledger_batch_apply(b, &admin, load, &reply), 0);
    assert_int_equal(fx_code_of(fx_unpack(reply)), 0);
    ledger_batch_abort(b);
    assert_int_equal(
        fx_code(f, &c,
                rq_presettle("p", claim_one(H1, P_LOWINC, "inpatient", "2026-03-01", "A003", 1))),
        SH_E_UNKNOWN_HOSPITAL);
    /* Committed: the settle after the load in the same batch sees both. */
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    assert_int_equal(ledger_batch_apply(b, &admin, load, &reply), 0);
    assert_int_equal(fx_code_of(fx_unpack(reply)), 0);
    assert_int_equal(ledger_batch_apply(b, &c, settle, &reply), 0);
    assert_int_equal(fx_code_of(fx_unpack(reply)), 0);
    assert_int_equal(ledger_batch_commit(b), 0);
    sanhe__request__free_unpacked(load, NULL);
    sanhe__request__free_unpacked(settle, NULL);
    assert_int_equal(
        fx_code(f, &c,
                rq_presettle("p", claim_one(H1, P_LOWINC, "inpatient", "2026-03-01", "A003", 1))),
        0);
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

static void one_batch_at_a_time(void **state)
{
    struct fx *f = *state;
    struct ledger_batch *b, *b2;
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b2), SH_E_INTERNAL);
    assert_int_equal(ledger_batch_commit(b), 0); /* an empty batch commits */
}

/* Settles, reverses and cancels, then the store closed and opened again. */
static void fill_and_reopen(struct fx *f)
{
    struct sh_caller c = fx_counter(H1);
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    uint64_t id = fx_settle_ok(f, &c, rq_settle_std("k1", H1, P_LOWINC, "2026-03-01", 2500000));
    fx_settle_ok(f, &c, rq_settle_std("k2", H1, P_PLAIN, "2026-03-01", 500000));
    assert_int_equal(fx_code(f, &c, rq_reverse_id("k3", id)), 0);
    assert_int_equal(fx_code(f, &c, rq_cancel("k4", "k5")), 0);
    struct sh_reply before = fx_call_raw(f, &bureau, rq_eligibility(P_PLAIN, "2026-03-01"));
    fx_reopen(f);
    struct sh_reply after = fx_call_raw(f, &bureau, rq_eligibility(P_PLAIN, "2026-03-01"));
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    free(before.data);
    free(after.data);
    Sanhe__Response *r = fx_call(f, &c, rq_query_id(id));
    assert_int_equal(r->query->settlement->state, SANHE__SETTLEMENT_STATE__REVERSED);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(fx_code(f, &c, rq_settle_std("k5", H1, P_LOWINC, "2026-03-01", 1)),
                     SH_E_ALREADY_REVERSED);
    assert_int_equal(fx_code(f, &c, rq_settle_std("k2", H1, P_PLAIN, "2026-03-01", 500000)), 0);
    struct ledger_info info;
    assert_int_equal(ledger_info(f->ledger, &info), 0);
    assert_int_equal(info.settlements, 2);
    assert_int_equal(info.journal_entries, 3);
    /* Numbering goes on after the reopen. */
    assert_int_equal(fx_settle_ok(f, &c, rq_settle_std("k6", H1, P_PLAIN, "2026-03-01", 1)), 3);
    struct sh_caller t;
    assert_int_equal(ledger_terminal_find(f->ledger, "t-bureau", &t), 0);
    assert_int_equal(fx_check(f), 0);
}

static void reopen_finds_everything(void **state) { fill_and_reopen(*state); }

static void durable_store_works_the_same(void **state)
{
    (void)state;
    struct fx *f = fx_new(0, 0, true);
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    assert_int_equal(fx_code(f, &admin, rq_load_default()), 0);
    fill_and_reopen(f);
    fx_free(f);
}

static void count_sync(void *ctx) { (*(int *)ctx)++; }

/* Every commit but a _nosync one syncs before it returns; a batch may
 * begin and commit before the sync of the one before it (the server's
 * pipeline), and one sync makes both durable. */
static void nosync_commit_then_sync(void **state)
{
    (void)state;
    struct fx *f = fx_new(0, 0, true);
    int syncs = 0;
    ledger_test_on_sync(f->ledger, count_sync, &syncs);
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    assert_int_equal(fx_code(f, &admin, rq_load_default()), 0);
    assert_int_equal(syncs, 1);
    struct sh_caller c = fx_counter(H1);
    Sanhe__Request *reqs[2];
    struct sh_reply replies[2];
    for (int i = 0; i < 2; i++) {
        char rid[8];
        snprintf(rid, sizeof rid, "ns%d", i);
        reqs[i] = rq_settle_std(rid, H1, P_PLAIN, "2026-03-01", 500000);
        struct ledger_batch *b;
        assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
        assert_int_equal(ledger_batch_apply(b, &c, reqs[i], &replies[i]), 0);
        assert_int_equal(ledger_batch_commit_nosync(b), 0);
    }
    assert_int_equal(syncs, 1);
    assert_int_equal(ledger_sync(f->ledger), 0);
    assert_int_equal(syncs, 2);
    for (int i = 0; i < 2; i++) {
        sanhe__request__free_unpacked(reqs[i], NULL);
        assert_int_equal(fx_code_of(fx_unpack(replies[i])), 0);
    }
    ledger_test_on_sync(f->ledger, NULL, NULL);
    fx_reopen(f);
    assert_int_equal(fx_code(f, &c, rq_query_id(2)), 0);
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

/* After a failed sync nothing since the last good one is known to be on
 * disk, and a later commit would build on it: every write is refused from
 * then on, reads go on. */
static void failed_sync_refuses_every_later_write(void **state)
{
    (void)state;
    struct fx *f = fx_new(0, 0, true);
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    assert_int_equal(fx_code(f, &admin, rq_load_default()), 0);
    struct sh_caller c = fx_counter(H1);
    ledger_test_fail_sync(f->ledger, EIO);
    Sanhe__Response *resp = fx_call(f, &c, rq_settle_std("fs1", H1, P_PLAIN, "2026-03-01", 1));
    assert_non_null(resp->error);
    assert_non_null(strstr(resp->error->message, "may or may not be recorded"));
    assert_int_equal(fx_code_of(resp), SH_E_INTERNAL);
    assert_int_equal(fx_code(f, &c, rq_settle_std("fs2", H1, P_PLAIN, "2026-03-01", 1)),
                     SH_E_INTERNAL);
    struct ledger_batch *b;
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), SH_E_INTERNAL);
    assert_int_equal(ledger_sync(f->ledger), SH_E_INTERNAL);
    assert_int_equal(fx_code(f, &c, rq_eligibility(P_PLAIN, "2026-03-01")), 0);
    fx_free(f);
}

/* ---- The writer's catalog items (engine/ledger/item_cache.h) ------------------------------ */

/* A001 (class A, capped at 1200 fen a unit) becomes class C. */
static Sanhe__Request *rq_load_a001_class_c(void)
{
    Sanhe__Request *r = rq_load_empty();
    fx_item(r->load, "A001", "C", -1);
    return r;
}

static Sanhe__Request *rq_settle_a001(const char *rid)
{
    return rq_settle(rid, claim_one(H1, P_PLAIN, "outpatient", "2026-03-01", "A001", 2000));
}

/* The class C part of a settle's reply (the line is 2000 fen). */
static int64_t class_c_of(struct sh_reply reply)
{
    Sanhe__Response *resp = fx_unpack(reply);
    assert_null(resp->error);
    int64_t c = resp->settle->breakdown->class_c_total;
    sanhe__response__free_unpacked(resp, NULL);
    return c;
}

static int64_t batch_class_c(struct ledger_batch *b, const struct sh_caller *c, const char *rid)
{
    Sanhe__Request *settle = rq_settle_a001(rid);
    struct sh_reply reply;
    assert_int_equal(ledger_batch_apply(b, c, settle, &reply), 0);
    sanhe__request__free_unpacked(settle, NULL);
    return class_c_of(reply);
}

static void batch_load(struct ledger_batch *b)
{
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    Sanhe__Request *load = rq_load_a001_class_c();
    struct sh_reply reply;
    assert_int_equal(ledger_batch_apply(b, &admin, load, &reply), 0);
    assert_int_equal(fx_code_of(fx_unpack(reply)), 0);
    sanhe__request__free_unpacked(load, NULL);
}

/* The writer keeps the items it looked up; a Load that changes one is
 * seen by the next settle of its own batch, an aborted one by none, and
 * a committed one by every later settle and by readers. */
static void catalog_changes_reach_the_writer(void **state)
{
    struct fx *f = *state;
    struct sh_caller c = fx_counter(H1);
    struct ledger_batch *b;
    assert_int_equal(class_c_of(fx_call_raw(f, &c, rq_settle_a001("k1"))), 0); /* now kept */
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    assert_int_equal(batch_class_c(b, &c, "k2"), 0);
    batch_load(b);
    assert_int_equal(batch_class_c(b, &c, "k3"), 2000); /* the Load emptied the map */
    ledger_batch_abort(b);
    assert_int_equal(class_c_of(fx_call_raw(f, &c, rq_settle_a001("k4"))), 0); /* and the abort */
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    batch_load(b);
    assert_int_equal(ledger_batch_commit(b), 0);
    assert_int_equal(class_c_of(fx_call_raw(f, &c, rq_settle_a001("k5"))), 2000);
    assert_int_equal(class_c_of(fx_call_raw(f, &c, rq_settle_a001("k6"))), 2000);
    Sanhe__Response *p = fx_call(
        f, &c, rq_presettle("p", claim_one(H1, P_PLAIN, "outpatient", "2026-03-01", "A001", 2000)));
    assert_null(p->error);
    assert_int_equal(p->presettle->breakdown->class_c_total, 2000);
    sanhe__response__free_unpacked(p, NULL);
    assert_int_equal(fx_check(f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_sees_earlier_requests_in_order),
        cmocka_unit_test_setup_teardown(refused_request_in_the_middle_spoils_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(load_and_settle_in_one_batch),
        cmocka_unit_test_setup_teardown(one_batch_at_a_time, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reopen_finds_everything, fx_setup, fx_teardown),
        cmocka_unit_test(durable_store_works_the_same),
        cmocka_unit_test(nosync_commit_then_sync),
        cmocka_unit_test(failed_sync_refuses_every_later_write),
        cmocka_unit_test_setup_teardown(catalog_changes_reach_the_writer, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
