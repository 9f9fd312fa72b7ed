/*
 * The journal: every settlement and every reversal, in commit order, chained
 * by SHA-256 for audit.
 *
 *   journal      seq (u64 BE, from 1, contiguous) -> body || prev_hash || hash
 *   journal_day  day (u32 BE yyyymmdd) || hospital (32, zero-padded) || seq -> ""
 *                (up to journal_day_indexed_through: index_flush.h)
 *   meta         next_journal_seq, journal_last_hash
 *
 * hash = SHA-256(prev_hash || body); the first entry's prev_hash is 32 zero
 * bytes. The body is the canonical encoding of the entry (store_codec.h:
 * big-endian fixed-width integers, u16-length strings), in this order:
 *   u8 version (1), u64 seq, u32 business day, u8 kind (1 settle,
 *   2 reversal), u64 settlement id, i64 time (unix ms), str hospital,
 *   i64 total, out_of_scope, over_limit, pre_selfpay, in_scope, fund_total,
 *   patient_pays, u8 fund count, then per fund: str fund id, i64 pay.
 * A reversal's amounts are the settlement's, negated.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include "ledger_internal.h"

#define JOURNAL_VERSION 1
#define JOURNAL_BODY_MAX 768
#define JOURNAL_VALUE_MAX (JOURNAL_BODY_MAX + 2 * LEDGER_HASH_LEN)

enum journal_kind { JOURNAL_SETTLE = 1, JOURNAL_REVERSAL = 2 };

struct journal_fund {
    char fund[SH_ID_MAX];
    sh_fen pay;
};

struct journal_entry {
    uint64_t seq;
    uint32_t day;
    uint8_t kind; /* enum journal_kind */
    uint64_t settlement_id;
    int64_t time_ms;
    char hospital[SH_CODE_MAX];
    sh_fen total, out_of_scope, over_limit, pre_selfpay, in_scope, fund_total, patient_pays;
    uint32_t fund_count;
    struct journal_fund funds[SH_FUNDS_MAX];
    uint8_t prev_hash[LEDGER_HASH_LEN];
    uint8_t hash[LEDGER_HASH_LEN];
};

/* The amounts of a breakdown, times sign (1, or -1 for a reversal);
 * false when the breakdown cannot be journaled (too many funds, long ids). */
bool journal_entry_amounts(struct journal_entry *e, const Sanhe__Breakdown *b, int sign);

/* Assigns e->seq and the chain, writes the entry and meta. */
void journal_append(struct store_txn *txn, struct journal_entry *e);

/* The canonical body; returns its length, 0 when it does not fit. */
size_t journal_body_encode(const struct journal_entry *e, uint8_t *buf, size_t cap);
/* A stored value back into an entry; false when it is not one. */
bool journal_decode(const void *data, size_t len, struct journal_entry *out);
/* SHA-256(prev || body); 0, or SH_E_INTERNAL when OpenSSL fails. */
int journal_hash(const uint8_t prev[LEDGER_HASH_LEN], const uint8_t *body, size_t len,
                 uint8_t out[LEDGER_HASH_LEN]);

#endif
