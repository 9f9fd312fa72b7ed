/*
 * reconcile (docs/rules.md): a hospital's business day, from the journal. The
 * semantics (what counts, fund order, items, the whole-day form) are
 * documented on ReconcileRequest in proto/sanhe.proto.
 *
 * Checked in this order: a request and a valid day (BAD_REQUEST), a counter
 * asking for another hospital (FORBIDDEN), an unknown hospital
 * (UNKNOWN_HOSPITAL), figures that cannot be compared (BAD_REQUEST).
 */
#include <string.h>

#include "reconcile.h"
#include "reconcile_names.h"
#include "refdata.h"

static int pack_reply(struct ledger_op *op, Sanhe__ReconcileReply *rr)
{
    if (rr == NULL)
        return sh_error_set(&op->err, SH_E_INTERNAL, "reconcile: out of memory");
    if (!recon_name_funds(op->policies, sh_date_parse(op->request->reconcile->day), rr)) {
        sanhe__reconcile_reply__free_unpacked(rr, NULL);
        return sh_error_set(&op->err, SH_E_INTERNAL, "reconcile: out of memory");
    }
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_RECONCILE;
    resp.reconcile = rr;
    int rc = ledger_reply_pack(&resp, &op->reply);
    sanhe__reconcile_reply__free_unpacked(rr, NULL);
    return rc != 0 ? sh_error_set(&op->err, rc, "reconcile: out of memory") : 0;
}

/* A failed scan's refusal: what the sums could not hold, or storage. */
static int scan_failed(struct ledger_op *op, int rc)
{
    if (rc == SH_E_LIMIT_EXCEEDED)
        return sh_error_set(&op->err, rc,
                            "reconcile: the day's sums exceed int64 fen or name "
                            "more than %d funds",
                            RECON_FUNDS_MAX);
    if (rc == SH_E_INTERNAL && op->txn->mdb_rc == 0)
        return sh_error_set(&op->err, rc,
                            "reconcile: the journal_day index and the journal "
                            "disagree (run sanhe-engine check)");
    return rc;
}

/* ---- One hospital ------------------------------------------------------------------------ */

static int compare(struct ledger_op *op, const Sanhe__ReconcileRequest *q, struct recon_hospital *h,
                   struct recon_result *r)
{
    int rc = 0;
    if (q->figures != NULL)
        rc = recon_compare_figures(&h->net, q->figures, r, &op->err);
    if (rc == 0 && (q->with_items || q->n_items > 0))
        rc = recon_compare_items(&h->items, q->items, q->n_items, r, &op->err);
    r->balanced = r->diff_count == 0 && r->only_engine.count == 0 && r->only_hospital.count == 0 &&
                  r->differing.count == 0;
    return rc;
}

static int reconcile_hospital(struct ledger_op *op, const Sanhe__ReconcileRequest *q,
                              const char *hospital, uint32_t day)
{
    struct sh_hospital info;
    if (strlen(hospital) >= SH_CODE_MAX || !refdata_hospital_get(op->txn, hospital, &info)) {
        if (op->txn->ret != 0)
            return op->txn->ret;
        sh_error_set(&op->err, SH_E_UNKNOWN_HOSPITAL, "reconcile: hospital %.40s is unknown",
                     hospital);
        return sh_error_detail(&op->err, SH_D_HOSPITAL_UNKNOWN, "%.40s", hospital);
    }
    bool comparing = q->figures != NULL || q->with_items || q->n_items > 0;
    struct recon_want want = {.items = q->with_items || q->n_items > 0,
                              .hours = q->with_hours,
                              .utc_offset_min = op->ledger->utc_offset_min};
    struct recon_hospital h;
    int rc = recon_scan_hospital(op->txn, day, hospital, &want, &h);
    if (rc != 0) {
        recon_hospital_free(&h);
        return scan_failed(op, rc);
    }
    struct recon_result result;
    memset(&result, 0, sizeof result);
    if (comparing)
        rc = compare(op, q, &h, &result);
    if (rc == 0)
        rc =
            pack_reply(op, recon_reply_hospital(&h, q->day, info.name, comparing ? &result : NULL));
    recon_result_free(&result);
    recon_hospital_free(&h);
    return rc;
}

/* ---- The whole day (bureau, no hospital named) -------------------------------------------- */

static Sanhe__ReconcileReply *day_reply(struct ledger_op *op, const struct recon_day *d,
                                        const char *day)
{
    Sanhe__ReconcileReply *rr = recon_reply_day(d, day);
    for (size_t i = 0; rr != NULL && i < d->count; i++) {
        const struct recon_hospital *h = &d->hospitals[i];
        struct sh_hospital info;
        bool known = refdata_hospital_get(op->txn, h->hospital, &info);
        Sanhe__ReconcileReply *one = recon_reply_hospital(h, day, known ? info.name : NULL, NULL);
        if (one == NULL || op->txn->ret != 0) {
            if (one != NULL)
                sanhe__reconcile_reply__free_unpacked(one, NULL);
            sanhe__reconcile_reply__free_unpacked(rr, NULL);
            return NULL;
        }
        rr->hospitals[rr->n_hospitals++] = one;
    }
    return rr;
}

static int reconcile_day(struct ledger_op *op, const Sanhe__ReconcileRequest *q, uint32_t day)
{
    if (q->figures != NULL || q->with_items || q->n_items > 0)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST,
                            "reconcile: figures and items need a hospital");
    struct recon_want want = {.hours = q->with_hours, .utc_offset_min = op->ledger->utc_offset_min};
    struct recon_day d;
    int rc = recon_scan_day(op->txn, day, &want, &d);
    if (rc != 0)
        rc = scan_failed(op, rc);
    else
        rc = pack_reply(op, day_reply(op, &d, q->day));
    recon_day_free(&d);
    return rc != 0 && op->txn->ret != 0 ? op->txn->ret : rc;
}

int ledger_op_reconcile(struct ledger_op *op)
{
    const Sanhe__ReconcileRequest *q = op->request->reconcile;
    if (q == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "reconcile: no request");
    uint32_t day = sh_date_parse(q->day);
    if (day == 0) {
        sh_error_set(&op->err, SH_E_BAD_REQUEST, "reconcile: day: not YYYY-MM-DD");
        return sh_error_detail(&op->err, SH_D_FIELD_INVALID, "%s", "day");
    }
    const char *hospital = q->hospital != NULL ? q->hospital : "";
    if (op->caller->role == SH_ROLE_COUNTER) {
        if (hospital[0] == '\0')
            hospital = op->caller->hospital;
        if (strcmp(hospital, op->caller->hospital) != 0) {
            sh_error_set(&op->err, SH_E_FORBIDDEN,
                         "reconcile: a counter reconciles only its own hospital");
            return sh_error_detail(&op->err, SH_D_RECONCILE_OWN_HOSPITAL, "%s",
                                   op->caller->hospital);
        }
    }
    if (hospital[0] == '\0')
        return reconcile_day(op, q, day);
    return reconcile_hospital(op, q, hospital, day);
}
