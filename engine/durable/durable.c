/*
 * Group commit, in the manner of Redis's beforeSleep, with the commit and
 * its sync off the loop thread.
 *
 * libuv runs one loop iteration as: timers, pending callbacks, idle, prepare,
 * poll (every I/O callback: our reads, hence every decoded write request),
 * check, close callbacks. A uv_check hook runs right after the poll phase, so
 * every write read during this iteration is queued by then. (A uv_prepare
 * hook would run before the poll, leaving them to wait an iteration.)
 * (The network submits them: durable_submit.)
 *
 * One batch: ledger_batch_begin, ledger_batch_apply for each queued write in
 * arrival order (so claims see each other's accumulator changes as if they
 * came one by one), ledger_batch_commit_nosync, then ledger_sync, and only
 * when that has returned 0 are the replies handed back (hooks.deliver). If
 * the commit fails, nothing of the batch is on disk and every reply becomes
 * an error with the commit's code; if the sync fails, every reply of every
 * batch it was to make durable becomes INTERNAL (and the ledger takes no
 * more writes: see ledger_sync).
 *
 * A two-stage pipeline on libuv's thread pool (uv_queue_work):
 *   stage 1, the writer: apply and commit. The LMDB commit writes its pages
 *     without a sync (MDB_NOSYNC), and the store appends the transaction's
 *     puts and deletes to the write-ahead log as one record (store_wal.h);
 *   stage 2, the sync: ledger_sync, one fdatasync of the log, on another
 *     pool thread.
 * When stage 1 of a batch ends, the loop thread starts its stage 2 and, at
 * once, stage 1 of the next batch with everything queued meanwhile, so the
 * batch grows with the load by itself and the writer's applying never
 * waits for the second sync (its commit may: see below). At most
 * DURABLE_SLOTS batches are in flight: one applying, the others committed;
 * one sync at a time, covering every batch committed when it started.
 * Batches are answered in commit order. When no batch is applying, the
 * check hook starts one. Meanwhile the loop thread goes on with TLS,
 * framing, reads (ledger_read, beside both stages) and queueing.
 *
 * Why a reply still means the data is on disk. A reply goes out only after
 * a ledger_sync that started after its batch's commit returned; by then
 * the batch's log record was written (write returned), so that fdatasync
 * covers it. LMDB's own pages reach the disk at the next checkpoint; until
 * then recovery puts back the checkpoint's meta pages (over a snapshot that
 * a reader kept LMDB from reusing) and redoes the log past it, so a power
 * cut loses at worst unanswered batches (docs/storage.md, "Durability: the
 * write-ahead log"). Readers may see batch N before its sync returns; a reader never
 * answers a write, and a write that depends on batch N is answered after N.
 *
 * One order inside the pipeline: the writer applies batch N+1 while the
 * sync of batch N runs, but its commit waits for that sync to end, and a
 * sync does not start while a commit runs (the batches it would cover wait
 * for the commit's batch to end, then share one sync with it). Applying
 * usually takes longer than the sync, so the writer seldom waits.
 *
 * Light load: one stage. A batch that starts alone (nothing else in flight)
 * with at most DURABLE_ONE_STAGE_MAX writes is also synced by the writer,
 * right after its commit, on the same pool thread: no sync could overlap
 * it (none is due, and no other batch starts while it applies), and the
 * pipeline would gain nothing, as there is no next batch to apply beside
 * the sync. It saves a hand-over to the pool and back, two thread
 * wake-ups on the path of each reply. When the load rises, the writes
 * queued meanwhile make the next batch larger than that, and the
 * two-stage pipeline takes over by itself.
 *
 * At most batch_max writes per batch; the rest waits for the next one.
 */
#include "durable.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sh_error.h"

/* ---- The state ---------------------------------------------------------------- */

/* A ring of queued write requests, oldest first. Bounded by the network's
 * limits: a connection stops being read when it has inflight_max writes
 * queued. */
struct durable_queue {
    struct durable_item *items;
    size_t cap, head, len;
};

/* The pipeline: a ring of batches in commit order, the oldest unanswered
 * first. The newest may be applying (stage 1, on the writer thread); the
 * others are committed and wait for, or are in, their sync (stage 2). One
 * applying and two waiting at most: enough for the writer never to wait
 * for a sync that is only a little slower than it. */
#define DURABLE_SLOTS 3

/* The most writes a batch synced by the writer itself may have (see the
 * top): a few, so that the one stage ends before the writes queued
 * meanwhile would have made a batch of their own. */
#define DURABLE_ONE_STAGE_MAX 4u

struct durable_slot {
    struct durable *d;
    uv_work_t work;             /* stage 1 */
    struct durable_item *items; /* batch_max of them */
    size_t len;
    int rc;            /* stage 1's outcome: 0, or the code that answers every item */
    bool one_stage;    /* the writer syncs it too (light load) */
    int sync_rc;       /* then: the sync's outcome */
    uint64_t sync_us;  /* and its duration */
    uint64_t start_us; /* handed to the writer */
    uint64_t apply_us; /* stage 1, timed on the writer thread: the applies */
    uint64_t write_us; /* and the ledger's commit */
    struct ledger_audit_record *audit; /* 2 x batch_max: the batch's audit records */
    size_t audit_pre;                  /* of them, lookups answered already (pending) */
};

/* Audit records of reads answered at once, waiting for the next group
 * commit; bounded: past AUDIT_PENDING_MAX the oldest wait and new ones are
 * counted lost (logged). */
#define AUDIT_PENDING_MAX 65536
struct durable_audit_ring {
    struct ledger_audit_record *recs; /* a ring of AUDIT_PENDING_MAX */
    size_t head, len;
    uint64_t lost;
};

struct durable {
    uv_loop_t *loop;
    struct ledger *ledger;
    uint32_t batch_max;
    struct durable_hooks hooks;
    uv_check_t check; /* after each iteration's I/O callbacks */
    struct durable_queue queue;
    struct durable_audit_ring audit_pending;
    struct durable_slot slots[DURABLE_SLOTS];
    size_t slot_head;    /* the oldest unanswered batch */
    size_t slot_count;   /* batches not yet answered */
    bool applying;       /* the newest of them is in stage 1 */
    uv_work_t sync_work; /* stage 2: ledger_sync */
    size_t sync_covers;  /* batches (from slot_head) the sync in flight answers; 0: none */
    int sync_rc;         /* its outcome */
    uint64_t sync_us;    /* and its duration */
    /* The writer's commit and the sync never overlap: the loop thread
     * claims sync_running when it starts a sync, the sync's pool thread
     * releases it; the writer sets committing around its commit. Both
     * under sync_lock. */
    uv_mutex_t sync_lock;
    uv_cond_t sync_done;
    bool sync_running;
    bool committing;
    bool sync_lock_ready; /* initialised */
    bool check_ready;     /* the check handle is initialised, not yet closed */
};

static void durable_log(struct durable *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void durable_log(struct durable *d, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (d->hooks.log_error != NULL)
        d->hooks.log_error(d->hooks.ctx, line);
}

/* ---- The queue -------------------------------------------------------------- */

static int queue_grow(struct durable_queue *q)
{
    size_t cap = q->cap > 0 ? q->cap * 2 : 256;
    struct durable_item *items = malloc(cap * sizeof *items);
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

static void queue_pop(struct durable_queue *q, struct durable_item *out)
{
    *out = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
}

static bool queue_empty(const struct durable *d) { return d->queue.len == 0; }

/* A new item at the queue's end, zeroed; NULL when out of memory. */
static struct durable_item *queue_push(struct durable *d, void *ticket,
                                       const struct sh_caller *caller, Sanhe__Request *request)
{
    struct durable_queue *q = &d->queue;
    if (q->len == q->cap && queue_grow(q) != 0)
        return NULL;
    assert(q->len < q->cap);
    struct durable_item *item = &q->items[(q->head + q->len) % q->cap];
    memset(item, 0, sizeof *item);
    item->ticket = ticket;
    item->request = request;
    item->caller = *caller;
    item->enqueued_us = uv_hrtime() / 1000;
    q->len++;
    return item;
}

int durable_submit(struct durable *d, void *ticket, const struct sh_caller *caller,
                   Sanhe__Request *request)
{
    assert(d != NULL && caller != NULL && request != NULL && ledger_request_writes(request));
    return queue_push(d, ticket, caller, request) != NULL ? 0 : SH_E_INTERNAL;
}

bool durable_audit_pending(struct durable *d, const struct ledger_audit_record *audit)
{
    struct durable_audit_ring *p = &d->audit_pending;
    if (p->recs == NULL && (p->recs = calloc(AUDIT_PENDING_MAX, sizeof *p->recs)) == NULL)
        return false;
    if (p->len == AUDIT_PENDING_MAX) {
        if (p->lost++ % 1000 == 0)
            durable_log(d, "audit: %llu lookup records lost: the group commit falls behind",
                        (unsigned long long)p->lost);
        return false;
    }
    p->recs[(p->head + p->len) % AUDIT_PENDING_MAX] = *audit;
    p->len++;
    return true;
}

uint64_t durable_audit_lost(const struct durable *d) { return d->audit_pending.lost; }

int durable_submit_answered(struct durable *d, void *ticket, const struct sh_caller *caller,
                            Sanhe__Request *request, struct sh_reply *reply,
                            const struct ledger_audit_record *audit)
{
    assert(d != NULL && request != NULL && reply->data != NULL && audit != NULL);
    struct durable_item *item = queue_push(d, ticket, caller, request);
    if (item == NULL)
        return SH_E_INTERNAL;
    item->reply = *reply;
    item->answered = true;
    item->audited = true;
    item->audit = *audit;
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
static void commit_enter(struct durable *d)
{
    uv_mutex_lock(&d->sync_lock);
    while (d->sync_running)
        uv_cond_wait(&d->sync_done, &d->sync_lock);
    d->committing = true;
    uv_mutex_unlock(&d->sync_lock);
}

static void commit_leave(struct durable *d)
{
    uv_mutex_lock(&d->sync_lock);
    d->committing = false;
    uv_mutex_unlock(&d->sync_lock);
}

/* On the loop thread: false while the writer is inside a commit. */
static bool sync_claim(struct durable *d)
{
    uv_mutex_lock(&d->sync_lock);
    bool writer_out = !d->committing;
    if (writer_out)
        d->sync_running = true;
    uv_mutex_unlock(&d->sync_lock);
    return writer_out;
}

static void sync_release(struct durable *d)
{
    uv_mutex_lock(&d->sync_lock);
    assert(!d->committing);
    d->sync_running = false;
    uv_cond_broadcast(&d->sync_done);
    uv_mutex_unlock(&d->sync_lock);
}

/* Applies every item of the slot in order and commits (without the final
 * sync); returns 0 or the code that now answers every item of the batch. */
static int batch_apply_all(struct durable_slot *slot)
{
    struct durable *d = slot->d;
    struct durable_item *items = slot->items;
    struct ledger_batch *batch = NULL;
    uint64_t begin_us = clock_us();
    int64_t now_ms = clock_ms(CLOCK_REALTIME);
    int rc = ledger_batch_begin(d->ledger, now_ms, &batch);
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
        if (d->hooks.audit != NULL)
            d->hooks.audit(d->hooks.ctx, &items[i], now_ms);
        if (items[i].audited)
            slot->audit[audits++] = items[i].audit;
    }
    ledger_batch_audit(batch, slot->audit, audits);
    slot->apply_us = clock_us() - begin_us;
    commit_enter(d);
    uint64_t write_begin_us = clock_us();
    rc = ledger_batch_commit_nosync(batch);
    slot->write_us = clock_us() - write_begin_us;
    commit_leave(d);
    return rc;
}

/* A code the wire knows, or INTERNAL. */
static int batch_error_code(int rc)
{
    return strcmp(sh_error_name(rc), "UNKNOWN_ERROR") != 0 ? rc : SH_E_INTERNAL;
}

static void batch_error_replies(struct durable_item *items, size_t n, int rc, const char *message)
{
    for (size_t i = 0; i < n; i++) {
        items[i].error = batch_error_code(rc);
        items[i].error_message = message;
    }
}

static void batch_fail_replies(struct durable *d, struct durable_item *items, size_t n, int rc)
{
    durable_log(d, "group commit of %zu writes failed: %s; every one is refused", n,
                sh_error_name(rc));
    batch_error_replies(items, n, rc, "the write could not be committed; nothing was recorded");
}

/* Committed but maybe not on disk: a retry with the same request id is
 * answered from the idempotency record if the write survived. */
static void batch_unsynced_replies(struct durable_item *items, size_t n)
{
    batch_error_replies(items, n, SH_E_INTERNAL,
                        "the write could not be made durable and may or may not be recorded; "
                        "retry it later with the same request id");
}

/* The i-th unanswered batch, oldest first. */
static struct durable_slot *slot_at(struct durable *d, size_t i)
{
    return &d->slots[(d->slot_head + i) % DURABLE_SLOTS];
}

static void batch_maybe_start(struct durable *d);
static void sync_maybe_start(struct durable *d);

static void durable_progress(struct durable *d)
{
    if (d->hooks.progress != NULL)
        d->hooks.progress(d->hooks.ctx);
}

/* ---- Stage 2: the sync ----------------------------------------------------------- */

/* ledger_sync, timed: its outcome, and its duration in *us. */
static int sync_timed(struct ledger *ledger, uint64_t *us)
{
    uint64_t begin_us = clock_us();
    int rc = ledger_sync(ledger);
    *us = clock_us() - begin_us;
    return rc;
}

/* A pool thread, beside the writer: touches nothing but the ledger's sync. */
static void sync_work(uv_work_t *work)
{
    struct durable *d = work->data;
    d->sync_rc = sync_timed(d->ledger, &d->sync_us);
    sync_release(d);
}

/* The oldest batch, now durable (or never to be known so): answered. */
static void batch_answer(struct durable *d, struct durable_slot *slot, int sync_rc)
{
    /* In commit order; and a committed batch is answered only by a sync that
     * covers it: never before its data is on disk. */
    assert(d->slot_count > 0 && slot == slot_at(d, 0));
    assert(slot->rc < 0 || d->sync_covers > 0);
    int rc = slot->rc < 0 ? slot->rc : sync_rc;
    struct durable_batch_info info = {.writes = slot->len,
                                      .commit_us = clock_us() - slot->start_us,
                                      .rc = rc,
                                      .apply_us = slot->apply_us,
                                      .write_us = slot->write_us};
    if (d->hooks.batch_answered != NULL)
        d->hooks.batch_answered(d->hooks.ctx, &info);
    if (rc < 0 && slot->audit_pre > 0) {
        d->audit_pending.lost += slot->audit_pre;
        durable_log(d, "audit: the records of %zu lookups answered already are lost: %s",
                    slot->audit_pre, sh_error_name(rc));
    }
    if (slot->rc < 0)
        batch_fail_replies(d, slot->items, slot->len, slot->rc);
    else if (sync_rc < 0)
        batch_unsynced_replies(slot->items, slot->len);
    size_t n = slot->len;
    slot->len = 0;
    d->slot_head = (d->slot_head + 1) % DURABLE_SLOTS;
    d->slot_count--;
    d->hooks.deliver(d->hooks.ctx, slot->items, n);
}

static void sync_log_failure(struct durable *d, size_t covers, int rc)
{
    size_t writes = 0;
    for (size_t i = 0; i < covers; i++)
        writes += slot_at(d, i)->rc == 0 ? slot_at(d, i)->len : 0;
    durable_log(d,
                "sync after group commit failed: %s; %zu committed writes are refused, "
                "and so is every later write",
                sh_error_name(rc), writes);
}

/* On the loop thread, a sync (of sync_us, outcome rc) having ended: every
 * batch it covered (sync_covers, from the oldest) is answered, in commit
 * order. */
static void sync_answer_covered(struct durable *d, int rc, uint64_t sync_us)
{
    size_t n = d->sync_covers;
    assert(n > 0 && n <= d->slot_count);
    if (d->hooks.synced != NULL)
        d->hooks.synced(d->hooks.ctx, sync_us);
    if (rc < 0)
        sync_log_failure(d, n, rc);
    for (size_t i = 0; i < n; i++)
        batch_answer(d, slot_at(d, 0), rc);
    d->sync_covers = 0;
}

/* Back on the loop thread: every batch the sync covered is answered; then
 * the next sync and the next batch, if due. */
static void sync_after_work(uv_work_t *work, int status)
{
    struct durable *d = work->data;
    sync_answer_covered(d, status == 0 ? d->sync_rc : SH_E_INTERNAL /* we never cancel */,
                        d->sync_us);
    sync_maybe_start(d);
    batch_maybe_start(d);
    durable_progress(d);
}

/* One sync at a time, for every batch whose commit has returned, and never
 * during a commit (sync_claim). A batch whose stage 1 failed has nothing to
 * sync: at the head of the line, it is answered at once. */
static void sync_maybe_start(struct durable *d)
{
    if (d->sync_covers != 0)
        return;
    size_t committed = d->slot_count - (d->applying ? 1u : 0u);
    while (committed > 0 && slot_at(d, 0)->rc < 0) {
        batch_answer(d, slot_at(d, 0), 0);
        committed--;
    }
    if (committed == 0 || !sync_claim(d))
        return;
    d->sync_covers = committed;
    d->sync_work.data = d;
    if (uv_queue_work(d->loop, &d->sync_work, sync_work, sync_after_work) != 0) {
        /* Only for invalid arguments; sync here rather than never. */
        sync_work(&d->sync_work);
        sync_after_work(&d->sync_work, 0);
    }
}

/* ---- Stage 1: apply and commit ------------------------------------------------------ */

/* The writer thread: applies and commits the newest batch. It touches the
 * ledger's write side and that batch's slot only; the loop thread leaves
 * both alone until batch_after_work (libuv orders the two). */
static void batch_work(uv_work_t *work)
{
    struct durable_slot *slot = work->data;
    slot->rc = batch_apply_all(slot);
    if (slot->rc == 0 && slot->one_stage) {
        /* Alone in the pipeline: no sync runs, and none starts before
         * batch_after_work (sync_maybe_start finds no committed batch). */
        slot->sync_rc = sync_timed(slot->d->ledger, &slot->sync_us);
    }
}

/* A one-stage batch, committed and synced by the writer: answered as a
 * sync that covers it alone would answer it. */
static void batch_answer_one_stage(struct durable *d, struct durable_slot *slot)
{
    assert(d->slot_count == 1 && slot == slot_at(d, 0) && d->sync_covers == 0);
    d->sync_covers = 1;
    sync_answer_covered(d, slot->sync_rc, slot->sync_us);
}

/* Back on the loop thread, the batch committed or failed: its sync, and
 * the next batch with whatever was read meanwhile. The sync first: it is
 * on the path of the older replies. */
static void batch_after_work(uv_work_t *work, int status)
{
    struct durable_slot *slot = work->data;
    struct durable *d = slot->d;
    if (status != 0)
        slot->rc = SH_E_INTERNAL; /* we never cancel */
    d->applying = false;
    if (slot->one_stage && slot->rc == 0)
        batch_answer_one_stage(d, slot);
    sync_maybe_start(d);
    batch_maybe_start(d);
    durable_progress(d);
}

/* Hands the oldest queued writes (at most batch_max) to the writer thread.
 * Meanwhile the loop goes on: TLS, decoding, reads, and queueing the writes
 * that make the next batch. One batch applying at a time: LMDB has one
 * writer. */
static void batch_start(struct durable *d)
{
    assert(!d->applying && d->slot_count < DURABLE_SLOTS &&
           (!queue_empty(d) || d->audit_pending.len > 0));
    struct durable_slot *slot = slot_at(d, d->slot_count);
    size_t n = d->queue.len < d->batch_max ? d->queue.len : d->batch_max;
    for (size_t i = 0; i < n; i++)
        queue_pop(&d->queue, &slot->items[i]);
    slot->len = n;
    struct durable_audit_ring *p = &d->audit_pending;
    slot->audit_pre = p->len < d->batch_max ? p->len : d->batch_max;
    for (size_t i = 0; i < slot->audit_pre; i++) {
        slot->audit[i] = p->recs[p->head];
        p->head = (p->head + 1) % AUDIT_PENDING_MAX;
        p->len--;
    }
    slot->rc = 0;
    slot->one_stage = d->slot_count == 0 && d->sync_covers == 0 && n <= DURABLE_ONE_STAGE_MAX;
    slot->sync_rc = 0;
    slot->sync_us = 0;
    slot->start_us = clock_us();
    slot->apply_us = 0;
    slot->write_us = 0;
    slot->work.data = slot;
    d->slot_count++;
    d->applying = true;
    if (uv_queue_work(d->loop, &slot->work, batch_work, batch_after_work) != 0) {
        /* Only for invalid arguments; do the batch here rather than never. */
        batch_work(&slot->work);
        batch_after_work(&slot->work, 0);
    }
}

bool durable_idle(const struct durable *d)
{
    return d->slot_count == 0 && queue_empty(d) && d->audit_pending.len == 0;
}

/* The one way a batch starts: none applying, a free slot, writes or audit
 * records waiting. */
static void batch_maybe_start(struct durable *d)
{
    if (!d->applying && d->slot_count < DURABLE_SLOTS &&
        (!queue_empty(d) || d->audit_pending.len > 0))
        batch_start(d);
}

static void durable_on_check(uv_check_t *check) { batch_maybe_start(check->data); }

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

int durable_create(uv_loop_t *loop, struct ledger *ledger, uint32_t batch_max,
                   const struct durable_hooks *hooks, struct durable **out)
{
    assert(loop != NULL && hooks != NULL && hooks->deliver != NULL && out != NULL);
    *out = NULL;
    pool_at_least_two();
    struct durable *d = calloc(1, sizeof *d);
    if (d == NULL)
        return SH_E_INTERNAL;
    d->loop = loop;
    d->ledger = ledger;
    d->batch_max = batch_max;
    d->hooks = *hooks;
    if (uv_mutex_init(&d->sync_lock) != 0) {
        free(d);
        return SH_E_INTERNAL;
    }
    if (uv_cond_init(&d->sync_done) != 0) {
        uv_mutex_destroy(&d->sync_lock);
        free(d);
        return SH_E_INTERNAL;
    }
    d->sync_lock_ready = true;
    for (size_t i = 0; i < DURABLE_SLOTS; i++) {
        d->slots[i].d = d;
        d->slots[i].items = calloc(batch_max, sizeof(struct durable_item));
        d->slots[i].audit = calloc(2 * (size_t)batch_max, sizeof(struct ledger_audit_record));
        if (d->slots[i].items == NULL || d->slots[i].audit == NULL) {
            durable_free(d);
            return SH_E_INTERNAL;
        }
    }
    uv_check_init(loop, &d->check);
    d->check.data = d;
    d->check_ready = true;
    uv_check_start(&d->check, durable_on_check);
    /* The batch hook alone must not keep the loop alive. */
    uv_unref((uv_handle_t *)&d->check);
    *out = d;
    return 0;
}

static void durable_on_close(uv_handle_t *handle)
{
    struct durable *d = handle->data;
    if (d->hooks.closed != NULL)
        d->hooks.closed(d->hooks.ctx);
}

void durable_close(struct durable *d)
{
    assert(d->check_ready);
    d->check_ready = false;
    uv_close((uv_handle_t *)&d->check, durable_on_close);
}

void durable_free(struct durable *d)
{
    if (d == NULL)
        return;
    assert(d->slot_count == 0);
    for (size_t i = 0; i < DURABLE_SLOTS; i++) {
        free(d->slots[i].items);
        free(d->slots[i].audit);
    }
    free(d->audit_pending.recs);
    free(d->queue.items);
    if (d->sync_lock_ready) {
        uv_cond_destroy(&d->sync_done);
        uv_mutex_destroy(&d->sync_lock);
    }
    free(d);
}
