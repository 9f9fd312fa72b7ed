/*
 * The ledger's insides, shared by its files:
 *
 *   ledger.c          open/close, the operation table, roles, ledger_read, ledger_handle
 *   ledger_batch.c    a batch in one transaction: nested transactions, the map's growth
 *   ledger_reply.c    packing Responses and error replies
 *   ledger_settle.c   settle and presettle
 *   ledger_reverse.c  reverse and cancel (and the reversal they share)
 *   ledger_read.c     query, eligibility, the terminal table
 *   ledger_reconcile.c  reconcile (reconcile_*.c: sums, comparison, reply)
 *   ledger_load.c     the admin Load
 *   ledger_check.c    the offline verification
 *   convert.c         protobuf <-> core structs
 *   refdata.c         person, hospital, item and terminal records
 *   accum.c           accumulators
 *   requests.c        idempotency records and payload hashes
 *   request_tail.c    the writer's map of records not yet indexed
 *   index_flush.c     the requests and journal_day indexes, kept a little behind
 *   settlement.c      settlement records and the meta counters
 *   journal.c         the hash-chained journal
 *   policies.c        the policies, parsed, in memory
 *
 * Every operation runs as an op_fn over a struct ledger_op: a transaction
 * (the reused read transaction for reads, a child of the batch's for
 * writes), the caller, the request. It returns 0 with op->reply filled, or
 * a negative code: a refusal (op->err says why; the transaction has no
 * error) or a storage failure (op->txn->ret, op->txn->mdb_rc).
 */
#ifndef LEDGER_INTERNAL_H
#define LEDGER_INTERNAL_H

#include <pthread.h>

#include "ledger.h"
#include "sh_date.h"
#include "store.h"

/* Limits of the ledger (the core's are in sh_types.h). */
#define LEDGER_POLICIES_MAX 256     /* policies kept in memory, all regions */
#define LEDGER_YEAR_ACCS_MAX 512    /* accumulators of one person and year */
#define LEDGER_PERSON_ACCS_MAX 4096 /* accumulators of one person, all years */
#define LEDGER_RETRIES_MAX 24       /* a request retried after growth or a fresh txn */
#define LEDGER_TERMINAL_NAME_MAX 64 /* as struct sh_caller.terminal */
#define LEDGER_HASH_LEN 32          /* SHA-256 */

/* All the policies of the store, parsed (policies.c). */
struct policy_set {
    size_t count;
    struct sh_policy *items;       /* count entries */
    const struct sh_policy **ptrs; /* the same, for sh_policy_find */
};

/*
 * Threads. The server runs the cheap reads on its loop thread, the costly
 * ones on its pool's threads (ledger_read_detached, each in a read
 * transaction of its own), while the batch is applied and committed on a
 * writer thread. LMDB lets a read transaction
 * and the write transaction run at once; what they must not do at once is
 * what lock guards: the map's growth (LMDB remaps only with no transaction
 * of the process active) and the swap of the committed policies after a
 * Load. Every read holds lock shared; the writer takes it exclusive for
 * those two moments only, never while it applies or commits. The lock
 * prefers the writer: reads on several threads could otherwise hold it
 * shared without a gap for ever; the price is that a read arriving while
 * the writer waits waits too, for the reads already running (rare: the
 * map grows by doubling).
 */
struct ledger {
    struct store store;
    int32_t utc_offset_min;
    struct policy_set *policies; /* as committed; replaced under lock (exclusive) */
    struct ledger_batch *batch;  /* the open batch, if any (writer thread only) */
    struct request_tail *tail;   /* records not yet indexed (writer thread only) */
    struct item_cache *items;    /* catalog items looked up (writer thread only) */
    uint32_t index_lag_flush;    /* index_flush.h */
    uint32_t audit_flag_ratio;   /* audit.c: ledger_audit_flag_set */
    uint32_t audit_flag_min;
    uint32_t audit_retention_days; /* audit.c: audit_prune */
    uint32_t audit_clean_before;   /* no audit record older than this day is left (writer) */
    pthread_rwlock_t lock;
    /* Write quotas (quota.c): the ceilings, and the refusals counted since
     * open (any thread, under quota_lock). */
    struct ledger_quota quota;
    bool quota_on; /* any ceiling is set */
    pthread_mutex_t quota_lock;
    bool quota_lock_ready;
    struct ledger_quota_refusals *quota_refusals; /* QUOTA_HOSPITALS_MAX, on first use */
    size_t quota_refusal_len;
    void (*quota_fn)(void *ctx, const struct ledger_quota_event *e);
    void *quota_ctx;
};

/* SHA-256, fetched from OpenSSL's provider once per process: EVP_sha256()
 * would make every digest fetch it again, a large share of a short hash. */
struct evp_md_st;
const struct evp_md_st *ledger_sha256(void);

/* The lock above; abort()s on a failure (a broken lock is a bug). */
void ledger_lock_shared(struct ledger *ledger);
void ledger_lock_exclusive(struct ledger *ledger);
void ledger_unlock(struct ledger *ledger);

/* A request the batch transaction holds: what it takes to apply it again
 * (ledger_batch.c) and to know that it answered the same, byte for byte
 * (a copy costs far less than a hash of it). */
struct batch_entry {
    struct sh_caller caller;
    const Sanhe__Request *request; /* the caller's, alive until commit or abort */
    uint8_t *reply;                /* a copy of the reply given (malloc'd) */
    size_t reply_len;
};

struct ledger_batch {
    struct ledger *ledger;
    struct store_txn txn;    /* the batch's outermost write transaction */
    struct batch_entry *log; /* the requests txn holds, in order */
    size_t log_len;
    size_t log_cap;
    int64_t now_ms;
    uint32_t day; /* business day of now_ms */
    char day_str[SH_DATE_STR_LEN];
    struct policy_set *policies;             /* after a Load in this batch; NULL: the ledger's */
    int fatal;                               /* nonzero: the batch cannot commit */
    const struct ledger_audit_record *audit; /* written at commit (audit.c) */
    size_t audit_len;
};

struct request_tail;
struct item_cache;

struct ledger_op {
    struct ledger *ledger;
    struct store_txn *txn;
    struct request_tail *tail; /* writes: the writer's map (requests.h); reads: NULL */
    struct item_cache *items;  /* writes: the writer's items (item_cache.h); reads: NULL */
    const struct sh_caller *caller;
    const Sanhe__Request *request;
    const struct policy_set *policies; /* what this request sees */
    int64_t now_ms;                    /* writes: the batch's clock */
    uint32_t day;
    const char *day_str;
    struct sh_error err;             /* a refusal's message */
    struct sh_reply reply;           /* filled on success */
    struct policy_set *new_policies; /* a Load's new set, owned until the child commits */
};

typedef int (*op_fn)(struct ledger_op *op);

/* A request id usable as an idempotency key: 0, or BAD_REQUEST into op->err. */
int ledger_request_id_check(struct ledger_op *op, const char *opname);
/* Whether an operation may run in a batch / as a read, with its function. */
struct ledger_opdesc {
    const char *name;
    bool writes;
    unsigned roles; /* bit (1 << role) */
    op_fn fn;
    /* A write that may refuse after it has written (a Load checks each record
     * as it writes it) runs in a child transaction. The others run straight
     * in the batch's transaction, which is much cheaper (LMDB copies every
     * page a child touches); when one of those fails after writing, the
     * batch transaction is rebuilt from its log (ledger_batch.c). */
    bool isolated;
};
/* NULL when the request has no operation. */
const struct ledger_opdesc *ledger_opdesc_of(const Sanhe__Request *request);
/* FORBIDDEN into err when the caller's role may not run it. */
int ledger_role_check(const struct ledger_opdesc *desc, const struct sh_caller *caller,
                      struct sh_error *err);

/* ---- ledger_reply.c ---- */
int ledger_reply_pack(const Sanhe__Response *response, struct sh_reply *out);
int ledger_reply_error(const Sanhe__Request *request, int code, const char *message,
                       struct sh_reply *out);
int ledger_reply_copy(const uint8_t *data, size_t len, struct sh_reply *out);
/* The error reply for a failed op: its refusal, or a storage message. */
int ledger_reply_failure(const struct ledger_op *op, int code, struct sh_reply *out);

/* ---- the operations ---- */
int ledger_op_settle(struct ledger_op *op);
int ledger_op_presettle(struct ledger_op *op);
int ledger_op_reverse(struct ledger_op *op);
int ledger_op_cancel(struct ledger_op *op);
int ledger_op_query(struct ledger_op *op);
/* audit.c: the listing, and the records written at a batch's commit. */
int ledger_op_audit(struct ledger_op *op);
void audit_write(struct store_txn *txn, const struct ledger_batch *b);
int ledger_op_eligibility(struct ledger_op *op);
int ledger_op_reconcile(struct ledger_op *op);
int ledger_op_load(struct ledger_op *op);
int ledger_op_person_update(struct ledger_op *op); /* ledger_person.c */
int ledger_op_crosscheck(struct ledger_op *op);    /* ledger_crosscheck.c */

/* ---- quota.c: the write quotas (docs/limits.md#write-quotas) ---- */

/* A hospital's counts of the op's business day, as its transaction holds them. */
struct quota_state {
    bool on;   /* the caller is a hospital and a ceiling applies */
    int level; /* enum sh_level of its hospital (village when unknown) */
    uint64_t used[LEDGER_QUOTA_DAILY_KINDS];
    uint64_t put_bytes0; /* op->txn->put_bytes when the op began */
};

void quota_init(struct ledger *ledger, const struct ledger_quota *quota);
void quota_free(struct ledger *ledger);
/* CLAIM_TOO_LARGE into op->err when the claim has more lines than its
 * visit type may (settle and presettle). */
int quota_claim_check(struct ledger_op *op, const Sanhe__Claim *claim, const char *opname);
/* Loads the caller's counts into *q (op->txn), before the op writes. */
void quota_load(struct ledger_op *op, struct quota_state *q);
/* QUOTA_EXCEEDED into op->err when a new settlement (kind SETTLEMENTS) or a
 * cancel that reverses nothing (UNKNOWN_CANCELS) is past the hospital's
 * ceiling of that kind or of its stored bytes. */
int quota_admit(struct ledger_op *op, const struct quota_state *q, enum ledger_quota_kind kind);
/* After the op wrote (succeeded): adds one of kind (or none: kind ==
 * LEDGER_QUOTA_STORED_BYTES) and the bytes the op put since quota_load, in
 * the op's transaction. */
void quota_charge(struct ledger_op *op, struct quota_state *q, enum ledger_quota_kind kind);

/* ---- policies.c ---- */
int policy_set_load(struct store_txn *txn, struct policy_set **out, struct sh_error *err);
void policy_set_free(struct policy_set *set);
const struct sh_policy *policy_set_find(const struct policy_set *set, const char *region,
                                        uint32_t date);
/* base with the given policies added, each replacing one of the same region
 * and effective_from; validated as a set (no overlap). */
int policy_set_merge(const struct policy_set *base, const struct sh_policy *added,
                     size_t added_count, struct policy_set **out, struct sh_error *err);

#endif
