/*
 * The LMDB store: one environment, named databases, and transactions with a
 * sticky error (in the manner of Knot DNS): every step on a store_txn is a
 * no-op once one has failed, so a caller does a sequence of gets and puts
 * and checks txn->ret once at the end.
 *
 * LMDB errors become SH_E_* codes in one place (store_error_map). The map
 * grows by itself: a write that fills it fails with MDB_MAP_FULL, the caller
 * ends every transaction and calls store_grow (LMDB can only remap when no
 * transaction is active), then retries. At map_size_max store_grow refuses
 * with SH_E_STORAGE_FULL.
 *
 * Threads: the ledger uses a store from one thread at a time. The
 * environment is opened with MDB_NOTLS so that the reused read-only
 * transaction owns its reader slot; that thread can then hold that (reset)
 * read transaction and a write transaction at once, which plain LMDB
 * forbids, and a reset read transaction does not block store_grow.
 *
 * MDB_WRITEMAP is never used: nested transactions need it off.
 *
 * Durability (docs/storage.md). A durable store does not write LMDB on
 * the writer's thread at all. An outermost commit's puts and deletes go
 * into a memtable (store_mem.h), which every later transaction reads in
 * front of LMDB, and into one record of a write-ahead log (store_wal.h);
 * store_sync is one fdatasync of the log. The memtable is brought into
 * LMDB at checkpoints, off the writer thread, as one LMDB transaction, and
 * synced. So a commit is visible once it returned, and durable once
 * store_sync, called after it returned, has returned 0. A read-only open
 * (another process) sees LMDB only: the state of the last checkpoint.
 */
#ifndef STORE_H
#define STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sh_error.h"

enum store_db {
    STORE_DB_META = 0,
    STORE_DB_PERSONS,
    STORE_DB_HOSPITALS,
    STORE_DB_CATALOG,
    STORE_DB_POLICIES,
    STORE_DB_TERMINALS,
    STORE_DB_ACCUMULATORS,
    STORE_DB_SETTLEMENTS,
    STORE_DB_REQUESTS,
    STORE_DB_JOURNAL,
    STORE_DB_JOURNAL_DAY,
    STORE_DB_REQUEST_LOG,
    STORE_DB_IMPORTS,         /* roster imports committed (ledger_roster.c) */
    STORE_DB_IMPORT_SESSIONS, /* imports begun and not yet committed */
    STORE_DB_IMPORT_STAGE,    /* their rows, staged: session id, row key -> ImportRow */
    STORE_DB_AUDIT,           /* person lookups: day, seq -> record (audit.c) */
    STORE_DB_COUNT
};

#define STORE_SCHEMA_VERSION 2u /* 2: request_log, and indexes brought up to date later */
#define STORE_MAP_DEFAULT (64ull << 20)
#define STORE_MAP_MAX_DEFAULT (64ull << 30)
#define STORE_MAP_MIN (256ull << 10) /* smaller maps cannot even hold the databases */

struct store_wal;
struct store_mem;
struct mem_ver;

struct store {
    MDB_env *env;
    MDB_dbi dbi[STORE_DB_COUNT];
    MDB_txn *read_txn;   /* reused: renewed for each read, reset after */
    bool reading;        /* read_txn is renewed */
    MDB_txn *write_txn;  /* the outermost write transaction, when one is open */
    uint64_t map_size;   /* the current map */
    uint64_t map_max;    /* the hard limit */
    uint32_t grow_count; /* times the map grew since open */
    bool durable;        /* commits are synced (store_sync); false: never */
    /* Sticky: the code of a failed sync, after which nothing committed
     * since the last good one is known to be on disk. Every later write
     * transaction and sync fails with it. Atomic: store_sync may run on
     * another thread than the writer. */
    _Atomic int sync_failed;
    /* Writes refused because the file system holding data.mdb is full
     * (ENOSPC, or EDQUOT): STORAGE_FULL, not a fault of the store; the
     * next commit that finds room succeeds. Atomic: read by the loop
     * thread (metrics, the log) while the writer counts. */
    _Atomic uint64_t enospc_count;
    /* Test hook: the fail_nth-th put or delete from now fails with fail_code. */
    uint32_t fail_nth;
    int fail_code;
    /* Test hooks: the next sync fails with this LMDB or errno code (once);
     * sync_hook runs in every store_sync after a successful sync. */
    _Atomic int fail_sync;
    void (*sync_hook)(void *ctx);
    void *sync_hook_ctx;
    /* The write-ahead log of a durable store (NULL: none, not durable). */
    struct store_wal *wal;
    size_t wal_record_max; /* ops bytes a record holds; a larger commit checkpoints */
    uint64_t wal_replayed; /* records redone by the open's recovery */
};

struct store_txn {
    struct store *store;
    MDB_txn *txn;
    struct store_txn *parent; /* NULL for the outermost */
    int ret;                  /* sticky: 0, or the first SH_E_* code */
    int mdb_rc;               /* the LMDB code behind ret, 0 when ret is not LMDB's */
    bool read_only;
    bool own;           /* a read transaction of its own (store_read_begin_own) */
    uint64_t writes;    /* puts and deletes tried on it (a caller can tell
                           whether a step wrote anything) */
    uint64_t put_bytes; /* key and value bytes of the puts tried on it (the
                           ledger's write quotas, docs/limits.md) */
    /* store_read_guard: the bytes of data.mdb in this process's map; a key
     * or value LMDB returns outside them fails the transaction
     * (MDB_CORRUPTED) before anyone reads it. 0, 0: not guarded. */
    uintptr_t guard_lo, guard_hi;
    /* A durable store's write transaction: its puts and deletes so far,
     * for the log (store_wal.h). A nested commit appends them to its
     * parent's, an abort drops them. ops_over: too many to log; the
     * commit makes LMDB durable instead. */
    uint8_t *ops;
    size_t ops_len, ops_cap;
    bool ops_over;
    /* A durable store's transaction reads these memtables in front of
     * LMDB, newest first (NULL: none), and sees their versions of commit
     * sequence at most bound (store_mem.h). A write transaction's own
     * versions, for an abort to kill; a nested commit hands them to its
     * parent. borrowed: a nested transaction's memtables are its
     * parent's references. */
    struct store_mem *mem[2];
    uint64_t bound;
    bool borrowed;
    struct mem_ver **vers;
    size_t vers_len, vers_cap;
};

struct store_config {
    const char *dir;
    uint64_t map_size_initial;
    uint64_t map_size_max;
    bool durable;
    /* Opens an existing store for reading only (MDB_RDONLY): no database is
     * created, every write transaction fails. For offline audits (sanhe-bureau
     * verify), safe next to a running engine. */
    bool read_only;
    /* The write-ahead log (durable stores; 0: the defaults of store_wal.h):
     * bytes a segment, and a checkpoint after this many bytes of log or
     * milliseconds, whichever comes first. */
    uint64_t wal_segment_bytes;
    uint64_t wal_checkpoint_bytes;
    uint32_t wal_checkpoint_ms;
    /* Test only (tests/powercut): recovery does not write the
     * checkpoint's meta pages back, to show what that would cost. */
    bool wal_test_skip_restore;
};

const char *store_db_name(enum store_db db);

int store_open(struct store *store, const struct store_config *config, struct sh_error *err);
void store_close(struct store *store);

/* The one place where an LMDB code becomes an SH_E_* code:
 * MDB_MAP_FULL, ENOSPC and EDQUOT (the file system is full) ->
 * SH_E_STORAGE_FULL, MDB_TXN_FULL -> SH_E_LIMIT_EXCEEDED, anything else ->
 * SH_E_INTERNAL. */
int store_error_map(int mdb_rc);

/* True for the LMDB codes that a bigger map or a fresh write transaction
 * can cure (the request that met it is retried after store_grow). */
bool store_error_is_pressure(int mdb_rc);

/* True for the codes after which the environment must not be written to. */
bool store_error_is_fatal(int mdb_rc);

/* Records a failure on the transaction unless it already has one. */
void store_txn_fail(struct store_txn *txn, int mdb_rc);
void store_txn_fail_code(struct store_txn *txn, int code);

/* Makes every commit so far durable: one fdatasync of the write-ahead
 * log's current segment (a no-op on a store that is not durable). It may
 * run on another thread while the writer thread has a write transaction
 * open or commits: a commit's record is written before the commit
 * returns, and a writer that moves to the next segment syncs the one it
 * leaves first, so a sync that starts after a commit returned covers it.
 * Never beside store_close.
 * Returns 0, or SH_E_INTERNAL when the sync failed (or an earlier one
 * did: see sync_failed). */
int store_sync(struct store *store);

/* Write transactions. parent NULL: the outermost (at most one at a time).
 * Refused with the sticky code once a sync has failed. */
int store_write_begin(struct store *store, struct store_txn *parent, struct store_txn *txn);
/* Commits when txn->ret is 0 (else aborts and returns ret). */
int store_write_commit(struct store_txn *txn);
void store_write_abort(struct store_txn *txn);

/* The reused read-only transaction: begin renews it, end resets it. */
int store_read_begin(struct store *store, struct store_txn *txn);
/* A read-only transaction of its own, for a read on a thread of the pool
 * (engine/net/read_pool.c): any number at once, one reader slot each
 * (MDB_NOTLS), never beside store_grow. store_read_end aborts it. */
int store_read_begin_own(struct store *store, struct store_txn *txn);
void store_read_end(struct store_txn *txn);

/* What the write-ahead log did since open (tests, metrics). */
struct store_wal_stats {
    uint64_t records, record_bytes; /* appended */
    uint64_t checkpoints_async;     /* by the checkpoint thread */
    uint64_t checkpoints_sync;      /* on the writer: open, large commits, a full ring, close */
    uint64_t checkpoints_waited; /* of those, before a transaction: a memtable or ring near full */
    uint64_t large_commits;      /* commits too large for a record (made durable at once) */
    uint64_t segment_switches, ring_full;
    uint64_t replayed; /* records redone by the open's recovery */
};
/* All zero for a store without a log. */
void store_wal_stats(struct store *store, struct store_wal_stats *out);

/* Doubles the map (capped at map_max). Only with no transaction active.
 * Returns 0, or SH_E_STORAGE_FULL when already at the hard limit. */
int store_grow(struct store *store);

/* Grows ahead of need when more than half of the map is used, so that a
 * batch rarely meets a full map. Only with no transaction active. */
int store_grow_ahead(struct store *store);
/* Whether store_grow_ahead would grow the map now. Safe beside read
 * transactions, so that a writer takes the exclusive lock around growth
 * (and waits for the reads running) only when there is growth to do. */
bool store_grow_due(struct store *store);

/* Data access. A get returns true when found (val points into the map, valid
 * until the transaction ends or writes); false when absent or failed. */
bool store_get(struct store_txn *txn, enum store_db db, const void *key, size_t key_len,
               MDB_val *val);
void store_put(struct store_txn *txn, enum store_db db, const void *key, size_t key_len,
               const void *val, size_t val_len);
/* Deleting an absent key is not an error. */
void store_del(struct store_txn *txn, enum store_db db, const void *key, size_t key_len);

/* Calls fn for every key starting with prefix (all keys when prefix_len is
 * 0), in key order, until fn returns nonzero (a negative return is recorded
 * as the transaction's error; a positive one just stops). */
typedef int (*store_scan_fn)(void *ctx, const MDB_val *key, const MDB_val *val);
void store_scan(struct store_txn *txn, enum store_db db, const void *prefix, size_t prefix_len,
                store_scan_fn fn, void *ctx);
/* The same for every key from key (included) to the end of the database. */
void store_scan_from(struct store_txn *txn, enum store_db db, const void *key, size_t key_len,
                     store_scan_fn fn, void *ctx);

/* For a reader of a store that may be damaged (sanhe-engine check): from
 * now on every key and value this read transaction returns must lie inside
 * the data file as this process maps it. LMDB has no checksums; a flipped
 * bit in a node's size makes it return a value that runs past the file's
 * end, and reading that is SIGBUS. Linux only (/proc/self/maps). Returns 0,
 * or SH_E_INTERNAL when the map cannot be found (then nothing is guarded). */
int store_read_guard(struct store_txn *txn);

/* Number of entries of a database. */
uint64_t store_count(struct store_txn *txn, enum store_db db);

/* The last key of a database of 8-byte big-endian keys, as a number: 0
 * when it is empty or its last key is not 8 bytes long. */
uint64_t store_last_u64(struct store_txn *txn, enum store_db db);

#endif
