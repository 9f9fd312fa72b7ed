/*
 * Settlement records (db "settlements": u64 BE id -> SettlementRecord) and
 * the meta counters that number settlements, journal entries and
 * idempotency records.
 */
#ifndef SETTLEMENT_H
#define SETTLEMENT_H

#include "accum.h"
#include "ledger_internal.h"

/* A u64 of meta; absent when it was never set (0 on a failure). */
uint64_t meta_get(struct store_txn *txn, const char *name, uint64_t absent);
void meta_set(struct store_txn *txn, const char *name, uint64_t value);
/* The counter's next value (1 when never used). */
uint64_t meta_peek(struct store_txn *txn, const char *name);
/* Takes the counter's next value and advances it; 0 on failure. */
uint64_t meta_take(struct store_txn *txn, const char *name);

/* NULL when absent (txn->ret says whether something failed). Free with
 * sanhe__settlement_record__free_unpacked(rec, NULL). A record that does not
 * decode is SH_E_INTERNAL on the transaction. */
Sanhe__SettlementRecord *settlement_get(struct store_txn *txn, uint64_t id);
void settlement_put(struct store_txn *txn, uint64_t id, const Sanhe__SettlementRecord *rec);

/* The i-th delta of a record as a struct; false when it is not usable. */
bool settlement_delta(const Sanhe__SettlementRecord *rec, size_t i, struct accum_delta *out);

/* Applies every delta of the record to the claim's person (sign 1 or -1). */
void settlement_apply_deltas(struct store_txn *txn, const Sanhe__SettlementRecord *rec, int sign);

#endif
