/*
 * reverse and cancel. Both first check their own request id (checks 1 and
 * 2: a cancelled id, a used id), then find their target, then share the
 * reversal: the settlement marked reversed, its accumulator changes taken
 * back out, a counter-entry in the journal on today's business day with
 * every amount negated, and the request's idempotency record.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "requests.h"
#include "settlement.h"

static bool is_reversed(const Sanhe__SettlementRecord *rec)
{
    return rec->settlement->has_state &&
           rec->settlement->state == SANHE__SETTLEMENT_STATE__REVERSED;
}

/* Reverses settlement id (rec, not reversed yet) on behalf of the op. */
static int reversal_apply(struct ledger_op *op, uint64_t id, Sanhe__SettlementRecord *rec)
{
    struct store_txn *txn = op->txn;
    Sanhe__Settlement *s = rec->settlement;
    assert(!txn->read_only && id != 0 && !is_reversed(rec));
    settlement_apply_deltas(txn, rec, -1);
    struct journal_entry e = {
        .day = op->day, .kind = JOURNAL_REVERSAL, .settlement_id = id, .time_ms = op->now_ms};
    if (strlen(s->hospital) >= sizeof e.hospital || !journal_entry_amounts(&e, s->breakdown, -1))
        store_txn_fail_code(txn, SH_E_INTERNAL);
    else
        snprintf(e.hospital, sizeof e.hospital, "%s", s->hospital);
    journal_append(txn, &e);
    if (txn->ret != 0)
        return txn->ret;
    /* The counter-entry negates every amount of the settlement. */
    assert(e.seq != 0 && e.kind == JOURNAL_REVERSAL);
    assert(e.total == -s->breakdown->total && e.fund_total == -s->breakdown->fund_total);
    assert(e.patient_pays == -s->breakdown->patient_pays && e.fund_count == s->breakdown->n_funds);
    /* The record is protobuf-c's: its strings are freed with it, so ours
     * are put in only while it is packed. */
    char *old_rid = s->reversal_request_id;
    char *old_day = s->reversal_day;
    s->has_state = true;
    s->state = SANHE__SETTLEMENT_STATE__REVERSED;
    s->reversal_request_id = op->request->request_id;
    s->reversal_day = (char *)op->day_str;
    s->has_reversed_at_ms = true;
    s->reversed_at_ms = op->now_ms;
    rec->has_reversal_journal_seq = true;
    rec->reversal_journal_seq = e.seq;
    settlement_put(txn, id, rec);
    s->reversal_request_id = old_rid;
    s->reversal_day = old_day;
    assert(is_reversed(rec) && rec->reversal_journal_seq > rec->journal_seq);
    return txn->ret;
}

static int already_reversed(struct ledger_op *op, uint64_t id, const Sanhe__SettlementRecord *rec)
{
    const char *by = rec->settlement->reversal_request_id;
    sh_error_set(&op->err, SH_E_ALREADY_REVERSED,
                 "settlement %" PRIu64 " was already reversed (by request \"%s\")", id,
                 by != NULL ? by : "?");
    return sh_error_detail(&op->err, SH_D_ALREADY_REVERSED, "%" PRIu64 SH_DETAIL_SEP "%s", id,
                           by != NULL ? by : "?");
}

/* The settlement a settle request id of the caller's hospital made; NULL
 * (NOT_FOUND in op->err, or a storage failure) when it names none. */
static Sanhe__SettlementRecord *settlement_of_request(struct ledger_op *op, const char *rid,
                                                      uint64_t *id, int *rc)
{
    Sanhe__RequestRecord *req = request_get(op->txn, op->tail, op->caller->hospital, rid);
    *rc = op->txn->ret;
    if (*rc != 0)
        return NULL;
    if (req == NULL || req->kind != SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE) {
        if (req != NULL)
            sanhe__request_record__free_unpacked(req, NULL);
        sh_error_set(&op->err, SH_E_NOT_FOUND, "no settlement of request \"%.40s\" at hospital %s",
                     rid, op->caller->hospital);
        *rc = sh_error_detail(&op->err, SH_D_REQUEST_NOT_FOUND, "%.40s" SH_DETAIL_SEP "%s", rid,
                              op->caller->hospital);
        return NULL;
    }
    *id = req->settlement_id;
    sanhe__request_record__free_unpacked(req, NULL);
    Sanhe__SettlementRecord *rec = settlement_get(op->txn, *id);
    *rc = op->txn->ret;
    if (rec == NULL && *rc == 0)
        *rc =
            sh_error_set(&op->err, SH_E_INTERNAL,
                         "request \"%s\" names settlement %" PRIu64 ", which is missing", rid, *id);
    return rec;
}

/* ---- reverse ----------------------------------------------------------------------------- */

static Sanhe__SettlementRecord *reverse_target(struct ledger_op *op, const Sanhe__ReverseRequest *r,
                                               uint64_t *id, int *rc)
{
    if (r->target_case == SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_REQUEST_ID)
        return settlement_of_request(op, r->settlement_request_id, id, rc);
    *id = r->settlement_id;
    Sanhe__SettlementRecord *rec = settlement_get(op->txn, *id);
    *rc = op->txn->ret;
    if (*rc == 0 && rec == NULL) {
        sh_error_set(&op->err, SH_E_NOT_FOUND, "no settlement %" PRIu64, *id);
        *rc = sh_error_detail(&op->err, SH_D_SETTLEMENT_NOT_FOUND, "%" PRIu64, *id);
    }
    if (*rc == 0 && strcmp(rec->settlement->hospital, op->caller->hospital) != 0) {
        sh_error_set(&op->err, SH_E_FORBIDDEN, "settlement %" PRIu64 " is not of hospital %s", *id,
                     op->caller->hospital);
        *rc = sh_error_detail(&op->err, SH_D_SETTLEMENT_OTHER_HOSPITAL,
                              "%" PRIu64 SH_DETAIL_SEP "%s", *id, op->caller->hospital);
    }
    if (*rc != 0 && rec != NULL) {
        sanhe__settlement_record__free_unpacked(rec, NULL);
        rec = NULL;
    }
    return rec;
}

static int reverse_reply(struct ledger_op *op, uint64_t id)
{
    Sanhe__ReverseReply rr = SANHE__REVERSE_REPLY__INIT;
    rr.has_settlement_id = rr.has_reversed = true;
    rr.settlement_id = id;
    rr.reversed = true;
    rr.business_day = (char *)op->day_str;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_REVERSE;
    resp.reverse = &rr;
    if (ledger_reply_pack(&resp, &op->reply) != 0)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    return 0;
}

static int reverse_precheck(struct ledger_op *op, const Sanhe__ReverseRequest *r)
{
    if (r == NULL || r->target_case == SANHE__REVERSE_REQUEST__TARGET__NOT_SET)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST,
                            "reverse: name the settlement "
                            "(settlement_id or settlement_request_id)");
    int rc = ledger_request_id_check(op, "reverse");
    if (rc != 0)
        return rc;
    if (r->target_case == SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_REQUEST_ID &&
        (r->settlement_request_id == NULL || r->settlement_request_id[0] == '\0'))
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "reverse: empty settlement_request_id");
    if (r->target_case == SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID && r->settlement_id == 0)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "reverse: settlement_id 0");
    return 0;
}

int ledger_op_reverse(struct ledger_op *op)
{
    const Sanhe__ReverseRequest *r = op->request->reverse;
    int rc = reverse_precheck(op, r);
    uint8_t hash[LEDGER_HASH_LEN];
    if (rc == 0 && request_hash_reverse(r, hash) != 0)
        rc = sh_error_set(&op->err, SH_E_INTERNAL, "reverse: cannot hash the request");
    bool replayed = false;
    if (rc == 0)
        rc = request_check_own(op, SANHE__REQUEST_KIND__REQUEST_KIND_REVERSE, hash, &replayed);
    if (rc != 0 || replayed)
        return rc;
    /* At most one reversal per settlement: its bytes count, it is never refused. */
    struct quota_state quota;
    quota_load(op, &quota);
    uint64_t id = 0;
    Sanhe__SettlementRecord *rec = reverse_target(op, r, &id, &rc);
    if (rec == NULL)
        return rc;
    if (is_reversed(rec))
        rc = already_reversed(op, id, rec);
    if (rc == 0)
        rc = reversal_apply(op, id, rec);
    if (rc == 0)
        rc = reverse_reply(op, id);
    if (rc == 0) {
        bool by_rid = r->target_case == SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
        request_put_own(op, SANHE__REQUEST_KIND__REQUEST_KIND_REVERSE, hash, id,
                        by_rid ? r->settlement_request_id : NULL);
        quota_charge(op, &quota, LEDGER_QUOTA_STORED_BYTES);
        rc = op->txn->ret;
    }
    sanhe__settlement_record__free_unpacked(rec, NULL);
    return rc;
}

/* ---- cancel --------------------------------------------------------------------------------- */

static int cancel_reply(struct ledger_op *op, bool reversed, uint64_t id)
{
    Sanhe__CancelReply cr = SANHE__CANCEL_REPLY__INIT;
    cr.has_reversed = true;
    cr.reversed = reversed;
    cr.has_settlement_id = reversed;
    cr.settlement_id = reversed ? id : 0;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_CANCEL;
    resp.cancel = &cr;
    if (ledger_reply_pack(&resp, &op->reply) != 0)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    return 0;
}

static int cancel_precheck(struct ledger_op *op, const Sanhe__CancelRequest *c)
{
    if (c == NULL || c->cancel_of == NULL || c->cancel_of[0] == '\0')
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "cancel: no cancel_of");
    int rc = ledger_request_id_check(op, "cancel");
    if (rc != 0)
        return rc;
    if (strlen(c->cancel_of) >= SH_CODE_MAX)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST,
                            "cancel: cancel_of longer than %d bytes (no request has it)",
                            SH_CODE_MAX - 1);
    if (strcmp(c->cancel_of, op->request->request_id) == 0)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "cancel: a cancel cannot name itself");
    return 0;
}

/* The settle named by cancel_of landed (target): reverse it unless it was. */
static int cancel_landed(struct ledger_op *op, const Sanhe__RequestRecord *target, uint64_t *id)
{
    *id = target->settlement_id;
    Sanhe__SettlementRecord *rec = settlement_get(op->txn, *id);
    int rc = op->txn->ret;
    if (rc == 0 && rec == NULL)
        rc =
            sh_error_set(&op->err, SH_E_INTERNAL, "cancel: settlement %" PRIu64 " is missing", *id);
    if (rc == 0 && is_reversed(rec))
        rc = already_reversed(op, *id, rec);
    if (rc == 0)
        rc = reversal_apply(op, *id, rec);
    if (rec != NULL)
        sanhe__settlement_record__free_unpacked(rec, NULL);
    return rc;
}

/* Nothing under cancel_of: the marker that refuses a late settle. */
static void cancel_mark(struct ledger_op *op, const char *cancel_of)
{
    Sanhe__RequestRecord marker = SANHE__REQUEST_RECORD__INIT;
    marker.has_kind = true;
    marker.kind = SANHE__REQUEST_KIND__REQUEST_KIND_CANCELLED;
    marker.target = op->request->request_id;
    request_put(op->txn, op->tail, op->caller->hospital, cancel_of, &marker);
}

int ledger_op_cancel(struct ledger_op *op)
{
    const Sanhe__CancelRequest *c = op->request->cancel;
    int rc = cancel_precheck(op, c);
    uint8_t hash[LEDGER_HASH_LEN];
    if (rc == 0 && request_hash_cancel(c->cancel_of, hash) != 0)
        rc = sh_error_set(&op->err, SH_E_INTERNAL, "cancel: cannot hash the request");
    bool replayed = false;
    if (rc == 0)
        rc = request_check_own(op, SANHE__REQUEST_KIND__REQUEST_KIND_CANCEL, hash, &replayed);
    if (rc != 0 || replayed)
        return rc;
    struct quota_state quota;
    quota_load(op, &quota);
    Sanhe__RequestRecord *target =
        request_get(op->txn, op->tail, op->caller->hospital, c->cancel_of);
    if (op->txn->ret != 0)
        return op->txn->ret;
    /* A cancel that will reverse nothing (no settle under cancel_of) only
     * adds records: held to the hospital's quota of them. */
    bool unknown = target == NULL || target->kind != SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE;
    if (unknown && (rc = quota_admit(op, &quota, LEDGER_QUOTA_UNKNOWN_CANCELS)) != 0) {
        if (target != NULL)
            sanhe__request_record__free_unpacked(target, NULL);
        return rc;
    }
    uint64_t id = 0;
    bool reversed = false;
    if (target == NULL) {
        cancel_mark(op, c->cancel_of);
    } else if (target->kind == SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE) {
        rc = cancel_landed(op, target, &id);
        reversed = rc == 0;
    }
    /* A marker already, or a reverse or cancel: no settle can ever land
     * under that id; nothing to do but answer. */
    if (target != NULL)
        sanhe__request_record__free_unpacked(target, NULL);
    if (rc == 0)
        rc = op->txn->ret;
    if (rc == 0)
        rc = cancel_reply(op, reversed, id);
    if (rc == 0) {
        request_put_own(op, SANHE__REQUEST_KIND__REQUEST_KIND_CANCEL, hash, id, c->cancel_of);
        quota_charge(op, &quota,
                     unknown ? LEDGER_QUOTA_UNKNOWN_CANCELS : LEDGER_QUOTA_STORED_BYTES);
        rc = op->txn->ret;
    }
    return rc;
}
