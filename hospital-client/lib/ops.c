/* The operations: build the request, make the call, copy the reply out. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* settle and presettle share their claim and their reply's shape. */
static int claim_call(sanhe_client *c, const struct sanhe_claim *claim, const char *request_id,
                      bool settle, int timeout_ms, struct sanhe_settle_result *out)
{
    if (out == NULL)
        return SANHE_E_INVAL;
    memset(out, 0, sizeof *out);
    int rc = sanhe_call_begin(c, request_id);
    if (rc != 0)
        return rc;
    Sanhe__Claim pb;
    Sanhe__Line *lines, **ptrs;
    rc = sanhe_claim_to_pb(claim, &pb, &lines, &ptrs);
    Sanhe__SettleRequest s = SANHE__SETTLE_REQUEST__INIT;
    Sanhe__PresettleRequest p = SANHE__PRESETTLE_REQUEST__INIT;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    s.claim = p.claim = &pb;
    req.op_case = settle ? SANHE__REQUEST__OP_SETTLE : SANHE__REQUEST__OP_PRESETTLE;
    if (settle)
        req.settle = &s;
    else
        req.presettle = &p;
    Sanhe__Response *r = NULL;
    if (rc == 0)
        rc = sanhe_call(c, &req, settle, timeout_ms, &r);
    free(lines);
    free(ptrs);
    if (rc != 0)
        return rc;
    const Sanhe__Breakdown *b =
        settle && r->result_case == SANHE__RESPONSE__RESULT_SETTLE       ? r->settle->breakdown
        : !settle && r->result_case == SANHE__RESPONSE__RESULT_PRESETTLE ? r->presettle->breakdown
                                                                         : NULL;
    rc = sanhe_breakdown_from_pb(b, &out->breakdown);
    if (rc == 0 && settle) {
        out->settlement_id = r->settle->settlement_id;
        sanhe_day_copy(out->business_day, r->settle->business_day);
    }
    sanhe__response__free_unpacked(r, NULL);
    return rc;
}

int sanhe_settle(sanhe_client *c, const struct sanhe_claim *claim, const char *request_id,
                 int timeout_ms, struct sanhe_settle_result *out)
{
    return claim_call(c, claim, request_id, true, timeout_ms, out);
}

int sanhe_presettle(sanhe_client *c, const struct sanhe_claim *claim, int timeout_ms,
                    struct sanhe_settle_result *out)
{
    return claim_call(c, claim, NULL, false, timeout_ms, out);
}

int sanhe_reverse(sanhe_client *c, uint64_t settlement_id, const char *request_id, int timeout_ms,
                  struct sanhe_reverse_result *out)
{
    if (out == NULL || settlement_id == 0)
        return SANHE_E_INVAL;
    memset(out, 0, sizeof *out);
    int rc = sanhe_call_begin(c, request_id);
    Sanhe__ReverseRequest op = SANHE__REVERSE_REQUEST__INIT;
    op.target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID;
    op.settlement_id = settlement_id;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_REVERSE;
    req.reverse = &op;
    Sanhe__Response *r = NULL;
    if (rc == 0)
        rc = sanhe_call(c, &req, true, timeout_ms, &r);
    if (rc != 0)
        return rc;
    if (r->result_case != SANHE__RESPONSE__RESULT_REVERSE)
        rc = SANHE_E_PROTOCOL;
    else {
        out->settlement_id = r->reverse->settlement_id;
        out->reversed = r->reverse->reversed ? 1 : 0;
        sanhe_day_copy(out->business_day, r->reverse->business_day);
    }
    sanhe__response__free_unpacked(r, NULL);
    return rc;
}

int sanhe_cancel(sanhe_client *c, const char *cancel_of, const char *request_id, int timeout_ms,
                 struct sanhe_cancel_result *out)
{
    if (out == NULL || cancel_of == NULL || cancel_of[0] == '\0')
        return SANHE_E_INVAL;
    memset(out, 0, sizeof *out);
    int rc = sanhe_call_begin(c, request_id);
    Sanhe__CancelRequest op = SANHE__CANCEL_REQUEST__INIT;
    op.cancel_of = (char *)cancel_of;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_CANCEL;
    req.cancel = &op;
    Sanhe__Response *r = NULL;
    if (rc == 0)
        rc = sanhe_call(c, &req, true, timeout_ms, &r);
    if (rc != 0)
        return rc;
    if (r->result_case != SANHE__RESPONSE__RESULT_CANCEL)
        rc = SANHE_E_PROTOCOL;
    else {
        out->reversed = r->cancel->reversed ? 1 : 0;
        out->settlement_id = r->cancel->settlement_id;
    }
    sanhe__response__free_unpacked(r, NULL);
    return rc;
}

int sanhe_query(sanhe_client *c, uint64_t settlement_id, const char *settle_request_id,
                int timeout_ms, struct sanhe_settlement *out)
{
    if (out == NULL || (settlement_id == 0) == (settle_request_id == NULL))
        return SANHE_E_INVAL;
    memset(out, 0, sizeof *out);
    int rc = sanhe_call_begin(c, NULL);
    Sanhe__QueryRequest op = SANHE__QUERY_REQUEST__INIT;
    if (settle_request_id != NULL) {
        op.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
        op.settlement_request_id = (char *)settle_request_id;
    } else {
        op.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_ID;
        op.settlement_id = settlement_id;
    }
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_QUERY;
    req.query = &op;
    Sanhe__Response *r = NULL;
    if (rc == 0)
        rc = sanhe_call(c, &req, false, timeout_ms, &r);
    if (rc != 0)
        return rc;
    rc = sanhe_settlement_from_pb(
        r->result_case == SANHE__RESPONSE__RESULT_QUERY ? r->query->settlement : NULL, out);
    sanhe__response__free_unpacked(r, NULL);
    return rc;
}

/* Today in local time, "YYYY-MM-DD". */
static void today(char out[16])
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

int sanhe_eligibility(sanhe_client *c, const char *person, const char *date, int timeout_ms,
                      struct sanhe_eligibility *out)
{
    if (out == NULL || person == NULL)
        return SANHE_E_INVAL;
    memset(out, 0, sizeof *out);
    int rc = sanhe_call_begin(c, NULL);
    char day[16];
    if (date == NULL)
        today(day);
    Sanhe__EligibilityRequest op = SANHE__ELIGIBILITY_REQUEST__INIT;
    op.person = (char *)person;
    op.date = date != NULL ? (char *)date : day;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_ELIGIBILITY;
    req.eligibility = &op;
    Sanhe__Response *r = NULL;
    if (rc == 0)
        rc = sanhe_call(c, &req, false, timeout_ms, &r);
    if (rc != 0)
        return rc;
    rc = sanhe_eligibility_from_pb(
        r->result_case == SANHE__RESPONSE__RESULT_ELIGIBILITY ? r->eligibility : NULL, out);
    sanhe__response__free_unpacked(r, NULL);
    return rc;
}

/* Operations that cannot change the engine's state: a lost reply to one of
 * them is a plain timeout. Anything else, including operations added to the
 * protocol later, is treated as state-changing (never guess). */
static bool read_only(Sanhe__Request__OpCase op)
{
    return op == SANHE__REQUEST__OP_PRESETTLE || op == SANHE__REQUEST__OP_QUERY ||
           op == SANHE__REQUEST__OP_ELIGIBILITY || op == SANHE__REQUEST__OP_RECONCILE ||
           op == SANHE__REQUEST__OP_CROSSCHECK || op == SANHE__REQUEST__OP_IMPORT_LOG;
}

/* A copy of the last reply's bytes, for the caller to free(). */
static int copy_reply(const sanhe_client *c, void **reply, size_t *reply_len)
{
    *reply = malloc(c->reply_len > 0 ? c->reply_len : 1);
    if (*reply == NULL)
        return SANHE_E_NOMEM;
    memcpy(*reply, c->reply, c->reply_len);
    *reply_len = c->reply_len;
    return 0;
}

int sanhe_call_raw(sanhe_client *c, const void *request, size_t len, int timeout_ms, void **reply,
                   size_t *reply_len)
{
    if (reply == NULL || reply_len == NULL)
        return SANHE_E_INVAL;
    *reply = NULL;
    *reply_len = 0;
    if (c == NULL || (request == NULL && len > 0))
        return SANHE_E_INVAL;
    /* Unpacked to learn its request id (replies are matched on it) and
     * whether it changes state; sanhe_call packs it again, unchanged but
     * for a generated request id. */
    Sanhe__Request *req = sanhe__request__unpack(NULL, len, request);
    if (req == NULL || req->op_case == SANHE__REQUEST__OP__NOT_SET) {
        if (req != NULL)
            sanhe__request__free_unpacked(req, NULL);
        sanhe_set_message(c, "the request is not a sanhe.Request naming an operation");
        sanhe_set_why(c, SANHE_WHY_BAD_REQUEST, 0, SANHE_ADDRESSES_MAX);
        return SANHE_E_INVAL;
    }
    char *own_id = req->request_id;
    int rc = sanhe_call_begin(c, own_id != NULL && own_id[0] != '\0' ? own_id : NULL);
    Sanhe__Response *r = NULL;
    if (rc == 0)
        rc = sanhe_call(c, req, !read_only(req->op_case), timeout_ms, &r);
    if (rc == 0) {
        sanhe__response__free_unpacked(r, NULL);
        rc = copy_reply(c, reply, reply_len);
    }
    req->request_id = own_id; /* sanhe_call pointed it at client->request_id */
    sanhe__request__free_unpacked(req, NULL);
    return rc;
}
