/*
 * Retries and rollbacks that the other ledger tests leave out.
 *
 * A retry under a used request id is the stored reply only when its payload
 * is the same parsed claim (docs/rules.md#refusals): a retry that changes
 * any one field, the visit type included, is REQUEST_ID_REUSED.
 *
 * A request that fails after writing, between two others of its batch
 * (docs/storage.md#group-commit): the batch is rebuilt without it, so the
 * first and third commit exactly as in a batch that never held it (same
 * replies byte for byte, same store digest), the middle one is refused and
 * left no trace, and the store checks clean. Failure injection fails the
 * middle request's nth write, for every n up to its number of writes.
 */
#include <lmdb.h>

#include "test_ledger_fixture.h"

/* ---- Retries that change one field ------------------------------------------------------ */

typedef void (*claim_edit)(Sanhe__Claim *c);

static void edit_visit(Sanhe__Claim *c)
{
    free(c->visit);
    c->visit = fx_strdup("inpatient");
}
static void edit_date(Sanhe__Claim *c)
{
    free(c->date);
    c->date = fx_strdup("2026-03-02");
}
static void edit_person(Sanhe__Claim *c)
{
    free(c->person);
    c->person = fx_strdup(P_PLAIN);
}
static void edit_code(Sanhe__Claim *c)
{
    free(c->lines[0]->code);
    c->lines[0]->code = fx_strdup("A001");
}
static void edit_qty(Sanhe__Claim *c) { c->lines[0]->qty_milli += 1; }
static void edit_amount(Sanhe__Claim *c) { c->lines[0]->amount += 1; }
static void edit_extra_line(Sanhe__Claim *c) { claim_line(c, "A003", 1000, 100); }

/* The first claim of every retry: outpatient, so that inpatient differs. */
static Sanhe__Claim *retry_claim(void)
{
    return claim_one(H1, P_LOWINC, "outpatient", "2026-03-01", "A003", 100000);
}

static void retry_changing(void **state, claim_edit edit)
{
    struct fx *f = *state;
    struct sh_caller c = fx_counter(H1);
    struct sh_reply first = fx_call_raw(f, &c, rq_settle("r1", retry_claim()));
    Sanhe__Response *resp = sanhe__response__unpack(NULL, first.len, first.data);
    assert_non_null(resp);
    assert_null(resp->error);
    sanhe__response__free_unpacked(resp, NULL);
    Sanhe__Claim *changed = retry_claim();
    edit(changed);
    assert_int_equal(fx_code(f, &c, rq_settle("r1", changed)), SH_E_REQUEST_ID_REUSED);
    /* The unchanged retry is still the first reply, byte for byte. */
    struct sh_reply again = fx_call_raw(f, &c, rq_settle("r1", retry_claim()));
    assert_int_equal(again.len, first.len);
    assert_memory_equal(again.data, first.data, first.len);
    free(first.data);
    free(again.data);
    assert_int_equal(fx_check(f), 0);
}

static void retry_changing_visit(void **s) { retry_changing(s, edit_visit); }
static void retry_changing_date(void **s) { retry_changing(s, edit_date); }
static void retry_changing_person(void **s) { retry_changing(s, edit_person); }
static void retry_changing_code(void **s) { retry_changing(s, edit_code); }
static void retry_changing_qty(void **s) { retry_changing(s, edit_qty); }
static void retry_changing_amount(void **s) { retry_changing(s, edit_amount); }
static void retry_changing_lines(void **s) { retry_changing(s, edit_extra_line); }

/* A reverse retried with another target, a cancel with another id. */
static void retry_changing_target(void **state)
{
    struct fx *f = *state;
    struct sh_caller c = fx_counter(H1);
    uint64_t a = fx_settle_ok(f, &c, rq_settle_std("t1", H1, P_LOWINC, "2026-03-01", 100000));
    uint64_t b = fx_settle_ok(f, &c, rq_settle_std("t2", H1, P_PLAIN, "2026-03-01", 100000));
    assert_int_equal(fx_code(f, &c, rq_reverse_id("t3", a)), 0);
    assert_int_equal(fx_code(f, &c, rq_reverse_id("t3", b)), SH_E_REQUEST_ID_REUSED);
    assert_int_equal(fx_code(f, &c, rq_cancel("t4", "never-sent")), 0);
    assert_int_equal(fx_code(f, &c, rq_cancel("t4", "t2")), SH_E_REQUEST_ID_REUSED);
    assert_int_equal(fx_check(f), 0);
}

/* ---- The middle request of three failing after its writes ----------------------------------- */

struct three {
    Sanhe__Request *req[3];
    struct sh_reply reply[3];
};

static void three_make(struct three *t, int n)
{
    char rid[16];
    snprintf(rid, sizeof rid, "m%d-a", n);
    t->req[0] = rq_settle_std(rid, H1, P_PLAIN, "2026-03-01", 300000);
    /* The middle and the last settle the same person: the last one must
     * see the accumulators as if the middle one had never run. */
    snprintf(rid, sizeof rid, "m%d-b", n);
    t->req[1] = rq_settle_std(rid, H1, P_LOWINC, "2026-03-01", 2500000);
    snprintf(rid, sizeof rid, "m%d-c", n);
    t->req[2] = rq_settle_std(rid, H1, P_LOWINC, "2026-03-01", 800000);
    memset(t->reply, 0, sizeof t->reply);
}

static void three_free(struct three *t)
{
    for (int i = 0; i < 3; i++) {
        sanhe__request__free_unpacked(t->req[i], NULL);
        free(t->reply[i].data);
    }
}

/* One batch of the requests in order (skip: the index left out), the
 * middle one's nth write failing (0: none). Returns whether it failed;
 * a batch in which it did not is aborted. */
static bool three_run(struct fx *f, struct three *t, int skip, uint32_t nth)
{
    struct sh_caller c = fx_counter(H1);
    struct ledger_batch *b;
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    for (int i = 0; i < 3; i++) {
        if (i == skip)
            continue;
        if (i == 1)
            ledger_test_fail_write(f->ledger, nth, MDB_BAD_VALSIZE);
        assert_int_equal(ledger_batch_apply(b, &c, t->req[i], &t->reply[i]), 0);
        if (i == 1) {
            bool fired = ledger_test_fail_pending(f->ledger) == 0;
            ledger_test_fail_write(f->ledger, 0, 0);
            if (!fired) {
                ledger_batch_abort(b);
                return false;
            }
        }
    }
    assert_int_equal(ledger_batch_commit(b), 0);
    return true;
}

static int reply_code(const struct sh_reply *r)
{
    Sanhe__Response *resp = sanhe__response__unpack(NULL, r->len, r->data);
    assert_non_null(resp);
    return fx_code_of(resp);
}

static void middle_of_three_fails_after_writing(void **state)
{
    struct fx *a = *state;              /* the batch with the failing middle request */
    struct fx *b = fx_new_loaded(0, 0); /* the same batch without it */
    int n = 1;
    for (;; n++) {
        assert_true(n < 100);
        struct three ta, tb;
        three_make(&ta, n);
        three_make(&tb, n);
        bool fired = three_run(a, &ta, -1, (uint32_t)n);
        if (fired) {
            assert_true(three_run(b, &tb, 1, 0));
            assert_int_equal(reply_code(&ta.reply[0]), 0);
            assert_int_equal(reply_code(&ta.reply[1]), SH_E_INTERNAL);
            assert_int_equal(reply_code(&ta.reply[2]), 0);
            for (int i = 0; i < 3; i += 2) {
                assert_int_equal(ta.reply[i].len, tb.reply[i].len);
                assert_memory_equal(ta.reply[i].data, tb.reply[i].data, ta.reply[i].len);
            }
            uint8_t da[32], db[32];
            assert_int_equal(ledger_test_digest(a->ledger, NULL, da), 0);
            assert_int_equal(ledger_test_digest(b->ledger, NULL, db), 0);
            if (memcmp(da, db, sizeof da) != 0)
                fail_msg("write %d of the middle request failed: the store is not the one "
                         "of a batch without it",
                         n);
            assert_int_equal(fx_check(a), 0);
            /* No trace of the middle one: its id is free. */
            struct sh_caller c = fx_counter(H1);
            char rid[16];
            snprintf(rid, sizeof rid, "m%d-b", n);
            assert_int_equal(fx_code(a, &c, rq_query_rid(rid, NULL)), SH_E_NOT_FOUND);
        }
        three_free(&ta);
        three_free(&tb);
        if (!fired)
            break;
    }
    /* A settle writes more than a handful of times: each of them failed once. */
    if (n - 1 < 5)
        fail_msg("the middle settle failed only at %d writes", n - 1);
    fx_free(b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(retry_changing_visit), T(retry_changing_date),   T(retry_changing_person),
        T(retry_changing_code),  T(retry_changing_qty),    T(retry_changing_amount),
        T(retry_changing_lines), T(retry_changing_target), T(middle_of_three_fails_after_writing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
