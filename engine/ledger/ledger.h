/*
 * The ledger: every operation of docs/rules.md over the LMDB store, request in,
 * packed sanhe.Response out. The server, the in-process conformance runner
 * and the demo all call these; the transport is the only difference.
 *
 * Writes (settle, reverse, cancel, load) go through a batch: one LMDB write
 * transaction for the requests the caller groups (the group commit in
 * engine/durable groups those of one loop iteration), each request inside a
 * nested transaction so that one that fails cannot spoil the others, then a
 * single durable commit. No reply of a batch may be sent before
 * ledger_batch_commit has returned 0 (or, for a batch committed with
 * ledger_batch_commit_nosync, before a ledger_sync started after that
 * commit has returned 0).
 *
 * Reads (presettle, query, eligibility, reconcile) see committed state
 * through a reused read-only transaction and never wait for the writer.
 */
#ifndef LEDGER_H
#define LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sanhe.pb-c.h"
#include "sh_error.h"
#include "sh_types.h"

enum sh_role { SH_ROLE_COUNTER = 0, SH_ROLE_BUREAU, SH_ROLE_ADMIN };

/* "counter", "bureau", "admin" (and "unknown" for anything else). */
const char *sh_role_name(enum sh_role role);

/* The role of a name, or -1 for a name that is none. */
int sh_role_parse(const char *name);

/* Who is asking: from the terminal table (server) or the case step (runner). */
struct sh_caller {
    char terminal[64];
    char hospital[SH_CODE_MAX];
    enum sh_role role;
    /* The terminal table's own person-lookup rate (engine/net/rate.c). */
    bool has_lookup_rate;
    uint32_t lookups_per_minute; /* when has_lookup_rate; 0: no limit */
};

/* ---- Write quotas (quota.c; docs/limits.md#write-quotas) ---- */

/* What a hospital may add per business day, each sized by its level. */
enum ledger_quota_kind {
    LEDGER_QUOTA_SETTLEMENTS = 0, /* new settlements */
    LEDGER_QUOTA_STORED_BYTES,    /* bytes its writes put in the store */
    LEDGER_QUOTA_UNKNOWN_CANCELS, /* cancels that reversed nothing */
    LEDGER_QUOTA_DAILY_KINDS,
    LEDGER_QUOTA_CLAIM_LINES = LEDGER_QUOTA_DAILY_KINDS, /* a claim's lines, by visit type */
    LEDGER_QUOTA_KINDS
};

/* "settlements", "stored_bytes", "unknown_cancels", "claim_lines". */
const char *ledger_quota_name(enum ledger_quota_kind kind);

/* Every ceiling; 0: none. All zero (a ledger_config left zeroed): no quota. */
struct ledger_quota {
    uint64_t per_day[LEDGER_QUOTA_DAILY_KINDS][SH_LEVEL_COUNT];
    uint32_t claim_lines_max[SH_VISIT_COUNT];
};

/* A refusal, as the observer (ledger_quota_observe) is told of it. */
struct ledger_quota_event {
    enum ledger_quota_kind kind;
    const struct sh_caller *caller;
    uint64_t used;    /* today's count, or the claim's lines */
    uint64_t limit;   /* the ceiling it met */
    uint64_t refused; /* the hospital's refusals of this kind since the engine started */
};

/* Refusals of one hospital since open, by kind (metrics). */
struct ledger_quota_refusals {
    char hospital[SH_CODE_MAX];
    uint64_t refused[LEDGER_QUOTA_KINDS];
};

struct ledger_config {
    const char *dir;           /* an existing directory */
    uint64_t map_size_initial; /* bytes; 0 = 64 MiB. Grows by itself when full. */
    uint64_t map_size_max;  /* bytes; 0 = 64 GiB. A write that would pass it gets STORAGE_FULL. */
    bool durable;           /* false: no fsync (tests only; never for real data) */
    int32_t utc_offset_min; /* the business day's time zone; Asia/Shanghai = 480 */
    bool read_only;         /* an existing store, reads only (offline audits); writes fail */
    /* A commit brings the requests or the journal_day index up to date
     * once about this many entries wait, the two in turn (index_flush.h);
     * 0 = 2048, at most INDEX_LAG_FLUSH_MAX (4096). Tests set it low. */
    uint32_t index_lag_flush;
    /* The write-ahead log of a durable store (docs/storage.md); 0: the
     * defaults. Bytes a segment; a checkpoint after this many bytes of
     * log or milliseconds. Tests set them small. */
    uint64_t wal_segment_bytes;
    uint64_t wal_checkpoint_bytes;
    uint32_t wal_checkpoint_ms;
    bool wal_test_skip_restore; /* tests/powercut only: recovery without the meta restore */
    struct ledger_quota quota;  /* the write quotas; zeroed: none */
    /* Audit records of a day more than this many days before the batch's
     * are deleted, a bounded number per batch (audit.c); 0: kept for ever. */
    uint32_t audit_retention_days;
};

/* A packed sanhe.Response, malloc'd; the receiver frees data. */
struct sh_reply {
    uint8_t *data;
    size_t len;
};

struct ledger;
struct ledger_batch;

int ledger_open(const struct ledger_config *config, struct ledger **out, struct sh_error *err);
void ledger_close(struct ledger *ledger);

/* True for the operations that go through a batch: settle, reverse, cancel, load. */
bool ledger_request_writes(const Sanhe__Request *request);

/* A read operation. Always fills *reply (a refusal is an error Response);
 * returns 0, or a negative code when even that was impossible (out of memory). */
int ledger_read(struct ledger *ledger, const struct sh_caller *caller,
                const Sanhe__Request *request, struct sh_reply *reply);

/* ledger_read in a read transaction of its own, for any thread: several
 * may run at once, beside ledger_read and the writer (engine/net/read_pool.c
 * runs the costly reads so). Each holds one LMDB reader slot while it runs. */
int ledger_read_detached(struct ledger *ledger, const struct sh_caller *caller,
                         const Sanhe__Request *request, struct sh_reply *reply);

/* now_ms is the wall clock (unix ms) that dates this batch's journal entries. */
int ledger_batch_begin(struct ledger *ledger, int64_t now_ms, struct ledger_batch **out);

/* Applies one write request inside the batch and fills *reply. A refusal is
 * an error Response and changes nothing. Returns 0, or a negative code when
 * the batch itself can no longer commit (every later call then fails too).
 * request and *caller must stay alive and unchanged until the batch is
 * committed or aborted: a batch whose map must grow applies them again. */
int ledger_batch_apply(struct ledger_batch *batch, const struct sh_caller *caller,
                       const Sanhe__Request *request, struct sh_reply *reply);

/* Commits durably (ledger_batch_commit_nosync, then ledger_sync) and frees
 * the batch. On failure its replies must be replaced with the returned
 * error. Nothing of the batch is kept, except when the commit succeeded
 * and the sync failed: then the batch may or may not be on disk (readers
 * see it until a restart), and the ledger refuses every later batch. */
int ledger_batch_commit(struct ledger_batch *batch);

/* Commits and frees the batch without the final sync, for a caller that
 * syncs on another thread while the next batch is applied (the group
 * commit, engine/durable). The batch is then visible to readers and LMDB keeps the
 * store intact, but a crash may still lose it: its replies must not be
 * sent before a ledger_sync that started after this returned has
 * returned 0. On failure nothing of the batch is kept. */
int ledger_batch_commit_nosync(struct ledger_batch *batch);

/* Makes every batch committed so far durable (one fdatasync; nothing when
 * the ledger is not durable). It may run on another thread beside a batch
 * (begin, apply, commit) and beside reads, never beside ledger_close.
 * Returns 0, or SH_E_INTERNAL when the sync failed: what was committed
 * since the last good sync may be lost, and since a failed fsync cannot
 * be retried safely (the kernel may have dropped the pages), every later
 * ledger_batch_begin and ledger_sync fails too. */
int ledger_sync(struct ledger *ledger);

void ledger_batch_abort(struct ledger_batch *batch);

/* Brings the requests and journal_day indexes up to date in a batch of its
 * own (at a clean shutdown, so that the next start has nothing to reload;
 * and for tests). Returns 0 or a negative code. */
int ledger_index_flush(struct ledger *ledger, int64_t now_ms);

/* One request, read or write, in a batch of its own: for tools and tests. */
int ledger_handle(struct ledger *ledger, const struct sh_caller *caller,
                  const Sanhe__Request *request, int64_t now_ms, struct sh_reply *reply);

/* Verifies the whole store offline (sanhe-engine check): every accumulator
 * equals the sum of the deltas of the settlements not reversed, every
 * idempotency record points at what it answered, the journal is complete,
 * ordered and its hash chain intact. Writes one line per problem to report
 * (when not NULL); returns 0 when there is none, else the number of
 * problems, or a negative code when the check could not run. */
int ledger_check(struct ledger *ledger, void (*report)(void *ctx, const char *line), void *ctx);

/* The terminal table (filled by an admin Load): fills *out (terminal = name,
 * hospital, role) for the terminal of that certificate name, through the
 * read path. Returns 0, SH_E_NOT_FOUND, or another negative code. */
int ledger_terminal_find(struct ledger *ledger, const char *name, struct sh_caller *out);

/* The store's size and contents at a glance, for metrics and tests. */
struct ledger_info {
    uint64_t map_size;     /* bytes mapped now */
    uint64_t map_size_max; /* the hard limit */
    uint64_t map_used;     /* bytes up to the last page in use */
    uint32_t map_grown;    /* times the map grew since open */
    uint64_t enospc_count; /* writes refused: the file system was full (ENOSPC) */
    uint32_t readers_used; /* LMDB reader slots taken (every process) */
    uint32_t readers_max;
    uint64_t settlements; /* settlement ids handed out */
    uint64_t journal_entries;
};
int ledger_info(struct ledger *ledger, struct ledger_info *out);

/* ---- The person-lookup audit (audit.c; docs/limits.md) ---- */

#define LEDGER_AUDIT_PRUNE_PER_BATCH 256 /* old records deleted per batch at most */

#define LEDGER_AUDIT_DIGEST_LEN 8 /* of SHA-256(resident id): finds a person's records */

/* One person looked up: by whom, how, when, with what outcome. */
struct ledger_audit_record {
    int64_t time_ms; /* unix ms */
    char terminal[64];
    char hospital[SH_CODE_MAX];
    char person_masked[19]; /* sh_person_id_mask: never the id in clear */
    uint8_t person_digest[LEDGER_AUDIT_DIGEST_LEN];
    char op[16]; /* "eligibility", "query", "presettle", "settle" */
    int outcome; /* 0, or the SH_E_* code the terminal was answered with */
};

/* Fills r from the caller and the resident id (masked and digested here). */
void ledger_audit_fill(struct ledger_audit_record *r, const struct sh_caller *caller,
                       const char *op, const char *person, int outcome, int64_t time_ms);

/* The records are written in the batch's transaction when it commits, after
 * every request it holds (a rebuild of the batch writes them again). The
 * caller keeps recs alive and unchanged until the commit or the abort. */
void ledger_batch_audit(struct ledger_batch *batch, const struct ledger_audit_record *recs,
                        size_t n);

/* The listing flags a terminal whose lookups of a day number at least
 * min and more than ratio times its settles (0 ratio: never). */
void ledger_audit_flag_set(struct ledger *ledger, uint32_t ratio, uint32_t min);

/* ---- Write quotas (quota.c) ---- */

/* fn is called for every quota refusal, on the thread that refused it (the
 * writer's, or a reader's for a presettle's claim size): it must be cheap
 * and thread-safe. Set it before the first batch. */
void ledger_quota_observe(struct ledger *ledger,
                          void (*fn)(void *ctx, const struct ledger_quota_event *e), void *ctx);

/* Copies at most cap hospitals' refusal counts into out (any thread);
 * returns how many hospitals have any. */
size_t ledger_quota_refusals(struct ledger *ledger, struct ledger_quota_refusals *out, size_t cap);

/* A hospital's counts of business day day (yyyymmdd) as the store holds
 * them (tests, the bureau): LEDGER_QUOTA_DAILY_KINDS values. */
int ledger_quota_used(struct ledger *ledger, const char *hospital, uint32_t day,
                      uint64_t used[LEDGER_QUOTA_DAILY_KINDS]);

#endif
