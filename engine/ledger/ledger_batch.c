/*
 * Group commit. A batch is one LMDB write transaction; each request runs in
 * a child (nested) transaction of it, committed into the batch when the
 * request succeeds and aborted when it is refused or fails, so that one
 * request never spoils the others and later requests see the earlier ones'
 * accumulator changes, exactly as if they had come one by one.
 *
 * The batch keeps a log of the requests its transaction holds (the
 * caller's request, a copy of the caller, a hash of the reply given).
 *
 * A full map. LMDB can only grow the map with no transaction active, and a
 * transaction that met MDB_MAP_FULL cannot reliably commit either (its
 * commit needs pages too). So when a request's child meets MDB_MAP_FULL
 * below map_size_max, the batch rebuilds itself:
 *   1. the child and the whole batch transaction are aborted (nothing of
 *      the batch was on disk: nothing acknowledged is touched);
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
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_internal.h"

static int batch_fatal(struct ledger_batch *b, int code)
{
    assert(code < 0);
    if (b->fatal == 0)
        b->fatal = code;
    return b->fatal;
}

/* The policies committed with the batch become the ledger's. */
static void batch_promote_policies(struct ledger_batch *b)
{
    if (b->policies == NULL)
        return;
    policy_set_free(b->ledger->policies);
    b->ledger->policies = b->policies;
    b->policies = NULL;
}

static int reply_hash(const struct sh_reply *reply, uint8_t out[LEDGER_HASH_LEN])
{
    unsigned int n = 0;
    int ok = EVP_Digest(reply->data, reply->len, out, &n, EVP_sha256(), NULL);
    return ok == 1 && n == LEDGER_HASH_LEN ? 0 : SH_E_INTERNAL;
}

int ledger_batch_begin(struct ledger *ledger, int64_t now_ms, struct ledger_batch **out)
{
    assert(ledger != NULL && out != NULL);
    *out = NULL;
    if (ledger->batch != NULL || ledger->store.reading)
        return SH_E_INTERNAL; /* one batch at a time, never inside a read */
    /* Growing now, with no transaction open, is cheap; in a batch it is not. */
    int rc = store_grow_ahead(&ledger->store);
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

static void op_reset(struct ledger_op *op, struct ledger_batch *b,
                     const struct sh_caller *caller, const Sanhe__Request *request)
{
    free(op->reply.data);
    policy_set_free(op->new_policies);
    memset(op, 0, sizeof *op);
    op->ledger = b->ledger;
    op->caller = caller;
    op->request = request;
    op->policies = b->policies != NULL ? b->policies : b->ledger->policies;
    op->now_ms = b->now_ms;
    op->day = b->day;
    op->day_str = b->day_str;
}

/* Runs the op in a child transaction; 0 when it succeeded and is in the
 * batch (its new policies, if any, are the batch's). */
static int batch_try(struct ledger_batch *b, const struct ledger_opdesc *desc,
                     struct ledger_op *op, struct store_txn *child)
{
    int rc = store_write_begin(&b->ledger->store, &b->txn, child);
    op->txn = child;
    if (rc == 0)
        rc = desc->fn(op);
    if (rc == 0 && child->ret != 0)
        rc = child->ret; /* an op must not succeed over a failed step */
    if (rc == 0)
        rc = store_write_commit(child);
    else
        store_write_abort(child);
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
    struct batch_entry *e = &b->log[b->log_len];
    e->caller = *caller;
    e->request = request;
    if (reply_hash(reply, e->reply_hash) != 0)
        return SH_E_INTERNAL;
    b->log_len++;
    return 0;
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
        struct store_txn child = {0};
        uint8_t hash[LEDGER_HASH_LEN];
        op_reset(&op, b, &e->caller, e->request);
        rc = desc != NULL ? batch_try(b, desc, &op, &child) : SH_E_INTERNAL;
        if (rc != 0)
            *mdb_rc = child.mdb_rc;
        else if (reply_hash(&op.reply, hash) != 0 ||
                 memcmp(hash, e->reply_hash, LEDGER_HASH_LEN) != 0)
            rc = SH_E_INTERNAL; /* not the same answer: never hand out both */
    }
    op_reset(&op, b, NULL, NULL);
    return rc;
}

/*
 * The batch transaction is to be dropped (open, or already ended by a
 * failed commit): grows the map and applies the log again in a new one,
 * growing more if that does not fit either. Returns 0, or the batch's
 * fatal code.
 */
static int batch_rebuild(struct ledger_batch *b)
{
    struct store *store = &b->ledger->store;
    for (int attempt = 0; attempt < LEDGER_RETRIES_MAX; attempt++) {
        store_write_abort(&b->txn);
        policy_set_free(b->policies);
        b->policies = NULL;
        int rc = store_grow(store);
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
    b->log_len = 0;
    rc = store_write_begin(&b->ledger->store, NULL, &b->txn);
    return rc != 0 ? batch_fatal(b, rc) : 0;
}

/* After a request met pressure (mdb_rc): 0 to run it again, or the code
 * that refuses it (the batch's fatal code when the batch broke). */
static int batch_relieve(struct ledger_batch *b, int mdb_rc, struct sh_error *err)
{
    struct store *store = &b->ledger->store;
    if (mdb_rc == MDB_MAP_FULL) {
        if (store->map_size >= store->map_max)
            return sh_error_set(err, SH_E_STORAGE_FULL, "the store reached its size limit "
                                "(%llu MiB); nothing was recorded",
                                (unsigned long long)(store->map_max >> 20));
        return batch_rebuild(b);
    }
    assert(mdb_rc == MDB_TXN_FULL);
    if (b->log_len == 0)
        return sh_error_set(err, SH_E_LIMIT_EXCEEDED, "the request is too large for one "
                            "transaction; nothing was recorded");
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
    for (int attempt = 0; rc == 0; attempt++) {
        struct store_txn child;
        rc = batch_try(b, desc, &op, &child);
        if (rc == 0) {
            if (batch_log(b, caller, request, &op.reply) != 0) {
                op_reset(&op, b, NULL, NULL);
                return batch_fatal(b, SH_E_INTERNAL);
            }
            *reply = op.reply;
            return 0;
        }
        int mdb_rc = child.mdb_rc;
        if (mdb_rc != 0 && store_error_is_fatal(mdb_rc)) {
            op_reset(&op, b, NULL, NULL);
            return batch_fatal(b, SH_E_INTERNAL);
        }
        if (mdb_rc == 0 || !store_error_is_pressure(mdb_rc) || attempt >= LEDGER_RETRIES_MAX) {
            op.txn = &child; /* ended, but its codes tell the failure */
            return batch_refuse(b, &op, rc, reply);
        }
        op_reset(&op, b, caller, request);
        rc = batch_relieve(b, mdb_rc, &op.err);
        if (b->fatal != 0) {
            op_reset(&op, b, NULL, NULL);
            return b->fatal;
        }
    }
    return batch_refuse(b, &op, rc, reply);
}

/* ---- The end of a batch ------------------------------------------------------------------ */

static void batch_free(struct ledger_batch *b)
{
    policy_set_free(b->policies);
    free(b->log);
    b->ledger->batch = NULL;
    free(b);
}

int ledger_batch_commit(struct ledger_batch *b)
{
    assert(b != NULL);
    struct store *store = &b->ledger->store;
    int rc = b->fatal;
    for (int attempt = 0; rc == 0; attempt++) {
        rc = store_write_commit(&b->txn);
        if (rc == 0) {
            batch_promote_policies(b);
            break;
        }
        /* Nothing of this commit was kept; in a bigger map it fits. */
        if (b->txn.mdb_rc == MDB_MAP_FULL && store->map_size < store->map_max &&
            attempt < LEDGER_RETRIES_MAX)
            rc = batch_rebuild(b);
    }
    store_write_abort(&b->txn); /* a no-op unless the batch failed */
    batch_free(b);
    return rc;
}

void ledger_batch_abort(struct ledger_batch *b)
{
    if (b == NULL)
        return;
    store_write_abort(&b->txn);
    batch_free(b);
}
