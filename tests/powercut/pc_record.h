/*
 * The power-cut test's recorder: every write and sync the process makes to
 * the regular files of one directory (the store's data file; LMDB's lock
 * file is left out: its contents do not survive a reboot in any case),
 * in the order the kernel saw them, with the bytes written.
 *
 * It interposes the C library's write, pwrite, writev, pwritev, fsync,
 * fdatasync, msync, ftruncate and fallocate by defining them in the test
 * program: the program's definitions come first in the dynamic symbol
 * lookup, so liblmdb's calls reach them too (-Wl,--wrap would only catch
 * calls linked into the program itself, and LMDB is a shared library).
 * Each wrapper calls the real function (dlsym RTLD_NEXT).
 *
 * Order. A write is made and recorded under one lock, and a sync records
 * its start under the same lock before it calls fdatasync and its end
 * after: so a write recorded before a sync's start had returned before
 * that sync began, and is on disk once the sync has ended. A write through
 * a descriptor opened with O_DSYNC is on disk once it has returned.
 */
#ifndef PC_RECORD_H
#define PC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_FILES_MAX 12 /* data.mdb, wal.ckpt, wal.0-3, sanhe.lock, ... */
#define PC_EVENTS_MAX (1u << 20)
#define PC_ARENA_MAX (1ull << 30) /* bytes of all writes together */

enum pc_kind {
    PC_WRITE = 0,
    PC_SYNC_BEGIN, /* fsync or fdatasync called */
    PC_SYNC_END,   /* ... and returned 0 */
    PC_ACK,        /* the workload handed out replies (see pc_record_ack) */
};

struct pc_event {
    uint8_t kind;
    uint8_t file;      /* index into pc_log.files (writes and syncs) */
    bool self_durable; /* a write through an O_DSYNC descriptor */
    uint32_t id;       /* a sync's number (begin and end alike), or the ack's */
    uint64_t off;      /* write: file offset */
    uint64_t len;      /* write: bytes */
    uint64_t data;     /* write: offset of its bytes in pc_log.arena */
};

struct pc_log {
    struct pc_event *events;
    size_t n;
    uint8_t *arena;
    uint64_t arena_len;
    char files[PC_FILES_MAX][64]; /* names inside the directory */
    int file_count;
    /* What each file held when the recording started (on disk then: the
     * caller starts on a store whose writes were all synced). */
    uint8_t *base[PC_FILES_MAX];
    uint64_t base_len[PC_FILES_MAX];
    /* Calls the model does not cover, on a recorded file (the run fails
     * when any is nonzero): msync (any, while recording), ftruncate,
     * fallocate, a failed sync, a short write. */
    uint32_t unmodelled;
    char unmodelled_what[128];
    /* Counts, for the summary. */
    uint64_t writes, write_bytes, syncs, vectored;
};

/* Starts recording the files of dir (an existing directory). The files
 * already there (but lock.mdb) are read as the log's base: the state every
 * crash starts from. */
int pc_record_start(const char *dir);
/* Stops; the log stays readable until pc_record_free. */
void pc_record_stop(void);
const struct pc_log *pc_record_log(void);
void pc_record_free(void);

/* Records an acknowledgement (id: the workload's own number); returns its
 * event index. Replies acknowledged there must survive any later crash. */
size_t pc_record_ack(uint32_t id);

#endif
