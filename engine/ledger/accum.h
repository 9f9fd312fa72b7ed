/*
 * Accumulators: (person, year, fund, cap_group) -> paid, payable,
 * (the key as store_key_acc makes it)
 * deductible_met, three int64 big-endian (24 bytes). One whose three values
 * are all 0 is deleted, so that settling then reversing leaves the store
 * exactly as it was.
 */
#ifndef ACCUM_H
#define ACCUM_H

#include "ledger_internal.h"
#include "store_keys.h"

#define ACCUM_VALUE_LEN 24

struct accum_delta {
    int32_t year;
    char fund[SH_ID_MAX];
    char cap_group[SH_ID_MAX];
    sh_fen paid;
    sh_fen payable;
    sh_fen deductible_met;
};

/* One stored accumulator, key decoded. */
struct accum_entry {
    char person[SH_PERSON_ID_LEN + 1];
    int32_t year;
    char fund[STORE_PAD];
    char cap_group[STORE_PAD];
    sh_fen paid;
    sh_fen payable;
    sh_fen deductible_met;
};

/* false when key or value is not an accumulator's. */
bool accum_entry_decode(const MDB_val *key, const MDB_val *val, struct accum_entry *out);
void accum_value_encode(uint8_t out[ACCUM_VALUE_LEN], sh_fen paid, sh_fen payable,
                        sh_fen deductible_met);

/* The person's accumulators of one year into out (at most max; more is
 * SH_E_LIMIT_EXCEEDED on the transaction). Returns how many. */
uint32_t accum_year_get(struct store_txn *txn, const char *person, int32_t year, struct sh_acc *out,
                        uint32_t max);

/* acc += sign * delta (sign is 1 or -1). Overflow: SH_E_LIMIT_EXCEEDED; a
 * value going below 0 (a store that disagrees with itself): SH_E_INTERNAL. */
void accum_apply(struct store_txn *txn, const char *person, const struct accum_delta *delta,
                 int sign);

#endif
