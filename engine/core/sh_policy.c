#include "sh_policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sh_date.h"

const struct sh_rule *sh_ruleset_rule(const struct sh_ruleset *ruleset, int visit)
{
    if (ruleset == NULL || visit < 0 || visit >= SH_VISIT_COUNT || !ruleset->visit[visit].present)
        return NULL;
    return &ruleset->visit[visit];
}

const struct sh_policy *sh_policy_find(const struct sh_policy *const *policies, size_t count,
                                       const char *region, uint32_t date)
{
    for (size_t i = 0; i < count; i++) {
        const struct sh_policy *p = policies[i];
        if (strcmp(p->region, region) == 0 && p->effective_from <= date && date <= p->effective_to)
            return p;
    }
    return NULL;
}

/* ---- Validation -------------------------------------------------------------
 * Messages name the place as a path with the fund's id,
 * "funds[2] (assist).rules.dibao.inpatient.bands[1]: upto ...", so that an
 * operator finds the value in the document. */

static const char *const visit_label[SH_VISIT_COUNT] = {"outpatient", "chronic", "inpatient"};
static const char *const level_label[SH_LEVEL_COUNT] = {"village", "township", "county",
                                                        "municipal", "provincial"};

/* Where a fault is: the fund and, when known, the ruleset and the visit. */
struct where {
    size_t fund;          /* index */
    const char *fund_id;  /* NULL: the policy's own fields */
    const char *category; /* NULL: the fund's own fields */
    int visit;            /* -1: the ruleset itself */
};

/* A fixed-size id field is usable only when it ends within its buffer. */
static bool terminated(const char *s, size_t cap) { return memchr(s, '\0', cap) != NULL; }

static bool utf8_cont(unsigned char b) { return (b & 0xC0) == 0x80; }

__attribute__((format(printf, 3, 4))) static int fail(struct sh_error *err, const struct where *w,
                                                      const char *fmt, ...)
{
    char place[128] = "";
    char detail[SH_ERROR_MSG_MAX];
    char msg[SH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (w != NULL && w->fund_id != NULL && w->category == NULL)
        snprintf(place, sizeof place, "funds[%zu] (%s): ", w->fund, w->fund_id);
    else if (w != NULL && w->fund_id != NULL && w->visit < 0)
        snprintf(place, sizeof place, "funds[%zu] (%s).rules.%s: ", w->fund, w->fund_id,
                 w->category);
    else if (w != NULL && w->fund_id != NULL)
        snprintf(place, sizeof place, "funds[%zu] (%s).rules.%s.%s.", w->fund, w->fund_id,
                 w->category, visit_label[w->visit]);
    int n = snprintf(msg, sizeof msg, "%s%s", place, detail);
    /* Cut, if at all, at a UTF-8 boundary: the message may become a JSON
     * or protobuf string, which must be valid UTF-8. */
    if (n >= (int)sizeof msg) {
        size_t keep = sizeof msg - 1;
        while (keep > 0 && utf8_cont((unsigned char)msg[keep]))
            keep--;
        msg[keep] = '\0';
    }
    return sh_error_set(err, SH_E_BAD_REFERENCE_DATA, "%s", msg);
}

static bool money_ok(sh_fen x) { return x >= 0 && x <= SH_MONEY_MAX; }

static bool cap_ok(sh_fen x) { return x == SH_NO_CAP || money_ok(x); }

static int validate_band(const struct sh_rule *rule, uint32_t j, const struct where *w,
                         struct sh_error *err)
{
    const struct sh_band *b = &rule->bands[j];
    bool last = j + 1 == rule->band_count;
    for (int l = 0; l < SH_LEVEL_COUNT; l++)
        if (b->ratio_bp[l] < 0 || b->ratio_bp[l] > 10000)
            return fail(err, w, "bands[%u].ratio_bp.%s: %d outside 0..10000 bp", j, level_label[l],
                        (int)b->ratio_bp[l]);
    if (last && b->upto != SH_UNBOUNDED)
        return fail(err, w,
                    "bands[%u]: the last band is bounded (upto %lld); its upto must be null", j,
                    (long long)b->upto);
    if (last)
        return 0;
    if (b->upto == SH_UNBOUNDED)
        return fail(err, w, "bands[%u]: an unbounded band (upto null) that is not the last", j);
    if (b->upto <= 0 || b->upto > SH_MONEY_MAX)
        return fail(err, w, "bands[%u]: upto %lld outside 1..%lld", j, (long long)b->upto,
                    (long long)SH_MONEY_MAX);
    if (j > 0 && b->upto <= rule->bands[j - 1].upto)
        return fail(err, w, "bands[%u]: upto %lld not above the previous %lld", j,
                    (long long)b->upto, (long long)rule->bands[j - 1].upto);
    return 0;
}

static int validate_rule(const struct sh_rule *rule, const struct where *w, struct sh_error *err)
{
    for (int l = 0; l < SH_LEVEL_COUNT; l++)
        if (!money_ok(rule->deductible[l]))
            return fail(err, w, "deductible.%s: %lld outside 0..%lld fen", level_label[l],
                        (long long)rule->deductible[l], (long long)SH_MONEY_MAX);
    if (!cap_ok(rule->claim_cap))
        return fail(err, w, "claim_cap: %lld outside 0..%lld fen", (long long)rule->claim_cap,
                    (long long)SH_MONEY_MAX);
    if (!cap_ok(rule->annual_cap))
        return fail(err, w, "annual_cap: %lld outside 0..%lld fen", (long long)rule->annual_cap,
                    (long long)SH_MONEY_MAX);
    if (!terminated(rule->cap_group, sizeof rule->cap_group) || rule->cap_group[0] == '\0')
        return fail(err, w, "cap_group: empty or unterminated");
    if (rule->band_count == 0)
        return fail(err, w, "bands: no band");
    if (rule->band_count > SH_BANDS_MAX)
        return fail(err, w, "bands: %u, more than the limit of %d", rule->band_count, SH_BANDS_MAX);
    for (uint32_t j = 0; j < rule->band_count; j++) {
        int rc = validate_band(rule, j, w, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int validate_ruleset(const struct sh_fund *fund, uint32_t k, struct where *w,
                            struct sh_error *err)
{
    const struct sh_ruleset *rs = &fund->rulesets[k];
    if (!terminated(rs->category, sizeof rs->category) || rs->category[0] == '\0')
        return fail(err, w, "rules: category %u has an empty or unterminated name", k);
    for (uint32_t i = 0; i < k; i++)
        if (strcmp(fund->rulesets[i].category, rs->category) == 0)
            return fail(err, w, "rules: category \"%s\" given twice", rs->category);
    w->category = rs->category;
    for (int v = 0; v < SH_VISIT_COUNT; v++) {
        if (!rs->visit[v].present)
            continue;
        w->visit = v;
        int rc = validate_rule(&rs->visit[v], w, err);
        if (rc < 0)
            return rc;
    }
    w->category = NULL;
    w->visit = -1;
    return 0;
}

static int validate_fund_kind(const struct sh_fund *fund, const struct where *w,
                              struct sh_error *err)
{
    if (fund->kind != SH_FUND_INSURANCE && fund->kind != SH_FUND_CATEGORY)
        return fail(err, w, "kind %d is neither insurance nor category", (int)fund->kind);
    if (fund->ruleset_count == 0)
        return fail(err, w, "rules: empty");
    if (fund->ruleset_count > SH_FUND_RULESETS_MAX)
        return fail(err, w, "rules: %u categories, more than the limit of %d", fund->ruleset_count,
                    SH_FUND_RULESETS_MAX);
    /* An insurance fund applies to every enrolled person: one ruleset. */
    if (fund->kind == SH_FUND_INSURANCE &&
        (fund->ruleset_count != 1 || strcmp(fund->rulesets[0].category, "default") != 0))
        return fail(err, w, "rules: an insurance fund has exactly one key, \"default\"");
    return 0;
}

static int validate_fund(const struct sh_policy *p, uint32_t i, struct sh_error *err)
{
    const struct sh_fund *fund = &p->funds[i];
    struct where w = {i, fund->id, NULL, -1};
    if (!terminated(fund->id, sizeof fund->id) || fund->id[0] == '\0')
        return fail(err, NULL, "funds[%u]: empty or unterminated id", i);
    if (!terminated(fund->name, sizeof fund->name))
        return fail(err, &w, "name: unterminated");
    for (uint32_t k = 0; k < i; k++)
        if (strcmp(p->funds[k].id, fund->id) == 0)
            return fail(err, &w, "id \"%s\" is also the id of funds[%u]", fund->id, k);
    int rc = validate_fund_kind(fund, &w, err);
    for (uint32_t k = 0; rc == 0 && k < fund->ruleset_count; k++)
        rc = validate_ruleset(fund, k, &w, err);
    return rc;
}

static int validate_header(const struct sh_policy *p, struct sh_error *err)
{
    if (!terminated(p->region, sizeof p->region) || p->region[0] == '\0')
        return fail(err, NULL, "region: empty or unterminated");
    if (!terminated(p->name, sizeof p->name))
        return fail(err, NULL, "name: unterminated");
    if (!sh_date_valid(p->effective_from))
        return fail(err, NULL, "effective_from: %u is not a valid date", p->effective_from);
    if (!sh_date_valid(p->effective_to))
        return fail(err, NULL, "effective_to: %u is not a valid date", p->effective_to);
    char from[SH_DATE_STR_LEN], to[SH_DATE_STR_LEN];
    sh_date_format(p->effective_from, from);
    sh_date_format(p->effective_to, to);
    if (p->effective_from > p->effective_to)
        return fail(err, NULL, "effective_from %s is after effective_to %s", from, to);
    /* The accumulator year is the calendar year of the settlement date
     * (docs/rules.md: a cross-year stay is settled under the year it is settled
     * in), so a policy's whole period lies in its year. */
    if (sh_date_year(p->effective_from) != p->year || sh_date_year(p->effective_to) != p->year)
        return fail(err, NULL, "year %d: the period %s..%s is not within that year", (int)p->year,
                    from, to);
    if (p->class_b_selfpay_bp < 0 || p->class_b_selfpay_bp > 10000)
        return fail(err, NULL, "class_b_selfpay_bp: %d outside 0..10000 bp",
                    (int)p->class_b_selfpay_bp);
    if (p->rounding_unit != 1 && p->rounding_unit != 10 && p->rounding_unit != 100)
        return fail(err, NULL, "rounding: unit %lld fen is not 1, 10 or 100",
                    (long long)p->rounding_unit);
    if (p->fund_count == 0)
        return fail(err, NULL, "funds: no fund");
    if (p->fund_count > SH_FUNDS_MAX)
        return fail(err, NULL, "funds: %u, more than the limit of %d", p->fund_count, SH_FUNDS_MAX);
    return 0;
}

int sh_policy_validate(const struct sh_policy *policy, struct sh_error *err)
{
    int rc = validate_header(policy, err);
    for (uint32_t i = 0; rc == 0 && i < policy->fund_count; i++)
        rc = validate_fund(policy, i, err);
    return rc;
}

bool sh_policy_overlaps(const struct sh_policy *a, const struct sh_policy *b)
{
    return strcmp(a->region, b->region) == 0 && a->effective_from <= b->effective_to &&
           b->effective_from <= a->effective_to;
}

/* "policies[1] (region 330424, year 2026, 2026-01-01..2026-12-31)" */
static void describe(const struct sh_policy *p, size_t i, char *out, size_t cap)
{
    char from[SH_DATE_STR_LEN], to[SH_DATE_STR_LEN];
    sh_date_format(p->effective_from, from);
    sh_date_format(p->effective_to, to);
    snprintf(out, cap, "policies[%zu] (region %s, year %d, %s..%s)", i, p->region, (int)p->year,
             from, to);
}

int sh_policy_set_validate(const struct sh_policy *const *policies, size_t count,
                           struct sh_error *err)
{
    for (size_t i = 0; i < count; i++) {
        int rc = sh_policy_validate(policies[i], err);
        if (rc < 0) {
            char inner[SH_ERROR_MSG_MAX];
            memcpy(inner, err != NULL ? err->msg : "", err != NULL ? sizeof inner : 1);
            return fail(err, NULL, "policies[%zu]: %s", i, inner);
        }
    }
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (!sh_policy_overlaps(policies[j], policies[i]))
                continue;
            char a[128], b[128];
            describe(policies[j], j, a, sizeof a);
            describe(policies[i], i, b, sizeof b);
            return fail(err, NULL, "%s and %s overlap: one region, one day in force", a, b);
        }
    }
    return 0;
}
