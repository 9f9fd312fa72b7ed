/*
 * A request that refuses after writing while its transaction stays healthy
 * (docs/storage.md#group-commit).
 *
 * test_ledger_retry fails a write of the middle request, which marks the
 * batch transaction failed. This test takes the other way out: the middle
 * settle of three has written its settlement id, its accumulator deltas and
 * its journal entry when packing its reply runs out of memory. No write
 * failed, so only the count of writes tells the batch that the middle
 * request left a part of itself in the transaction; the batch must be
 * rebuilt without it all the same. The first and third requests then commit
 * exactly as in a batch that never held the middle one: the same replies
 * byte for byte (the third one's settlement id included) and the same store.
 *
 * The out-of-memory is injected by linking this program with
 * -Wl,--wrap=ledger_reply_pack (tests/CMakeLists.txt): the calls from the
 * operations' files go through __wrap_ledger_reply_pack below, which fails
 * the one it is armed for. The error reply is packed inside ledger_reply.c,
 * whose own calls are not wrapped.
 */
#include "test_ledger_fixture.h"

int __real_ledger_reply_pack(const Sanhe__Response *response, struct sh_reply *out);
int __wrap_ledger_reply_pack(const Sanhe__Response *response, struct sh_reply *out);

static int pack_fail_armed; /* the next settle reply's packing fails */
static int pack_failed;     /* how many did */

int __wrap_ledger_reply_pack(const Sanhe__Response *response, struct sh_reply *out)
{
    if (pack_fail_armed && response->result_case == SANHE__RESPONSE__RESULT_SETTLE) {
        pack_fail_armed = 0;
        pack_failed++;
        out->data = NULL;
        out->len = 0;
        return SH_E_INTERNAL;
    }
    return __real_ledger_reply_pack(response, out);
}

struct three {
    Sanhe__Request *req[3];
    struct sh_reply reply[3];
};

static void three_make(struct three *t)
{
    t->req[0] = rq_settle_std("oom-a", H1, P_PLAIN, "2026-03-01", 300000);
    /* The middle and the last settle the same person: the last one must see
     * the accumulators, and take the settlement id, as if the middle one had
     * never run. */
    t->req[1] = rq_settle_std("oom-b", H1, P_LOWINC, "2026-03-01", 2500000);
    t->req[2] = rq_settle_std("oom-c", H1, P_LOWINC, "2026-03-01", 800000);
    memset(t->reply, 0, sizeof t->reply);
}

static void three_free(struct three *t)
{
    for (int i = 0; i < 3; i++) {
        sanhe__request__free_unpacked(t->req[i], NULL);
        free(t->reply[i].data);
    }
}

/* One batch of the requests in order (skip: the index left out), the middle
 * one's reply failing to pack when fail is set. */
static void three_run(struct fx *f, struct three *t, int skip, bool fail)
{
    struct sh_caller c = fx_counter(H1);
    struct ledger_batch *b;
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    for (int i = 0; i < 3; i++) {
        if (i == skip)
            continue;
        pack_fail_armed = i == 1 && fail;
        assert_int_equal(ledger_batch_apply(b, &c, t->req[i], &t->reply[i]), 0);
        pack_fail_armed = 0;
    }
    assert_int_equal(ledger_batch_commit(b), 0);
}

static Sanhe__Response *reply_of(const struct sh_reply *r)
{
    Sanhe__Response *resp = sanhe__response__unpack(NULL, r->len, r->data);
    assert_non_null(resp);
    return resp;
}

static void middle_refuses_after_writing(void **state)
{
    struct fx *a = *state;              /* the batch whose middle request refuses */
    struct fx *b = fx_new_loaded(0, 0); /* the same batch without it */
    struct three ta, tb;
    three_make(&ta);
    three_make(&tb);
    pack_failed = 0;
    three_run(a, &ta, -1, true);
    assert_int_equal(pack_failed, 1); /* the injection fired, once */
    three_run(b, &tb, 1, false);

    Sanhe__Response *mid = reply_of(&ta.reply[1]);
    assert_non_null(mid->error);
    assert_int_equal(-(int)mid->error->code, SH_E_INTERNAL);
    sanhe__response__free_unpacked(mid, NULL);

    /* The third settle took the id the middle one had taken, then lost. */
    Sanhe__Response *third = reply_of(&ta.reply[2]);
    assert_null(third->error);
    assert_int_equal(third->result_case, SANHE__RESPONSE__RESULT_SETTLE);
    assert_int_equal(third->settle->settlement_id, 2);
    sanhe__response__free_unpacked(third, NULL);
    for (int i = 0; i < 3; i += 2) {
        if (ta.reply[i].len != tb.reply[i].len ||
            memcmp(ta.reply[i].data, tb.reply[i].data, ta.reply[i].len) != 0)
            fail_msg("request %d's reply is not the one of a batch without the middle one", i);
    }
    uint8_t da[32], db[32];
    assert_int_equal(ledger_test_digest(a->ledger, NULL, da), 0);
    assert_int_equal(ledger_test_digest(b->ledger, NULL, db), 0);
    if (memcmp(da, db, sizeof da) != 0)
        fail_msg("the store holds a part of the refused request");
    assert_int_equal(fx_check(a), 0);

    /* No trace of the middle one: its request id is free, and takes the
     * next id when it comes again. */
    struct sh_caller c = fx_counter(H1);
    assert_int_equal(fx_code(a, &c, rq_query_rid("oom-b", NULL)), SH_E_NOT_FOUND);
    assert_int_equal(
        fx_settle_ok(a, &c, rq_settle_std("oom-b", H1, P_LOWINC, "2026-03-01", 2500000)), 3);
    assert_int_equal(fx_check(a), 0);
    three_free(&ta);
    three_free(&tb);
    fx_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(middle_refuses_after_writing, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
