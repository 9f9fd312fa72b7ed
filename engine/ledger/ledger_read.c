/*
 * The reads that are not a claim: query and eligibility (reconcile is in
 * ledger_reconcile.c), and the terminal table the server consults on each
 * new connection.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "accum.h"
#include "refdata.h"
#include "requests.h"
#include "settlement.h"
#include "sh_date.h"
#include "sh_person_id.h"
#include "sh_policy.h"
#include "sh_rules.h"

/* ---- query ----------------------------------------------------------------------------------- */

static Sanhe__SettlementRecord *query_by_id(struct ledger_op *op, uint64_t id, int *rc)
{
    Sanhe__SettlementRecord *rec = settlement_get(op->txn, id);
    *rc = op->txn->ret;
    if (*rc == 0 && rec == NULL) {
        sh_error_set(&op->err, SH_E_NOT_FOUND, "no settlement %" PRIu64, id);
        *rc = sh_error_detail(&op->err, SH_D_SETTLEMENT_NOT_FOUND, "%" PRIu64, id);
    }
    if (*rc == 0 && op->caller->role == SH_ROLE_COUNTER &&
        strcmp(rec->settlement->hospital, op->caller->hospital) != 0) {
        sh_error_set(&op->err, SH_E_FORBIDDEN, "settlement %" PRIu64 " is not of hospital %s", id,
                     op->caller->hospital);
        *rc = sh_error_detail(&op->err, SH_D_SETTLEMENT_OTHER_HOSPITAL,
                              "%" PRIu64 SH_DETAIL_SEP "%s", id, op->caller->hospital);
    }
    if (*rc != 0 && rec != NULL) {
        sanhe__settlement_record__free_unpacked(rec, NULL);
        rec = NULL;
    }
    return rec;
}

static Sanhe__SettlementRecord *query_by_request(struct ledger_op *op, const char *hospital,
                                                 const char *rid, int *rc)
{
    if (hospital == NULL || hospital[0] == '\0') {
        *rc = sh_error_set(&op->err, SH_E_BAD_REQUEST, "query by request id: name the hospital");
        return NULL;
    }
    if (rid == NULL || rid[0] == '\0') {
        *rc = sh_error_set(&op->err, SH_E_BAD_REQUEST, "query: empty settlement_request_id");
        return NULL;
    }
    Sanhe__RequestRecord *req = request_get(op->txn, op->tail, hospital, rid);
    *rc = op->txn->ret;
    uint64_t id = 0;
    if (req != NULL && req->kind == SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE)
        id = req->settlement_id;
    if (req != NULL)
        sanhe__request_record__free_unpacked(req, NULL);
    if (*rc != 0)
        return NULL;
    if (id == 0) {
        sh_error_set(&op->err, SH_E_NOT_FOUND,
                     "no settlement of request \"%.40s\" at hospital %.40s", rid, hospital);
        *rc = sh_error_detail(&op->err, SH_D_REQUEST_NOT_FOUND, "%.40s" SH_DETAIL_SEP "%.40s", rid,
                              hospital);
        return NULL;
    }
    Sanhe__SettlementRecord *rec = settlement_get(op->txn, id);
    *rc = op->txn->ret;
    if (*rc == 0 && rec == NULL)
        *rc = sh_error_set(&op->err, SH_E_INTERNAL, "settlement %" PRIu64 " is missing", id);
    return rec;
}

int ledger_op_query(struct ledger_op *op)
{
    const Sanhe__QueryRequest *q = op->request->query;
    if (q == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "query: no target");
    bool counter = op->caller->role == SH_ROLE_COUNTER;
    if (counter && q->hospital != NULL && q->hospital[0] != '\0' &&
        strcmp(q->hospital, op->caller->hospital) != 0)
        return sh_error_set(&op->err, SH_E_FORBIDDEN,
                            "query: a counter sees only its own hospital's settlements");
    int rc = 0;
    Sanhe__SettlementRecord *rec = NULL;
    if (q->target_case == SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_ID)
        rec = query_by_id(op, q->settlement_id, &rc);
    else if (q->target_case == SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID)
        rec = query_by_request(op, counter ? op->caller->hospital : q->hospital,
                               q->settlement_request_id, &rc);
    else
        rc = sh_error_set(&op->err, SH_E_BAD_REQUEST,
                          "query: name the settlement (settlement_id or settlement_request_id)");
    if (rec == NULL)
        return rc;
    Sanhe__QueryReply qr = SANHE__QUERY_REPLY__INIT;
    qr.settlement = rec->settlement;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_QUERY;
    resp.query = &qr;
    rc = ledger_reply_pack(&resp, &op->reply);
    sanhe__settlement_record__free_unpacked(rec, NULL);
    return rc != 0 ? sh_error_set(&op->err, rc, "out of memory") : 0;
}

/* ---- eligibility ----------------------------------------------------------------------------- */

struct elig_acc {
    Sanhe__Accumulator msg;
    char fund[STORE_PAD];
    char cap_group[STORE_PAD];
};

struct elig_accs {
    size_t count;
    size_t cap;
    struct elig_acc *items;
};

static int elig_acc_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct elig_accs *list = ctx;
    struct accum_entry e;
    if (!accum_entry_decode(key, val, &e))
        return SH_E_INTERNAL;
    if (list->count == LEDGER_PERSON_ACCS_MAX)
        return SH_E_LIMIT_EXCEEDED;
    if (list->count == list->cap) {
        size_t cap = list->cap > 0 ? list->cap * 2 : 16;
        struct elig_acc *items = realloc(list->items, cap * sizeof *items);
        if (items == NULL)
            return SH_E_INTERNAL;
        list->items = items;
        list->cap = cap;
    }
    struct elig_acc *a = &list->items[list->count++];
    sanhe__accumulator__init(&a->msg);
    memcpy(a->fund, e.fund, sizeof a->fund);
    memcpy(a->cap_group, e.cap_group, sizeof a->cap_group);
    a->msg.has_year = a->msg.has_paid = a->msg.has_payable = a->msg.has_deductible_met = true;
    a->msg.year = e.year;
    a->msg.paid = e.paid;
    a->msg.payable = e.payable;
    a->msg.deductible_met = e.deductible_met;
    return 0;
}

/* The FundStatus messages and their limits, in one block for the reply;
 * every string points into the policy or the accumulator list. */
struct elig_funds {
    Sanhe__FundStatus msgs[SH_FUNDS_MAX];
    Sanhe__FundStatus *ptrs[SH_FUNDS_MAX];
    Sanhe__FundLimit limits[SH_FUNDS_MAX][SH_VISIT_COUNT];
    Sanhe__FundLimit *limit_ptrs[SH_FUNDS_MAX][SH_VISIT_COUNT];
    int64_t deductibles[SH_FUNDS_MAX][SH_VISIT_COUNT][SH_LEVEL_COUNT];
};

/* What one eligibility answer needs besides the fund: the person's
 * accumulators, the policy year and the caller's hospital level. */
struct elig_ctx {
    const struct elig_accs *accs;
    int32_t year;
    int level; /* the calling counter's hospital level; -1: none */
};

static const Sanhe__Accumulator *elig_acc_find(const struct elig_ctx *cx, const char *fund,
                                               const char *cap_group)
{
    for (size_t i = 0; i < cx->accs->count; i++) {
        const struct elig_acc *a = &cx->accs->items[i];
        if (a->msg.year == cx->year && strcmp(a->fund, fund) == 0 &&
            strcmp(a->cap_group, cap_group) == 0)
            return &a->msg;
    }
    return NULL;
}

/* The annual cap and what is left of it, as the rules core applies it
 * (docs/rules.md step 2.6: annual_cap - acc.paid, never below 0). */
static void elig_limit_cap(const struct sh_rule *rule, sh_fen paid, Sanhe__FundLimit *m)
{
    m->has_paid = true;
    m->paid = paid;
    if (rule->annual_cap >= 0) {
        m->has_annual_cap = m->has_remaining = true;
        m->annual_cap = rule->annual_cap;
        /* paid is never below 0 in the store (accum_apply refuses that);
         * reading one as 0 keeps the difference in range regardless. */
        sh_fen used = paid > 0 ? paid : 0;
        m->remaining = rule->annual_cap > used ? rule->annual_cap - used : 0;
    }
    if (rule->claim_cap >= 0) {
        m->has_claim_cap = true;
        m->claim_cap = rule->claim_cap;
    }
}

static void elig_limit(const struct elig_ctx *cx, const struct sh_fund *f,
                       const struct sh_rule *rule, int visit, int64_t deductibles[SH_LEVEL_COUNT],
                       Sanhe__FundLimit *m)
{
    sanhe__fund_limit__init(m);
    const Sanhe__Accumulator *acc = elig_acc_find(cx, f->id, rule->cap_group);
    m->visit = (char *)sh_visit_name((enum sh_visit)visit);
    m->cap_group = (char *)rule->cap_group;
    m->has_year = true;
    m->year = cx->year;
    elig_limit_cap(rule, acc != NULL ? acc->paid : 0, m);
    m->deductible_scope = rule->deductible_annual ? "annual" : "claim";
    for (int l = 0; l < SH_LEVEL_COUNT; l++)
        deductibles[l] = rule->deductible[l];
    m->n_deductible_by_level = SH_LEVEL_COUNT;
    m->deductible_by_level = deductibles;
    if (cx->level >= 0) {
        m->has_deductible = true;
        m->deductible = rule->deductible[cx->level];
    }
    /* Only an annual deductible is met across claims; a claim-scope one is
     * paid again by each claim, so nothing of it carries over. */
    m->has_deductible_met = true;
    m->deductible_met = rule->deductible_annual && acc != NULL ? acc->deductible_met : 0;
}

static void elig_fund(const struct elig_ctx *cx, const struct sh_policy *policy, uint32_t index,
                      const struct sh_person *person, uint32_t date, struct elig_funds *out)
{
    const struct sh_fund *f = &policy->funds[index];
    Sanhe__FundStatus *m = &out->msgs[index];
    sanhe__fund_status__init(m);
    const struct sh_ruleset *rs = sh_fund_ruleset_for(policy, f, person, date);
    bool insurance = f->kind == SH_FUND_INSURANCE;
    m->fund = (char *)f->id;
    m->name = (char *)f->name;
    m->kind = insurance ? "insurance" : "category";
    m->has_applies = true;
    m->applies = rs != NULL;
    if (rs != NULL && !insurance)
        m->category = (char *)rs->category;
    if (rs == NULL) {
        m->reason = insurance ? "not_enrolled" : "no_category";
        return;
    }
    for (int v = 0; v < SH_VISIT_COUNT; v++) {
        const struct sh_rule *rule = sh_ruleset_rule(rs, v);
        if (rule == NULL)
            continue;
        Sanhe__FundLimit *lim = &out->limits[index][m->n_limits];
        elig_limit(cx, f, rule, v, out->deductibles[index][m->n_limits], lim);
        out->limit_ptrs[index][m->n_limits++] = lim;
    }
    m->limits = out->limit_ptrs[index];
}

/* The calling counter's hospital level, or -1 (another role, or a hospital
 * not in reference data): the deductible it will apply is the one to show. */
static int elig_caller_level(struct ledger_op *op)
{
    struct sh_hospital h;
    if (op->caller == NULL || op->caller->role != SH_ROLE_COUNTER ||
        op->caller->hospital[0] == '\0' || !refdata_hospital_get(op->txn, op->caller->hospital, &h))
        return -1;
    return (unsigned)h.level < SH_LEVEL_COUNT ? (int)h.level : -1;
}

/* The funds of the policy in force into er; *funds is malloc'd (free it,
 * also on failure). 0, or a negative code. */
static int elig_funds_fill(struct ledger_op *op, const struct sh_policy *policy,
                           const struct sh_person *person, uint32_t date,
                           const struct elig_accs *accs, Sanhe__EligibilityReply *er,
                           struct elig_funds **funds)
{
    *funds = malloc(sizeof **funds); /* some kilobytes: not on a reader's stack */
    if (*funds == NULL)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    struct elig_ctx cx = {accs, policy->year, elig_caller_level(op)};
    if (op->txn->ret != 0)
        return op->txn->ret; /* the caller's hospital record did not decode */
    uint32_t n = policy->fund_count < SH_FUNDS_MAX ? policy->fund_count : SH_FUNDS_MAX;
    for (uint32_t i = 0; i < n; i++) {
        elig_fund(&cx, policy, i, person, date, *funds);
        (*funds)->ptrs[i] = &(*funds)->msgs[i];
    }
    er->policy_name = (char *)policy->name;
    er->n_funds = n;
    er->funds = (*funds)->ptrs;
    return 0;
}

/* Packs the reply; er's accumulators are accs, in key order (year, then
 * fund, then cap group, each in byte order). */
static int elig_pack(struct ledger_op *op, Sanhe__EligibilityReply *er,
                     const struct elig_accs *accs)
{
    Sanhe__Accumulator **ptrs = calloc(accs->count > 0 ? accs->count : 1, sizeof *ptrs);
    if (ptrs == NULL)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < accs->count; i++) {
        accs->items[i].msg.fund = accs->items[i].fund;
        accs->items[i].msg.cap_group = accs->items[i].cap_group;
        ptrs[i] = &accs->items[i].msg;
    }
    er->n_accumulators = accs->count;
    er->accumulators = ptrs;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_ELIGIBILITY;
    resp.eligibility = er;
    int rc = ledger_reply_pack(&resp, &op->reply);
    free(ptrs);
    return rc != 0 ? sh_error_set(&op->err, rc, "out of memory") : 0;
}

static int elig_reply(struct ledger_op *op, const struct sh_person *person, uint32_t date,
                      const struct elig_accs *accs)
{
    const struct sh_policy *policy = policy_set_find(op->policies, person->region, date);
    Sanhe__EligibilityReply er = SANHE__ELIGIBILITY_REPLY__INIT;
    er.person = (char *)person->id;
    er.name = (char *)person->name;
    er.region = (char *)person->region;
    er.has_deceased = true;
    er.deceased = person->died != 0 && date > person->died;
    /* The person's category spans, with their dates (strings on the stack). */
    Sanhe__PersonCategory cats[SH_PERSON_CATS_MAX], *cat_ptrs[SH_PERSON_CATS_MAX];
    char cat_dates[SH_PERSON_CATS_MAX][2][SH_DATE_STR_LEN];
    for (uint32_t i = 0; i < person->category_count && i < SH_PERSON_CATS_MAX; i++) {
        const struct sh_person_category *pc = &person->categories[i];
        sanhe__person_category__init(&cats[i]);
        cats[i].fund = (char *)pc->fund;
        cats[i].category = (char *)pc->category;
        sh_date_format(pc->from, cat_dates[i][0]);
        cats[i].from = cat_dates[i][0];
        if (pc->to != 0) {
            sh_date_format(pc->to, cat_dates[i][1]);
            cats[i].to = cat_dates[i][1];
        }
        cat_ptrs[i] = &cats[i];
    }
    er.n_categories = person->category_count;
    er.categories = cat_ptrs;
    struct elig_funds *funds = NULL;
    int rc = policy != NULL ? elig_funds_fill(op, policy, person, date, accs, &er, &funds) : 0;
    if (rc == 0)
        rc = elig_pack(op, &er, accs);
    free(funds);
    return rc;
}

int ledger_op_eligibility(struct ledger_op *op)
{
    const Sanhe__EligibilityRequest *e = op->request->eligibility;
    if (e == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "eligibility: no person");
    char masked[19];
    sh_person_id_mask(e->person != NULL ? e->person : "", masked);
    if (e->person == NULL || !sh_person_id_valid(e->person)) {
        sh_error_set(&op->err, SH_E_BAD_PERSON_ID, "eligibility: %s is not a valid resident ID",
                     masked);
        return sh_error_detail(&op->err, SH_D_PERSON_ID_CHECK, "%s", masked);
    }
    struct sh_person person;
    if (!refdata_person_get(op->txn, e->person, &person)) {
        if (op->txn->ret != 0)
            return op->txn->ret;
        sh_error_set(&op->err, SH_E_UNKNOWN_PERSON, "eligibility: person %s is unknown", masked);
        return sh_error_detail(&op->err, SH_D_PERSON_UNKNOWN, "%s", masked);
    }
    uint32_t date = sh_date_parse(e->date);
    if (date == 0) {
        sh_error_set(&op->err, SH_E_BAD_REQUEST, "eligibility: date: not YYYY-MM-DD");
        return sh_error_detail(&op->err, SH_D_FIELD_INVALID, "%s", "date");
    }
    struct elig_accs accs = {0};
    store_scan(op->txn, STORE_DB_ACCUMULATORS, person.id, SH_PERSON_ID_LEN, elig_acc_one, &accs);
    int rc = op->txn->ret;
    if (rc == SH_E_LIMIT_EXCEEDED && op->txn->mdb_rc == 0)
        sh_error_set(&op->err, rc, "eligibility: more than %d accumulators",
                     LEDGER_PERSON_ACCS_MAX);
    if (rc == 0)
        rc = elig_reply(op, &person, date, &accs);
    free(accs.items);
    return rc;
}

/* ---- The terminal table ---------------------------------------------------------------------- */

int ledger_terminal_find(struct ledger *ledger, const char *name, struct sh_caller *out)
{
    if (ledger == NULL || name == NULL || out == NULL)
        return SH_E_INTERNAL;
    struct store_txn txn;
    ledger_lock_shared(ledger);
    int rc = store_read_begin(&ledger->store, &txn);
    struct ledger_terminal t;
    bool found = false;
    if (rc == 0) {
        found = refdata_terminal_get(&txn, name, &t);
        rc = txn.ret;
        store_read_end(&txn);
    }
    ledger_unlock(ledger);
    if (rc != 0)
        return rc;
    if (!found)
        return SH_E_NOT_FOUND;
    memset(out, 0, sizeof *out);
    snprintf(out->terminal, sizeof out->terminal, "%s", t.name);
    snprintf(out->hospital, sizeof out->hospital, "%s", t.hospital);
    out->role = t.role;
    out->has_lookup_rate = t.has_lookup_rate;
    out->lookups_per_minute = t.lookups_per_minute;
    return 0;
}

/* ---- Info ----------------------------------------------------------------------------------- */

static int info_read(struct ledger *ledger, struct ledger_info *out)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(ledger->store.env, &info) != 0 || mdb_env_stat(ledger->store.env, &st) != 0)
        return SH_E_INTERNAL;
    out->map_size = ledger->store.map_size;
    out->map_size_max = ledger->store.map_max;
    out->map_used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    out->map_grown = ledger->store.grow_count;
    out->enospc_count = atomic_load(&ledger->store.enospc_count);
    out->readers_used = info.me_numreaders;
    out->readers_max = info.me_maxreaders;
    if (ledger->store.reading)
        return 0; /* inside a read: the counters cannot be read now */
    struct store_txn txn;
    int rc = store_read_begin(&ledger->store, &txn);
    if (rc != 0)
        return rc;
    out->settlements = meta_peek(&txn, STORE_META_NEXT_SETTLEMENT) - 1;
    out->journal_entries = meta_peek(&txn, STORE_META_NEXT_SEQ) - 1;
    rc = txn.ret;
    store_read_end(&txn);
    return rc;
}

int ledger_info(struct ledger *ledger, struct ledger_info *out)
{
    if (ledger == NULL || out == NULL)
        return SH_E_INTERNAL;
    memset(out, 0, sizeof *out);
    ledger_lock_shared(ledger); /* the map's size may not change under us */
    int rc = info_read(ledger, out);
    ledger_unlock(ledger);
    return rc;
}
