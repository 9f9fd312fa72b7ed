/*
 * The idempotency records. Each is appended to the request_log, in the
 * transaction of the request it answers:
 *   request_log  seq (u64 BE, from 1) -> u8 version (1), str hospital,
 *                str request_id, then the packed RequestRecord {kind, payload
 *                hash, settlement id, the reply first sent, target}
 *   requests     hospital '\0' request_id -> seq (u64 BE)
 *   meta         next_request_seq, requests_indexed_through
 * The requests index covers the log up to requests_indexed_through; the
 * entries above it (at most a few thousand) are the writer's request_tail
 * map, and a reader without that map scans them (request_tail.h says why).
 *
 * Settle, reverse and cancel share the request id space of a hospital; a
 * cancel of an id that never landed leaves a CANCELLED marker under that id.
 * A key is written once: the checks below refuse a request id already used.
 *
 * The payload hash is SHA-256 over a canonical encoding of the parsed
 * request, the kind first (u8), then:
 *   settle:  str hospital, str person, i32 visit (parsed, -1 unknown),
 *            u32 date (yyyymmdd, 0 invalid), u32 line count, per line:
 *            str code, i64 qty_milli, i64 amount, u8 defect
 *   reverse: u8 target (1 settlement id, 2 request id), u64 id | str request id
 *   cancel:  str cancel_of
 * (integers big-endian, a string is its u32 length then its bytes).
 */
#ifndef REQUESTS_H
#define REQUESTS_H

#include "ledger_internal.h"
#include "request_tail.h"

/* A request_log value, decoded; record points into the value. */
struct request_log_entry {
    char hospital[SH_CODE_MAX];
    char request_id[SH_CODE_MAX];
    const uint8_t *record;
    size_t record_len;
};
bool request_log_decode(const MDB_val *val, struct request_log_entry *out);

/* NULL when absent (txn->ret tells a failure). tail: the writer's map, or
 * NULL for a reader. Free with sanhe__request_record__free_unpacked(rec, NULL). */
Sanhe__RequestRecord *request_get(struct store_txn *txn, struct request_tail *tail,
                                  const char *hospital, const char *request_id);
/* The log entry of the key (as request_get finds it), or 0. */
uint64_t request_seq_of(struct store_txn *txn, struct request_tail *tail, const char *hospital,
                        const char *request_id);
/* Appends the record to the log and to the writer's map (tail, required). */
void request_put(struct store_txn *txn, struct request_tail *tail, const char *hospital,
                 const char *request_id, const Sanhe__RequestRecord *rec);

/* The index entry (hospital, request_id) -> seq (index_flush.c). */
void request_index_put(struct store_txn *txn, const char *hospital, const char *request_id,
                       uint64_t seq);
/* The map filled again with the log above the mark, as txn sees it. */
void request_tail_reload(struct store_txn *txn, struct request_tail *tail);

int request_hash_settle(const Sanhe__Claim *claim, uint8_t out[LEDGER_HASH_LEN]);
int request_hash_reverse(const Sanhe__ReverseRequest *reverse, uint8_t out[LEDGER_HASH_LEN]);
int request_hash_cancel(const char *cancel_of, uint8_t out[LEDGER_HASH_LEN]);

/*
 * Checks 1 and 2 of docs/rules.md for the op's own (hospital, request id):
 * a CANCELLED marker -> ALREADY_REVERSED; a record of the same kind and
 * payload -> 0 with *replayed set and op->reply holding the stored bytes;
 * any other record -> REQUEST_ID_REUSED; none -> 0, go on.
 */
int request_check_own(struct ledger_op *op, Sanhe__RequestKind kind,
                      const uint8_t hash[LEDGER_HASH_LEN], bool *replayed);

/* Stores the op's own record: kind, hash, settlement id (0: none), the
 * reply bytes in op->reply, target (NULL: none). */
void request_put_own(struct ledger_op *op, Sanhe__RequestKind kind,
                     const uint8_t hash[LEDGER_HASH_LEN], uint64_t settlement_id,
                     const char *target);

#endif
