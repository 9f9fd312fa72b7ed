/*
 * The rules core: docs/rules.md, step by step. Integer fen only.
 *
 * Bounds that keep every product inside int64 (proved here, asserted below):
 * a checked claim has at most 10^4 lines of at most 10^10 fen, so every
 * total, and so every fund's base and payable, is at most 10^14; a ratio is
 * at most 10^4 bp, so a rounding numerator is at most 10^18 < 2^63.
 * Accumulators come from storage and are clamped to [0, 2^62] on the way in
 * (see acc_clamp), which changes no result: every threshold they are compared
 * with (caps, deductibles, band bounds) is at most 10^15 or unbounded.
 */
#include "sh_rules.h"

#include <assert.h>
#include <string.h>

#include "sh_date.h"
#include "sh_person_id.h"
#include "sh_policy.h"

#define SH_BP_ONE 10000
#define SH_TOTAL_MAX (SH_AMOUNT_MAX * SH_CLAIM_LINES_MAX) /* 10^14 */
#define SH_ACC_MAX (INT64_C(1) << 62)

/* ---- Names ------------------------------------------------------------------- */

static const char *const reason_names[SH_REASON_COUNT] = {
    NULL, "not_designated", "not_enrolled", "no_category", "no_rule", "claim_cap", "annual_cap",
};
static const char *const visit_names[SH_VISIT_COUNT] = {"outpatient", "chronic", "inpatient"};
static const char *const level_names[SH_LEVEL_COUNT] = {"village", "township", "county",
                                                        "municipal", "provincial"};

const char *sh_reason_name(enum sh_reason reason)
{
    return (unsigned)reason < SH_REASON_COUNT ? reason_names[reason] : NULL;
}

const char *sh_visit_name(enum sh_visit visit)
{
    return (unsigned)visit < SH_VISIT_COUNT ? visit_names[visit] : NULL;
}

const char *sh_level_name(enum sh_level level)
{
    return (unsigned)level < SH_LEVEL_COUNT ? level_names[level] : NULL;
}

static int name_index(const char *const *names, int count, const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int sh_visit_parse(const char *name) { return name_index(visit_names, SH_VISIT_COUNT, name); }

int sh_level_parse(const char *name) { return name_index(level_names, SH_LEVEL_COUNT, name); }

/* ---- Arithmetic ------------------------------------------------------------------ */

/* docs/rules.md's rnd(n, d): half-up rounding of the non-negative n/d. */
static sh_fen rnd(sh_fen n, sh_fen d)
{
    assert(n >= 0 && d > 0 && d % 2 == 0);
    assert(n <= INT64_MAX - d / 2);
    return (n + d / 2) / d;
}

static sh_fen min_fen(sh_fen a, sh_fen b) { return a < b ? a : b; }

static sh_fen max_fen(sh_fen a, sh_fen b) { return a > b ? a : b; }

/* ---- Checks -------------------------------------------------------------------- */

/* Line codes come from the client: print at most the buffer, never past it. */
#define LINE_FMT "line %u (code %.*s): "
#define LINE_ARGS(i, line) (unsigned)((i) + 1), (int)strnlen((line)->code, SH_ID_MAX), (line)->code
/* The same two, as a detail's first arguments (sh_error_detail). */
#define LINE_DFMT "%u" SH_DETAIL_SEP "%.*s"

/* A line's refusal with a detail of the line's number and code. */
static int line_detail(struct sh_error *err, enum sh_detail detail, uint32_t i,
                       const struct sh_line *line)
{
    return sh_error_detail(err, detail, LINE_DFMT, LINE_ARGS(i, line));
}

static int check_line(uint32_t i, const struct sh_line *line, struct sh_error *err)
{
    switch (line->defect) {
    case SH_LINE_OK:
        break;
    case SH_LINE_AMOUNT_NOT_INTEGER:
        sh_error_set(err, SH_E_BAD_CLAIM, LINE_FMT "amount is not a whole number of fen",
                     LINE_ARGS(i, line));
        return line_detail(err, SH_D_LINE_AMOUNT_FRACTION, i, line);
    case SH_LINE_QTY_TOO_PRECISE:
        sh_error_set(err, SH_E_BAD_CLAIM, LINE_FMT "qty has more than 3 decimals",
                     LINE_ARGS(i, line));
        return line_detail(err, SH_D_LINE_QTY_PRECISION, i, line);
    default:
        sh_error_set(err, SH_E_BAD_CLAIM,
                     LINE_FMT "qty or amount is missing, not a number or out of range",
                     LINE_ARGS(i, line));
        return line_detail(err, SH_D_LINE_NOT_A_NUMBER, i, line);
    }
    if (line->amount <= 0) {
        sh_error_set(err, SH_E_BAD_CLAIM, LINE_FMT "amount %lld must be > 0", LINE_ARGS(i, line),
                     (long long)line->amount);
        return sh_error_detail(err, SH_D_LINE_AMOUNT_NOT_POSITIVE, LINE_DFMT SH_DETAIL_SEP "%lld",
                               LINE_ARGS(i, line), (long long)line->amount);
    }
    if (line->amount > SH_AMOUNT_MAX) {
        sh_error_set(err, SH_E_BAD_CLAIM, LINE_FMT "amount %lld over the limit of %lld fen",
                     LINE_ARGS(i, line), (long long)line->amount, (long long)SH_AMOUNT_MAX);
        return sh_error_detail(
            err, SH_D_LINE_AMOUNT_OVER_LIMIT, LINE_DFMT SH_DETAIL_SEP "%lld" SH_DETAIL_SEP "%lld",
            LINE_ARGS(i, line), (long long)line->amount, (long long)SH_AMOUNT_MAX);
    }
    if (line->qty_milli <= 0) {
        /* Thousandths shown as the decimal the client sent. */
        unsigned long long mag =
            line->qty_milli < 0 ? 0ULL - (unsigned long long)line->qty_milli : 0ULL;
        sh_error_set(err, SH_E_BAD_CLAIM, LINE_FMT "qty %s%llu.%03llu must be > 0",
                     LINE_ARGS(i, line), line->qty_milli < 0 ? "-" : "", mag / 1000, mag % 1000);
        return sh_error_detail(err, SH_D_LINE_QTY_NOT_POSITIVE,
                               LINE_DFMT SH_DETAIL_SEP "%s%llu.%03llu", LINE_ARGS(i, line),
                               line->qty_milli < 0 ? "-" : "", mag / 1000, mag % 1000);
    }
    return 0;
}

static int check_bad_claim(const struct sh_claim *claim, struct sh_error *err)
{
    if (claim->line_count == 0) {
        sh_error_set(err, SH_E_BAD_CLAIM, "lines: the claim has no line");
        return sh_error_detail(err, SH_D_CLAIM_NO_LINES, "%s", "");
    }
    if (claim->line_count > SH_CLAIM_LINES_MAX) {
        sh_error_set(err, SH_E_BAD_CLAIM, "lines: %u, more than the limit of %d", claim->line_count,
                     SH_CLAIM_LINES_MAX);
        return sh_error_detail(err, SH_D_CLAIM_TOO_MANY_LINES, "%u" SH_DETAIL_SEP "%d",
                               claim->line_count, SH_CLAIM_LINES_MAX);
    }
    if (claim->lines == NULL)
        return sh_error_set(err, SH_E_BAD_CLAIM, "lines: missing");
    if (claim->visit < 0 || claim->visit >= SH_VISIT_COUNT) {
        sh_error_set(err, SH_E_BAD_CLAIM,
                     "visit: not a visit type (outpatient, chronic, inpatient)");
        return sh_error_detail(err, SH_D_CLAIM_VISIT, "%s", "");
    }
    if (!sh_date_valid(claim->date)) {
        sh_error_set(err, SH_E_BAD_CLAIM, "date: missing or not a valid YYYY-MM-DD day");
        return sh_error_detail(err, SH_D_CLAIM_DATE, "%s", "");
    }
    for (uint32_t i = 0; i < claim->line_count; i++) {
        int rc = check_line(i, &claim->lines[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int check_person_id(const struct sh_claim *claim, struct sh_error *err)
{
    /* The buffer keeps one spare byte so that an over-long ID arrives here
     * whole enough to be refused; never read past it. */
    size_t len = strnlen(claim->person, sizeof claim->person);
    if (len != SH_PERSON_ID_LEN) {
        sh_error_set(err, SH_E_BAD_PERSON_ID, "person: the ID has %s%zu characters, not 18",
                     len == sizeof claim->person ? "over " : "",
                     len == sizeof claim->person ? len - 1 : len);
        return sh_error_detail(err, SH_D_PERSON_ID_LENGTH, "%s%zu",
                               len == sizeof claim->person ? ">" : "",
                               len == sizeof claim->person ? len - 1 : len);
    }
    if (!sh_person_id_valid(claim->person)) {
        char masked[SH_PERSON_ID_LEN + 1];
        sh_person_id_mask(claim->person, masked);
        sh_error_set(err, SH_E_BAD_PERSON_ID,
                     "person %s: not 17 digits and a check digit, or the check digit is wrong",
                     masked);
        return sh_error_detail(err, SH_D_PERSON_ID_CHECK, "%s", masked);
    }
    return 0;
}

int sh_rules_check_claim(const struct sh_claim *claim, struct sh_error *err)
{
    if (claim == NULL)
        return sh_error_set(err, SH_E_BAD_CLAIM, "no claim");
    int rc = check_bad_claim(claim, err);
    if (rc == 0)
        rc = check_person_id(claim, err);
    return rc;
}

/* UNKNOWN_HOSPITAL .. UNKNOWN_ITEM: what the caller's lookups found. */
static int check_refdata(const struct sh_rules_input *in, struct sh_error *err)
{
    const struct sh_claim *claim = in->claim;
    char masked[SH_PERSON_ID_LEN + 1];
    char day[SH_DATE_STR_LEN];
    if (in->hospital == NULL) {
        int n = (int)strnlen(claim->hospital, sizeof claim->hospital);
        sh_error_set(err, SH_E_UNKNOWN_HOSPITAL, "hospital %.*s: not in reference data", n,
                     claim->hospital);
        return sh_error_detail(err, SH_D_HOSPITAL_UNKNOWN, "%.*s", n, claim->hospital);
    }
    assert(strncmp(in->hospital->code, claim->hospital, SH_CODE_MAX) == 0);
    sh_person_id_mask(claim->person, masked);
    if (in->person == NULL) {
        sh_error_set(err, SH_E_UNKNOWN_PERSON, "person %s: not in reference data", masked);
        return sh_error_detail(err, SH_D_PERSON_UNKNOWN, "%s", masked);
    }
    assert(strncmp(in->person->id, claim->person, sizeof in->person->id) == 0);
    sh_date_format(claim->date, day);
    if (in->person->died != 0 && claim->date > in->person->died) {
        char died[SH_DATE_STR_LEN];
        sh_date_format(in->person->died, died);
        sh_error_set(err, SH_E_PERSON_DECEASED, "person %s: died %s, claim dated %s", masked, died,
                     day);
        return sh_error_detail(err, SH_D_PERSON_DIED, "%s" SH_DETAIL_SEP "%s" SH_DETAIL_SEP "%s",
                               masked, died, day);
    }
    /* The caller chose the policy; one not in force on the date or of
     * another region must never pay, so it counts as none. */
    const struct sh_policy *p = in->policy;
    if (p == NULL || claim->date < p->effective_from || claim->date > p->effective_to ||
        strncmp(p->region, in->person->region, SH_CODE_MAX) != 0) {
        int n = (int)strnlen(in->person->region, sizeof in->person->region);
        sh_error_set(err, SH_E_NO_POLICY, "no policy of region %.*s in force on %s", n,
                     in->person->region, day);
        return sh_error_detail(err, SH_D_NO_POLICY, "%.*s" SH_DETAIL_SEP "%s", n,
                               in->person->region, day);
    }
    for (uint32_t i = 0; i < claim->line_count; i++)
        if (in->items == NULL || in->items[i] == NULL) {
            sh_error_set(err, SH_E_UNKNOWN_ITEM, LINE_FMT "not in the catalog",
                         LINE_ARGS(i, &claim->lines[i]));
            return line_detail(err, SH_D_LINE_UNKNOWN_ITEM, i, &claim->lines[i]);
        }
    return 0;
}

/* ---- Step 1: the lines ------------------------------------------------------------ */

/* The most a line may cost under the item's price cap, or -1 for no bound:
 * rnd(qty × cap, 1000). A product past int64 is far above any amount. */
static sh_fen line_cap_amount(const struct sh_line *line, const struct sh_item *item)
{
    sh_fen n;
    if (item->price_cap < 0)
        return -1;
    if (__builtin_mul_overflow(line->qty_milli, item->price_cap, &n) || n > INT64_MAX - 500)
        return -1;
    return rnd(n, 1000);
}

void sh_rules_split(const struct sh_claim *claim, const struct sh_item *const *items,
                    int32_t class_b_selfpay_bp, struct sh_breakdown *out)
{
    sh_fen total = 0, out_of_scope = 0, over_limit = 0, pre_selfpay = 0, in_scope = 0;
    sh_fen class_a = 0, class_b = 0;
    assert(claim->line_count <= SH_CLAIM_LINES_MAX);
    assert(class_b_selfpay_bp >= 0 && class_b_selfpay_bp <= SH_BP_ONE);
    for (uint32_t i = 0; i < claim->line_count; i++) {
        const struct sh_line *line = &claim->lines[i];
        const struct sh_item *item = items[i];
        assert(item != NULL);
        assert(line->amount > 0 && line->amount <= SH_AMOUNT_MAX && line->qty_milli > 0);
        total += line->amount;
        if (item->cls != SH_CLASS_A && item->cls != SH_CLASS_B) {
            /* Class C; anything else cannot come out of the catalog loader,
             * and out of scope is the side that never pays wrongly. */
            assert(item->cls == SH_CLASS_C);
            out_of_scope += line->amount;
            continue;
        }
        sh_fen cap = line_cap_amount(line, item);
        sh_fen over = cap >= 0 ? max_fen(0, line->amount - cap) : 0;
        sh_fen rest = line->amount - over;
        sh_fen pre = 0;
        if (item->cls == SH_CLASS_A)
            class_a += line->amount;
        else
            class_b += line->amount;
        if (item->cls == SH_CLASS_B) {
            int32_t bp = item->selfpay_bp >= 0 ? item->selfpay_bp : class_b_selfpay_bp;
            assert(bp <= SH_BP_ONE);
            pre = rnd(rest * bp, SH_BP_ONE); /* <= 10^10 * 10^4 */
        }
        over_limit += over;
        pre_selfpay += pre;
        in_scope += rest - pre;
    }
    assert(total == out_of_scope + over_limit + pre_selfpay + in_scope);
    assert(in_scope >= 0 && total <= SH_TOTAL_MAX);
    out->total = total;
    out->out_of_scope = out_of_scope;
    out->over_limit = over_limit;
    out->pre_selfpay = pre_selfpay;
    out->in_scope = in_scope;
    /* Class C is what step 1 puts out of scope, so the three add up to the
     * total by construction. */
    out->class_a_total = class_a;
    out->class_b_total = class_b;
    out->class_c_total = out_of_scope;
    assert(class_a + class_b + out_of_scope == total);
}

/* ---- Eligibility ----------------------------------------------------------------- */

bool sh_person_enrolled(const struct sh_person *person, int32_t year)
{
    if (person == NULL)
        return false;
    uint32_t n =
        person->enrolled_count < SH_ENROLLED_MAX ? person->enrolled_count : SH_ENROLLED_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (person->enrolled[i] == year)
            return true;
    return false;
}

static bool category_valid_on(const struct sh_person_category *c, uint32_t date)
{
    return c->from <= date && (c->to == 0 || date <= c->to);
}

const struct sh_ruleset *sh_fund_ruleset_for(const struct sh_policy *policy,
                                             const struct sh_fund *fund,
                                             const struct sh_person *person, uint32_t date)
{
    if (policy == NULL || fund == NULL || person == NULL || fund->ruleset_count == 0)
        return NULL;
    if (fund->kind == SH_FUND_INSURANCE)
        return sh_person_enrolled(person, policy->year) ? &fund->rulesets[0] : NULL;
    /* Priority is the fund's order, not the person's: of the categories the
     * person holds, the one the fund lists first wins. */
    uint32_t nrules =
        fund->ruleset_count < SH_FUND_RULESETS_MAX ? fund->ruleset_count : SH_FUND_RULESETS_MAX;
    uint32_t ncats =
        person->category_count < SH_PERSON_CATS_MAX ? person->category_count : SH_PERSON_CATS_MAX;
    uint32_t best = nrules;
    for (uint32_t c = 0; c < ncats; c++) {
        const struct sh_person_category *pc = &person->categories[c];
        if (!category_valid_on(pc, date) || strncmp(pc->fund, fund->id, SH_ID_MAX) != 0)
            continue;
        for (uint32_t k = 0; k < best; k++)
            if (strncmp(fund->rulesets[k].category, pc->category, SH_ID_MAX) == 0)
                best = k;
    }
    return best < nrules ? &fund->rulesets[best] : NULL;
}

static bool hospital_designated(const struct sh_hospital *h, const char *fund_id)
{
    uint32_t n = h->fund_count < SH_FUNDS_MAX ? h->fund_count : SH_FUNDS_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (strncmp(h->funds[i], fund_id, SH_ID_MAX) == 0)
            return true;
    return false;
}

/* ---- Step 2: one fund ------------------------------------------------------------- */

/* An accumulator as committed, brought into [0, 2^62]. Negative values cannot
 * arise (a reversal takes out exactly what its settle put in); if storage ever
 * held one, reading it as 0 keeps every sum below in range. */
struct acc_view {
    sh_fen paid, payable, deductible_met;
};

static sh_fen acc_clamp(sh_fen x) { return x < 0 ? 0 : x > SH_ACC_MAX ? SH_ACC_MAX : x; }

static struct acc_view acc_find(const struct sh_rules_input *in, const char *fund,
                                const char *cap_group)
{
    struct acc_view v = {0, 0, 0};
    for (uint32_t i = 0; i < in->acc_count; i++) {
        const struct sh_acc *a = &in->accs[i];
        if (strncmp(a->fund, fund, SH_ID_MAX) == 0 &&
            strncmp(a->cap_group, cap_group, SH_ID_MAX) == 0) {
            v.paid = acc_clamp(a->paid);
            v.payable = acc_clamp(a->payable);
            v.deductible_met = acc_clamp(a->deductible_met);
            break;
        }
    }
    return v;
}

/* Step 4's numerator over [start, end), start >= 0. */
static sh_fen band_numerator(const struct sh_rule *rule, enum sh_level level, sh_fen start,
                             sh_fen payable)
{
    sh_fen end = start + payable; /* start <= 2^62, payable <= 10^14 */
    sh_fen lo = 0, num = 0;
    uint32_t n = rule->band_count < SH_BANDS_MAX ? rule->band_count : SH_BANDS_MAX;
    if (payable == 0)
        return 0;
    for (uint32_t j = 0; j < n && lo < end; j++) {
        const struct sh_band *b = &rule->bands[j];
        sh_fen ratio = b->ratio_bp[level];
        assert(ratio >= 0 && ratio <= SH_BP_ONE && b->upto > lo);
        if (rule->band_whole) {
            /* The band the amount ends in: lo < end <= upto. */
            if (end <= b->upto)
                return payable * ratio;
        } else {
            sh_fen slice = min_fen(end, b->upto) - max_fen(start, lo);
            if (slice > 0)
                num += slice * ratio;
        }
        lo = b->upto;
    }
    assert(num <= payable * SH_BP_ONE);
    return num;
}

struct fund_ctx {
    const struct sh_rules_input *in;
    enum sh_level level;
    sh_fen unit; /* rounding: 1, 10 or 100 fen */
};

/* Points 3 to 6 for a fund that found its rule. */
static void fund_apply(const struct fund_ctx *cx, const struct sh_fund *fund,
                       const struct sh_rule *rule, sh_fen base, struct sh_fund_result *r)
{
    struct acc_view acc = acc_find(cx->in, fund->id, rule->cap_group);

    sh_fen d = rule->deductible[cx->level];
    assert(d >= 0);
    if (rule->deductible_annual)
        d = max_fen(0, d - acc.deductible_met);
    sh_fen ded = min_fen(base, d);
    sh_fen payable = base - ded;

    sh_fen start = rule->band_annual ? acc.payable : 0;
    sh_fen num = band_numerator(rule, cx->level, start, payable);
    sh_fen raw = rnd(num, SH_BP_ONE * cx->unit) * cx->unit;

    const sh_fen none = INT64_MAX;
    sh_fen claim_cap = rule->claim_cap >= 0 ? rule->claim_cap : none;
    sh_fen room = rule->annual_cap >= 0 ? max_fen(0, rule->annual_cap - acc.paid) : none;
    sh_fen pay = max_fen(0, min_fen(min_fen(raw, claim_cap), min_fen(room, base)));

    if (room < min_fen(raw, claim_cap))
        r->reason = SH_REASON_ANNUAL_CAP;
    else if (claim_cap < raw)
        r->reason = SH_REASON_CLAIM_CAP;
    else
        r->reason = SH_REASON_NONE;

    assert(pay >= 0 && pay <= base && pay <= room);
    assert(rule->annual_cap < 0 || acc.paid + pay <= max_fen(acc.paid, rule->annual_cap));
    r->pay = pay;
    r->deductible = ded;
    r->applied = true;
    memcpy(r->cap_group, rule->cap_group, sizeof r->cap_group);
    r->cap_group[sizeof r->cap_group - 1] = '\0';
    r->payable = payable;
    r->deductible_met = rule->deductible_annual ? ded : 0;
}

/* Points 1 and 2: whether the fund applies, and its rule. */
static void fund_settle(const struct fund_ctx *cx, const struct sh_fund *fund, sh_fen base,
                        struct sh_fund_result *r)
{
    const struct sh_rules_input *in = cx->in;
    memcpy(r->fund, fund->id, sizeof r->fund);
    r->fund[sizeof r->fund - 1] = '\0';
    if (!hospital_designated(in->hospital, fund->id)) {
        r->reason = SH_REASON_NOT_DESIGNATED;
        return;
    }
    const struct sh_ruleset *rs =
        sh_fund_ruleset_for(in->policy, fund, in->person, in->claim->date);
    if (rs == NULL) {
        r->reason =
            fund->kind == SH_FUND_INSURANCE ? SH_REASON_NOT_ENROLLED : SH_REASON_NO_CATEGORY;
        return;
    }
    if (fund->kind == SH_FUND_CATEGORY) {
        memcpy(r->category, rs->category, sizeof r->category);
        r->category[sizeof r->category - 1] = '\0';
    }
    const struct sh_rule *rule = sh_ruleset_rule(rs, in->claim->visit);
    if (rule == NULL) {
        r->reason = SH_REASON_NO_RULE;
        return;
    }
    fund_apply(cx, fund, rule, base, r);
}

int sh_rules_settle(const struct sh_rules_input *in, struct sh_breakdown *out, struct sh_error *err)
{
    int rc = sh_rules_check_claim(in->claim, err);
    if (rc == 0)
        rc = check_refdata(in, err);
    if (rc < 0)
        return rc;

    const struct sh_policy *policy = in->policy;
    memset(out, 0, sizeof *out);
    sh_rules_split(in->claim, in->items, policy->class_b_selfpay_bp, out);
    out->year = policy->year;

    struct fund_ctx cx = {in, in->hospital->level, policy->rounding_unit};
    assert((unsigned)cx.level < SH_LEVEL_COUNT);
    assert(cx.unit == 1 || cx.unit == 10 || cx.unit == 100);
    if ((unsigned)cx.level >= SH_LEVEL_COUNT || cx.unit <= 0)
        return sh_error_set(err, SH_E_INTERNAL, "hospital level or policy rounding out of range");

    out->fund_count = policy->fund_count < SH_FUNDS_MAX ? policy->fund_count : SH_FUNDS_MAX;
    sh_fen paid = 0;
    for (uint32_t f = 0; f < out->fund_count; f++) {
        fund_settle(&cx, &policy->funds[f], out->in_scope - paid, &out->funds[f]);
        paid += out->funds[f].pay;
    }
    assert(paid <= out->in_scope);
    out->fund_total = paid;
    out->patient_pays = out->total - paid;
    return 0;
}
