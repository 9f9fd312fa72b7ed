/*
 * The LMDB environment, its transactions and the map's growth.
 * See store.h for the rules every caller follows.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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
     * MDB_NOMETASYNC: a commit syncs its pages but not its meta page, so
     * that the writer need not wait for a second sync; store_sync (on
     * another thread, for the server) makes the meta page durable. */
    unsigned flags = MDB_NOTLS | MDB_NOMEMINIT | (config->durable ? MDB_NOMETASYNC : MDB_NOSYNC) |
                     (config->read_only ? MDB_RDONLY : 0u);
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
    int rc = store_env_open(store, config, err);
    if (rc == 0)
        rc = store_open_dbs(store, config->read_only, err);
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
    mdb_env_close(store->env);
    memset(store, 0, sizeof *store);
}

/* ---- Growth ------------------------------------------------------------------- */

int store_grow(struct store *store)
{
    /* LMDB remaps in place: no transaction of this process may be active. */
    assert(store->write_txn == NULL && !store->reading);
    if (store->map_size >= store->map_max)
        return SH_E_STORAGE_FULL;
    uint64_t next = store->map_size * 2;
    if (next > store->map_max || next < store->map_size)
        next = store->map_max;
    int rc = mdb_env_set_mapsize(store->env, (size_t)next);
    if (rc != 0)
        return store_error_map(rc);
    store_refresh_size(store);
    store->grow_count++;
    return 0;
}

bool store_grow_due(struct store *store)
{
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
    if (rc == 0 && store->durable)
        rc = mdb_env_sync(store->env, 1);
    if (rc != 0)
        return store_sync_fail(store, rc);
    if (store->sync_hook != NULL)
        store->sync_hook(store->sync_hook_ctx);
    return 0;
}

/* ---- Transactions ------------------------------------------------------------ */

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

static void store_write_end(struct store_txn *txn)
{
    if (txn->parent == NULL)
        txn->store->write_txn = NULL;
    txn->txn = NULL;
}

int store_write_commit(struct store_txn *txn)
{
    assert(!txn->read_only);
    if (txn->txn == NULL)
        return txn->ret != 0 ? txn->ret : SH_E_INTERNAL;
    if (txn->ret != 0) {
        mdb_txn_abort(txn->txn);
        store_write_end(txn);
        return txn->ret;
    }
    int rc = mdb_txn_commit(txn->txn); /* frees the transaction even when it fails */
    store_write_end(txn);
    if (rc != 0)
        store_txn_fail(txn, rc);
    return txn->ret;
}

void store_write_abort(struct store_txn *txn)
{
    if (txn->txn != NULL)
        mdb_txn_abort(txn->txn);
    store_write_end(txn);
}

int store_read_begin(struct store *store, struct store_txn *txn)
{
    assert(!store->reading);
    memset(txn, 0, sizeof *txn);
    txn->store = store;
    txn->read_only = true;
    int rc = mdb_txn_renew(store->read_txn);
    if (rc != 0) {
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
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn->txn);
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

/* ---- Data ------------------------------------------------------------------------ */

/* ---- Guarded reads ------------------------------------------------------------ */

int store_read_guard(struct store_txn *txn)
{
    mdb_filehandle_t fd;
    struct stat st;
    if (mdb_env_get_fd(txn->store->env, &fd) != 0 || fstat(fd, &st) != 0)
        return SH_E_INTERNAL;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL)
        return SH_E_INTERNAL;
    /* "lo-hi perms offset major:minor inode path": the file's mapping from
     * its first byte, told apart from others by device and inode. */
    char line[512];
    unsigned long lo = 0, hi = 0, ino = 0, off = 0;
    unsigned dev_major = 0, dev_minor = 0;
    bool found = false;
    while (!found && fgets(line, sizeof line, maps) != NULL)
        found = sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &lo, &hi, &off, &dev_major, &dev_minor,
                       &ino) == 6 &&
                ino == (unsigned long)st.st_ino && dev_major == major(st.st_dev) &&
                dev_minor == minor(st.st_dev) && off == 0 && hi > lo;
    fclose(maps);
    if (!found || st.st_size <= 0)
        return SH_E_INTERNAL;
    uint64_t bytes = (uint64_t)st.st_size < hi - lo ? (uint64_t)st.st_size : hi - lo;
    txn->guard_lo = (uintptr_t)lo;
    txn->guard_hi = (uintptr_t)lo + (uintptr_t)bytes;
    return 0;
}

/* False (and the transaction failed) when a guarded transaction got bytes
 * from outside the file. */
static bool store_val_ok(struct store_txn *txn, const MDB_val *v)
{
    if (txn->guard_hi == 0)
        return true;
    uintptr_t p = (uintptr_t)v->mv_data;
    if (v->mv_size == 0 ||
        (p >= txn->guard_lo && p <= txn->guard_hi && v->mv_size <= txn->guard_hi - p))
        return true;
    store_txn_fail(txn, MDB_CORRUPTED);
    return false;
}

bool store_get(struct store_txn *txn, enum store_db db, const void *key, size_t key_len,
               MDB_val *val)
{
    assert(db < STORE_DB_COUNT && key_len > 0);
    if (txn->ret != 0)
        return false;
    MDB_val k = {.mv_size = key_len, .mv_data = (void *)key};
    int rc = mdb_get(txn->txn, txn->store->dbi[db], &k, val);
    if (rc == MDB_NOTFOUND)
        return false;
    if (rc != 0) {
        store_txn_fail(txn, rc);
        return false;
    }
    return store_val_ok(txn, val);
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
    if (rc == 0) {
        MDB_val k = {.mv_size = key_len, .mv_data = (void *)key};
        MDB_val v = {.mv_size = val_len, .mv_data = (void *)val};
        rc = mdb_put(txn->txn, txn->store->dbi[db], &k, &v, 0);
    }
    if (rc != 0)
        store_txn_fail(txn, rc);
}

void store_del(struct store_txn *txn, enum store_db db, const void *key, size_t key_len)
{
    assert(db < STORE_DB_COUNT && key_len > 0 && !txn->read_only);
    if (txn->ret != 0)
        return;
    txn->writes++;
    int rc = store_injected(txn->store);
    if (rc == 0) {
        MDB_val k = {.mv_size = key_len, .mv_data = (void *)key};
        rc = mdb_del(txn->txn, txn->store->dbi[db], &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    if (rc != 0)
        store_txn_fail(txn, rc);
}

static bool has_prefix(const MDB_val *key, const void *prefix, size_t prefix_len)
{
    return prefix_len == 0 ||
           (key->mv_size >= prefix_len && memcmp(key->mv_data, prefix, prefix_len) == 0);
}

/* Walks from the first key at or after from, while has_prefix holds. */
static void store_walk(struct store_txn *txn, enum store_db db, const void *from, size_t from_len,
                       size_t prefix_len, store_scan_fn fn, void *ctx)
{
    assert(db < STORE_DB_COUNT && fn != NULL && prefix_len <= from_len);
    if (txn->ret != 0)
        return;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[db], &cur);
    if (rc != 0) {
        store_txn_fail(txn, rc);
        return;
    }
    MDB_val k = {.mv_size = from_len, .mv_data = (void *)from};
    MDB_val v;
    rc = mdb_cursor_get(cur, &k, &v, from_len > 0 ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && store_val_ok(txn, &k) && store_val_ok(txn, &v) &&
           has_prefix(&k, from, prefix_len)) {
        int stop = fn(ctx, &k, &v);
        if (stop < 0)
            store_txn_fail_code(txn, stop);
        if (stop != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        store_txn_fail(txn, rc);
}

void store_scan(struct store_txn *txn, enum store_db db, const void *prefix, size_t prefix_len,
                store_scan_fn fn, void *ctx)
{
    store_walk(txn, db, prefix, prefix_len, prefix_len, fn, ctx);
}

void store_scan_from(struct store_txn *txn, enum store_db db, const void *key, size_t key_len,
                     store_scan_fn fn, void *ctx)
{
    store_walk(txn, db, key, key_len, 0, fn, ctx);
}

uint64_t store_count(struct store_txn *txn, enum store_db db)
{
    if (txn->ret != 0)
        return 0;
    MDB_stat st;
    int rc = mdb_stat(txn->txn, txn->store->dbi[db], &st);
    if (rc != 0) {
        store_txn_fail(txn, rc);
        return 0;
    }
    return st.ms_entries;
}

uint64_t store_last_u64(struct store_txn *txn, enum store_db db)
{
    assert(db < STORE_DB_COUNT);
    if (txn->ret != 0)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[db], &cur);
    if (rc != 0) {
        store_txn_fail(txn, rc);
        return 0;
    }
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        store_txn_fail(txn, rc);
    if (rc != 0 || k.mv_size != 8)
        return 0;
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n = n << 8 | ((const uint8_t *)k.mv_data)[i];
    return n;
}
