/*
 * After a restart: what a counter does with the requests the crash left
 * without an answer, and the check that answered ones were kept. Each step
 * is pipelined (crash_pipe.c); the steps of one client run in order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_req.h"
#include "crash_run.h"
#include "sh_error.h"

/* The requests of ops idx[0..n), pipelined; resps[k] answers idx[k]. */
static bool send_ops(struct crash_client *c, struct tc *tc, const size_t *idx, size_t n,
                     Sanhe__Response **resps)
{
    Sanhe__Request **reqs = malloc((n + 1) * sizeof *reqs);
    int rc = reqs != NULL ? 0 : SH_E_INTERNAL;
    for (size_t k = 0; rc == 0 && k < n; k++)
        reqs[k] = c->ops[idx[k]].request;
    if (rc == 0)
        rc = crash_pipeline(tc, reqs, resps, n);
    free(reqs);
    if (rc != 0)
        crash_fail(c, "%zu requests to the running engine: %s (%s)", n, sh_error_name(rc),
                   tc_last_error(tc));
    return rc == 0;
}

static void free_responses(Sanhe__Response **resps, size_t n)
{
    for (size_t k = 0; resps != NULL && k < n; k++)
        sanhe__response__free_unpacked(resps[k], NULL);
    free(resps);
}

/* Sent again, each must get its recorded answer, byte for byte (the
 * stored idempotency reply, whether it was made before the crash or not). */
static bool replay_all(struct crash_client *c, struct tc *tc, const size_t *idx, size_t n)
{
    Sanhe__Response **resps = calloc(n + 1, sizeof *resps);
    bool ok = resps != NULL && send_ops(c, tc, idx, n, resps);
    for (size_t k = 0; ok && k < n; k++) {
        bool same = crash_same_response(c->ops[idx[k]].reply, resps[k]);
        if (!same) {
            char err[300];
            crash_fail(c, "%s sent again: another reply than the first (%s)", c->ops[idx[k]].rid,
                       crash_error_text(resps[k], err, sizeof err));
        }
        c->stats.resent += same;
        ok = same;
    }
    free_responses(resps, n);
    return ok;
}

/* Same request id, same payload: each settles (or reverses) exactly once,
 * whether or not its first attempt had landed before the kill. */
static bool retry_all(struct crash_client *c, struct tc *tc, const size_t *idx, size_t n)
{
    Sanhe__Response **resps = calloc(n + 1, sizeof *resps);
    bool ok = resps != NULL && send_ops(c, tc, idx, n, resps);
    for (size_t k = 0; ok && k < n; k++) {
        ok = crash_record(c, idx[k], resps[k]); /* takes the response */
        resps[k] = NULL;
        c->stats.retried += ok;
    }
    free_responses(resps, n);
    return ok && replay_all(c, tc, idx, n);
}

/* ---- cancel instead of retry -------------------------------------------------------------- */

/* The cancel's answer: reversed when the settle had landed (naming its
 * settlement), else a marker. Takes resp. */
static bool record_cancel(struct crash_client *c, size_t k, size_t i, Sanhe__Response *resp)
{
    const Sanhe__CancelReply *cr = resp->cancel;
    if (resp->error != NULL || cr == NULL || (cr->reversed && cr->settlement_id == 0)) {
        char err[300];
        crash_fail(c, "cancel %s of unanswered settle %s: %s", c->ops[k].rid, c->ops[i].rid,
                   crash_error_text(resp, err, sizeof err));
        sanhe__response__free_unpacked(resp, NULL);
        return false;
    }
    c->ops[k].reply = resp;
    c->stats.cancels++;
    if (cr->reversed) {
        c->ops[i].landed = c->ops[i].undone = true;
        c->ops[i].settlement_id = cr->settlement_id;
        c->stats.cancel_landed++;
    } else {
        c->ops[i].cancelled_unlanded = true;
    }
    return true;
}

/* A cancel for each settle of settles[0..n); its ops into cancels. */
static bool send_cancels(struct crash_client *c, struct tc *tc, const size_t *settles,
                         size_t *cancels, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        cancels[k] = crash_op_new(c, CRASH_CANCEL, settles[k]);
        if (cancels[k] == CRASH_NO_TARGET) {
            crash_fail(c, "out of memory");
            return false;
        }
        c->ops[settles[k]].undo_pending = true;
        c->ops[cancels[k]].request =
            crash_req_cancel(c->ops[cancels[k]].rid, c->ops[settles[k]].rid);
    }
    Sanhe__Response **resps = calloc(n + 1, sizeof *resps);
    bool ok = resps != NULL && send_ops(c, tc, cancels, n, resps);
    for (size_t k = 0; ok && k < n; k++) {
        ok = record_cancel(c, cancels[k], settles[k], resps[k]);
        resps[k] = NULL;
    }
    free_responses(resps, n);
    return ok && replay_all(c, tc, cancels, n);
}

/* docs/rules.md: a settle cancelled before it landed is refused
 * ALREADY_REVERSED when it arrives late; one that had landed before its
 * cancel is an id already used with the same payload, and gets its stored
 * reply (its settlement, now reversed: query tells). Takes resp. */
static bool check_late_settle(struct crash_client *c, size_t i, Sanhe__Response *resp)
{
    if (c->ops[i].landed)
        return crash_record(c, i, resp);
    bool ok = resp->error != NULL && resp->error->code == SANHE__ERROR_CODE__ALREADY_REVERSED;
    if (!ok) {
        char err[300];
        crash_fail(c, "late settle %s after its cancel: not ALREADY_REVERSED (%s)", c->ops[i].rid,
                   crash_error_text(resp, err, sizeof err));
    }
    sanhe__response__free_unpacked(resp, NULL);
    return ok;
}

static bool send_late_settles(struct crash_client *c, struct tc *tc, const size_t *settles,
                              size_t n)
{
    Sanhe__Response **resps = calloc(n + 1, sizeof *resps);
    bool ok = resps != NULL && send_ops(c, tc, settles, n, resps);
    for (size_t k = 0; ok && k < n; k++) {
        ok = check_late_settle(c, settles[k], resps[k]);
        resps[k] = NULL;
    }
    free_responses(resps, n);
    return ok;
}

/* The engine's view of a cancelled settle: reversed when it had landed,
 * unknown when it had not. */
static bool check_not_paid(struct crash_client *c, size_t i, const Sanhe__Response *resp)
{
    const struct crash_op *op = &c->ops[i];
    const Sanhe__Settlement *s = resp->query != NULL ? resp->query->settlement : NULL;
    bool ok = op->landed ? s != NULL && s->settlement_id == op->settlement_id &&
                               s->state == SANHE__SETTLEMENT_STATE__REVERSED
                         : resp->error != NULL && resp->error->code == SANHE__ERROR_CODE__NOT_FOUND;
    if (!ok) {
        char err[300];
        crash_fail(c, "query of cancelled settle %s (landed %d): state %d (%s)", op->rid,
                   op->landed, s != NULL ? (int)s->state : -1,
                   crash_error_text(resp, err, sizeof err));
    }
    return ok;
}

static bool query_cancelled(struct crash_client *c, struct tc *tc, const size_t *settles, size_t n)
{
    Sanhe__Request **reqs = calloc(n + 1, sizeof *reqs);
    Sanhe__Response **resps = calloc(n + 1, sizeof *resps);
    for (size_t k = 0; reqs != NULL && k < n; k++) {
        char rid[40];
        snprintf(rid, sizeof rid, "q-%s", c->ops[settles[k]].rid);
        reqs[k] = crash_req_query(rid, 0, c->hospital, c->ops[settles[k]].rid);
    }
    int rc = reqs != NULL && resps != NULL ? crash_run_all(tc, reqs, resps, n) : SH_E_INTERNAL;
    if (rc != 0)
        crash_fail(c, "queries of cancelled settles: %s", sh_error_name(rc));
    bool ok = rc == 0;
    for (size_t k = 0; ok && k < n; k++)
        ok = check_not_paid(c, settles[k], resps[k]);
    free(reqs);
    free_responses(resps, n);
    return ok;
}

/* What a counter that timed out does: cancel, then (the original arriving
 * late) the settle again, which must not pay; then a look at the engine. */
static bool cancel_all(struct crash_client *c, struct tc *tc, const size_t *settles, size_t n)
{
    size_t *cancels = calloc(n + 1, sizeof *cancels);
    bool ok = cancels != NULL && send_cancels(c, tc, settles, cancels, n) &&
              send_late_settles(c, tc, settles, n) && query_cancelled(c, tc, settles, n);
    /* The late settles that had landed now have a recorded reply: again. */
    size_t m = 0;
    for (size_t k = 0; ok && k < n; k++)
        if (c->ops[settles[k]].landed)
            cancels[m++] = settles[k];
    ok = ok && (m == 0 || replay_all(c, tc, cancels, m));
    free(cancels);
    return ok;
}

/* ---- one client's recovery ---------------------------------------------------------------- */

/* Splits this round's unanswered ops: to retry, or (in a cancel round,
 * half of the settles) to cancel. */
static bool resolve_round(struct crash_recover *r, struct tc *tc)
{
    struct crash_client *c = r->client;
    size_t end = c->count, nr = 0, nc = 0;
    size_t *retry = malloc((end - c->round_start + 1) * sizeof *retry);
    size_t *cancel = malloc((end - c->round_start + 1) * sizeof *cancel);
    for (size_t i = c->round_start; retry != NULL && cancel != NULL && i < end; i++) {
        if (c->ops[i].reply != NULL || c->ops[i].cancelled_unlanded)
            continue;
        if (r->cancel_round && c->ops[i].kind == CRASH_SETTLE && crash_rng_below(&c->rng, 2))
            cancel[nc++] = i;
        else
            retry[nr++] = i;
    }
    bool ok = retry != NULL && cancel != NULL && (nr == 0 || retry_all(c, tc, retry, nr)) &&
              (nc == 0 || cancel_all(c, tc, cancel, nc));
    if (retry == NULL || cancel == NULL)
        crash_fail(c, "out of memory");
    free(retry);
    free(cancel);
    return ok;
}

/* Answered requests of any round (acknowledged before a kill, or answered
 * to a retry since), chosen at random, sent again: every answer a counter
 * was given must outlive every later crash. */
static bool resend_some(struct crash_client *c, struct tc *tc, int count)
{
    size_t idx[CRASH_CHUNK], n = 0;
    for (int tries = 0; n < (size_t)count && n < CRASH_CHUNK && tries < 8 * count && c->count > 0;
         tries++) {
        size_t i = crash_rng_below(&c->rng, (uint32_t)c->count);
        if (c->ops[i].reply != NULL)
            idx[n++] = i;
    }
    return n == 0 || replay_all(c, tc, idx, n);
}

void *crash_recover_thread(void *arg)
{
    struct crash_recover *r = arg;
    struct crash_client *c = r->client;
    struct tc *tc;
    if (crash_env_connect(r->env, c->terminal, 50, &tc) != 0) {
        crash_fail(c, "cannot connect to the restarted engine");
        return NULL;
    }
    if (resolve_round(r, tc))
        resend_some(c, tc, r->resend);
    tc_close(tc);
    return NULL;
}
