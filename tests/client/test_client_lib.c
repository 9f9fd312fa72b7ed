/*
 * libsanhe-client against a real engine: settle, replay, presettle, query,
 * eligibility, refusals, fail-over, and the outcome-unknown path (engine
 * frozen with SIGSTOP after the settle is sent; engine stopped) followed by
 * a retry or a cancel that lands exactly once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_fixture.h"
#include "sh_json.h"

static int failures;

/* A case step's claim as the public struct (strings borrowed from *pb). */
struct test_claim {
    Sanhe__Claim *pb;
    struct sanhe_line lines[64];
    struct sanhe_claim claim;
};

static void claim_of_step(const json_t *doc, size_t step, struct test_claim *t)
{
    const json_t *s = json_array_get(json_object_get(doc, "steps"), step);
    struct sh_error err;
    if (sh_json_to_claim(json_object_get(s, "claim"), &t->pb, &err) != 0 || t->pb->n_lines > 64) {
        fprintf(stderr, "bad claim in step %zu\n", step);
        exit(1);
    }
    for (size_t i = 0; i < t->pb->n_lines; i++)
        t->lines[i] = (struct sanhe_line){t->pb->lines[i]->code, t->pb->lines[i]->qty_milli,
                                          t->pb->lines[i]->amount};
    t->claim = (struct sanhe_claim){t->pb->hospital, t->pb->person, t->pb->visit,
                                    t->pb->date,     t->lines,      t->pb->n_lines};
}

static int64_t expect_of(const json_t *doc, size_t step, const char *key)
{
    const json_t *s = json_array_get(json_object_get(doc, "steps"), step);
    return json_integer_value(json_object_get(json_object_get(s, "expect"), key));
}

static const struct sanhe_fund_limit *limit_of(const struct sanhe_eligibility *e, const char *fund,
                                               const char *visit)
{
    for (size_t i = 0; i < e->fund_count; i++)
        for (size_t k = 0; strcmp(e->funds[i].fund, fund) == 0 && k < e->funds[i].limit_count; k++)
            if (strcmp(e->funds[i].limits[k].visit, visit) == 0)
                return &e->funds[i].limits[k];
    return NULL;
}

/* After lib-1 (step 0's bill for 患者2 at a county hospital): the limits
 * of the Haiyan 2026 policy as the engine states them, by hand. */
static void test_eligibility_limits(sanhe_client *c, const struct test_claim *t)
{
    struct sanhe_eligibility e;
    CHECK(sanhe_eligibility(c, t->claim.person, t->claim.date, 0, &e) == 0);
    CHECK(e.name[0] != '\0' && e.accumulator_count > 0 && e.fund_count == 3);
    /* coop inpatient: cap 30000000, paid 1674000, deductible 80000 at the
     * county level (the caller's hospital), by level 0/30000/80000/150000/200000 */
    const struct sanhe_fund_limit *l = limit_of(&e, "coop", "inpatient");
    CHECK(l != NULL && l->year == 2026 && strcmp(l->cap_group, "inpatient") == 0);
    CHECK(l != NULL && l->has_annual_cap && l->annual_cap == 30000000 && l->paid == 1674000);
    CHECK(l != NULL && l->remaining == 30000000 - 1674000);
    CHECK(l != NULL && l->has_deductible && l->deductible == 80000 &&
          strcmp(l->deductible_scope, "claim") == 0 && l->deductible_met == 0);
    CHECK(l != NULL && l->deductible_by_level[0] == 0 && l->deductible_by_level[1] == 30000 &&
          l->deductible_by_level[4] == 200000);
    /* coop chronic: an annual deductible of 50000, not met yet */
    l = limit_of(&e, "coop", "chronic");
    CHECK(l != NULL && strcmp(l->deductible_scope, "annual") == 0 && l->deductible == 50000 &&
          l->deductible_met == 0 && l->remaining == 800000);
    /* youfu disabled_1_6: no annual cap; paid 561000 */
    l = limit_of(&e, "youfu", "inpatient");
    CHECK(l != NULL && !l->has_annual_cap && l->annual_cap == 0 && l->paid == 561000);
    CHECK(e.funds[1].applies && strcmp(e.funds[1].category, "disabled_1_6") == 0);
    /* assist: no category, so no limits */
    CHECK(!e.funds[2].applies && e.funds[2].limit_count == 0);
    sanhe_eligibility_free(&e);
}

static void test_basics(struct client_fixture *f, sanhe_client *c, const struct test_claim *t)
{
    struct sanhe_settle_result r, again, trial;
    CHECK(sanhe_settle(c, &t->claim, "lib-1", 0, &r) == 0);
    CHECK(r.settlement_id != 0 && r.business_day[0] != '\0');
    CHECK(r.breakdown.total == expect_of(f->doc, 0, "total"));
    CHECK(r.breakdown.patient_pays == expect_of(f->doc, 0, "patient_pays"));
    CHECK(r.breakdown.fund_total + r.breakdown.patient_pays == r.breakdown.total);
    /* Step 0's bill by class: A002 + A003, B001, C001. */
    CHECK(r.breakdown.has_class_totals == 1);
    CHECK(r.breakdown.class_a_total == 600000 + 1500000);
    CHECK(r.breakdown.class_b_total == 150000);
    CHECK(r.breakdown.class_c_total == 200000);
    CHECK(r.breakdown.class_a_total + r.breakdown.class_b_total + r.breakdown.class_c_total ==
          r.breakdown.total);
    CHECK(sanhe_settle(c, &t->claim, "lib-1", 0, &again) == 0);
    CHECK(again.settlement_id == r.settlement_id);
    CHECK(again.breakdown.class_b_total == 150000); /* the replayed reply */
    CHECK(sanhe_presettle(c, &t->claim, 0, &trial) == 0 && trial.breakdown.trial == 1);
    sanhe_settle_result_free(&trial);
    struct sanhe_settlement q;
    CHECK(sanhe_query(c, 0, "lib-1", 0, &q) == 0 && q.settlement_id == r.settlement_id &&
          q.state == SANHE_SETTLED);
    CHECK(q.breakdown.has_class_totals && q.breakdown.class_a_total == 2100000);
    sanhe_settlement_free(&q);
    test_eligibility_limits(c, t);
    struct sanhe_claim bad = t->claim;
    bad.person = "123";
    CHECK(sanhe_settle(c, &bad, NULL, 0, &trial) == SANHE_E_REFUSED);
    CHECK(sanhe_refusal_code(c) == SANHE_REFUSAL_BAD_PERSON_ID);
    if (sanhe_refusal_code(c) != SANHE_REFUSAL_BAD_PERSON_ID)
        fprintf(stderr, "refusal %d %s: %s\n", sanhe_refusal_code(c), sanhe_refusal_name(c),
                sanhe_last_message(c));
    CHECK(strcmp(sanhe_refusal_name(c), "BAD_PERSON_ID") == 0);
    CHECK(sanhe_settle(c, &bad, "lib-1", 0, &trial) == SANHE_E_REFUSED &&
          sanhe_refusal_code(c) == SANHE_REFUSAL_REQUEST_ID_REUSED);
    sanhe_settle_result_free(&r);
    sanhe_settle_result_free(&again);
}

/* The library's own conversion (lib/internal.h; the static library used
 * here exports it): a Breakdown as recorded before the class totals existed
 * converts with has_class_totals 0 and the totals 0, not garbage. */
int sanhe_breakdown_from_pb(const Sanhe__Breakdown *pb, struct sanhe_breakdown *out);
void sanhe_breakdown_free(struct sanhe_breakdown *b);

static void test_breakdown_without_class_totals(void)
{
    Sanhe__Breakdown old = SANHE__BREAKDOWN__INIT;
    old.has_total = old.has_out_of_scope = true;
    old.total = 2450000;
    old.out_of_scope = 200000;
    struct sanhe_breakdown b;
    memset(&b, 0x5a, sizeof b);
    CHECK(sanhe_breakdown_from_pb(&old, &b) == 0);
    CHECK(b.total == 2450000 && b.has_class_totals == 0);
    CHECK(b.class_a_total == 0 && b.class_b_total == 0 && b.class_c_total == 0);
    sanhe_breakdown_free(&b);
    old.has_class_a_total = old.has_class_b_total = old.has_class_c_total = true;
    old.class_a_total = 2100000, old.class_b_total = 150000, old.class_c_total = 200000;
    CHECK(sanhe_breakdown_from_pb(&old, &b) == 0);
    CHECK(b.has_class_totals == 1 && b.class_a_total == 2100000 && b.class_b_total == 150000 &&
          b.class_c_total == 200000);
    sanhe_breakdown_free(&b);
}

/* Port 1 refuses; the client fails over to the engine. */
static void test_failover(struct client_fixture *f, const struct test_claim *t)
{
    char port[64], engines[160], bufs[3][4096];
    snprintf(engines, sizeof engines, "127.0.0.1:1,%s", fixture_engine(f, port));
    struct sanhe_client_options o;
    fixture_options(f, t->claim.hospital, engines, &o, bufs);
    sanhe_client *c;
    CHECK(sanhe_client_new(&c, &o) == 0);
    struct sanhe_settle_result r;
    CHECK(sanhe_presettle(c, &t->claim, 5000, &r) == 0);
    sanhe_settle_result_free(&r);
    sanhe_client_free(c);
}

/* Frozen engine: the settle is sent, no reply comes, the outcome is unknown;
 * after the engine thaws, a retry with the same id lands exactly once. */
static void test_unknown_then_retry(struct client_fixture *f, sanhe_client *c,
                                    const struct test_claim *t)
{
    struct sanhe_settle_result r, trial;
    CHECK(sanhe_presettle(c, &t->claim, 0, &trial) == 0); /* the connection is up */
    sanhe_settle_result_free(&trial);
    kill(f->sb.engine.pid, SIGSTOP);
    CHECK(sanhe_settle(c, &t->claim, "lib-2", 1500, &r) == SANHE_E_OUTCOME_UNKNOWN);
    kill(f->sb.engine.pid, SIGCONT);
    CHECK(sanhe_settle(c, &t->claim, "lib-2", 0, &r) == 0);
    uint64_t id = r.settlement_id;
    sanhe_settle_result_free(&r);
    CHECK(sanhe_settle(c, &t->claim, "lib-2", 0, &r) == 0 && r.settlement_id == id);
    sanhe_settle_result_free(&r);
}

/* Frozen engine, then cancel: whether or not the settle had landed, it is
 * not in force afterwards and a late retry never pays. */
static void test_unknown_then_cancel(struct client_fixture *f, sanhe_client *c,
                                     const struct test_claim *t)
{
    struct sanhe_settle_result r;
    struct sanhe_cancel_result x;
    kill(f->sb.engine.pid, SIGSTOP);
    CHECK(sanhe_settle(c, &t->claim, "lib-3", 1500, &r) == SANHE_E_OUTCOME_UNKNOWN);
    kill(f->sb.engine.pid, SIGCONT);
    CHECK(sanhe_cancel(c, "lib-3", "lib-3-cancel", 0, &x) == 0);
    struct sanhe_settlement q;
    int qrc = sanhe_query(c, 0, "lib-3", 0, &q);
    if (x.reversed)
        CHECK(qrc == 0 && q.state == SANHE_REVERSED && q.settlement_id == x.settlement_id);
    else
        CHECK(qrc == SANHE_E_REFUSED && sanhe_refusal_code(c) == SANHE_REFUSAL_NOT_FOUND);
    sanhe_settlement_free(&q);
    int rc = sanhe_settle(c, &t->claim, "lib-3", 0, &r);
    CHECK(rc == SANHE_E_REFUSED || (rc == 0 && r.settlement_id == x.settlement_id));
    sanhe_settle_result_free(&r);
    printf("cancel after unknown outcome: the settle had %s\n",
           x.reversed ? "landed (now reversed)" : "not landed (now never will)");
}

/* Engine down: nothing can be sent (UNREACHABLE, it did not land); once the
 * engine is back, the same request id lands once. */
static void test_engine_down(struct client_fixture *f, const struct test_claim *t)
{
    char port[64], bufs[3][4096];
    struct sanhe_client_options o;
    CHECK(fixture_stop(f) == 0);
    fixture_options(f, t->claim.hospital, fixture_engine(f, port), &o, bufs);
    sanhe_client *c;
    CHECK(sanhe_client_new(&c, &o) == 0);
    struct sanhe_settle_result r;
    int rc = sanhe_settle(c, &t->claim, "lib-4", 1000, &r);
    CHECK(rc == SANHE_E_UNREACHABLE || rc == SANHE_E_OUTCOME_UNKNOWN);
    sanhe_client_free(c);
    CHECK(fixture_restart(f) == 0);
    fixture_options(f, t->claim.hospital, fixture_engine(f, port), &o, bufs);
    CHECK(sanhe_client_new(&c, &o) == 0);
    CHECK(sanhe_settle(c, &t->claim, "lib-4", 0, &r) == 0);
    uint64_t id = r.settlement_id;
    sanhe_settle_result_free(&r);
    CHECK(sanhe_settle(c, &t->claim, "lib-4", 0, &r) == 0 && r.settlement_id == id);
    sanhe_settle_result_free(&r);
    sanhe_client_free(c);
}

int main(int argc, char **argv)
{
    struct client_fixture f;
    if (argc != 2 || fixture_start(&f, argv[1]) != 0)
        return 1;
    struct test_claim t;
    claim_of_step(f.doc, 0, &t);
    char port[64], bufs[3][4096];
    struct sanhe_client_options o;
    fixture_options(&f, t.claim.hospital, fixture_engine(&f, port), &o, bufs);
    o.attempt_timeout_ms = 500;
    sanhe_client *c;
    CHECK(sanhe_client_new(&c, &o) == 0);
    test_breakdown_without_class_totals();
    test_basics(&f, c, &t);
    test_failover(&f, &t);
    test_unknown_then_retry(&f, c, &t);
    test_unknown_then_cancel(&f, c, &t);
    sanhe_client_free(c);
    test_engine_down(&f, &t);
    sanhe__claim__free_unpacked(t.pb, NULL);
    CHECK(fixture_finish(&f) == 0);
    printf("%s\n", failures == 0 ? "test_client_lib: ok" : "test_client_lib: FAILED");
    return failures != 0;
}
