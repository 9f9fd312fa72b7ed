/*
 * The asynchronous form: the synchronous call, run on the caller's libuv
 * thread pool, its callback on the loop's thread. The blocking call already
 * has everything a counter needs (deadline, reconnects, the same request id
 * on every resend), so running it off the loop thread gives a loop-based
 * program the same guarantees without a second implementation to keep
 * exactly-once in.
 *
 * Every operation is one struct async_call with two small functions: run
 * (the synchronous call, on a pool thread) and deliver (its callback, on the
 * loop's thread). Queueing, argument copies and freeing are shared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "internal.h"

struct async_call {
    uv_work_t work;
    void (*run)(struct async_call *a);
    void (*deliver)(struct async_call *a);
    sanhe_client *client;
    const struct sanhe_claim *claim;       /* the caller keeps it alive */
    char request_id[SANHE_REQUEST_ID_MAX]; /* "" for a generated one */
    /* Copies of the string arguments, so that the caller's may go at once. */
    char *text[2];
    uint64_t settlement_id;
    int timeout_ms, status;
    union {
        struct sanhe_settle_result settle;
        struct sanhe_cancel_result cancel;
        struct sanhe_reverse_result reverse;
        struct sanhe_settlement settlement;
        struct sanhe_eligibility eligibility;
    } out;
    union {
        sanhe_settle_cb settle;
        sanhe_cancel_cb cancel;
        sanhe_reverse_cb reverse;
        sanhe_query_cb query;
        sanhe_eligibility_cb eligibility;
    } done;
    void *arg;
};

/* The request id the synchronous call gets: NULL asks it to generate one. */
static const char *rid(const struct async_call *a)
{
    return a->request_id[0] != '\0' ? a->request_id : NULL;
}

static void work_cb(uv_work_t *w)
{
    struct async_call *a = w->data;
    a->run(a);
}

static void async_free(struct async_call *a)
{
    free(a->text[0]);
    free(a->text[1]);
    free(a);
}

static void after_cb(uv_work_t *w, int uv_status)
{
    struct async_call *a = w->data;
    (void)uv_status; /* work is never cancelled: nothing calls uv_cancel on it */
    a->deliver(a);   /* the callback owns the result's contents (see the header) */
    async_free(a);
}

/* Queues a copy of call (its run, deliver, callback and arguments set),
 * with copies of the string arguments text0 and text1 (NULL: none). On an
 * error nothing is queued, and no callback will run. */
static int start(sanhe_client *c, void *uv_loop, bool has_done, const struct async_call *call,
                 const char *request_id, const char *text0, const char *text1)
{
    if (c == NULL || uv_loop == NULL || !has_done ||
        (request_id != NULL && strlen(request_id) >= SANHE_REQUEST_ID_MAX))
        return SANHE_E_INVAL;
    struct async_call *a = malloc(sizeof *a);
    if (a == NULL)
        return SANHE_E_NOMEM;
    *a = *call;
    a->client = c;
    a->work.data = a;
    snprintf(a->request_id, sizeof a->request_id, "%s", request_id ? request_id : "");
    a->text[0] = text0 != NULL ? strdup(text0) : NULL;
    a->text[1] = text1 != NULL ? strdup(text1) : NULL;
    int rc = (text0 != NULL && a->text[0] == NULL) || (text1 != NULL && a->text[1] == NULL)
                 ? SANHE_E_NOMEM
                 : 0;
    if (rc == 0 && uv_queue_work(uv_loop, &a->work, work_cb, after_cb) != 0)
        rc = SANHE_E_INVAL;
    if (rc != 0)
        async_free(a);
    return rc;
}

/* ---- settle and presettle ---- */

static void run_settle(struct async_call *a)
{
    a->status = sanhe_settle(a->client, a->claim, rid(a), a->timeout_ms, &a->out.settle);
}

static void run_presettle(struct async_call *a)
{
    a->status = sanhe_presettle(a->client, a->claim, a->timeout_ms, &a->out.settle);
}

static void deliver_settle(struct async_call *a)
{
    a->done.settle(a->client, a->status, a->status == 0 ? &a->out.settle : NULL, a->arg);
}

static int claim_async(sanhe_client *c, void *loop, void (*run)(struct async_call *),
                       const struct sanhe_claim *claim, const char *request_id, int timeout_ms,
                       sanhe_settle_cb done, void *arg)
{
    if (claim == NULL)
        return SANHE_E_INVAL;
    struct async_call call = {.run = run,
                              .deliver = deliver_settle,
                              .done.settle = done,
                              .claim = claim,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, request_id, NULL, NULL);
}

int sanhe_settle_async(sanhe_client *c, void *loop, const struct sanhe_claim *claim,
                       const char *request_id, int timeout_ms, sanhe_settle_cb done, void *arg)
{
    return claim_async(c, loop, run_settle, claim, request_id, timeout_ms, done, arg);
}

int sanhe_presettle_async(sanhe_client *c, void *loop, const struct sanhe_claim *claim,
                          int timeout_ms, sanhe_settle_cb done, void *arg)
{
    return claim_async(c, loop, run_presettle, claim, NULL, timeout_ms, done, arg);
}

/* ---- cancel ---- */

static void run_cancel(struct async_call *a)
{
    a->status = sanhe_cancel(a->client, a->text[0], rid(a), a->timeout_ms, &a->out.cancel);
}

static void deliver_cancel(struct async_call *a)
{
    a->done.cancel(a->client, a->status, a->status == 0 ? &a->out.cancel : NULL, a->arg);
}

int sanhe_cancel_async(sanhe_client *c, void *loop, const char *cancel_of, const char *request_id,
                       int timeout_ms, sanhe_cancel_cb done, void *arg)
{
    if (cancel_of == NULL || cancel_of[0] == '\0' || strlen(cancel_of) >= SANHE_REQUEST_ID_MAX)
        return SANHE_E_INVAL;
    struct async_call call = {.run = run_cancel,
                              .deliver = deliver_cancel,
                              .done.cancel = done,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, request_id, cancel_of, NULL);
}

/* ---- reverse ---- */

static void run_reverse(struct async_call *a)
{
    a->status = sanhe_reverse(a->client, a->settlement_id, rid(a), a->timeout_ms, &a->out.reverse);
}

static void deliver_reverse(struct async_call *a)
{
    a->done.reverse(a->client, a->status, a->status == 0 ? &a->out.reverse : NULL, a->arg);
}

int sanhe_reverse_async(sanhe_client *c, void *loop, uint64_t settlement_id, const char *request_id,
                        int timeout_ms, sanhe_reverse_cb done, void *arg)
{
    if (settlement_id == 0)
        return SANHE_E_INVAL;
    struct async_call call = {.run = run_reverse,
                              .deliver = deliver_reverse,
                              .done.reverse = done,
                              .settlement_id = settlement_id,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, request_id, NULL, NULL);
}

/* ---- query ---- */

static void run_query(struct async_call *a)
{
    a->status =
        sanhe_query(a->client, a->settlement_id, a->text[0], a->timeout_ms, &a->out.settlement);
}

static void deliver_query(struct async_call *a)
{
    a->done.query(a->client, a->status, a->status == 0 ? &a->out.settlement : NULL, a->arg);
}

int sanhe_query_async(sanhe_client *c, void *loop, uint64_t settlement_id,
                      const char *settle_request_id, int timeout_ms, sanhe_query_cb done, void *arg)
{
    /* Exactly one of the two targets, as the synchronous call wants. */
    if ((settlement_id == 0) == (settle_request_id == NULL))
        return SANHE_E_INVAL;
    struct async_call call = {.run = run_query,
                              .deliver = deliver_query,
                              .done.query = done,
                              .settlement_id = settlement_id,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, NULL, settle_request_id, NULL);
}

/* ---- eligibility ---- */

static void run_eligibility(struct async_call *a)
{
    a->status =
        sanhe_eligibility(a->client, a->text[0], a->text[1], a->timeout_ms, &a->out.eligibility);
}

static void deliver_eligibility(struct async_call *a)
{
    a->done.eligibility(a->client, a->status, a->status == 0 ? &a->out.eligibility : NULL, a->arg);
}

int sanhe_eligibility_async(sanhe_client *c, void *loop, const char *person, const char *date,
                            int timeout_ms, sanhe_eligibility_cb done, void *arg)
{
    if (person == NULL)
        return SANHE_E_INVAL;
    struct async_call call = {.run = run_eligibility,
                              .deliver = deliver_eligibility,
                              .done.eligibility = done,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, NULL, person, date);
}
