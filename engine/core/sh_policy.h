/*
 * Policies: validation of a parsed policy, the choice of the policy in force,
 * and the overlap check across the policies of a region. Parsing JSON lives in
 * engine/json (sh_policy_from_json); it ends by calling sh_policy_validate.
 */
#ifndef SH_POLICY_H
#define SH_POLICY_H

#include <stddef.h>

#include "sh_error.h"
#include "sh_types.h"

/* Checks what the JSON shape cannot: bands ascending with only the last one
 * unbounded, ratios within 0..10000 bp, money never negative, dates valid and
 * not reversed, fund ids unique, a year that matches the period, an
 * insurance fund with exactly one "default" ruleset. Returns 0 or
 * SH_E_BAD_REFERENCE_DATA with err->msg saying where. */
int sh_policy_validate(const struct sh_policy *policy, struct sh_error *err);

/* True when both are of one region and their periods share a day. */
bool sh_policy_overlaps(const struct sh_policy *a, const struct sh_policy *b);

/* Refuses a set in which two policies of one region overlap, naming both. */
int sh_policy_set_validate(const struct sh_policy *const *policies, size_t count,
                           struct sh_error *err);

/* The policy of the region in force on the date, or NULL. */
const struct sh_policy *sh_policy_find(const struct sh_policy *const *policies, size_t count,
                                       const char *region, uint32_t date);

/* The rule a ruleset gives for a visit type, or NULL when it has none. */
const struct sh_rule *sh_ruleset_rule(const struct sh_ruleset *ruleset, int visit);

#endif
