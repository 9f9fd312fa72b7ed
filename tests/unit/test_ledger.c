/*
 * The ledger's operations, one request per batch: settle and its replay,
 * reverse, cancel both ways, query, eligibility, load, roles and bad
 * requests. Each test starts from a fresh store with the default
 * reference data (test_ledger_fixture.h).
 */
#include "test_ledger_fixture.h"

static const struct sh_caller *c_h1(void)
{
    static struct sh_caller c;
    c = fx_counter(H1);
    return &c;
}

/* ---- settle ------------------------------------------------------------------------------ */

static void settle_computes_and_replays_byte_for_byte(void **state)
{
    struct fx *f = *state;
    struct sh_reply first =
        fx_call_raw(f, c_h1(), rq_settle_std("a1", H1, P_LOWINC, "2026-03-01", 2500000));
    struct sh_reply again =
        fx_call_raw(f, c_h1(), rq_settle_std("a1", H1, P_LOWINC, "2026-03-01", 2500000));
    assert_int_equal(first.len, again.len);
    assert_memory_equal(first.data, again.data, first.len);
    Sanhe__Response *r = fx_unpack(first);
    free(again.data);
    assert_null(r->error);
    assert_string_equal(r->request_id, "a1");
    assert_int_equal(r->result_case, SANHE__RESPONSE__RESULT_SETTLE);
    const Sanhe__Breakdown *b = r->settle->breakdown;
    assert_int_equal(r->settle->settlement_id, 1);
    assert_string_equal(r->settle->business_day, "2026-03-01");
    assert_int_equal(b->total, 2500000);
    assert_int_equal(b->n_funds, 3);
    assert_string_equal(b->funds[0]->fund, "coop");
    assert_int_equal(b->funds[0]->pay, 1886000);
    assert_int_equal(b->funds[0]->deductible, 80000);
    assert_null(b->funds[0]->reason);
    assert_null(b->funds[0]->category);
    assert_string_equal(b->funds[0]->cap_group, "inpatient");
    assert_non_null(b->funds[0]->name);
    assert_string_equal(b->funds[1]->reason, "no_category");
    assert_null(b->funds[1]->cap_group);
    assert_int_equal(b->funds[2]->pay, 157000);
    assert_string_equal(b->funds[2]->category, "low_income");
    assert_int_equal(b->fund_total, 2043000);
    assert_int_equal(b->patient_pays, 457000);
    assert_false(b->trial);
    assert_string_equal(b->policy_region, "330424");
    assert_int_equal(b->policy_year, 2026);
    sanhe__response__free_unpacked(r, NULL);
    /* The replay recorded nothing more. */
    struct ledger_info info;
    assert_int_equal(ledger_info(f->ledger, &info), 0);
    assert_int_equal(info.settlements, 1);
    assert_int_equal(info.journal_entries, 1);
    assert_int_equal(fx_check(f), 0);
}

static void settle_reused_request_id_is_refused(void **state)
{
    struct fx *f = *state;
    fx_settle_ok(f, c_h1(), rq_settle_std("a1", H1, P_LOWINC, "2026-03-01", 2500000));
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("a1", H1, P_LOWINC, "2026-03-01", 2500001)),
                     SH_E_REQUEST_ID_REUSED);
    /* Another operation under the same id is a reuse too. */
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_rid("a1", "a1")), SH_E_REQUEST_ID_REUSED);
    assert_int_equal(fx_code(f, c_h1(), rq_cancel("a1", "zz")), SH_E_REQUEST_ID_REUSED);
    /* The same id at another hospital is another request. */
    struct sh_caller h3 = fx_counter(H3);
    fx_settle_ok(f, &h3, rq_settle_std("a1", H3, P_LOWINC, "2026-03-01", 2500000));
    assert_int_equal(fx_check(f), 0);
}

static void settle_refusals_store_nothing(void **state)
{
    struct fx *f = *state;
    uint8_t before[32], after[32];
    assert_int_equal(ledger_test_digest(f->ledger, NULL, before), 0);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("r1", H2, P_LOWINC, "2026-03-01", 100)),
                     SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("r2", H1, P_LOWINC, "2026-02-30", 100)),
                     SH_E_BAD_CLAIM);
    assert_int_equal(
        fx_code(f, c_h1(), rq_settle_std("r3", H1, "330424196201120128", "2026-03-01", 100)),
        SH_E_BAD_PERSON_ID);
    assert_int_equal(
        fx_code(f, c_h1(), rq_settle_std("r4", H1, "330424199912319998", "2026-03-01", 100)),
        SH_E_UNKNOWN_PERSON);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("r5", H1, P_DEAD, "2026-05-01", 100)),
                     SH_E_PERSON_DECEASED);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("r6", H1, P_LOWINC, "2027-01-05", 100)),
                     SH_E_NO_POLICY);
    assert_int_equal(
        fx_code(f, c_h1(),
                rq_settle("r7", claim_one(H1, P_LOWINC, "inpatient", "2026-03-01", "Z999", 100))),
        SH_E_UNKNOWN_ITEM);
    assert_int_equal(
        fx_code(f, c_h1(),
                rq_settle("r8", claim_one(H1, P_LOWINC, "emergency", "2026-03-01", "A003", 100))),
        SH_E_BAD_CLAIM);
    /* A person id one character too long is BAD_PERSON_ID, not cut to fit. */
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("r9", H1, P_LOWINC "1", "2026-03-01", 100)),
                     SH_E_BAD_PERSON_ID);
    /* An item code too long to be one: unknown, not cut to a known one. */
    char code[64];
    snprintf(code, sizeof code, "A003%040d", 0);
    assert_int_equal(
        fx_code(f, c_h1(),
                rq_settle("r10", claim_one(H1, P_LOWINC, "inpatient", "2026-03-01", code, 100))),
        SH_E_UNKNOWN_ITEM);
    assert_int_equal(ledger_test_digest(f->ledger, NULL, after), 0);
    assert_memory_equal(before, after, 32);
    /* A refused request id is free: checked afresh. */
    fx_settle_ok(f, c_h1(), rq_settle_std("r6", H1, P_LOWINC, "2026-03-01", 100));
}

static void refusal_messages_mask_person_ids(void **state)
{
    struct fx *f = *state;
    Sanhe__Response *r =
        fx_call(f, c_h1(), rq_settle_std("m1", H1, "330424199912319998", "2026-03-01", 100));
    assert_non_null(r->error);
    assert_null(strstr(r->error->message, "330424199912319998"));
    sanhe__response__free_unpacked(r, NULL);
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    r = fx_call(f, &bureau, rq_eligibility("330424199912319998", "2026-03-01"));
    assert_non_null(r->error);
    assert_null(strstr(r->error->message, "330424199912319998"));
    sanhe__response__free_unpacked(r, NULL);
}

static void presettle_is_a_trial_and_records_nothing(void **state)
{
    struct fx *f = *state;
    uint8_t before[32], after[32];
    assert_int_equal(ledger_test_digest(f->ledger, NULL, before), 0);
    Sanhe__Response *r = fx_call(
        f, c_h1(),
        rq_presettle(NULL, claim_one(H1, P_LOWINC, "inpatient", "2026-03-01", "A003", 2500000)));
    assert_null(r->error);
    assert_int_equal(r->result_case, SANHE__RESPONSE__RESULT_PRESETTLE);
    assert_true(r->presettle->breakdown->trial);
    assert_int_equal(r->presettle->breakdown->fund_total, 2043000);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(ledger_test_digest(f->ledger, NULL, after), 0);
    assert_memory_equal(before, after, 32);
    /* Check 0 applies to a presettle too. */
    assert_int_equal(
        fx_code(f, c_h1(),
                rq_presettle("p", claim_one(H2, P_LOWINC, "inpatient", "2026-03-01", "A003", 1))),
        SH_E_FORBIDDEN);
}

/* ---- reverse ------------------------------------------------------------------------------ */

static void reverse_restores_accumulators_and_replays(void **state)
{
    struct fx *f = *state;
    uint8_t before[32], after[32];
    assert_int_equal(ledger_test_digest(f->ledger, "accumulators", before), 0);
    uint64_t id = fx_settle_ok(f, c_h1(), rq_settle_std("a1", H1, P_LOWINC, "2026-03-01", 2500000));
    f->now_ms += 86400000; /* reversed the next day */
    struct sh_reply first = fx_call_raw(f, c_h1(), rq_reverse_rid("a1-rev", "a1"));
    struct sh_reply again = fx_call_raw(f, c_h1(), rq_reverse_rid("a1-rev", "a1"));
    assert_int_equal(first.len, again.len);
    assert_memory_equal(first.data, again.data, first.len);
    free(again.data);
    Sanhe__Response *r = fx_unpack(first);
    assert_null(r->error);
    assert_int_equal(r->result_case, SANHE__RESPONSE__RESULT_REVERSE);
    assert_true(r->reverse->reversed);
    assert_int_equal(r->reverse->settlement_id, id);
    assert_string_equal(r->reverse->business_day, "2026-03-02");
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(ledger_test_digest(f->ledger, "accumulators", after), 0);
    assert_memory_equal(before, after, 32);
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_rid("a1-rev2", "a1")), SH_E_ALREADY_REVERSED);
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_id("a1-rev3", id)), SH_E_ALREADY_REVERSED);
    /* The settle's replay still answers the original reply. */
    Sanhe__Response *s =
        fx_call(f, c_h1(), rq_settle_std("a1", H1, P_LOWINC, "2026-03-01", 2500000));
    assert_null(s->error);
    assert_int_equal(s->settle->settlement_id, id);
    sanhe__response__free_unpacked(s, NULL);
    struct ledger_info info;
    assert_int_equal(ledger_info(f->ledger, &info), 0);
    assert_int_equal(info.journal_entries, 2);
    assert_int_equal(fx_check(f), 0);
}

static void reverse_targets(void **state)
{
    struct fx *f = *state;
    struct sh_caller h3 = fx_counter(H3);
    uint64_t id = fx_settle_ok(f, c_h1(), rq_settle_std("a2", H1, P_LOWINC, "2026-03-02", 2500000));
    /* Another hospital: by request id it names nothing; by id it is not theirs. */
    assert_int_equal(fx_code(f, &h3, rq_reverse_rid("x-rev", "a2")), SH_E_NOT_FOUND);
    assert_int_equal(fx_code(f, &h3, rq_reverse_id("x-rev2", id)), SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_id("x-rev3", 999)), SH_E_NOT_FOUND);
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_rid("x-rev4", "nope")), SH_E_NOT_FOUND);
    /* A reverse or cancel request id is not a settlement. */
    assert_int_equal(fx_code(f, c_h1(), rq_cancel("c9", "never")), 0);
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_rid("x-rev5", "c9")), SH_E_NOT_FOUND);
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_id("a2-rev", id)), 0);
    assert_int_equal(fx_check(f), 0);
}

/* ---- cancel -------------------------------------------------------------------------------- */

static void cancel_before_settle_refuses_the_late_settle(void **state)
{
    struct fx *f = *state;
    Sanhe__Response *r = fx_call(f, c_h1(), rq_cancel("c1", "a3"));
    assert_null(r->error);
    assert_int_equal(r->result_case, SANHE__RESPONSE__RESULT_CANCEL);
    assert_false(r->cancel->reversed);
    assert_false(r->cancel->has_settlement_id);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("a3", H1, P_LOWINC, "2026-03-03", 2500000)),
                     SH_E_ALREADY_REVERSED);
    /* Again, by another cancel: reversed false again. */
    r = fx_call(f, c_h1(), rq_cancel("c1b", "a3"));
    assert_null(r->error);
    assert_false(r->cancel->reversed);
    sanhe__response__free_unpacked(r, NULL);
    /* A reverse naming the cancelled id finds nothing; one using it is refused. */
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_rid("r-a3", "a3")), SH_E_NOT_FOUND);
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_rid("a3", "c1")), SH_E_ALREADY_REVERSED);
    assert_int_equal(fx_code(f, c_h1(), rq_cancel("a3", "c1")), SH_E_ALREADY_REVERSED);
    /* A cancel of a cancel writes no marker: that id stays a cancel. */
    r = fx_call(f, c_h1(), rq_cancel("c2", "c1"));
    assert_false(r->cancel->reversed);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(fx_code(f, c_h1(), rq_cancel("c1", "a3")), 0); /* replay */
    assert_int_equal(fx_code(f, c_h1(), rq_cancel("c1", "a4")), SH_E_REQUEST_ID_REUSED);
    assert_int_equal(fx_code(f, c_h1(), rq_cancel("c5", "c5")), SH_E_BAD_REQUEST);
    assert_int_equal(fx_check(f), 0);
}

static void cancel_after_settle_reverses_it(void **state)
{
    struct fx *f = *state;
    uint8_t before[32], after[32];
    assert_int_equal(ledger_test_digest(f->ledger, "accumulators", before), 0);
    uint64_t id = fx_settle_ok(f, c_h1(), rq_settle_std("a2", H1, P_LOWINC, "2026-03-02", 2500000));
    struct sh_reply first = fx_call_raw(f, c_h1(), rq_cancel("c2", "a2"));
    struct sh_reply again = fx_call_raw(f, c_h1(), rq_cancel("c2", "a2"));
    assert_int_equal(first.len, again.len);
    assert_memory_equal(first.data, again.data, first.len);
    free(again.data);
    Sanhe__Response *r = fx_unpack(first);
    assert_null(r->error);
    assert_true(r->cancel->reversed);
    assert_int_equal(r->cancel->settlement_id, id);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(ledger_test_digest(f->ledger, "accumulators", after), 0);
    assert_memory_equal(before, after, 32);
    assert_int_equal(fx_code(f, c_h1(), rq_cancel("c3", "a2")), SH_E_ALREADY_REVERSED);
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_rid("r3", "a2")), SH_E_ALREADY_REVERSED);
    /* query shows who reversed it */
    r = fx_call(f, c_h1(), rq_query_id(id));
    assert_null(r->error);
    assert_int_equal(r->query->settlement->state, SANHE__SETTLEMENT_STATE__REVERSED);
    assert_string_equal(r->query->settlement->reversal_request_id, "c2");
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(fx_check(f), 0);
}

/* ---- query ----------------------------------------------------------------------------------- */

static void query_by_id_and_request_id(void **state)
{
    struct fx *f = *state;
    uint64_t id = fx_settle_ok(f, c_h1(), rq_settle_std("a1", H1, P_LOWINC, "2026-03-01", 250000));
    Sanhe__Response *r = fx_call(f, c_h1(), rq_query_rid("a1", NULL));
    assert_null(r->error);
    const Sanhe__Settlement *s = r->query->settlement;
    assert_int_equal(s->settlement_id, id);
    assert_string_equal(s->hospital, H1);
    assert_string_equal(s->request_id, "a1");
    assert_int_equal(s->state, SANHE__SETTLEMENT_STATE__SETTLED);
    assert_string_equal(s->claim->person, P_LOWINC);
    assert_int_equal(s->breakdown->total, 250000);
    assert_string_equal(s->business_day, "2026-03-01");
    assert_int_equal(s->settled_at_ms, FX_NOW_MS);
    sanhe__response__free_unpacked(r, NULL);
    struct sh_caller h3 = fx_counter(H3);
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    assert_int_equal(fx_code(f, &h3, rq_query_id(id)), SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, &h3, rq_query_rid("a1", H1)), SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, &h3, rq_query_rid("a1", NULL)), SH_E_NOT_FOUND);
    assert_int_equal(fx_code(f, &bureau, rq_query_id(id)), 0);
    assert_int_equal(fx_code(f, &admin, rq_query_id(id)), 0);
    assert_int_equal(fx_code(f, &bureau, rq_query_rid("a1", H1)), 0);
    assert_int_equal(fx_code(f, &bureau, rq_query_rid("a1", NULL)), SH_E_BAD_REQUEST);
    assert_int_equal(fx_code(f, &bureau, rq_query_id(id + 1)), SH_E_NOT_FOUND);
}

/* ---- eligibility ----------------------------------------------------------------------------- */

static void eligibility_lists_every_accumulator_sorted(void **state)
{
    struct fx *f = *state;
    /* 2026: inpatient (coop/inpatient, assist/assist) and outpatient
     * (coop/outpatient, assist/outpatient); 2025: inpatient. */
    fx_settle_ok(f, c_h1(), rq_settle_std("a1", H1, P_LOWINC, "2026-03-01", 2500000));
    fx_settle_ok(
        f, c_h1(),
        rq_settle("a2", claim_one(H1, P_LOWINC, "outpatient", "2026-03-02", "A003", 10000)));
    fx_settle_ok(f, c_h1(), rq_settle_std("a3", H1, P_LOWINC, "2025-06-01", 2500000));
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    Sanhe__Response *r = fx_call(f, &bureau, rq_eligibility(P_LOWINC, "2026-03-05"));
    assert_null(r->error);
    const Sanhe__EligibilityReply *e = r->eligibility;
    assert_string_equal(e->person, P_LOWINC);
    assert_string_equal(e->region, "330424");
    assert_false(e->deceased);
    assert_non_null(e->policy_name);
    assert_int_equal(e->n_funds, 3);
    assert_true(e->funds[0]->applies);
    assert_string_equal(e->funds[0]->kind, "insurance");
    assert_false(e->funds[1]->applies);
    assert_string_equal(e->funds[1]->reason, "no_category");
    assert_true(e->funds[2]->applies);
    assert_string_equal(e->funds[2]->category, "low_income");
    static const struct {
        int year;
        const char *fund, *cap_group;
    } want[] = {{2025, "assist", "assist"},  {2025, "coop", "inpatient"},
                {2026, "assist", "assist"},  {2026, "assist", "outpatient"},
                {2026, "coop", "inpatient"}, {2026, "coop", "outpatient"}};
    assert_int_equal(e->n_accumulators, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < e->n_accumulators; i++) {
        assert_int_equal(e->accumulators[i]->year, want[i].year);
        assert_string_equal(e->accumulators[i]->fund, want[i].fund);
        assert_string_equal(e->accumulators[i]->cap_group, want[i].cap_group);
    }
    assert_int_equal(e->accumulators[4]->paid, 1886000);
    assert_int_equal(e->accumulators[4]->payable, 2420000);
    assert_int_equal(e->accumulators[2]->deductible_met, 300000);
    sanhe__response__free_unpacked(r, NULL);
}

static void eligibility_refusals_and_deceased(void **state)
{
    struct fx *f = *state;
    const struct sh_caller *c = c_h1();
    assert_int_equal(fx_code(f, c, rq_eligibility("330424196201120128", "2026-03-01")),
                     SH_E_BAD_PERSON_ID);
    assert_int_equal(fx_code(f, c, rq_eligibility(NULL, "2026-03-01")), SH_E_BAD_PERSON_ID);
    assert_int_equal(fx_code(f, c, rq_eligibility("330424199912319998", "2026-03-01")),
                     SH_E_UNKNOWN_PERSON);
    assert_int_equal(fx_code(f, c, rq_eligibility(P_LOWINC, "2026-3-1")), SH_E_BAD_REQUEST);
    Sanhe__Response *r = fx_call(f, c, rq_eligibility(P_DEAD, "2026-05-01"));
    assert_null(r->error);
    assert_true(r->eligibility->deceased);
    sanhe__response__free_unpacked(r, NULL);
    r = fx_call(f, c, rq_eligibility(P_NOTENR, "2026-05-01"));
    assert_string_equal(r->eligibility->funds[0]->reason, "not_enrolled");
    assert_int_equal(r->eligibility->n_accumulators, 0);
    sanhe__response__free_unpacked(r, NULL);
    r = fx_call(f, c, rq_eligibility(P_PLAIN, "2030-01-01"));
    assert_null(r->eligibility->policy_name);
    assert_int_equal(r->eligibility->n_funds, 0);
    sanhe__response__free_unpacked(r, NULL);
}

/* ---- load ------------------------------------------------------------------------------------ */

static void load_is_all_or_nothing(void **state)
{
    struct fx *f = *state;
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    uint8_t before[32], after[32];
    assert_int_equal(ledger_test_digest(f->ledger, NULL, before), 0);
    Sanhe__Request *req = rq_load_empty();
    fx_hospital(req->load, "H999", "county");
    fx_person(req->load, "330424196201120128", "330424", 2026, 0, NULL); /* bad check digit */
    Sanhe__Response *r = fx_call(f, &admin, req);
    assert_non_null(r->error);
    assert_int_equal(-(int)r->error->code, SH_E_BAD_REFERENCE_DATA);
    assert_non_null(strstr(r->error->message, "persons[0]"));
    assert_null(strstr(r->error->message, "330424196201120128"));
    sanhe__response__free_unpacked(r, NULL);
    req = rq_load_empty();
    fx_hospital(req->load, "H999", "capital"); /* no such level */
    assert_int_equal(fx_code(f, &admin, req), SH_E_BAD_REFERENCE_DATA);
    req = rq_load_empty();
    fx_item(req->load, "X1", "D", -1);
    assert_int_equal(fx_code(f, &admin, req), SH_E_BAD_REFERENCE_DATA);
    req = rq_load_empty();
    fx_terminal(req->load, "t-x", "H999", "counter"); /* unknown hospital */
    assert_int_equal(fx_code(f, &admin, req), SH_E_BAD_REFERENCE_DATA);
    req = rq_load_empty();
    Sanhe__Person *p = fx_person(req->load, P_PLAIN, "330424", 2026, 0, NULL);
    fx_person_category(p, "assist", "tekun", "2026-13-01", NULL);
    assert_int_equal(fx_code(f, &admin, req), SH_E_BAD_REFERENCE_DATA);
    /* An overlapping policy: a 2026 copy starting mid-year. */
    req = rq_load_empty();
    char *text = fx_policy_2026();
    fx_replace_all(text, "2026-01-01", "2026-06-01");
    FX_APPEND(req->load->policies_json, req->load->n_policies_json, text);
    r = fx_call(f, &admin, req);
    assert_int_equal(-(int)r->error->code, SH_E_BAD_REFERENCE_DATA);
    sanhe__response__free_unpacked(r, NULL);
    req = rq_load_empty();
    FX_APPEND(req->load->policies_json, req->load->n_policies_json, strdup("{\"schema\": 1}"));
    assert_int_equal(fx_code(f, &admin, req), SH_E_BAD_REFERENCE_DATA);
    assert_int_equal(ledger_test_digest(f->ledger, NULL, after), 0);
    assert_memory_equal(before, after, 32);
}

static void load_replaces_and_terminals_are_found(void **state)
{
    struct fx *f = *state;
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    /* The same policies again replace themselves (no overlap with themselves). */
    Sanhe__Response *r = fx_call(f, &admin, rq_load_default());
    assert_null(r->error);
    assert_int_equal(r->load->policies, 2);
    assert_int_equal(r->load->persons, 4);
    sanhe__response__free_unpacked(r, NULL);
    struct sh_caller t;
    assert_int_equal(ledger_terminal_find(f->ledger, "t-h1", &t), 0);
    assert_string_equal(t.terminal, "t-h1");
    assert_string_equal(t.hospital, H1);
    assert_int_equal(t.role, SH_ROLE_COUNTER);
    assert_int_equal(ledger_terminal_find(f->ledger, "t-admin", &t), 0);
    assert_int_equal(t.role, SH_ROLE_ADMIN);
    assert_int_equal(ledger_terminal_find(f->ledger, "nobody", &t), SH_E_NOT_FOUND);
    /* A changed person is seen by the next settle: now deceased. */
    Sanhe__Request *req = rq_load_empty();
    fx_person(req->load, P_PLAIN, "330424", 2026, 0, "2026-02-01");
    assert_int_equal(fx_code(f, &admin, req), 0);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("d1", H1, P_PLAIN, "2026-03-01", 100)),
                     SH_E_PERSON_DECEASED);
    /* A policy for 2027 makes 2027 claims settle. */
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("y1", H1, P_LOWINC, "2027-02-01", 100)),
                     SH_E_NO_POLICY);
    req = rq_load_empty();
    char *text = fx_policy_2026();
    fx_replace_all(text, "\"year\": 2026", "\"year\": 2027");
    fx_replace_all(text, "2026-01-01", "2027-01-01");
    fx_replace_all(text, "2026-12-31", "2027-12-31");
    FX_APPEND(req->load->policies_json, req->load->n_policies_json, text);
    assert_int_equal(fx_code(f, &admin, req), 0);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("y1", H1, P_LOWINC, "2027-02-01", 100)), 0);
    /* and it is still there after a reopen */
    fx_reopen(f);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("y2", H1, P_LOWINC, "2027-02-02", 100)), 0);
    assert_int_equal(fx_check(f), 0);
}

/* ---- Roles and bad requests ------------------------------------------------------------------ */

static void roles_are_enforced(void **state)
{
    struct fx *f = *state;
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    Sanhe__Response *r = fx_call(f, &bureau, rq_settle_std("b1", H1, P_LOWINC, "2026-03-01", 1));
    assert_int_equal(-(int)r->error->code, SH_E_FORBIDDEN);
    assert_non_null(strstr(r->error->message, "settle"));
    assert_non_null(strstr(r->error->message, "bureau"));
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(fx_code(f, &admin, rq_settle_std("b2", H1, P_LOWINC, "2026-03-01", 1)),
                     SH_E_FORBIDDEN);
    assert_int_equal(
        fx_code(f, &bureau,
                rq_presettle("b3", claim_one(H1, P_LOWINC, "inpatient", "2026-03-01", "A003", 1))),
        SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, &bureau, rq_cancel("b4", "x")), SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, &admin, rq_reverse_rid("b5", "x")), SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, c_h1(), rq_load_default()), SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, &bureau, rq_load_default()), SH_E_FORBIDDEN);
    Sanhe__Request *rec = rq_new("rc");
    rec->op_case = SANHE__REQUEST__OP_RECONCILE;
    rec->reconcile = malloc(sizeof *rec->reconcile);
    sanhe__reconcile_request__init(rec->reconcile);
    /* A counter reconciles only its own hospital (test_ledger_reconcile.c). */
    rec->reconcile->hospital = fx_strdup(H2);
    rec->reconcile->day = fx_strdup("2026-03-01");
    assert_int_equal(fx_code(f, c_h1(), rec), SH_E_FORBIDDEN);
    rec = rq_new("rc");
    rec->op_case = SANHE__REQUEST__OP_RECONCILE;
    rec->reconcile = malloc(sizeof *rec->reconcile);
    sanhe__reconcile_request__init(rec->reconcile);
    assert_int_equal(fx_code(f, &bureau, rec), SH_E_BAD_REQUEST); /* no day */
    struct sh_caller nohosp = fx_counter("");
    assert_int_equal(fx_code(f, &nohosp, rq_settle_std("b6", "", P_LOWINC, "2026-03-01", 1)),
                     SH_E_FORBIDDEN);
}

static void bad_requests_change_nothing(void **state)
{
    struct fx *f = *state;
    uint8_t before[32], after[32];
    assert_int_equal(ledger_test_digest(f->ledger, NULL, before), 0);
    assert_int_equal(fx_code(f, c_h1(), rq_new("x")), SH_E_BAD_REQUEST);
    Sanhe__Request *req = rq_settle("x", NULL);
    assert_int_equal(fx_code(f, c_h1(), req), SH_E_BAD_REQUEST);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std(NULL, H1, P_LOWINC, "2026-03-01", 1)),
                     SH_E_BAD_REQUEST);
    assert_int_equal(fx_code(f, c_h1(), rq_settle_std("", H1, P_LOWINC, "2026-03-01", 1)),
                     SH_E_BAD_REQUEST);
    assert_int_equal(
        fx_code(f, c_h1(),
                rq_settle_std("0123456789abcdef0123456789abcdef", H1, P_LOWINC, "2026-03-01", 1)),
        SH_E_BAD_REQUEST);
    req = rq_reverse_rid("x", NULL);
    req->reverse->target_case = SANHE__REVERSE_REQUEST__TARGET__NOT_SET;
    assert_int_equal(fx_code(f, c_h1(), req), SH_E_BAD_REQUEST);
    assert_int_equal(fx_code(f, c_h1(), rq_reverse_rid("x", "")), SH_E_BAD_REQUEST);
    assert_int_equal(fx_code(f, c_h1(), rq_cancel("x", NULL)), SH_E_BAD_REQUEST);
    assert_int_equal(fx_code(f, c_h1(), rq_cancel(NULL, "y")), SH_E_BAD_REQUEST);
    req = rq_query_id(1);
    req->query->target_case = SANHE__QUERY_REQUEST__TARGET__NOT_SET;
    assert_int_equal(fx_code(f, c_h1(), req), SH_E_BAD_REQUEST);
    /* A read sent to a batch, a write sent to the read path. */
    struct sh_reply reply;
    Sanhe__Request *read = rq_query_id(1);
    Sanhe__Request *write = rq_settle_std("w", H1, P_LOWINC, "2026-03-01", 1);
    assert_false(ledger_request_writes(read));
    assert_true(ledger_request_writes(write));
    assert_int_equal(ledger_read(f->ledger, c_h1(), write, &reply), 0);
    assert_int_equal(fx_code_of(fx_unpack(reply)), SH_E_BAD_REQUEST);
    struct ledger_batch *b;
    assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
    assert_int_equal(ledger_batch_apply(b, c_h1(), read, &reply), 0);
    assert_int_equal(fx_code_of(fx_unpack(reply)), SH_E_BAD_REQUEST);
    assert_int_equal(ledger_batch_commit(b), 0);
    sanhe__request__free_unpacked(read, NULL);
    sanhe__request__free_unpacked(write, NULL);
    assert_int_equal(ledger_test_digest(f->ledger, NULL, after), 0);
    assert_memory_equal(before, after, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(settle_computes_and_replays_byte_for_byte, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(settle_reused_request_id_is_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(settle_refusals_store_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(refusal_messages_mask_person_ids, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(presettle_is_a_trial_and_records_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(reverse_restores_accumulators_and_replays, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(reverse_targets, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(cancel_before_settle_refuses_the_late_settle, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(cancel_after_settle_reverses_it, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(query_by_id_and_request_id, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(eligibility_lists_every_accumulator_sorted, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(eligibility_refusals_and_deceased, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(load_is_all_or_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(load_replaces_and_terminals_are_found, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(roles_are_enforced, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_requests_change_nothing, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
