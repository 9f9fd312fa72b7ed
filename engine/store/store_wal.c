/*
 * The write-ahead log, the memtables and the checkpoints (store_wal.h,
 * docs/storage.md).
 *
 * Threads and locks.
 *   - The writer thread holds write_mu for each write transaction, from
 *     wal_write_begin to wal_write_end: it adds to the active memtable,
 *     appends records and moves the log's position (seg, off, lsn), and
 *     makes the checkpoints that must be synchronous (a transaction too
 *     large for a record, a ring with no free segment, a memtable at its
 *     limit, growth, close).
 *   - The checkpoint thread brings the frozen memtable into LMDB, syncs
 *     data.mdb and writes a checkpoint slot, for the job the writer handed
 *     it, or, when the writer is idle, for a freeze of its own (it only
 *     ever tries write_mu, so it never waits for the writer, who may be
 *     waiting for it).
 *   - store_sync's thread only fdatasyncs the current segment (cur_fd).
 *   - Readers take references to the memtables under view_mu.
 * mu guards busy, stop, the job and the pin. Lock order: write_mu, then
 * mu, then view_mu.
 *
 * Why the checkpointed snapshot stays safe. LMDB is written only by a
 * checkpoint's one transaction (and by recovery's), committed with
 * MDB_NOSYNC and followed by one fdatasync of data.mdb, which may leave
 * its meta page on disk before its pages. The slot names the snapshot
 * before it until that sync returned, and the pin (a read transaction)
 * keeps every page of the slot's snapshot from being reused, so recovery
 * can always bring the slot's meta pages back and stand on whole pages.
 */
#include "store_wal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "store.h"
#include "store_mem.h"

#define REC_MAGIC 0x4c574853u /* "SHWL" */

/* A checkpoint is due at this size of the active memtable; a write
 * transaction waits for one at the second, so that mem_put's limits are
 * never met by a transaction of ordinary size. */
#define MEM_NODES_CKPT (MEM_NODES_MAX / 2)
#define MEM_NODES_WAIT (MEM_NODES_MAX * 3 / 4)
#define MEM_BYTES_CKPT (MEM_BYTES_MAX / 3)
#define MEM_BYTES_WAIT (MEM_BYTES_MAX * 2 / 3)
/* Recovery commits its redo to LMDB every this many puts and deletes: a
 * transaction must stay far below LMDB's limit on dirty pages. */
#define REPLAY_OPS_MAX 16384u
#define CK_MAGIC 0x4b434853u /* "SHCK" */
#define CK_VERSION 1u
#define CK_HEAD_BYTES 4096u /* the slot's first page: the header */
#define CK_PSIZE_MAX 65536u /* LMDB's page is the OS page: at most 64 KiB */
#define CK_STRIDE (CK_HEAD_BYTES + 2u * CK_PSIZE_MAX)

/* A record's header; the payload (the ops) follows. */
struct rec_head {
    uint32_t magic;
    uint32_t len; /* payload bytes */
    uint64_t lsn; /* 1, 2, 3, ... over the store's life */
    uint64_t gen; /* the generation: one per read-write open */
    uint64_t seq; /* the commit it redoes (store_txn.bound of its writer) */
    uint32_t crc; /* crc32 of the header (crc = 0) and the payload */
    uint32_t zero;
};
#define REC_HEAD ((uint64_t)sizeof(struct rec_head))

/* A checkpoint slot's header; the two meta pages follow at CK_HEAD_BYTES. */
struct ck_head {
    uint32_t magic, version;
    uint64_t seq;           /* checkpoints written over the store's life */
    uint64_t gen;           /* the generation of the records that follow */
    uint64_t txnid;         /* the LMDB snapshot (its meta pages follow) */
    uint64_t seg, off, lsn; /* the next record: segment, offset in it, LSN */
    uint64_t segment_bytes;
    uint32_t segments, psize;
    uint32_t clean; /* 1: a clean close; nothing follows, nothing to restore */
    uint32_t crc;   /* crc32 of the header (crc = 0) and the meta pages */
};

/* A checkpoint to make: the memtable to bring into LMDB (NULL: none) and
 * the log's position after its last record. */
struct wal_job {
    struct store_mem *mem;
    uint64_t seg, off, lsn;
};

struct store_wal {
    char dir[PATH_MAX];
    struct store *store;
    int data_fd; /* data.mdb: LMDB's descriptor, not ours to close */
    int ckpt_fd;
    int seg_fd[WAL_SEGMENTS];
    uint64_t alloc[WAL_SEGMENTS]; /* bytes preallocated in each segment file */
    uint64_t seg_bytes, rec_max;
    uint32_t psize;
    /* The writer's (under write_mu once the thread runs). */
    pthread_mutex_t write_mu;
    uint64_t seg, off, lsn, gen;
    uint64_t since_bytes;
    uint64_t ckpt_bytes;
    uint32_t ckpt_ms;
    uint8_t *rec;
    size_t rec_cap;
    MDB_txn *wread; /* the write transactions' LMDB reads (reset between) */
    _Atomic int cur_fd;
    /* The memtables (store_mem.h): active takes the commits; frozen, when
     * not NULL, is being (or failed to be) brought into LMDB, and its
     * records end at frozen_pos. Each holds the view's reference. */
    pthread_mutex_t view_mu;
    struct store_mem *active, *frozen;
    struct wal_job frozen_pos;
    _Atomic uint64_t committed; /* the last commit sequence published */
    _Atomic bool grow_wanted;   /* a checkpoint met a full map */
    _Atomic int64_t last_ck_ms;
    /* The checkpoint thread's. */
    pthread_t thread;
    bool thread_on;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool busy, stop;
    struct wal_job job; /* under mu: handed to the thread (busy) */
    uint64_t seq;       /* under mu: checkpoints written over the store's life */
    uint8_t *slot;      /* under busy: the slot being written */
    MDB_txn *pin;       /* the pin of the checkpoint on disk */
    _Atomic uint64_t durable_seg;
    _Atomic int failed;           /* errno of a failed log or checkpoint write */
    uint64_t checkpoints;         /* under mu: the thread's */
    struct store_wal_stats stats; /* the writer's (but checkpoints_async) */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t crc_of(const void *a, size_t alen, const void *b, size_t blen)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, a, (uInt)alen);
    if (blen > 0)
        c = crc32(c, b, (uInt)blen);
    return (uint32_t)c;
}

static int full_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int full_pread(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int sync_fd(int fd) { return fdatasync(fd) == 0 ? 0 : errno; }

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : errno;
    if (fd >= 0)
        close(fd);
    return rc;
}

static void path_of(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    assert(n > 0 && (size_t)n < cap);
}

/* ---- The checkpoint file ------------------------------------------------------------------- */

static bool ck_slot_read(int fd, uint32_t slot, struct wal_ckpt *out)
{
    struct ck_head h;
    if (full_pread(fd, &h, sizeof h, (uint64_t)slot * CK_STRIDE) != 0)
        return false;
    if (h.magic != CK_MAGIC || h.version != CK_VERSION || h.psize < 512 || h.psize > CK_PSIZE_MAX ||
        h.segments != WAL_SEGMENTS || h.segment_bytes < WAL_SEGMENT_MIN ||
        h.segment_bytes > WAL_SEGMENT_MAX || h.off > h.segment_bytes || h.seq % 2 != slot)
        return false;
    uint8_t *meta = malloc(2u * h.psize);
    if (meta == NULL)
        return false;
    uint32_t crc = h.crc;
    h.crc = 0;
    if (full_pread(fd, meta, 2u * h.psize, (uint64_t)slot * CK_STRIDE + CK_HEAD_BYTES) != 0 ||
        crc_of(&h, sizeof h, meta, 2u * h.psize) != crc) {
        free(meta);
        return false;
    }
    *out = (struct wal_ckpt){.found = true,
                             .clean = h.clean == 1,
                             .seq = h.seq,
                             .gen = h.gen,
                             .txnid = h.txnid,
                             .seg = h.seg,
                             .off = h.off,
                             .lsn = h.lsn,
                             .segment_bytes = h.segment_bytes,
                             .psize = h.psize,
                             .meta = meta};
    return true;
}

/* The newest valid slot of dir's wal.ckpt (none: ck->found false). */
static int ck_read(const char *dir, struct wal_ckpt *ck)
{
    memset(ck, 0, sizeof *ck);
    char path[PATH_MAX + 16];
    path_of(path, sizeof path, dir, WAL_CKPT_NAME);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : errno;
    struct wal_ckpt s[2] = {{0}, {0}};
    bool ok0 = ck_slot_read(fd, 0, &s[0]), ok1 = ck_slot_read(fd, 1, &s[1]);
    close(fd);
    int pick = ok0 && ok1 ? (s[1].seq > s[0].seq ? 1 : 0) : ok1 ? 1 : ok0 ? 0 : -1;
    if (pick >= 0) {
        *ck = s[pick];
        s[pick].meta = NULL;
    }
    free(s[0].meta);
    free(s[1].meta);
    return 0;
}

void wal_ckpt_free(struct wal_ckpt *ck)
{
    free(ck->meta);
    memset(ck, 0, sizeof *ck);
}

/* Whether a process holds the data directory's lock (engine/app/datalock.c). */
static bool engine_running(const char *dir)
{
    char path[PATH_MAX + 16];
    path_of(path, sizeof path, dir, "sanhe.lock");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    bool held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return held;
}

int wal_prepare(const char *dir, bool read_only, bool test_skip_restore, struct wal_ckpt *ck,
                struct sh_error *err)
{
    int rc = ck_read(dir, ck);
    if (rc != 0)
        return sh_error_set(err, SH_E_INTERNAL, "store: cannot read %s/%s: %s", dir, WAL_CKPT_NAME,
                            strerror(rc));
    if (!ck->found || ck->clean)
        return 0;
    if (read_only) {
        if (engine_running(dir))
            return 0; /* LMDB holds its last checkpoint: a whole snapshot */
        wal_ckpt_free(ck);
        return sh_error_set(err, SH_E_INTERNAL,
                            "store: %s was not closed cleanly and its write-ahead log has not "
                            "been replayed; a read-only open cannot replay it: run "
                            "`sanhe-engine check` (or start the engine) once first",
                            dir);
    }
    if (test_skip_restore)
        return 0;
    char path[PATH_MAX + 16];
    path_of(path, sizeof path, dir, "data.mdb");
    int fd = open(path, O_RDWR | O_CLOEXEC);
    rc = fd < 0 ? errno : full_pwrite(fd, ck->meta, 2u * ck->psize, 0);
    if (rc == 0)
        rc = sync_fd(fd);
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        wal_ckpt_free(ck);
        return sh_error_set(err, SH_E_INTERNAL,
                            "store: cannot restore the checkpoint's meta pages in %s: %s", path,
                            strerror(rc));
    }
    return 0;
}

/* Fills buf (CK_HEAD_BYTES + 2 psize) with a checkpoint of snapshot
 * txnid, the records of generation gen following at the position at:
 * the meta pages as data.mdb holds them now (right after txnid's commit,
 * with no other LMDB writer). */
static int ck_build(struct store_wal *w, uint8_t *buf, uint64_t seq, uint64_t txnid, uint64_t gen,
                    const struct wal_job *at, bool clean)
{
    int rc = full_pread(w->data_fd, buf + CK_HEAD_BYTES, 2u * w->psize, 0);
    if (rc != 0)
        return rc;
    struct ck_head h = {.magic = CK_MAGIC,
                        .version = CK_VERSION,
                        .seq = seq,
                        .gen = gen,
                        .txnid = txnid,
                        .seg = at->seg,
                        .off = at->off,
                        .lsn = at->lsn,
                        .segment_bytes = w->seg_bytes,
                        .segments = WAL_SEGMENTS,
                        .psize = w->psize,
                        .clean = clean ? 1u : 0u};
    h.crc = crc_of(&h, sizeof h, buf + CK_HEAD_BYTES, 2u * w->psize);
    memset(buf, 0, CK_HEAD_BYTES);
    memcpy(buf, &h, sizeof h);
    return 0;
}

/* data.mdb synced, then the slot written and synced: a valid slot's
 * snapshot is always on disk. */
static int ck_write(struct store_wal *w, const uint8_t *buf, uint64_t seq)
{
    int rc = sync_fd(w->data_fd);
    if (rc == 0)
        rc = full_pwrite(w->ckpt_fd, buf, CK_HEAD_BYTES + 2u * w->psize, (seq % 2) * CK_STRIDE);
    if (rc == 0)
        rc = sync_fd(w->ckpt_fd);
    return rc;
}

static MDB_txn *pin_take(struct store *store, uint64_t txnid)
{
    MDB_txn *pin = NULL;
    if (mdb_txn_begin(store->env, NULL, MDB_RDONLY, &pin) != 0)
        return NULL;
    /* The writer is the only one: the newest snapshot is the one just committed. */
    assert(mdb_txn_id(pin) == txnid);
    return pin;
}

static void ck_fail(struct store_wal *w, int rc)
{
    int expected = 0;
    atomic_compare_exchange_strong(&w->failed, &expected, rc != 0 ? rc : EIO);
}

/* ---- Memtables into LMDB --------------------------------------------------------------------- */

static uint64_t last_txnid(struct store *store)
{
    MDB_envinfo info;
    return mdb_env_info(store->env, &info) == 0 ? info.me_last_txnid : 0;
}

/* Every key of m, at its newest version, in one LMDB transaction, in key
 * order (neighbouring keys share their pages). Committed with MDB_NOSYNC:
 * ck_write syncs. 0 and *txnid (the newest snapshot after it), or an
 * LMDB code (nothing committed). */
static int mem_apply(struct store *store, struct store_mem *m, uint64_t publish, uint64_t *txnid)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    for (struct mem_node *n = mem_seek(m, 0, NULL, 0); rc == 0 && n != NULL; n = mem_next(n)) {
        const struct mem_ver *v = mem_visible(n, UINT64_MAX);
        if (v == NULL)
            continue; /* only aborted versions */
        assert(n->db < STORE_DB_COUNT);
        MDB_val k = {.mv_size = n->key_len, .mv_data = (void *)n->key};
        MDB_val d = {.mv_size = v->len, .mv_data = (void *)v->val};
        if (!v->tomb)
            rc = mdb_put(txn, store->dbi[n->db], &k, &d, 0);
        else if ((rc = mdb_del(txn, store->dbi[n->db], &k, NULL)) == MDB_NOTFOUND)
            rc = 0;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    /* A commit published by its own checkpoint (publish != 0): readers
     * take their view and LMDB snapshot under view_mu, so none sees
     * LMDB with the commit and a bound without it. */
    struct store_wal *w = store->wal;
    if (publish != 0)
        pthread_mutex_lock(&w->view_mu);
    rc = mdb_txn_commit(txn);
    if (rc == 0 && publish != 0)
        wal_publish(store, publish);
    if (publish != 0)
        pthread_mutex_unlock(&w->view_mu);
    /* Not mdb_txn_id(txn): a transaction that changed nothing (only
     * deletes of absent keys) commits no new snapshot. */
    if (rc == 0)
        *txnid = last_txnid(store);
    return rc;
}

/* The checkpoint itself, with no other checkpoint running: job's
 * memtable into LMDB, data.mdb synced, the slot written and synced, the
 * pin moved to the new snapshot (none for a clean one). On any thread.
 * MDB_MAP_FULL: nothing changed (the map must grow first); another
 * failure fails the log for good. */
static int ck_run(struct store *store, const struct wal_job *job, uint64_t gen, bool clean,
                  uint64_t publish)
{
    struct store_wal *w = store->wal;
    uint64_t txnid = last_txnid(store);
    int rc = job->mem != NULL && mem_nodes(job->mem) > 0
                 ? mem_apply(store, job->mem, publish, &txnid)
                 : 0;
    if (rc == MDB_MAP_FULL) {
        atomic_store(&w->grow_wanted, true);
        return rc;
    }
    uint64_t seq = w->seq + 1;
    if (rc == 0)
        rc = ck_build(w, w->slot, seq, txnid, gen, job, clean);
    MDB_txn *pin = rc == 0 && !clean ? pin_take(store, txnid) : NULL;
    if (rc == 0 && !clean && pin == NULL)
        rc = ENOMEM;
    if (rc == 0)
        rc = ck_write(w, w->slot, seq);
    if (rc != 0) {
        if (pin != NULL)
            mdb_txn_abort(pin);
        ck_fail(w, rc);
        return rc;
    }
    pthread_mutex_lock(&w->mu);
    w->seq = seq;
    MDB_txn *old = w->pin;
    w->pin = pin;
    pthread_mutex_unlock(&w->mu);
    atomic_store(&w->durable_seg, job->seg);
    atomic_store(&w->last_ck_ms, now_ms());
    if (old != NULL)
        mdb_txn_abort(old); /* a read transaction: any thread may end it (MDB_NOTLS) */
    return 0;
}

/* After a checkpoint of the frozen memtable: readers that begin now find
 * it all in LMDB. Those that hold it keep it until they end. */
static void frozen_drop(struct store_wal *w)
{
    pthread_mutex_lock(&w->view_mu);
    struct store_mem *m = w->frozen;
    w->frozen = NULL;
    pthread_mutex_unlock(&w->view_mu);
    mem_unref(m);
}

/* With write_mu held (no write transaction open) and no checkpoint
 * running: the active memtable becomes the frozen one, at the log's
 * position now. A frozen one still there (its checkpoint met a full
 * map) stays and is the job again. False: nothing to do, or no memory. */
static bool freeze(struct store_wal *w, struct wal_job *job)
{
    if (w->frozen == NULL) {
        if (mem_nodes(w->active) == 0)
            return false;
        struct store_mem *fresh = mem_new();
        if (fresh == NULL)
            return false; /* the next commit tries again */
        pthread_mutex_lock(&w->view_mu);
        w->frozen = w->active;
        w->active = fresh;
        pthread_mutex_unlock(&w->view_mu);
        w->frozen_pos = (struct wal_job){.seg = w->seg, .off = w->off, .lsn = w->lsn};
        w->since_bytes = 0;
    }
    *job = w->frozen_pos;
    job->mem = w->frozen;
    return true;
}

/* ---- The checkpoint thread ------------------------------------------------------------------ */

static struct timespec deadline_in_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (ms % 1000) * 1000000L;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

/* Not under mu. When the writer is idle (write_mu free) and commits have
 * waited a checkpoint interval, a freeze of the thread's own: LMDB, and
 * the read-only readers of other processes, catch up without a commit to
 * hand the job. */
static bool ck_idle_job(struct store_wal *w, struct wal_job *job)
{
    if (now_ms() - atomic_load(&w->last_ck_ms) < (int64_t)w->ckpt_ms ||
        atomic_load(&w->grow_wanted) || pthread_mutex_trylock(&w->write_mu) != 0)
        return false;
    bool got = false;
    pthread_mutex_lock(&w->mu);
    if (!w->busy && !w->stop && atomic_load(&w->failed) == 0 && freeze(w, job)) {
        w->busy = true;
        got = true;
    }
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_unlock(&w->write_mu);
    return got;
}

static void *ck_thread(void *arg)
{
    struct store_wal *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->busy) {
            struct timespec until = deadline_in_ms(w->ckpt_ms);
            if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT || w->busy || w->stop)
                continue;
            pthread_mutex_unlock(&w->mu);
            struct wal_job own;
            bool got = ck_idle_job(w, &own);
            pthread_mutex_lock(&w->mu);
            if (got)
                w->job = own;
        }
        if (!w->busy)
            break;
        struct wal_job job = w->job;
        pthread_mutex_unlock(&w->mu);
        int rc = ck_run(w->store, &job, w->gen, false, 0);
        if (rc == 0)
            frozen_drop(w);
        pthread_mutex_lock(&w->mu);
        if (rc == 0)
            w->checkpoints++;
        w->busy = false;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void ck_wait_idle(struct store_wal *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->busy)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* A checkpoint of every commit so far, made on the writer thread (write_mu
 * held, or the thread not running): the frozen memtable first, if a
 * checkpoint of it failed, then the active one. publish != 0: the write
 * transaction ending now, its versions all in the active memtable and
 * not yet published; it is published with LMDB's commit of that
 * memtable, so that a failure before (a full map) leaves it unpublished
 * and refusable. */
static int ck_now(struct store *store, bool clean, uint64_t publish)
{
    struct store_wal *w = store->wal;
    ck_wait_idle(w);
    int failed = atomic_load(&w->failed);
    if (failed != 0)
        return failed; /* a slot written now could overwrite the one on disk */
    const struct store_mem *holder = w->active;
    struct wal_job job;
    bool now_covered = false; /* a checkpoint at the log's position now is on disk */
    for (int round = 0; round < 2 && freeze(w, &job); round++) {
        int rc = ck_run(store, &job, w->gen, false, job.mem == holder ? publish : 0);
        if (rc != 0)
            return rc;
        frozen_drop(w);
        w->stats.checkpoints_sync++;
        now_covered = job.seg == w->seg && job.off == w->off && job.lsn == w->lsn;
    }
    if (w->frozen != NULL || mem_nodes(w->active) > 0)
        return ENOMEM; /* freeze could not make a memtable */
    if (now_covered && !clean)
        return 0;
    /* Nothing left in memory: a slot at the log's position now (it frees
     * the ring's segments, and a clean one ends the log). */
    assert(publish == 0 || atomic_load(&w->committed) == publish);
    job = (struct wal_job){.seg = w->seg, .off = w->off, .lsn = w->lsn};
    int rc = ck_run(store, &job, w->gen, clean, 0);
    if (rc == 0)
        w->stats.checkpoints_sync++;
    return rc;
}

/* After a commit (write_mu held): hands a checkpoint to the thread when
 * one is due and none runs. */
static void ck_maybe(struct store_wal *w)
{
    struct store_mem *a = w->active;
    bool due = w->since_bytes >= w->ckpt_bytes ||
               now_ms() - atomic_load(&w->last_ck_ms) >= (int64_t)w->ckpt_ms ||
               mem_nodes(a) >= MEM_NODES_CKPT || mem_bytes(a) >= MEM_BYTES_CKPT;
    if (!due || atomic_load(&w->grow_wanted))
        return; /* a full map: the writer grows it first (store_grow_due) */
    pthread_mutex_lock(&w->mu);
    struct wal_job job;
    if (!w->busy && freeze(w, &job)) {
        w->job = job;
        w->busy = true;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

/* ---- The log -------------------------------------------------------------------------------- */

static int seg_open(struct store_wal *w, bool *created)
{
    for (uint32_t i = 0; i < WAL_SEGMENTS; i++) {
        char name[32], path[PATH_MAX + 40];
        snprintf(name, sizeof name, "wal.%u", i);
        path_of(path, sizeof path, w->dir, name);
        struct stat st;
        if (stat(path, &st) != 0)
            *created = true;
        w->seg_fd[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (w->seg_fd[i] < 0 || fstat(w->seg_fd[i], &st) != 0)
            return errno;
        w->alloc[i] = (uint64_t)st.st_size;
    }
    return 0;
}

/* Zeros ahead of the log up to at least end, synced, so that a record's
 * fdatasync writes its bytes and nothing of the file's size. */
static int seg_prealloc(struct store_wal *w, uint32_t slot, uint64_t end)
{
    if (end <= w->alloc[slot])
        return 0;
    static const uint8_t zeros[64 << 10];
    uint64_t to = (end + WAL_PREALLOC_CHUNK - 1) / WAL_PREALLOC_CHUNK * WAL_PREALLOC_CHUNK;
    if (to > w->seg_bytes)
        to = w->seg_bytes;
    int rc = 0;
    for (uint64_t at = w->alloc[slot]; rc == 0 && at < to;) {
        size_t n = to - at < sizeof zeros ? (size_t)(to - at) : sizeof zeros;
        rc = full_pwrite(w->seg_fd[slot], zeros, n, at);
        at += n;
    }
    if (rc == 0)
        rc = sync_fd(w->seg_fd[slot]);
    if (rc == 0)
        w->alloc[slot] = to;
    return rc;
}

/* Makes room for a record of total bytes at the writer's position: the
 * next segment when it does not fit in this one, zeros ahead of it.
 * *ring_full: no free segment (the commit checkpoints instead). */
static int place(struct store_wal *w, uint64_t total, bool *ring_full)
{
    *ring_full = false;
    if (w->off + total > w->seg_bytes) {
        if (w->seg + 1 >= atomic_load(&w->durable_seg) + WAL_SEGMENTS) {
            *ring_full = true;
            return 0;
        }
        int rc = sync_fd(w->seg_fd[w->seg % WAL_SEGMENTS]); /* the old segment's tail */
        if (rc != 0) {
            ck_fail(w, rc); /* a failed sync is never retried */
            return rc;
        }
        w->stats.segment_switches++;
        w->seg++;
        w->off = 0;
        atomic_store(&w->cur_fd, w->seg_fd[w->seg % WAL_SEGMENTS]);
    }
    return seg_prealloc(w, (uint32_t)(w->seg % WAL_SEGMENTS), w->off + total);
}

int wal_reserve(struct store *store, uint64_t seq, size_t len, bool overflow, bool *done)
{
    struct store_wal *w = store->wal;
    *done = false;
    int failed = atomic_load(&w->failed);
    if (failed != 0)
        return failed;
    uint64_t total = REC_HEAD + len;
    bool ring_full = false;
    int rc = overflow || total > w->rec_max ? 0 : place(w, total, &ring_full);
    if (rc != 0 || (!overflow && total <= w->rec_max && !ring_full))
        return rc;
    /* Too large for a record, or no free segment: this commit goes into
     * LMDB with everything before it, durable now, and needs no record. */
    if (ring_full)
        w->stats.ring_full++;
    else
        w->stats.large_commits++;
    rc = ck_now(store, false, seq);
    *done = atomic_load(&w->committed) == seq;
    return rc;
}

int wal_commit(struct store *store, uint64_t seq, const uint8_t *ops, size_t len)
{
    struct store_wal *w = store->wal;
    assert(w != NULL);
    int failed = atomic_load(&w->failed);
    if (failed != 0)
        return failed;
    uint64_t total = REC_HEAD + len;
    assert(total <= w->rec_max);
    int rc = 0;
    uint32_t slot = (uint32_t)(w->seg % WAL_SEGMENTS);
    if (w->rec_cap < total) {
        uint8_t *r = realloc(w->rec, total);
        if (r == NULL)
            rc = ENOMEM;
        else
            w->rec = r, w->rec_cap = total;
    }
    if (rc == 0) {
        struct rec_head h = {
            .magic = REC_MAGIC, .len = (uint32_t)len, .lsn = w->lsn, .gen = w->gen, .seq = seq};
        h.crc = crc_of(&h, sizeof h, ops, len);
        memcpy(w->rec, &h, sizeof h);
        if (len > 0)
            memcpy(w->rec + REC_HEAD, ops, len);
        rc = full_pwrite(w->seg_fd[slot], w->rec, total, w->off);
    }
    if (rc != 0) {
        ck_fail(w, rc);
        return rc;
    }
    w->off += total;
    w->lsn++;
    w->since_bytes += total;
    w->stats.records++;
    w->stats.record_bytes += total;
    ck_maybe(w);
    return 0;
}

/* ---- Transactions over the memtables -------------------------------------------------------- */

/* With view_mu held. */
static void view_fill(struct store_wal *w, struct store_txn *txn, bool writer)
{
    txn->mem[0] = w->active;
    txn->mem[1] = w->frozen;
    mem_ref(txn->mem[0]);
    if (txn->mem[1] != NULL)
        mem_ref(txn->mem[1]);
    /* Freezes happen between write transactions, so no commit is half
     * in one memtable and half in the other. */
    txn->bound = atomic_load_explicit(&w->committed, memory_order_acquire) + (writer ? 1 : 0);
}

static void view_take(struct store_wal *w, struct store_txn *txn, bool writer)
{
    pthread_mutex_lock(&w->view_mu);
    view_fill(w, txn, writer);
    pthread_mutex_unlock(&w->view_mu);
}

static void view_release(struct store_txn *txn)
{
    mem_unref(txn->mem[0]);
    mem_unref(txn->mem[1]);
    txn->mem[0] = txn->mem[1] = NULL;
}

int wal_read_begin(struct store *store, struct store_txn *txn, MDB_txn *reuse)
{
    struct store_wal *w = store->wal;
    pthread_mutex_lock(&w->view_mu);
    view_fill(w, txn, false);
    int rc = reuse != NULL ? mdb_txn_renew(reuse)
                           : mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn->txn);
    pthread_mutex_unlock(&w->view_mu);
    if (rc == 0 && reuse != NULL)
        txn->txn = reuse;
    if (rc != 0) {
        txn->txn = NULL;
        view_release(txn);
    }
    return rc;
}

void wal_read_end(struct store_txn *txn) { view_release(txn); }

/* Whether the writer must make a checkpoint before a transaction: the
 * active memtable near its limits, or the log in its ring's last free
 * segment. */
static bool must_checkpoint(const struct store_wal *w)
{
    const struct store_mem *a = w->active;
    return mem_nodes(a) >= MEM_NODES_WAIT || mem_bytes(a) >= MEM_BYTES_WAIT ||
           (w->seg + 1 >= atomic_load(&w->durable_seg) + WAL_SEGMENTS && w->off > w->seg_bytes / 2);
}

int wal_write_begin(struct store *store, struct store_txn *txn)
{
    struct store_wal *w = store->wal;
    pthread_mutex_lock(&w->write_mu);
    int rc = atomic_load(&w->failed);
    if (rc == 0 && must_checkpoint(w)) {
        /* A full map at its limit cannot take the checkpoint: refused at
         * once, as LMDB's own full map would be, and not retried. */
        if (atomic_load(&w->grow_wanted) && store->map_size >= store->map_max)
            rc = MDB_MAP_FULL;
        else if ((rc = ck_now(store, false, 0)) == 0)
            w->stats.checkpoints_waited++;
    }
    if (rc == 0)
        rc = mdb_txn_renew(w->wread);
    if (rc != 0) {
        pthread_mutex_unlock(&w->write_mu);
        return rc;
    }
    txn->txn = w->wread;
    view_take(w, txn, true);
    return 0;
}

void wal_publish(struct store *store, uint64_t seq)
{
    struct store_wal *w = store->wal;
    assert(seq == atomic_load(&w->committed) + 1);
    /* Release: a reader that sees seq sees every version linked before. */
    atomic_store_explicit(&w->committed, seq, memory_order_release);
}

void wal_write_end(struct store *store, struct store_txn *txn)
{
    struct store_wal *w = store->wal;
    mdb_txn_reset(w->wread);
    view_release(txn);
    pthread_mutex_unlock(&w->write_mu);
}

int wal_sync(struct store *store)
{
    struct store_wal *w = store->wal;
    int failed = atomic_load(&w->failed);
    if (failed != 0)
        return failed;
    int rc = sync_fd(atomic_load(&w->cur_fd));
    if (rc != 0)
        ck_fail(w, rc);
    return rc;
}

/* ---- Recovery ------------------------------------------------------------------------------- */

/* The record at (seg, off) if it is the one expected (gen, lsn), checked
 * whole: its payload in w->rec. 0: found; 1: not there (the log's end);
 * negative: out of memory. */
static int rec_read(struct store_wal *w, uint64_t seg_bytes, uint64_t seg, uint64_t off,
                    uint64_t gen, uint64_t lsn, struct rec_head *h)
{
    if (off + REC_HEAD > seg_bytes)
        return 1;
    int fd = w->seg_fd[seg % WAL_SEGMENTS];
    if (full_pread(fd, h, sizeof *h, off) != 0)
        return 1;
    if (h->magic != REC_MAGIC || h->gen != gen || h->lsn != lsn ||
        h->len > seg_bytes - off - REC_HEAD)
        return 1;
    if (w->rec_cap < h->len + 1) {
        uint8_t *r = realloc(w->rec, h->len + 1);
        if (r == NULL)
            return SH_E_INTERNAL;
        w->rec = r, w->rec_cap = h->len + 1;
    }
    if (full_pread(fd, w->rec, h->len, off + REC_HEAD) != 0)
        return 1;
    struct rec_head c = *h;
    c.crc = 0;
    if (crc_of(&c, sizeof c, w->rec, h->len) != h->crc)
        return 1; /* torn: never acknowledged */
    return 0;
}

/* Recovery's redo: records applied in LMDB transactions of at most
 * REPLAY_OPS_MAX puts and deletes, each committed without a sync. The pin
 * on the checkpoint's snapshot stays all along, so that a power cut in
 * the middle finds that snapshot whole again. */
struct redo {
    struct store *store;
    const struct wal_ckpt *ck;
    MDB_txn *txn;        /* open, or NULL */
    uint32_t ops;        /* puts and deletes in txn */
    struct wal_job from; /* the position of txn's first record */
};

static int redo_ops(struct redo *r, const uint8_t *p, uint32_t len)
{
    struct store *store = r->store;
    int rc = r->txn == NULL ? mdb_txn_begin(store->env, NULL, 0, &r->txn) : 0;
    if (rc != 0) {
        r->txn = NULL;
        return rc;
    }
    uint32_t at = 0;
    while (rc == 0 && at < len) {
        if (len - at < WAL_OP_HEAD)
            return MDB_CORRUPTED;
        uint8_t kind = p[at], db = p[at + 1];
        uint32_t klen, vlen;
        memcpy(&klen, p + at + 4, 4);
        memcpy(&vlen, p + at + 8, 4);
        at += WAL_OP_HEAD;
        if (db >= STORE_DB_COUNT || klen == 0 || klen > len - at || vlen > len - at - klen ||
            (kind != WAL_OP_PUT && kind != WAL_OP_DEL))
            return MDB_CORRUPTED;
        MDB_val k = {.mv_size = klen, .mv_data = (void *)(p + at)};
        MDB_val v = {.mv_size = vlen, .mv_data = (void *)(p + at + klen)};
        at += klen + vlen;
        if (kind == WAL_OP_PUT)
            rc = mdb_put(r->txn, store->dbi[db], &k, &v, 0);
        else if ((rc = mdb_del(r->txn, store->dbi[db], &k, NULL)) == MDB_NOTFOUND)
            rc = 0;
        r->ops++;
    }
    return rc;
}

static int redo_commit(struct redo *r)
{
    if (r->txn == NULL)
        return 0;
    int rc = mdb_txn_commit(r->txn);
    r->txn = NULL;
    r->ops = 0;
    return rc;
}

/* A full map in the middle of the redo: what is committed made durable
 * by a checkpoint at the first record not in it (of the old generation:
 * the records that follow are still the old open's), then the map
 * doubled, the pin taken again on the new snapshot. */
static int redo_grow(struct redo *r)
{
    struct store *store = r->store;
    struct store_wal *w = store->wal;
    if (r->txn != NULL)
        mdb_txn_abort(r->txn);
    r->txn = NULL;
    r->ops = 0;
    if (store->map_size >= store->map_max)
        return MDB_MAP_FULL;
    struct wal_job at = r->from;
    at.mem = NULL;
    int rc = ck_run(store, &at, r->ck->gen, false, 0);
    if (rc != 0)
        return rc;
    mdb_txn_abort(w->pin); /* no transaction of this process while the map moves */
    w->pin = NULL;
    uint64_t next = store->map_size * 2 > store->map_max ? store->map_max : store->map_size * 2;
    rc = mdb_env_set_mapsize(store->env, (size_t)next);
    MDB_envinfo info;
    if (mdb_env_info(store->env, &info) == 0)
        store->map_size = info.me_mapsize;
    w->pin = pin_take(store, last_txnid(store));
    return rc != 0 ? rc : w->pin == NULL ? ENOMEM : 0;
}

/* The next record at *at, or at the start of the next segment (the
 * writer may have gone on there). 0: found (at moved to it); 1: the end. */
static int redo_next(struct store_wal *w, const struct wal_ckpt *ck, struct wal_job *at,
                     struct rec_head *h)
{
    int rc = rec_read(w, ck->segment_bytes, at->seg, at->off, ck->gen, at->lsn, h);
    if (rc == 1 && (rc = rec_read(w, ck->segment_bytes, at->seg + 1, 0, ck->gen, at->lsn, h)) == 0)
        at->seg++, at->off = 0;
    return rc;
}

/* Redoes the records after ck; leaves the position after the last. */
static int replay(struct store *store, struct store_wal *w, const struct wal_ckpt *ck,
                  struct wal_job *end, uint64_t *replayed, struct sh_error *err)
{
    struct redo r = {.store = store, .ck = ck};
    *end = (struct wal_job){.seg = ck->seg, .off = ck->off, .lsn = ck->lsn};
    w->pin = pin_take(store, ck->txnid);
    if (w->pin == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "store: no read transaction for the recovery");
    int rc = 0;
    for (;;) {
        struct rec_head h;
        struct wal_job at = *end;
        rc = redo_next(w, ck, &at, &h);
        if (rc == 0) {
            if (r.txn == NULL)
                r.from = at;
            rc = redo_ops(&r, w->rec, h.len);
            if (rc == 0) {
                *end = (struct wal_job){
                    .seg = at.seg, .off = at.off + REC_HEAD + h.len, .lsn = at.lsn + 1};
                if (r.ops >= REPLAY_OPS_MAX)
                    rc = redo_commit(&r);
            }
        } else if (rc == 1 && (rc = redo_commit(&r)) == 0) {
            break; /* the log's end, all of it in LMDB */
        }
        if (rc == MDB_MAP_FULL && (rc = redo_grow(&r)) == 0) {
            *end = r.from; /* again from the first record not committed */
            continue;
        }
        if (rc != 0)
            break;
    }
    *replayed = end->lsn - ck->lsn;
    if (rc != 0) {
        if (r.txn != NULL)
            mdb_txn_abort(r.txn);
        const char *why = rc > 0                                         ? strerror(rc)
                          : rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE ? mdb_strerror(rc)
                                                                         : "out of memory";
        return sh_error_set(err, rc == MDB_MAP_FULL ? SH_E_STORAGE_FULL : SH_E_INTERNAL,
                            "store: cannot redo write-ahead log record %llu: %s",
                            (unsigned long long)end->lsn, why);
    }
    return 0;
}

static void wal_free(struct store_wal *w)
{
    if (w == NULL)
        return;
    for (uint32_t i = 0; i < WAL_SEGMENTS; i++)
        if (w->seg_fd[i] >= 0)
            close(w->seg_fd[i]);
    if (w->ckpt_fd >= 0)
        close(w->ckpt_fd);
    if (w->pin != NULL)
        mdb_txn_abort(w->pin);
    if (w->wread != NULL)
        mdb_txn_abort(w->wread);
    mem_unref(w->active);
    mem_unref(w->frozen);
    free(w->rec);
    free(w->slot);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->view_mu);
    pthread_mutex_destroy(&w->write_mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static struct store_wal *wal_new(struct store *store, const char *dir)
{
    struct store_wal *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    w->store = store;
    w->ckpt_fd = -1;
    for (uint32_t i = 0; i < WAL_SEGMENTS; i++)
        w->seg_fd[i] = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->view_mu, NULL);
    pthread_mutex_init(&w->write_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the thread's deadlines */
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->slot = calloc(1, CK_STRIDE);
    w->active = mem_new();
    if (w->slot == NULL || w->active == NULL) {
        wal_free(w);
        return NULL;
    }
    return w;
}

static uint64_t seg_bytes_of(const struct store_config *c)
{
    uint64_t b = c->wal_segment_bytes != 0 ? c->wal_segment_bytes : WAL_SEGMENT_DEFAULT;
    b = b < WAL_SEGMENT_MIN ? WAL_SEGMENT_MIN : b > WAL_SEGMENT_MAX ? WAL_SEGMENT_MAX : b;
    return b / 4096 * 4096;
}

/* The files of the log and the checkpoint, opened (created). */
static int wal_files_open(struct store_wal *w, const char *dir)
{
    bool created = false;
    int rc = seg_open(w, &created);
    char path[PATH_MAX + 16];
    path_of(path, sizeof path, dir, WAL_CKPT_NAME);
    if (rc == 0) {
        struct stat cst;
        created = created || stat(path, &cst) != 0;
        w->ckpt_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        rc = w->ckpt_fd < 0 ? errno : 0;
    }
    if (rc == 0 && created)
        rc = sync_dir(dir);
    return rc;
}

/* The page size, and LMDB where the checkpoint says it is. */
static int wal_check_env(struct store *store, struct store_wal *w, const struct wal_ckpt *ck,
                         bool recover, bool test_skip_restore, struct sh_error *err)
{
    MDB_stat st;
    MDB_envinfo info;
    int rc = mdb_env_get_fd(store->env, &w->data_fd);
    if (rc == 0)
        rc = mdb_env_stat(store->env, &st);
    if (rc == 0)
        rc = mdb_env_info(store->env, &info);
    if (rc != 0)
        return sh_error_set(err, SH_E_INTERNAL, "store: %s", mdb_strerror(rc));
    w->psize = st.ms_psize;
    if (w->psize > CK_PSIZE_MAX || (recover && ck->psize != w->psize))
        return sh_error_set(err, SH_E_INTERNAL, "store: page size %u is not the checkpoint's",
                            w->psize);
    if (recover && !test_skip_restore && info.me_last_txnid != ck->txnid)
        return sh_error_set(err, SH_E_INTERNAL,
                            "store: LMDB opened at transaction %llu, not at the checkpoint's "
                            "%llu",
                            (unsigned long long)info.me_last_txnid, (unsigned long long)ck->txnid);
    return 0;
}

int wal_open(struct store *store, const struct store_config *config, const struct wal_ckpt *ck,
             bool test_skip_restore, struct sh_error *err)
{
    assert(!config->read_only);
    bool recover = ck->found && !ck->clean;
    if (!config->durable && !ck->found)
        return 0; /* a store without a log stays one */
    struct store_wal *w = wal_new(store, config->dir);
    if (w == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    int rc = wal_check_env(store, w, ck, recover, test_skip_restore, err);
    if (rc == 0 && (rc = wal_files_open(w, config->dir)) != 0)
        rc = sh_error_set(err, SH_E_INTERNAL, "store: cannot open the write-ahead log in %s: %s",
                          config->dir, strerror(rc));
    w->seq = ck->found ? ck->seq : 0;
    w->seg_bytes = seg_bytes_of(config);
    store->wal = w; /* ck_run's */
    struct wal_job end = {.seg = 0, .off = 0, .lsn = 1};
    uint64_t replayed = 0;
    if (rc == 0 && recover)
        rc = replay(store, w, ck, &end, &replayed, err);
    if (rc != 0) {
        store->wal = NULL;
        wal_free(w);
        return err->code != 0 ? err->code : SH_E_INTERNAL;
    }
    if (!recover && ck->found)
        end = (struct wal_job){.seg = ck->seg, .off = ck->off, .lsn = ck->lsn};
    if (ck->found && ck->segment_bytes != w->seg_bytes)
        end.seg = 0,
        end.off = 0; /* another geometry: start over (the new generation ignores the old) */
    w->rec_max = w->seg_bytes / 4;
    w->seg = end.seg, w->off = end.off, w->lsn = end.lsn;
    w->gen = ck->found ? ck->gen + 1 : 1;
    w->ckpt_bytes = config->wal_checkpoint_bytes != 0 ? config->wal_checkpoint_bytes
                                                      : WAL_CHECKPOINT_BYTES_DEFAULT;
    w->ckpt_ms =
        config->wal_checkpoint_ms != 0 ? config->wal_checkpoint_ms : WAL_CHECKPOINT_MS_DEFAULT;
    atomic_store(&w->cur_fd, w->seg_fd[w->seg % WAL_SEGMENTS]);
    store->wal_record_max = w->rec_max - REC_HEAD;
    /* Replayed transactions, and the databases' creation, durable with
     * the new checkpoint (ck_write syncs data.mdb first). */
    rc = ck_now(store, !config->durable, 0);
    if (rc == 0 && config->durable &&
        (rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &w->wread)) == 0) {
        mdb_txn_reset(w->wread);
        rc = pthread_create(&w->thread, NULL, ck_thread, w);
        w->thread_on = rc == 0;
    }
    if (rc != 0 || !config->durable) {
        store->wal = NULL;
        store->wal_record_max = 0;
        wal_free(w);
    }
    if (rc != 0)
        return sh_error_set(err, SH_E_INTERNAL, "store: cannot write the checkpoint in %s: %s",
                            config->dir, rc > 0 ? strerror(rc) : mdb_strerror(rc));
    store->wal_replayed = replayed;
    if (store->wal != NULL)
        store->wal->stats.replayed = replayed;
    return 0;
}

void store_wal_stats(struct store *store, struct store_wal_stats *out)
{
    memset(out, 0, sizeof *out);
    struct store_wal *w = store->wal;
    if (w == NULL) {
        out->replayed = store->wal_replayed;
        return;
    }
    pthread_mutex_lock(&w->write_mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->write_mu);
    pthread_mutex_lock(&w->mu);
    out->checkpoints_async = w->checkpoints;
    pthread_mutex_unlock(&w->mu);
}

/* ---- Growth and close ----------------------------------------------------------------------- */

bool wal_grow_wanted(struct store *store)
{
    return store->wal != NULL && atomic_load(&store->wal->grow_wanted);
}

int wal_grow_begin(struct store *store)
{
    struct store_wal *w = store->wal;
    pthread_mutex_lock(&w->write_mu);
    ck_wait_idle(w);
    /* With no checkpoint running, LMDB's last snapshot is the pinned one
     * (a checkpoint that met a full map committed nothing), and nothing
     * writes LMDB until wal_grow_end: the pin may go while the map moves. */
    assert(w->pin == NULL || mdb_txn_id(w->pin) == last_txnid(store));
    if (w->pin != NULL)
        mdb_txn_abort(w->pin);
    w->pin = NULL;
    return 0;
}

int wal_grow_end(struct store *store)
{
    struct store_wal *w = store->wal;
    assert(w->pin == NULL);
    w->pin = pin_take(store, last_txnid(store));
    int rc = w->pin == NULL ? ENOMEM : 0;
    if (rc != 0)
        ck_fail(w, rc);
    atomic_store(&w->grow_wanted, false);
    pthread_mutex_unlock(&w->write_mu);
    return rc;
}

void wal_close(struct store *store, bool clean)
{
    struct store_wal *w = store->wal;
    if (w == NULL)
        return;
    if (w->thread_on) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        w->thread_on = false;
    }
    if (clean && atomic_load(&w->failed) == 0)
        (void)ck_now(store, true, 0); /* failing: the next open replays */
    store->wal = NULL;
    wal_free(w);
}

int wal_discard(const char *dir)
{
    char path[PATH_MAX + 40];
    path_of(path, sizeof path, dir, WAL_CKPT_NAME);
    int rc = unlink(path) == 0 || errno == ENOENT ? 0 : errno;
    for (uint32_t i = 0; rc == 0 && i < WAL_SEGMENTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "wal.%u", i);
        path_of(path, sizeof path, dir, name);
        rc = unlink(path) == 0 || errno == ENOENT ? 0 : errno;
    }
    return rc == 0 ? sync_dir(dir) : rc;
}
