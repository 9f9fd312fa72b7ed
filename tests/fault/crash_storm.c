/*
 * The load before a kill: the storm (a steady pipeline of mixed requests)
 * and the burst (one large pipelined group of settles).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crash_req.h"
#include "crash_run.h"

int64_t crash_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool crash_call(struct crash_client *c, struct tc *tc, const Sanhe__Request *req,
                Sanhe__Response **out)
{
    int rc = tc_call(tc, req, out, CRASH_REPLY_TIMEOUT_MS);
    if (rc != 0)
        crash_fail(c, "%s: no answer from the running engine: %s", req->request_id,
                   tc_last_error(tc));
    return rc == 0;
}

/* An acknowledged settle nobody has undone or is undoing, or none. A few
 * random probes are enough: most of the log qualifies. */
static size_t pick_undo_target(struct crash_client *c)
{
    for (int tries = 0; tries < 8 && c->count > 0; tries++) {
        size_t i = crash_rng_below(&c->rng, (uint32_t)c->count);
        const struct crash_op *op = &c->ops[i];
        if (op->kind == CRASH_SETTLE && op->reply != NULL && !op->undone && !op->undo_pending)
            return i;
    }
    return CRASH_NO_TARGET;
}

/* Builds op i's request; a reverse alternates between naming the
 * settlement id and the settle's request id. */
static bool build_op(struct crash_client *c, size_t i)
{
    struct crash_op *op = &c->ops[i];
    if (op->kind == CRASH_SETTLE) {
        op->request = crash_req_settle(&c->rng, op->rid, c->hospital);
    } else {
        struct crash_op *t = &c->ops[op->target];
        t->undo_pending = true;
        c->stats.undos++;
        op->request = op->kind == CRASH_CANCEL
                          ? crash_req_cancel(op->rid, t->rid)
                          : crash_req_reverse(op->rid, t->settlement_id,
                                              crash_rng_below(&c->rng, 2) ? t->rid : NULL);
    }
    if (op->request == NULL)
        crash_fail(c, "out of memory building %s", op->rid);
    return op->request != NULL;
}

/* Mostly settles; about one request in six undoes an acknowledged settle,
 * half of those with reverse, half with cancel. */
static size_t next_op(struct crash_client *c)
{
    uint32_t dice = crash_rng_below(&c->rng, 100);
    size_t target = dice < 16 ? pick_undo_target(c) : CRASH_NO_TARGET;
    enum crash_kind kind = target == CRASH_NO_TARGET ? CRASH_SETTLE
                           : dice < 8                ? CRASH_REVERSE
                                                     : CRASH_CANCEL;
    size_t i = crash_op_new(c, kind, target);
    if (i == CRASH_NO_TARGET)
        crash_fail(c, "out of memory");
    else if (!build_op(c, i))
        i = CRASH_NO_TARGET;
    return i;
}

/* Tops the pipeline up to window; false when sending failed (the kill).
 * An op is in the log before it is sent: one whose send broke off halfway
 * is unanswered like any other, and retried. */
static bool fill(struct crash_client *c, struct tc *tc, int window, size_t *inflight, size_t *n)
{
    while (*n < (size_t)window) {
        size_t i = next_op(c);
        if (i == CRASH_NO_TARGET)
            return false;
        inflight[(*n)++] = i;
        if (tc_send(tc, c->ops[i].request) != 0)
            return false;
    }
    return true;
}

/* One answer of the pipeline; false when none came (the connection is
 * gone) or it is wrong. */
static bool take_answer(struct crash_client *c, struct tc *tc, size_t *inflight, size_t *n)
{
    Sanhe__Response *resp;
    if (tc_recv(tc, &resp, CRASH_REPLY_TIMEOUT_MS) != 0)
        return false;
    size_t k = crash_find_rid(c, inflight, *n, resp->request_id);
    if (k == *n) {
        crash_fail(c, "an answer to request \"%s\", which is not in flight",
                   resp->request_id != NULL ? resp->request_id : "");
        sanhe__response__free_unpacked(resp, NULL);
        return false;
    }
    size_t i = inflight[k];
    inflight[k] = inflight[--*n];
    if (!crash_record(c, i, resp))
        return false;
    c->ops[i].acked = true;
    c->stats.acked++;
    fprintf(stderr, "T %d answer %lld\n", c->index, (long long)crash_now_ms() % 100000);
    return true;
}

void *crash_storm_thread(void *arg)
{
    struct crash_storm *s = arg;
    struct crash_client *c = s->client;
    c->round_start = c->count;
    struct tc *tc;
    /* One attempt: when the kill came first, this round has nothing to send. */
    if (crash_env_connect(s->env, c->terminal, 1, &tc) != 0)
        return NULL;
    fprintf(stderr, "T %d connected %lld\n", c->index, (long long)crash_now_ms() % 100000);
    size_t inflight[CRASH_WINDOW_MAX], n = 0;
    int window = s->window < CRASH_WINDOW_MAX ? s->window : CRASH_WINDOW_MAX;
    while (crash_now_ms() < s->deadline_ms && fill(c, tc, window, inflight, &n) &&
           take_answer(c, tc, inflight, &n))
        ;
    tc_close(tc);
    return NULL;
}

/* ---- burst ------------------------------------------------------------------------------ */

static void burst_send(struct crash_client *c, struct tc *tc, int count)
{
    for (int k = 0; k < count; k++) {
        size_t i = crash_op_new(c, CRASH_SETTLE, CRASH_NO_TARGET);
        if (i == CRASH_NO_TARGET || !build_op(c, i) || tc_send(tc, c->ops[i].request) != 0)
            return;
    }
}

/* The unanswered op of this burst with request id rid, or c->count. */
static size_t burst_find(const struct crash_client *c, const char *rid)
{
    size_t i = c->round_start;
    while (i < c->count &&
           (rid == NULL || c->ops[i].reply != NULL || strcmp(c->ops[i].rid, rid) != 0))
        i++;
    return i;
}

/* Reads answers until each sent settle has one or the connection drops. */
static void burst_receive(struct crash_burst *b, struct tc *tc)
{
    struct crash_client *c = b->client;
    for (size_t answered = 0; answered < c->count - c->round_start; answered++) {
        Sanhe__Response *resp;
        if (tc_recv(tc, &resp, CRASH_REPLY_TIMEOUT_MS) != 0)
            return;
        atomic_fetch_add(b->answers, 1);
        size_t i = burst_find(c, resp->request_id);
        if (i == c->count) {
            crash_fail(c, "an answer to request \"%s\", which is not in flight",
                       resp->request_id != NULL ? resp->request_id : "");
            sanhe__response__free_unpacked(resp, NULL);
            return;
        }
        if (!crash_record(c, i, resp))
            return;
        c->ops[i].acked = true;
        c->stats.acked++;
    }
}

void *crash_burst_thread(void *arg)
{
    struct crash_burst *b = arg;
    struct crash_client *c = b->client;
    c->round_start = c->count;
    struct tc *tc = NULL;
    int rc = crash_env_connect(b->env, c->terminal, 20, &tc);
    pthread_barrier_wait(b->ready); /* even when not connected: the others wait for us */
    if (rc != 0) {
        crash_fail(c, "cannot connect before the burst");
        return NULL;
    }
    burst_send(c, tc, b->count);
    burst_receive(b, tc);
    tc_close(tc);
    return NULL;
}
