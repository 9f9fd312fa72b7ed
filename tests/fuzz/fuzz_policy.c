/*
 * fuzz_policy: arbitrary bytes as a policy document (what an admin sends in
 * LoadRequest.policies_json) through sh_policy_from_text, the parser and
 * validator the Load uses. A refused document must say why with
 * BAD_REFERENCE_DATA; an accepted one is then settled against: at every
 * hospital level, for every visit type, a person enrolled in the policy's
 * year holding the first category of every category fund settles the same
 * claim three times in a row, the accumulators carried from one to the
 * next. Each breakdown must keep docs/rules.md's invariants, and a fund that
 * pays must not take its accumulator past the annual cap of its rule: the
 * rules core must hold for any policy the loader lets in, not only for the
 * ones in tests/policies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sh_json.h"
#include "sh_rules.h"

#define CLAIMS_IN_A_ROW 3

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* ---- The world the claims are settled in ------------------------------------------------ */

struct world {
    struct sh_hospital hospital;
    struct sh_person person;
    struct sh_item items[4];
    const struct sh_item *item_ptrs[4];
    struct sh_line lines[4];
    struct sh_claim claim;
    struct sh_acc accs[SH_FUNDS_MAX];
    uint32_t acc_count;
};

static void world_person(struct world *w, const struct sh_policy *p)
{
    struct sh_person *person = &w->person;
    memcpy(person->id, "330424194502020026", SH_PERSON_ID_LEN + 1);
    snprintf(person->region, sizeof person->region, "%s", p->region);
    person->enrolled_count = 1;
    person->enrolled[0] = p->year;
    for (uint32_t i = 0; i < p->fund_count && person->category_count < SH_PERSON_CATS_MAX; i++) {
        const struct sh_fund *f = &p->funds[i];
        if (f->kind != SH_FUND_CATEGORY || f->ruleset_count == 0)
            continue;
        struct sh_person_category *c = &person->categories[person->category_count++];
        memcpy(c->fund, f->id, sizeof c->fund);
        memcpy(c->category, f->rulesets[0].category, sizeof c->category);
        c->from = p->effective_from;
    }
}

static void world_item(struct world *w, int i, const char *code, char cls, int32_t selfpay,
                       sh_fen cap, int64_t qty_milli, sh_fen amount)
{
    snprintf(w->items[i].code, sizeof w->items[i].code, "%s", code);
    w->items[i].cls = (enum sh_item_class)cls;
    w->items[i].selfpay_bp = selfpay;
    w->items[i].price_cap = cap;
    w->item_ptrs[i] = &w->items[i];
    snprintf(w->lines[i].code, sizeof w->lines[i].code, "%s", code);
    w->lines[i].qty_milli = qty_milli;
    w->lines[i].amount = amount;
}

static void world_init(struct world *w, const struct sh_policy *p, int level, int visit)
{
    memset(w, 0, sizeof *w);
    snprintf(w->hospital.code, sizeof w->hospital.code, "H000000001");
    snprintf(w->hospital.region, sizeof w->hospital.region, "%s", p->region);
    w->hospital.level = (enum sh_level)level;
    for (uint32_t i = 0; i < p->fund_count && i < SH_FUNDS_MAX; i++)
        memcpy(w->hospital.funds[w->hospital.fund_count++], p->funds[i].id, SH_ID_MAX);
    world_person(w, p);
    /* Every kind of line: capped A, policy-share B, own-share capped B, C. */
    world_item(w, 0, "A001", 'A', SH_SELFPAY_POLICY, 1200, 20500, 30000);
    world_item(w, 1, "B001", 'B', SH_SELFPAY_POLICY, SH_NO_CAP, 3000, 4500000);
    world_item(w, 2, "B002", 'B', 3000, 800000, 1000, 900000);
    world_item(w, 3, "C001", 'C', SH_SELFPAY_POLICY, SH_NO_CAP, 1000, 120000);
    snprintf(w->claim.hospital, sizeof w->claim.hospital, "%s", w->hospital.code);
    memcpy(w->claim.person, w->person.id, SH_PERSON_ID_LEN + 1);
    w->claim.visit = visit;
    w->claim.date = p->effective_from;
    w->claim.line_count = 4;
    w->claim.lines = w->lines;
}

/* ---- Accumulators ------------------------------------------------------------------------- */

static struct sh_acc *acc_get(struct world *w, const char *fund, const char *group)
{
    for (uint32_t i = 0; i < w->acc_count; i++)
        if (strcmp(w->accs[i].fund, fund) == 0 && strcmp(w->accs[i].cap_group, group) == 0)
            return &w->accs[i];
    if (w->acc_count == SH_FUNDS_MAX)
        fuzz_fail("more accumulators than funds");
    struct sh_acc *a = &w->accs[w->acc_count++];
    memcpy(a->fund, fund, sizeof a->fund);
    memcpy(a->cap_group, group, sizeof a->cap_group);
    return a;
}

/* The rule the fund paid under (it applied, so there is one). */
static const struct sh_rule *rule_used(const struct sh_policy *p, const struct world *w,
                                       uint32_t fund)
{
    const struct sh_ruleset *rs =
        sh_fund_ruleset_for(p, &p->funds[fund], &w->person, w->claim.date);
    if (rs == NULL || !rs->visit[w->claim.visit].present)
        fuzz_fail("fund %s applied without a rule", p->funds[fund].id);
    return &rs->visit[w->claim.visit];
}

/* Commits the breakdown's deltas; a paying fund stays within its annual cap. */
static void acc_commit(struct world *w, const struct sh_policy *p, const struct sh_breakdown *b)
{
    for (uint32_t i = 0; i < b->fund_count; i++) {
        const struct sh_fund_result *f = &b->funds[i];
        if (!f->applied)
            continue;
        struct sh_acc *a = acc_get(w, f->fund, f->cap_group);
        a->paid += f->pay;
        a->payable += f->payable;
        a->deductible_met += f->deductible_met;
        const struct sh_rule *r = rule_used(p, w, i);
        if (f->pay > 0 && r->annual_cap != SH_NO_CAP && a->paid > r->annual_cap)
            fuzz_fail("fund %s took paid to %lld, past its annual cap %lld", f->fund,
                      (long long)a->paid, (long long)r->annual_cap);
    }
}

/* ---- Checks -------------------------------------------------------------------------------- */

static void check_breakdown(const struct sh_breakdown *b, const struct sh_policy *p)
{
    if (b->total != b->out_of_scope + b->over_limit + b->pre_selfpay + b->in_scope ||
        b->total != b->fund_total + b->patient_pays)
        fuzz_fail("the breakdown does not add up");
    if (b->patient_pays < b->out_of_scope + b->over_limit + b->pre_selfpay)
        fuzz_fail("the funds paid more than the in-scope amount");
    if (b->fund_count != p->fund_count)
        fuzz_fail("%u fund results for %u funds", b->fund_count, p->fund_count);
    sh_fen sum = 0, base = b->in_scope;
    for (uint32_t i = 0; i < b->fund_count; i++) {
        const struct sh_fund_result *f = &b->funds[i];
        if (f->pay < 0 || f->pay > base || f->deductible < 0 || f->payable < 0)
            fuzz_fail("fund %s: pay %lld outside 0..%lld", f->fund, (long long)f->pay,
                      (long long)base);
        base -= f->pay;
        sum += f->pay;
    }
    if (sum != b->fund_total)
        fuzz_fail("fund_total is not the sum of the funds' pay");
}

static void settle_in_a_row(const struct sh_policy *p, int level, int visit)
{
    static struct world w; /* large: not on the stack */
    world_init(&w, p, level, visit);
    for (int n = 0; n < CLAIMS_IN_A_ROW; n++) {
        struct sh_rules_input in = {.claim = &w.claim,
                                    .hospital = &w.hospital,
                                    .person = &w.person,
                                    .policy = p,
                                    .items = w.item_ptrs,
                                    .accs = w.accs,
                                    .acc_count = w.acc_count};
        struct sh_breakdown b;
        struct sh_error err = {0};
        if (sh_rules_settle(&in, &b, &err) != 0)
            fuzz_fail("an accepted policy cannot settle: %s", err.msg);
        check_breakdown(&b, p);
        acc_commit(&w, p, &b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sh_policy policy;
    struct sh_error err = {0};
    int rc = sh_policy_from_text((const char *)data, size, &policy, &err);
    if (getenv("SANHE_FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "policy: %s\n", rc == 0 ? "accepted" : err.msg);
    if (rc != 0) {
        if (err.code != SH_E_BAD_REFERENCE_DATA && err.code != SH_E_INTERNAL)
            fuzz_fail("a refused policy says %s", sh_error_name(err.code));
        if (err.msg[0] == '\0')
            fuzz_fail("a refused policy without a reason");
        return 0;
    }
    for (int level = 0; level < SH_LEVEL_COUNT; level++)
        for (int visit = 0; visit < SH_VISIT_COUNT; visit++)
            settle_in_a_row(&policy, level, visit);
    return 0;
}
