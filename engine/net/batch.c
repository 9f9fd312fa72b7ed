/*
 * Group commit, in the manner of Redis's beforeSleep, with the commit off
 * the loop thread.
 *
 * libuv runs one loop iteration as: timers, pending callbacks, idle, prepare,
 * poll (every I/O callback: our reads, hence every decoded write request),
 * check, close callbacks. A uv_check hook runs right after the poll phase, so
 * every write read during this iteration is queued by then. (A uv_prepare
 * hook would run before the poll, leaving them to wait an iteration.)
 *
 * One batch: ledger_batch_begin, ledger_batch_apply for each queued write in
 * arrival order (so claims see each other's accumulator changes as if they
 * came one by one), ledger_batch_commit (durable), and only then the replies
 * are handed to their connections. If the commit fails, nothing of the batch
 * is on disk and every reply becomes an error with the commit's code.
 *
 * The batch runs on libuv's thread pool (uv_queue_work), one at a time:
 * while it applies and waits for fdatasync, the loop thread goes on with
 * TLS, framing, reads (ledger_read, which may run beside the writer) and
 * queueing the writes that arrive. When the batch is durable its after-work
 * callback answers it and starts the next batch at once with everything
 * queued meanwhile, so the batch grows with the load by itself. When no
 * batch is in flight, the check hook starts one.
 *
 * At most batch_max writes per batch; the rest waits for the next one.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "net_internal.h"
#include "net_log.h"

/* ---- The queue -------------------------------------------------------------- */

static int queue_grow(struct batch_queue *q)
{
    size_t cap = q->cap > 0 ? q->cap * 2 : 256;
    struct batch_item *items = malloc(cap * sizeof *items);
    if (items == NULL)
        return -1;
    for (size_t i = 0; i < q->len; i++) /* unwrap the ring */
        items[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
    return 0;
}

static void queue_pop(struct batch_queue *q, struct batch_item *out)
{
    *out = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
}

static bool batch_queue_empty(const struct net_server *server) { return server->queue.len == 0; }

int batch_enqueue(struct net_server *server, struct conn *conn, Sanhe__Request *request)
{
    struct batch_queue *q = &server->queue;
    if (q->len == q->cap && queue_grow(q) != 0)
        return SH_E_INTERNAL;
    struct batch_item *item = &q->items[(q->head + q->len) % q->cap];
    memset(item, 0, sizeof *item);
    item->conn = conn;
    item->request = request;
    item->caller = conn->caller;
    q->len++;
    conn_ref(conn);
    conn->inflight++;
    return 0;
}

/* ---- One batch ---------------------------------------------------------------- */

static int64_t clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Applies every item in order and commits; returns 0 or the code that now
 * answers every item of the batch. */
static int batch_apply_all(struct net_server *server, struct batch_item *items, size_t n)
{
    struct ledger_batch *batch = NULL;
    int rc = ledger_batch_begin(server->ledger, clock_ms(CLOCK_REALTIME), &batch);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = ledger_batch_apply(batch, &items[i].caller, items[i].request, &items[i].reply);
    if (rc < 0) {
        ledger_batch_abort(batch);
        return rc;
    }
    return ledger_batch_commit(batch);
}

/* A code the wire knows, or INTERNAL. */
static int batch_error_code(int rc)
{
    return strcmp(sh_error_name(rc), "UNKNOWN_ERROR") != 0 ? rc : SH_E_INTERNAL;
}

static void batch_fail_replies(struct batch_item *items, size_t n, int rc)
{
    net_log(NET_LOG_ERROR, "group commit of %zu writes failed: %s; every one is refused", n,
            sh_error_name(rc));
    for (size_t i = 0; i < n; i++) {
        free(items[i].reply.data);
        memset(&items[i].reply, 0, sizeof items[i].reply);
        frame_error_reply(items[i].request->request_id, batch_error_code(rc),
                          "the write could not be committed; nothing was recorded",
                          &items[i].reply);
    }
}

/* Hands each reply to its connection (queued, not yet encrypted), then
 * flushes each connection once and lets it resume reading. */
static void batch_deliver(struct batch_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct conn *c = items[i].conn;
        if (items[i].reply.data != NULL &&
            frame_reply_error(items[i].reply.data, items[i].reply.len) == SH_E_FORBIDDEN)
            conn_log_forbidden(c, items[i].request);
        conn_queue_reply(c, &items[i].reply);
        free(items[i].reply.data);
        sanhe__request__free_unpacked(items[i].request, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        struct conn *c = items[i].conn;
        conn_flush(c); /* a no-op after the first item of a connection */
        conn_write_done(c);
        conn_unref(c);
    }
}

/* The writer thread: applies and commits the batch. It touches the ledger's
 * write side and the batch's items only; the loop thread leaves both alone
 * until batch_after_work (libuv orders the two). */
static void batch_work(uv_work_t *work)
{
    struct net_server *server = work->data;
    server->batch_rc = batch_apply_all(server, server->batch_scratch, server->batch_len);
}

static void batch_maybe_start(struct net_server *server);

/* Back on the loop thread, the batch durable or failed: answer it, and
 * start the next one with whatever was read meanwhile. */
static void batch_after_work(uv_work_t *work, int status)
{
    struct net_server *server = work->data;
    struct batch_item *items = server->batch_scratch;
    size_t n = server->batch_len;
    int rc = status == 0 ? server->batch_rc : SH_E_INTERNAL; /* we never cancel */
    server->batch_busy = false;
    server->batch_len = 0;
    net_stats_record_batch(&server->stats, n, clock_us() - server->batch_start_us, rc == 0);
    if (rc < 0)
        batch_fail_replies(items, n, rc);
    batch_deliver(items, n);
    batch_maybe_start(server);
}

/* Hands the oldest queued writes (at most batch_max) to the writer thread.
 * Meanwhile the loop goes on: TLS, decoding, reads, and queueing the writes
 * that make the next batch. One batch at a time: LMDB has one writer. */
static void batch_start(struct net_server *server)
{
    assert(!server->batch_busy && !batch_queue_empty(server));
    size_t n =
        server->queue.len < server->limits.batch_max ? server->queue.len : server->limits.batch_max;
    for (size_t i = 0; i < n; i++)
        queue_pop(&server->queue, &server->batch_scratch[i]);
    server->batch_len = n;
    server->batch_busy = true;
    server->batch_start_us = clock_us();
    server->batch_work.data = server;
    if (uv_queue_work(server->loop, &server->batch_work, batch_work, batch_after_work) != 0) {
        /* Only for invalid arguments; do the batch here rather than never. */
        batch_work(&server->batch_work);
        batch_after_work(&server->batch_work, 0);
    }
}

bool batch_idle(const struct net_server *server)
{
    return !server->batch_busy && batch_queue_empty(server);
}

/* The one way a batch starts: none in flight and writes waiting. */
static void batch_maybe_start(struct net_server *server)
{
    if (!server->batch_busy && !batch_queue_empty(server))
        batch_start(server);
}

static void batch_on_check(uv_check_t *check) { batch_maybe_start(check->data); }

int batch_init(struct net_server *server)
{
    server->batch_scratch = calloc(server->limits.batch_max, sizeof *server->batch_scratch);
    if (server->batch_scratch == NULL)
        return SH_E_INTERNAL;
    uv_check_init(server->loop, &server->batch_check);
    server->batch_check.data = server;
    server->handles_open += 1;
    uv_check_start(&server->batch_check, batch_on_check);
    /* The batch hook alone must not keep the loop alive. */
    uv_unref((uv_handle_t *)&server->batch_check);
    return 0;
}

static void batch_on_close(uv_handle_t *handle) { server_handle_closed(handle->data); }

void batch_close(struct net_server *server)
{
    uv_close((uv_handle_t *)&server->batch_check, batch_on_close);
}
