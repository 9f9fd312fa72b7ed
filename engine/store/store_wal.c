/*
 * The write-ahead log and its checkpoints (store_wal.h, docs/storage.md).
 *
 * Threads. The writer thread appends records, takes pins and makes the
 * checkpoints that must be synchronous (a transaction too large for a
 * record, a ring with no free segment, map growth, close). store_sync's
 * thread only fdatasyncs the current segment (cur_fd). The checkpoint
 * thread syncs data.mdb and writes a checkpoint slot for the job the
 * writer handed it, then swaps the pins. mu guards busy, stop, the job and
 * pin; the writer's position (seg, off, lsn) is its own.
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

#define REC_MAGIC 0x4c574853u /* "SHWL" */

/* How often, between checkpoints, the checkpoint thread starts the
 * writeback of data.mdb's dirty pages (ck_writeback_start), while there
 * are commits (store_config.wal_writeback_ms, by default); and how often
 * it looks when there were none. */
#define WAL_WRITEBACK_MS_DEFAULT 25
#define WAL_WRITEBACK_IDLE_MS 250
#define CK_MAGIC 0x4b434853u /* "SHCK" */
#define CK_VERSION 1u
#define CK_HEAD_BYTES 4096u /* the slot's first page: the header */
#define CK_PSIZE_MAX 65536u /* LMDB's page is the OS page: at most 64 KiB */
#define CK_STRIDE (CK_HEAD_BYTES + 2u * CK_PSIZE_MAX)

/* A record's header; the payload (the ops) follows. */
struct rec_head {
    uint32_t magic;
    uint32_t len;   /* payload bytes */
    uint64_t lsn;   /* 1, 2, 3, ... over the store's life */
    uint64_t gen;   /* the generation: one per read-write open */
    uint64_t txnid; /* the LMDB transaction it redoes */
    uint32_t crc;   /* crc32 of the header (crc = 0) and the payload */
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

struct wal_job {
    uint64_t txnid, seg, off, lsn, seq;
    MDB_txn *pin;
};

struct store_wal {
    char dir[PATH_MAX];
    int data_fd; /* data.mdb: LMDB's descriptor, not ours to close */
    int ckpt_fd;
    int seg_fd[WAL_SEGMENTS];
    uint64_t alloc[WAL_SEGMENTS]; /* bytes preallocated in each segment file */
    uint64_t seg_bytes, rec_max;
    uint32_t psize;
    /* The writer's. */
    uint64_t seg, off, lsn, gen, seq;
    uint64_t since_bytes;
    int64_t since_ms;
    uint64_t ckpt_bytes;
    uint32_t ckpt_ms;
    int32_t writeback_ms; /* negative: no writeback between checkpoints */
    uint8_t *rec;
    size_t rec_cap;
    uint8_t *slot_w; /* the writer's slot buffer (synchronous checkpoints) */
    bool ring_full;  /* wal_reserve found no free segment for the commit to come */
    _Atomic int cur_fd;
    /* The checkpoint thread's. */
    pthread_t thread;
    bool thread_on;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool busy, stop;
    _Atomic uint64_t unflushed; /* commits since the last writeback start */
    uint64_t writebacks;        /* under mu: writeback starts */
    struct wal_job job;
    uint8_t *slot_t; /* the job's slot, built by the writer */
    MDB_txn *pin;    /* the pin of the checkpoint on disk */
    _Atomic uint64_t durable_seg;
    _Atomic int failed;           /* errno of a failed log or checkpoint write */
    uint64_t checkpoints;         /* under mu: the thread's */
    struct store_wal_stats stats; /* the writer's (but checkpoints_async, writebacks) */
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
            return 0; /* its page cache holds every commit: LMDB reads them */
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
 * txnid: the meta pages as data.mdb holds them now (right after txnid's
 * commit, on the writer thread). */
static int ck_build(struct store_wal *w, uint8_t *buf, uint64_t seq, uint64_t txnid, uint64_t seg,
                    uint64_t off, uint64_t lsn, bool clean)
{
    int rc = full_pread(w->data_fd, buf + CK_HEAD_BYTES, 2u * w->psize, 0);
    if (rc != 0)
        return rc;
    struct ck_head h = {.magic = CK_MAGIC,
                        .version = CK_VERSION,
                        .seq = seq,
                        .gen = w->gen,
                        .txnid = txnid,
                        .seg = seg,
                        .off = off,
                        .lsn = lsn,
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

/* ---- The checkpoint thread ------------------------------------------------------------------ */

/* Starts the writeback of every dirty page of data.mdb and waits for
 * none of it. Why: the pinned snapshot keeps LMDB from reusing a page
 * between checkpoints, so every commit's pages are new ones; left to the
 * checkpoint's fdatasync, a second's worth of them would go to the disk
 * at once, a burst that the log's own syncs, on every reply's path, queue
 * behind. Started every writeback_ms, they go out about as fast as
 * commits make them, and the checkpoint finds little left to write. It
 * makes nothing durable: recovery never counts on it. */
static void ck_writeback_start(struct store_wal *w)
{
    /* A failure costs nothing but the smoothing: the checkpoint's
     * fdatasync writes whatever is left, and reports its own errors. */
    (void)sync_file_range(w->data_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

static struct timespec deadline_in_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (ms % 1000) * 1000000L;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

/* Under mu: waits for a job or the stop, starting the writeback of the
 * commits made meanwhile every writeback_ms (unless it is negative). */
static void ck_wait_job(struct store_wal *w)
{
    while (!w->stop && !w->busy) {
        if (w->writeback_ms < 0) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        bool commits = atomic_load(&w->unflushed) > 0;
        struct timespec until = deadline_in_ms(commits ? w->writeback_ms : WAL_WRITEBACK_IDLE_MS);
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT || w->stop || w->busy ||
            atomic_exchange(&w->unflushed, 0) == 0)
            continue;
        w->writebacks++;
        pthread_mutex_unlock(&w->mu);
        ck_writeback_start(w);
        pthread_mutex_lock(&w->mu);
    }
}

static void *ck_thread(void *arg)
{
    struct store_wal *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        ck_wait_job(w);
        if (!w->busy)
            break;
        struct wal_job job = w->job;
        pthread_mutex_unlock(&w->mu);
        int rc = ck_write(w, w->slot_t, job.seq);
        MDB_txn *old = NULL;
        pthread_mutex_lock(&w->mu);
        if (rc == 0) {
            old = w->pin;
            w->pin = job.pin;
            atomic_store(&w->durable_seg, job.seg);
            w->checkpoints++;
        } else {
            old = job.pin; /* the previous checkpoint stays the one on disk */
            ck_fail(w, rc);
        }
        w->busy = false;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        if (old != NULL)
            mdb_txn_abort(old); /* a read transaction: any thread may end it (MDB_NOTLS) */
        pthread_mutex_lock(&w->mu);
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

/* A checkpoint of snapshot txnid (the last commit) at the writer's
 * position, made on the writer thread. */
static int ck_now(struct store *store, uint64_t txnid, bool clean)
{
    struct store_wal *w = store->wal;
    ck_wait_idle(w);
    int failed = atomic_load(&w->failed);
    if (failed != 0)
        return failed; /* a slot written now could overwrite the one on disk */
    uint64_t seq = ++w->seq;
    int rc = ck_build(w, w->slot_w, seq, txnid, w->seg, w->off, w->lsn, clean);
    MDB_txn *pin = rc == 0 && !clean ? pin_take(store, txnid) : NULL;
    if (rc == 0 && !clean && pin == NULL)
        rc = ENOMEM;
    if (rc == 0)
        rc = ck_write(w, w->slot_w, seq);
    if (rc != 0) {
        if (pin != NULL)
            mdb_txn_abort(pin);
        ck_fail(w, rc);
        return rc;
    }
    MDB_txn *old = w->pin;
    w->pin = pin;
    atomic_store(&w->durable_seg, w->seg);
    w->stats.checkpoints_sync++;
    w->since_bytes = 0;
    w->since_ms = now_ms();
    if (old != NULL)
        mdb_txn_abort(old);
    return 0;
}

/* Hands a checkpoint of txnid to the thread when one is due and none runs. */
static void ck_maybe(struct store *store, uint64_t txnid)
{
    struct store_wal *w = store->wal;
    if (w->since_bytes < w->ckpt_bytes && now_ms() - w->since_ms < (int64_t)w->ckpt_ms)
        return;
    pthread_mutex_lock(&w->mu);
    bool busy = w->busy;
    pthread_mutex_unlock(&w->mu);
    if (busy)
        return;
    uint64_t seq = w->seq + 1;
    /* The job's buffer is the thread's only while busy: free now. */
    int rc = ck_build(w, w->slot_t, seq, txnid, w->seg, w->off, w->lsn, false);
    MDB_txn *pin = rc == 0 ? pin_take(store, txnid) : NULL;
    if (pin == NULL) {
        ck_fail(w, rc != 0 ? rc : ENOMEM);
        return;
    }
    w->seq = seq;
    w->since_bytes = 0;
    w->since_ms = now_ms();
    pthread_mutex_lock(&w->mu);
    w->job = (struct wal_job){
        .txnid = txnid, .seg = w->seg, .off = w->off, .lsn = w->lsn, .seq = seq, .pin = pin};
    w->busy = true;
    pthread_cond_broadcast(&w->cv);
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

int wal_reserve(struct store *store, size_t len, bool overflow)
{
    struct store_wal *w = store->wal;
    int failed = atomic_load(&w->failed);
    if (failed != 0)
        return failed;
    uint64_t total = REC_HEAD + len;
    if (overflow || total > w->rec_max)
        return 0;
    return place(w, total, &w->ring_full);
}

int wal_commit(struct store *store, uint64_t txnid, const uint8_t *ops, size_t len, bool overflow)
{
    struct store_wal *w = store->wal;
    assert(w != NULL);
    int failed = atomic_load(&w->failed);
    if (failed != 0)
        return failed;
    uint64_t total = REC_HEAD + len;
    if (overflow || total > w->rec_max) {
        w->stats.large_commits++;
        return ck_now(store, txnid, false); /* LMDB durable now: no record needed */
    }
    /* wal_reserve made the room (no new space now), or found the ring
     * full: a checkpoint that ended since must not make it need space. */
    bool ring_full = w->ring_full;
    int rc = ring_full ? 0 : place(w, total, &ring_full);
    w->ring_full = false;
    if (rc == 0 && ring_full) {
        w->stats.ring_full++;
        return ck_now(store, txnid, false); /* this checkpoint frees a segment */
    }
    uint32_t slot = (uint32_t)(w->seg % WAL_SEGMENTS);
    if (rc == 0 && w->rec_cap < total) {
        uint8_t *r = realloc(w->rec, total);
        if (r == NULL)
            rc = ENOMEM;
        else
            w->rec = r, w->rec_cap = total;
    }
    if (rc == 0) {
        struct rec_head h = {
            .magic = REC_MAGIC, .len = (uint32_t)len, .lsn = w->lsn, .gen = w->gen, .txnid = txnid};
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
    atomic_fetch_add(&w->unflushed, 1);
    w->since_bytes += total;
    w->stats.records++;
    w->stats.record_bytes += total;
    ck_maybe(store, txnid);
    return 0;
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
 * whole: its payload in *buf. 0: found; 1: not there (the log's end);
 * negative: a record of this generation that cannot be (corrupt). */
static int rec_read(struct store_wal *w, uint64_t seg_bytes, uint64_t seg, uint64_t off,
                    uint64_t gen, uint64_t lsn, uint64_t after_txnid, struct rec_head *h)
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
    return h->txnid > after_txnid ? 0 : SH_E_INTERNAL;
}

static int rec_apply_once(struct store *store, const uint8_t *p, uint32_t len)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    uint32_t at = 0;
    while (rc == 0 && at < len) {
        if (len - at < WAL_OP_HEAD) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint8_t kind = p[at], db = p[at + 1];
        uint32_t klen, vlen;
        memcpy(&klen, p + at + 4, 4);
        memcpy(&vlen, p + at + 8, 4);
        at += WAL_OP_HEAD;
        if (db >= STORE_DB_COUNT || klen == 0 || klen > len - at || vlen > len - at - klen ||
            (kind != WAL_OP_PUT && kind != WAL_OP_DEL)) {
            rc = MDB_CORRUPTED;
            break;
        }
        MDB_val k = {.mv_size = klen, .mv_data = (void *)(p + at)};
        MDB_val v = {.mv_size = vlen, .mv_data = (void *)(p + at + klen)};
        at += klen + vlen;
        if (kind == WAL_OP_PUT)
            rc = mdb_put(txn, store->dbi[db], &k, &v, 0);
        else if ((rc = mdb_del(txn, store->dbi[db], &k, NULL)) == MDB_NOTFOUND)
            rc = 0;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

/* One record redone in one LMDB transaction; a full map grows. */
static int rec_apply(struct store *store, const uint8_t *p, uint32_t len)
{
    for (;;) {
        int rc = rec_apply_once(store, p, len);
        if (rc != MDB_MAP_FULL || store->map_size >= store->map_max)
            return rc;
        uint64_t next = store->map_size * 2 > store->map_max ? store->map_max : store->map_size * 2;
        rc = mdb_env_set_mapsize(store->env, (size_t)next);
        if (rc != 0)
            return rc;
        MDB_envinfo info;
        if (mdb_env_info(store->env, &info) == 0)
            store->map_size = info.me_mapsize;
    }
}

/* Redoes the records after ck; leaves the position after the last. */
static int replay(struct store *store, struct store_wal *w, const struct wal_ckpt *ck,
                  uint64_t *seg, uint64_t *off, uint64_t *lsn, uint64_t *replayed,
                  struct sh_error *err)
{
    *seg = ck->seg, *off = ck->off, *lsn = ck->lsn;
    for (;;) {
        struct rec_head h;
        int rc = rec_read(w, ck->segment_bytes, *seg, *off, ck->gen, *lsn, ck->txnid, &h);
        if (rc == 1) { /* the writer may have gone on in the next segment */
            rc = rec_read(w, ck->segment_bytes, *seg + 1, 0, ck->gen, *lsn, ck->txnid, &h);
            if (rc == 0)
                (*seg)++, *off = 0;
        }
        if (rc == 1)
            return 0;
        if (rc < 0)
            return sh_error_set(err, SH_E_INTERNAL,
                                "store: write-ahead log record %llu is not after the "
                                "checkpoint's transaction %llu",
                                (unsigned long long)*lsn, (unsigned long long)ck->txnid);
        rc = rec_apply(store, w->rec, h.len);
        if (rc != 0)
            return sh_error_set(err, store_error_map(rc),
                                "store: cannot redo write-ahead log record %llu: %s",
                                (unsigned long long)*lsn, mdb_strerror(rc));
        *off += REC_HEAD + h.len;
        (*lsn)++;
        (*replayed)++;
    }
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
    free(w->rec);
    free(w->slot_w);
    free(w->slot_t);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static struct store_wal *wal_new(const char *dir)
{
    struct store_wal *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    w->ckpt_fd = -1;
    for (uint32_t i = 0; i < WAL_SEGMENTS; i++)
        w->seg_fd[i] = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* ck_wait_job's deadlines */
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->slot_w = calloc(1, CK_STRIDE);
    w->slot_t = calloc(1, CK_STRIDE);
    if (w->slot_w == NULL || w->slot_t == NULL) {
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

int wal_open(struct store *store, const struct store_config *config, const struct wal_ckpt *ck,
             bool test_skip_restore, struct sh_error *err)
{
    assert(!config->read_only);
    bool recover = ck->found && !ck->clean;
    if (!config->durable && !ck->found)
        return 0; /* a store without a log stays one */
    struct store_wal *w = wal_new(config->dir);
    if (w == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    MDB_stat st;
    MDB_envinfo info;
    int rc = mdb_env_get_fd(store->env, &w->data_fd);
    if (rc == 0)
        rc = mdb_env_stat(store->env, &st);
    if (rc == 0)
        rc = mdb_env_info(store->env, &info);
    if (rc != 0) {
        wal_free(w);
        return sh_error_set(err, SH_E_INTERNAL, "store: %s", mdb_strerror(rc));
    }
    w->psize = st.ms_psize;
    if (w->psize > CK_PSIZE_MAX || (recover && ck->psize != w->psize)) {
        uint32_t psize = w->psize;
        wal_free(w);
        return sh_error_set(err, SH_E_INTERNAL, "store: page size %u is not the checkpoint's",
                            psize);
    }
    if (recover && !test_skip_restore && info.me_last_txnid != ck->txnid) {
        wal_free(w);
        return sh_error_set(err, SH_E_INTERNAL,
                            "store: LMDB opened at transaction %llu, not at the checkpoint's "
                            "%llu",
                            (unsigned long long)info.me_last_txnid, (unsigned long long)ck->txnid);
    }
    bool created = false;
    rc = seg_open(w, &created);
    char path[PATH_MAX + 16];
    path_of(path, sizeof path, config->dir, WAL_CKPT_NAME);
    if (rc == 0) {
        struct stat cst;
        created = created || stat(path, &cst) != 0;
        w->ckpt_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        rc = w->ckpt_fd < 0 ? errno : 0;
    }
    if (rc == 0 && created)
        rc = sync_dir(config->dir);
    if (rc != 0) {
        wal_free(w);
        return sh_error_set(err, SH_E_INTERNAL, "store: cannot open the write-ahead log in %s: %s",
                            config->dir, strerror(rc));
    }
    uint64_t seg = 0, off = 0, lsn = 1, replayed = 0;
    if (recover && replay(store, w, ck, &seg, &off, &lsn, &replayed, err) != 0) {
        wal_free(w);
        return err->code != 0 ? err->code : SH_E_INTERNAL;
    }
    if (!recover && ck->found)
        seg = ck->seg, off = ck->off, lsn = ck->lsn;
    w->seg_bytes = seg_bytes_of(config);
    if (ck->found && ck->segment_bytes != w->seg_bytes)
        seg = 0, off = 0; /* another geometry: start over (the new generation ignores the old) */
    w->rec_max = w->seg_bytes / 4;
    w->seg = seg, w->off = off, w->lsn = lsn;
    w->gen = ck->found ? ck->gen + 1 : 1;
    w->seq = ck->found ? ck->seq : 0;
    w->ckpt_bytes = config->wal_checkpoint_bytes != 0 ? config->wal_checkpoint_bytes
                                                      : WAL_CHECKPOINT_BYTES_DEFAULT;
    w->ckpt_ms =
        config->wal_checkpoint_ms != 0 ? config->wal_checkpoint_ms : WAL_CHECKPOINT_MS_DEFAULT;
    w->writeback_ms =
        config->wal_writeback_ms != 0 ? config->wal_writeback_ms : WAL_WRITEBACK_MS_DEFAULT;
    atomic_store(&w->cur_fd, w->seg_fd[w->seg % WAL_SEGMENTS]);
    store->wal = w;
    store->wal_record_max = w->rec_max - REC_HEAD;
    if (mdb_env_info(store->env, &info) != 0)
        info.me_last_txnid = 0;
    /* Replayed transactions, and the databases' creation, durable with
     * the new checkpoint (ck_write syncs data.mdb first). */
    rc = ck_now(store, info.me_last_txnid, !config->durable);
    if (rc == 0 && config->durable) {
        rc = pthread_create(&w->thread, NULL, ck_thread, w);
        w->thread_on = rc == 0;
    }
    if (rc != 0 || !config->durable) {
        if (w->pin != NULL)
            mdb_txn_abort(w->pin);
        store->wal = NULL;
        store->wal_record_max = 0;
        wal_free(w);
    }
    if (rc != 0)
        return sh_error_set(err, SH_E_INTERNAL, "store: cannot write the checkpoint in %s: %s",
                            config->dir, strerror(rc));
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
    *out = w->stats;
    pthread_mutex_lock(&w->mu);
    out->checkpoints_async = w->checkpoints;
    out->writebacks = w->writebacks;
    pthread_mutex_unlock(&w->mu);
}

/* ---- Growth and close ----------------------------------------------------------------------- */

static uint64_t last_txnid(struct store *store)
{
    MDB_envinfo info;
    return mdb_env_info(store->env, &info) == 0 ? info.me_last_txnid : 0;
}

int wal_grow_begin(struct store *store)
{
    struct store_wal *w = store->wal;
    int rc = ck_now(store, last_txnid(store), false);
    if (rc != 0)
        return rc;
    /* No write until wal_grow_end: nothing can take the snapshot's pages. */
    mdb_txn_abort(w->pin);
    w->pin = NULL;
    return 0;
}

int wal_grow_end(struct store *store)
{
    struct store_wal *w = store->wal;
    assert(w->pin == NULL);
    w->pin = pin_take(store, last_txnid(store));
    if (w->pin == NULL) {
        ck_fail(w, ENOMEM);
        return ENOMEM;
    }
    return 0;
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
        (void)ck_now(store, last_txnid(store), true); /* failing: the next open replays */
    if (w->pin != NULL)
        mdb_txn_abort(w->pin);
    w->pin = NULL;
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
