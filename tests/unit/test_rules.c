/*
 * The rules core, rule by rule of docs/rules.md. Every policy is built here in C
 * with small helpers, and every expected fen value is computed by hand in the
 * comment next to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "sh_policy.h"
#include "sh_rules.h"

/* ---- A small world: one policy, one hospital, one person, a catalog ---------- */

#define PERSON_ID "330424196001010013"
#define MAX_ITEMS 16
#define MAX_LINES 32
#define MAX_ACCS 16

struct world {
    struct sh_policy policy;
    struct sh_hospital hospital;
    struct sh_person person;
    struct sh_item items[MAX_ITEMS];
    uint32_t item_count;
    struct sh_line lines[MAX_LINES];
    const struct sh_item *line_items[MAX_LINES];
    struct sh_claim claim;
    struct sh_acc accs[MAX_ACCS];
    uint32_t acc_count;
    struct sh_rules_input in;
    struct sh_breakdown out;
    struct sh_error err;
};

/* Static: a policy is large, and the tests run one at a time. */
static struct world W;

/* Bounded, and safe where GCC cannot tell that dst and src differ. */
static void copy_id(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memmove(dst, src, n);
    dst[n] = '\0';
}

/* Haiyan-like header, a county hospital designated for nothing yet, a
 * person enrolled in 2026, and an inpatient claim of 2026-03-10. */
static struct world *world_init(void)
{
    struct world *w = &W;
    memset(w, 0, sizeof *w);
    copy_id(w->policy.region, sizeof w->policy.region, "330424");
    w->policy.year = 2026;
    w->policy.effective_from = 20260101;
    w->policy.effective_to = 20261231;
    w->policy.class_b_selfpay_bp = 1000;
    w->policy.rounding_unit = 1;

    copy_id(w->hospital.code, sizeof w->hospital.code, "H1");
    copy_id(w->hospital.region, sizeof w->hospital.region, "330424");
    w->hospital.level = SH_LEVEL_COUNTY;

    copy_id(w->person.id, sizeof w->person.id, PERSON_ID);
    copy_id(w->person.region, sizeof w->person.region, "330424");
    w->person.enrolled_count = 1;
    w->person.enrolled[0] = 2026;

    copy_id(w->claim.hospital, sizeof w->claim.hospital, "H1");
    copy_id(w->claim.person, sizeof w->claim.person, PERSON_ID);
    w->claim.visit = SH_VISIT_INPATIENT;
    w->claim.date = 20260310;
    w->claim.lines = w->lines;
    return w;
}

static void designate(struct world *w, const char *fund_id)
{
    copy_id(w->hospital.funds[w->hospital.fund_count++], SH_ID_MAX, fund_id);
}

/* A fund the hospital is designated for. */
static struct sh_fund *add_fund(struct world *w, const char *id, enum sh_fund_kind kind)
{
    struct sh_fund *f = &w->policy.funds[w->policy.fund_count++];
    copy_id(f->id, sizeof f->id, id);
    f->kind = kind;
    designate(w, id);
    return f;
}

static struct sh_ruleset *add_ruleset(struct sh_fund *f, const char *category)
{
    struct sh_ruleset *rs = &f->rulesets[f->ruleset_count++];
    copy_id(rs->category, sizeof rs->category, category);
    return rs;
}

/* One unbounded band at ratio_bp for every level; no deductible, no caps,
 * claim scopes, tiered, the fund's id as cap group. */
static struct sh_rule *set_rule(const struct sh_fund *f, struct sh_ruleset *rs, int visit,
                                int32_t ratio_bp)
{
    struct sh_rule *r = &rs->visit[visit];
    memset(r, 0, sizeof *r);
    r->present = true;
    r->claim_cap = SH_NO_CAP;
    r->annual_cap = SH_NO_CAP;
    copy_id(r->cap_group, sizeof r->cap_group, f->id);
    r->band_count = 1;
    r->bands[0].upto = SH_UNBOUNDED;
    for (int l = 0; l < SH_LEVEL_COUNT; l++)
        r->bands[0].ratio_bp[l] = ratio_bp;
    return r;
}

/* The band: [previous upto, upto) at ratio_bp for every level. */
static void add_band(struct sh_rule *r, sh_fen upto, int32_t ratio_bp)
{
    struct sh_band *b = &r->bands[r->band_count++];
    b->upto = upto;
    for (int l = 0; l < SH_LEVEL_COUNT; l++)
        b->ratio_bp[l] = ratio_bp;
}

/* An insurance fund paying ratio_bp of inpatient bills. */
static struct sh_rule *insurance(struct world *w, const char *id, int32_t ratio_bp)
{
    struct sh_fund *f = add_fund(w, id, SH_FUND_INSURANCE);
    return set_rule(f, add_ruleset(f, "default"), SH_VISIT_INPATIENT, ratio_bp);
}

static void add_item(struct world *w, const char *code, enum sh_item_class cls, int32_t selfpay_bp,
                     sh_fen price_cap)
{
    struct sh_item *it = &w->items[w->item_count++];
    copy_id(it->code, sizeof it->code, code);
    it->cls = cls;
    it->selfpay_bp = selfpay_bp;
    it->price_cap = price_cap;
}

/* The usual catalog, as in the case files. */
static void catalog(struct world *w)
{
    add_item(w, "A001", SH_CLASS_A, SH_SELFPAY_POLICY, 1200);
    add_item(w, "A002", SH_CLASS_A, SH_SELFPAY_POLICY, SH_NO_CAP);
    add_item(w, "A004", SH_CLASS_A, SH_SELFPAY_POLICY, 2500);
    add_item(w, "B001", SH_CLASS_B, SH_SELFPAY_POLICY, SH_NO_CAP);
    add_item(w, "B002", SH_CLASS_B, 3000, 800000);
    add_item(w, "B003", SH_CLASS_B, 0, SH_NO_CAP);
    add_item(w, "C001", SH_CLASS_C, SH_SELFPAY_POLICY, SH_NO_CAP);
    add_item(w, "Z000", SH_CLASS_A, SH_SELFPAY_POLICY, 0); /* capped at nothing */
}

/* A line; its item is looked up in the catalog (NULL when unknown). */
static void add_line(struct world *w, const char *code, int64_t qty_milli, sh_fen amount)
{
    uint32_t i = w->claim.line_count++;
    copy_id(w->lines[i].code, sizeof w->lines[i].code, code);
    w->lines[i].qty_milli = qty_milli;
    w->lines[i].amount = amount;
    w->line_items[i] = NULL;
    for (uint32_t k = 0; k < w->item_count; k++)
        if (strcmp(w->items[k].code, code) == 0)
            w->line_items[i] = &w->items[k];
}

/* A class-A bill of exactly `amount` fen in scope. */
static void bill(struct world *w, sh_fen amount)
{
    add_item(w, "A002", SH_CLASS_A, SH_SELFPAY_POLICY, SH_NO_CAP);
    add_line(w, "A002", 1000, amount);
}

static void give_category(struct world *w, const char *fund, const char *category, uint32_t from,
                          uint32_t to)
{
    struct sh_person_category *c = &w->person.categories[w->person.category_count++];
    copy_id(c->fund, sizeof c->fund, fund);
    copy_id(c->category, sizeof c->category, category);
    c->from = from;
    c->to = to;
}

static void set_acc(struct world *w, const char *fund, const char *cap_group, sh_fen paid,
                    sh_fen payable, sh_fen deductible_met)
{
    struct sh_acc *a = &w->accs[w->acc_count++];
    copy_id(a->fund, sizeof a->fund, fund);
    copy_id(a->cap_group, sizeof a->cap_group, cap_group);
    a->paid = paid;
    a->payable = payable;
    a->deductible_met = deductible_met;
}

static int settle(struct world *w)
{
    w->in.claim = &w->claim;
    w->in.hospital = &w->hospital;
    w->in.person = &w->person;
    w->in.policy = &w->policy;
    w->in.items = w->line_items;
    w->in.accs = w->accs;
    w->in.acc_count = w->acc_count;
    memset(&w->err, 0, sizeof w->err);
    return sh_rules_settle(&w->in, &w->out, &w->err);
}

/* Settles and insists it succeeds and that the breakdown adds up. */
static const struct sh_breakdown *settle_ok(struct world *w)
{
    int rc = settle(w);
    if (rc != 0)
        print_error("settle refused: %s %s\n", sh_error_name(rc), w->err.msg);
    assert_int_equal(rc, 0);
    const struct sh_breakdown *b = &w->out;
    assert_int_equal(b->total, b->out_of_scope + b->over_limit + b->pre_selfpay + b->in_scope);
    assert_int_equal(b->total, b->fund_total + b->patient_pays);
    assert_int_equal(b->fund_count, w->policy.fund_count);
    /* The receipt's class rows add up to the bill; class C is out of scope. */
    assert_int_equal(b->class_a_total + b->class_b_total + b->class_c_total, b->total);
    assert_true(b->class_a_total >= 0 && b->class_b_total >= 0 && b->class_c_total >= 0);
    assert_int_equal(b->class_c_total, b->out_of_scope);
    return b;
}

static const struct sh_fund_result *fund_of(const struct sh_breakdown *b, const char *id)
{
    for (uint32_t i = 0; i < b->fund_count; i++)
        if (strcmp(b->funds[i].fund, id) == 0)
            return &b->funds[i];
    fail_msg("no fund %s in the breakdown", id);
    return NULL;
}

static void assert_fund(const struct sh_breakdown *b, const char *id, sh_fen pay, sh_fen ded,
                        enum sh_reason reason)
{
    const struct sh_fund_result *r = fund_of(b, id);
    assert_int_equal(r->pay, pay);
    assert_int_equal(r->deductible, ded);
    assert_int_equal(r->reason, reason);
}

/* ---- Step 1: the lines ----------------------------------------------------------- */

static void split_classes(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 0);
    add_line(w, "A002", 1000, 10000);
    add_line(w, "B001", 2000, 33333); /* pre = rnd(33333 × 1000, 10000) = 3333 */
    add_line(w, "C001", 1000, 5000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_int_equal(b->total, 48333);
    assert_int_equal(b->out_of_scope, 5000);
    assert_int_equal(b->over_limit, 0);
    assert_int_equal(b->pre_selfpay, 3333);
    assert_int_equal(b->in_scope, 10000 + 30000);
    assert_int_equal(b->fund_total, 0);
    assert_int_equal(b->patient_pays, 48333);
    assert_int_equal(b->year, 2026);
    assert_int_equal(b->class_a_total, 10000);
    assert_int_equal(b->class_b_total, 33333); /* the whole line, its self-paid share too */
    assert_int_equal(b->class_c_total, 5000);
}

static void split_alone_matches_settle(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    add_line(w, "A004", 1500, 4000);   /* cap 3750: over 250 */
    add_line(w, "B002", 1000, 900000); /* cap 800000: over 100000, pre 240000 */
    add_line(w, "C001", 1000, 7);
    struct sh_breakdown b;
    memset(&b, 0x5a, sizeof b);
    sh_rules_split(&w->claim, w->line_items, 1000, &b);
    assert_int_equal(b.total, 904007);
    assert_int_equal(b.out_of_scope, 7);
    assert_int_equal(b.over_limit, 100250);
    assert_int_equal(b.pre_selfpay, 240000);
    assert_int_equal(b.in_scope, 3750 + 560000);
    /* Class totals are the lines as billed, before any price cap. */
    assert_int_equal(b.class_a_total, 4000);
    assert_int_equal(b.class_b_total, 900000);
    assert_int_equal(b.class_c_total, 7);
}

/* Several lines of each class, price caps and shares: each class total is
 * the sum of its lines' amounts, whatever step 1 makes of them. */
static void class_totals_sum_the_lines(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 5000);
    add_line(w, "A001", 2000, 3000);   /* A; cap 2400: over 600 */
    add_line(w, "A002", 1000, 10000);  /* A */
    add_line(w, "Z000", 1000, 250);    /* A; cap 0: all over */
    add_line(w, "B001", 1000, 20000);  /* B; pre 2000 */
    add_line(w, "B002", 1000, 900000); /* B; over 100000, pre 240000 */
    add_line(w, "B003", 1000, 4444);   /* B; share 0 */
    add_line(w, "C001", 1000, 7000);   /* C */
    add_line(w, "C001", 3000, 1);      /* C */
    const struct sh_breakdown *b = settle_ok(w);
    assert_int_equal(b->class_a_total, 3000 + 10000 + 250);
    assert_int_equal(b->class_b_total, 20000 + 900000 + 4444);
    assert_int_equal(b->class_c_total, 7001);
    assert_int_equal(b->total, 13250 + 924444 + 7001);
    assert_int_equal(b->over_limit, 600 + 250 + 100000);
    assert_int_equal(b->pre_selfpay, 2000 + 240000);
    /* in scope: A 2400 + 10000, B 18000 + 560000 + 4444; coop pays half */
    assert_int_equal(b->in_scope, 12400 + 582444);
    assert_int_equal(b->fund_total, 297422);
}

/* A bill of one class: the other two are 0, not left unset. */
static void class_totals_of_a_single_class(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 10000);
    add_line(w, "C001", 1000, 12345);
    struct sh_breakdown *b = &w->out;
    memset(b, 0x5a, sizeof *b);
    settle_ok(w);
    assert_int_equal(b->class_a_total, 0);
    assert_int_equal(b->class_b_total, 0);
    assert_int_equal(b->class_c_total, 12345);
    assert_int_equal(b->fund_total, 0);
}

static void selfpay_rounds_half_up(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 0);
    add_line(w, "B001", 1000, 15); /* 1.5 -> 2 */
    add_line(w, "B001", 1000, 14); /* 1.4 -> 1 */
    add_line(w, "B001", 1000, 5);  /* 0.5 -> 1 */
    add_line(w, "B001", 1000, 4);  /* 0.4 -> 0 */
    const struct sh_breakdown *b = settle_ok(w);
    assert_int_equal(b->pre_selfpay, 4);
    assert_int_equal(b->in_scope, 38 - 4);
}

static void price_cap_uses_thousandths(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 0);
    add_line(w, "A004", 1500, 4000); /* cap rnd(1500 × 2500, 1000) = 3750: over 250 */
    add_line(w, "A004", 333, 900);   /* cap rnd(832500, 1000) = 833 (half up): over 67 */
    add_line(w, "A004", 2000, 3000); /* cap 5000 above the amount: over 0 */
    add_line(w, "A001", 1000, 1200); /* exactly the cap: over 0 */
    const struct sh_breakdown *b = settle_ok(w);
    assert_int_equal(b->over_limit, 250 + 67);
    assert_int_equal(b->in_scope, 3750 + 833 + 3000 + 1200);
    assert_int_equal(b->pre_selfpay, 0);
}

static void price_cap_then_class_b_share(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 0);
    add_line(w, "B002", 1000, 900000); /* over 100000; pre rnd(800000 × 3000, 10000) */
    add_line(w, "Z000", 1000, 500);    /* price cap 0: all of it over the limit */
    const struct sh_breakdown *b = settle_ok(w);
    assert_int_equal(b->over_limit, 100000 + 500);
    assert_int_equal(b->pre_selfpay, 240000);
    assert_int_equal(b->in_scope, 560000);
}

static void class_b_share_item_override(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 0);
    w->policy.class_b_selfpay_bp = 2000;
    add_line(w, "B003", 1000, 10000); /* selfpay_bp 0: nothing before the funds */
    add_line(w, "B001", 1000, 10000); /* the policy's 2000 bp: 2000 */
    const struct sh_breakdown *b = settle_ok(w);
    assert_int_equal(b->pre_selfpay, 2000);
    assert_int_equal(b->in_scope, 18000);
}

static void unknown_class_is_out_of_scope_in_split(void **state)
{
    (void)state;
    struct world *w = world_init();
    add_item(w, "X", SH_CLASS_C, SH_SELFPAY_POLICY, SH_NO_CAP);
    add_line(w, "X", 1, 1); /* the smallest line */
    struct sh_breakdown b;
    sh_rules_split(&w->claim, w->line_items, 0, &b);
    assert_int_equal(b.total, 1);
    assert_int_equal(b.out_of_scope, 1);
    assert_int_equal(b.in_scope, 0);
    assert_int_equal(b.class_c_total, 1);
    assert_int_equal(b.class_a_total + b.class_b_total, 0);
}

/* 10000 lines of 10^10 fen: the largest claim stays inside int64. */
static void largest_claim_stays_in_range(void **state)
{
    (void)state;
    static struct sh_line lines[SH_CLAIM_LINES_MAX];
    static const struct sh_item *items[SH_CLAIM_LINES_MAX];
    struct world *w = world_init();
    add_item(w, "A002", SH_CLASS_A, SH_SELFPAY_POLICY, SH_NO_CAP);
    struct sh_rule *r = insurance(w, "coop", 10000);
    r->band_count = 0;
    add_band(r, 1, 10000);
    add_band(r, SH_UNBOUNDED, 9999);
    w->policy.rounding_unit = 100;
    for (uint32_t i = 0; i < SH_CLAIM_LINES_MAX; i++) {
        copy_id(lines[i].code, sizeof lines[i].code, "A002");
        lines[i].qty_milli = 1000;
        lines[i].amount = SH_AMOUNT_MAX;
        items[i] = &w->items[0];
    }
    w->claim.lines = lines;
    w->claim.line_count = SH_CLAIM_LINES_MAX;
    w->in.claim = &w->claim;
    w->in.hospital = &w->hospital;
    w->in.person = &w->person;
    w->in.policy = &w->policy;
    w->in.items = items;
    assert_int_equal(sh_rules_settle(&w->in, &w->out, &w->err), 0);
    /* num = 1 × 10000 + (10^14 − 1) × 9999 = 999900000000000001, near 2^63 / 9;
     * in yuan: rnd(num, 10^6) × 100 = 999900000000 × 100 */
    sh_fen num = 10000 + (INT64_C(100000000000000) - 1) * 9999;
    assert_int_equal(w->out.total, INT64_C(100000000000000));
    assert_int_equal(w->out.class_a_total, INT64_C(100000000000000));
    assert_int_equal(w->out.class_b_total + w->out.class_c_total, 0);
    assert_int_equal(w->out.funds[0].pay, (num + 500000) / 1000000 * 100);
    assert_int_equal(w->out.funds[0].pay, INT64_C(99990000000000));
}

/* ---- Step 2.3: deductibles ------------------------------------------------------------- */

static void deductible_claim_scope(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_rule *r = insurance(w, "coop", 10000);
    r->deductible[SH_LEVEL_COUNTY] = 30000;
    set_acc(w, "coop", "coop", 0, 0, 30000); /* met before: ignored for claim scope */
    bill(w, 100000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 70000, 30000, SH_REASON_NONE);
    assert_int_equal(fund_of(b, "coop")->payable, 70000);
    assert_int_equal(fund_of(b, "coop")->deductible_met, 0);
}

static void deductible_larger_than_base(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_rule *r = insurance(w, "coop", 10000);
    r->deductible[SH_LEVEL_COUNTY] = 30000;
    bill(w, 20000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 0, 20000, SH_REASON_NONE);
    assert_int_equal(fund_of(b, "coop")->payable, 0);
    assert_true(fund_of(b, "coop")->applied);
    assert_int_equal(b->patient_pays, 20000);
}

static void deductible_annual_scope_reduced_by_met(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_rule *r = insurance(w, "coop", 10000);
    r->deductible[SH_LEVEL_COUNTY] = 50000;
    r->deductible_annual = true;
    set_acc(w, "coop", "coop", 0, 0, 30000);
    bill(w, 100000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 80000, 20000, SH_REASON_NONE); /* d = 50000 − 30000 */
    assert_int_equal(fund_of(b, "coop")->deductible_met, 20000);
    assert_int_equal(fund_of(b, "coop")->payable, 80000);
}

static void deductible_annual_scope_already_met(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_rule *r = insurance(w, "coop", 10000);
    r->deductible[SH_LEVEL_COUNTY] = 50000;
    r->deductible_annual = true;
    set_acc(w, "coop", "coop", 0, 0, 60000); /* above d (policy lowered): never negative */
    bill(w, 100000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 100000, 0, SH_REASON_NONE);
    assert_int_equal(fund_of(b, "coop")->deductible_met, 0);
}

static void deductible_annual_first_claim_smaller(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_rule *r = insurance(w, "coop", 6000);
    r->deductible[SH_LEVEL_COUNTY] = 50000;
    r->deductible_annual = true;
    bill(w, 30000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 0, 30000, SH_REASON_NONE);
    assert_int_equal(fund_of(b, "coop")->deductible_met, 30000);
}

static void deductible_and_ratio_by_level(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_rule *r = insurance(w, "coop", 0);
    r->deductible[SH_LEVEL_TOWNSHIP] = 30000;
    r->deductible[SH_LEVEL_COUNTY] = 80000;
    r->bands[0].ratio_bp[SH_LEVEL_TOWNSHIP] = 8500;
    r->bands[0].ratio_bp[SH_LEVEL_COUNTY] = 7500;
    /* village: no value and no "*": deductible 0 and ratio 0 */
    bill(w, 1000000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 690000, 80000, SH_REASON_NONE); /* 920000 × 0.75 */
    w->hospital.level = SH_LEVEL_TOWNSHIP;
    b = settle_ok(w);
    assert_fund(b, "coop", 824500, 30000, SH_REASON_NONE); /* 970000 × 0.85 */
    w->hospital.level = SH_LEVEL_VILLAGE;
    b = settle_ok(w);
    assert_fund(b, "coop", 0, 0, SH_REASON_NONE);
    assert_true(fund_of(b, "coop")->applied);
    assert_int_equal(fund_of(b, "coop")->payable, 1000000);
}

/* ---- Step 2.4: bands -------------------------------------------------------------------- */

/* [0, 10000 yuan) 75 %, [10000, 50000 yuan) 80 %, above 85 %. */
static struct sh_rule *three_bands(struct world *w, bool whole)
{
    struct sh_rule *r = insurance(w, "coop", 0);
    r->band_count = 0;
    add_band(r, 1000000, 7500);
    add_band(r, 5000000, 8000);
    add_band(r, SH_UNBOUNDED, 8500);
    r->band_whole = whole;
    return r;
}

static sh_fen pay_for(bool whole, bool annual, sh_fen acc_payable, sh_fen amount)
{
    struct world *w = world_init();
    struct sh_rule *r = three_bands(w, whole);
    r->band_annual = annual;
    if (acc_payable > 0)
        set_acc(w, "coop", "coop", 0, acc_payable, 0);
    bill(w, amount);
    const struct sh_breakdown *b = settle_ok(w);
    assert_int_equal(fund_of(b, "coop")->payable, amount);
    return fund_of(b, "coop")->pay;
}

static void tiered_bands(void **state)
{
    (void)state;
    assert_int_equal(pay_for(false, false, 0, 999999), 749999);   /* 749999.25 */
    assert_int_equal(pay_for(false, false, 0, 1000000), 750000);  /* exactly the bound */
    assert_int_equal(pay_for(false, false, 0, 1000001), 750001);  /* + 0.8 */
    assert_int_equal(pay_for(false, false, 0, 5000000), 3950000); /* 750000 + 3200000 */
    assert_int_equal(pay_for(false, false, 0, 6000000), 4800000); /* + 850000 */
    assert_int_equal(pay_for(false, false, 0, 1), 1);             /* 0.75 -> 1 */
    assert_int_equal(pay_for(false, false, 0, 2), 2);             /* 1.5 -> 2 */
}

static void whole_bands(void **state)
{
    (void)state;
    assert_int_equal(pay_for(true, false, 0, 1000000), 750000);  /* on the bound: lower band */
    assert_int_equal(pay_for(true, false, 0, 1000001), 800001);  /* 800000.8 */
    assert_int_equal(pay_for(true, false, 0, 5000000), 4000000); /* 80 % */
    assert_int_equal(pay_for(true, false, 0, 5000001), 4250001); /* 4250000.85 */
    assert_int_equal(pay_for(true, false, 0, 1), 1);
}

static void whole_band_zero_payable(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_rule *r = three_bands(w, true);
    r->deductible[SH_LEVEL_COUNTY] = 50000;
    r->band_annual = true;
    set_acc(w, "coop", "coop", 0, 1000000, 0);
    bill(w, 50000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 0, 50000, SH_REASON_NONE);
    assert_int_equal(fund_of(b, "coop")->payable, 0);
}

static void annual_band_scope_starts_at_acc_payable(void **state)
{
    (void)state;
    /* tiered: [900000, 1100000): 100000 × 75 % + 100000 × 80 % */
    assert_int_equal(pay_for(false, true, 900000, 200000), 155000);
    /* whole: ends at 1100000, in band 2: 200000 × 80 % */
    assert_int_equal(pay_for(true, true, 900000, 200000), 160000);
    /* whole, ending exactly on the bound 1000000: band 1 */
    assert_int_equal(pay_for(true, true, 800000, 200000), 150000);
    /* whole, starting on the bound: ends at 1200000, band 2 */
    assert_int_equal(pay_for(true, true, 1000000, 200000), 160000);
    /* tiered, starting on the bound: all of it in band 2 */
    assert_int_equal(pay_for(false, true, 1000000, 200000), 160000);
    /* tiered across all three bands: 100000 × .75 + 4000000 × .8 + 100000 × .85 */
    assert_int_equal(pay_for(false, true, 900000, 4200000), 75000 + 3200000 + 85000);
}

static void claim_band_scope_ignores_acc_payable(void **state)
{
    (void)state;
    assert_int_equal(pay_for(false, false, 900000, 200000), 150000);
    assert_int_equal(pay_for(true, false, 4900000, 200000), 150000);
}

/* Haiyan's inpatient bands: the ratio of each band differs by level. */
static sh_fen pay_at_level(enum sh_level level, bool whole, sh_fen amount)
{
    struct world *w = world_init();
    struct sh_rule *r = three_bands(w, whole);
    r->bands[0].ratio_bp[SH_LEVEL_TOWNSHIP] = 8500;
    r->bands[1].ratio_bp[SH_LEVEL_TOWNSHIP] = 9000;
    r->bands[2].ratio_bp[SH_LEVEL_TOWNSHIP] = 9500;
    r->bands[0].ratio_bp[SH_LEVEL_VILLAGE] = 0;
    r->bands[1].ratio_bp[SH_LEVEL_VILLAGE] = 0;
    r->bands[2].ratio_bp[SH_LEVEL_VILLAGE] = 0;
    w->hospital.level = level;
    bill(w, amount);
    return fund_of(settle_ok(w), "coop")->pay;
}

static void bands_by_level(void **state)
{
    (void)state;
    /* tiered: 1000000 × .85 + 1 × .9 = 850000.9 */
    assert_int_equal(pay_at_level(SH_LEVEL_TOWNSHIP, false, 1000001), 850001);
    /* whole: 1000001 × .9 = 900000.9 */
    assert_int_equal(pay_at_level(SH_LEVEL_TOWNSHIP, true, 1000001), 900001);
    /* whole, third band: 6000000 × .95 */
    assert_int_equal(pay_at_level(SH_LEVEL_TOWNSHIP, true, 6000000), 5700000);
    /* county keeps its own: 6000000 × .85 */
    assert_int_equal(pay_at_level(SH_LEVEL_COUNTY, true, 6000000), 5100000);
    assert_int_equal(pay_at_level(SH_LEVEL_VILLAGE, true, 6000000), 0);
    assert_int_equal(pay_at_level(SH_LEVEL_VILLAGE, false, 6000000), 0);
}

/* ---- Step 2.5: rounding ------------------------------------------------------------------ */

static sh_fen pay_rounded(sh_fen unit, int32_t ratio, sh_fen amount, sh_fen claim_cap,
                          enum sh_reason *reason)
{
    struct world *w = world_init();
    struct sh_rule *r = insurance(w, "coop", ratio);
    r->claim_cap = claim_cap;
    w->policy.rounding_unit = unit;
    bill(w, amount);
    const struct sh_breakdown *b = settle_ok(w);
    *reason = fund_of(b, "coop")->reason;
    return fund_of(b, "coop")->pay;
}

static void rounding_fen_jiao_yuan(void **state)
{
    (void)state;
    enum sh_reason why;
    /* 12345 × 70 % = 8641.5 fen */
    assert_int_equal(pay_rounded(1, 7000, 12345, SH_NO_CAP, &why), 8642);
    assert_int_equal(why, SH_REASON_NONE);
    assert_int_equal(pay_rounded(10, 7000, 12345, SH_NO_CAP, &why), 8640);  /* 864.15 jiao */
    assert_int_equal(pay_rounded(100, 7000, 12345, SH_NO_CAP, &why), 8600); /* 86.415 yuan */
    /* 12350 × 70 % = 8645: half a jiao rounds up */
    assert_int_equal(pay_rounded(10, 7000, 12350, SH_NO_CAP, &why), 8650);
    /* 12500 × 70 % = 8750: half a yuan rounds up */
    assert_int_equal(pay_rounded(100, 7000, 12500, SH_NO_CAP, &why), 8800);
    assert_int_equal(pay_rounded(100, 7000, 12499, SH_NO_CAP, &why), 8700); /* 87.493 */
}

static void yuan_rounding_cut_by_base_has_no_reason(void **state)
{
    (void)state;
    enum sh_reason why;
    /* 100 % of 12350 in yuan: raw 12400 > base 12350; only base cuts it */
    assert_int_equal(pay_rounded(100, 10000, 12350, SH_NO_CAP, &why), 12350);
    assert_int_equal(why, SH_REASON_NONE);
    /* a claim cap under raw names the reason even where base cuts deeper
     * (docs/rules.md step 6: claim_cap when claim_cap < raw) */
    assert_int_equal(pay_rounded(100, 10000, 12350, 12380, &why), 12350);
    assert_int_equal(why, SH_REASON_CLAIM_CAP);
    /* a claim cap of exactly raw is no reason */
    assert_int_equal(pay_rounded(100, 10000, 12350, 12400, &why), 12350);
    assert_int_equal(why, SH_REASON_NONE);
}

/* ---- Step 2.6: caps ------------------------------------------------------------------------- */

static void claim_cap(void **state)
{
    (void)state;
    enum sh_reason why;
    assert_int_equal(pay_rounded(1, 10000, 100000, 50000, &why), 50000);
    assert_int_equal(why, SH_REASON_CLAIM_CAP);
    assert_int_equal(pay_rounded(1, 5000, 100000, 50000, &why), 50000); /* raw == cap */
    assert_int_equal(why, SH_REASON_NONE);
    assert_int_equal(pay_rounded(1, 5000, 100000, 0, &why), 0);
    assert_int_equal(why, SH_REASON_CLAIM_CAP);
}

struct capped {
    sh_fen pay;
    enum sh_reason reason;
};

static struct capped pay_capped_at(int32_t ratio, sh_fen amount, sh_fen claim_cap,
                                   sh_fen annual_cap, sh_fen acc_paid)
{
    struct world *w = world_init();
    struct sh_rule *r = insurance(w, "coop", ratio);
    r->claim_cap = claim_cap;
    r->annual_cap = annual_cap;
    set_acc(w, "coop", "coop", acc_paid, 0, 0);
    bill(w, amount);
    const struct sh_breakdown *b = settle_ok(w);
    struct capped c = {fund_of(b, "coop")->pay, fund_of(b, "coop")->reason};
    return c;
}

static struct capped pay_capped(sh_fen amount, sh_fen claim_cap, sh_fen annual_cap, sh_fen acc_paid)
{
    return pay_capped_at(10000, amount, claim_cap, annual_cap, acc_paid);
}

static void annual_cap(void **state)
{
    (void)state;
    struct capped c = pay_capped(50000, SH_NO_CAP, 100000, 80000);
    assert_int_equal(c.pay, 20000);
    assert_int_equal(c.reason, SH_REASON_ANNUAL_CAP);
    c = pay_capped(50000, SH_NO_CAP, 100000, 100000); /* reached */
    assert_int_equal(c.pay, 0);
    assert_int_equal(c.reason, SH_REASON_ANNUAL_CAP);
    c = pay_capped(50000, SH_NO_CAP, 100000, 150000); /* above (cap lowered) */
    assert_int_equal(c.pay, 0);
    assert_int_equal(c.reason, SH_REASON_ANNUAL_CAP);
    c = pay_capped(50000, SH_NO_CAP, 100000, 50000); /* room == raw */
    assert_int_equal(c.pay, 50000);
    assert_int_equal(c.reason, SH_REASON_NONE);
}

static void cap_reason_precedence(void **state)
{
    (void)state;
    /* room 20000 < min(raw 50000, claim cap 30000): the annual cap */
    struct capped c = pay_capped(50000, 30000, 100000, 80000);
    assert_int_equal(c.pay, 20000);
    assert_int_equal(c.reason, SH_REASON_ANNUAL_CAP);
    /* room 40000 >= 30000: the claim cap */
    c = pay_capped(50000, 30000, 100000, 60000);
    assert_int_equal(c.pay, 30000);
    assert_int_equal(c.reason, SH_REASON_CLAIM_CAP);
    /* room exactly the claim cap: the annual cap did not lower anything */
    c = pay_capped(50000, 30000, 100000, 70000);
    assert_int_equal(c.pay, 30000);
    assert_int_equal(c.reason, SH_REASON_CLAIM_CAP);
    /* raw 0 against an exhausted annual cap: nothing lowered, no reason */
    c = pay_capped_at(0, 50000, SH_NO_CAP, 100000, 100000);
    assert_int_equal(c.pay, 0);
    assert_int_equal(c.reason, SH_REASON_NONE);
    /* claim cap 0 and an exhausted annual cap: room 0 is not below
     * min(raw, 0), so the claim cap is the reason */
    c = pay_capped(1, 0, 100000, 100000);
    assert_int_equal(c.pay, 0);
    assert_int_equal(c.reason, SH_REASON_CLAIM_CAP);
}

/* One fund, two visit rules in one cap group, each with its own annual cap. */
static void cap_group_shared_between_rules(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_fund *f = add_fund(w, "coop", SH_FUND_INSURANCE);
    struct sh_ruleset *rs = add_ruleset(f, "default");
    struct sh_rule *op = set_rule(f, rs, SH_VISIT_OUTPATIENT, 10000);
    struct sh_rule *ch = set_rule(f, rs, SH_VISIT_CHRONIC, 10000);
    struct sh_rule *ip = set_rule(f, rs, SH_VISIT_INPATIENT, 10000);
    copy_id(op->cap_group, sizeof op->cap_group, "shared");
    copy_id(ch->cap_group, sizeof ch->cap_group, "shared");
    op->annual_cap = 150000;
    ch->annual_cap = 300000;
    ip->annual_cap = 150000; /* its own group: "coop" */
    set_acc(w, "coop", "shared", 200000, 0, 0);
    set_acc(w, "other", "coop", 999999, 0, 0); /* another fund's group of that name */
    bill(w, 50000);

    w->claim.visit = SH_VISIT_OUTPATIENT; /* 200000 paid: its 150000 reached */
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 0, 0, SH_REASON_ANNUAL_CAP);
    assert_string_equal(fund_of(b, "coop")->cap_group, "shared");

    w->claim.visit = SH_VISIT_CHRONIC; /* room 100000 under its own cap */
    b = settle_ok(w);
    assert_fund(b, "coop", 50000, 0, SH_REASON_NONE);
    assert_string_equal(fund_of(b, "coop")->cap_group, "shared");

    w->claim.visit = SH_VISIT_INPATIENT; /* the "coop" group: untouched */
    b = settle_ok(w);
    assert_fund(b, "coop", 50000, 0, SH_REASON_NONE);
    assert_string_equal(fund_of(b, "coop")->cap_group, "coop");
}

static void missing_accumulator_is_zero(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_rule *r = insurance(w, "coop", 10000);
    r->annual_cap = 100000;
    r->deductible[SH_LEVEL_COUNTY] = 10000;
    r->deductible_annual = true;
    set_acc(w, "coop", "other", 100000, 0, 10000);  /* another group */
    set_acc(w, "assist", "coop", 100000, 0, 10000); /* another fund */
    bill(w, 50000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 40000, 10000, SH_REASON_NONE);
}

/* Storage could only hold these by a fault; they must neither overflow nor
 * pay more than the rules would from zero. */
static void accumulators_out_of_range(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_rule *r = three_bands(w, false);
    r->band_annual = true;
    r->annual_cap = 100000;
    r->deductible[SH_LEVEL_COUNTY] = 50000;
    r->deductible_annual = true;
    set_acc(w, "coop", "coop", INT64_MAX, INT64_MAX, INT64_MAX);
    bill(w, 100000);
    const struct sh_breakdown *b = settle_ok(w);
    /* deductible met, start in the top band (85 %: raw 85000), no room */
    assert_fund(b, "coop", 0, 0, SH_REASON_ANNUAL_CAP);
    assert_int_equal(fund_of(b, "coop")->payable, 100000);

    w->accs[0].paid = INT64_MIN;
    w->accs[0].payable = INT64_MIN;
    w->accs[0].deductible_met = -1;
    b = settle_ok(w); /* read as zero: ded 50000, 50000 × 75 % */
    assert_fund(b, "coop", 37500, 50000, SH_REASON_NONE);
}

/* ---- Step 2.1/2.2: the funds in order ----------------------------------------------------- */

static void funds_share_the_in_scope_remainder(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    struct sh_rule *coop = insurance(w, "coop", 7500);
    coop->deductible[SH_LEVEL_COUNTY] = 30000;
    struct sh_fund *assist = add_fund(w, "assist", SH_FUND_CATEGORY);
    set_rule(assist, add_ruleset(assist, "dibao"), SH_VISIT_INPATIENT, 5000);
    struct sh_fund *top = add_fund(w, "top", SH_FUND_INSURANCE);
    set_rule(top, add_ruleset(top, "default"), SH_VISIT_INPATIENT, 10000);
    give_category(w, "assist", "dibao", 20260101, 0);
    add_line(w, "A002", 1000, 130000);
    add_line(w, "C001", 1000, 20000);
    add_line(w, "B001", 1000, 10000); /* pre 1000 */
    const struct sh_breakdown *b = settle_ok(w);
    assert_int_equal(b->in_scope, 139000);
    /* coop: (139000 − 30000) × 75 % = 81750 */
    assert_fund(b, "coop", 81750, 30000, SH_REASON_NONE);
    /* assist: base 57250 × 50 % = 28625 */
    assert_fund(b, "assist", 28625, 0, SH_REASON_NONE);
    assert_string_equal(fund_of(b, "assist")->category, "dibao");
    assert_string_equal(fund_of(b, "coop")->category, "");
    /* top: the remainder 28625 */
    assert_fund(b, "top", 28625, 0, SH_REASON_NONE);
    assert_int_equal(b->fund_total, 139000);
    assert_int_equal(b->patient_pays, 20000 + 1000);
    assert_string_equal(b->funds[0].fund, "coop");
    assert_string_equal(b->funds[1].fund, "assist");
    assert_string_equal(b->funds[2].fund, "top");
}

static void not_designated(void **state)
{
    (void)state;
    struct world *w = world_init();
    insurance(w, "coop", 5000);
    insurance(w, "assist", 10000);
    w->hospital.fund_count = 1; /* only coop */
    bill(w, 10000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 5000, 0, SH_REASON_NONE);
    assert_fund(b, "assist", 0, 0, SH_REASON_NOT_DESIGNATED);
    assert_false(fund_of(b, "assist")->applied);
    assert_string_equal(fund_of(b, "assist")->cap_group, "");
    assert_int_equal(fund_of(b, "assist")->payable, 0);

    w->hospital.fund_count = 0; /* and the first one skipped leaves the base whole */
    designate(w, "assist");
    b = settle_ok(w);
    assert_fund(b, "coop", 0, 0, SH_REASON_NOT_DESIGNATED);
    assert_fund(b, "assist", 10000, 0, SH_REASON_NONE);
}

static void not_designated_comes_before_not_enrolled(void **state)
{
    (void)state;
    struct world *w = world_init();
    insurance(w, "coop", 5000);
    w->hospital.fund_count = 0;
    w->person.enrolled_count = 0;
    bill(w, 10000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 0, 0, SH_REASON_NOT_DESIGNATED);
}

static void enrolment(void **state)
{
    (void)state;
    struct world *w = world_init();
    insurance(w, "coop", 5000);
    w->person.enrolled[0] = 2025;
    w->person.enrolled[1] = 2027;
    w->person.enrolled_count = 2;
    bill(w, 10000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 0, 0, SH_REASON_NOT_ENROLLED);
    assert_false(fund_of(b, "coop")->applied);
    assert_false(sh_person_enrolled(&w->person, 2026));
    assert_true(sh_person_enrolled(&w->person, 2027));

    w->person.enrolled[2] = 2026;
    w->person.enrolled_count = 3;
    b = settle_ok(w);
    assert_fund(b, "coop", 5000, 0, SH_REASON_NONE);
    assert_true(fund_of(b, "coop")->applied);
    assert_string_equal(fund_of(b, "coop")->cap_group, "coop");
}

static sh_fen category_pay_on(uint32_t date, uint32_t from, uint32_t to, enum sh_reason *why)
{
    struct world *w = world_init();
    struct sh_fund *f = add_fund(w, "assist", SH_FUND_CATEGORY);
    set_rule(f, add_ruleset(f, "tekun"), SH_VISIT_INPATIENT, 10000);
    give_category(w, "assist", "tekun", from, to);
    w->claim.date = date;
    bill(w, 10000);
    const struct sh_breakdown *b = settle_ok(w);
    *why = fund_of(b, "assist")->reason;
    return fund_of(b, "assist")->pay;
}

static void category_dates_inclusive(void **state)
{
    (void)state;
    enum sh_reason why;
    assert_int_equal(category_pay_on(20260310, 20260310, 20260320, &why), 10000);
    assert_int_equal(category_pay_on(20260320, 20260310, 20260320, &why), 10000);
    assert_int_equal(category_pay_on(20260315, 20260310, 20260320, &why), 10000);
    assert_int_equal(category_pay_on(20260309, 20260310, 20260320, &why), 0);
    assert_int_equal(why, SH_REASON_NO_CATEGORY);
    assert_int_equal(category_pay_on(20260321, 20260310, 20260320, &why), 0);
    assert_int_equal(why, SH_REASON_NO_CATEGORY);
    assert_int_equal(category_pay_on(20261231, 20260310, 0, &why), 10000); /* open end */
    assert_int_equal(why, SH_REASON_NONE);
    assert_int_equal(category_pay_on(20260309, 20260310, 0, &why), 0);
}

static void category_priority_is_the_funds(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_fund *f = add_fund(w, "assist", SH_FUND_CATEGORY);
    set_rule(f, add_ruleset(f, "tekun"), SH_VISIT_INPATIENT, 10000);
    set_rule(f, add_ruleset(f, "dibao"), SH_VISIT_INPATIENT, 7000);
    set_rule(f, add_ruleset(f, "low_income"), SH_VISIT_INPATIENT, 5000);
    /* held in the other order: the fund's order decides */
    give_category(w, "assist", "low_income", 20260101, 0);
    give_category(w, "assist", "dibao", 20260101, 0);
    give_category(w, "youfu", "tekun", 20260101, 0);     /* another fund's: ignored */
    give_category(w, "assist", "unlisted", 20260101, 0); /* not in the fund: ignored */
    bill(w, 10000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "assist", 7000, 0, SH_REASON_NONE);
    assert_string_equal(fund_of(b, "assist")->category, "dibao");
    assert_ptr_equal(sh_fund_ruleset_for(&w->policy, f, &w->person, 20260310), &f->rulesets[1]);

    /* the higher one only until 03-09: on 03-10 the lower one applies */
    give_category(w, "assist", "tekun", 20260101, 20260309);
    b = settle_ok(w);
    assert_string_equal(fund_of(b, "assist")->category, "dibao");
    w->claim.date = 20260309;
    b = settle_ok(w);
    assert_fund(b, "assist", 10000, 0, SH_REASON_NONE);
    assert_string_equal(fund_of(b, "assist")->category, "tekun");
}

static void category_without_a_rule_for_the_visit(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_fund *f = add_fund(w, "assist", SH_FUND_CATEGORY);
    set_rule(f, add_ruleset(f, "illness"), SH_VISIT_INPATIENT, 10000);
    set_rule(f, add_ruleset(f, "dibao"), SH_VISIT_OUTPATIENT, 10000);
    give_category(w, "assist", "illness", 20260101, 0);
    give_category(w, "assist", "dibao", 20260101, 0);
    w->claim.visit = SH_VISIT_OUTPATIENT;
    bill(w, 10000);
    /* the first category held is taken even though it has no outpatient rule */
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "assist", 0, 0, SH_REASON_NO_RULE);
    assert_string_equal(fund_of(b, "assist")->category, "illness");
    assert_false(fund_of(b, "assist")->applied);
    assert_string_equal(fund_of(b, "assist")->cap_group, "");
}

static void insurance_without_a_rule_for_the_visit(void **state)
{
    (void)state;
    struct world *w = world_init();
    insurance(w, "coop", 10000);
    w->claim.visit = SH_VISIT_CHRONIC;
    bill(w, 10000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "coop", 0, 0, SH_REASON_NO_RULE);
    assert_string_equal(fund_of(b, "coop")->category, "");
}

static void no_category(void **state)
{
    (void)state;
    struct world *w = world_init();
    struct sh_fund *f = add_fund(w, "assist", SH_FUND_CATEGORY);
    set_rule(f, add_ruleset(f, "dibao"), SH_VISIT_INPATIENT, 10000);
    bill(w, 10000);
    const struct sh_breakdown *b = settle_ok(w);
    assert_fund(b, "assist", 0, 0, SH_REASON_NO_CATEGORY);
    assert_string_equal(fund_of(b, "assist")->category, "");
    assert_null(sh_fund_ruleset_for(&w->policy, f, &w->person, 20260310));
}

static void death_date(void **state)
{
    (void)state;
    struct world *w = world_init();
    insurance(w, "coop", 10000);
    bill(w, 10000);
    w->person.died = 20260310;
    assert_int_equal(settle(w), 0); /* the day of death */
    w->claim.date = 20260311;
    assert_int_equal(settle(w), SH_E_PERSON_DECEASED);
    assert_non_null(strstr(w->err.msg, "2026-03-10"));
    w->claim.date = 20260309;
    assert_int_equal(settle(w), 0);
}

/* ---- Refusals --------------------------------------------------------------------------- */

static void refusals_bad_claim(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 10000);
    assert_int_equal(settle(w), SH_E_BAD_CLAIM); /* no lines */
    assert_non_null(strstr(w->err.msg, "lines"));

    add_line(w, "A002", 1000, 100);
    add_line(w, "B001", 1000, 100);
    add_line(w, "B001", 1000, 0);
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    assert_string_equal(w->err.msg, "line 3 (code B001): amount 0 must be > 0");
    w->lines[2].amount = SH_AMOUNT_MAX + 1;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    assert_non_null(strstr(w->err.msg, "line 3 (code B001): amount 10000000001"));
    w->lines[2].amount = -5;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    w->lines[2].amount = SH_AMOUNT_MAX; /* the limit itself is fine */
    assert_int_equal(settle(w), 0);

    w->lines[1].qty_milli = 0;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    assert_string_equal(w->err.msg, "line 2 (code B001): qty 0.000 must be > 0");
    w->lines[1].qty_milli = -1500;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    assert_string_equal(w->err.msg, "line 2 (code B001): qty -1.500 must be > 0");
    w->lines[1].qty_milli = 1;
    assert_int_equal(settle(w), 0);

    w->lines[0].defect = SH_LINE_QTY_TOO_PRECISE;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    assert_non_null(strstr(w->err.msg, "line 1 (code A002)"));
    w->lines[0].defect = SH_LINE_AMOUNT_NOT_INTEGER;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    w->lines[0].defect = SH_LINE_NOT_A_NUMBER;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    w->lines[0].defect = SH_LINE_OK;

    w->claim.visit = -1;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    assert_non_null(strstr(w->err.msg, "visit"));
    w->claim.visit = SH_VISIT_COUNT;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    w->claim.visit = SH_VISIT_CHRONIC;

    w->claim.date = 0;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    assert_non_null(strstr(w->err.msg, "date"));
    w->claim.date = 20260230;
    assert_int_equal(settle(w), SH_E_BAD_CLAIM);
    w->claim.date = 20260310;
    assert_int_equal(settle(w), 0);

    w->claim.line_count = SH_CLAIM_LINES_MAX + 1;
    assert_int_equal(sh_rules_check_claim(&w->claim, &w->err), SH_E_BAD_CLAIM);
    assert_non_null(strstr(w->err.msg, "10000"));
}

static void refusals_bad_person_id(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 10000);
    add_line(w, "A002", 1000, 100);
    copy_id(w->claim.person, sizeof w->claim.person, "330424196001010014"); /* check digit */
    assert_int_equal(sh_rules_check_claim(&w->claim, &w->err), SH_E_BAD_PERSON_ID);
    assert_int_equal(settle(w), SH_E_BAD_PERSON_ID);
    assert_null(strstr(w->err.msg, "330424196001010014")); /* never in clear */
    copy_id(w->claim.person, sizeof w->claim.person, "33042419600101001");
    assert_int_equal(settle(w), SH_E_BAD_PERSON_ID);
    copy_id(w->claim.person, sizeof w->claim.person, "3304241960010100133");
    assert_int_equal(settle(w), SH_E_BAD_PERSON_ID);
    memset(w->claim.person, '1', sizeof w->claim.person); /* unterminated */
    assert_int_equal(settle(w), SH_E_BAD_PERSON_ID);
    copy_id(w->claim.person, sizeof w->claim.person, "33042419880114318x");
    assert_int_equal(settle(w), SH_E_BAD_PERSON_ID);
    copy_id(w->claim.person, sizeof w->claim.person, PERSON_ID);
    assert_int_equal(sh_rules_check_claim(&w->claim, &w->err), 0);
    assert_int_equal(settle(w), 0);
}

/* Every fault at once; removing them one by one walks down the table. */
static void refusal_order(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    insurance(w, "coop", 10000);
    add_line(w, "A002", 1000, 100);
    add_line(w, "B001", 1000, 100);
    add_line(w, "NOPE", 1000, 100); /* unknown item on line 3 */
    add_line(w, "B001", 0, 100);    /* bad qty on line 4 */
    copy_id(w->claim.person, sizeof w->claim.person, "330424196001010014");
    w->person.died = 20260101;
    w->in.claim = &w->claim;
    w->in.items = w->line_items;
    w->in.hospital = NULL;
    w->in.person = NULL;
    w->in.policy = NULL;

    assert_int_equal(sh_rules_settle(&w->in, &w->out, &w->err), SH_E_BAD_CLAIM);
    assert_non_null(strstr(w->err.msg, "line 4 (code B001)"));
    w->lines[3].qty_milli = 1000;
    assert_int_equal(sh_rules_settle(&w->in, &w->out, &w->err), SH_E_BAD_PERSON_ID);
    copy_id(w->claim.person, sizeof w->claim.person, PERSON_ID);
    assert_int_equal(sh_rules_settle(&w->in, &w->out, &w->err), SH_E_UNKNOWN_HOSPITAL);
    assert_non_null(strstr(w->err.msg, "H1"));
    w->in.hospital = &w->hospital;
    assert_int_equal(sh_rules_settle(&w->in, &w->out, &w->err), SH_E_UNKNOWN_PERSON);
    w->in.person = &w->person;
    assert_int_equal(sh_rules_settle(&w->in, &w->out, &w->err), SH_E_PERSON_DECEASED);
    w->person.died = 0;
    assert_int_equal(sh_rules_settle(&w->in, &w->out, &w->err), SH_E_NO_POLICY);
    w->in.policy = &w->policy;
    assert_int_equal(sh_rules_settle(&w->in, &w->out, &w->err), SH_E_UNKNOWN_ITEM);
    assert_string_equal(w->err.msg, "line 3 (code NOPE): not in the catalog");
    w->line_items[2] = &w->items[0];
    assert_int_equal(sh_rules_settle(&w->in, &w->out, &w->err), 0);
}

static void no_policy_in_force(void **state)
{
    (void)state;
    struct world *w = world_init();
    insurance(w, "coop", 10000);
    bill(w, 100);
    w->policy.effective_from = 20260401; /* not yet in force on 03-10 */
    assert_int_equal(settle(w), SH_E_NO_POLICY);
    assert_non_null(strstr(w->err.msg, "2026-03-10"));
    w->policy.effective_from = 20260101;
    copy_id(w->policy.region, sizeof w->policy.region, "522729"); /* another region's */
    assert_int_equal(settle(w), SH_E_NO_POLICY);
    copy_id(w->policy.region, sizeof w->policy.region, "330424");
    assert_int_equal(settle(w), 0);
}

/* ---- Names ---------------------------------------------------------------------------- */

static void names_and_parsers(void **state)
{
    (void)state;
    assert_null(sh_reason_name(SH_REASON_NONE));
    assert_string_equal(sh_reason_name(SH_REASON_NOT_DESIGNATED), "not_designated");
    assert_string_equal(sh_reason_name(SH_REASON_NOT_ENROLLED), "not_enrolled");
    assert_string_equal(sh_reason_name(SH_REASON_NO_CATEGORY), "no_category");
    assert_string_equal(sh_reason_name(SH_REASON_NO_RULE), "no_rule");
    assert_string_equal(sh_reason_name(SH_REASON_CLAIM_CAP), "claim_cap");
    assert_string_equal(sh_reason_name(SH_REASON_ANNUAL_CAP), "annual_cap");
    assert_null(sh_reason_name(SH_REASON_COUNT));

    static const char *const visits[] = {"outpatient", "chronic", "inpatient"};
    for (int v = 0; v < SH_VISIT_COUNT; v++) {
        assert_string_equal(sh_visit_name((enum sh_visit)v), visits[v]);
        assert_int_equal(sh_visit_parse(visits[v]), v);
    }
    static const char *const levels[] = {"village", "township", "county", "municipal",
                                         "provincial"};
    for (int l = 0; l < SH_LEVEL_COUNT; l++) {
        assert_string_equal(sh_level_name((enum sh_level)l), levels[l]);
        assert_int_equal(sh_level_parse(levels[l]), l);
    }
    assert_null(sh_visit_name(SH_VISIT_COUNT));
    assert_null(sh_level_name(SH_LEVEL_COUNT));
    assert_int_equal(sh_visit_parse("Inpatient"), -1);
    assert_int_equal(sh_visit_parse(""), -1);
    assert_int_equal(sh_visit_parse(NULL), -1);
    assert_int_equal(sh_level_parse("*"), -1);
    assert_int_equal(sh_level_parse("county "), -1);
}

/* Same input, same answer: nothing is kept between calls. */
static void settle_is_pure(void **state)
{
    (void)state;
    struct world *w = world_init();
    catalog(w);
    struct sh_rule *r = three_bands(w, false);
    r->annual_cap = 900000;
    r->deductible[SH_LEVEL_COUNTY] = 20000;
    r->deductible_annual = true;
    set_acc(w, "coop", "coop", 10000, 20000, 5000);
    add_line(w, "A004", 1500, 4000);
    add_line(w, "B002", 1000, 2000000);
    struct sh_breakdown first;
    settle_ok(w);
    first = w->out;
    memset(&w->out, 0xa5, sizeof w->out);
    settle_ok(w);
    assert_memory_equal(&first, &w->out, sizeof first);
    assert_int_equal(w->accs[0].paid, 10000); /* inputs untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_classes),
        cmocka_unit_test(split_alone_matches_settle),
        cmocka_unit_test(class_totals_sum_the_lines),
        cmocka_unit_test(class_totals_of_a_single_class),
        cmocka_unit_test(selfpay_rounds_half_up),
        cmocka_unit_test(price_cap_uses_thousandths),
        cmocka_unit_test(price_cap_then_class_b_share),
        cmocka_unit_test(class_b_share_item_override),
        cmocka_unit_test(unknown_class_is_out_of_scope_in_split),
        cmocka_unit_test(largest_claim_stays_in_range),
        cmocka_unit_test(deductible_claim_scope),
        cmocka_unit_test(deductible_larger_than_base),
        cmocka_unit_test(deductible_annual_scope_reduced_by_met),
        cmocka_unit_test(deductible_annual_scope_already_met),
        cmocka_unit_test(deductible_annual_first_claim_smaller),
        cmocka_unit_test(deductible_and_ratio_by_level),
        cmocka_unit_test(tiered_bands),
        cmocka_unit_test(whole_bands),
        cmocka_unit_test(whole_band_zero_payable),
        cmocka_unit_test(annual_band_scope_starts_at_acc_payable),
        cmocka_unit_test(claim_band_scope_ignores_acc_payable),
        cmocka_unit_test(bands_by_level),
        cmocka_unit_test(rounding_fen_jiao_yuan),
        cmocka_unit_test(yuan_rounding_cut_by_base_has_no_reason),
        cmocka_unit_test(claim_cap),
        cmocka_unit_test(annual_cap),
        cmocka_unit_test(cap_reason_precedence),
        cmocka_unit_test(cap_group_shared_between_rules),
        cmocka_unit_test(missing_accumulator_is_zero),
        cmocka_unit_test(accumulators_out_of_range),
        cmocka_unit_test(funds_share_the_in_scope_remainder),
        cmocka_unit_test(not_designated),
        cmocka_unit_test(not_designated_comes_before_not_enrolled),
        cmocka_unit_test(enrolment),
        cmocka_unit_test(category_dates_inclusive),
        cmocka_unit_test(category_priority_is_the_funds),
        cmocka_unit_test(category_without_a_rule_for_the_visit),
        cmocka_unit_test(insurance_without_a_rule_for_the_visit),
        cmocka_unit_test(no_category),
        cmocka_unit_test(death_date),
        cmocka_unit_test(refusals_bad_claim),
        cmocka_unit_test(refusals_bad_person_id),
        cmocka_unit_test(refusal_order),
        cmocka_unit_test(no_policy_in_force),
        cmocka_unit_test(names_and_parsers),
        cmocka_unit_test(settle_is_pure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
