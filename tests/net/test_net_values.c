/*
 * Nonsense values in well-formed frames: every request here decodes as a
 * sanhe.Request, but its values are ones docs/rules.md refuses (no claim, 10001
 * lines, amounts and quantities out of range, a bad date, visit or resident
 * ID, an unknown item, reversals of nothing or of another hospital's
 * settlement, a role that may not, a broken policy, strings of 10-100 KB).
 * Each gets its own error over a live server, the connection stays open,
 * and nothing changes: a refused write leaves no record under its request
 * id. After all of them the person's accumulators are byte for byte as
 * before, no settlement id was used up, a normal settle still works, and
 * `sanhe-engine check` finds the stopped engine's store consistent.
 *
 * Limits decided here (strict strings, engine/net/frame_strings.c): a
 * request id, of a write or a read, a cancel_of, a hospital and a code are
 * at most 31 bytes (SH_CODE_MAX - 1), a name 191, any other string 255;
 * longer is BAD_REQUEST naming the field, before the ledger sees it. An
 * over-long request id that is otherwise clean is echoed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_fixture.h"

#define FRAME_MAX_DEFAULT (1024u * 1024u) /* the engine's frame_max_bytes (engine/net/net.h) */
#define LINES_MAX 10000                   /* docs/rules.md: more lines is BAD_CLAIM */
#define AMOUNT_MAX 10000000000LL          /* docs/rules.md: 10^10 fen per line */
#define P_LOWER_X "33042419500303003x"    /* valid with an uppercase X */
#define P_NEW "110102197001010012"        /* valid, in no reference data */

static struct engine_fixture fixture;

/* What the data looked like before the nonsense (group_setup). */
static struct {
    uint64_t h1_settlement;
    uint64_t h2_settlement;
    uint8_t *eligibility; /* the packed eligibility Response of FIXTURE_PERSON */
    size_t eligibility_len;
} before;

/* ---- Connections, one per terminal, kept open throughout ----------------------------------- */

static const char *const terminal_names[] = {"counter-h1", "counter-h2", "bureau-1", "admin-1"};
enum terminal { H1, H2, BUREAU, ADMIN, TERMINALS };
static struct tc *conns[TERMINALS];

static struct tc *conn(enum terminal t)
{
    if (conns[t] == NULL)
        assert_int_equal(fixture_connect(&fixture, terminal_names[t], false, &conns[t]), 0);
    return conns[t];
}

/* Sends request as terminal t (taking it), returns the response. */
static Sanhe__Response *call(enum terminal t, Sanhe__Request *request)
{
    Sanhe__Response *resp = NULL;
    int rc = tc_call(conn(t), request, &resp, 4 * FIXTURE_TIMEOUT_MS);
    if (rc != 0)
        print_error("%s: %s\n", terminal_names[t], tc_last_error(conn(t)));
    assert_int_equal(rc, 0);
    /* Whatever the request, its id comes back (even 100 KB of it). */
    assert_string_equal(resp->request_id != NULL ? resp->request_id : "",
                        request->request_id != NULL ? request->request_id : "");
    request_free(request);
    return resp;
}

static void expect_code(enum terminal t, Sanhe__Request *request, int code)
{
    Sanhe__Response *resp = call(t, request);
    if (response_error(resp) != code)
        print_error("expected %s, got %s: %s\n", sh_error_name(code),
                    sh_error_name(response_error(resp)),
                    resp->error != NULL && resp->error->message ? resp->error->message : "");
    assert_int_equal(response_error(resp), code);
    if (code != 0)
        assert_true(resp->error->message != NULL && resp->error->message[0] != '\0');
    sanhe__response__free_unpacked(resp, NULL);
}

/* ---- Building requests --------------------------------------------------------------------- */

static char *dup_str(const char *s) { return s != NULL ? strdup(s) : NULL; }

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = dup_str(value);
}

/* n bytes of c, NUL-terminated (free it). */
static char *long_str(size_t n, char c)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static Sanhe__Request *new_request(const char *rid, Sanhe__Request__OpCase op)
{
    Sanhe__Request *r = calloc(1, sizeof *r);
    assert_non_null(r);
    sanhe__request__init(r);
    r->request_id = dup_str(rid);
    r->op_case = op;
    return r;
}

static Sanhe__Claim *claim_of(Sanhe__Request *r)
{
    return r->op_case == SANHE__REQUEST__OP_SETTLE ? r->settle->claim : r->presettle->claim;
}

/* A settle (or presettle) of the fixture's valid one-line claim at H1. */
static Sanhe__Request *settle(const char *rid) { return request_settle(rid, FIXTURE_H1, false); }
static Sanhe__Request *presettle(const char *rid) { return request_settle(rid, FIXTURE_H1, true); }

static void add_lines(Sanhe__Claim *c, size_t n, const char *code, int64_t qty, int64_t amount)
{
    c->lines = realloc(c->lines, (c->n_lines + n) * sizeof *c->lines);
    assert_non_null(c->lines);
    for (size_t i = 0; i < n; i++) {
        Sanhe__Line *l = malloc(sizeof *l);
        assert_non_null(l);
        sanhe__line__init(l);
        l->code = dup_str(code);
        l->has_qty_milli = l->has_amount = 1;
        l->qty_milli = qty;
        l->amount = amount;
        c->lines[c->n_lines++] = l;
    }
}

static Sanhe__Request *reverse_id(const char *rid, uint64_t id)
{
    Sanhe__Request *r = new_request(rid, SANHE__REQUEST__OP_REVERSE);
    r->reverse = malloc(sizeof *r->reverse);
    sanhe__reverse_request__init(r->reverse);
    r->reverse->target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID;
    r->reverse->settlement_id = id;
    return r;
}

static Sanhe__Request *query_rid(const char *hospital, const char *of)
{
    Sanhe__Request *r = new_request("q", SANHE__REQUEST__OP_QUERY);
    r->query = malloc(sizeof *r->query);
    sanhe__query_request__init(r->query);
    r->query->target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
    r->query->settlement_request_id = dup_str(of);
    r->query->hospital = dup_str(hospital);
    return r;
}

static Sanhe__Request *eligibility(const char *person)
{
    Sanhe__Request *r = new_request("e", SANHE__REQUEST__OP_ELIGIBILITY);
    r->eligibility = malloc(sizeof *r->eligibility);
    sanhe__eligibility_request__init(r->eligibility);
    r->eligibility->person = dup_str(person);
    r->eligibility->date = dup_str("2026-03-10");
    return r;
}

/* ---- "Nothing changed" ---------------------------------------------------------------------- */

/* A refused write stores nothing: its request id names no settlement. */
static void assert_no_record(const char *rid)
{
    expect_code(BUREAU, query_rid(FIXTURE_H1, rid), SH_E_NOT_FOUND);
}

/* settle `rid` as changed by `change`, refused with `code`, then no record. */
static void expect_settle_refused(const char *rid, void (*change)(Sanhe__Claim *), int code)
{
    Sanhe__Request *r = settle(rid);
    change(claim_of(r));
    expect_code(H1, r, code);
    assert_no_record(rid);
}

/* The packed eligibility Response of FIXTURE_PERSON (free it). */
static uint8_t *eligibility_bytes(size_t *len)
{
    Sanhe__Response *resp = call(BUREAU, eligibility(FIXTURE_PERSON));
    assert_int_equal(response_error(resp), 0);
    assert_true(resp->eligibility->n_accumulators > 0);
    *len = sanhe__response__get_packed_size(resp);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    sanhe__response__pack(resp, buf);
    sanhe__response__free_unpacked(resp, NULL);
    return buf;
}

static uint64_t settle_ok(enum terminal t, const char *rid, const char *hospital)
{
    Sanhe__Response *resp = call(t, request_settle(rid, hospital, false));
    assert_int_equal(response_error(resp), 0);
    assert_non_null(resp->settle);
    uint64_t id = resp->settle->settlement_id;
    sanhe__response__free_unpacked(resp, NULL);
    return id;
}

static int group_setup(void **state)
{
    (void)state;
    /* The protocol's own bounds are tested here (10,000 lines a claim): the
     * claim-size quotas, smaller by default, are off (test_net_quota has them). */
    if (fixture_start(&fixture, "claim_lines_max_outpatient = 0\n"
                                "claim_lines_max_chronic = 0\n"
                                "claim_lines_max_inpatient = 0\n") != 0)
        return -1;
    /* A settlement of each hospital, then the person's accumulators. */
    before.h2_settlement = settle_ok(H2, "v-base-h2", FIXTURE_H2);
    before.h1_settlement = settle_ok(H1, "v-base-h1", FIXTURE_H1);
    before.eligibility = eligibility_bytes(&before.eligibility_len);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int t = 0; t < TERMINALS; t++)
        tc_close(conns[t]);
    free(before.eligibility);
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

/* ---- The shape of the request --------------------------------------------------------------- */

static void test_no_claim_no_op_no_id(void **state)
{
    (void)state;
    Sanhe__Request *r = new_request("v-no-claim", SANHE__REQUEST__OP_SETTLE);
    r->settle = malloc(sizeof *r->settle);
    sanhe__settle_request__init(r->settle); /* a SettleRequest with no claim */
    expect_code(H1, r, SH_E_BAD_REQUEST);
    assert_no_record("v-no-claim");

    r = new_request("v-no-claim-pre", SANHE__REQUEST__OP_PRESETTLE);
    r->presettle = malloc(sizeof *r->presettle);
    sanhe__presettle_request__init(r->presettle);
    expect_code(H1, r, SH_E_BAD_REQUEST);

    /* A request that names no operation, for every role. */
    for (int t = 0; t < TERMINALS; t++)
        expect_code((enum terminal)t, new_request("v-no-op", SANHE__REQUEST__OP__NOT_SET),
                    SH_E_BAD_REQUEST);
    /* An empty frame is an empty Request: no operation either; the
     * connection stays open. */
    const uint8_t empty[4] = {0, 0, 0, 0};
    assert_int_equal(tc_send_raw(conn(H1), empty, sizeof empty), 0);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(conn(H1), &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), SH_E_BAD_REQUEST);
    sanhe__response__free_unpacked(resp, NULL);

    /* A write without a request id, or an empty one. */
    expect_code(H1, settle(""), SH_E_BAD_REQUEST);
    Sanhe__Request *r2 = settle("v-no-id");
    set_str(&r2->request_id, NULL);
    expect_code(H1, r2, SH_E_BAD_REQUEST);
}

/* ---- Lines ---------------------------------------------------------------------------------- */

static void change_amount_zero(Sanhe__Claim *c) { c->lines[0]->amount = 0; }
static void change_amount_negative(Sanhe__Claim *c) { c->lines[0]->amount = -5000; }
static void change_amount_huge(Sanhe__Claim *c) { c->lines[0]->amount = INT64_MAX; }
static void change_amount_over(Sanhe__Claim *c) { c->lines[0]->amount = AMOUNT_MAX + 1; }
static void change_amount_absent(Sanhe__Claim *c) { c->lines[0]->has_amount = 0; }
static void change_qty_zero(Sanhe__Claim *c) { c->lines[0]->qty_milli = 0; }
static void change_qty_negative(Sanhe__Claim *c) { c->lines[0]->qty_milli = -1000; }
static void change_qty_absent(Sanhe__Claim *c) { c->lines[0]->has_qty_milli = 0; }
static void change_no_lines(Sanhe__Claim *c)
{
    sanhe__line__free_unpacked(c->lines[0], NULL);
    c->n_lines = 0;
}

static void change_defect(Sanhe__Claim *c)
{
    c->lines[0]->has_defect = 1;
    c->lines[0]->defect = SANHE__LINE_DEFECT__AMOUNT_NOT_INTEGER;
}

/* A bad line after good ones: the whole claim is refused. */
static void change_last_of_many(Sanhe__Claim *c) { add_lines(c, 50, "A002", 1000, 0); }

static void test_amounts_and_quantities(void **state)
{
    (void)state;
    expect_settle_refused("v-amount-0", change_amount_zero, SH_E_BAD_CLAIM);
    expect_settle_refused("v-amount-neg", change_amount_negative, SH_E_BAD_CLAIM);
    expect_settle_refused("v-amount-huge", change_amount_huge, SH_E_BAD_CLAIM);
    expect_settle_refused("v-amount-over", change_amount_over, SH_E_BAD_CLAIM);
    expect_settle_refused("v-amount-none", change_amount_absent, SH_E_BAD_CLAIM);
    expect_settle_refused("v-qty-0", change_qty_zero, SH_E_BAD_CLAIM);
    expect_settle_refused("v-qty-neg", change_qty_negative, SH_E_BAD_CLAIM);
    expect_settle_refused("v-qty-none", change_qty_absent, SH_E_BAD_CLAIM);
    expect_settle_refused("v-defect", change_defect, SH_E_BAD_CLAIM);
    expect_settle_refused("v-last-bad", change_last_of_many, SH_E_BAD_CLAIM);
    expect_settle_refused("v-no-lines", change_no_lines, SH_E_BAD_CLAIM);

    /* 10^10 fen exactly is a line docs/rules.md accepts (presettle: a trial). */
    Sanhe__Request *r = presettle("v-amount-max");
    claim_of(r)->lines[0]->amount = AMOUNT_MAX;
    expect_code(H1, r, 0);
}

/* A claim of n lines of the longest code that fits an item code (unknown). */
static Sanhe__Request *claim_of_lines(const char *rid, bool presettling, size_t n)
{
    Sanhe__Request *r = request_settle(rid, FIXTURE_H1, presettling);
    Sanhe__Claim *c = claim_of(r);
    char code[32];
    memset(code, 'Z', 31);
    code[31] = '\0';
    add_lines(c, n - 1, code, INT64_MAX, AMOUNT_MAX); /* the widest varints, too */
    return r;
}

static void test_line_count_and_frame_size(void **state)
{
    (void)state;
    /* The largest claim docs/rules.md lets through fits the default frame, so the
     * ledger, not the framing, judges it: its lines are looked up. */
    Sanhe__Request *r = claim_of_lines("v-lines-10000", true, LINES_MAX);
    size_t packed = sanhe__request__get_packed_size(r);
    print_message("a %d-line claim of the widest lines packs to %zu bytes\n", LINES_MAX, packed);
    assert_true(packed < FRAME_MAX_DEFAULT);
    expect_code(H1, r, SH_E_UNKNOWN_ITEM);

    /* One more line: BAD_CLAIM, before any lookup. */
    r = claim_of_lines("v-lines-10001", false, LINES_MAX + 1);
    expect_code(H1, r, SH_E_BAD_CLAIM);
    assert_no_record("v-lines-10001");

    /* 10000 good lines of 1 fen: settled as a trial, 10000 fen in all. */
    r = presettle("v-lines-good");
    claim_of(r)->lines[0]->amount = 1;
    add_lines(claim_of(r), LINES_MAX - 1, "A002", 1, 1);
    Sanhe__Response *resp = call(H1, r);
    assert_int_equal(response_error(resp), 0);
    assert_int_equal(resp->presettle->breakdown->total, LINES_MAX);
    sanhe__response__free_unpacked(resp, NULL);
}

/* ---- The claim's other fields --------------------------------------------------------------- */

static void change_date_feb30(Sanhe__Claim *c) { set_str(&c->date, "2026-02-30"); }
static void change_date_short(Sanhe__Claim *c) { set_str(&c->date, "2026-3-10"); }
static void change_date_none(Sanhe__Claim *c) { set_str(&c->date, NULL); }
static void change_visit(Sanhe__Claim *c) { set_str(&c->visit, "emergency"); }
static void change_visit_case(Sanhe__Claim *c) { set_str(&c->visit, "Outpatient"); }
static void change_person_x(Sanhe__Claim *c) { set_str(&c->person, P_LOWER_X); }
static void change_person_17(Sanhe__Claim *c) { set_str(&c->person, "33042419600101001"); }
static void change_person_check(Sanhe__Claim *c) { set_str(&c->person, "330424196001010014"); }
static void change_person_unknown(Sanhe__Claim *c) { set_str(&c->person, P_NEW); }
static void change_item(Sanhe__Claim *c) { set_str(&c->lines[0]->code, "Q999"); }
static void change_hospital(Sanhe__Claim *c) { set_str(&c->hospital, FIXTURE_H2); }

static void test_claim_fields(void **state)
{
    (void)state;
    expect_settle_refused("v-date-0230", change_date_feb30, SH_E_BAD_CLAIM);
    expect_settle_refused("v-date-short", change_date_short, SH_E_BAD_CLAIM);
    expect_settle_refused("v-date-none", change_date_none, SH_E_BAD_CLAIM);
    expect_settle_refused("v-visit", change_visit, SH_E_BAD_CLAIM);
    expect_settle_refused("v-visit-case", change_visit_case, SH_E_BAD_CLAIM);
    expect_settle_refused("v-person-x", change_person_x, SH_E_BAD_PERSON_ID);
    expect_settle_refused("v-person-17", change_person_17, SH_E_BAD_PERSON_ID);
    expect_settle_refused("v-person-chk", change_person_check, SH_E_BAD_PERSON_ID);
    expect_settle_refused("v-person-new", change_person_unknown, SH_E_UNKNOWN_PERSON);
    expect_settle_refused("v-item", change_item, SH_E_UNKNOWN_ITEM);
    expect_settle_refused("v-other-hosp", change_hospital, SH_E_FORBIDDEN);
    /* docs/rules.md's order: BAD_CLAIM before BAD_PERSON_ID before UNKNOWN_ITEM. */
    Sanhe__Request *r = settle("v-order");
    change_item(claim_of(r));
    change_person_x(claim_of(r));
    change_visit(claim_of(r));
    expect_code(H1, r, SH_E_BAD_CLAIM);
    assert_no_record("v-order");
    /* An eligibility with the lowercase x, too. */
    expect_code(BUREAU, eligibility(P_LOWER_X), SH_E_BAD_PERSON_ID);
}

/* ---- Reversals and queries ---------------------------------------------------------------- */

static void test_reverse_and_query_targets(void **state)
{
    (void)state;
    expect_code(H1, reverse_id("v-rev-0", 0), SH_E_BAD_REQUEST);
    assert_no_record("v-rev-0");
    expect_code(H1, reverse_id("v-rev-none", 999999), SH_E_NOT_FOUND);
    assert_no_record("v-rev-none");
    Sanhe__Request *r = reverse_id("v-rev-unset", 0);
    r->reverse->target_case = SANHE__REVERSE_REQUEST__TARGET__NOT_SET;
    expect_code(H1, r, SH_E_BAD_REQUEST);
    /* Another hospital's settlement, by its id. */
    expect_code(H1, reverse_id("v-rev-h2", before.h2_settlement), SH_E_FORBIDDEN);
    assert_no_record("v-rev-h2");
    expect_code(H1, request_query("v-q-h2", before.h2_settlement), SH_E_FORBIDDEN);
    expect_code(H1, query_rid(FIXTURE_H2, "v-base-h2"), SH_E_FORBIDDEN);
    /* By request id, a counter sees its own hospital's ids only. */
    expect_code(H1, query_rid(NULL, "v-base-h2"), SH_E_NOT_FOUND);
    expect_code(H1, request_query("v-q-0", 0), SH_E_NOT_FOUND);
    /* The owner can still see and the bureau sees both. */
    expect_code(H2, request_query("v-q-own", before.h2_settlement), 0);
    expect_code(BUREAU, request_query("v-q-bureau", before.h2_settlement), 0);
}

/* ---- Reference data ------------------------------------------------------------------------ */

static Sanhe__Request *load_with(const char *policy_json, const char *hospital_code)
{
    Sanhe__Request *r = new_request("v-load", SANHE__REQUEST__OP_LOAD);
    r->load = malloc(sizeof *r->load);
    sanhe__load_request__init(r->load);
    Sanhe__LoadRequest *l = r->load;
    l->persons = malloc(sizeof *l->persons);
    l->persons[0] = malloc(sizeof *l->persons[0]);
    sanhe__person__init(l->persons[0]);
    l->persons[0]->id = dup_str(P_NEW);
    l->persons[0]->region = dup_str("330424");
    l->n_persons = 1;
    l->hospitals = malloc(sizeof *l->hospitals);
    l->hospitals[0] = malloc(sizeof *l->hospitals[0]);
    sanhe__hospital__init(l->hospitals[0]);
    l->hospitals[0]->code = dup_str(hospital_code);
    l->hospitals[0]->region = dup_str("330424");
    l->hospitals[0]->level = dup_str("county");
    l->n_hospitals = 1;
    if (policy_json != NULL) {
        l->policies_json = malloc(sizeof *l->policies_json);
        l->policies_json[0] = dup_str(policy_json);
        l->n_policies_json = 1;
    }
    return r;
}

/* The person of the refused load is not there. */
static void assert_load_did_not_land(void)
{
    expect_code(BUREAU, eligibility(P_NEW), SH_E_UNKNOWN_PERSON);
}

static void test_loads(void **state)
{
    (void)state;
    /* From a counter: the role may not, whatever the content. */
    expect_code(H1, load_with(NULL, "H330424999"), SH_E_FORBIDDEN);
    expect_code(BUREAU, load_with(NULL, "H330424999"), SH_E_FORBIDDEN);
    assert_load_did_not_land();
    /* A policy that is not JSON, and one that is JSON but no policy. */
    expect_code(ADMIN, load_with("{\"schema\": \"sanhe.policy/1\", \"region\": ", "H330424999"),
                SH_E_BAD_REFERENCE_DATA);
    assert_load_did_not_land();
    expect_code(ADMIN,
                load_with("{\"schema\": \"sanhe.policy/1\", \"region\": \"330499\"}", "H330424999"),
                SH_E_BAD_REFERENCE_DATA);
    assert_load_did_not_land();
    /* An empty Load changes nothing and says so. */
    Sanhe__Request *r = new_request("v-load-empty", SANHE__REQUEST__OP_LOAD);
    r->load = malloc(sizeof *r->load);
    sanhe__load_request__init(r->load);
    expect_code(ADMIN, r, 0);
}

/* ---- Extremely long strings ---------------------------------------------------------------- */

static void test_long_strings(void **state)
{
    (void)state;
    char *id100k = long_str(100 * 1024, 'r');
    char *s10k = long_str(10 * 1024, 'H');
    /* A write's request id over 31 bytes: BAD_REQUEST (and echoed). */
    expect_code(H1, settle(id100k), SH_E_BAD_REQUEST);
    expect_code(H1, reverse_id(id100k, before.h1_settlement), SH_E_BAD_REQUEST);
    char *id32 = long_str(32, 'r');
    expect_code(H1, settle(id32), SH_E_BAD_REQUEST);
    id32[31] = '\0'; /* 31 bytes: the longest that is taken; a refusal stores nothing */
    Sanhe__Request *r = settle(id32);
    change_visit(claim_of(r));
    expect_code(H1, r, SH_E_BAD_CLAIM);
    assert_no_record(id32);
    /* A read's request id too: strings are checked alike on reads. */
    expect_code(H1, presettle(id100k), SH_E_BAD_REQUEST);

    /* 10 KB where a code, an id or a name goes: refused before the ledger
     * sees it (strict strings, docs/limits.md). */
    r = settle("v-long-hosp");
    set_str(&claim_of(r)->hospital, s10k);
    expect_code(H1, r, SH_E_BAD_REQUEST); /* strict strings: a code is at most 31 bytes */
    r = settle("v-long-person");
    set_str(&claim_of(r)->person, s10k);
    expect_code(H1, r, SH_E_BAD_REQUEST);
    r = settle("v-long-item");
    set_str(&claim_of(r)->lines[0]->code, s10k);
    expect_code(H1, r, SH_E_BAD_REQUEST);
    r = settle("v-long-visit");
    set_str(&claim_of(r)->visit, s10k);
    expect_code(H1, r, SH_E_BAD_REQUEST);
    r = settle("v-long-date");
    set_str(&claim_of(r)->date, s10k);
    expect_code(H1, r, SH_E_BAD_REQUEST);
    expect_code(BUREAU, eligibility(s10k), SH_E_BAD_REQUEST);
    expect_code(H1, query_rid(s10k, "v-base-h1"), SH_E_BAD_REQUEST);
    expect_code(BUREAU, query_rid(s10k, "v-base-h1"), SH_E_BAD_REQUEST);
    expect_code(BUREAU, query_rid(FIXTURE_H1, s10k), SH_E_BAD_REQUEST);

    r = new_request("v-long-cancel", SANHE__REQUEST__OP_CANCEL);
    r->cancel = malloc(sizeof *r->cancel);
    sanhe__cancel_request__init(r->cancel);
    r->cancel->cancel_of = dup_str(s10k);
    expect_code(H1, r, SH_E_BAD_REQUEST);
    assert_no_record("v-long-cancel");

    r = reverse_id("v-long-rev", 0);
    r->reverse->target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
    r->reverse->settlement_request_id = dup_str(s10k);
    expect_code(H1, r, SH_E_BAD_REQUEST);
    assert_no_record("v-long-rev");

    expect_code(ADMIN, load_with(NULL, s10k), SH_E_BAD_REQUEST);
    assert_load_did_not_land();
    free(id32);
    free(s10k);
    free(id100k);
}

/* ---- After all of it ---------------------------------------------------------------------- */

static void test_nothing_changed(void **state)
{
    (void)state;
    size_t len;
    uint8_t *now = eligibility_bytes(&len);
    assert_int_equal(len, before.eligibility_len);
    assert_memory_equal(now, before.eligibility, len);
    free(now);
    /* No settlement id was used up, and a normal settle still works. */
    uint64_t last =
        before.h1_settlement > before.h2_settlement ? before.h1_settlement : before.h2_settlement;
    expect_code(BUREAU, request_query("v-q-next", last + 1), SH_E_NOT_FOUND);
    assert_int_equal(settle_ok(H1, "v-after", FIXTURE_H1), last + 1);
    /* The store the engine leaves is consistent. */
    for (int t = 0; t < TERMINALS; t++) {
        tc_close(conns[t]);
        conns[t] = NULL;
    }
    assert_int_equal(fixture_check(&fixture), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_claim_no_op_no_id),
        cmocka_unit_test(test_amounts_and_quantities),
        cmocka_unit_test(test_line_count_and_frame_size),
        cmocka_unit_test(test_claim_fields),
        cmocka_unit_test(test_reverse_and_query_targets),
        cmocka_unit_test(test_loads),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_nothing_changed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
