/*
 * The power-cut test's workload: the real ledger and its group commit,
 * in process, on a durable store whose writes the recorder logs.
 *
 * It drives ledger_batch_begin/apply/commit_nosync and ledger_sync in the
 * order the server's pipeline uses them (engine/durable/durable.c): a writer
 * thread applies and commits batch N+1 while a sync thread runs the
 * ledger_sync that makes batch N durable; the writer's commit waits for a
 * running sync to end, a sync starts only after a commit has returned, and
 * a batch's replies are handed out (recorded as acknowledged) only when a
 * sync that started after its commit has returned.
 *
 * The requests: settles of random valid claims of four hospitals over the
 * persons of tests/cases/02 (tests/fault/crash_req.c builds them),
 * reversals by settlement id and by request id, cancels of landed and of
 * never-sent settles, and retries with the same request id (in the same
 * batch and in later ones), in batches of 1 to PC_BATCH_MAX. The map starts
 * at its minimum so that it grows during the run, and the requests and
 * journal_day indexes are brought up to date every few entries.
 */
#ifndef PC_WORK_H
#define PC_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "store.h"

#define PC_BATCH_MAX 8
#define PC_MAP_INITIAL (256u << 10)
#define PC_INDEX_LAG 5
/* The write-ahead log made small, so that a run wraps its ring of
 * segments, checkpoints often and logs some transactions too large for a
 * record (a quarter of a segment): every path of store_wal.c is taken. */
#define PC_WAL_SEGMENT (32u << 10)
#define PC_WAL_CHECKPOINT (8u << 10)
#define PC_WAL_CHECKPOINT_MS 20u
/* --mode serial checkpoints only when it must (a full ring, a large
 * commit, map growth): the log then holds many records at a crash. */
#define PC_WAL_CHECKPOINT_NEVER (1ull << 40)
#define PC_NOW_MS 1796630400000LL /* 2026-12-07 16:00 +08:00: every claim date of 2026 is past */

enum pc_mode {
    PC_MODE_PIPELINED = 0, /* the server's group commit (engine/durable/durable.c) */
    PC_MODE_SERIAL,        /* ledger_batch_commit: commit and sync in line */
    PC_MODE_ACK_EARLY,     /* broken on purpose: replies handed out before the sync */
    PC_MODE_SERVER,        /* the server itself, in process, over TLS (pc_server.c) */
};

struct pc_request {
    struct sh_caller caller;
    struct Sanhe__Request *request; /* owned */
    uint8_t *reply;                 /* the reply given (malloc'd) */
    size_t reply_len;
    bool ok;                /* the reply is not an error */
    uint32_t batch;         /* the batch it was applied in (the load: 0) */
    bool acked;             /* handed out */
    size_t ack_event;       /* the recorder's event index of its acknowledgement */
    int op;                 /* Sanhe__Request__OpCase */
    uint64_t settlement_id; /* settle: what it made; reverse/cancel: what it undid (0: none) */
    bool undid;             /* reverse or cancel that reversed a settlement */
    bool retry;             /* the same request id as an earlier one */
};

struct pc_work {
    char dir[256];
    struct ledger_config cfg;
    enum pc_mode mode;
    struct pc_request *reqs;
    size_t n, cap;
    uint32_t batches;
    size_t *batch_first;         /* batch b's requests: [batch_first[b], batch_first[b + 1]) */
    size_t load_ack_event;       /* the reference data's acknowledgement */
    struct ledger_info info;     /* at the end */
    struct store_wal_stats wal;  /* what the write-ahead log did during the run */
    uint64_t retries_same_bytes; /* retries during the run answered byte for byte */
    /* A settle never sent during the run: recovery's check that the store
     * still takes a write (valid for the run's reference data). */
    struct Sanhe__Request *fresh;
    struct sh_caller fresh_caller;
    /* The design broken on purpose (--no-meta-restore): recovery leaves
     * data.mdb's meta pages as the crash left them. */
    bool skip_restore;
};

/* Runs batches of the workload in mode on a new durable store in dir
 * (which must exist and be empty), recording from before the store is
 * created. Returns 0, or -1 with the reason printed. */
int pc_work_run(struct pc_work *w, const char *dir, enum pc_mode mode, uint32_t batches,
                uint64_t seed);
void pc_work_free(struct pc_work *w);

/* The same with the requests sent over TLS to the real server
 * (net_server_create, engine/durable/durable.c) running in this process, on a
 * store made by `sanhe-engine load` (tests/net's fixture, cases/01):
 * rounds of pipelined requests on two counters' connections; a reply is
 * acknowledged when the client has read it. */
int pc_server_run(struct pc_work *w, uint32_t rounds, uint64_t seed);

/* For pc_server.c: the shared steps of both runs. */
struct pc_request *pc_req_add(struct pc_work *w, uint32_t batch);
int pc_req_answered(struct pc_work *w, struct pc_request *r, const uint8_t *reply, size_t len);
struct Sanhe__Request *pc_req_copy(const struct Sanhe__Request *req);

/* The request's Response, unpacked (NULL when the bytes do not decode). */
struct Sanhe__Response *pc_unpack(const uint8_t *data, size_t len);

#endif
