/*
 * The idempotency records (db "requests"): hospital '\0' request_id ->
 * RequestRecord {kind, payload hash, settlement id, the reply first sent,
 * target}. Settle, reverse and cancel share the request id space of a
 * hospital; a cancel of an id that never landed leaves a CANCELLED marker
 * under that id.
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

/* NULL when absent (txn->ret tells a failure). Free with
 * sanhe__request_record__free_unpacked(rec, NULL). */
Sanhe__RequestRecord *request_get(struct store_txn *txn, const char *hospital,
                                  const char *request_id);
void request_put(struct store_txn *txn, const char *hospital, const char *request_id,
                 const Sanhe__RequestRecord *rec);

int request_hash_settle(const Sanhe__Claim *claim, uint8_t out[LEDGER_HASH_LEN]);
int request_hash_reverse(const Sanhe__ReverseRequest *reverse, uint8_t out[LEDGER_HASH_LEN]);
int request_hash_cancel(const char *cancel_of, uint8_t out[LEDGER_HASH_LEN]);

/*
 * Checks 1 and 2 of RULES.md for the op's own (hospital, request id):
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
