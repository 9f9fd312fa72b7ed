/*
 * reconcile: the engine's figures for a hospital-day against totals this
 * test keeps itself from the settle and reverse replies (never from the
 * journal), the comparison with a hospital's figures and list, the
 * whole-day form, roles and refusals, and the time one hospital-day of
 * 10,000 settlements takes.
 */
#include <inttypes.h>
#include <time.h>

#include "sh_person_id.h"
#include "test_ledger_fixture.h"

#define N_HOSP 12
#define N_PERSONS 200
#define DAY1 "2026-03-01"
#define DAY2 "2026-03-02"
#define HALF_HOUR_MS (30LL * 60 * 1000)

/* ---- What the test expects, kept from the replies --------------------------------------- */

struct exp_totals {
    uint64_t count;
    int64_t total, fund_total, patient_pays;
    int64_t coop, youfu, assist;
};

struct exp_settlement {
    uint64_t id;
    int hosp;
    int day; /* 0: DAY1, 1: DAY2 */
    int64_t total, fund_total, patient_pays, coop, youfu, assist;
    bool reversed;
};

struct gen {
    struct fx *f;
    uint64_t seed;
    char codes[N_HOSP][SH_CODE_MAX];
    struct sh_caller callers[N_HOSP];
    char persons[N_PERSONS][SH_PERSON_ID_LEN + 1];
    struct exp_settlement *settled;
    size_t n_settled;
    struct exp_totals settle[N_HOSP][2], reversal[N_HOSP][2];
    unsigned next_rid;
};

static uint32_t gen_rand(struct gen *g)
{
    g->seed = g->seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(g->seed >> 33);
}

static int day_index(const char *day)
{
    if (strcmp(day, DAY1) == 0)
        return 0;
    assert_string_equal(day, DAY2);
    return 1;
}

static void exp_add(struct exp_totals *t, const struct exp_settlement *s, int sign)
{
    t->count++;
    t->total += sign * s->total;
    t->fund_total += sign * s->fund_total;
    t->patient_pays += sign * s->patient_pays;
    t->coop += sign * s->coop;
    t->youfu += sign * s->youfu;
    t->assist += sign * s->assist;
}

static struct exp_totals exp_net(const struct exp_totals *a, const struct exp_totals *b)
{
    struct exp_totals n = {a->count + b->count,
                           a->total + b->total,
                           a->fund_total + b->fund_total,
                           a->patient_pays + b->patient_pays,
                           a->coop + b->coop,
                           a->youfu + b->youfu,
                           a->assist + b->assist};
    return n;
}

static int64_t fund_of(const Sanhe__Totals *t, const char *fund)
{
    for (size_t i = 0; i < t->n_funds; i++)
        if (strcmp(t->funds[i]->fund, fund) == 0)
            return t->funds[i]->amount;
    return 0;
}

static void assert_totals(const Sanhe__Totals *got, const struct exp_totals *want)
{
    assert_non_null(got);
    assert_int_equal(got->count, want->count);
    assert_int_equal(got->total, want->total);
    assert_int_equal(got->fund_total, want->fund_total);
    assert_int_equal(got->patient_pays, want->patient_pays);
    assert_int_equal(fund_of(got, "coop"), want->coop);
    assert_int_equal(fund_of(got, "youfu"), want->youfu);
    assert_int_equal(fund_of(got, "assist"), want->assist);
    for (size_t i = 1; i < got->n_funds; i++) /* sorted by fund id */
        assert_true(strcmp(got->funds[i - 1]->fund, got->funds[i]->fund) < 0);
}

/* ---- Requests ---------------------------------------------------------------------------- */

static void rq_item(Sanhe__ReconcileRequest *q, uint64_t id, int64_t total, int64_t fund_total)
{
    Sanhe__ReconcileItem *it = malloc(sizeof *it);
    assert_non_null(it);
    sanhe__reconcile_item__init(it);
    it->has_settlement_id = it->has_total = it->has_fund_total = 1;
    it->settlement_id = id;
    it->total = total;
    it->fund_total = fund_total;
    FX_APPEND(q->items, q->n_items, it);
    q->has_with_items = q->with_items = 1;
}

static void rq_fund(Sanhe__Totals *t, const char *fund, int64_t amount)
{
    Sanhe__FundAmount *a = malloc(sizeof *a);
    assert_non_null(a);
    sanhe__fund_amount__init(a);
    a->fund = fx_strdup(fund);
    a->has_amount = 1;
    a->amount = amount;
    FX_APPEND(t->funds, t->n_funds, a);
}

static void rq_figures(Sanhe__ReconcileRequest *q, const struct exp_totals *t)
{
    q->figures = malloc(sizeof *q->figures);
    assert_non_null(q->figures);
    sanhe__totals__init(q->figures);
    Sanhe__Totals *m = q->figures;
    m->has_count = m->has_total = m->has_fund_total = m->has_patient_pays = 1;
    m->count = t->count;
    m->total = t->total;
    m->fund_total = t->fund_total;
    m->patient_pays = t->patient_pays;
    rq_fund(m, "coop", t->coop);
    rq_fund(m, "youfu", t->youfu);
    rq_fund(m, "assist", t->assist);
}

static Sanhe__ReconcileReply *reconcile_ok(Sanhe__Response *r)
{
    if (r->error != NULL)
        fail_msg("reconcile refused: %s", r->error->message);
    assert_int_equal(r->result_case, SANHE__RESPONSE__RESULT_RECONCILE);
    return r->reconcile;
}

/* ---- The generator ----------------------------------------------------------------------- */

static void gen_load(struct gen *g)
{
    static const char *levels[] = {"county", "township", "village"};
    Sanhe__Request *load = rq_load_empty();
    for (int h = 0; h < N_HOSP; h++) {
        snprintf(g->codes[h], sizeof g->codes[h], "H3304249%02d", h);
        fx_hospital(load->load, g->codes[h], levels[h % 3]);
        g->callers[h] = fx_counter(g->codes[h]);
    }
    for (int p = 0; p < N_PERSONS; p++) {
        char id[SH_PERSON_ID_LEN + 1];
        snprintf(id, sizeof id, "3304241980010%04d", p);
        id[17] = sh_person_id_check_char(id);
        id[18] = '\0';
        memcpy(g->persons[p], id, sizeof id);
        Sanhe__Person *person = fx_person(load->load, id, "330424", 2026, 0, NULL);
        if (p % 3 == 0)
            fx_person_category(person, "assist", "low_income", "2025-01-01", NULL);
    }
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    assert_int_equal(fx_code(g->f, &admin, load), 0);
}

static Sanhe__Request *gen_settle(struct gen *g, int h, const char *date)
{
    char rid[32];
    snprintf(rid, sizeof rid, "g%u", g->next_rid++);
    const char *person = g->persons[gen_rand(g) % N_PERSONS];
    bool inpatient = gen_rand(g) % 4 == 0;
    Sanhe__Claim *c = claim_new(g->codes[h], person, inpatient ? "inpatient" : "outpatient", date);
    claim_line(c, inpatient ? "A003" : "A002", 1000, 1000 + gen_rand(g) % 3000000);
    if (gen_rand(g) % 3 == 0)
        claim_line(c, "B001", 2000, 100 + gen_rand(g) % 50000);
    if (gen_rand(g) % 5 == 0)
        claim_line(c, "C001", 1000, 100 + gen_rand(g) % 20000);
    return rq_settle(rid, c);
}

/* The index of a settlement of an earlier batch, not reversed yet; -1 when
 * none was found. */
static long gen_pick(struct gen *g, size_t before)
{
    for (int tries = 0; before > 0 && tries < 8; tries++) {
        size_t i = gen_rand(g) % before;
        if (!g->settled[i].reversed)
            return (long)i;
    }
    return -1;
}

static void gen_record_settle(struct gen *g, int h, Sanhe__Response *r)
{
    if (r->error != NULL)
        fail_msg("settle refused: %s", r->error->message);
    const Sanhe__Breakdown *b = r->settle->breakdown;
    g->settled = realloc(g->settled, (g->n_settled + 1) * sizeof *g->settled);
    assert_non_null(g->settled);
    struct exp_settlement *s = &g->settled[g->n_settled++];
    memset(s, 0, sizeof *s);
    s->id = r->settle->settlement_id;
    s->hosp = h;
    s->day = day_index(r->settle->business_day);
    s->total = b->total;
    s->fund_total = b->fund_total;
    s->patient_pays = b->patient_pays;
    assert_int_equal(b->n_funds, 3);
    s->coop = b->funds[0]->pay;
    s->youfu = b->funds[1]->pay;
    s->assist = b->funds[2]->pay;
    exp_add(&g->settle[h][s->day], s, 1);
}

static void gen_record_reverse(struct gen *g, struct exp_settlement *s, Sanhe__Response *r)
{
    if (r->error != NULL)
        fail_msg("reverse refused: %s", r->error->message);
    s->reversed = true;
    exp_add(&g->reversal[s->hosp][day_index(r->reverse->business_day)], s, -1);
}

/* One batch at g->f->now_ms: n requests, about one in eight a reversal. */
static void gen_batch(struct gen *g, int n)
{
    Sanhe__Request *reqs[256];
    struct sh_reply replies[256];
    int hosp[256];
    long targets[256]; /* indexes: g->settled moves as it grows */
    size_t before = g->n_settled;
    struct ledger_batch *b;
    assert_true(n <= 256);
    assert_int_equal(ledger_batch_begin(g->f->ledger, g->f->now_ms, &b), 0);
    for (int i = 0; i < n; i++) {
        targets[i] = gen_rand(g) % 8 == 0 ? gen_pick(g, before) : -1;
        if (targets[i] >= 0) {
            struct exp_settlement *t = &g->settled[targets[i]];
            t->reversed = true; /* not picked twice in this batch */
            char rid[32];
            snprintf(rid, sizeof rid, "g%u", g->next_rid++);
            hosp[i] = t->hosp;
            reqs[i] = rq_reverse_id(rid, t->id);
        } else {
            hosp[i] = (int)(gen_rand(g) % N_HOSP);
            reqs[i] = gen_settle(g, hosp[i], "2026-03-01");
        }
        assert_int_equal(ledger_batch_apply(b, &g->callers[hosp[i]], reqs[i], &replies[i]), 0);
    }
    assert_int_equal(ledger_batch_commit(b), 0);
    for (int i = 0; i < n; i++) {
        Sanhe__Response *r = fx_unpack(replies[i]);
        if (targets[i] >= 0)
            gen_record_reverse(g, &g->settled[targets[i]], r);
        else
            gen_record_settle(g, hosp[i], r);
        sanhe__response__free_unpacked(r, NULL);
        sanhe__request__free_unpacked(reqs[i], NULL);
    }
}

/* 40 batches of 150 half an hour apart from 08:00: DAY1 until midnight,
 * then DAY2, whose reversals include DAY1's settlements. */
static struct gen *gen_run(struct fx *f, uint64_t seed)
{
    struct gen *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->f = f;
    g->seed = seed;
    gen_load(g);
    for (int batch = 0; batch < 40; batch++) {
        gen_batch(g, 150);
        f->now_ms += HALF_HOUR_MS;
    }
    return g;
}

static void gen_free(struct gen *g)
{
    free(g->settled);
    free(g);
}

/* ---- A day of several thousand --------------------------------------------------------- */

static void check_hospital_day(struct gen *g, int h, int d)
{
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    Sanhe__Response *r = fx_call(g->f, &bureau, rq_reconcile(g->codes[h], d == 0 ? DAY1 : DAY2));
    Sanhe__ReconcileReply *rr = reconcile_ok(r);
    assert_string_equal(rr->hospital, g->codes[h]);
    assert_string_equal(rr->hospital_name, "医院");
    assert_false(rr->has_balanced); /* nothing compared */
    struct exp_totals net = exp_net(&g->settle[h][d], &g->reversal[h][d]);
    assert_totals(rr->settlements, &g->settle[h][d]);
    assert_totals(rr->reversals, &g->reversal[h][d]);
    assert_totals(rr->net, &net);
    sanhe__response__free_unpacked(r, NULL);
}

/* The hospital's own books, exactly right: figures and its full list. */
static void check_hospital_balanced(struct gen *g, int h, int d)
{
    Sanhe__Request *req = rq_reconcile(g->codes[h], d == 0 ? DAY1 : DAY2);
    struct exp_totals net = exp_net(&g->settle[h][d], &g->reversal[h][d]);
    rq_figures(req->reconcile, &net);
    /* The list in reverse order: the engine does not rely on the hospital's order. */
    for (size_t i = g->n_settled; i-- > 0;) {
        const struct exp_settlement *s = &g->settled[i];
        if (s->hosp == h && s->day == d)
            rq_item(req->reconcile, s->id, s->total, s->fund_total);
    }
    struct sh_caller counter = fx_counter(g->codes[h]);
    Sanhe__Response *r = fx_call(g->f, &counter, req);
    Sanhe__ReconcileReply *rr = reconcile_ok(r);
    assert_true(rr->has_balanced && rr->balanced);
    assert_int_equal(rr->n_differences + rr->n_only_engine + rr->n_only_hospital + rr->n_differing,
                     0);
    sanhe__response__free_unpacked(r, NULL);
}

static void check_whole_day(struct gen *g, int d)
{
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    Sanhe__Response *r = fx_call(g->f, &bureau, rq_reconcile(NULL, d == 0 ? DAY1 : DAY2));
    Sanhe__ReconcileReply *rr = reconcile_ok(r);
    assert_null(rr->hospital);
    assert_int_equal(rr->n_hospitals, N_HOSP);
    struct exp_totals all = {0}, rev = {0};
    for (int h = 0; h < N_HOSP; h++) {
        assert_string_equal(rr->hospitals[h]->hospital, g->codes[h]);
        struct exp_totals net = exp_net(&g->settle[h][d], &g->reversal[h][d]);
        assert_totals(rr->hospitals[h]->net, &net);
        all = exp_net(&all, &g->settle[h][d]);
        rev = exp_net(&rev, &g->reversal[h][d]);
    }
    assert_totals(rr->settlements, &all);
    assert_totals(rr->reversals, &rev);
    struct exp_totals net = exp_net(&all, &rev);
    assert_totals(rr->net, &net);
    sanhe__response__free_unpacked(r, NULL);
}

/* The day's hours add up to its net; DAY1's batches ran from 08:00 on. */
static void check_hours(struct gen *g, const char *hospital, int d)
{
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    Sanhe__Request *req = rq_reconcile(hospital, d == 0 ? DAY1 : DAY2);
    req->reconcile->has_with_hours = req->reconcile->with_hours = 1;
    Sanhe__Response *r = fx_call(g->f, &bureau, req);
    Sanhe__ReconcileReply *rr = reconcile_ok(r);
    assert_int_equal(rr->n_by_hour, 24);
    uint64_t count = 0;
    int64_t total = 0, coop = 0;
    for (size_t h = 0; h < 24; h++) {
        count += rr->by_hour[h]->count;
        total += rr->by_hour[h]->total;
        coop += fund_of(rr->by_hour[h], "coop");
        if (d == 0 && h < 8)
            assert_int_equal(rr->by_hour[h]->count, 0);
    }
    assert_int_equal(count, rr->net->count);
    assert_int_equal(total, rr->net->total);
    assert_int_equal(coop, fund_of(rr->net, "coop"));
    for (size_t i = 0; i < rr->n_hospitals; i++)
        assert_int_equal(rr->hospitals[i]->n_by_hour, 0); /* the day's only */
    sanhe__response__free_unpacked(r, NULL);
}

static void reconcile_a_day_of_thousands(void **state)
{
    struct fx *f = *state;
    struct gen *g = gen_run(f, 20260301);
    uint64_t reversals[2] = {0}, settles[2] = {0};
    for (int h = 0; h < N_HOSP; h++)
        for (int d = 0; d < 2; d++) {
            settles[d] += g->settle[h][d].count;
            reversals[d] += g->reversal[h][d].count;
            check_hospital_day(g, h, d);
            check_hospital_balanced(g, h, d);
        }
    print_message("generated: %" PRIu64 "+%" PRIu64 " settlements, %" PRIu64 "+%" PRIu64
                  " reversals over two days\n",
                  settles[0], settles[1], reversals[0], reversals[1]);
    assert_true(settles[0] > 3000 && reversals[0] > 300 && reversals[1] > 100);
    check_whole_day(g, 0);
    check_whole_day(g, 1);
    check_hours(g, NULL, 0);
    check_hours(g, NULL, 1);
    check_hours(g, g->codes[3], 0);
    /* A day without entries: zeros, balanced against zeros. */
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    Sanhe__Response *r = fx_call(f, &bureau, rq_reconcile(NULL, "2026-03-03"));
    assert_int_equal(reconcile_ok(r)->n_hospitals, 0);
    assert_int_equal(r->reconcile->net->count, 0);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(fx_check(f), 0);
    gen_free(g);
}

/* ---- The hospital's list and figures ---------------------------------------------------- */

struct small_day {
    uint64_t ids[4];
    int64_t totals[4], fund_totals[4];
    struct exp_totals net;
};

/* Four settlements at H1 on DAY1 (the fourth reversed the same day), one at H2. */
static void small_day(struct fx *f, struct small_day *d)
{
    struct sh_caller h1 = fx_counter(H1), h2 = fx_counter(H2);
    memset(d, 0, sizeof *d);
    const int64_t amounts[4] = {2500000, 800000, 123456, 50000};
    for (int i = 0; i < 4; i++) {
        char rid[8];
        snprintf(rid, sizeof rid, "s%d", i);
        Sanhe__Response *r = fx_call(f, &h1, rq_settle_std(rid, H1, P_LOWINC, DAY1, amounts[i]));
        assert_null(r->error);
        d->ids[i] = r->settle->settlement_id;
        d->totals[i] = r->settle->breakdown->total;
        d->fund_totals[i] = r->settle->breakdown->fund_total;
        struct exp_settlement s = {.total = d->totals[i],
                                   .fund_total = d->fund_totals[i],
                                   .patient_pays = r->settle->breakdown->patient_pays,
                                   .coop = r->settle->breakdown->funds[0]->pay,
                                   .youfu = r->settle->breakdown->funds[1]->pay,
                                   .assist = r->settle->breakdown->funds[2]->pay};
        exp_add(&d->net, &s, 1);
        if (i == 3)
            exp_add(&d->net, &s, -1);
        sanhe__response__free_unpacked(r, NULL);
    }
    fx_settle_ok(f, &h2, rq_settle_std("x", H2, P_PLAIN, DAY1, 70000));
    assert_int_equal(fx_code(f, &h1, rq_reverse_id("s3-rev", d->ids[3])), 0);
}

static void reconcile_names_each_item(void **state)
{
    struct fx *f = *state;
    struct small_day d;
    small_day(f, &d);
    Sanhe__Request *req = rq_reconcile(H1, DAY1);
    /* Lists s0 right, s1 with a wrong total, s3 (reversed: still listed), misses
     * s2, and adds H2's settlement 5 and an id that does not exist. */
    rq_item(req->reconcile, d.ids[0], d.totals[0], d.fund_totals[0]);
    rq_item(req->reconcile, d.ids[1], d.totals[1] + 100, d.fund_totals[1]);
    rq_item(req->reconcile, d.ids[3], d.totals[3], d.fund_totals[3]);
    rq_item(req->reconcile, 5, 70000, 0);
    rq_item(req->reconcile, 999, 1, 1);
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    Sanhe__Response *r = fx_call(f, &bureau, req);
    Sanhe__ReconcileReply *rr = reconcile_ok(r);
    assert_true(rr->has_balanced && !rr->balanced);
    assert_int_equal(rr->n_differences, 0); /* no figures given: none compared */
    assert_int_equal(rr->n_only_engine, 1);
    assert_int_equal(rr->only_engine[0]->settlement_id, d.ids[2]);
    assert_int_equal(rr->only_engine[0]->total, d.totals[2]);
    assert_int_equal(rr->only_engine[0]->fund_total, d.fund_totals[2]);
    assert_int_equal(rr->n_only_hospital, 2);
    assert_int_equal(rr->only_hospital[0]->settlement_id, 5);
    assert_int_equal(rr->only_hospital[1]->settlement_id, 999);
    assert_int_equal(rr->only_hospital[1]->total, 1);
    assert_int_equal(rr->n_differing, 1);
    const Sanhe__ReconcileItem *x = rr->differing[0];
    assert_int_equal(x->settlement_id, d.ids[1]);
    assert_int_equal(x->total, d.totals[1]);
    assert_int_equal(x->fund_total, d.fund_totals[1]);
    assert_true(x->has_hospital_total && x->has_hospital_fund_total);
    assert_int_equal(x->hospital_total, d.totals[1] + 100);
    assert_int_equal(x->hospital_fund_total, d.fund_totals[1]);
    sanhe__response__free_unpacked(r, NULL);
    /* with_items and an empty list: every settlement is the engine's only. */
    req = rq_reconcile(H1, DAY1);
    req->reconcile->has_with_items = req->reconcile->with_items = 1;
    r = fx_call(f, &bureau, req);
    assert_int_equal(reconcile_ok(r)->n_only_engine, 4);
    assert_false(r->reconcile->balanced);
    sanhe__response__free_unpacked(r, NULL);
}

static void reconcile_figures_one_fen_off(void **state)
{
    struct fx *f = *state;
    struct small_day d;
    small_day(f, &d);
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    Sanhe__Request *req = rq_reconcile(H1, DAY1);
    rq_figures(req->reconcile, &d.net);
    Sanhe__Response *r = fx_call(f, &bureau, req);
    assert_true(reconcile_ok(r)->balanced);
    assert_int_equal(r->reconcile->net->count, 5); /* 4 settlements and 1 reversal */
    sanhe__response__free_unpacked(r, NULL);
    struct exp_totals off = d.net;
    off.assist += 1;
    req = rq_reconcile(H1, DAY1);
    rq_figures(req->reconcile, &off);
    r = fx_call(f, &bureau, req);
    Sanhe__ReconcileReply *rr = reconcile_ok(r);
    assert_false(rr->balanced);
    assert_int_equal(rr->n_differences, 1);
    assert_string_equal(rr->differences[0]->figure, "fund:assist");
    assert_int_equal(rr->differences[0]->engine, d.net.assist);
    assert_int_equal(rr->differences[0]->hospital, d.net.assist + 1);
    sanhe__response__free_unpacked(r, NULL);
    /* count and total off, a fund the engine never saw: each named, in order. */
    off = d.net;
    off.count = 4;
    off.total -= 7;
    req = rq_reconcile(H1, DAY1);
    rq_figures(req->reconcile, &off);
    rq_fund(req->reconcile->figures, "zz", 3);
    r = fx_call(f, &bureau, req);
    rr = reconcile_ok(r);
    assert_int_equal(rr->n_differences, 3);
    assert_string_equal(rr->differences[0]->figure, "count");
    assert_int_equal(rr->differences[0]->engine, 5);
    assert_int_equal(rr->differences[0]->hospital, 4);
    assert_string_equal(rr->differences[1]->figure, "total");
    assert_string_equal(rr->differences[2]->figure, "fund:zz");
    assert_int_equal(rr->differences[2]->engine, 0);
    sanhe__response__free_unpacked(r, NULL);
    /* A fund named twice cannot be compared. */
    req = rq_reconcile(H1, DAY1);
    rq_figures(req->reconcile, &d.net);
    rq_fund(req->reconcile->figures, "coop", 0);
    assert_int_equal(fx_code(f, &bureau, req), SH_E_BAD_REQUEST);
}

/* ---- Roles and refusals ---------------------------------------------------------------------- */

static void reconcile_roles_and_refusals(void **state)
{
    struct fx *f = *state;
    struct small_day d;
    small_day(f, &d);
    struct sh_caller h1 = fx_counter(H1), bureau = fx_role(SH_ROLE_BUREAU),
                     admin = fx_role(SH_ROLE_ADMIN);
    assert_int_equal(fx_code(f, &h1, rq_reconcile(H1, DAY1)), 0);
    Sanhe__Response *r = fx_call(f, &h1, rq_reconcile(NULL, DAY1)); /* its own */
    assert_string_equal(reconcile_ok(r)->hospital, H1);
    assert_int_equal(r->reconcile->settlements->count, 4);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(fx_code(f, &h1, rq_reconcile(H2, DAY1)), SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, &admin, rq_reconcile(H1, DAY1)), SH_E_FORBIDDEN);
    assert_int_equal(fx_code(f, &bureau, rq_reconcile(H2, DAY1)), 0);
    assert_int_equal(fx_code(f, &bureau, rq_reconcile(H1, "2026-02-30")), SH_E_BAD_REQUEST);
    assert_int_equal(fx_code(f, &bureau, rq_reconcile(H1, NULL)), SH_E_BAD_REQUEST);
    assert_int_equal(fx_code(f, &bureau, rq_reconcile("H999", DAY1)), SH_E_UNKNOWN_HOSPITAL);
    char longcode[64];
    memset(longcode, 'H', 40);
    longcode[40] = '\0';
    assert_int_equal(fx_code(f, &bureau, rq_reconcile(longcode, DAY1)), SH_E_UNKNOWN_HOSPITAL);
    /* The whole day takes no figures or items. */
    Sanhe__Request *req = rq_reconcile("", DAY1);
    req->reconcile->has_with_items = req->reconcile->with_items = 1;
    assert_int_equal(fx_code(f, &bureau, req), SH_E_BAD_REQUEST);
    /* A known hospital with nothing that day. */
    r = fx_call(f, &bureau, rq_reconcile(H3, DAY1));
    assert_int_equal(reconcile_ok(r)->net->count, 0);
    assert_int_equal(r->reconcile->net->n_funds, 0);
    sanhe__response__free_unpacked(r, NULL);
}

/* sanhe-bureau verify opens the data read-only: reads answer, writes cannot. */
static void reconcile_on_a_read_only_ledger(void **state)
{
    struct fx *f = *state;
    struct small_day d;
    small_day(f, &d);
    uint8_t before[32], after[32];
    assert_int_equal(ledger_test_digest(f->ledger, NULL, before), 0);
    ledger_close(f->ledger);
    f->cfg.read_only = true;
    fx_open_ledger(f);
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU), h1 = fx_counter(H1);
    Sanhe__Response *r = fx_call(f, &bureau, rq_reconcile(H1, DAY1));
    assert_int_equal(reconcile_ok(r)->settlements->count, 4);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_not_equal(fx_code(f, &h1, rq_settle_std("ro", H1, P_LOWINC, DAY1, 100)), 0);
    assert_int_equal(ledger_test_digest(f->ledger, NULL, after), 0);
    assert_memory_equal(before, after, 32);
    assert_int_equal(fx_check(f), 0);
}

/* ---- Timing -------------------------------------------------------------------------------------
 */

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* 10,000 settlements at H1 on one day, in batches of 250. */
static void settle_ten_thousand(struct fx *f, Sanhe__Request *list)
{
    struct sh_caller h1 = fx_counter(H1);
    for (int batch = 0; batch < 40; batch++) {
        Sanhe__Request *reqs[250];
        struct sh_reply replies[250];
        struct ledger_batch *b;
        assert_int_equal(ledger_batch_begin(f->ledger, f->now_ms, &b), 0);
        for (int i = 0; i < 250; i++) {
            char rid[16];
            snprintf(rid, sizeof rid, "t%d", batch * 250 + i);
            reqs[i] = rq_settle(
                rid, claim_one(H1, P_PLAIN, "outpatient", DAY1, "A002", 1000 + batch * 250 + i));
            assert_int_equal(ledger_batch_apply(b, &h1, reqs[i], &replies[i]), 0);
        }
        assert_int_equal(ledger_batch_commit(b), 0);
        for (int i = 0; i < 250; i++) {
            Sanhe__Response *r = fx_unpack(replies[i]);
            assert_null(r->error);
            rq_item(list->reconcile, r->settle->settlement_id, r->settle->breakdown->total,
                    r->settle->breakdown->fund_total);
            sanhe__response__free_unpacked(r, NULL);
            sanhe__request__free_unpacked(reqs[i], NULL);
        }
    }
}

static void reconcile_ten_thousand_timed(void **state)
{
    struct fx *f = *state;
    Sanhe__Request *with_list = rq_reconcile(H1, DAY1);
    settle_ten_thousand(f, with_list);
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    Sanhe__Request *totals_only = rq_reconcile(H1, DAY1);
    struct sh_reply reply;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ledger_read(f->ledger, &bureau, totals_only, &reply), 0);
    double ms_totals = ms_since(&t0);
    Sanhe__Response *r = fx_unpack(reply);
    assert_int_equal(reconcile_ok(r)->settlements->count, 10000);
    sanhe__response__free_unpacked(r, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ledger_read(f->ledger, &bureau, with_list, &reply), 0);
    double ms_items = ms_since(&t0);
    r = fx_unpack(reply);
    assert_true(reconcile_ok(r)->balanced);
    sanhe__response__free_unpacked(r, NULL);
    print_message("reconcile of one hospital-day of 10000 settlements: %.2f ms totals only, "
                  "%.2f ms with the hospital's list of 10000\n",
                  ms_totals, ms_items);
    sanhe__request__free_unpacked(totals_only, NULL);
    sanhe__request__free_unpacked(with_list, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reconcile_a_day_of_thousands, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reconcile_names_each_item, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reconcile_figures_one_fen_off, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reconcile_roles_and_refusals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reconcile_on_a_read_only_ledger, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reconcile_ten_thousand_timed, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
