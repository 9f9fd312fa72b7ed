/*
 * Group commit, in the manner of Redis's beforeSleep, with the commit and
 * its sync off the loop thread.
 *
 * libuv runs one loop iteration as: timers, pending callbacks, idle, prepare,
 * poll (every I/O callback: our reads, hence every decoded write request),
 * check, close callbacks. A uv_check hook runs right after the poll phase, so
 * every write read during this iteration is queued by then. (A uv_prepare
 * hook would run before the poll, leaving them to wait an iteration.)
 *
 * One batch: ledger_batch_begin, ledger_batch_apply for each queued write in
 * arrival order (so claims see each other's accumulator changes as if they
 * came one by one), ledger_batch_commit_nosync, then ledger_sync, and only
 * when that has returned 0 are the replies handed to their connections. If
 * the commit fails, nothing of the batch is on disk and every reply becomes
 * an error with the commit's code; if the sync fails, every reply of every
 * batch it was to make durable becomes INTERNAL (and the ledger takes no
 * more writes: see ledger_sync).
 *
 * A two-stage pipeline on libuv's thread pool (uv_queue_work):
 *   stage 1, the writer: apply and commit. LMDB's commit writes the pages,
 *     fdatasyncs them and writes the meta page unsynced (MDB_NOMETASYNC);
 *   stage 2, the sync: ledger_sync (one fdatasync) on another pool thread.
 * When stage 1 of a batch ends, the loop thread starts its stage 2 and, at
 * once, stage 1 of the next batch with everything queued meanwhile, so the
 * batch grows with the load by itself and the writer's applying never
 * waits for the second sync (its commit may: see below). At most
 * BATCH_SLOTS batches are in flight: one applying, the others committed;
 * one sync at a time, covering every batch committed when it started.
 * Batches are answered in commit order. When no batch is applying, the
 * check hook starts one. Meanwhile the loop thread goes on with TLS,
 * framing, reads (ledger_read, beside both stages) and queueing.
 *
 * Why a reply still means the data is on disk. A reply goes out only after
 * a ledger_sync that started after its batch's commit returned; by then the
 * batch's pages were synced by the commit, and its meta page was written
 * (pwrite returned) before the commit returned, so that fdatasync covers it
 * too. Why the store stays intact while the writer runs ahead of the sync:
 * LMDB keeps the two newest snapshots intact. A page freed by txn N is
 * reused only by txn N+2 or later, and only when no reader is older, so
 * batch N+1 writing its pages cannot touch snapshot N nor N-1. Meta N+1
 * is written only after N+1's data fdatasync, which also covers meta N; so
 * whenever a crash comes, the disk holds a synced meta page of the last
 * answered batch or a later one, over an intact snapshot: at worst newer,
 * unanswered batches are lost, never an answered one.
 * Readers may see batch N before its sync returns, as they already could
 * while the O_DSYNC meta write was in progress; a reader never answers a
 * write, and a write that depends on batch N is answered after N.
 *
 * One order inside the pipeline: the writer applies batch N+1 while the
 * sync of batch N runs, but its commit (which writes and fdatasyncs N+1's
 * pages) waits for that sync to end, and a sync does not start while a
 * commit runs (the batches it would cover wait for the commit's batch to
 * end, then share one sync with it). Run side by side, the sync's
 * fdatasync would also wait for N+1's pages in flight, which made it two
 * to three times as long at 10,000/s and slowed the commit too. Applying
 * usually takes longer than the sync, so the writer seldom waits.
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
    /* Only a known terminal's writes reach the ledger (conn_input.c). */
    assert(conn->has_caller && request != NULL && ledger_request_writes(request));
    if (q->len == q->cap && queue_grow(q) != 0)
        return SH_E_INTERNAL;
    assert(q->len < q->cap);
    struct batch_item *item = &q->items[(q->head + q->len) % q->cap];
    memset(item, 0, sizeof *item);
    item->conn = conn;
    item->request = request;
    item->caller = conn->caller;
    item->enqueued_us = uv_hrtime() / 1000;
    q->len++;
    conn_ref(conn);
    conn->inflight++;
    return 0;
}

bool batch_audit_pending(struct net_server *server, const struct ledger_audit_record *audit)
{
    struct audit_pending *p = &server->audit_pending;
    if (p->recs == NULL && (p->recs = calloc(AUDIT_PENDING_MAX, sizeof *p->recs)) == NULL)
        return false;
    if (p->len == AUDIT_PENDING_MAX) {
        if (p->lost++ % 1000 == 0)
            net_log(NET_LOG_ERROR, "audit: %llu lookup records lost: the group commit falls behind",
                    (unsigned long long)p->lost);
        return false;
    }
    p->recs[(p->head + p->len) % AUDIT_PENDING_MAX] = *audit;
    p->len++;
    return true;
}

int batch_enqueue_answered(struct net_server *server, struct conn *conn, Sanhe__Request *request,
                           struct sh_reply *reply, const struct ledger_audit_record *audit)
{
    struct batch_queue *q = &server->queue;
    assert(conn->has_caller && request != NULL && reply->data != NULL && audit != NULL);
    if (q->len == q->cap && queue_grow(q) != 0)
        return SH_E_INTERNAL;
    struct batch_item *item = &q->items[(q->head + q->len) % q->cap];
    memset(item, 0, sizeof *item);
    item->conn = conn;
    item->request = request;
    item->caller = conn->caller;
    item->enqueued_us = uv_hrtime() / 1000;
    item->reply = *reply;
    item->answered = true;
    item->audited = true;
    item->audit = *audit;
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

/* The order between the writer's commit and the sync, under sync_lock:
 * the writer enters its commit only when no sync runs, and a sync starts
 * only when the writer is not inside a commit (else it starts when that
 * commit's batch ends, batch_after_work). Both sides decide under the same
 * lock, so the two never overlap. */
static void commit_enter(struct net_server *server)
{
    uv_mutex_lock(&server->sync_lock);
    while (server->sync_running)
        uv_cond_wait(&server->sync_done, &server->sync_lock);
    server->committing = true;
    uv_mutex_unlock(&server->sync_lock);
}

static void commit_leave(struct net_server *server)
{
    uv_mutex_lock(&server->sync_lock);
    server->committing = false;
    uv_mutex_unlock(&server->sync_lock);
}

/* On the loop thread: false while the writer is inside a commit. */
static bool sync_claim(struct net_server *server)
{
    uv_mutex_lock(&server->sync_lock);
    bool writer_out = !server->committing;
    if (writer_out)
        server->sync_running = true;
    uv_mutex_unlock(&server->sync_lock);
    return writer_out;
}

static void sync_release(struct net_server *server)
{
    uv_mutex_lock(&server->sync_lock);
    assert(!server->committing);
    server->sync_running = false;
    uv_cond_broadcast(&server->sync_done);
    uv_mutex_unlock(&server->sync_lock);
}

/* Applies every item of the slot in order and commits (without the final
 * sync); returns 0 or the code that now answers every item of the batch. */
static int batch_apply_all(struct batch_slot *slot)
{
    struct batch_item *items = slot->items;
    struct ledger_batch *batch = NULL;
    uint64_t begin_us = clock_us();
    int64_t now_ms = clock_ms(CLOCK_REALTIME);
    int rc = ledger_batch_begin(slot->server->ledger, now_ms, &batch);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < slot->len && rc == 0; i++) {
        if (items[i].answered)
            continue; /* a person lookup: only its audit record is written */
        rc = ledger_batch_apply(batch, &items[i].caller, items[i].request, &items[i].reply);
        assert(rc != 0 || items[i].reply.data != NULL); /* answered, or the batch failed */
    }
    if (rc < 0) {
        ledger_batch_abort(batch);
        return rc;
    }
    size_t audits = slot->audit_pre; /* lookups answered already, first */
    for (size_t i = 0; i < slot->len; i++) {
        lookup_settle_audit(&items[i], now_ms);
        if (items[i].audited)
            slot->audit[audits++] = items[i].audit;
    }
    ledger_batch_audit(batch, slot->audit, audits);
    slot->apply_us = clock_us() - begin_us;
    commit_enter(slot->server);
    uint64_t write_begin_us = clock_us();
    rc = ledger_batch_commit_nosync(batch);
    slot->write_us = clock_us() - write_begin_us;
    commit_leave(slot->server);
    return rc;
}

/* A code the wire knows, or INTERNAL. */
static int batch_error_code(int rc)
{
    return strcmp(sh_error_name(rc), "UNKNOWN_ERROR") != 0 ? rc : SH_E_INTERNAL;
}

static void batch_error_replies(struct batch_item *items, size_t n, int rc, const char *message)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].reply.data);
        memset(&items[i].reply, 0, sizeof items[i].reply);
        frame_error_reply(items[i].request->request_id, batch_error_code(rc), message,
                          &items[i].reply);
    }
}

static void batch_fail_replies(struct batch_item *items, size_t n, int rc)
{
    net_log(NET_LOG_ERROR, "group commit of %zu writes failed: %s; every one is refused", n,
            sh_error_name(rc));
    batch_error_replies(items, n, rc, "the write could not be committed; nothing was recorded");
}

/* Committed but maybe not on disk: a retry with the same request id is
 * answered from the idempotency record if the write survived. */
static void batch_unsynced_replies(struct batch_item *items, size_t n)
{
    batch_error_replies(items, n, SH_E_INTERNAL,
                        "the write could not be made durable and may or may not be recorded; "
                        "retry it later with the same request id");
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
        if (items[i].request->op_case == SANHE__REQUEST__OP_SETTLE && items[i].reply.data != NULL &&
            frame_reply_error(items[i].reply.data, items[i].reply.len) == 0)
            rate_settle_note(c->server, &items[i].caller, uv_now(c->server->loop));
        conn_queue_reply(c, &items[i].reply);
        net_stats_record_op(&c->server->stats, frame_op_name(items[i].request),
                            uv_hrtime() / 1000 - items[i].enqueued_us);
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

/* The i-th unanswered batch, oldest first. */
static struct batch_slot *slot_at(struct net_server *server, size_t i)
{
    return &server->slots[(server->slot_head + i) % BATCH_SLOTS];
}

static void batch_maybe_start(struct net_server *server);
static void sync_maybe_start(struct net_server *server);

/* ---- Stage 2: the sync ----------------------------------------------------------- */

/* A pool thread, beside the writer: touches nothing but the ledger's sync. */
static void sync_work(uv_work_t *work)
{
    struct net_server *server = work->data;
    uint64_t begin_us = clock_us();
    server->sync_rc = ledger_sync(server->ledger);
    server->sync_us = clock_us() - begin_us;
    sync_release(server);
}

/* The oldest batch, now durable (or never to be known so): answered. */
static void batch_answer(struct net_server *server, struct batch_slot *slot, int sync_rc)
{
    /* In commit order; and a committed batch is answered only by a sync that
     * covers it: never before its data is on disk. */
    assert(server->slot_count > 0 && slot == slot_at(server, 0));
    assert(slot->rc < 0 || server->sync_covers > 0);
    int rc = slot->rc < 0 ? slot->rc : sync_rc;
    net_stats_record_batch(&server->stats, slot->len, clock_us() - slot->start_us, rc == 0);
    diskfull_note_batch(server, rc); /* ENOSPC logged, and the resumption */
    net_stats_record_stage1(&server->stats, slot->apply_us, slot->write_us);
    if (rc < 0 && slot->audit_pre > 0) {
        server->audit_pending.lost += slot->audit_pre;
        net_log(NET_LOG_ERROR, "audit: the records of %zu lookups answered already are lost: %s",
                slot->audit_pre, sh_error_name(rc));
    }
    if (slot->rc < 0)
        batch_fail_replies(slot->items, slot->len, slot->rc);
    else if (sync_rc < 0)
        batch_unsynced_replies(slot->items, slot->len);
    size_t n = slot->len;
    slot->len = 0;
    server->slot_head = (server->slot_head + 1) % BATCH_SLOTS;
    server->slot_count--;
    batch_deliver(slot->items, n);
}

static void sync_log_failure(struct net_server *server, size_t covers, int rc)
{
    size_t writes = 0;
    for (size_t i = 0; i < covers; i++)
        writes += slot_at(server, i)->rc == 0 ? slot_at(server, i)->len : 0;
    net_log(NET_LOG_ERROR,
            "sync after group commit failed: %s; %zu committed writes are refused, "
            "and so is every later write",
            sh_error_name(rc), writes);
}

/* Back on the loop thread: every batch the sync covered is answered, in
 * commit order; then the next sync and the next batch, if due. */
static void sync_after_work(uv_work_t *work, int status)
{
    struct net_server *server = work->data;
    int rc = status == 0 ? server->sync_rc : SH_E_INTERNAL; /* we never cancel */
    size_t n = server->sync_covers;
    assert(n > 0 && n <= server->slot_count);
    net_stats_record_sync(&server->stats, server->sync_us);
    if (rc < 0)
        sync_log_failure(server, n, rc);
    for (size_t i = 0; i < n; i++)
        batch_answer(server, slot_at(server, 0), rc);
    server->sync_covers = 0;
    sync_maybe_start(server);
    batch_maybe_start(server);
    server_batch_done(server);
}

/* One sync at a time, for every batch whose commit has returned, and never
 * during a commit (sync_claim). A batch whose stage 1 failed has nothing to
 * sync: at the head of the line, it is answered at once. */
static void sync_maybe_start(struct net_server *server)
{
    if (server->sync_covers != 0)
        return;
    size_t committed = server->slot_count - (server->applying ? 1u : 0u);
    while (committed > 0 && slot_at(server, 0)->rc < 0) {
        batch_answer(server, slot_at(server, 0), 0);
        committed--;
    }
    if (committed == 0 || !sync_claim(server))
        return;
    server->sync_covers = committed;
    server->sync_work.data = server;
    if (uv_queue_work(server->loop, &server->sync_work, sync_work, sync_after_work) != 0) {
        /* Only for invalid arguments; sync here rather than never. */
        sync_work(&server->sync_work);
        sync_after_work(&server->sync_work, 0);
    }
}

/* ---- Stage 1: apply and commit ------------------------------------------------------ */

/* The writer thread: applies and commits the newest batch. It touches the
 * ledger's write side and that batch's slot only; the loop thread leaves
 * both alone until batch_after_work (libuv orders the two). */
static void batch_work(uv_work_t *work)
{
    struct batch_slot *slot = work->data;
    slot->rc = batch_apply_all(slot);
}

/* Back on the loop thread, the batch committed or failed: its sync, and
 * the next batch with whatever was read meanwhile. The sync first: it is
 * on the path of the older replies. */
static void batch_after_work(uv_work_t *work, int status)
{
    struct batch_slot *slot = work->data;
    struct net_server *server = slot->server;
    if (status != 0)
        slot->rc = SH_E_INTERNAL; /* we never cancel */
    server->applying = false;
    sync_maybe_start(server);
    batch_maybe_start(server);
    server_batch_done(server);
}

/* Hands the oldest queued writes (at most batch_max) to the writer thread.
 * Meanwhile the loop goes on: TLS, decoding, reads, and queueing the writes
 * that make the next batch. One batch applying at a time: LMDB has one
 * writer. */
static void batch_start(struct net_server *server)
{
    assert(!server->applying && server->slot_count < BATCH_SLOTS &&
           (!batch_queue_empty(server) || server->audit_pending.len > 0));
    struct batch_slot *slot = slot_at(server, server->slot_count);
    size_t n =
        server->queue.len < server->limits.batch_max ? server->queue.len : server->limits.batch_max;
    for (size_t i = 0; i < n; i++)
        queue_pop(&server->queue, &slot->items[i]);
    slot->len = n;
    struct audit_pending *p = &server->audit_pending;
    slot->audit_pre = p->len < server->limits.batch_max ? p->len : server->limits.batch_max;
    for (size_t i = 0; i < slot->audit_pre; i++) {
        slot->audit[i] = p->recs[p->head];
        p->head = (p->head + 1) % AUDIT_PENDING_MAX;
        p->len--;
    }
    slot->rc = 0;
    slot->start_us = clock_us();
    slot->apply_us = 0;
    slot->write_us = 0;
    slot->work.data = slot;
    server->slot_count++;
    server->applying = true;
    if (uv_queue_work(server->loop, &slot->work, batch_work, batch_after_work) != 0) {
        /* Only for invalid arguments; do the batch here rather than never. */
        batch_work(&slot->work);
        batch_after_work(&slot->work, 0);
    }
}

bool batch_idle(const struct net_server *server)
{
    return server->slot_count == 0 && batch_queue_empty(server) && server->audit_pending.len == 0;
}

/* The one way a batch starts: none applying, a free slot, writes or audit
 * records waiting. */
static void batch_maybe_start(struct net_server *server)
{
    if (!server->applying && server->slot_count < BATCH_SLOTS &&
        (!batch_queue_empty(server) || server->audit_pending.len > 0))
        batch_start(server);
}

static void batch_on_check(uv_check_t *check) { batch_maybe_start(check->data); }

/* ---- Life ------------------------------------------------------------------------- */

/* The writer waits on a pool thread for the sync on another: libuv's pool
 * needs two threads at least. Its size is read from the environment when
 * the pool first runs work, which is after this; a smaller setting is
 * raised (the default is 4). */
static void pool_at_least_two(void)
{
    const char *v = getenv("UV_THREADPOOL_SIZE");
    if (v == NULL)
        return;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 2)
        setenv("UV_THREADPOOL_SIZE", "2", 1);
}

int batch_init(struct net_server *server)
{
    pool_at_least_two();
    if (uv_mutex_init(&server->sync_lock) != 0)
        return SH_E_INTERNAL;
    if (uv_cond_init(&server->sync_done) != 0) {
        uv_mutex_destroy(&server->sync_lock);
        return SH_E_INTERNAL;
    }
    server->sync_lock_ready = true;
    for (size_t i = 0; i < BATCH_SLOTS; i++) {
        server->slots[i].server = server;
        server->slots[i].items = calloc(server->limits.batch_max, sizeof(struct batch_item));
        server->slots[i].audit =
            calloc(2 * (size_t)server->limits.batch_max, sizeof(struct ledger_audit_record));
        if (server->slots[i].items == NULL || server->slots[i].audit == NULL) {
            batch_free(server);
            return SH_E_INTERNAL;
        }
    }
    uv_check_init(server->loop, &server->batch_check);
    server->batch_check.data = server;
    server->handles_open += 1;
    uv_check_start(&server->batch_check, batch_on_check);
    /* The batch hook alone must not keep the loop alive. */
    uv_unref((uv_handle_t *)&server->batch_check);
    return 0;
}

bool batch_ready(const struct net_server *server) { return server->slots[0].items != NULL; }

static void batch_on_close(uv_handle_t *handle) { server_handle_closed(handle->data); }

void batch_close(struct net_server *server)
{
    uv_close((uv_handle_t *)&server->batch_check, batch_on_close);
}

void batch_free(struct net_server *server)
{
    assert(server->slot_count == 0);
    for (size_t i = 0; i < BATCH_SLOTS; i++) {
        free(server->slots[i].items);
        server->slots[i].items = NULL;
        free(server->slots[i].audit);
        server->slots[i].audit = NULL;
    }
    free(server->audit_pending.recs);
    server->audit_pending.recs = NULL;
    if (server->sync_lock_ready) {
        uv_cond_destroy(&server->sync_done);
        uv_mutex_destroy(&server->sync_lock);
        server->sync_lock_ready = false;
    }
}
