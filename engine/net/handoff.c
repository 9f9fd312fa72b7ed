/*
 * The hand-off between the connections and the durability pipeline
 * (engine/durable): writes go in with their connection as the ticket, and
 * their replies come back once durable, on the loop thread, to be queued
 * on the connections. When a batch is committed and synced is the
 * pipeline's affair alone; this file keeps the network's side: references
 * and in-flight counts, statistics, logs, and the replies' way out.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "net_internal.h"
#include "net_log.h"

/* ---- The pipeline's hooks ---------------------------------------------------------- */

/* Writer thread: a settle's audit record, once its reply is known. */
static void handoff_on_audit(void *ctx, struct durable_item *item, int64_t now_ms)
{
    (void)ctx;
    lookup_settle_audit(item, now_ms);
}

static void handoff_on_batch(void *ctx, const struct durable_batch_info *info)
{
    struct net_server *server = ctx;
    net_stats_record_batch(&server->stats, info->writes, info->commit_us, info->rc == 0);
    diskfull_note_batch(server, info->rc); /* ENOSPC logged, and the resumption */
    net_stats_record_stage1(&server->stats, info->apply_us, info->write_us);
}

static void handoff_on_synced(void *ctx, uint64_t sync_us)
{
    struct net_server *server = ctx;
    net_stats_record_sync(&server->stats, sync_us);
}

/* A reply the pipeline refused (the batch's commit or sync failed). */
static void handoff_error_reply(struct durable_item *item)
{
    free(item->reply.data);
    memset(&item->reply, 0, sizeof item->reply);
    frame_error_reply(item->request->request_id, item->error, item->error_message, &item->reply);
}

/* Hands each reply to its connection (queued, not yet encrypted), then
 * flushes each connection once and lets it resume reading. */
static void handoff_on_deliver(void *ctx, struct durable_item *items, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        if (items[i].error != 0)
            handoff_error_reply(&items[i]);
    for (size_t i = 0; i < n; i++) {
        struct conn *c = items[i].ticket;
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
        struct conn *c = items[i].ticket;
        conn_flush(c); /* a no-op after the first item of a connection */
        conn_write_done(c);
        conn_unref(c);
    }
}

static void handoff_on_progress(void *ctx) { server_batch_done(ctx); }

static void handoff_on_log(void *ctx, const char *line)
{
    (void)ctx;
    net_log(NET_LOG_ERROR, "%s", line);
}

static void handoff_on_closed(void *ctx) { server_handle_closed(ctx); }

/* ---- The network's calls -------------------------------------------------------------- */

int handoff_init(struct net_server *server)
{
    struct durable_hooks hooks = {.ctx = server,
                                  .audit = handoff_on_audit,
                                  .batch_answered = handoff_on_batch,
                                  .synced = handoff_on_synced,
                                  .deliver = handoff_on_deliver,
                                  .progress = handoff_on_progress,
                                  .log_error = handoff_on_log,
                                  .closed = handoff_on_closed};
    int rc = durable_create(server->loop, server->ledger, server->limits.batch_max, &hooks,
                            &server->durable);
    if (rc != 0)
        return rc;
    server->handles_open += 1; /* the pipeline's check handle */
    return 0;
}

/* The connection stays until its reply is handed over, and counts it. */
static void handoff_hold(struct conn *conn)
{
    conn_ref(conn);
    conn->inflight++;
}

int handoff_submit(struct net_server *server, struct conn *conn, Sanhe__Request *request)
{
    /* Only a known terminal's writes reach the ledger (conn_input.c). */
    assert(conn->has_caller && request != NULL && ledger_request_writes(request));
    int rc = durable_submit(server->durable, conn, &conn->caller, request);
    if (rc == 0)
        handoff_hold(conn);
    return rc;
}

int handoff_submit_answered(struct net_server *server, struct conn *conn, Sanhe__Request *request,
                            struct sh_reply *reply, const struct ledger_audit_record *audit)
{
    assert(conn->has_caller);
    int rc = durable_submit_answered(server->durable, conn, &conn->caller, request, reply, audit);
    if (rc == 0)
        handoff_hold(conn);
    return rc;
}

bool handoff_idle(const struct net_server *server)
{
    return server->durable == NULL || durable_idle(server->durable);
}
