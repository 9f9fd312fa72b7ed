/*
 * Group commit. A batch is one LMDB write transaction. Each request runs
 * straight in it, so later requests see the earlier ones' accumulator
 * changes, exactly as if they had come one by one, and one request never
 * spoils the others:
 *   - a refusal that wrote nothing (the operations check before they write)
 *     leaves the transaction as it was;
 *   - a request that failed after writing (a storage error, or a refusal
 *     late in the operation) leaves a part of itself behind: the
 *     transaction is dropped and rebuilt from the batch's log (below), and
 *     the request is refused alone.
 * The one operation that checks as it writes, the admin Load, runs in a
 * child (nested) transaction instead; LMDB copies every page a child
 * touches, a cost too high for every settle.
 *
 * The batch keeps a log of the requests its transaction holds (the
 * caller's request, a copy of the caller, a copy of the reply given).
 *
 * A full map. LMDB can only grow the map with no transaction active, and a
 * transaction that met MDB_MAP_FULL cannot reliably commit either (its
 * commit needs pages too). So when a request meets MDB_MAP_FULL below
 * map_size_max, the batch rebuilds itself:
 *   1. the whole batch transaction is aborted (nothing of the batch was on
 *      disk: nothing acknowledged is touched);
 *   2. the map doubles;
 *   3. a new batch transaction applies the logged requests again, in order,
 *      with the same clock. The ledger is deterministic, so each gives the
 *      same reply; the hashes prove it (a difference makes the batch fatal).
 *      The replies already handed out stay valid;
 *   4. the request that met the full map runs again.
 * The same happens when ledger_batch_commit itself meets MDB_MAP_FULL. At
 * map_size_max a request that does not fit is refused alone with
 * STORAGE_FULL and the batch goes on (a smaller one may still fit); a
 * commit that does not fit fails the batch with STORAGE_FULL, nothing of it
 * kept. This is why the caller keeps every request alive and unchanged
 * until the batch is committed or aborted.
 *
 * MDB_TXN_FULL (more dirty pages than one transaction may hold, 512 MiB)
 * cannot be cured by growing: a request that meets it in an empty batch is
 * refused with LIMIT_EXCEEDED; otherwise the batch commits what it holds
 * (those replies are not yet sent, and their retries would be answered
 * from the idempotency records anyway), starts a new transaction and runs
 * the request again.
 *
 * A failure of the batch transaction itself makes the batch fatal: every
 * later apply returns the code, and commit aborts and returns it.
 */
#include <assert.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_flush.h"
#include "ledger_internal.h"
#include "item_cache.h"
#include "request_tail.h"

static int batch_fatal(struct ledger_batch *b, int code)
{
    assert(code < 0);
    if (b->fatal == 0)
        b->fatal = code;
    return b->fatal;
}

/* Ends a transaction of the batch without keeping it: the writer's map of
 * unindexed records may hold some of its records, so it is reloaded before
 * its next use. */
static void batch_drop(struct ledger_batch *b, struct store_txn *txn)
{
    store_write_abort(txn);
    request_tail_set_stale(b->ledger->tail, true);
    item_cache_clear(b->ledger->items); /* it may hold what txn read */
}

/* The policies committed with the batch become the ledger's (readers on
 * another thread may hold the old ones until they let go of the lock). */
static void batch_promote_policies(struct ledger_batch *b)
{
    if (b->policies == NULL)
        return;
    ledger_lock_exclusive(b->ledger);
    policy_set_free(b->ledger->policies);
    b->ledger->policies = b->policies;
    ledger_unlock(b->ledger);
    b->policies = NULL;
}

/* Growth with no reader in the middle of a transaction (LMDB's rule). */
static int batch_grow(struct ledger *ledger, bool ahead)
{
    /* Most batches have nothing to grow: they must not wait for the reads
     * running on other threads to let go. */
    if (ahead && !store_grow_due(&ledger->store))
        return 0;
    ledger_lock_exclusive(ledger);
    int rc = ledger->store.reading ? SH_E_INTERNAL /* a batch inside a read */
             : ahead               ? store_grow_ahead(&ledger->store)
                                   : store_grow(&ledger->store);
    ledger_unlock(ledger);
    return rc;
}

int ledger_batch_begin(struct ledger *ledger, int64_t now_ms, struct ledger_batch **out)
{
    assert(ledger != NULL && out != NULL);
    *out = NULL;
    if (ledger->batch != NULL)
        return SH_E_INTERNAL; /* one batch at a time */
    /* Growing now, with no transaction open, is cheap; in a batch it is not. */
    int rc = batch_grow(ledger, true);
    if (rc != 0)
        return rc;
    struct ledger_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return SH_E_INTERNAL;
    b->ledger = ledger;
    b->now_ms = now_ms;
    b->day = sh_date_from_unix_ms(now_ms, ledger->utc_offset_min);
    sh_date_format(b->day, b->day_str);
    rc = store_write_begin(&ledger->store, NULL, &b->txn);
    if (rc != 0) {
        free(b);
        return rc;
    }
    ledger->batch = b;
    *out = b;
    return 0;
}

/* ---- One request ------------------------------------------------------------------ */

static void op_reset(struct ledger_op *op, struct ledger_batch *b, const struct sh_caller *caller,
                     const Sanhe__Request *request)
{
    free(op->reply.data);
    policy_set_free(op->new_policies);
    memset(op, 0, sizeof *op);
    op->ledger = b->ledger;
    op->caller = caller;
    op->request = request;
    op->tail = b->ledger->tail;
    op->items = b->ledger->items;
    op->policies = b->policies != NULL ? b->policies : b->ledger->policies;
    op->now_ms = b->now_ms;
    op->day = b->day;
    op->day_str = b->day_str;
}

/* How a request that did not make it into the batch left the batch. */
struct batch_failure {
    int mdb_rc;           /* the LMDB code behind a storage failure, else 0 */
    bool spoiled;         /* the batch transaction holds a part of the request */
    struct store_txn txn; /* the transaction as it failed, for the reply's message */
};

/* An isolated op, in a child transaction: a failure leaves the batch as it was. */
static int batch_try_child(struct ledger_batch *b, const struct ledger_opdesc *desc,
                           struct ledger_op *op, struct batch_failure *f)
{
    struct store_txn child = {0};
    int rc = store_write_begin(&b->ledger->store, &b->txn, &child);
    op->txn = &child;
    if (rc == 0)
        rc = desc->fn(op);
    if (rc == 0 && child.ret != 0)
        rc = child.ret; /* an op must not succeed over a failed step */
    if (rc == 0)
        rc = store_write_commit(&child);
    else
        batch_drop(b, &child);
    f->mdb_rc = child.mdb_rc;
    f->txn = child;
    return rc;
}

/* Any other op, straight in the batch transaction. */
static int batch_try_direct(struct ledger_batch *b, const struct ledger_opdesc *desc,
                            struct ledger_op *op, struct batch_failure *f)
{
    uint64_t writes = b->txn.writes;
    op->txn = &b->txn;
    int rc = desc->fn(op);
    if (rc == 0 && b->txn.ret != 0)
        rc = b->txn.ret;
    assert(op->new_policies == NULL); /* only a Load makes policies, and it is isolated */
    if (rc != 0) {
        f->mdb_rc = b->txn.mdb_rc;
        f->spoiled = b->txn.ret != 0 || b->txn.writes != writes;
        f->txn = b->txn;
    }
    return rc;
}

/* Runs the op; 0 when it succeeded and is in the batch (its new policies,
 * if any, are the batch's). Else *f tells how it failed. */
static int batch_try(struct ledger_batch *b, const struct ledger_opdesc *desc, struct ledger_op *op,
                     struct batch_failure *f)
{
    memset(f, 0, sizeof *f);
    int rc = desc->isolated ? batch_try_child(b, desc, op, f) : batch_try_direct(b, desc, op, f);
    if (rc != 0)
        return rc;
    if (op->new_policies != NULL) {
        policy_set_free(b->policies);
        b->policies = op->new_policies;
        op->new_policies = NULL;
    }
    return 0;
}

static int batch_log(struct ledger_batch *b, const struct sh_caller *caller,
                     const Sanhe__Request *request, const struct sh_reply *reply)
{
    if (b->log_len == b->log_cap) {
        size_t cap = b->log_cap > 0 ? b->log_cap * 2 : 64;
        struct batch_entry *log = realloc(b->log, cap * sizeof *log);
        if (log == NULL)
            return SH_E_INTERNAL;
        b->log = log;
        b->log_cap = cap;
    }
    assert(b->log_len < b->log_cap && reply->data != NULL && reply->len > 0);
    struct batch_entry *e = &b->log[b->log_len];
    e->caller = *caller;
    e->request = request;
    e->reply_len = reply->len;
    e->reply = malloc(reply->len > 0 ? reply->len : 1);
    if (e->reply == NULL)
        return SH_E_INTERNAL;
    if (reply->len > 0)
        memcpy(e->reply, reply->data, reply->len);
    b->log_len++;
    return 0;
}

static void batch_log_clear(struct ledger_batch *b)
{
    for (size_t i = 0; i < b->log_len; i++)
        free(b->log[i].reply);
    b->log_len = 0;
}

/* ---- Rebuilding the batch in a bigger map ---------------------------------------------- */

/* Applies the logged requests again in the (new, empty) batch transaction.
 * Returns 0; or MDB_MAP_FULL's pressure as *mdb_rc with a nonzero return. */
static int batch_replay(struct ledger_batch *b, int *mdb_rc)
{
    *mdb_rc = 0;
    struct ledger_op op = {0};
    int rc = 0;
    for (size_t i = 0; i < b->log_len && rc == 0; i++) {
        const struct batch_entry *e = &b->log[i];
        const struct ledger_opdesc *desc = ledger_opdesc_of(e->request);
        struct batch_failure f = {0};
        op_reset(&op, b, &e->caller, e->request);
        rc = desc != NULL ? batch_try(b, desc, &op, &f) : SH_E_INTERNAL;
        if (rc != 0)
            *mdb_rc = f.mdb_rc;
        else if (op.reply.len != e->reply_len ||
                 (e->reply_len > 0 && memcmp(op.reply.data, e->reply, e->reply_len) != 0))
            rc = SH_E_INTERNAL; /* not the same answer: never hand out both */
    }
    op_reset(&op, b, NULL, NULL);
    return rc;
}

/*
 * The batch transaction is to be dropped (open, spoiled by a failed
 * request, or already ended by a failed commit): applies the log again in a
 * new one, in a map grown first when grow is set, and grown (again) when
 * the log does not fit. Returns 0, or the batch's fatal code.
 */
static int batch_rebuild(struct ledger_batch *b, bool grow)
{
    struct store *store = &b->ledger->store;
    for (int attempt = 0; attempt < LEDGER_RETRIES_MAX; attempt++) {
        batch_drop(b, &b->txn);
        policy_set_free(b->policies);
        b->policies = NULL;
        int rc = grow || attempt > 0 ? batch_grow(b->ledger, false) : 0;
        if (rc != 0)
            return batch_fatal(b, rc); /* STORAGE_FULL: the batch no longer fits */
        rc = store_write_begin(store, NULL, &b->txn);
        if (rc != 0)
            return batch_fatal(b, rc);
        int mdb_rc = 0;
        rc = batch_replay(b, &mdb_rc);
        if (rc == 0)
            return 0;
        if (mdb_rc != MDB_MAP_FULL)
            return batch_fatal(b, SH_E_INTERNAL);
    }
    return batch_fatal(b, SH_E_STORAGE_FULL);
}

/* MDB_TXN_FULL with requests in the batch: commit them, start afresh. */
static int batch_flush(struct ledger_batch *b)
{
    int rc = store_write_commit(&b->txn);
    if (rc != 0)
        return batch_fatal(b, rc);
    batch_promote_policies(b);
    batch_log_clear(b);
    rc = store_write_begin(&b->ledger->store, NULL, &b->txn);
    return rc != 0 ? batch_fatal(b, rc) : 0;
}

/* After a request met pressure (f->mdb_rc): 0 to run it again, or the code
 * that refuses it (the batch's fatal code when the batch broke). */
static int batch_relieve(struct ledger_batch *b, const struct batch_failure *f,
                         struct sh_error *err)
{
    struct store *store = &b->ledger->store;
    if (f->mdb_rc == MDB_MAP_FULL) {
        if (store->map_size < store->map_max)
            return batch_rebuild(b, true);
        int rc = f->spoiled ? batch_rebuild(b, false) : 0;
        if (rc != 0)
            return rc;
        sh_error_set(err, SH_E_STORAGE_FULL,
                     "the store reached its size limit (%llu MiB); nothing was recorded",
                     (unsigned long long)(store->map_max >> 20));
        return sh_error_detail(err, SH_D_STORAGE_FULL, "%llu",
                               (unsigned long long)(store->map_max >> 20));
    }
    assert(f->mdb_rc == MDB_TXN_FULL);
    int rc = f->spoiled ? batch_rebuild(b, false) : 0;
    if (rc != 0)
        return rc;
    if (b->log_len == 0) {
        sh_error_set(err, SH_E_LIMIT_EXCEEDED,
                     "the request is too large for one transaction; nothing was recorded");
        return sh_error_detail(err, SH_D_REQUEST_TOO_LARGE, "%s", "");
    }
    return batch_flush(b);
}

/* Refusals that need no transaction: no operation, a read, a wrong role. */
static int batch_precheck(const struct ledger_opdesc *desc, const struct sh_caller *caller,
                          struct sh_error *err)
{
    if (desc == NULL)
        return sh_error_set(err, SH_E_BAD_REQUEST, "the request names no operation");
    if (!desc->writes)
        return sh_error_set(err, SH_E_BAD_REQUEST, "%s is a read: it does not go in a batch",
                            desc->name);
    return ledger_role_check(desc, caller, err);
}

/* The error reply of a refused or failed request; 0, or fatal. */
static int batch_refuse(struct ledger_batch *b, struct ledger_op *op, int rc,
                        struct sh_reply *reply)
{
    int pack = ledger_reply_failure(op, rc, reply);
    op_reset(op, b, NULL, NULL);
    return pack != 0 ? batch_fatal(b, pack) : 0;
}

/* A request that failed: the batch made whole again (fatal when it cannot
 * be), then the request refused, or 0 to run it again after pressure. */
static int batch_recover(struct ledger_batch *b, struct ledger_op *op, int rc,
                         struct batch_failure *f, int attempt)
{
    if (f->mdb_rc != 0 && store_error_is_fatal(f->mdb_rc))
        return batch_fatal(b, SH_E_INTERNAL);
    if (f->mdb_rc != 0 && store_error_is_pressure(f->mdb_rc) && attempt < LEDGER_RETRIES_MAX) {
        op->err = (struct sh_error){0};
        return batch_relieve(b, f, &op->err);
    }
    if (f->spoiled && batch_rebuild(b, false) != 0)
        return b->fatal;
    /* The batch is whole again: the request alone is refused. */
    assert(rc < 0 && b->fatal == 0 && b->txn.ret == 0);
    return rc;
}

int ledger_batch_apply(struct ledger_batch *b, const struct sh_caller *caller,
                       const Sanhe__Request *request, struct sh_reply *reply)
{
    assert(b != NULL && caller != NULL && request != NULL && reply != NULL);
    memset(reply, 0, sizeof *reply);
    if (b->fatal != 0)
        return b->fatal;
    const struct ledger_opdesc *desc = ledger_opdesc_of(request);
    struct ledger_op op = {0};
    op_reset(&op, b, caller, request);
    int rc = batch_precheck(desc, caller, &op.err);
    struct batch_failure f = {0};
    for (int attempt = 0; rc == 0; attempt++) {
        rc = batch_try(b, desc, &op, &f);
        if (rc == 0) {
            if (batch_log(b, caller, request, &op.reply) != 0) {
                op_reset(&op, b, NULL, NULL);
                return batch_fatal(b, SH_E_INTERNAL);
            }
            *reply = op.reply;
            return 0;
        }
        struct sh_error refusal = op.err;
        op_reset(&op, b, caller, request);
        op.err = refusal;
        rc = batch_recover(b, &op, rc, &f, attempt);
        if (b->fatal != 0) {
            op_reset(&op, b, NULL, NULL);
            return b->fatal;
        }
    }
    op.txn = &f.txn; /* ended, but its codes tell the failure */
    return batch_refuse(b, &op, rc, reply);
}

/* ---- The end of a batch ------------------------------------------------------------------ */

static void batch_free(struct ledger_batch *b)
{
    policy_set_free(b->policies);
    batch_log_clear(b);
    free(b->log);
    b->ledger->batch = NULL;
    free(b);
}

/* Commits (data synced, meta page not yet: see store.h) and frees. */
static int batch_commit(struct ledger_batch *b)
{
    assert(b != NULL);
    struct store *store = &b->ledger->store;
    int rc = b->fatal;
    for (int attempt = 0; rc == 0; attempt++) {
        audit_write(&b->txn, b); /* after a rebuild too: the new txn has none */
        index_flush_due(&b->txn, b->ledger->tail, b->ledger->index_lag_flush);
        rc = store_write_commit(&b->txn);
        if (rc == 0) {
            batch_promote_policies(b);
            break;
        }
        request_tail_set_stale(b->ledger->tail, true);
        /* Nothing of this commit was kept; in a bigger map it fits. */
        if (b->txn.mdb_rc == MDB_MAP_FULL && store->map_size < store->map_max &&
            attempt < LEDGER_RETRIES_MAX)
            rc = batch_rebuild(b, true);
    }
    if (rc != 0)
        batch_drop(b, &b->txn);
    batch_free(b);
    return rc;
}

int ledger_batch_commit_nosync(struct ledger_batch *b) { return batch_commit(b); }

int ledger_batch_commit(struct ledger_batch *b)
{
    assert(b != NULL);
    struct ledger *ledger = b->ledger;
    int rc = batch_commit(b);
    return rc == 0 ? ledger_sync(ledger) : rc;
}

int ledger_sync(struct ledger *ledger) { return store_sync(&ledger->store); }

int ledger_index_flush(struct ledger *ledger, int64_t now_ms)
{
    struct ledger_batch *b = NULL;
    int rc = ledger_batch_begin(ledger, now_ms, &b);
    if (rc != 0)
        return rc;
    index_flush(&b->txn, ledger->tail);
    return ledger_batch_commit(b);
}

void ledger_batch_abort(struct ledger_batch *b)
{
    if (b == NULL)
        return;
    batch_drop(b, &b->txn);
    batch_free(b);
}
