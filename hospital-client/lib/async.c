/*
 * The asynchronous form: the synchronous call, run on the caller's libuv
 * thread pool, its callback on the loop's thread. The blocking call already
 * has everything a counter needs (deadline, reconnects, the same request id
 * on every resend), so running it off the loop thread gives a loop-based
 * program the same guarantees without a second implementation to keep
 * exactly-once in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "internal.h"

enum async_op { ASYNC_SETTLE, ASYNC_PRESETTLE, ASYNC_CANCEL };

struct async_call {
    uv_work_t work;
    enum async_op op;
    sanhe_client *client;
    const struct sanhe_claim *claim;
    char request_id[SANHE_REQUEST_ID_MAX]; /* "" for a generated one */
    char cancel_of[SANHE_REQUEST_ID_MAX];
    int timeout_ms, status;
    struct sanhe_settle_result settle;
    struct sanhe_cancel_result cancel;
    sanhe_settle_cb settle_done;
    sanhe_cancel_cb cancel_done;
    void *arg;
};

static void work_cb(uv_work_t *w)
{
    struct async_call *a = w->data;
    const char *rid = a->request_id[0] ? a->request_id : NULL;
    if (a->op == ASYNC_SETTLE)
        a->status = sanhe_settle(a->client, a->claim, rid, a->timeout_ms, &a->settle);
    else if (a->op == ASYNC_PRESETTLE)
        a->status = sanhe_presettle(a->client, a->claim, a->timeout_ms, &a->settle);
    else
        a->status = sanhe_cancel(a->client, a->cancel_of, rid, a->timeout_ms, &a->cancel);
}

static void after_cb(uv_work_t *w, int uv_status)
{
    struct async_call *a = w->data;
    (void)uv_status; /* work is never cancelled: nothing calls uv_cancel on it */
    if (a->op == ASYNC_CANCEL)
        a->cancel_done(a->client, a->status, a->status == 0 ? &a->cancel : NULL, a->arg);
    else /* the callback owns the result's contents (see the header) */
        a->settle_done(a->client, a->status, a->status == 0 ? &a->settle : NULL, a->arg);
    free(a);
}

static int queue_call(struct async_call *a, void *uv_loop, const char *request_id)
{
    if (request_id != NULL && strlen(request_id) >= SANHE_REQUEST_ID_MAX) {
        free(a);
        return SANHE_E_INVAL;
    }
    snprintf(a->request_id, sizeof a->request_id, "%s", request_id ? request_id : "");
    a->work.data = a;
    if (uv_queue_work(uv_loop, &a->work, work_cb, after_cb) != 0) {
        free(a);
        return SANHE_E_INVAL;
    }
    return 0;
}

static int claim_async(sanhe_client *c, void *loop, enum async_op op,
                       const struct sanhe_claim *claim, const char *request_id, int timeout_ms,
                       sanhe_settle_cb done, void *arg)
{
    if (c == NULL || loop == NULL || claim == NULL || done == NULL)
        return SANHE_E_INVAL;
    struct async_call *a = calloc(1, sizeof *a);
    if (a == NULL)
        return SANHE_E_NOMEM;
    *a = (struct async_call){.op = op, .client = c, .claim = claim, .timeout_ms = timeout_ms,
                             .settle_done = done, .arg = arg};
    return queue_call(a, loop, request_id);
}

int sanhe_settle_async(sanhe_client *c, void *loop, const struct sanhe_claim *claim,
                       const char *request_id, int timeout_ms, sanhe_settle_cb done, void *arg)
{
    return claim_async(c, loop, ASYNC_SETTLE, claim, request_id, timeout_ms, done, arg);
}

int sanhe_presettle_async(sanhe_client *c, void *loop, const struct sanhe_claim *claim,
                          int timeout_ms, sanhe_settle_cb done, void *arg)
{
    return claim_async(c, loop, ASYNC_PRESETTLE, claim, NULL, timeout_ms, done, arg);
}

int sanhe_cancel_async(sanhe_client *c, void *loop, const char *cancel_of, const char *request_id,
                       int timeout_ms, sanhe_cancel_cb done, void *arg)
{
    if (c == NULL || loop == NULL || cancel_of == NULL || done == NULL ||
        strlen(cancel_of) >= SANHE_REQUEST_ID_MAX)
        return SANHE_E_INVAL;
    struct async_call *a = calloc(1, sizeof *a);
    if (a == NULL)
        return SANHE_E_NOMEM;
    *a = (struct async_call){.op = ASYNC_CANCEL, .client = c, .timeout_ms = timeout_ms,
                             .cancel_done = done, .arg = arg};
    snprintf(a->cancel_of, sizeof a->cancel_of, "%s", cancel_of);
    return queue_call(a, loop, request_id);
}
