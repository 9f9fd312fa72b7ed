/*
 * The rules core: docs/rules.md as a pure function. No I/O, no allocation, no
 * global state: everything it reads is in the input, everything it decides is
 * in the breakdown. The server, presettle, the conformance runner and the
 * benchmarks all call this one function.
 */
#ifndef SH_RULES_H
#define SH_RULES_H

#include "sh_error.h"
#include "sh_types.h"

struct sh_rules_input {
    const struct sh_claim *claim;
    /* Lookups done by the caller; NULL where reference data has none. */
    const struct sh_hospital *hospital;
    const struct sh_person *person;
    const struct sh_policy *policy;     /* of the person's region in force on the claim date */
    const struct sh_item *const *items; /* claim->line_count entries, NULL for an unknown code */
    /* The person's committed accumulators of the policy year, any order.
     * An accumulator not listed is all zero. */
    const struct sh_acc *accs;
    uint32_t acc_count;
};

/*
 * Checks the claim in the order of docs/rules.md (BAD_CLAIM, BAD_PERSON_ID,
 * UNKNOWN_HOSPITAL, UNKNOWN_PERSON, PERSON_DECEASED, NO_POLICY, UNKNOWN_ITEM)
 * and settles it. Returns 0 and fills *out, or a negative SH_E_* code with
 * err->msg naming the offending line or field (out is then unspecified).
 * Identity, idempotency and cancellation are the ledger's, not checked here.
 */
int sh_rules_settle(const struct sh_rules_input *in, struct sh_breakdown *out,
                    struct sh_error *err);

/* The first two groups of checks alone (BAD_CLAIM, then BAD_PERSON_ID), so a
 * caller can refuse a malformed claim before looking anything up. */
int sh_rules_check_claim(const struct sh_claim *claim, struct sh_error *err);

/* Step 1 alone: split the lines into out's total, out_of_scope, over_limit,
 * pre_selfpay and in_scope, and the class totals class_a_total,
 * class_b_total, class_c_total (= out_of_scope). items must all be non-NULL. */
void sh_rules_split(const struct sh_claim *claim, const struct sh_item *const *items,
                    int32_t class_b_selfpay_bp, struct sh_breakdown *out);

/* Whether the person is enrolled in the given policy year. */
bool sh_person_enrolled(const struct sh_person *person, int32_t year);

/* The ruleset a fund applies to the person on the date: "default" for an
 * insurance fund when enrolled in the policy year, the first of the fund's
 * categories (in the fund's order) the person holds on the date for a
 * category fund; NULL when none (the reason is then not_enrolled or
 * no_category). */
const struct sh_ruleset *sh_fund_ruleset_for(const struct sh_policy *policy,
                                             const struct sh_fund *fund,
                                             const struct sh_person *person, uint32_t date);

/* "not_designated", ..., "annual_cap"; NULL for SH_REASON_NONE. */
const char *sh_reason_name(enum sh_reason reason);

/* Names and parsers of the enumerations, as spelled in docs/rules.md and JSON.
 * The parsers return -1 for an unknown name. */
const char *sh_visit_name(enum sh_visit visit);
int sh_visit_parse(const char *name);
const char *sh_level_name(enum sh_level level);
int sh_level_parse(const char *name);

#endif
