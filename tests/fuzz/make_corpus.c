/*
 * Writes fuzz_frame's seed corpus (tests/fuzz/corpus/frame): small inputs of
 * valid frames, one or a few per file, for every operation, over the
 * reference data fuzz_ledger.c loads (tests/cases/02, 07 and 09). The
 * files are committed; run this again after a change of the protocol:
 *   build-fuzz/bin/fuzz_make_corpus tests/fuzz/corpus/frame
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "sanhe.pb-c.h"

#define H1 "H330424001"
#define P2 "330424194502020026" /* youfu disabled_1_6, enrolled 2026 */
#define P3 "33042419500303003X" /* youfu veteran + assist dibao */
#define CS "H522729001"
#define P16 "522729195901160165" /* four layers, 2019 */

/* ---- An input: frames one after another ------------------------------------------------ */

struct input {
    uint8_t data[16384];
    size_t len;
};

static void add(struct input *in, const Sanhe__Request *request)
{
    size_t n = sanhe__request__get_packed_size(request);
    if (in->len + FRAME_HEADER_BYTES + n > sizeof in->data) {
        fprintf(stderr, "make_corpus: an input is too large\n");
        exit(1);
    }
    frame_length_put(in->data + in->len, (uint32_t)n);
    sanhe__request__pack(request, in->data + in->len + FRAME_HEADER_BYTES);
    in->len += FRAME_HEADER_BYTES + n;
}

static void save(const char *dir, const char *name, const struct input *in)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *out = fopen(path, "wb");
    if (out == NULL || fwrite(in->data, 1, in->len, out) != in->len || fclose(out) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        exit(1);
    }
}

/* ---- Claims ---------------------------------------------------------------------------- */

struct claim {
    Sanhe__Claim msg;
    Sanhe__Line lines[4];
    Sanhe__Line *ptrs[4];
};

static void claim_init(struct claim *c, const char *hospital, const char *person, const char *visit,
                       const char *date)
{
    memset(c, 0, sizeof *c);
    sanhe__claim__init(&c->msg);
    c->msg.hospital = (char *)hospital;
    c->msg.person = (char *)person;
    c->msg.visit = (char *)visit;
    c->msg.date = (char *)date;
    c->msg.lines = c->ptrs;
}

static void claim_line(struct claim *c, const char *code, int64_t qty_milli, int64_t amount)
{
    Sanhe__Line *l = &c->lines[c->msg.n_lines];
    sanhe__line__init(l);
    l->code = (char *)code;
    l->has_qty_milli = l->has_amount = 1;
    l->qty_milli = qty_milli;
    l->amount = amount;
    c->ptrs[c->msg.n_lines++] = l;
}

/* The inpatient claim of tests/cases/02 (every class of line). */
static void claim_inpatient(struct claim *c, const char *person)
{
    claim_init(c, H1, person, "inpatient", "2026-06-15");
    claim_line(c, "A002", 12000, 600000);
    claim_line(c, "A003", 1000, 1500000);
    claim_line(c, "B001", 10000, 150000);
    claim_line(c, "C001", 2000, 200000);
}

/* ---- Requests ----------------------------------------------------------------------------- */

static Sanhe__Request settle(const char *rid, Sanhe__SettleRequest *s, struct claim *c)
{
    Sanhe__Request r = SANHE__REQUEST__INIT;
    sanhe__settle_request__init(s);
    s->claim = &c->msg;
    r.request_id = (char *)rid;
    r.op_case = SANHE__REQUEST__OP_SETTLE;
    r.settle = s;
    return r;
}

static Sanhe__Request reverse(const char *rid, Sanhe__ReverseRequest *v, const char *of,
                              uint64_t id)
{
    Sanhe__Request r = SANHE__REQUEST__INIT;
    sanhe__reverse_request__init(v);
    if (of != NULL) {
        v->target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
        v->settlement_request_id = (char *)of;
    } else {
        v->target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID;
        v->settlement_id = id;
    }
    r.request_id = (char *)rid;
    r.op_case = SANHE__REQUEST__OP_REVERSE;
    r.reverse = v;
    return r;
}

static Sanhe__Request cancel(const char *rid, Sanhe__CancelRequest *c, const char *of)
{
    Sanhe__Request r = SANHE__REQUEST__INIT;
    sanhe__cancel_request__init(c);
    c->cancel_of = (char *)of;
    r.request_id = (char *)rid;
    r.op_case = SANHE__REQUEST__OP_CANCEL;
    r.cancel = c;
    return r;
}

static Sanhe__Request query(Sanhe__QueryRequest *q, const char *of, uint64_t id,
                            const char *hospital)
{
    Sanhe__Request r = SANHE__REQUEST__INIT;
    sanhe__query_request__init(q);
    if (of != NULL) {
        q->target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
        q->settlement_request_id = (char *)of;
    } else {
        q->target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_ID;
        q->settlement_id = id;
    }
    q->hospital = (char *)hospital;
    r.request_id = "q";
    r.op_case = SANHE__REQUEST__OP_QUERY;
    r.query = q;
    return r;
}

/* ---- The seeds ------------------------------------------------------------------------------ */

static void seed_settle(const char *dir)
{
    struct input in = {0};
    struct claim c;
    Sanhe__SettleRequest s;
    claim_inpatient(&c, P2);
    Sanhe__Request r = settle("s1", &s, &c);
    add(&in, &r);
    save(dir, "settle", &in);
    add(&in, &r); /* the retry: the stored reply again */
    c.lines[0].amount++;
    add(&in, &r); /* another payload: REQUEST_ID_REUSED */
    save(dir, "settle-retry", &in);
}

static void seed_presettle(const char *dir)
{
    struct input in = {0};
    struct claim c;
    claim_init(&c, H1, P3, "outpatient", "2026-06-15");
    claim_line(&c, "A004", 1000, 3000);
    claim_line(&c, "B003", 2500, 1555);
    Sanhe__PresettleRequest p = SANHE__PRESETTLE_REQUEST__INIT;
    p.claim = &c.msg;
    Sanhe__Request r = SANHE__REQUEST__INIT;
    r.request_id = "p1";
    r.op_case = SANHE__REQUEST__OP_PRESETTLE;
    r.presettle = &p;
    add(&in, &r);
    save(dir, "presettle", &in);
}

static void seed_reverse(const char *dir)
{
    struct input in = {0};
    struct claim c;
    Sanhe__SettleRequest s;
    Sanhe__ReverseRequest v1, v2;
    Sanhe__QueryRequest q;
    claim_inpatient(&c, P3);
    Sanhe__Request r = settle("s2", &s, &c);
    add(&in, &r);
    r = reverse("s2-rev", &v1, "s2", 0);
    add(&in, &r);
    r = reverse("s2-rev-again", &v2, NULL, 1);
    add(&in, &r);
    r = query(&q, "s2", 0, NULL);
    add(&in, &r);
    save(dir, "settle-reverse-query", &in);
}

static void seed_cancel(const char *dir)
{
    struct input in = {0};
    struct claim c;
    Sanhe__SettleRequest s;
    Sanhe__CancelRequest k;
    claim_inpatient(&c, P2);
    Sanhe__Request r = cancel("k1", &k, "late1");
    add(&in, &r);
    r = settle("late1", &s, &c);
    add(&in, &r); /* ALREADY_REVERSED: it was cancelled before it came */
    save(dir, "cancel-then-settle", &in);
}

static void seed_reads(const char *dir)
{
    struct input in = {0};
    Sanhe__QueryRequest q;
    Sanhe__Request r = query(&q, NULL, 1, NULL);
    add(&in, &r);
    save(dir, "query-id", &in);
    in.len = 0;
    r = query(&q, "s1", 0, H1);
    add(&in, &r);
    save(dir, "query-bureau", &in);

    in.len = 0;
    Sanhe__EligibilityRequest e = SANHE__ELIGIBILITY_REQUEST__INIT;
    e.person = P3;
    e.date = "2026-06-15";
    r = (Sanhe__Request)SANHE__REQUEST__INIT;
    r.request_id = "e1";
    r.op_case = SANHE__REQUEST__OP_ELIGIBILITY;
    r.eligibility = &e;
    add(&in, &r);
    save(dir, "eligibility", &in);
}

static void seed_reconcile(const char *dir)
{
    struct input in = {0};
    Sanhe__ReconcileItem item = SANHE__RECONCILE_ITEM__INIT;
    Sanhe__ReconcileItem *items[] = {&item};
    item.has_settlement_id = item.has_total = item.has_fund_total = 1;
    item.settlement_id = 1;
    item.total = 2450000;
    item.fund_total = 1500000;
    /* The hospital's own figures, a little off: every difference is named. */
    Sanhe__FundAmount coop = SANHE__FUND_AMOUNT__INIT;
    Sanhe__FundAmount *funds[] = {&coop};
    coop.fund = "coop";
    coop.has_amount = 1;
    coop.amount = 1000000;
    Sanhe__Totals figures = SANHE__TOTALS__INIT;
    figures.has_count = figures.has_total = figures.has_fund_total = 1;
    figures.has_patient_pays = 1;
    figures.count = 2;
    figures.total = 2450000;
    figures.fund_total = 1500001;
    figures.patient_pays = 949999;
    figures.n_funds = 1;
    figures.funds = funds;
    Sanhe__ReconcileRequest rc = SANHE__RECONCILE_REQUEST__INIT;
    rc.hospital = H1;
    rc.day = "2026-06-15";
    rc.figures = &figures;
    rc.n_items = 1;
    rc.items = items;
    rc.has_with_items = 1;
    rc.with_items = 1;
    Sanhe__Request r = SANHE__REQUEST__INIT;
    r.request_id = "rc1";
    r.op_case = SANHE__REQUEST__OP_RECONCILE;
    r.reconcile = &rc;
    add(&in, &r);
    save(dir, "reconcile", &in);
    rc.hospital = NULL; /* a bureau's whole day (a counter's own) */
    rc.figures = NULL;
    rc.n_items = 0;
    rc.with_items = 0;
    in.len = 0;
    add(&in, &r);
    save(dir, "reconcile-day", &in);
}

static void seed_four_layers(const char *dir)
{
    struct input in = {0};
    struct claim c;
    Sanhe__SettleRequest s;
    claim_init(&c, CS, P16, "inpatient", "2019-03-10");
    claim_line(&c, "A003", 1000, 1234567);
    claim_line(&c, "B001", 1000, 77777);
    claim_line(&c, "C001", 1000, 5000);
    Sanhe__Request r = settle("f00", &s, &c);
    add(&in, &r);
    save(dir, "settle-four-layers", &in);
}

/* A small policy (tests/cases/09's, in a region of its own). */
static const char policy_json[] =
    "{\"schema\":\"sanhe.policy/1\",\"region\":\"110102\",\"name\":\"seed\",\"year\":2026,"
    "\"effective_from\":\"2026-01-01\",\"effective_to\":\"2026-12-31\","
    "\"class_b_selfpay_bp\":1000,\"rounding\":\"jiao\",\"funds\":[{\"id\":\"ins\","
    "\"name\":\"insurance\",\"kind\":\"insurance\",\"rules\":{\"default\":{\"inpatient\":"
    "{\"deductible\":{\"county\":100000,\"*\":50000},\"deductible_scope\":\"annual\","
    "\"bands\":[{\"upto\":1000000,\"ratio_bp\":5000},{\"upto\":null,\"ratio_bp\":7000}],"
    "\"band_scope\":\"annual\",\"claim_cap\":900000,\"annual_cap\":2000000,"
    "\"cap_group\":\"in\"}}}},{\"id\":\"aid\",\"name\":\"assistance\",\"kind\":\"category\","
    "\"rules\":{\"a\":{\"inpatient\":{\"bands\":[{\"upto\":null,\"ratio_bp\":10000}],"
    "\"band_mode\":\"whole\",\"annual_cap\":300000}}}}]}";

static void seed_load(const char *dir)
{
    struct input in = {0};
    Sanhe__PersonCategory cat = SANHE__PERSON_CATEGORY__INIT;
    Sanhe__PersonCategory *cats[] = {&cat};
    cat.fund = "aid";
    cat.category = "a";
    cat.from = "2026-01-01";
    int32_t years[] = {2026};
    Sanhe__Person p = SANHE__PERSON__INIT;
    Sanhe__Person *persons[] = {&p};
    p.id = "110102197001010012";
    p.name = "seed";
    p.region = "110102";
    p.n_enrolled = 1;
    p.enrolled = years;
    p.n_categories = 1;
    p.categories = cats;
    Sanhe__CatalogItem item = SANHE__CATALOG_ITEM__INIT;
    Sanhe__CatalogItem *items[] = {&item};
    item.code = "B009";
    item.class_ = "B";
    item.has_selfpay_bp = item.has_price_cap = 1;
    item.selfpay_bp = 2000;
    item.price_cap = 5000;
    Sanhe__Terminal t = SANHE__TERMINAL__INIT;
    Sanhe__Terminal *terminals[] = {&t};
    t.name = "counter-seed";
    t.hospital = H1;
    t.role = "counter";
    char *policies[] = {(char *)policy_json};
    Sanhe__LoadRequest load = SANHE__LOAD_REQUEST__INIT;
    load.n_persons = 1;
    load.persons = persons;
    load.n_items = 1;
    load.items = items;
    load.n_terminals = 1;
    load.terminals = terminals;
    load.n_policies_json = 1;
    load.policies_json = policies;
    Sanhe__Request r = SANHE__REQUEST__INIT;
    r.request_id = "load1";
    r.op_case = SANHE__REQUEST__OP_LOAD;
    r.load = &load;
    add(&in, &r);
    save(dir, "load", &in);
}

/* Values docs/rules.md refuses, in one claim each: a start for the mutator. */
static void seed_nonsense(const char *dir)
{
    struct input in = {0};
    struct claim c;
    Sanhe__SettleRequest s;
    claim_init(&c, H1, "33042419450202002x", "emergency", "2026-02-30");
    claim_line(&c, "A002", 0, -5);
    claim_line(&c, "ZZZZ", 1001, 10000000001LL);
    c.lines[1].has_defect = 1;
    c.lines[1].defect = SANHE__LINE_DEFECT__QTY_TOO_PRECISE;
    Sanhe__Request r = settle("", &s, &c);
    add(&in, &r);
    Sanhe__Request none = SANHE__REQUEST__INIT;
    none.request_id = "no-op";
    add(&in, &none);
    save(dir, "nonsense", &in);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    seed_settle(argv[1]);
    seed_presettle(argv[1]);
    seed_reverse(argv[1]);
    seed_cancel(argv[1]);
    seed_reads(argv[1]);
    seed_reconcile(argv[1]);
    seed_four_layers(argv[1]);
    seed_load(argv[1]);
    seed_nonsense(argv[1]);
    return 0;
}
