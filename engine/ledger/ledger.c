/*
 * Open and close, the table of operations and roles, the read path and
 * ledger_handle. Writes are in ledger_batch.c.
 */
#include <assert.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_internal.h"
#include "index_flush.h"
#include "item_cache.h"
#include "request_tail.h"
#include "roster.h"
#include "store_keys.h"

/* ---- Operations and roles ----------------------------------------------------------- */

#define ROLE_BIT(r) (1u << (r))
#define ROLES_ALL (ROLE_BIT(SH_ROLE_COUNTER) | ROLE_BIT(SH_ROLE_BUREAU) | ROLE_BIT(SH_ROLE_ADMIN))

static const struct ledger_opdesc op_settle = {"settle", true, ROLE_BIT(SH_ROLE_COUNTER),
                                               ledger_op_settle, false};
static const struct ledger_opdesc op_presettle = {"presettle", false, ROLE_BIT(SH_ROLE_COUNTER),
                                                  ledger_op_presettle, false};
static const struct ledger_opdesc op_reverse = {"reverse", true, ROLE_BIT(SH_ROLE_COUNTER),
                                                ledger_op_reverse, false};
static const struct ledger_opdesc op_cancel = {"cancel", true, ROLE_BIT(SH_ROLE_COUNTER),
                                               ledger_op_cancel, false};
static const struct ledger_opdesc op_query = {"query", false, ROLES_ALL, ledger_op_query, false};
static const struct ledger_opdesc op_eligibility = {"eligibility", false, ROLES_ALL,
                                                    ledger_op_eligibility, false};
/* A counter reconciles its own hospital only (ledger_op_reconcile). */
static const struct ledger_opdesc op_reconcile = {
    "reconcile", false, ROLE_BIT(SH_ROLE_BUREAU) | ROLE_BIT(SH_ROLE_COUNTER), ledger_op_reconcile,
    false};
static const struct ledger_opdesc op_load = {"load", true, ROLE_BIT(SH_ROLE_ADMIN), ledger_op_load,
                                             true};
/* Person updates and the cross-check (docs/rosters.md; roster.h). */
static const struct ledger_opdesc op_person_update = {
    "person update", true, ROLE_BIT(SH_ROLE_ADMIN), ledger_op_person_update, false};
/* Roster imports: each writes several records and may refuse after writing
 * (a staged chunk, a commit), so each runs in a child transaction. */
static const struct ledger_opdesc op_import_begin = {"import begin", true, ROLE_BIT(SH_ROLE_ADMIN),
                                                     ledger_op_import_begin, true};
static const struct ledger_opdesc op_import_chunk = {"import chunk", true, ROLE_BIT(SH_ROLE_ADMIN),
                                                     ledger_op_import_chunk, true};
static const struct ledger_opdesc op_import_commit = {
    "import commit", true, ROLE_BIT(SH_ROLE_ADMIN), ledger_op_import_commit, true};
static const struct ledger_opdesc op_import_abort = {"import abort", true, ROLE_BIT(SH_ROLE_ADMIN),
                                                     ledger_op_import_abort, true};
static const struct ledger_opdesc op_import_log = {
    "import log", false, ROLE_BIT(SH_ROLE_BUREAU) | ROLE_BIT(SH_ROLE_ADMIN), ledger_op_import_log,
    false};
static const struct ledger_opdesc op_crosscheck = {
    "crosscheck", false, ROLE_BIT(SH_ROLE_BUREAU) | ROLE_BIT(SH_ROLE_ADMIN), ledger_op_crosscheck,
    false};

/* The person-lookup audit (audit.c): the bureau's, and the admin's. */
static const struct ledger_opdesc op_audit = {
    "audit", false, ROLE_BIT(SH_ROLE_BUREAU) | ROLE_BIT(SH_ROLE_ADMIN), ledger_op_audit, false};

const struct ledger_opdesc *ledger_opdesc_of(const Sanhe__Request *request)
{
    if (request == NULL)
        return NULL;
    switch (request->op_case) {
    case SANHE__REQUEST__OP_SETTLE:
        return &op_settle;
    case SANHE__REQUEST__OP_PRESETTLE:
        return &op_presettle;
    case SANHE__REQUEST__OP_REVERSE:
        return &op_reverse;
    case SANHE__REQUEST__OP_CANCEL:
        return &op_cancel;
    case SANHE__REQUEST__OP_QUERY:
        return &op_query;
    case SANHE__REQUEST__OP_ELIGIBILITY:
        return &op_eligibility;
    case SANHE__REQUEST__OP_RECONCILE:
        return &op_reconcile;
    case SANHE__REQUEST__OP_LOAD:
        return &op_load;
    case SANHE__REQUEST__OP_PERSON_UPDATE:
        return &op_person_update;
    case SANHE__REQUEST__OP_CROSSCHECK:
        return &op_crosscheck;
    case SANHE__REQUEST__OP_IMPORT_BEGIN:
        return &op_import_begin;
    case SANHE__REQUEST__OP_IMPORT_CHUNK:
        return &op_import_chunk;
    case SANHE__REQUEST__OP_IMPORT_COMMIT:
        return &op_import_commit;
    case SANHE__REQUEST__OP_IMPORT_ABORT:
        return &op_import_abort;
    case SANHE__REQUEST__OP_IMPORT_LOG:
        return &op_import_log;
    case SANHE__REQUEST__OP_AUDIT:
        return &op_audit;
    default:
        return NULL;
    }
}

bool ledger_request_writes(const Sanhe__Request *request)
{
    const struct ledger_opdesc *desc = ledger_opdesc_of(request);
    return desc != NULL && desc->writes;
}

const char *sh_role_name(enum sh_role role)
{
    switch (role) {
    case SH_ROLE_COUNTER:
        return "counter";
    case SH_ROLE_BUREAU:
        return "bureau";
    case SH_ROLE_ADMIN:
        return "admin";
    default:
        return "unknown";
    }
}

int sh_role_parse(const char *name)
{
    for (int role = SH_ROLE_COUNTER; name != NULL && role <= SH_ROLE_ADMIN; role++)
        if (strcmp(name, sh_role_name((enum sh_role)role)) == 0)
            return role;
    return -1;
}

int ledger_role_check(const struct ledger_opdesc *desc, const struct sh_caller *caller,
                      struct sh_error *err)
{
    if ((unsigned)caller->role > SH_ROLE_ADMIN || (desc->roles & ROLE_BIT(caller->role)) == 0) {
        sh_error_set(err, SH_E_FORBIDDEN, "%s is not allowed to a %s terminal", desc->name,
                     sh_role_name(caller->role));
        return sh_error_detail(err, SH_D_ROLE, "%s" SH_DETAIL_SEP "%s", desc->name,
                               sh_role_name(caller->role));
    }
    if (caller->role == SH_ROLE_COUNTER &&
        (caller->hospital[0] == '\0' || memchr(caller->hospital, '\0', SH_CODE_MAX) == NULL))
        return sh_error_set(err, SH_E_FORBIDDEN, "%s: this counter terminal has no hospital",
                            desc->name);
    return 0;
}

int ledger_request_id_check(struct ledger_op *op, const char *opname)
{
    const char *rid = op->request->request_id;
    if (rid == NULL || rid[0] == '\0') {
        sh_error_set(&op->err, SH_E_BAD_REQUEST, "%s needs a request_id", opname);
        return sh_error_detail(&op->err, SH_D_FIELD_MISSING, "%s", "request_id");
    }
    if (strlen(rid) >= SH_CODE_MAX) {
        sh_error_set(&op->err, SH_E_BAD_REQUEST, "%s: request_id longer than %d bytes", opname,
                     SH_CODE_MAX - 1);
        return sh_error_detail(&op->err, SH_D_FIELD_TOO_LONG, "request_id" SH_DETAIL_SEP "%d",
                               SH_CODE_MAX - 1);
    }
    return 0;
}

/* ---- SHA-256 ------------------------------------------------------------------------- */

static const EVP_MD *sha256_md;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (sha256_md == NULL)
        sha256_md = EVP_sha256(); /* slower, never wrong */
}

const EVP_MD *ledger_sha256(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sha256_fetch);
    return sha256_md;
}

/* ---- The lock ------------------------------------------------------------------------ */

void ledger_lock_shared(struct ledger *ledger)
{
    if (pthread_rwlock_rdlock(&ledger->lock) != 0)
        abort();
}

void ledger_lock_exclusive(struct ledger *ledger)
{
    if (pthread_rwlock_wrlock(&ledger->lock) != 0)
        abort();
}

void ledger_unlock(struct ledger *ledger)
{
    if (pthread_rwlock_unlock(&ledger->lock) != 0)
        abort();
}

/* ---- Open and close ------------------------------------------------------------------ */

/* Writes the schema version into a new store, refuses a store of another. */
static int ledger_schema(struct ledger *ledger, struct sh_error *err)
{
    struct store_txn txn;
    int rc = store_write_begin(&ledger->store, NULL, &txn);
    if (rc != 0)
        return sh_error_set(err, rc, "store: cannot begin a transaction");
    MDB_val v;
    const char *key = STORE_META_SCHEMA;
    if (store_get(&txn, STORE_DB_META, key, strlen(key), &v)) {
        uint32_t version = v.mv_size == 4 ? store_be32_get(v.mv_data) : 0;
        store_write_abort(&txn);
        if (version != STORE_SCHEMA_VERSION)
            return sh_error_set(err, SH_E_INTERNAL,
                                "store: schema version %u, this engine "
                                "reads %u",
                                version, STORE_SCHEMA_VERSION);
        return 0;
    }
    uint8_t val[4];
    store_be32_put(val, STORE_SCHEMA_VERSION);
    store_put(&txn, STORE_DB_META, key, strlen(key), val, sizeof val);
    rc = store_write_commit(&txn);
    if (rc == 0)
        rc = store_sync(&ledger->store); /* commits leave their meta page unsynced */
    if (rc != 0)
        return sh_error_set(err, rc, "store: cannot write the schema version");
    return 0;
}

/* A read-only open: the store must already be of this schema. */
static int ledger_schema_read(struct ledger *ledger, struct sh_error *err)
{
    struct store_txn txn;
    int rc = store_read_begin(&ledger->store, &txn);
    if (rc != 0)
        return sh_error_set(err, rc, "store: cannot begin a read");
    MDB_val v;
    const char *key = STORE_META_SCHEMA;
    bool has = store_get(&txn, STORE_DB_META, key, strlen(key), &v);
    uint32_t version = has && v.mv_size == 4 ? store_be32_get(v.mv_data) : 0;
    store_read_end(&txn);
    if (version != STORE_SCHEMA_VERSION)
        return sh_error_set(err, SH_E_INTERNAL, "store: schema version %u, this engine reads %u",
                            version, STORE_SCHEMA_VERSION);
    return 0;
}

static int ledger_load_policies(struct ledger *ledger, struct sh_error *err)
{
    struct store_txn txn;
    int rc = store_read_begin(&ledger->store, &txn);
    if (rc != 0)
        return sh_error_set(err, rc, "store: cannot begin a read");
    rc = policy_set_load(&txn, &ledger->policies, err);
    store_read_end(&txn);
    return rc;
}

int ledger_open(const struct ledger_config *config, struct ledger **out, struct sh_error *err)
{
    assert(config != NULL && out != NULL);
    *out = NULL;
    struct ledger *ledger = calloc(1, sizeof *ledger);
    if (ledger == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    /* Writer first: reads on the pool's threads may overlap without end,
     * and the writer must still get the lock to grow the map. */
    pthread_rwlockattr_t attr;
    bool lock_ok = pthread_rwlockattr_init(&attr) == 0;
    if (lock_ok) {
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        lock_ok = pthread_rwlock_init(&ledger->lock, &attr) == 0;
        pthread_rwlockattr_destroy(&attr);
    }
    if (!lock_ok) {
        free(ledger);
        return sh_error_set(err, SH_E_INTERNAL, "cannot create the ledger's lock");
    }
    ledger->utc_offset_min = config->utc_offset_min;
    quota_init(ledger, &config->quota);
    ledger->audit_retention_days = config->audit_retention_days;
    ledger->index_lag_flush = config->index_lag_flush == 0 ? INDEX_LAG_FLUSH
                              : config->index_lag_flush > INDEX_LAG_FLUSH_MAX
                                  ? INDEX_LAG_FLUSH_MAX
                                  : config->index_lag_flush;
    /* Stale: the first write loads it from the store's request_log. */
    ledger->tail = request_tail_new();
    ledger->items = item_cache_new();
    if (ledger->tail == NULL || ledger->items == NULL) {
        ledger_close(ledger);
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    }
    request_tail_set_stale(ledger->tail, true);
    struct store_config sc = {.dir = config->dir,
                              .map_size_initial = config->map_size_initial,
                              .map_size_max = config->map_size_max,
                              .durable = config->durable,
                              .read_only = config->read_only,
                              .wal_segment_bytes = config->wal_segment_bytes,
                              .wal_checkpoint_bytes = config->wal_checkpoint_bytes,
                              .wal_checkpoint_ms = config->wal_checkpoint_ms,
                              .wal_test_skip_restore = config->wal_test_skip_restore};
    int rc = store_open(&ledger->store, &sc, err);
    if (rc == 0)
        rc = config->read_only ? ledger_schema_read(ledger, err) : ledger_schema(ledger, err);
    if (rc == 0)
        rc = ledger_load_policies(ledger, err);
    if (rc != 0) {
        ledger_close(ledger);
        return rc;
    }
    *out = ledger;
    return 0;
}

void ledger_close(struct ledger *ledger)
{
    if (ledger == NULL)
        return;
    if (ledger->batch != NULL)
        ledger_batch_abort(ledger->batch);
    policy_set_free(ledger->policies);
    request_tail_free(ledger->tail);
    item_cache_free(ledger->items);
    store_close(&ledger->store);
    quota_free(ledger);
    pthread_rwlock_destroy(&ledger->lock);
    free(ledger);
}

/* ---- Reads -------------------------------------------------------------------------- */

/* own: a read transaction of its own (any thread), else the reused one. */
static int ledger_read_txn(struct ledger *ledger, const struct sh_caller *caller,
                           const Sanhe__Request *request, struct sh_reply *reply, bool own)
{
    assert(ledger != NULL && caller != NULL && request != NULL && reply != NULL);
    memset(reply, 0, sizeof *reply);
    const struct ledger_opdesc *desc = ledger_opdesc_of(request);
    ledger_lock_shared(ledger); /* the policies and the map stay as they are */
    struct ledger_op op = {
        .ledger = ledger, .caller = caller, .request = request, .policies = ledger->policies};
    int rc;
    if (desc == NULL)
        rc = sh_error_set(&op.err, SH_E_BAD_REQUEST, "the request names no operation");
    else if (desc->writes)
        rc = sh_error_set(&op.err, SH_E_BAD_REQUEST, "%s writes: it goes through a batch",
                          desc->name);
    else
        rc = ledger_role_check(desc, caller, &op.err);
    struct store_txn txn = {0};
    if (rc == 0 && (rc = own ? store_read_begin_own(&ledger->store, &txn)
                             : store_read_begin(&ledger->store, &txn)) == 0) {
        op.txn = &txn;
        rc = desc->fn(&op);
        store_read_end(&txn);
    }
    if (rc == 0) {
        ledger_unlock(ledger);
        *reply = op.reply;
        return 0;
    }
    free(op.reply.data);
    rc = ledger_reply_failure(&op, rc, reply);
    ledger_unlock(ledger);
    return rc;
}

int ledger_read(struct ledger *ledger, const struct sh_caller *caller,
                const Sanhe__Request *request, struct sh_reply *reply)
{
    return ledger_read_txn(ledger, caller, request, reply, false);
}

int ledger_read_detached(struct ledger *ledger, const struct sh_caller *caller,
                         const Sanhe__Request *request, struct sh_reply *reply)
{
    return ledger_read_txn(ledger, caller, request, reply, true);
}

/* ---- One request, one batch --------------------------------------------------------------- */

int ledger_handle(struct ledger *ledger, const struct sh_caller *caller,
                  const Sanhe__Request *request, int64_t now_ms, struct sh_reply *reply)
{
    if (!ledger_request_writes(request))
        return ledger_read(ledger, caller, request, reply);
    memset(reply, 0, sizeof *reply);
    struct ledger_batch *batch = NULL;
    int rc = ledger_batch_begin(ledger, now_ms, &batch);
    if (rc == 0) {
        rc = ledger_batch_apply(batch, caller, request, reply);
        if (rc == 0)
            rc = ledger_batch_commit_nosync(batch);
        else
            ledger_batch_abort(batch);
    }
    const char *why = "the write could not be committed; nothing was recorded";
    if (rc == 0) {
        rc = ledger_sync(ledger);
        why = "the write could not be made durable and may or may not be recorded; "
              "retry it later with the same request id";
    }
    if (rc == 0)
        return 0;
    free(reply->data);
    memset(reply, 0, sizeof *reply);
    return ledger_reply_error(request, rc, why, reply);
}
