/*
 * The costly reads off the loop thread. A reconcile of a hospital-day, the
 * whole day's figures, a month's cross-check or the import log walk data
 * that grows with the region: on the loop thread one of them holds every
 * other terminal's presettle for its whole length, and a terminal that
 * pipelines hundreds of them holds the engine. So they run on libuv's
 * pool, each in a read transaction of its own (ledger_read_detached), and
 * their replies come back to the loop (after_work) like a batch's.
 *
 * Fair shares (docs/limits.md): each terminal (certificate CN) has its own
 * queue, bounded by reads_queued_per_terminal_max, and every queue together
 * by reads_queued_total_max; past either the read is answered
 * LIMIT_EXCEEDED at once. A terminal's queue is bounded in bytes too
 * (reads_queued_per_terminal_max_bytes): a decoded request keeps the
 * fields it does not know, so a reconcile can hold a whole frame. The threads go round the
 * terminals with waiting reads, one read each in turn, so a terminal's backlog delays another
 * terminal's read by at most one read per terminal ahead of it.
 *
 * At most worker_threads - 2 reads run at once, and at most one fewer than
 * the cores: the group commit's two stages (engine/durable/durable.c) use the same pool,
 * and a write must never wait for a thread behind reads; and the loop
 * thread, which answers every presettle, must find a core free.
 *
 * Ordering: replies match requests by request id and may come in any order
 * (docs/protocol.md). A read starts its transaction on the thread, after
 * it was queued, so it sees every write answered before the read came in.
 *
 * Cheap point reads (presettle, query, eligibility) stay on the loop: they
 * cost tens of microseconds, less than the hand-over to a thread and back.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "net_internal.h"
#include "net_log.h"

struct read_share;

struct read_job {
    uv_work_t work;
    struct read_pool *pool;
    struct read_job *next; /* its share's waiting list */
    struct read_share *share;
    struct conn *conn; /* referenced (conn_ref) until the reply is handed over */
    Sanhe__Request *request;
    struct sh_caller caller;
    struct sh_reply reply;
    int rc;
    uint64_t enqueued_us;
    uint64_t cost_bytes; /* counted in its share's queued_bytes */
};

/* One terminal's reads. */
struct read_share {
    char terminal[sizeof((struct sh_caller *)0)->terminal];
    struct read_share *next;      /* the pool's list */
    struct read_job *head, *tail; /* waiting, oldest first */
    uint32_t queued;              /* waiting and running */
    uint64_t queued_bytes;        /* their requests' bytes and their jobs' */
};

struct read_pool {
    struct net_server *server;
    struct read_share *shares; /* every terminal with a read waiting or running */
    struct read_share *turn;   /* the next share to be served (round robin) */
    uint32_t queued;           /* waiting and running, every terminal */
    uint32_t running;
    uint32_t running_max;
};

bool read_pool_takes(const Sanhe__Request *request)
{
    switch (request->op_case) {
    case SANHE__REQUEST__OP_RECONCILE:
    case SANHE__REQUEST__OP_CROSSCHECK:
    case SANHE__REQUEST__OP_IMPORT_LOG:
        return true;
    default:
        return false;
    }
}

int read_pool_init(struct net_server *server, uint32_t worker_threads)
{
    assert(server->reads == NULL);
    struct read_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return SH_E_INTERNAL;
    if (worker_threads == 0)
        worker_threads = NET_WORKER_THREADS_DEFAULT;
    if (worker_threads < NET_WORKER_THREADS_MIN)
        worker_threads = NET_WORKER_THREADS_MIN;
    pool->server = server;
    pool->running_max = worker_threads - 2;
    /* Reads never take the last core: the loop thread must find one free
     * when a presettle comes, not wait for a read's time slice to end. */
    unsigned cores = uv_available_parallelism();
    if (cores >= 2 && pool->running_max > cores - 1)
        pool->running_max = cores - 1;
    assert(pool->running_max >= 1 && pool->running_max <= NET_WORKER_THREADS_MAX);
    server->reads = pool;
    return 0;
}

void read_pool_free(struct net_server *server)
{
    struct read_pool *pool = server->reads;
    if (pool == NULL)
        return;
    /* The loop has run every job to its end (each holds a connection). */
    assert(pool->queued == 0 && pool->running == 0 && pool->shares == NULL);
    free(pool);
    server->reads = NULL;
}

bool read_pool_idle(const struct net_server *server)
{
    return server->reads == NULL || server->reads->queued == 0;
}

uint32_t read_pool_queued(const struct net_server *server)
{
    return server->reads != NULL ? server->reads->queued : 0;
}

static struct read_share *share_find(struct read_pool *pool, const char *terminal)
{
    for (struct read_share *s = pool->shares; s != NULL; s = s->next)
        if (strcmp(s->terminal, terminal) == 0)
            return s;
    return NULL;
}

static struct read_share *share_get(struct read_pool *pool, const char *terminal)
{
    struct read_share *s = share_find(pool, terminal);
    if (s != NULL)
        return s;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    snprintf(s->terminal, sizeof s->terminal, "%s", terminal);
    s->next = pool->shares;
    pool->shares = s;
    return s;
}

/* A share with nothing waiting or running leaves the list. */
static void share_drop(struct read_pool *pool, struct read_share *s)
{
    assert(s->queued == 0 && s->head == NULL);
    struct read_share **p = &pool->shares;
    while (*p != s)
        p = &(*p)->next;
    *p = s->next;
    if (pool->turn == s)
        pool->turn = s->next;
    free(s);
}

/* The next share with a read waiting, from the turn on, round the list. */
static struct read_share *share_next_waiting(struct read_pool *pool)
{
    struct read_share *start = pool->turn != NULL ? pool->turn : pool->shares;
    struct read_share *s = start;
    while (s != NULL) {
        if (s->head != NULL)
            return s;
        s = s->next != NULL ? s->next : pool->shares;
        if (s == start)
            break;
    }
    return NULL;
}

/* ---- On a thread of the pool ----------------------------------------------------------- */

static void job_work(uv_work_t *req)
{
    struct read_job *job = req->data;
    job->rc =
        ledger_read_detached(job->pool->server->ledger, &job->caller, job->request, &job->reply);
}

/* ---- Back on the loop ------------------------------------------------------------------- */

static void job_reply_error(struct read_job *job, int code, const char *message)
{
    free(job->reply.data);
    memset(&job->reply, 0, sizeof job->reply);
    if (frame_error_reply(job->request->request_id, code, message, &job->reply) != 0) {
        free(job->reply.data);
        memset(&job->reply, 0, sizeof job->reply);
    }
}

static void pool_dispatch(struct read_pool *pool);

/* The job is done (run, or dropped for its closed connection): its reply
 * goes out and it leaves every count. */
static void job_finish(struct read_job *job)
{
    struct read_pool *pool = job->pool;
    struct read_share *share = job->share;
    struct conn *c = job->conn;
    assert(pool->queued > 0 && share->queued > 0);
    pool->queued--;
    share->queued--;
    assert(share->queued_bytes >= job->cost_bytes);
    share->queued_bytes -= job->cost_bytes;
    if (share->queued == 0)
        share_drop(pool, share);
    if (c->state != CONN_CLOSED && job->reply.data != NULL) {
        if (frame_reply_error(job->reply.data, job->reply.len) == SH_E_FORBIDDEN)
            conn_log_forbidden(c, job->request);
        conn_queue_reply(c, &job->reply);
        conn_flush(c);
    }
    net_stats_record_op(&pool->server->stats, frame_op_name(job->request),
                        uv_hrtime() / 1000 - job->enqueued_us);
    free(job->reply.data);
    sanhe__request__free_unpacked(job->request, NULL);
    free(job);
    conn_write_done(c); /* in flight no more: a closing connection may now shut */
    conn_unref(c);
}

static void job_after_work(uv_work_t *req, int status)
{
    struct read_job *job = req->data;
    struct read_pool *pool = job->pool;
    assert(pool->running > 0);
    pool->running--;
    if (status != 0 || job->rc != 0)
        job_reply_error(job, SH_E_INTERNAL, "the engine could not answer");
    job_finish(job);
    pool_dispatch(pool);
}

/* Hands waiting reads to the pool, one per terminal in turn, while a
 * thread is free for them. */
static void pool_dispatch(struct read_pool *pool)
{
    while (pool->running < pool->running_max) {
        struct read_share *s = share_next_waiting(pool);
        if (s == NULL)
            return;
        struct read_job *job = s->head;
        s->head = job->next;
        if (s->head == NULL)
            s->tail = NULL;
        job->next = NULL;
        pool->turn = s->next; /* the next terminal goes first next time */
        if (job->conn->state == CONN_CLOSED) {
            job_finish(job); /* nobody to answer: not worth a thread */
            continue;
        }
        job->work.data = job;
        if (uv_queue_work(pool->server->loop, &job->work, job_work, job_after_work) != 0) {
            job_reply_error(job, SH_E_INTERNAL, "the engine could not answer");
            job_finish(job);
            continue;
        }
        pool->running++;
    }
}

int read_pool_submit(struct net_server *server, struct conn *conn, Sanhe__Request *request,
                     char *why, size_t why_len)
{
    struct read_pool *pool = server->reads;
    assert(pool != NULL && conn->has_caller && read_pool_takes(request));
    const struct net_limits *limits = &server->limits;
    struct read_share *share = share_find(pool, conn->caller.terminal);
    uint32_t mine = share != NULL ? share->queued : 0;
    if (mine >= limits->reads_queued_per_terminal_max) {
        snprintf(why, why_len,
                 "%s: terminal %s has %u reads waiting (reads_queued_per_terminal_max); "
                 "read their replies, then retry",
                 frame_op_name(request), conn->caller.terminal, mine);
        return SH_E_LIMIT_EXCEEDED;
    }
    /* What the read holds while it waits: the request as decoded (its
     * packed size: unknown fields are kept) and its job. One read is
     * always taken when none waits: a frame is bounded anyway. */
    uint64_t cost = sanhe__request__get_packed_size(request) + sizeof(struct read_job);
    uint64_t mine_bytes = share != NULL ? share->queued_bytes : 0;
    if (mine > 0 && mine_bytes + cost > limits->reads_queued_per_terminal_max_bytes) {
        snprintf(why, why_len,
                 "%s: terminal %s has %llu bytes of reads waiting "
                 "(reads_queued_per_terminal_max_bytes); read their replies, then retry",
                 frame_op_name(request), conn->caller.terminal, (unsigned long long)mine_bytes);
        return SH_E_LIMIT_EXCEEDED;
    }
    if (pool->queued >= limits->reads_queued_total_max) {
        snprintf(why, why_len,
                 "%s: the engine has %u reads waiting (reads_queued_total_max); retry later",
                 frame_op_name(request), pool->queued);
        return SH_E_LIMIT_EXCEEDED;
    }
    struct read_job *job = calloc(1, sizeof *job);
    share = job != NULL ? share_get(pool, conn->caller.terminal) : NULL;
    if (share == NULL) {
        free(job);
        snprintf(why, why_len, "out of memory");
        return SH_E_INTERNAL;
    }
    job->pool = pool;
    job->share = share;
    job->conn = conn;
    job->request = request;
    job->caller = conn->caller;
    job->enqueued_us = uv_hrtime() / 1000;
    job->cost_bytes = cost;
    share->queued_bytes += cost;
    if (share->tail != NULL)
        share->tail->next = job;
    else
        share->head = job;
    share->tail = job;
    share->queued++;
    pool->queued++;
    conn_ref(conn);
    conn->inflight++;
    server->stats.reads++;
    server->stats.reads_pooled++;
    pool_dispatch(pool);
    return 0;
}
