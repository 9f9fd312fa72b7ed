/*
 * Property test of the rules core: random policies, reference data and
 * claims, settled against an accumulator table kept here, with every
 * invariant of docs/rules.md checked on every claim, and every breakdown compared
 * to the fen with a second, naive implementation of steps 1 and 2 written
 * below (wide __int128 arithmetic, tiered bands as a difference of a
 * cumulative function, the whole band found from the top, categories found
 * in the fund's order first).
 *
 * The seed is printed; SANHE_SEED=<n> replays a run. ctest runs it twice:
 * on a seed drawn afresh, and on a fixed one (tests/CMakeLists.txt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sh_date.h"
#include "sh_person_id.h"
#include "sh_policy.h"
#include "sh_rules.h"

#define ROUNDS 400
#define CLAIMS_PER_ROUND 350 /* 140,000 claims in all */
#define N_HOSPITALS 6
#define N_ITEMS 40
#define N_PERSONS 10
#define MAX_LINES 25
#define MAX_ACCS 32 /* per person: at most 8 funds × 3 cap groups */
#define YEAR 2026

typedef __int128 wide;

/* ---- PRNG: splitmix64 -------------------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t seed;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]; the modulo bias is irrelevant here. */
static int64_t rng_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

static bool rng_chance(int percent) { return rng_range(1, 100) <= percent; }

static uint32_t rng_date(int32_t year)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int m = (int)rng_range(1, 12);
    int d = (int)rng_range(1, mdays[m - 1]);
    return (uint32_t)(year * 10000 + m * 100 + d);
}

/* ---- The world of one round -------------------------------------------------------------- */

struct pworld {
    struct sh_policy policy;
    struct sh_hospital hospitals[N_HOSPITALS];
    struct sh_item items[N_ITEMS];
    struct sh_person persons[N_PERSONS];
};

/* The committed accumulators, per person, of YEAR. */
struct acc_table {
    uint32_t count;
    struct sh_acc accs[MAX_ACCS];
};

/* What one settled claim changed, to reverse it or to recompute the table. */
struct claim_log {
    uint32_t person;
    bool reversed;
    uint32_t count;
    struct sh_acc delta[SH_FUNDS_MAX];
};

static struct pworld W;
static struct acc_table table[N_PERSONS];
static struct claim_log logs[CLAIMS_PER_ROUND];
static uint32_t log_count;

/* Context printed with any failure, so that it can be replayed. */
static int cur_round, cur_claim;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error("SANHE_SEED=%" PRIu64 " round %d claim %d: %s: ", seed, cur_round,         \
                        cur_claim, #cond);                                                         \
            print_error(__VA_ARGS__);                                                              \
            print_error("\n");                                                                     \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b, what)                                                                       \
    CHECK((a) == (b), "%s: %lld != %lld", what, (long long)(a), (long long)(b))

static void set_id(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memmove(dst, src, n);
    dst[n] = '\0';
}

static int32_t gen_ratio(void)
{
    if (rng_chance(15))
        return 0;
    if (rng_chance(15))
        return 10000;
    return (int32_t)rng_range(0, 10000);
}

/* Money on round numbers half the time, so that amounts land on bounds. */
static sh_fen gen_money(sh_fen hi)
{
    sh_fen x = rng_range(0, hi);
    return rng_chance(50) ? x / 10000 * 10000 : x;
}

static sh_fen gen_cap(sh_fen hi) { return rng_chance(50) ? SH_NO_CAP : gen_money(hi); }

static void gen_rule(const struct sh_fund *fund, struct sh_rule *r)
{
    memset(r, 0, sizeof *r);
    r->present = true;
    bool all_levels = rng_chance(40);
    sh_fen d = rng_chance(40) ? 0 : gen_money(300000);
    for (int l = 0; l < SH_LEVEL_COUNT; l++)
        r->deductible[l] = all_levels ? d : rng_chance(30) ? 0 : gen_money(300000);
    r->deductible_annual = rng_chance(50);
    r->band_whole = rng_chance(40);
    r->band_annual = rng_chance(40);
    r->claim_cap = gen_cap(2000000);
    r->annual_cap = gen_cap(rng_chance(50) ? 500000 : 20000000);
    static const char *const groups[] = {"g1", "g2"};
    if (rng_chance(40))
        set_id(r->cap_group, sizeof r->cap_group, fund->id);
    else
        set_id(r->cap_group, sizeof r->cap_group, groups[rng_range(0, 1)]);
    r->band_count = (uint32_t)rng_range(1, 4);
    sh_fen upto = 0;
    for (uint32_t j = 0; j < r->band_count; j++) {
        struct sh_band *b = &r->bands[j];
        upto += rng_chance(50) ? rng_range(1, 100) * 10000 : rng_range(1, 3000000);
        b->upto = j + 1 == r->band_count ? SH_UNBOUNDED : upto;
        int32_t ratio = gen_ratio();
        for (int l = 0; l < SH_LEVEL_COUNT; l++)
            b->ratio_bp[l] = rng_chance(50) ? ratio : gen_ratio();
    }
}

static const char *const category_pool[] = {"tekun", "dibao", "edge", "low", "vet", "martyr"};
#define CATEGORY_POOL 6

static void gen_fund(struct sh_fund *f, uint32_t index)
{
    memset(f, 0, sizeof *f);
    snprintf(f->id, sizeof f->id, "f%u", index);
    f->kind = rng_chance(40) ? SH_FUND_INSURANCE : SH_FUND_CATEGORY;
    uint32_t order[CATEGORY_POOL] = {0, 1, 2, 3, 4, 5};
    for (uint32_t i = CATEGORY_POOL - 1; i > 0; i--) { /* the fund's own priority order */
        uint32_t j = (uint32_t)rng_range(0, i);
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    f->ruleset_count = f->kind == SH_FUND_INSURANCE ? 1 : (uint32_t)rng_range(1, 4);
    for (uint32_t k = 0; k < f->ruleset_count; k++) {
        struct sh_ruleset *rs = &f->rulesets[k];
        set_id(rs->category, sizeof rs->category,
               f->kind == SH_FUND_INSURANCE ? "default" : category_pool[order[k]]);
        for (int v = 0; v < SH_VISIT_COUNT; v++)
            if (rng_chance(80))
                gen_rule(f, &rs->visit[v]);
    }
}

static void gen_policy(struct sh_policy *p)
{
    memset(p, 0, sizeof *p);
    set_id(p->region, sizeof p->region, "330424");
    p->year = YEAR;
    p->effective_from = YEAR * 10000 + 101;
    p->effective_to = YEAR * 10000 + 1231;
    p->class_b_selfpay_bp = rng_chance(20) ? 0 : (int32_t)rng_range(0, 10000);
    static const sh_fen units[] = {1, 10, 100};
    p->rounding_unit = units[rng_range(0, 2)];
    p->fund_count = (uint32_t)rng_range(1, SH_FUNDS_MAX);
    for (uint32_t i = 0; i < p->fund_count; i++)
        gen_fund(&p->funds[i], i);
}

static void gen_hospital(struct sh_hospital *h, uint32_t index, const struct sh_policy *p)
{
    memset(h, 0, sizeof *h);
    snprintf(h->code, sizeof h->code, "H%u", index);
    set_id(h->region, sizeof h->region, "330424");
    h->level = (enum sh_level)rng_range(0, SH_LEVEL_COUNT - 1);
    for (uint32_t i = 0; i < p->fund_count && h->fund_count < SH_FUNDS_MAX; i++)
        if (rng_chance(85))
            set_id(h->funds[h->fund_count++], SH_ID_MAX, p->funds[i].id);
    if (h->fund_count < SH_FUNDS_MAX && rng_chance(10))
        set_id(h->funds[h->fund_count++], SH_ID_MAX, "elsewhere");
}

/* The first ROUND_ITEMS items are class A without a price cap: claims of
 * those alone have a round in-scope amount (see gen_claim). */
#define ROUND_ITEMS 4

static void gen_item(struct sh_item *it, uint32_t index)
{
    memset(it, 0, sizeof *it);
    snprintf(it->code, sizeof it->code, "I%03u", index);
    if (index < ROUND_ITEMS) {
        it->cls = SH_CLASS_A;
        it->selfpay_bp = SH_SELFPAY_POLICY;
        it->price_cap = SH_NO_CAP;
        return;
    }
    int64_t c = rng_range(1, 100);
    it->cls = c <= 40 ? SH_CLASS_A : c <= 75 ? SH_CLASS_B : SH_CLASS_C;
    it->selfpay_bp = rng_chance(50)   ? SH_SELFPAY_POLICY
                     : rng_chance(10) ? 0
                                      : (int32_t)rng_range(0, 10000);
    it->price_cap = rng_chance(60) ? SH_NO_CAP : rng_chance(5) ? 0 : rng_range(1, 100000);
}

static void gen_person(struct sh_person *p, uint32_t index, const struct sh_policy *pol)
{
    memset(p, 0, sizeof *p);
    char first17[18];
    snprintf(first17, sizeof first17, "3304241960%07u", index);
    snprintf(p->id, sizeof p->id, "%s%c", first17, sh_person_id_check_char(first17));
    set_id(p->region, sizeof p->region, "330424");
    int64_t e = rng_range(1, 100);
    if (e <= 75) {
        p->enrolled[p->enrolled_count++] = YEAR;
    } else if (e <= 85) {
        p->enrolled[p->enrolled_count++] = YEAR - 1;
    } else if (e <= 95) {
        p->enrolled[p->enrolled_count++] = YEAR - 1;
        p->enrolled[p->enrolled_count++] = YEAR + 1;
        p->enrolled[p->enrolled_count++] = YEAR;
    }
    uint32_t ncat = (uint32_t)rng_range(0, 5);
    for (uint32_t i = 0; i < ncat; i++) {
        struct sh_person_category *c = &p->categories[p->category_count++];
        const struct sh_fund *f = &pol->funds[rng_range(0, pol->fund_count - 1)];
        set_id(c->fund, sizeof c->fund, rng_chance(90) ? f->id : "f9");
        set_id(c->category, sizeof c->category, category_pool[rng_range(0, CATEGORY_POOL - 1)]);
        c->from = rng_chance(40) ? rng_date(YEAR - 1) : rng_date(YEAR);
        c->to = rng_chance(40) ? 0 : rng_date(YEAR);
        if (c->to != 0 && c->to < c->from) {
            uint32_t t = c->to;
            c->to = c->from;
            c->from = t;
        }
    }
    p->died = rng_chance(15) ? rng_date(YEAR) : 0;
}

static void gen_world(void)
{
    gen_policy(&W.policy);
    struct sh_error err;
    int rc = sh_policy_validate(&W.policy, &err);
    CHECK(rc == 0, "the generated policy is invalid: %s", err.msg);
    for (uint32_t i = 0; i < N_HOSPITALS; i++)
        gen_hospital(&W.hospitals[i], i, &W.policy);
    for (uint32_t i = 0; i < N_ITEMS; i++)
        gen_item(&W.items[i], i);
    for (uint32_t i = 0; i < N_PERSONS; i++)
        gen_person(&W.persons[i], i, &W.policy);
}

/* ---- Claims ------------------------------------------------------------------------------ */

struct pclaim {
    struct sh_claim claim;
    struct sh_line lines[MAX_LINES];
    const struct sh_item *items[MAX_LINES];
    uint32_t person;
    const struct sh_hospital *hospital;
};

static sh_fen gen_amount(void)
{
    int64_t r = rng_range(1, 100);
    sh_fen a = r <= 70   ? rng_range(1, 50000)
               : r <= 95 ? rng_range(1, 500000)
                         : rng_range(1, 10000000);
    if (rng_chance(10))
        a = (a / 100000 + 1) * 100000;
    return a;
}

static void gen_claim(struct pclaim *pc)
{
    memset(pc, 0, sizeof *pc);
    pc->person = (uint32_t)rng_range(0, N_PERSONS - 1);
    pc->hospital = &W.hospitals[rng_range(0, N_HOSPITALS - 1)];
    struct sh_claim *c = &pc->claim;
    set_id(c->hospital, sizeof c->hospital, pc->hospital->code);
    set_id(c->person, sizeof c->person, W.persons[pc->person].id);
    c->visit = (int)rng_range(0, SH_VISIT_COUNT - 1);
    c->date = rng_date(YEAR);
    c->lines = pc->lines;
    if (rng_chance(15)) {
        /* Round amounts of class A: in scope, and so the payable, often
         * lands exactly on a band bound (uptos are often round too). */
        c->line_count = (uint32_t)rng_range(1, 2);
        for (uint32_t i = 0; i < c->line_count; i++) {
            const struct sh_item *it = &W.items[rng_range(0, ROUND_ITEMS - 1)];
            set_id(pc->lines[i].code, sizeof pc->lines[i].code, it->code);
            pc->lines[i].qty_milli = 1000;
            pc->lines[i].amount = rng_range(1, 60) * 10000;
            pc->items[i] = it;
        }
        return;
    }
    c->line_count = (uint32_t)rng_range(1, MAX_LINES);
    for (uint32_t i = 0; i < c->line_count; i++) {
        const struct sh_item *it = &W.items[rng_range(0, N_ITEMS - 1)];
        set_id(pc->lines[i].code, sizeof pc->lines[i].code, it->code);
        pc->lines[i].qty_milli = rng_chance(60) ? rng_range(1, 10) * 1000 : rng_range(1, 10000);
        pc->lines[i].amount = gen_amount();
        pc->items[i] = it;
    }
}

/* ---- The accumulator table --------------------------------------------------------------- */

static struct sh_acc *table_find(struct acc_table *t, const char *fund, const char *group)
{
    for (uint32_t i = 0; i < t->count; i++)
        if (strcmp(t->accs[i].fund, fund) == 0 && strcmp(t->accs[i].cap_group, group) == 0)
            return &t->accs[i];
    return NULL;
}

static struct sh_acc *table_get(struct acc_table *t, const char *fund, const char *group)
{
    struct sh_acc *a = table_find(t, fund, group);
    if (a != NULL)
        return a;
    CHECK(t->count < MAX_ACCS, "accumulator table full");
    a = &t->accs[t->count++];
    memset(a, 0, sizeof *a);
    set_id(a->fund, sizeof a->fund, fund);
    set_id(a->cap_group, sizeof a->cap_group, group);
    return a;
}

static void table_apply(struct acc_table *t, const struct claim_log *lg, int sign)
{
    for (uint32_t i = 0; i < lg->count; i++) {
        const struct sh_acc *d = &lg->delta[i];
        struct sh_acc *a = table_get(t, d->fund, d->cap_group);
        a->paid += sign * d->paid;
        a->payable += sign * d->payable;
        a->deductible_met += sign * d->deductible_met;
    }
}

/* Equal when every accumulator agrees, one missing from a table being zero. */
static void table_expect_equal(const struct acc_table *a, const struct acc_table *b,
                               const char *what)
{
    for (int pass = 0; pass < 2; pass++) {
        const struct acc_table *x = pass == 0 ? a : b;
        struct acc_table *y = (struct acc_table *)(pass == 0 ? b : a);
        for (uint32_t i = 0; i < x->count; i++) {
            const struct sh_acc *p = &x->accs[i];
            const struct sh_acc *q = table_find(y, p->fund, p->cap_group);
            struct sh_acc zero = {.paid = 0};
            if (q == NULL)
                q = &zero;
            CHECK(p->paid == q->paid && p->payable == q->payable &&
                      p->deductible_met == q->deductible_met,
                  "%s: accumulator (%s, %s): paid %lld/%lld payable %lld/%lld met %lld/%lld", what,
                  p->fund, p->cap_group, (long long)p->paid, (long long)q->paid,
                  (long long)p->payable, (long long)q->payable, (long long)p->deductible_met,
                  (long long)q->deductible_met);
        }
    }
}

/* ---- The reference: steps 1 and 2, as plainly as possible -------------------------------- */

static wide w_rnd(wide n, wide d) { return (n + d / 2) / d; }

static wide w_min(wide a, wide b) { return a < b ? a : b; }

static wide w_max(wide a, wide b) { return a > b ? a : b; }

/* Σ over bands of ratio × |[0, x) ∩ [lo, upto)|. */
static wide cumulative(const struct sh_rule *r, enum sh_level level, wide x)
{
    wide sum = 0, lo = 0;
    for (uint32_t j = 0; j < r->band_count; j++) {
        wide up = r->bands[j].upto;
        wide len = w_max(0, w_min(x, up) - lo);
        sum += len * r->bands[j].ratio_bp[level];
        lo = up;
    }
    return sum;
}

static wide whole_ratio(const struct sh_rule *r, enum sh_level level, wide end)
{
    for (int j = (int)r->band_count - 1; j >= 0; j--) {
        wide lo = j == 0 ? 0 : r->bands[j - 1].upto;
        if (lo < end && end <= r->bands[j].upto)
            return r->bands[j].ratio_bp[level];
    }
    return 0;
}

static bool holds(const struct sh_person *p, const char *fund, const char *category, uint32_t date)
{
    for (uint32_t i = 0; i < p->category_count; i++) {
        const struct sh_person_category *c = &p->categories[i];
        if (strcmp(c->fund, fund) == 0 && strcmp(c->category, category) == 0 && c->from <= date &&
            (c->to == 0 || date <= c->to))
            return true;
    }
    return false;
}

static const struct sh_ruleset *ref_ruleset(const struct sh_fund *f, const struct sh_person *p,
                                            uint32_t date)
{
    if (f->kind == SH_FUND_INSURANCE) {
        for (uint32_t i = 0; i < p->enrolled_count; i++)
            if (p->enrolled[i] == YEAR)
                return &f->rulesets[0];
        return NULL;
    }
    for (uint32_t k = 0; k < f->ruleset_count; k++)
        if (holds(p, f->id, f->rulesets[k].category, date))
            return &f->rulesets[k];
    return NULL;
}

static void ref_split(const struct pclaim *pc, int32_t class_b_bp, struct sh_breakdown *e)
{
    for (uint32_t i = 0; i < pc->claim.line_count; i++) {
        const struct sh_line *l = &pc->lines[i];
        const struct sh_item *it = pc->items[i];
        wide amount = l->amount;
        e->total += l->amount;
        if (it->cls == SH_CLASS_A)
            e->class_a_total += l->amount;
        else if (it->cls == SH_CLASS_B)
            e->class_b_total += l->amount;
        else
            e->class_c_total += l->amount;
        if (it->cls == SH_CLASS_C) {
            e->out_of_scope += l->amount;
            continue;
        }
        wide over = 0;
        if (it->price_cap != SH_NO_CAP)
            over = w_max(0, amount - w_rnd((wide)l->qty_milli * it->price_cap, 1000));
        wide rest = amount - over;
        wide pre = 0;
        if (it->cls == SH_CLASS_B)
            pre = w_rnd(rest * (it->selfpay_bp == SH_SELFPAY_POLICY ? class_b_bp : it->selfpay_bp),
                        10000);
        e->over_limit += (sh_fen)over;
        e->pre_selfpay += (sh_fen)pre;
        e->in_scope += (sh_fen)(rest - pre);
    }
}

static void ref_fund(const struct pclaim *pc, const struct sh_fund *f, wide base,
                     struct sh_fund_result *r)
{
    const struct sh_person *p = &W.persons[pc->person];
    const struct sh_hospital *h = pc->hospital;
    set_id(r->fund, sizeof r->fund, f->id);
    bool designated = false;
    for (uint32_t i = 0; i < h->fund_count; i++)
        designated |= strcmp(h->funds[i], f->id) == 0;
    if (!designated) {
        r->reason = SH_REASON_NOT_DESIGNATED;
        return;
    }
    const struct sh_ruleset *rs = ref_ruleset(f, p, pc->claim.date);
    if (rs == NULL) {
        r->reason = f->kind == SH_FUND_INSURANCE ? SH_REASON_NOT_ENROLLED : SH_REASON_NO_CATEGORY;
        return;
    }
    if (f->kind == SH_FUND_CATEGORY)
        set_id(r->category, sizeof r->category, rs->category);
    const struct sh_rule *rule = &rs->visit[pc->claim.visit];
    if (!rule->present) {
        r->reason = SH_REASON_NO_RULE;
        return;
    }
    struct sh_acc zero = {.paid = 0};
    const struct sh_acc *acc = table_find(&table[pc->person], f->id, rule->cap_group);
    if (acc == NULL)
        acc = &zero;
    enum sh_level lv = h->level;

    wide d = rule->deductible[lv];
    if (rule->deductible_annual)
        d = w_max(0, d - acc->deductible_met);
    wide ded = w_min(base, d);
    wide payable = base - ded;

    wide start = rule->band_annual ? acc->payable : 0;
    wide num;
    if (!rule->band_whole)
        num = cumulative(rule, lv, start + payable) - cumulative(rule, lv, start);
    else
        num = payable == 0 ? 0 : payable * whole_ratio(rule, lv, start + payable);
    wide u = W.policy.rounding_unit;
    wide raw = w_rnd(num, 10000 * u) * u;

    wide pay = raw;
    if (rule->claim_cap != SH_NO_CAP && rule->claim_cap < pay)
        pay = rule->claim_cap;
    if (rule->annual_cap != SH_NO_CAP && rule->annual_cap - acc->paid < pay)
        pay = rule->annual_cap - acc->paid;
    if (base < pay)
        pay = base;
    if (pay < 0)
        pay = 0;

    wide claim_cap = rule->claim_cap == SH_NO_CAP ? raw + 1 : rule->claim_cap;
    if (rule->annual_cap != SH_NO_CAP &&
        w_max(0, rule->annual_cap - acc->paid) < w_min(raw, claim_cap))
        r->reason = SH_REASON_ANNUAL_CAP;
    else if (rule->claim_cap != SH_NO_CAP && rule->claim_cap < raw)
        r->reason = SH_REASON_CLAIM_CAP;
    else
        r->reason = SH_REASON_NONE;

    r->pay = (sh_fen)pay;
    r->deductible = (sh_fen)ded;
    r->applied = true;
    set_id(r->cap_group, sizeof r->cap_group, rule->cap_group);
    r->payable = (sh_fen)payable;
    r->deductible_met = rule->deductible_annual ? (sh_fen)ded : 0;
}

static void ref_settle(const struct pclaim *pc, struct sh_breakdown *e)
{
    memset(e, 0, sizeof *e);
    ref_split(pc, W.policy.class_b_selfpay_bp, e);
    e->year = YEAR;
    e->fund_count = W.policy.fund_count;
    wide paid = 0;
    for (uint32_t i = 0; i < W.policy.fund_count; i++) {
        ref_fund(pc, &W.policy.funds[i], (wide)e->in_scope - paid, &e->funds[i]);
        paid += e->funds[i].pay;
    }
    e->fund_total = (sh_fen)paid;
    e->patient_pays = e->total - e->fund_total;
}

/* ---- Checks of one claim ----------------------------------------------------------------- */

static void expect_same(const struct sh_breakdown *got, const struct sh_breakdown *want)
{
    CHECK_EQ(got->total, want->total, "total");
    CHECK_EQ(got->out_of_scope, want->out_of_scope, "out_of_scope");
    CHECK_EQ(got->over_limit, want->over_limit, "over_limit");
    CHECK_EQ(got->pre_selfpay, want->pre_selfpay, "pre_selfpay");
    CHECK_EQ(got->in_scope, want->in_scope, "in_scope");
    CHECK_EQ(got->class_a_total, want->class_a_total, "class_a_total");
    CHECK_EQ(got->class_b_total, want->class_b_total, "class_b_total");
    CHECK_EQ(got->class_c_total, want->class_c_total, "class_c_total");
    CHECK_EQ(got->fund_total, want->fund_total, "fund_total");
    CHECK_EQ(got->patient_pays, want->patient_pays, "patient_pays");
    CHECK_EQ(got->year, want->year, "year");
    CHECK_EQ(got->fund_count, want->fund_count, "fund_count");
    for (uint32_t i = 0; i < want->fund_count; i++) {
        const struct sh_fund_result *g = &got->funds[i], *x = &want->funds[i];
        CHECK(strcmp(g->fund, x->fund) == 0, "fund %u: %s, want %s", i, g->fund, x->fund);
        CHECK_EQ(g->pay, x->pay, x->fund);
        CHECK_EQ(g->deductible, x->deductible, x->fund);
        CHECK_EQ(g->reason, x->reason, x->fund);
        CHECK_EQ(g->applied, x->applied, x->fund);
        CHECK_EQ(g->payable, x->payable, x->fund);
        CHECK_EQ(g->deductible_met, x->deductible_met, x->fund);
        CHECK(strcmp(g->category, x->category) == 0, "%s: category %s, want %s", x->fund,
              g->category, x->category);
        CHECK(strcmp(g->cap_group, x->cap_group) == 0, "%s: cap_group %s, want %s", x->fund,
              g->cap_group, x->cap_group);
    }
}

/* The rule a fund paid under, found from the breakdown itself. */
static const struct sh_rule *rule_paid_under(const struct sh_fund *f,
                                             const struct sh_fund_result *r, int visit)
{
    for (uint32_t k = 0; k < f->ruleset_count; k++) {
        const struct sh_ruleset *rs = &f->rulesets[k];
        if (f->kind == SH_FUND_INSURANCE || strcmp(rs->category, r->category) == 0)
            return sh_ruleset_rule(rs, visit);
    }
    return NULL;
}

static void expect_invariants(const struct pclaim *pc, const struct sh_breakdown *b)
{
    CHECK_EQ(b->total, b->out_of_scope + b->over_limit + b->pre_selfpay + b->in_scope,
             "total = out_of_scope + over_limit + pre_selfpay + in_scope");
    CHECK_EQ(b->total, b->fund_total + b->patient_pays, "total = fund_total + patient_pays");
    CHECK(b->patient_pays >= b->out_of_scope + b->over_limit + b->pre_selfpay, "patient_pays %lld",
          (long long)b->patient_pays);
    CHECK_EQ(b->total, b->class_a_total + b->class_b_total + b->class_c_total,
             "total = class_a_total + class_b_total + class_c_total");
    CHECK(b->class_a_total >= 0 && b->class_b_total >= 0 && b->class_c_total >= 0,
          "class totals %lld %lld %lld", (long long)b->class_a_total, (long long)b->class_b_total,
          (long long)b->class_c_total);
    CHECK_EQ(b->class_c_total, b->out_of_scope, "class_c_total = out_of_scope");
    sh_fen paid = 0;
    for (uint32_t i = 0; i < b->fund_count; i++) {
        const struct sh_fund_result *r = &b->funds[i];
        sh_fen base = b->in_scope - paid;
        CHECK(r->pay >= 0 && r->pay <= base, "%s: pay %lld, base %lld", r->fund, (long long)r->pay,
              (long long)base);
        CHECK(r->deductible >= 0 && r->deductible <= base, "%s: deductible", r->fund);
        if (!r->applied) {
            CHECK(r->pay == 0 && r->deductible == 0 && r->payable == 0 && r->deductible_met == 0 &&
                      r->reason >= SH_REASON_NOT_DESIGNATED && r->reason <= SH_REASON_NO_RULE,
                  "%s: a fund that did not apply changed something", r->fund);
        } else {
            const struct sh_rule *rule = rule_paid_under(&W.policy.funds[i], r, pc->claim.visit);
            CHECK(rule != NULL, "%s: applied without a rule", r->fund);
            CHECK(r->payable + r->deductible == base, "%s: payable + ded != base", r->fund);
            const struct sh_acc *acc = table_find(&table[pc->person], r->fund, r->cap_group);
            sh_fen acc_paid = acc != NULL ? acc->paid : 0;
            if (rule->annual_cap != SH_NO_CAP && acc_paid >= rule->annual_cap)
                CHECK(r->pay == 0, "%s: pays %lld past its annual cap", r->fund, (long long)r->pay);
            if (rule->annual_cap != SH_NO_CAP && acc_paid < rule->annual_cap)
                CHECK(acc_paid + r->pay <= rule->annual_cap, "%s: takes paid above the cap",
                      r->fund);
            if (rule->claim_cap != SH_NO_CAP)
                CHECK(r->pay <= rule->claim_cap, "%s: over its claim cap", r->fund);
        }
        paid += r->pay;
    }
    CHECK_EQ(paid, b->fund_total, "fund_total = Σ pay");
}

/* ---- One claim, one round ---------------------------------------------------------------- */

static void log_claim(const struct pclaim *pc, const struct sh_breakdown *b, struct claim_log *lg)
{
    memset(lg, 0, sizeof *lg);
    lg->person = pc->person;
    for (uint32_t i = 0; i < b->fund_count; i++) {
        const struct sh_fund_result *r = &b->funds[i];
        if (!r->applied)
            continue;
        struct sh_acc *d = &lg->delta[lg->count++];
        set_id(d->fund, sizeof d->fund, r->fund);
        set_id(d->cap_group, sizeof d->cap_group, r->cap_group);
        d->paid = r->pay;
        d->payable = r->payable;
        d->deductible_met = r->deductible_met;
    }
}

static unsigned long settled_count, refused_count, reversed_count, capped_count, faulty_count;

static void one_claim(void)
{
    struct pclaim pc;
    gen_claim(&pc);
    const struct sh_person *person = &W.persons[pc.person];
    struct acc_table *t = &table[pc.person];
    struct acc_table before = *t;
    struct sh_rules_input in = {
        .claim = &pc.claim,
        .hospital = pc.hospital,
        .person = person,
        .policy = &W.policy,
        .items = pc.items,
        .accs = t->accs,
        .acc_count = t->count,
    };
    struct sh_breakdown got, want;
    struct sh_error err;
    int rc = sh_rules_settle(&in, &got, &err);
    if (person->died != 0 && pc.claim.date > person->died) {
        CHECK_EQ(rc, SH_E_PERSON_DECEASED, "a deceased person's claim");
        refused_count++;
        return;
    }
    CHECK(rc == 0, "refused: %s %s", sh_error_name(rc), err.msg);
    ref_settle(&pc, &want);
    expect_same(&got, &want);
    expect_invariants(&pc, &got);
    for (uint32_t i = 0; i < got.fund_count; i++)
        capped_count += got.funds[i].reason == SH_REASON_ANNUAL_CAP;

    struct claim_log *lg = &logs[log_count++];
    log_claim(&pc, &got, lg);
    table_apply(t, lg, +1);
    settled_count++;

    /* Reversed at once: exactly as before. */
    if (rng_chance(5)) {
        table_apply(t, lg, -1);
        lg->reversed = true;
        reversed_count++;
        table_expect_equal(t, &before, "settle then reverse");
    }
}

/* A claim with one or more faults of docs/rules.md's refusal table: the first in
 * the table's order answers, and nothing is committed. */
static void faulty_claim(void)
{
    struct pclaim pc;
    gen_claim(&pc);
    const struct sh_person *person = &W.persons[pc.person];
    struct sh_rules_input in = {
        .claim = &pc.claim,
        .hospital = pc.hospital,
        .person = person,
        .policy = &W.policy,
        .items = pc.items,
        .accs = table[pc.person].accs,
        .acc_count = table[pc.person].count,
    };
    bool bad_claim = false, bad_id = false;
    if (rng_chance(30)) {
        bad_claim = true;
        uint32_t k = (uint32_t)rng_range(0, pc.claim.line_count - 1);
        switch (rng_range(0, 7)) {
        case 0:
            pc.lines[k].amount = 0;
            break;
        case 1:
            pc.lines[k].amount = SH_AMOUNT_MAX + 1;
            break;
        case 2:
            pc.lines[k].qty_milli = rng_chance(50) ? 0 : -rng_range(1, 5000);
            break;
        case 3:
            pc.lines[k].defect = (uint8_t)rng_range(1, 3);
            break;
        case 4:
            pc.claim.visit = -1;
            break;
        case 5:
            pc.claim.date = 0;
            break;
        case 6:
            pc.claim.date = YEAR * 10000 + 230;
            break;
        default:
            pc.claim.line_count = 0;
            break;
        }
    }
    if (rng_chance(30)) {
        bad_id = true;
        char *last = &pc.claim.person[SH_PERSON_ID_LEN - 1];
        *last = *last == '0' ? '1' : '0'; /* one check digit wrong */
        if (sh_person_id_valid(pc.claim.person))
            *last = 'Y';
    }
    if (rng_chance(30))
        in.hospital = NULL;
    if (rng_chance(30))
        in.person = NULL;
    if (rng_chance(30))
        in.policy = NULL;
    if (rng_chance(30) && pc.claim.line_count > 0)
        pc.items[rng_range(0, pc.claim.line_count - 1)] = NULL;

    int want = 0;
    bool dead = person->died != 0 && pc.claim.date > person->died;
    bool unknown_item = false;
    for (uint32_t i = 0; i < pc.claim.line_count; i++)
        unknown_item |= pc.items[i] == NULL;
    if (bad_claim)
        want = SH_E_BAD_CLAIM;
    else if (bad_id)
        want = SH_E_BAD_PERSON_ID;
    else if (in.hospital == NULL)
        want = SH_E_UNKNOWN_HOSPITAL;
    else if (in.person == NULL)
        want = SH_E_UNKNOWN_PERSON;
    else if (dead)
        want = SH_E_PERSON_DECEASED;
    else if (in.policy == NULL)
        want = SH_E_NO_POLICY;
    else if (unknown_item)
        want = SH_E_UNKNOWN_ITEM;
    if (want == 0)
        return; /* no fault drawn: an ordinary claim, checked elsewhere */
    struct sh_breakdown out;
    struct sh_error err = {0};
    int rc = sh_rules_settle(&in, &out, &err);
    CHECK(rc == want, "refused with %s (%s), want %s", sh_error_name(rc), err.msg,
          sh_error_name(want));
    CHECK(err.code == want && err.msg[0] != '\0', "the error names no place");
    faulty_count++;
}

/* Reverses one earlier claim of this round still standing. */
static void reverse_one(void)
{
    if (log_count == 0)
        return;
    struct claim_log *lg = &logs[rng_range(0, log_count - 1)];
    if (lg->reversed)
        return;
    table_apply(&table[lg->person], lg, -1);
    lg->reversed = true;
    reversed_count++;
}

/* The table is what the claims still standing add up to. */
static void expect_table_recomputes(void)
{
    static struct acc_table fresh[N_PERSONS];
    memset(fresh, 0, sizeof fresh);
    for (uint32_t i = 0; i < log_count; i++)
        if (!logs[i].reversed)
            table_apply(&fresh[logs[i].person], &logs[i], +1);
    for (uint32_t p = 0; p < N_PERSONS; p++)
        table_expect_equal(&table[p], &fresh[p], "recomputed without the reversed claims");
}

static void random_claims(void **state)
{
    (void)state;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (cur_round = 0; cur_round < ROUNDS; cur_round++) {
        gen_world();
        memset(table, 0, sizeof table);
        log_count = 0;
        for (cur_claim = 0; cur_claim < CLAIMS_PER_ROUND; cur_claim++) {
            if (rng_chance(10))
                reverse_one();
            if (rng_chance(3))
                faulty_claim();
            one_claim();
        }
        expect_table_recomputes();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%lu claims settled, %lu refused (deceased), %lu reversed, %lu annual-cap cuts, "
           "%lu faulty claims refused in order, %.2f s\n",
           settled_count, refused_count, reversed_count, capped_count, faulty_count, s);
    CHECK(settled_count + refused_count == (unsigned long)ROUNDS * CLAIMS_PER_ROUND,
          "claims counted");
    CHECK(settled_count >= 50000, "at least 50,000 settled claims");
}

int main(void)
{
    const char *env = getenv("SANHE_SEED");
    if (env != NULL && *env != '\0') {
        char *end;
        seed = strtoull(env, &end, 0);
        if (*end != '\0') {
            fprintf(stderr, "SANHE_SEED=%s is not a number\n", env);
            return 2;
        }
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
    }
    rng_state = seed;
    /* SANHE_SEED_KIND: how ctest chose it (tests/CMakeLists.txt). */
    const char *kind = getenv("SANHE_SEED_KIND");
    printf("SANHE_SEED=%" PRIu64 " (%s)\n", seed,
           kind != NULL && *kind != '\0' ? kind
                                         : (env != NULL && *env != '\0' ? "given" : "fresh"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_claims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
