/*
 * The durability pipeline: the group commit between the network and the
 * ledger (docs/storage.md, group commit).
 *
 * It owns what goes into one batch (one ledger transaction), when the
 * store's sync runs, and when a reply may go: a reply is handed back only
 * once the batch that holds it is durable. The network hands requests in
 * (durable_submit, with an opaque ticket: its connection) and takes replies
 * out (hooks.deliver, on the loop thread); it knows nothing of commits or
 * syncs. The ledger applies the requests (ledger_batch_*) and syncs
 * (ledger_sync) when told; it knows nothing of threads or the network.
 *
 * Every call here is on the loop thread, except hooks.audit (the writer).
 */
#ifndef DURABLE_H
#define DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ledger.h"

/* One request in the pipeline, as the hooks see it. */
struct durable_item {
    void *ticket; /* the submitter's: handed back untouched with the reply */
    Sanhe__Request *request;
    struct sh_caller caller;
    struct sh_reply reply;
    uint64_t enqueued_us; /* uv_hrtime, for the per-operation latency (metrics) */
    /* A read answered already on the loop thread: the batch only makes its
     * audit record durable before the reply goes. */
    bool answered;
    bool audited; /* audit holds its record (a settle's is filled at apply) */
    struct ledger_audit_record audit;
    /* Nonzero at delivery: reply is to be replaced by an error reply with
     * this code (one the wire knows) and message. */
    int error;
    const char *error_message;
};

/* What one batch did, once answered (for statistics and logs). */
struct durable_batch_info {
    size_t writes;      /* items in the batch */
    uint64_t commit_us; /* hand-over to the writer until answered */
    int rc;             /* 0, or the code that answered every item */
    uint64_t apply_us;  /* stage 1 on the writer thread: the applies */
    uint64_t write_us;  /* and the ledger's commit */
};

struct durable_hooks {
    void *ctx;
    /* Writer thread, after the applies: may fill item->audit (and set
     * item->audited) from the item's reply. */
    void (*audit)(void *ctx, struct durable_item *item, int64_t now_ms);
    /* Loop thread: a batch is answered (before its replies are delivered). */
    void (*batch_answered)(void *ctx, const struct durable_batch_info *info);
    /* Loop thread: a sync ended, after sync_us. */
    void (*synced)(void *ctx, uint64_t sync_us);
    /* Loop thread: the replies of one batch, in order, now durable (or
     * errors). The hook takes over every reply and request. */
    void (*deliver)(void *ctx, struct durable_item *items, size_t n);
    /* Loop thread: a batch ended or was answered (the pipeline may be idle). */
    void (*progress)(void *ctx);
    /* Loop thread: a line for the error log. */
    void (*log_error)(void *ctx, const char *line);
    /* Loop thread: durable_close is done. */
    void (*closed)(void *ctx);
};

struct durable;

/* All or nothing: 0, or SH_E_INTERNAL. At most batch_max writes per batch. */
int durable_create(uv_loop_t *loop, struct ledger *ledger, uint32_t batch_max,
                   const struct durable_hooks *hooks, struct durable **out);
/* Queues a write (ownership of request passes on 0; it comes back through
 * hooks.deliver). SH_E_INTERNAL: out of memory. */
int durable_submit(struct durable *d, void *ticket, const struct sh_caller *caller,
                   Sanhe__Request *request);
/* A read answered already (reply taken over), waiting only for its audit
 * record to be committed and synced with the next batch. */
int durable_submit_answered(struct durable *d, void *ticket, const struct sh_caller *caller,
                            Sanhe__Request *request, struct sh_reply *reply,
                            const struct ledger_audit_record *audit);
/* An audit record for the next batch, no reply waiting on it (false: the
 * ring is full, the record is lost, counted and logged). */
bool durable_audit_pending(struct durable *d, const struct ledger_audit_record *audit);
/* Audit records lost so far (metrics). */
uint64_t durable_audit_lost(const struct durable *d);
/* No write queued, none applying, none waiting for its sync. */
bool durable_idle(const struct durable *d);
/* Closes the loop handle; hooks.closed runs when it is closed. */
void durable_close(struct durable *d);
/* After durable_close's hook, with the pipeline idle. NULL: nothing. */
void durable_free(struct durable *d);

#endif
