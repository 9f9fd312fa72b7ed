#include "settlement.h"

#include <assert.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_keys.h"

/* ---- Meta counters ---------------------------------------------------------------- */

uint64_t meta_get(struct store_txn *txn, const char *name, uint64_t absent)
{
    MDB_val v;
    if (!store_get(txn, STORE_DB_META, name, strlen(name), &v))
        return txn->ret == 0 ? absent : 0;
    if (v.mv_size != 8) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return 0;
    }
    return store_be64_get(v.mv_data);
}

void meta_set(struct store_txn *txn, const char *name, uint64_t value)
{
    uint8_t val[8];
    store_be64_put(val, value);
    store_put(txn, STORE_DB_META, name, strlen(name), val, sizeof val);
}

uint64_t meta_peek(struct store_txn *txn, const char *name) { return meta_get(txn, name, 1); }

uint64_t meta_take(struct store_txn *txn, const char *name)
{
    uint64_t next = meta_peek(txn, name);
    if (txn->ret != 0 || next == 0 || next == UINT64_MAX) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return 0;
    }
    meta_set(txn, name, next + 1);
    return txn->ret == 0 ? next : 0;
}

/* ---- Settlement records ----------------------------------------------------------------- */

Sanhe__SettlementRecord *settlement_get(struct store_txn *txn, uint64_t id)
{
    uint8_t key[8];
    store_key_u64(key, id);
    MDB_val v;
    if (id == 0 || !store_get(txn, STORE_DB_SETTLEMENTS, key, sizeof key, &v))
        return NULL;
    Sanhe__SettlementRecord *rec = sanhe__settlement_record__unpack(NULL, v.mv_size, v.mv_data);
    if (rec == NULL || rec->settlement == NULL || rec->settlement->claim == NULL ||
        rec->settlement->breakdown == NULL || rec->settlement->hospital == NULL) {
        if (rec != NULL)
            sanhe__settlement_record__free_unpacked(rec, NULL);
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return NULL;
    }
    return rec;
}

void settlement_put(struct store_txn *txn, uint64_t id, const Sanhe__SettlementRecord *rec)
{
    if (txn->ret != 0)
        return;
    size_t len = sanhe__settlement_record__get_packed_size(rec);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return;
    }
    size_t packed = sanhe__settlement_record__pack(rec, buf);
    assert(packed == len && id != 0);
    uint8_t key[8];
    store_key_u64(key, id);
    store_put(txn, STORE_DB_SETTLEMENTS, key, sizeof key, buf, len);
    free(buf);
}

bool settlement_delta(const Sanhe__SettlementRecord *rec, size_t i, struct accum_delta *out)
{
    const Sanhe__AccDelta *d = rec->deltas[i];
    memset(out, 0, sizeof *out);
    size_t nf = d->fund != NULL ? strlen(d->fund) : 0;
    size_t nc = d->cap_group != NULL ? strlen(d->cap_group) : 0;
    if (nf == 0 || nf >= SH_ID_MAX || nc == 0 || nc >= SH_ID_MAX)
        return false;
    out->year = d->year;
    memcpy(out->fund, d->fund, nf);
    memcpy(out->cap_group, d->cap_group, nc);
    out->paid = d->paid;
    out->payable = d->payable;
    out->deductible_met = d->deductible_met;
    return true;
}

void settlement_apply_deltas(struct store_txn *txn, const Sanhe__SettlementRecord *rec, int sign)
{
    const char *person = rec->settlement->claim->person;
    if (person == NULL || strlen(person) != SH_PERSON_ID_LEN) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return;
    }
    for (size_t i = 0; i < rec->n_deltas && txn->ret == 0; i++) {
        struct accum_delta d;
        if (!settlement_delta(rec, i, &d)) {
            store_txn_fail_code(txn, SH_E_INTERNAL);
            return;
        }
        accum_apply(txn, person, &d, sign);
    }
}
