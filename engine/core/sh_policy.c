#include "sh_policy.h"

#include <string.h>

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
