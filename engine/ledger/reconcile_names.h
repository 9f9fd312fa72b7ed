/* Fund names for a ReconcileReply's FundAmounts, from the policies. */
#ifndef RECONCILE_NAMES_H
#define RECONCILE_NAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "ledger_internal.h"
#include "sanhe.pb-c.h"

/* Sets FundAmount.name everywhere in rr (its totals, hours and hospitals)
 * from the policy in force on day (yyyymmdd) that has the fund, else the
 * latest policy that has it. Returns false when out of memory (names set
 * so far stay; the reply is still whole). */
/* The name of fund on day (as above); NULL when no policy names it. */
const char *recon_fund_name(const struct policy_set *policies, uint32_t day, const char *fund);
bool recon_name_funds(const struct policy_set *policies, uint32_t day, Sanhe__ReconcileReply *rr);

#endif
