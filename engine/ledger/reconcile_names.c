/*
 * A reconcile reply names its funds by id; the bureau's tables and pages
 * show the names the policy gives them (FundAmount.name in proto/sanhe.proto).
 * The names are looked up after the reply is built, so the sums code stays
 * as it is.
 */
#include "reconcile_names.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define RECON_NEST_MAX 2 /* a day reply, and its hospitals' replies */

const char *recon_fund_name(const struct policy_set *ps, uint32_t day, const char *fund)
{
    const char *found = NULL;
    int32_t found_year = INT32_MIN;
    for (size_t p = 0; ps != NULL && p < ps->count; p++) {
        const struct sh_policy *pol = &ps->items[p];
        bool in_force = pol->effective_from <= day && day <= pol->effective_to;
        for (uint32_t f = 0; f < pol->fund_count; f++) {
            if (strcmp(pol->funds[f].id, fund) != 0 || pol->funds[f].name[0] == '\0')
                continue;
            if (in_force)
                return pol->funds[f].name;
            if (pol->year > found_year)
                found = pol->funds[f].name, found_year = pol->year;
        }
    }
    return found;
}

static bool name_totals(const struct policy_set *ps, uint32_t day, Sanhe__Totals *t)
{
    for (size_t i = 0; t != NULL && i < t->n_funds; i++) {
        Sanhe__FundAmount *f = t->funds[i];
        const char *name =
            f->fund != NULL && f->name == NULL ? recon_fund_name(ps, day, f->fund) : NULL;
        if (name != NULL && (f->name = strdup(name)) == NULL)
            return false;
    }
    return true;
}

static bool name_reply(const struct policy_set *ps, uint32_t day, Sanhe__ReconcileReply *rr,
                       int depth)
{
    assert(depth <= RECON_NEST_MAX);
    bool ok = name_totals(ps, day, rr->settlements) && name_totals(ps, day, rr->reversals) &&
              name_totals(ps, day, rr->net);
    for (size_t h = 0; ok && h < rr->n_by_hour; h++)
        ok = name_totals(ps, day, rr->by_hour[h]);
    for (size_t h = 0; ok && depth < RECON_NEST_MAX && h < rr->n_hospitals; h++)
        ok = name_reply(ps, day, rr->hospitals[h], depth + 1);
    return ok;
}

bool recon_name_funds(const struct policy_set *policies, uint32_t day, Sanhe__ReconcileReply *rr)
{
    return rr == NULL || name_reply(policies, day, rr, 1);
}
