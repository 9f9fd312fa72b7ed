/*
 * The requests and journal_day indexes kept behind their logs
 * (engine/ledger/index_flush.h): whatever the indexes hold yet, every
 * answer is the same. Retries replay byte for byte from the writer's map,
 * from the index and after a restart (the map loaded again from the log);
 * a query by request id finds a record on either side of the mark; a
 * reconcile is the same before and after the indexes are brought up to date.
 */
#include "test_ledger_fixture.h"

#define DAY "2026-03-01"
#define SETTLES 40

static void rid_of(int i, char out[16]) { snprintf(out, 16, "x%03d", i); }

/* The reply decoded; unlike fx_unpack, the bytes are kept. */
static Sanhe__Response *peek(struct sh_reply reply)
{
    Sanhe__Response *resp = sanhe__response__unpack(NULL, reply.len, reply.data);
    assert_non_null(resp);
    return resp;
}

/* A ledger whose commits never bring the indexes up to date by themselves. */
static int setup_lagging(void **state)
{
    struct fx *f = fx_new_loaded(0, 0);
    f->cfg.index_lag_flush = 4096; /* the most there is (INDEX_LAG_FLUSH_MAX) */
    fx_reopen(f);
    *state = f;
    return 0;
}

/* Settles i = from..to-1 alternately at H1 and H2; keeps each reply. */
static void settle_range(struct fx *f, int from, int to, struct sh_reply *replies)
{
    for (int i = from; i < to; i++) {
        char rid[16];
        rid_of(i, rid);
        const char *h = i % 2 == 0 ? H1 : H2;
        struct sh_caller c = fx_counter(h);
        replies[i] = fx_call_raw(f, &c, rq_settle_std(rid, h, P_LOWINC, DAY, 1000 + i));
        Sanhe__Response *resp = peek(replies[i]);
        assert_null(resp->error);
        sanhe__response__free_unpacked(resp, NULL);
    }
}

static void assert_replays(struct fx *f, int from, int to, const struct sh_reply *replies)
{
    for (int i = from; i < to; i++) {
        char rid[16];
        rid_of(i, rid);
        const char *h = i % 2 == 0 ? H1 : H2;
        struct sh_caller c = fx_counter(h);
        struct sh_reply again = fx_call_raw(f, &c, rq_settle_std(rid, h, P_LOWINC, DAY, 1000 + i));
        assert_int_equal(again.len, replies[i].len);
        assert_memory_equal(again.data, replies[i].data, again.len);
        free(again.data);
        /* the same id with another payload is refused, wherever its record is */
        assert_int_equal(fx_code(f, &c, rq_settle_std(rid, h, P_LOWINC, DAY, 7)),
                         SH_E_REQUEST_ID_REUSED);
    }
}

static void free_replies(struct sh_reply *replies, int n)
{
    for (int i = 0; i < n; i++)
        free(replies[i].data);
}

/* Half indexed, half in the map; then all of it after a restart. */
static void retries_replay_on_both_sides_and_after_restart(void **state)
{
    struct fx *f = *state;
    struct sh_reply replies[SETTLES];
    settle_range(f, 0, SETTLES / 2, replies);
    assert_int_equal(ledger_index_flush(f->ledger, f->now_ms), 0);
    settle_range(f, SETTLES / 2, SETTLES, replies);
    assert_replays(f, 0, SETTLES, replies);
    fx_reopen(f); /* the map is gone: loaded again from the request_log */
    assert_replays(f, 0, SETTLES, replies);
    assert_int_equal(fx_check(f), 0);
    free_replies(replies, SETTLES);
}

/* A query by request id is a read: it has no map and scans the log above
 * the mark. */
static void query_by_request_on_both_sides(void **state)
{
    struct fx *f = *state;
    struct sh_reply replies[4];
    settle_range(f, 0, 2, replies);
    assert_int_equal(ledger_index_flush(f->ledger, f->now_ms), 0);
    settle_range(f, 2, 4, replies);
    for (int i = 0; i < 4; i++) {
        char rid[16];
        rid_of(i, rid);
        const char *h = i % 2 == 0 ? H1 : H2;
        struct sh_caller c = fx_counter(h);
        Sanhe__Response *settled = peek(replies[i]);
        Sanhe__Response *q = fx_call(f, &c, rq_query_rid(rid, h));
        assert_null(q->error);
        assert_non_null(q->query);
        assert_non_null(q->query->settlement);
        assert_int_equal(q->query->settlement->settlement_id, settled->settle->settlement_id);
        sanhe__response__free_unpacked(q, NULL);
        sanhe__response__free_unpacked(settled, NULL);
    }
    struct sh_caller c = fx_counter(H1);
    assert_int_equal(fx_code(f, &c, rq_query_rid("x999", H1)), SH_E_NOT_FOUND);
    free_replies(replies, 4);
}

static struct sh_reply reconcile_raw(struct fx *f, const char *hospital)
{
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    return fx_call_raw(f, &bureau, rq_reconcile(hospital, DAY));
}

/* Reconciles the day for H1, H2 and the whole day, then brings the
 * indexes up to date: every reply must stay the same, byte for byte. */
static void assert_reconcile_unchanged_by_flush(struct fx *f)
{
    const char *scopes[] = {H1, H2, ""};
    struct sh_reply before[3];
    for (int s = 0; s < 3; s++) {
        before[s] = reconcile_raw(f, scopes[s]);
        Sanhe__Response *resp = peek(before[s]);
        assert_null(resp->error);
        sanhe__response__free_unpacked(resp, NULL);
    }
    assert_int_equal(ledger_index_flush(f->ledger, f->now_ms), 0);
    for (int s = 0; s < 3; s++) {
        struct sh_reply after = reconcile_raw(f, scopes[s]);
        assert_int_equal(after.len, before[s].len);
        assert_memory_equal(after.data, before[s].data, after.len);
        free(after.data);
        free(before[s].data);
    }
}

/* The same figures whether the journal_day index holds none, some or all
 * of the day's entries. */
static void reconcile_same_whatever_is_indexed(void **state)
{
    struct fx *f = *state;
    struct sh_reply replies[SETTLES];
    settle_range(f, 0, SETTLES / 2, replies);
    struct sh_caller c = fx_counter(H1);
    Sanhe__Response *first = peek(replies[0]);
    assert_int_equal(fx_code(f, &c, rq_reverse_id("r0", first->settle->settlement_id)), 0);
    sanhe__response__free_unpacked(first, NULL);
    assert_reconcile_unchanged_by_flush(f); /* none indexed, then all */
    settle_range(f, SETTLES / 2, SETTLES, replies);
    assert_reconcile_unchanged_by_flush(f); /* half indexed, then all */
    assert_int_equal(fx_check(f), 0);
    free_replies(replies, SETTLES);
}

/* The two indexes are brought up to date in turn, half a period apart,
 * never in one commit: each commit here is one settle (ledger_handle). */
#define LAG 8
static void flushes_take_turns_half_a_period_apart(void **state)
{
    struct fx *f = *state;
    f->cfg.index_lag_flush = LAG;
    fx_reopen(f);
    uint64_t req = 0, jou = 0;
    assert_int_equal(ledger_test_index_lags(f->ledger, &req, &jou), 0);
    int flushes_req = 0, flushes_jou = 0;
    for (int i = 0; i < 12 * LAG; i++) {
        char rid[16];
        rid_of(i, rid);
        const char *h = i % 2 == 0 ? H1 : H2;
        struct sh_caller c = fx_counter(h);
        assert_int_equal(fx_code(f, &c, rq_settle_std(rid, h, P_LOWINC, DAY, 1000 + i)), 0);
        uint64_t req2 = 0, jou2 = 0;
        assert_int_equal(ledger_test_index_lags(f->ledger, &req2, &jou2), 0);
        bool moved_req = req2 < req + 1, moved_jou = jou2 < jou + 1;
        assert_false(moved_req && moved_jou);
        if (moved_req) {
            flushes_req++;
            assert_int_equal(req + 1, LAG); /* at the lag, all of it */
            assert_int_equal(req2, 0);
        }
        if (moved_jou) {
            flushes_jou++;
            assert_int_equal(jou2, 0);
            /* half a period after the requests' flush */
            assert_int_equal(req2, LAG / 2);
            assert_true(jou + 1 >= LAG && jou + 1 < 2 * LAG);
        }
        assert_true(req2 < LAG);
        assert_true(jou2 < 2 * LAG);
        req = req2;
        jou = jou2;
    }
    assert_int_equal(flushes_req, 12);
    assert_int_equal(flushes_jou, 11); /* the first waited half a period */
    assert_int_equal(fx_check(f), 0);
}

/* Batches larger than the lag: the requests index is due at every commit,
 * and the journal_day index still never falls more than 2 * lag plus a
 * batch behind. */
#define BIG_BATCH 6
static void journal_day_keeps_up_with_batches_over_the_lag(void **state)
{
    struct fx *f = *state;
    f->cfg.index_lag_flush = 4;
    fx_reopen(f);
    int n = 0;
    for (int round = 0; round < 10; round++) {
        struct ledger_batch *b = NULL;
        assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
        for (int k = 0; k < BIG_BATCH; k++, n++) {
            char rid[16];
            rid_of(n, rid);
            const char *h = n % 2 == 0 ? H1 : H2;
            struct sh_caller c = fx_counter(h);
            Sanhe__Request *rq = rq_settle_std(rid, h, P_LOWINC, DAY, 1000 + n);
            struct sh_reply reply;
            assert_int_equal(ledger_batch_apply(b, &c, rq, &reply), 0);
            assert_int_equal(fx_code_of(fx_unpack(reply)), 0);
            sanhe__request__free_unpacked(rq, NULL);
        }
        assert_int_equal(ledger_batch_commit(b), 0);
        uint64_t req = 0, jou = 0;
        assert_int_equal(ledger_test_index_lags(f->ledger, &req, &jou), 0);
        assert_int_equal(req, 0); /* due at every commit */
        assert_true(jou < 2 * 4 + BIG_BATCH);
    }
    assert_int_equal(fx_check(f), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_lagging, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(retries_replay_on_both_sides_and_after_restart),
        T(query_by_request_on_both_sides),
        T(reconcile_same_whatever_is_indexed),
        T(flushes_take_turns_half_a_period_apart),
        T(journal_day_keeps_up_with_batches_over_the_lag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
