/*
 * The write-ahead log in front of LMDB (docs/storage.md, "Durability").
 *
 * A durable store's commits never write LMDB on the writer thread. Each
 * outermost commit's puts and deletes (physical redo, not the requests)
 * go into the active memtable (store_mem.h), which every transaction
 * begun after reads in front of LMDB, and, as one checksummed record,
 * into a preallocated, segmented log: wal.0 .. wal.3 in the data
 * directory, a ring of fixed-size segments. store_sync is one fdatasync
 * of the log's current segment: one contiguous sync per reply batch.
 *
 * A checkpoint freezes the active memtable (a new one takes the commits),
 * brings the frozen one into LMDB as one transaction off the writer
 * thread, syncs data.mdb, and writes the new snapshot's two meta pages
 * with the log's position after the frozen memtable's last record into
 * wal.ckpt (two alternating, checksummed slots). A hot page is written
 * once a checkpoint, not once a commit. The checkpointed snapshot is
 * pinned by a read transaction of the store's own until the next one is
 * on disk. Recovery writes the slot's meta pages back over data.mdb's, so
 * that LMDB opens at the slot's snapshot whatever a torn checkpoint left,
 * and redoes the log's records after it.
 *
 * Internal to engine/store: store.c calls it; nothing else does.
 */
#ifndef STORE_WAL_H
#define STORE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

#include "sh_error.h"

struct store;
struct store_config;
struct store_txn;

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
 * lock (sanhe.lock): then LMDB holds that engine's last checkpoint, a
 * consistent snapshot at most a checkpoint interval old; otherwise the
 * log must be replayed by a read-write open first. */
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

/* A durable store's write transaction (the writer thread), around it:
 * begin waits for the writer's lock (the checkpoint thread freezes only
 * between transactions), makes a checkpoint first when the active
 * memtable or the ring is near full, and gives txn its LMDB read
 * transaction, its memtables and its bound (the next commit sequence).
 * 0, or an LMDB code or errno (nothing held then: no end). */
int wal_write_begin(struct store *store, struct store_txn *txn);
void wal_write_end(struct store *store, struct store_txn *txn);

/* A read transaction's memtables, bound (the last commit published) and
 * LMDB snapshot, taken together under one lock: a checkpoint drops the
 * frozen memtable only after LMDB holds it, and a commit published by its
 * own checkpoint is published with LMDB's commit, so the snapshot never
 * lacks what the memtables dropped nor holds what the bound excludes.
 * reuse: a reset read transaction to renew, or NULL for a new one in
 * txn->txn. 0 or an LMDB code (nothing held then). Any thread. */
int wal_read_begin(struct store *store, struct store_txn *txn, MDB_txn *reuse);
void wal_read_end(struct store_txn *txn);

/* Before commit seq (txn->bound) is published, with len bytes of ops:
 * the log's room for its record (the next segment, zeros ahead). A full
 * file system fails here (ENOSPC), while the commit can still be refused
 * and nothing is lost. A commit too large for a record (overflow), or
 * one that finds no free segment in the ring, is checkpointed here with
 * everything before it and published with LMDB's commit: *done then,
 * and no wal_publish or wal_commit follows. 0 or an LMDB code or errno;
 * with *done, a failure came after the publication (the store's sync
 * then fails for good: the commit is visible but not durable); without,
 * nothing is published (a full map: grow and retry). */
int wal_reserve(struct store *store, uint64_t seq, size_t len, bool overflow, bool *done);

/* Makes commit seq (txn->bound) visible to every transaction that begins
 * after. Its versions must all be in the memtable. */
void wal_publish(struct store *store, uint64_t seq);

/* After wal_publish: appends the commit's ops as one record, in the room
 * wal_reserve made. Returns 0 or a code (the store's sync then fails for
 * good: the commit is visible but not durable). */
int wal_commit(struct store *store, uint64_t seq, const uint8_t *ops, size_t len);

/* One fdatasync of the log's current segment. Any thread. */
int wal_sync(struct store *store);

/* Around mdb_env_set_mapsize (writer thread, no transaction): LMDB may
 * remap only with no transaction of this process open, so the pin goes
 * while no checkpoint runs, and is taken again after. wal_grow_wanted:
 * a checkpoint met a full map (the writer should grow it). */
int wal_grow_begin(struct store *store);
int wal_grow_end(struct store *store);
bool wal_grow_wanted(struct store *store);

/* Stops the checkpoint thread; when clean, brings every commit into
 * LMDB, durable, and writes a clean checkpoint. */
void wal_close(struct store *store, bool clean);

/* Removes a data directory's log and checkpoint files (sanhe-engine
 * restore, which puts another data.mdb in place). */
int wal_discard(const char *dir);

/* The op buffer of a write transaction (store.c). */
#define WAL_OP_PUT 1u
#define WAL_OP_DEL 2u
#define WAL_OP_HEAD 12u /* kind, db, 2 zero bytes, key length, value length */

#endif
