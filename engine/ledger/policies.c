/*
 * The policies, parsed, in memory. The store keeps each policy's JSON text
 * under (region, effective_from); the ledger parses them all at open and
 * after a Load, so a claim never parses JSON. A Load builds a new set (the
 * old one plus the new policies, each replacing one of the same region and
 * effective_from) that becomes the ledger's only when its batch commits.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_internal.h"
#include "sh_json.h"
#include "sh_policy.h"
#include "store_keys.h"

static struct policy_set *policy_set_new(size_t count)
{
    struct policy_set *set = calloc(1, sizeof *set);
    if (set == NULL)
        return NULL;
    size_t n = count > 0 ? count : 1;
    set->items = calloc(n, sizeof *set->items);
    set->ptrs = calloc(n, sizeof *set->ptrs);
    if (set->items == NULL || set->ptrs == NULL) {
        policy_set_free(set);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        set->ptrs[i] = &set->items[i];
    return set;
}

void policy_set_free(struct policy_set *set)
{
    if (set == NULL)
        return;
    free(set->items);
    free(set->ptrs);
    free(set);
}

const struct sh_policy *policy_set_find(const struct policy_set *set, const char *region,
                                        uint32_t date)
{
    if (set == NULL || region == NULL || date == 0)
        return NULL;
    return sh_policy_find(set->ptrs, set->count, region, date);
}

struct load_scan {
    struct policy_set *set;
    size_t cap;
    struct sh_error *err;
};

static int load_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct load_scan *s = ctx;
    if (s->set->count == s->cap)
        return sh_error_set(s->err, SH_E_LIMIT_EXCEEDED, "more than %zu policies", s->cap);
    struct sh_policy *p = &s->set->items[s->set->count];
    struct sh_error perr = {0};
    char region[STORE_PAD] = "?";
    if (key->mv_size == STORE_POLICY_KEY_LEN)
        store_pad_get(key->mv_data, region);
    if (sh_policy_from_text(val->mv_data, val->mv_size, p, &perr) != 0)
        return sh_error_set(s->err, SH_E_BAD_REFERENCE_DATA, "stored policy of region %s: %s",
                            region, perr.msg);
    uint8_t expect[STORE_POLICY_KEY_LEN];
    if (store_key_policy(expect, p->region, p->effective_from) < 0 ||
        key->mv_size != sizeof expect || memcmp(expect, key->mv_data, sizeof expect) != 0)
        return sh_error_set(s->err, SH_E_INTERNAL,
                            "stored policy of region %s: not under its "
                            "region and effective_from",
                            region);
    s->set->count++;
    return 0;
}

int policy_set_load(struct store_txn *txn, struct policy_set **out, struct sh_error *err)
{
    *out = NULL;
    uint64_t count = store_count(txn, STORE_DB_POLICIES);
    if (txn->ret != 0)
        return sh_error_set(err, txn->ret, "store: cannot count the policies");
    if (count > LEDGER_POLICIES_MAX)
        return sh_error_set(err, SH_E_LIMIT_EXCEEDED, "%llu policies stored, more than %d",
                            (unsigned long long)count, LEDGER_POLICIES_MAX);
    struct policy_set *set = policy_set_new((size_t)count);
    if (set == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    struct load_scan s = {.set = set, .cap = (size_t)count, .err = err};
    store_scan(txn, STORE_DB_POLICIES, NULL, 0, load_one, &s);
    if (txn->ret != 0) {
        policy_set_free(set);
        if (err->code == 0)
            sh_error_set(err, txn->ret, "store: cannot read the policies");
        return txn->ret;
    }
    *out = set;
    return 0;
}

static bool same_key(const struct sh_policy *a, const struct sh_policy *b)
{
    return strcmp(a->region, b->region) == 0 && a->effective_from == b->effective_from;
}

static bool replaced(const struct sh_policy *p, const struct sh_policy *added, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (same_key(p, &added[i]))
            return true;
    return false;
}

int policy_set_merge(const struct policy_set *base, const struct sh_policy *added,
                     size_t added_count, struct policy_set **out, struct sh_error *err)
{
    *out = NULL;
    size_t base_count = base != NULL ? base->count : 0;
    if (base_count + added_count > LEDGER_POLICIES_MAX)
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA, "policies: more than %d in all",
                            LEDGER_POLICIES_MAX);
    struct policy_set *set = policy_set_new(base_count + added_count);
    if (set == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < base_count; i++)
        if (!replaced(&base->items[i], added, added_count))
            set->items[set->count++] = base->items[i];
    for (size_t i = 0; i < added_count; i++)
        set->items[set->count++] = added[i];
    int rc = sh_policy_set_validate(set->ptrs, set->count, err);
    if (rc != 0) {
        policy_set_free(set);
        return rc;
    }
    *out = set;
    return 0;
}
