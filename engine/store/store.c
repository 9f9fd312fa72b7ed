/*
 * The LMDB environment, its transactions and the map's growth.
 * See store.h for the rules every caller follows.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "store_mem.h"
#include "store_wal.h"

static const char *const db_names[STORE_DB_COUNT] = {
    [STORE_DB_META] = "meta",
    [STORE_DB_PERSONS] = "persons",
    [STORE_DB_HOSPITALS] = "hospitals",
    [STORE_DB_CATALOG] = "catalog",
    [STORE_DB_POLICIES] = "policies",
    [STORE_DB_TERMINALS] = "terminals",
    [STORE_DB_ACCUMULATORS] = "accumulators",
    [STORE_DB_SETTLEMENTS] = "settlements",
    [STORE_DB_REQUESTS] = "requests",
    [STORE_DB_JOURNAL] = "journal",
    [STORE_DB_JOURNAL_DAY] = "journal_day",
    [STORE_DB_REQUEST_LOG] = "request_log",
    [STORE_DB_IMPORTS] = "imports",
    [STORE_DB_IMPORT_SESSIONS] = "import_sessions",
    [STORE_DB_IMPORT_STAGE] = "import_stage",
    [STORE_DB_AUDIT] = "audit",
};

const char *store_db_name(enum store_db db)
{
    assert(db < STORE_DB_COUNT);
    return db_names[db];
}

/* ---- Errors ------------------------------------------------------------------ */

int store_error_map(int mdb_rc)
{
    assert(mdb_rc != 0);
    switch (mdb_rc) {
    case MDB_MAP_FULL:
    case ENOSPC: /* LMDB passes the errno of its pwrite or fdatasync */
    case EDQUOT:
        return SH_E_STORAGE_FULL;
    case MDB_TXN_FULL:
        return SH_E_LIMIT_EXCEEDED;
    default:
        return SH_E_INTERNAL;
    }
}

bool store_error_is_pressure(int mdb_rc)
{
    return mdb_rc == MDB_MAP_FULL || mdb_rc == MDB_TXN_FULL;
}

bool store_error_is_fatal(int mdb_rc)
{
    return mdb_rc == MDB_PANIC || mdb_rc == MDB_CORRUPTED || mdb_rc == MDB_BAD_TXN ||
           mdb_rc == MDB_VERSION_MISMATCH || mdb_rc == MDB_INVALID || mdb_rc == EIO;
}

void store_txn_fail(struct store_txn *txn, int mdb_rc)
{
    assert(mdb_rc != 0);
    if (txn->ret != 0)
        return;
    txn->ret = store_error_map(mdb_rc);
    txn->mdb_rc = mdb_rc;
    if (mdb_rc == ENOSPC || mdb_rc == EDQUOT)
        atomic_fetch_add(&txn->store->enospc_count, 1);
}

void store_txn_fail_code(struct store_txn *txn, int code)
{
    assert(code < 0);
    if (txn->ret == 0)
        txn->ret = code;
}

/* ---- Environment ------------------------------------------------------------ */

static uint64_t round_up(uint64_t n, uint64_t unit) { return (n + unit - 1) / unit * unit; }

static void store_refresh_size(struct store *store)
{
    MDB_envinfo info;
    if (mdb_env_info(store->env, &info) == 0)
        store->map_size = info.me_mapsize;
}

/* Opens every named database (creating it) in one write transaction. */
static int store_open_dbs(struct store *store, bool read_only, struct sh_error *err)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(store->env, NULL, read_only ? MDB_RDONLY : 0, &txn);
    if (rc != 0)
        txn = NULL;
    for (int i = 0; rc == 0 && i < STORE_DB_COUNT; i++)
        rc = mdb_dbi_open(txn, db_names[i], read_only ? 0 : MDB_CREATE, &store->dbi[i]);
    if (rc != 0) {
        if (txn != NULL)
            mdb_txn_abort(txn);
        return sh_error_set(err, store_error_map(rc), "store: cannot open the databases: %s",
                            mdb_strerror(rc));
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        return sh_error_set(err, store_error_map(rc), "store: cannot create the databases: %s",
                            mdb_strerror(rc));
    return 0;
}

static int store_env_open(struct store *store, const struct store_config *config,
                          struct sh_error *err)
{
    int rc = mdb_env_create(&store->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(store->env, STORE_DB_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize(store->env, (size_t)store->map_size);
    /* MDB_NOTLS: see store.h. No MDB_WRITEMAP: nested transactions (a Load).
     * MDB_NOMEMINIT: LMDB need not zero each page it mallocs before filling
     * it (a measurable share of a settle); the unused tail of a page may then
     * hold bytes of this process's heap, which holds nothing the file does
     * not.
     * MDB_NOSYNC, durable or not: a durable store's commits are made
     * durable by its write-ahead log and its checkpoints (store_wal.h). */
    unsigned flags = MDB_NOTLS | MDB_NOMEMINIT | MDB_NOSYNC | (config->read_only ? MDB_RDONLY : 0u);
    if (rc == 0)
        rc = mdb_env_open(store->env, config->dir, flags, 0600);
    if (rc != 0)
        return sh_error_set(err, SH_E_INTERNAL, "store: cannot open the environment in %s: %s",
                            config->dir, mdb_strerror(rc));
    int dead = 0;
    mdb_reader_check(store->env, &dead); /* slots left by a crashed process */
    store_refresh_size(store);
    return 0;
}

int store_open(struct store *store, const struct store_config *config, struct sh_error *err)
{
    assert(store != NULL && config != NULL);
    memset(store, 0, sizeof *store);
    if (config->dir == NULL || config->dir[0] == '\0')
        return sh_error_set(err, SH_E_BAD_REQUEST, "store: no directory");
    uint64_t initial = config->map_size_initial ? config->map_size_initial : STORE_MAP_DEFAULT;
    uint64_t max = config->map_size_max ? config->map_size_max : STORE_MAP_MAX_DEFAULT;
    initial = round_up(initial < STORE_MAP_MIN ? STORE_MAP_MIN : initial, 4096);
    max = round_up(max, 4096);
    if (max < initial)
        return sh_error_set(err, SH_E_BAD_REQUEST,
                            "store: map_size_max (%llu) is below map_size_initial (%llu)",
                            (unsigned long long)max, (unsigned long long)initial);
    store->map_size = initial;
    store->map_max = max;
    store->durable = config->durable && !config->read_only;
    /* Recovery: the checkpoint's meta pages back before LMDB reads them,
     * the log's records redone after the databases are open. */
    struct wal_ckpt ck;
    int rc = wal_prepare(config->dir, config->read_only, config->wal_test_skip_restore, &ck, err);
    if (rc != 0)
        return rc;
    rc = store_env_open(store, config, err);
    if (rc == 0)
        rc = store_open_dbs(store, config->read_only, err);
    if (rc == 0 && !config->read_only)
        rc = wal_open(store, config, &ck, config->wal_test_skip_restore, err);
    wal_ckpt_free(&ck);
    if (rc == 0) {
        int mrc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &store->read_txn);
        if (mrc != 0)
            rc = sh_error_set(err, SH_E_INTERNAL, "store: no read transaction: %s",
                              mdb_strerror(mrc));
        else
            mdb_txn_reset(store->read_txn);
    }
    if (rc != 0)
        store_close(store);
    return rc;
}

void store_close(struct store *store)
{
    if (store == NULL || store->env == NULL)
        return;
    assert(store->write_txn == NULL);
    if (store->read_txn != NULL)
        mdb_txn_abort(store->read_txn);
    wal_close(store, atomic_load(&store->sync_failed) == 0);
    mdb_env_close(store->env);
    memset(store, 0, sizeof *store);
}

/* ---- Growth ------------------------------------------------------------------- */

static int store_sync_fail(struct store *store, int mdb_rc);

int store_grow(struct store *store)
{
    /* LMDB remaps in place: no transaction of this process may be active. */
    assert(store->write_txn == NULL && !store->reading);
    if (store->map_size >= store->map_max)
        return SH_E_STORAGE_FULL;
    uint64_t next = store->map_size * 2;
    if (next > store->map_max || next < store->map_size)
        next = store->map_max;
    if (store->wal != NULL && wal_grow_begin(store) != 0)
        return store_sync_fail(store, EIO);
    int rc = mdb_env_set_mapsize(store->env, (size_t)next);
    if (store->wal != NULL && wal_grow_end(store) != 0)
        return store_sync_fail(store, EIO);
    if (rc != 0)
        return store_error_map(rc);
    store_refresh_size(store);
    store->grow_count++;
    return 0;
}

bool store_grow_due(struct store *store)
{
    if (wal_grow_wanted(store))
        return store->map_size < store->map_max;
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(store->env, &info) != 0 || mdb_env_stat(store->env, &st) != 0)
        return true; /* store_grow_ahead will say what is wrong */
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    return used * 2 > store->map_size && store->map_size < store->map_max;
}

int store_grow_ahead(struct store *store)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(store->env, &info) != 0 || mdb_env_stat(store->env, &st) != 0)
        return SH_E_INTERNAL;
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if (used * 2 <= store->map_size)
        return 0;
    int rc = store_grow(store);
    return rc == SH_E_STORAGE_FULL ? 0 : rc; /* at the limit: writes will say so */
}

/* ---- Durability -------------------------------------------------------------- */

/* The first failure is the one that stays. */
static int store_sync_fail(struct store *store, int mdb_rc)
{
    int expected = 0;
    atomic_compare_exchange_strong(&store->sync_failed, &expected, store_error_map(mdb_rc));
    return atomic_load(&store->sync_failed);
}

int store_sync(struct store *store)
{
    int failed = atomic_load(&store->sync_failed);
    if (failed != 0)
        return failed;
    int rc = atomic_exchange(&store->fail_sync, 0); /* the test hook */
    if (rc == 0 && store->wal != NULL)
        rc = wal_sync(store);
    if (rc != 0)
        return store_sync_fail(store, rc);
    if (store->sync_hook != NULL)
        store->sync_hook(store->sync_hook_ctx);
    return 0;
}

/* ---- Transactions ------------------------------------------------------------ */

/* A nested transaction of a durable store reads what its parent reads. */
static void store_write_borrow(struct store_txn *txn, const struct store_txn *parent)
{
    txn->txn = parent->txn;
    txn->mem[0] = parent->mem[0];
    txn->mem[1] = parent->mem[1];
    txn->bound = parent->bound;
    txn->borrowed = true;
}

int store_write_begin(struct store *store, struct store_txn *parent, struct store_txn *txn)
{
    assert(parent != NULL || store->write_txn == NULL);
    memset(txn, 0, sizeof *txn);
    txn->store = store;
    txn->parent = parent;
    /* After a failed sync, a new commit could be acknowledged on top of
     * pages the kernel has given up writing: no write any more. */
    int failed = parent == NULL ? atomic_load(&store->sync_failed) : 0;
    if (failed != 0) {
        store_txn_fail_code(txn, failed);
        return txn->ret;
    }
    if (store->wal != NULL) {
        int rc = 0;
        if (parent != NULL)
            store_write_borrow(txn, parent);
        else if ((rc = wal_write_begin(store, txn)) == 0)
            store->write_txn = txn->txn;
        if (rc != 0)
            store_txn_fail(txn, rc);
        return txn->ret;
    }
    int rc = mdb_txn_begin(store->env, parent != NULL ? parent->txn : NULL, 0, &txn->txn);
    if (rc == MDB_MAP_RESIZED && parent == NULL) {
        /* Another process grew the map: adopt its size, then begin again. */
        rc = mdb_env_set_mapsize(store->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(store->env, NULL, 0, &txn->txn);
        store_refresh_size(store);
    }
    if (rc != 0) {
        txn->txn = NULL;
        store_txn_fail(txn, rc);
        return txn->ret;
    }
    if (parent == NULL)
        store->write_txn = txn->txn;
    return 0;
}

/* ---- The op buffer (the log's record of a transaction) ------------------------ */

static void ops_drop(struct store_txn *txn)
{
    free(txn->ops);
    txn->ops = NULL;
    txn->ops_len = txn->ops_cap = 0;
}

/* Room for need more bytes, or the transaction is too large to log. */
static bool ops_room(struct store_txn *txn, size_t need)
{
    if (txn->ops_over)
        return false;
    size_t max = txn->store->wal_record_max;
    if (need > max || txn->ops_len > max - need) {
        txn->ops_over = true;
        ops_drop(txn);
        return false;
    }
    if (txn->ops_len + need <= txn->ops_cap)
        return true;
    size_t cap = txn->ops_cap > 0 ? txn->ops_cap : 1024;
    while (cap < txn->ops_len + need)
        cap *= 2;
    uint8_t *p = realloc(txn->ops, cap);
    if (p == NULL) { /* the commit checkpoints instead: as safe, slower */
        txn->ops_over = true;
        ops_drop(txn);
        return false;
    }
    txn->ops = p;
    txn->ops_cap = cap;
    return true;
}

static void ops_add(struct store_txn *txn, unsigned kind, enum store_db db, const void *key,
                    size_t key_len, const void *val, size_t val_len)
{
    if (txn->store->wal == NULL || key_len > UINT32_MAX || val_len > UINT32_MAX ||
        !ops_room(txn, WAL_OP_HEAD + key_len + val_len))
        return;
    uint8_t *p = txn->ops + txn->ops_len;
    uint32_t kl = (uint32_t)key_len, vl = (uint32_t)val_len;
    p[0] = (uint8_t)kind;
    p[1] = (uint8_t)db;
    p[2] = p[3] = 0;
    memcpy(p + 4, &kl, 4);
    memcpy(p + 8, &vl, 4);
    memcpy(p + WAL_OP_HEAD, key, key_len);
    if (val_len > 0)
        memcpy(p + WAL_OP_HEAD + key_len, val, val_len);
    txn->ops_len += WAL_OP_HEAD + key_len + val_len;
}

/* A nested commit: its ops become its parent's. */
static void ops_merge(struct store_txn *parent, struct store_txn *child)
{
    if (child->ops_over) {
        parent->ops_over = true;
        ops_drop(parent);
    } else if (child->ops_len > 0 && ops_room(parent, child->ops_len)) {
        memcpy(parent->ops + parent->ops_len, child->ops, child->ops_len);
        parent->ops_len += child->ops_len;
    }
}

static void store_write_end(struct store_txn *txn)
{
    if (txn->parent == NULL)
        txn->store->write_txn = NULL;
    txn->txn = NULL;
}

/* ---- A durable store's write transactions (the memtable, store_mem.h) ----- */

static void vers_drop(struct store_txn *txn)
{
    free(txn->vers);
    txn->vers = NULL;
    txn->vers_len = txn->vers_cap = 0;
}

/* Remembers a version the transaction added, for an abort to kill. */
static bool vers_add(struct store_txn *txn, struct mem_ver *v)
{
    if (txn->vers_len == txn->vers_cap) {
        size_t cap = txn->vers_cap > 0 ? txn->vers_cap * 2 : 64;
        struct mem_ver **p = realloc(txn->vers, cap * sizeof *p);
        if (p == NULL)
            return false;
        txn->vers = p;
        txn->vers_cap = cap;
    }
    txn->vers[txn->vers_len++] = v;
    return true;
}

static void vers_kill(struct store_txn *txn)
{
    for (size_t i = 0; i < txn->vers_len; i++)
        mem_ver_kill(txn->vers[i]);
    vers_drop(txn);
}

/* Ends a durable store's write transaction: an outermost one gives its
 * lock and references back. */
static void mem_write_end(struct store_txn *txn)
{
    if (txn->parent == NULL)
        wal_write_end(txn->store, txn);
    store_write_end(txn);
    ops_drop(txn);
    vers_drop(txn);
}

static void mem_write_abort(struct store_txn *txn)
{
    vers_kill(txn);
    mem_write_end(txn);
}

/* A nested commit hands its versions and ops to its parent; an outermost
 * one reserves its record's room, publishes its versions, then logs them. */
static int mem_write_commit(struct store_txn *txn)
{
    struct store *store = txn->store;
    if (txn->ret != 0) {
        mem_write_abort(txn);
        return txn->ret;
    }
    if (txn->parent != NULL) {
        for (size_t i = 0; i < txn->vers_len; i++)
            if (!vers_add(txn->parent, txn->vers[i])) {
                mem_ver_kill(txn->vers[i]);
                store_txn_fail(txn->parent, ENOMEM);
            }
        ops_merge(txn->parent, txn);
        mem_write_end(txn);
        return txn->parent->ret != 0 ? txn->parent->ret : 0;
    }
    bool logged = txn->ops_len > 0 || txn->ops_over;
    bool done = false; /* checkpointed and published by wal_reserve */
    int rc = logged ? wal_reserve(store, txn->bound, txn->ops_len, txn->ops_over, &done) : 0;
    if (rc != 0 && !done) { /* no room for the record (ENOSPC), a full map: refused */
        mem_write_abort(txn);
        store_txn_fail(txn, rc);
        return txn->ret;
    }
    if (logged && !done) {
        wal_publish(store, txn->bound);
        rc = wal_commit(store, txn->bound, txn->ops, txn->ops_len);
    }
    if (rc != 0) {
        /* Published, so readers see it; not logged, it must never be
         * acknowledged: every later sync fails. */
        store_sync_fail(store, rc);
    } else if (!logged) {
        vers_kill(txn); /* it wrote nothing that stays: none of its versions may */
    }
    mem_write_end(txn);
    return 0;
}

int store_write_commit(struct store_txn *txn)
{
    assert(!txn->read_only);
    if (txn->txn == NULL)
        return txn->ret != 0 ? txn->ret : SH_E_INTERNAL;
    if (txn->store->wal != NULL)
        return mem_write_commit(txn);
    if (txn->ret != 0) {
        mdb_txn_abort(txn->txn);
        store_write_end(txn);
        ops_drop(txn);
        return txn->ret;
    }
    int rc = mdb_txn_commit(txn->txn); /* frees the transaction even when it fails */
    store_write_end(txn);
    if (rc != 0)
        store_txn_fail(txn, rc);
    else if (txn->parent != NULL)
        ops_merge(txn->parent, txn);
    ops_drop(txn);
    return txn->ret;
}

void store_write_abort(struct store_txn *txn)
{
    if (txn->txn != NULL && txn->store->wal != NULL) {
        mem_write_abort(txn);
        return;
    }
    if (txn->txn != NULL)
        mdb_txn_abort(txn->txn);
    store_write_end(txn);
    ops_drop(txn);
}

int store_read_begin(struct store *store, struct store_txn *txn)
{
    assert(!store->reading);
    memset(txn, 0, sizeof *txn);
    txn->store = store;
    txn->read_only = true;
    int rc = store->wal != NULL ? wal_read_begin(store, txn, store->read_txn)
                                : mdb_txn_renew(store->read_txn);
    if (rc != 0) {
        txn->txn = NULL;
        store_txn_fail(txn, rc);
        return txn->ret;
    }
    txn->txn = store->read_txn;
    store->reading = true;
    return 0;
}

int store_read_begin_own(struct store *store, struct store_txn *txn)
{
    memset(txn, 0, sizeof *txn);
    txn->store = store;
    txn->read_only = true;
    txn->own = true;
    int rc = store->wal != NULL ? wal_read_begin(store, txn, NULL)
                                : mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn->txn);
    if (rc != 0) {
        txn->txn = NULL;
        store_txn_fail(txn, rc);
        return txn->ret;
    }
    return 0;
}

void store_read_end(struct store_txn *txn)
{
    if (txn->txn == NULL)
        return;
    if (txn->mem[0] != NULL)
        wal_read_end(txn);
    if (txn->own) {
        mdb_txn_abort(txn->txn);
        txn->txn = NULL;
        return;
    }
    assert(txn->store->reading);
    mdb_txn_reset(txn->txn);
    txn->store->reading = false;
    txn->txn = NULL;
}

/* ---- Writes ------------------------------------------------------------------------ */

/* A version of the write transaction's commit in the active memtable.
 * A full memtable is what a full transaction is to LMDB (MDB_TXN_FULL):
 * the ledger commits what its batch holds and runs the request again in
 * a new transaction, which begins with a checkpoint. */
static int mem_txn_add(struct store_txn *txn, enum store_db db, const void *key, size_t key_len,
                       const void *val, size_t val_len, bool tomb)
{
    struct mem_ver *v =
        mem_put(txn->mem[0], (uint8_t)db, key, key_len, val, val_len, tomb, txn->bound);
    if (v == NULL)
        return MDB_TXN_FULL;
    if (!vers_add(txn, v)) {
        mem_ver_kill(v);
        return ENOMEM;
    }
    return 0;
}

/* The test hook: the nth write from now fails as if LMDB had said so. */
static int store_injected(struct store *store)
{
    if (store->fail_nth == 0)
        return 0;
    return --store->fail_nth == 0 ? store->fail_code : 0;
}

void store_put(struct store_txn *txn, enum store_db db, const void *key, size_t key_len,
               const void *val, size_t val_len)
{
    assert(db < STORE_DB_COUNT && key_len > 0 && !txn->read_only);
    if (txn->ret != 0)
        return;
    txn->writes++;
    txn->put_bytes += key_len + val_len;
    int rc = store_injected(txn->store);
    if (rc == 0 && txn->store->wal != NULL) {
        ops_add(txn, WAL_OP_PUT, db, key, key_len, val, val_len);
        rc = mem_txn_add(txn, db, key, key_len, val, val_len, false);
    } else if (rc == 0) {
        MDB_val k = {.mv_size = key_len, .mv_data = (void *)key};
        MDB_val v = {.mv_size = val_len, .mv_data = (void *)val};
        rc = mdb_put(txn->txn, txn->store->dbi[db], &k, &v, 0);
    }
    if (rc != 0)
        store_txn_fail(txn, rc); /* the transaction is spoiled: its ops never commit */
}

void store_del(struct store_txn *txn, enum store_db db, const void *key, size_t key_len)
{
    assert(db < STORE_DB_COUNT && key_len > 0 && !txn->read_only);
    if (txn->ret != 0)
        return;
    txn->writes++;
    int rc = store_injected(txn->store);
    MDB_val v;
    if (rc == 0 && txn->store->wal != NULL) {
        /* Nothing changes for an absent key: nothing to redo, no version. */
        if (store_get(txn, db, key, key_len, &v)) {
            ops_add(txn, WAL_OP_DEL, db, key, key_len, NULL, 0);
            rc = mem_txn_add(txn, db, key, key_len, NULL, 0, true);
        }
    } else if (rc == 0) {
        MDB_val k = {.mv_size = key_len, .mv_data = (void *)key};
        rc = mdb_del(txn->txn, txn->store->dbi[db], &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    if (rc != 0)
        store_txn_fail(txn, rc);
}
