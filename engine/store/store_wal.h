/*
 * The write-ahead log in front of LMDB (docs/storage.md, "Durability").
 *
 * A durable store commits LMDB with MDB_NOSYNC on the writer thread, so
 * readers see a write at once, and appends every committed transaction's
 * puts and deletes (physical redo, not the requests) as one checksummed
 * record to a preallocated, segmented log: wal.0 .. wal.3 in the data
 * directory, a ring of fixed-size segments. store_sync is one fdatasync
 * of the log's current segment: one contiguous sync per reply batch.
 *
 * LMDB itself is made durable only at checkpoints, off the writer thread.
 * A checkpoint of snapshot K keeps K's pages from being reused (a read
 * transaction of its own pins K), syncs data.mdb, and writes K's two meta
 * pages with the log position after K's record into wal.ckpt (two
 * alternating, checksummed slots). Recovery writes those meta pages back
 * over data.mdb's, so that LMDB opens at K whatever later unsynced commits
 * left on disk, and replays the log's records after K.
 *
 * Internal to engine/store: store.c calls it; nothing else does.
 */
#ifndef STORE_WAL_H
#define STORE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sh_error.h"

struct store;
struct store_config;

#define WAL_SEGMENTS 4u                   /* the ring */
#define WAL_SEGMENT_DEFAULT (16ull << 20) /* bytes a segment */
#define WAL_SEGMENT_MIN (32ull << 10)     /* smaller segments hold too few records */
#define WAL_SEGMENT_MAX (1ull << 30)      /* a position fits the format's limits */
#define WAL_PREALLOC_CHUNK (1ull << 20)   /* zeros written ahead of the log at a time */
#define WAL_CHECKPOINT_BYTES_DEFAULT (4ull << 20)
#define WAL_CHECKPOINT_MS_DEFAULT 1000u
#define WAL_CKPT_NAME "wal.ckpt"

/* What a checkpoint file says, read before LMDB opens. */
struct wal_ckpt {
    bool found; /* a valid slot exists */
    bool clean; /* written by a clean close: no record after it, no restore needed */
    uint64_t seq, gen, txnid, seg, off, lsn, segment_bytes;
    uint32_t psize;
    uint8_t *meta; /* 2 * psize bytes: data.mdb's pages 0 and 1 at txnid (malloc'd) */
};

/* Before mdb_env_open. Reads wal.ckpt; for a read-write open of a store
 * whose checkpoint is not clean, writes its meta pages back over
 * data.mdb's (unless test_skip_restore) and syncs. A read-only open of
 * such a store is refused unless an engine holds the data directory's
 * lock (sanhe.lock): then the page cache, which that engine writes, is
 * the truth; otherwise the log must be replayed by a read-write open
 * first. */
int wal_prepare(const char *dir, bool read_only, bool test_skip_restore, struct wal_ckpt *ck,
                struct sh_error *err);
void wal_ckpt_free(struct wal_ckpt *ck);

/* After the environment and its databases are open (read-write): replays
 * the records after a checkpoint that is not clean, syncs data.mdb, and,
 * when durable, starts the log (a new checkpoint, a new generation, the
 * checkpoint thread); when not durable, writes a clean checkpoint so that
 * a later open does not restore stale meta pages. */
int wal_open(struct store *store, const struct store_config *config, const struct wal_ckpt *ck,
             bool test_skip_restore, struct sh_error *err);

/* Before mdb_txn_commit of an outermost write transaction with len bytes
 * of ops: the log's room for its record (the next segment, zeros ahead).
 * A full file system fails here (ENOSPC), while the commit can still be
 * refused and nothing is lost; 0 or an errno. */
int wal_reserve(struct store *store, size_t len, bool overflow);

/* After mdb_txn_commit of the outermost write transaction (txnid) on the
 * writer thread: appends its ops as one record, or, for a transaction
 * too large for a record, makes LMDB durable at once (a checkpoint).
 * Returns 0 or a negative code (the store's sync then fails for good). */
int wal_commit(struct store *store, uint64_t txnid, const uint8_t *ops, size_t len, bool overflow);

/* One fdatasync of the log's current segment. Any thread. */
int wal_sync(struct store *store);

/* Around mdb_env_set_mapsize (writer thread, no transaction): LMDB may
 * remap only with no transaction of this process open, so the pin goes:
 * a checkpoint of the current snapshot is made durable first, the pin is
 * dropped, and taken again after. */
int wal_grow_begin(struct store *store);
int wal_grow_end(struct store *store);

/* Stops the checkpoint thread; when clean, makes LMDB durable and writes
 * a clean checkpoint. */
void wal_close(struct store *store, bool clean);

/* Removes a data directory's log and checkpoint files (sanhe-engine
 * restore, which puts another data.mdb in place). */
int wal_discard(const char *dir);

/* The op buffer of a write transaction (store.c). */
#define WAL_OP_PUT 1u
#define WAL_OP_DEL 2u
#define WAL_OP_HEAD 12u /* kind, db, 2 zero bytes, key length, value length */

#endif
