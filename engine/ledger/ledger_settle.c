/*
 * settle and presettle. Both compute the same breakdown: the claim's own
 * checks (sh_rules_check_claim), then the lookups (hospital, person, the
 * policy of the person's region on the claim date, an item per line, the
 * person's accumulators of the policy year) and the rules core, which
 * checks the rest in the order of docs/rules.md. A settle then records it:
 * accumulators, the settlement, its journal entry and its idempotency
 * record, all in the request's child transaction.
 */
#include <assert.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "accum.h"
#include "convert.h"
#include "item_cache.h"
#include "journal.h"
#include "refdata.h"
#include "requests.h"
#include "settlement.h"
#include "sh_person_id.h"
#include "sh_rules.h"
#include "store_keys.h"

struct settle_work {
    struct sh_claim claim;
    struct sh_line *lines;
    struct sh_item *items;            /* one per line */
    const struct sh_item **item_ptrs; /* NULL for an unknown code */
    bool has_hospital;
    bool has_person;
    struct sh_hospital hospital;
    struct sh_person person;
    const struct sh_policy *policy;
    uint32_t acc_count;
    struct sh_breakdown breakdown;
    struct sh_acc accs[LEDGER_YEAR_ACCS_MAX]; /* last: only [0, acc_count) is ever read */
};

/* Zeroes all but accs (most of the size: zeroing it all was a third of a settle). */
static struct settle_work *settle_work_new(void)
{
    struct settle_work *w = malloc(sizeof *w);
    if (w != NULL)
        memset(w, 0, offsetof(struct settle_work, accs));
    return w;
}

static void settle_work_free(struct settle_work *w)
{
    if (w == NULL)
        return;
    free(w->lines);
    free(w->items);
    free(w->item_ptrs);
    free(w);
}

/* Check 0: a counter settles its own hospital's claims only. */
static int settle_check_hospital(struct ledger_op *op, const Sanhe__Claim *claim,
                                 const char *opname)
{
    const char *h = claim->hospital != NULL ? claim->hospital : "";
    if (strcmp(h, op->caller->hospital) == 0)
        return 0;
    sh_error_set(&op->err, SH_E_FORBIDDEN,
                 "%s: the claim is of hospital \"%.40s\", this terminal is of \"%s\"", opname, h,
                 op->caller->hospital);
    return sh_error_detail(&op->err, SH_D_OTHER_HOSPITAL, "%.40s" SH_DETAIL_SEP "%s", h,
                           op->caller->hospital);
}

/* A refusal's message must not carry the resident ID in clear. */
static void scrub_person(char *msg, const char *person)
{
    if (person == NULL || strlen(person) < 6)
        return;
    char masked[19];
    sh_person_id_mask(person, masked);
    size_t n = strlen(person);
    for (char *at = strstr(msg, person); at != NULL; at = strstr(at + n, person))
        memcpy(at, masked, n <= 18 ? n : 18);
}

/* The item of code, from the writer's map (item_cache.h) or the store. */
static bool settle_item_get(struct ledger_op *op, const char *code, struct sh_item *out)
{
    if (op->items != NULL && item_cache_get(op->items, code, out))
        return true;
    if (!refdata_item_get(op->txn, code, out))
        return false;
    if (op->items != NULL)
        item_cache_put(op->items, out);
    return true;
}

static void settle_lookup_items(struct ledger_op *op, const Sanhe__Claim *claim,
                                struct settle_work *w)
{
    struct store_txn *txn = op->txn;
    for (size_t i = 0; i < claim->n_lines && txn->ret == 0; i++) {
        const char *code = claim->lines[i]->code != NULL ? claim->lines[i]->code : "";
        const char *prev = i > 0 && claim->lines[i - 1]->code ? claim->lines[i - 1]->code : NULL;
        if (prev != NULL && strcmp(prev, code) == 0) {
            w->item_ptrs[i] = w->item_ptrs[i - 1]; /* runs of one item: one lookup */
            continue;
        }
        /* By the code as sent: one too long for an item code is unknown. */
        if (settle_item_get(op, code, &w->items[i]))
            w->item_ptrs[i] = &w->items[i];
    }
}

/* Everything the rules core needs, looked up in the op's transaction. */
static int settle_lookup(struct ledger_op *op, const Sanhe__Claim *claim, struct settle_work *w)
{
    struct store_txn *txn = op->txn;
    size_t n = claim->n_lines > 0 ? claim->n_lines : 1;
    w->items = malloc(n * sizeof *w->items);
    w->item_ptrs = calloc(n, sizeof *w->item_ptrs);
    if (w->items == NULL || w->item_ptrs == NULL)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    w->has_hospital = refdata_hospital_get(txn, w->claim.hospital, &w->hospital);
    w->has_person = refdata_person_get(txn, w->claim.person, &w->person);
    w->policy =
        w->has_person ? policy_set_find(op->policies, w->person.region, w->claim.date) : NULL;
    /* Without these the rules refuse before looking at an item. */
    if (w->has_hospital && w->has_person && w->policy != NULL) {
        settle_lookup_items(op, claim, w);
        w->acc_count =
            accum_year_get(txn, w->person.id, w->policy->year, w->accs, LEDGER_YEAR_ACCS_MAX);
    }
    assert(w->acc_count <= LEDGER_YEAR_ACCS_MAX);
    if (txn->ret == SH_E_LIMIT_EXCEEDED && txn->mdb_rc == 0) {
        sh_error_set(&op->err, SH_E_LIMIT_EXCEEDED,
                     "the person has more than %d accumulators in the year", LEDGER_YEAR_ACCS_MAX);
        return sh_error_detail(&op->err, SH_D_ACCUMULATORS_LIMIT, "%d", LEDGER_YEAR_ACCS_MAX);
    }
    return txn->ret;
}

static int settle_compute(struct ledger_op *op, const Sanhe__Claim *claim, struct settle_work *w)
{
    int rc = convert_claim(claim, &w->claim, &w->lines, &op->err);
    if (rc == 0)
        rc = sh_rules_check_claim(&w->claim, &op->err);
    if (rc == 0)
        rc = settle_lookup(op, claim, w);
    if (rc == 0) {
        struct sh_rules_input in = {
            .claim = &w->claim,
            .hospital = w->has_hospital ? &w->hospital : NULL,
            .person = w->has_person ? &w->person : NULL,
            .policy = w->policy,
            .items = w->item_ptrs,
            .accs = w->accs,
            .acc_count = w->acc_count,
        };
        rc = sh_rules_settle(&in, &w->breakdown, &op->err);
    }
    if (rc != 0) {
        scrub_person(op->err.msg, claim->person);
        for (unsigned i = 0; i < op->err.argc; i++)
            scrub_person(op->err.args[i], claim->person);
    }
    return rc;
}

/* ---- Recording a settlement --------------------------------------------------------- */

struct settle_deltas {
    size_t count;
    Sanhe__AccDelta msgs[SH_FUNDS_MAX];
    Sanhe__AccDelta *ptrs[SH_FUNDS_MAX];
};

/* Adds the claim's accumulator changes, and lists them for the record. */
static void settle_apply_deltas(struct store_txn *txn, const struct settle_work *w,
                                struct settle_deltas *out)
{
    const struct sh_breakdown *b = &w->breakdown;
    sh_fen paid = 0;
    out->count = 0;
    for (uint32_t i = 0; i < b->fund_count && i < SH_FUNDS_MAX; i++) {
        const struct sh_fund_result *f = &b->funds[i];
        assert(f->pay >= 0 && (f->applied || f->pay == 0)); /* a fund without a rule pays 0 */
        if (!f->applied || (f->pay == 0 && f->payable == 0 && f->deductible_met == 0))
            continue;
        assert(f->payable >= 0 && f->deductible_met >= 0 && f->deductible_met <= f->deductible);
        paid += f->pay;
        struct accum_delta d = {.year = b->year,
                                .paid = f->pay,
                                .payable = f->payable,
                                .deductible_met = f->deductible_met};
        memcpy(d.fund, f->fund, sizeof d.fund);
        memcpy(d.cap_group, f->cap_group, sizeof d.cap_group);
        accum_apply(txn, w->claim.person, &d, 1);
        Sanhe__AccDelta *m = &out->msgs[out->count];
        sanhe__acc_delta__init(m);
        m->has_year = m->has_paid = m->has_payable = m->has_deductible_met = true;
        m->year = b->year;
        m->fund = (char *)f->fund;
        m->cap_group = (char *)f->cap_group;
        m->paid = f->pay;
        m->payable = f->payable;
        m->deductible_met = f->deductible_met;
        out->ptrs[out->count] = m;
        out->count++;
    }
    /* The deltas pay what the breakdown says the funds pay (ledger_check). */
    assert(out->count <= b->fund_count && paid == b->fund_total);
}

static uint64_t settle_journal(struct ledger_op *op, uint64_t id, const Sanhe__Breakdown *b)
{
    struct journal_entry e = {
        .day = op->day, .kind = JOURNAL_SETTLE, .settlement_id = id, .time_ms = op->now_ms};
    snprintf(e.hospital, sizeof e.hospital, "%s", op->caller->hospital);
    if (!journal_entry_amounts(&e, b, 1)) {
        store_txn_fail_code(op->txn, SH_E_INTERNAL);
        return 0;
    }
    journal_append(op->txn, &e);
    assert(op->txn->ret != 0 || (e.seq != 0 && e.fund_total == b->fund_total));
    return e.seq;
}

static int settle_reply(struct ledger_op *op, uint64_t id, Sanhe__Breakdown *b)
{
    Sanhe__SettleReply sr = SANHE__SETTLE_REPLY__INIT;
    sr.has_settlement_id = true;
    sr.settlement_id = id;
    sr.breakdown = b;
    sr.business_day = (char *)op->day_str;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_SETTLE;
    resp.settle = &sr;
    if (ledger_reply_pack(&resp, &op->reply) != 0)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    return 0;
}

static int settle_record(struct ledger_op *op, const Sanhe__Claim *claim,
                         const struct settle_work *w, const uint8_t hash[LEDGER_HASH_LEN])
{
    struct store_txn *txn = op->txn;
    assert(!txn->read_only && w->breakdown.fund_count <= SH_FUNDS_MAX);
    assert(strlen(w->claim.person) == SH_PERSON_ID_LEN); /* checked by the rules */
    /* The sums of docs/rules.md#invariants, before any figure is written. */
    const struct sh_breakdown *b = &w->breakdown;
    assert(b->total == b->out_of_scope + b->over_limit + b->pre_selfpay + b->in_scope);
    assert(b->total == b->fund_total + b->patient_pays && b->fund_total >= 0);
    assert(b->patient_pays >= b->out_of_scope + b->over_limit + b->pre_selfpay);
    assert(b->class_a_total + b->class_b_total + b->class_c_total == b->total);
    uint64_t id = meta_take(txn, STORE_META_NEXT_SETTLEMENT);
    assert(id != 0 || txn->ret != 0);
    struct settle_deltas deltas;
    settle_apply_deltas(txn, w, &deltas);
    struct convert_breakdown cb;
    convert_breakdown(&w->breakdown, w->policy, false, &cb);
    uint64_t seq = settle_journal(op, id, &cb.msg);
    if (txn->ret != 0)
        return txn->ret;
    int rc = settle_reply(op, id, &cb.msg);
    if (rc != 0)
        return rc;
    Sanhe__Settlement s = SANHE__SETTLEMENT__INIT;
    s.has_settlement_id = s.has_state = s.has_settled_at_ms = true;
    s.settlement_id = id;
    s.hospital = (char *)op->caller->hospital;
    s.request_id = op->request->request_id;
    s.claim = (Sanhe__Claim *)claim;
    s.breakdown = &cb.msg;
    s.state = SANHE__SETTLEMENT_STATE__SETTLED;
    s.business_day = (char *)op->day_str;
    s.settled_at_ms = op->now_ms;
    Sanhe__SettlementRecord rec = SANHE__SETTLEMENT_RECORD__INIT;
    rec.settlement = &s;
    rec.n_deltas = deltas.count;
    rec.deltas = deltas.ptrs;
    rec.has_journal_seq = true;
    rec.journal_seq = seq;
    settlement_put(txn, id, &rec);
    request_put_own(op, SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE, hash, id, NULL);
    return txn->ret;
}

/* ---- The operations ------------------------------------------------------------------ */

int ledger_op_settle(struct ledger_op *op)
{
    const Sanhe__SettleRequest *req = op->request->settle;
    if (req == NULL || req->claim == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "settle: no claim");
    int rc = ledger_request_id_check(op, "settle");
    if (rc == 0)
        rc = settle_check_hospital(op, req->claim, "settle");
    uint8_t hash[LEDGER_HASH_LEN];
    if (rc == 0 && request_hash_settle(req->claim, hash) != 0)
        rc = sh_error_set(&op->err, SH_E_INTERNAL, "settle: cannot hash the claim");
    bool replayed = false;
    if (rc == 0)
        rc = request_check_own(op, SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE, hash, &replayed);
    if (rc != 0 || replayed)
        return rc;
    /* A new settlement: the hospital's quotas, before anything is written. */
    struct quota_state quota;
    quota_load(op, &quota);
    rc = quota_claim_check(op, req->claim, "settle");
    if (rc == 0)
        rc = quota_admit(op, &quota, LEDGER_QUOTA_SETTLEMENTS);
    if (rc != 0)
        return rc;
    struct settle_work *w = settle_work_new();
    if (w == NULL)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    rc = settle_compute(op, req->claim, w);
    if (rc == 0)
        rc = settle_record(op, req->claim, w, hash);
    settle_work_free(w);
    if (rc == 0) {
        quota_charge(op, &quota, LEDGER_QUOTA_SETTLEMENTS);
        rc = op->txn->ret;
    }
    assert(rc != 0 || (op->reply.data != NULL && op->reply.len > 0));
    return rc;
}

int ledger_op_presettle(struct ledger_op *op)
{
    const Sanhe__PresettleRequest *req = op->request->presettle;
    if (req == NULL || req->claim == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "presettle: no claim");
    int rc = settle_check_hospital(op, req->claim, "presettle");
    if (rc == 0)
        rc = quota_claim_check(op, req->claim, "presettle");
    if (rc != 0)
        return rc;
    struct settle_work *w = settle_work_new();
    if (w == NULL)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    rc = settle_compute(op, req->claim, w);
    if (rc == 0) {
        struct convert_breakdown cb;
        convert_breakdown(&w->breakdown, w->policy, true, &cb);
        assert(cb.msg.trial && cb.msg.total == w->breakdown.total);
        Sanhe__PresettleReply pr = SANHE__PRESETTLE_REPLY__INIT;
        pr.breakdown = &cb.msg;
        Sanhe__Response resp = SANHE__RESPONSE__INIT;
        resp.request_id = op->request->request_id;
        resp.result_case = SANHE__RESPONSE__RESULT_PRESETTLE;
        resp.presettle = &pr;
        if (ledger_reply_pack(&resp, &op->reply) != 0)
            rc = sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    }
    settle_work_free(w);
    return rc;
}
