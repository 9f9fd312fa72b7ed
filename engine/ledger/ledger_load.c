/*
 * The admin Load: persons, hospitals, items, policies and terminals, added
 * or replacing what is stored under the same key. All or nothing comes from
 * the request's child transaction: the first bad record refuses the whole
 * Load with BAD_REFERENCE_DATA naming it, and the child is aborted.
 * Policies are parsed (sh_policy_from_text) and validated as a set together
 * with the stored ones (no two of a region overlapping); the new set
 * becomes the ledger's when the batch commits.
 */
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "item_cache.h"
#include "refdata.h"
#include "sh_json.h"
#include "store_keys.h"

static int load_persons(struct ledger_op *op, const Sanhe__LoadRequest *l)
{
    struct sh_person p;
    for (size_t i = 0; i < l->n_persons; i++) {
        int rc = convert_person(l->persons[i], i, &p, &op->err);
        if (rc != 0)
            return rc;
        refdata_person_put(op->txn, &p);
        if (op->txn->ret != 0)
            return op->txn->ret;
    }
    return 0;
}

static int load_hospitals(struct ledger_op *op, const Sanhe__LoadRequest *l)
{
    struct sh_hospital h;
    for (size_t i = 0; i < l->n_hospitals; i++) {
        int rc = convert_hospital(l->hospitals[i], i, &h, &op->err);
        if (rc != 0)
            return rc;
        refdata_hospital_put(op->txn, &h);
        if (op->txn->ret != 0)
            return op->txn->ret;
    }
    return 0;
}

static int load_items(struct ledger_op *op, const Sanhe__LoadRequest *l)
{
    struct sh_item item;
    if (op->items != NULL && l->n_items > 0)
        item_cache_clear(op->items); /* any item may change */
    for (size_t i = 0; i < l->n_items; i++) {
        int rc = convert_item(l->items[i], i, &item, &op->err);
        if (rc != 0)
            return rc;
        refdata_item_put(op->txn, &item);
        if (op->txn->ret != 0)
            return op->txn->ret;
    }
    return 0;
}

/* A counter must name a hospital of the reference data (this Load's
 * hospitals are already in the transaction); bureau and admin may not. */
static int load_terminal(struct ledger_op *op, const Sanhe__Terminal *in, size_t i,
                         struct ledger_terminal *t)
{
    memset(t, 0, sizeof *t);
    const char *name = in->name != NULL ? in->name : "";
    const char *hospital = in->hospital != NULL ? in->hospital : "";
    int role = sh_role_parse(in->role);
    const char *why = NULL;
    struct sh_hospital h;
    if (name[0] == '\0' || strlen(name) >= sizeof t->name)
        why = "name: missing or too long";
    else if (role < 0)
        why = "role: not counter, bureau or admin";
    else if (strlen(hospital) >= sizeof t->hospital)
        why = "hospital: too long";
    else if (role == SH_ROLE_COUNTER && !refdata_hospital_get(op->txn, hospital, &h))
        why = "hospital: a counter needs a hospital of the reference data";
    if (op->txn->ret != 0)
        return op->txn->ret;
    if (why != NULL)
        return sh_error_set(&op->err, SH_E_BAD_REFERENCE_DATA, "terminals[%zu] (%.40s): %s", i,
                            name, why);
    memcpy(t->name, name, strlen(name));
    memcpy(t->hospital, hospital, strlen(hospital));
    t->role = (enum sh_role)role;
    t->has_lookup_rate = in->has_lookups_per_minute;
    t->lookups_per_minute = in->lookups_per_minute;
    return 0;
}

static int load_terminals(struct ledger_op *op, const Sanhe__LoadRequest *l)
{
    struct ledger_terminal t;
    for (size_t i = 0; i < l->n_terminals; i++) {
        int rc = load_terminal(op, l->terminals[i], i, &t);
        if (rc != 0)
            return rc;
        refdata_terminal_put(op->txn, &t);
        if (op->txn->ret != 0)
            return op->txn->ret;
    }
    return 0;
}

static int load_parse_policies(struct ledger_op *op, const Sanhe__LoadRequest *l,
                               struct sh_policy *out)
{
    for (size_t i = 0; i < l->n_policies_json; i++) {
        const char *text = l->policies_json[i] != NULL ? l->policies_json[i] : "";
        struct sh_error perr = {0};
        if (sh_policy_from_text(text, strlen(text), &out[i], &perr) != 0)
            return sh_error_set(&op->err, SH_E_BAD_REFERENCE_DATA, "policies[%zu]: %s", i,
                                perr.msg);
    }
    return 0;
}

static int load_policies(struct ledger_op *op, const Sanhe__LoadRequest *l)
{
    size_t n = l->n_policies_json;
    if (n == 0)
        return 0;
    if (n > LEDGER_POLICIES_MAX)
        return sh_error_set(&op->err, SH_E_BAD_REFERENCE_DATA, "policies: more than %d",
                            LEDGER_POLICIES_MAX);
    struct sh_policy *added = calloc(n, sizeof *added);
    if (added == NULL)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    int rc = load_parse_policies(op, l, added);
    struct sh_error merr = {0};
    if (rc == 0 && policy_set_merge(op->policies, added, n, &op->new_policies, &merr) != 0)
        rc = sh_error_set(&op->err, merr.code != 0 ? merr.code : SH_E_BAD_REFERENCE_DATA,
                          "policies: %s", merr.msg);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t key[STORE_POLICY_KEY_LEN];
        const char *text = l->policies_json[i];
        if (store_key_policy(key, added[i].region, added[i].effective_from) < 0)
            store_txn_fail_code(op->txn, SH_E_INTERNAL);
        store_put(op->txn, STORE_DB_POLICIES, key, sizeof key, text, strlen(text));
        rc = op->txn->ret;
    }
    free(added);
    return rc;
}

static int load_reply(struct ledger_op *op, const Sanhe__LoadRequest *l)
{
    Sanhe__LoadReply lr = SANHE__LOAD_REPLY__INIT;
    lr.has_persons = lr.has_hospitals = lr.has_items = lr.has_policies = lr.has_terminals = true;
    lr.persons = (uint32_t)l->n_persons;
    lr.hospitals = (uint32_t)l->n_hospitals;
    lr.items = (uint32_t)l->n_items;
    lr.policies = (uint32_t)l->n_policies_json;
    lr.terminals = (uint32_t)l->n_terminals;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_LOAD;
    resp.load = &lr;
    if (ledger_reply_pack(&resp, &op->reply) != 0)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    return 0;
}

int ledger_op_load(struct ledger_op *op)
{
    const Sanhe__LoadRequest *l = op->request->load;
    if (l == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "load: nothing to load");
    int rc = load_persons(op, l);
    if (rc == 0)
        rc = load_hospitals(op, l);
    if (rc == 0)
        rc = load_items(op, l);
    if (rc == 0)
        rc = load_policies(op, l);
    if (rc == 0)
        rc = load_terminals(op, l);
    if (rc == 0)
        rc = load_reply(op, l);
    return rc;
}
