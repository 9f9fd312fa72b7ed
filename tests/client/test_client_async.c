/*
 * The asynchronous form on a libuv loop, against a real engine: every
 * operation (settle and its replay, presettle, cancel, reverse, query,
 * eligibility) with real values asserted, a refusal through the callback
 * for each, the engine frozen (SIGSTOP) with a reverse, a query and an
 * eligibility in flight (outcome unknown, then a retry with the same
 * request id lands once; timeouts), an unreachable engine, and calls
 * refused up front whose callback never runs; and sanhe_call_raw, the
 * escape hatch for other operations. A timer on the same loop
 * keeps ticking meanwhile (the loop is never blocked).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "client_fixture.h"
#include "sh_json.h"

#define PERSON_UNKNOWN "330424198801010010" /* a valid id no one in case 02 has */
#define FROZEN_MS 1500

static int failures, pending, callbacks;
static uv_loop_t loop;
static uv_timer_t timer;

/* What one callback received (the result's contents now belong to it). */
struct got {
    int status, refusal, ran;
    struct sanhe_settle_result settle;
    struct sanhe_cancel_result cancel;
    struct sanhe_reverse_result reverse;
    struct sanhe_settlement settlement;
    struct sanhe_eligibility elig;
};

/* ---- the loop: queue calls, then run until each has called back ---- */

static int ticks;

static void tick(uv_timer_t *t)
{
    (void)t;
    ticks++;
}

static void queued(int rc)
{
    CHECK(rc == 0);
    pending += rc == 0;
}

/* Runs the loop until every queued call has called back; returns how many
 * times the timer ticked meanwhile. */
static int run_loop(void)
{
    int before = ticks;
    if (pending > 0) {
        uv_timer_start(&timer, tick, 1, 1);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    return ticks - before;
}

static void note(struct got *g, sanhe_client *c, int status)
{
    g->status = status;
    g->refusal = sanhe_refusal_code(c);
    g->ran++;
    callbacks++;
    if (--pending == 0)
        uv_timer_stop(&timer); /* lets uv_run return */
}

/* A callback for each result type: keeps what it got in the struct got. */
#define ON_RESULT(name, type, field)                                                               \
    static void name(sanhe_client *c, int status, type *r, void *arg)                              \
    {                                                                                              \
        struct got *g = arg;                                                                       \
        if (r != NULL)                                                                             \
            g->field = *r;                                                                         \
        note(g, c, status);                                                                        \
    }

ON_RESULT(on_settle, struct sanhe_settle_result, settle)
ON_RESULT(on_cancel, struct sanhe_cancel_result, cancel)
ON_RESULT(on_reverse, struct sanhe_reverse_result, reverse)
ON_RESULT(on_query, struct sanhe_settlement, settlement)
ON_RESULT(on_elig, struct sanhe_eligibility, elig)

static void got_free(struct got *g)
{
    sanhe_settle_result_free(&g->settle);
    sanhe_settlement_free(&g->settlement);
    sanhe_eligibility_free(&g->elig);
    memset(g, 0, sizeof *g);
}

/* ---- the case's first bill and what the case expects of it ---- */

struct bill {
    const char *name; /* the patient's, from the case */
    Sanhe__Claim *pb;
    struct sanhe_line lines[16];
    struct sanhe_claim claim;
    int64_t total, fund_total, patient_pays;
};

static int bill_load(struct bill *b, const json_t *doc)
{
    const json_t *s = json_array_get(json_object_get(doc, "steps"), 0);
    struct sh_error err;
    if (sh_json_to_claim(json_object_get(s, "claim"), &b->pb, &err) != 0 || b->pb->n_lines > 16)
        return -1;
    const Sanhe__Claim *pb = b->pb;
    for (size_t i = 0; i < pb->n_lines; i++)
        b->lines[i] =
            (struct sanhe_line){pb->lines[i]->code, pb->lines[i]->qty_milli, pb->lines[i]->amount};
    b->claim =
        (struct sanhe_claim){pb->hospital, pb->person, pb->visit, pb->date, b->lines, pb->n_lines};
    const json_t *persons = json_object_get(doc, "persons");
    for (size_t i = 0; i < json_array_size(persons); i++) {
        const json_t *p = json_array_get(persons, i);
        if (strcmp(json_string_value(json_object_get(p, "id")), pb->person) == 0)
            b->name = json_string_value(json_object_get(p, "name"));
    }
    const json_t *e = json_object_get(s, "expect");
    b->total = json_integer_value(json_object_get(e, "total"));
    b->fund_total = json_integer_value(json_object_get(e, "fund_total"));
    b->patient_pays = json_integer_value(json_object_get(e, "patient_pays"));
    return b->name != NULL ? 0 : -1;
}

static const struct sanhe_fund_share *share(const struct sanhe_breakdown *b, const char *fund)
{
    for (size_t i = 0; i < b->fund_count; i++)
        if (strcmp(b->funds[i].fund, fund) == 0)
            return &b->funds[i];
    return NULL;
}

static const struct sanhe_fund_status *status_of(const struct sanhe_eligibility *e,
                                                 const char *fund)
{
    for (size_t i = 0; i < e->fund_count; i++)
        if (strcmp(e->funds[i].fund, fund) == 0)
            return &e->funds[i];
    return NULL;
}

static int64_t paid(const struct sanhe_eligibility *e, int year, const char *fund)
{
    int64_t sum = 0;
    for (size_t i = 0; i < e->accumulator_count; i++)
        if (e->accumulators[i].year == year && strcmp(e->accumulators[i].fund, fund) == 0)
            sum += e->accumulators[i].paid;
    return sum;
}

static void check_totals(const struct sanhe_breakdown *got, const struct bill *b)
{
    CHECK(got->total == b->total && got->fund_total == b->fund_total &&
          got->patient_pays == b->patient_pays);
}

/* ---- the stages ---- */

/* settle, its replay, presettle, and the cancel of a request never sent. */
static void test_settle(sanhe_client *c, const struct bill *b, struct got *first)
{
    struct got replay = {0}, trial = {0}, cancel = {0};
    queued(sanhe_settle_async(c, &loop, &b->claim, "async-1", 0, on_settle, first));
    run_loop();
    CHECK(first->status == 0 && first->settle.settlement_id != 0);
    check_totals(&first->settle.breakdown, b);
    queued(sanhe_settle_async(c, &loop, &b->claim, "async-1", 0, on_settle, &replay));
    run_loop();
    CHECK(replay.status == 0 && replay.settle.settlement_id == first->settle.settlement_id);
    queued(sanhe_presettle_async(c, &loop, &b->claim, 0, on_settle, &trial));
    run_loop();
    CHECK(trial.status == 0 && trial.settle.breakdown.trial == 1 &&
          trial.settle.settlement_id == 0);
    check_totals(&trial.settle.breakdown, b);
    queued(sanhe_cancel_async(c, &loop, "async-never", NULL, 0, on_cancel, &cancel));
    run_loop();
    CHECK(cancel.status == 0 && cancel.cancel.reversed == 0); /* never sent: cancelled */
    got_free(&replay);
    got_free(&trial);
}

/* The settlement by id and by request id: the settle's breakdown. */
static void check_query(const struct got *q, const struct bill *b, const struct got *first)
{
    const struct sanhe_breakdown *s = &first->settle.breakdown, *g = &q->settlement.breakdown;
    CHECK(q->status == 0 && q->settlement.settlement_id == first->settle.settlement_id);
    CHECK(q->settlement.state == SANHE_SETTLED);
    CHECK(strcmp(q->settlement.request_id, "async-1") == 0);
    CHECK(strcmp(q->settlement.person, b->claim.person) == 0);
    check_totals(g, b);
    CHECK(g->fund_count == s->fund_count);
    for (size_t i = 0; i < s->fund_count && i < g->fund_count; i++)
        CHECK(strcmp(g->funds[i].fund, s->funds[i].fund) == 0 &&
              g->funds[i].pay == s->funds[i].pay);
}

/* The patient's name, the funds that apply as the settle found them, and
 * what the settle paid in the accumulators of the year. */
static void check_eligibility(const struct got *e, const struct bill *b, const struct got *first)
{
    const struct sanhe_breakdown *s = &first->settle.breakdown;
    CHECK(e->status == 0 && strcmp(e->elig.name, b->name) == 0);
    CHECK(strcmp(e->elig.person, b->claim.person) == 0 && e->elig.deceased == 0);
    CHECK(e->elig.fund_count == s->fund_count);
    const struct sanhe_fund_status *coop = status_of(&e->elig, "coop");
    const struct sanhe_fund_status *youfu = status_of(&e->elig, "youfu");
    const struct sanhe_fund_status *assist = status_of(&e->elig, "assist");
    const struct sanhe_fund_share *paid_youfu = share(s, "youfu");
    CHECK(coop != NULL && coop->applies == 1);
    CHECK(youfu != NULL && youfu->applies == 1 && paid_youfu != NULL &&
          strcmp(youfu->category, paid_youfu->category) == 0);
    CHECK(assist != NULL && assist->applies == 0); /* the settle: "no_category" */
    const struct sanhe_fund_share *paid_coop = share(s, "coop");
    CHECK(paid_coop != NULL && paid(&e->elig, 2026, "coop") == paid_coop->pay);
    CHECK(paid_youfu != NULL && paid(&e->elig, 2026, "youfu") == paid_youfu->pay);
}

/* query (by id and by request id) and eligibility, on three clients at once. */
static void test_reads(sanhe_client *c[3], const struct bill *b, const struct got *first)
{
    struct got by_id = {0}, by_rid = {0}, elig = {0};
    queued(sanhe_query_async(c[0], &loop, first->settle.settlement_id, NULL, 0, on_query, &by_id));
    queued(sanhe_query_async(c[1], &loop, 0, "async-1", 0, on_query, &by_rid));
    queued(sanhe_eligibility_async(c[2], &loop, b->claim.person, b->claim.date, 0, on_elig, &elig));
    run_loop();
    check_query(&by_id, b, first);
    check_query(&by_rid, b, first);
    check_eligibility(&elig, b, first);
    got_free(&by_id);
    got_free(&by_rid);
    got_free(&elig);
}

/* The engine's refusal codes reach the callbacks. */
static void test_refusals(sanhe_client *c[3], const struct bill *b)
{
    struct got rev = {0}, q = {0}, e = {0};
    queued(sanhe_reverse_async(c[0], &loop, 999999, NULL, 0, on_reverse, &rev));
    queued(sanhe_query_async(c[1], &loop, 999999, NULL, 0, on_query, &q));
    queued(sanhe_eligibility_async(c[2], &loop, PERSON_UNKNOWN, b->claim.date, 0, on_elig, &e));
    run_loop();
    CHECK(rev.status == SANHE_E_REFUSED && rev.refusal == SANHE_REFUSAL_NOT_FOUND);
    CHECK(q.status == SANHE_E_REFUSED && q.refusal == SANHE_REFUSAL_NOT_FOUND);
    CHECK(e.status == SANHE_E_REFUSED && e.refusal == SANHE_REFUSAL_UNKNOWN_PERSON);
}

/* The engine frozen with a reverse, a query and an eligibility sent on open
 * connections: outcome unknown for the reverse, timeouts for the reads,
 * while the loop runs on. Then the reverse retried with its request id
 * lands once, and a reverse after a settle names it with reversed = 1. */
static void test_frozen(struct client_fixture *f, sanhe_client *c[3], const struct bill *b,
                        const struct got *first)
{
    struct got second = {0}, rev = {0}, q = {0}, e = {0};
    queued(sanhe_settle_async(c[0], &loop, &b->claim, "async-2", 0, on_settle, &second));
    run_loop();
    uint64_t id2 = second.settle.settlement_id;
    CHECK(second.status == 0 && id2 != 0 && id2 != first->settle.settlement_id);
    kill(f->sb.engine.pid, SIGSTOP);
    queued(sanhe_reverse_async(c[0], &loop, id2, "async-rev-2", FROZEN_MS, on_reverse, &rev));
    queued(sanhe_query_async(c[1], &loop, id2, NULL, FROZEN_MS, on_query, &q));
    queued(sanhe_eligibility_async(c[2], &loop, b->claim.person, NULL, FROZEN_MS, on_elig, &e));
    int n = run_loop();
    kill(f->sb.engine.pid, SIGCONT);
    printf("async: engine frozen, the loop's timer ticked %d times meanwhile\n", n);
    CHECK(n > 100);
    CHECK(rev.status == SANHE_E_OUTCOME_UNKNOWN && q.status == SANHE_E_TIMEOUT &&
          e.status == SANHE_E_TIMEOUT);
    queued(sanhe_reverse_async(c[0], &loop, id2, "async-rev-2", 0, on_reverse, &rev));
    queued(sanhe_reverse_async(c[1], &loop, first->settle.settlement_id, "async-rev-1", 0,
                               on_reverse, &q));
    run_loop();
    CHECK(rev.status == 0 && rev.reverse.settlement_id == id2 && rev.reverse.reversed == 1);
    CHECK(q.status == 0 && q.reverse.settlement_id == first->settle.settlement_id &&
          q.reverse.reversed == 1 && q.reverse.business_day[0] != '\0');
    /* Reversed once: the state says so, and another reverse is refused. */
    struct got state = {0}, again = {0};
    queued(sanhe_query_async(c[0], &loop, 0, "async-2", 0, on_query, &state));
    queued(sanhe_reverse_async(c[1], &loop, id2, "async-rev-3", 0, on_reverse, &again));
    run_loop();
    CHECK(state.status == 0 && state.settlement.state == SANHE_REVERSED &&
          strcmp(state.settlement.reversal_request_id, "async-rev-2") == 0);
    CHECK(again.status == SANHE_E_REFUSED && again.refusal == SANHE_REFUSAL_ALREADY_REVERSED);
    got_free(&second);
    got_free(&e);
    got_free(&state);
}

/* No engine at the address: nothing is sent, and each callback says so. */
static void test_unreachable(struct client_fixture *f, const struct bill *b)
{
    char bufs[3][4096];
    struct sanhe_client_options o;
    fixture_options(f, b->claim.hospital, "127.0.0.1:1", &o, bufs);
    o.timeout_ms = 600;
    o.attempt_timeout_ms = 200;
    sanhe_client *c[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        CHECK(sanhe_client_new(&c[i], &o) == 0);
    struct got rev = {0}, q = {0}, e = {0};
    queued(sanhe_reverse_async(c[0], &loop, 1, NULL, 0, on_reverse, &rev));
    queued(sanhe_query_async(c[1], &loop, 1, NULL, 0, on_query, &q));
    queued(sanhe_eligibility_async(c[2], &loop, b->claim.person, NULL, 0, on_elig, &e));
    run_loop();
    CHECK(rev.status == SANHE_E_UNREACHABLE && q.status == SANHE_E_UNREACHABLE &&
          e.status == SANHE_E_UNREACHABLE);
    for (int i = 0; i < 3; i++)
        sanhe_client_free(c[i]);
}

/* req, packed, through sanhe_call_raw: its status, and the reply decoded. */
static int raw(sanhe_client *c, Sanhe__Request *req, Sanhe__Response **out)
{
    uint8_t buf[512];
    size_t len = sanhe__request__get_packed_size(req);
    if (len > sizeof buf)
        return -1;
    sanhe__request__pack(req, buf);
    void *reply = NULL;
    size_t reply_len = 0;
    int rc = sanhe_call_raw(c, buf, len, 0, &reply, &reply_len);
    *out = rc == 0 ? sanhe__response__unpack(NULL, reply_len, reply) : NULL;
    free(reply);
    return rc;
}

/* The escape hatch: a query by request id as a packed Request gets the
 * settlement (the request id generated, the reply matched on it); a
 * reconcile, which has no call of its own, of the counter's hospital on the
 * day of its two settles (both reversed since), and of another hospital
 * (FORBIDDEN); bytes that are not a Request are refused locally. */
static void test_raw(sanhe_client *c, const struct bill *b, const struct got *first)
{
    Sanhe__QueryRequest q = SANHE__QUERY_REQUEST__INIT;
    q.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
    q.settlement_request_id = "async-1";
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_QUERY;
    req.query = &q;
    Sanhe__Response *r = NULL;
    CHECK(raw(c, &req, &r) == 0 && r != NULL && r->query != NULL &&
          r->query->settlement->settlement_id == first->settle.settlement_id);
    CHECK(r != NULL && strcmp(r->request_id, sanhe_last_request_id(c)) == 0);
    if (r != NULL)
        sanhe__response__free_unpacked(r, NULL);
    Sanhe__ReconcileRequest rq = SANHE__RECONCILE_REQUEST__INIT;
    rq.day = (char *)first->settle.business_day;
    req = (Sanhe__Request)SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_RECONCILE;
    req.reconcile = &rq;
    CHECK(raw(c, &req, &r) == 0 && r != NULL && r->reconcile != NULL);
    const Sanhe__ReconcileReply *day = r != NULL ? r->reconcile : NULL;
    CHECK(day != NULL && strcmp(day->hospital, b->claim.hospital) == 0);
    CHECK(day != NULL && day->settlements->count == 2 && day->reversals->count == 2 &&
          day->settlements->total == 2 * b->total && day->net->total == 0);
    if (r != NULL)
        sanhe__response__free_unpacked(r, NULL);
    rq.hospital = "H330400001";
    req.request_id = "async-raw-1";
    CHECK(raw(c, &req, &r) == SANHE_E_REFUSED && r == NULL);
    CHECK(sanhe_refusal_code(c) == SANHE_REFUSAL_FORBIDDEN);
    CHECK(strcmp(sanhe_last_request_id(c), "async-raw-1") == 0);
    size_t len = 0;
    CHECK(sanhe_last_reply(c, &len) != NULL && len > 0);
    void *reply = NULL;
    size_t reply_len = 0;
    CHECK(sanhe_call_raw(c, "\xff\xff\xff", 3, 0, &reply, &reply_len) == SANHE_E_INVAL);
    CHECK(sanhe_call_raw(c, "", 0, 0, &reply, &reply_len) == SANHE_E_INVAL && reply == NULL);
}

/* Calls refused up front return the error, and their callback never runs. */
static void test_invalid(sanhe_client *c, const struct bill *b)
{
    struct got g = {0};
    int before = callbacks;
    CHECK(sanhe_reverse_async(c, &loop, 0, NULL, 0, on_reverse, &g) == SANHE_E_INVAL);
    CHECK(sanhe_reverse_async(c, &loop, 1, "a-request-id-longer-than-31-bytes", 0, on_reverse,
                              &g) == SANHE_E_INVAL);
    CHECK(sanhe_reverse_async(c, NULL, 1, NULL, 0, on_reverse, &g) == SANHE_E_INVAL);
    CHECK(sanhe_query_async(c, &loop, 0, NULL, 0, on_query, &g) == SANHE_E_INVAL);
    CHECK(sanhe_query_async(c, &loop, 1, "async-1", 0, on_query, &g) == SANHE_E_INVAL);
    CHECK(sanhe_eligibility_async(c, &loop, NULL, NULL, 0, on_elig, &g) == SANHE_E_INVAL);
    CHECK(sanhe_eligibility_async(c, &loop, b->claim.person, NULL, 0, NULL, &g) == SANHE_E_INVAL);
    run_loop();
    CHECK(g.ran == 0 && callbacks == before);
}

int main(int argc, char **argv)
{
    struct client_fixture f;
    struct bill b = {0};
    if (argc != 2 || fixture_start(&f, argv[1]) != 0 || bill_load(&b, f.doc) != 0)
        return 1;
    char port[64], bufs[3][4096];
    struct sanhe_client_options o;
    fixture_options(&f, b.claim.hospital, fixture_engine(&f, port), &o, bufs);
    sanhe_client *c[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        CHECK(sanhe_client_new(&c[i], &o) == 0);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &timer);
    struct got first = {0};
    test_settle(c[0], &b, &first);
    test_reads(c, &b, &first);
    test_refusals(c, &b);
    test_frozen(&f, c, &b, &first);
    test_unreachable(&f, &b);
    test_invalid(c[0], &b);
    test_raw(c[0], &b, &first);
    got_free(&first);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
    printf("async: %d calls completed, the loop's timer ticked %d times meanwhile\n", callbacks,
           ticks);
    for (int i = 0; i < 3; i++)
        sanhe_client_free(c[i]);
    sanhe__claim__free_unpacked(b.pb, NULL);
    CHECK(fixture_finish(&f) == 0);
    printf("%s\n", failures == 0 ? "test_client_async: ok" : "test_client_async: FAILED");
    return failures != 0;
}
