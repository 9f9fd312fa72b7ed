#include "accum.h"

#include <assert.h>
#include <string.h>

void accum_value_encode(uint8_t out[ACCUM_VALUE_LEN], sh_fen paid, sh_fen payable,
                        sh_fen deductible_met)
{
    store_be64_put(out, (uint64_t)paid);
    store_be64_put(out + 8, (uint64_t)payable);
    store_be64_put(out + 16, (uint64_t)deductible_met);
}

bool accum_entry_decode(const MDB_val *key, const MDB_val *val, struct accum_entry *out)
{
    if (val->mv_size != ACCUM_VALUE_LEN ||
        store_key_acc_parse(key->mv_data, key->mv_size, out->person, &out->year, out->fund,
                            out->cap_group) != 0)
        return false;
    const uint8_t *v = val->mv_data;
    out->paid = (sh_fen)store_be64_get(v);
    out->payable = (sh_fen)store_be64_get(v + 8);
    out->deductible_met = (sh_fen)store_be64_get(v + 16);
    return true;
}

struct year_scan {
    struct sh_acc *out;
    uint32_t max;
    uint32_t count;
};

static int year_scan_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct year_scan *s = ctx;
    struct accum_entry e;
    if (!accum_entry_decode(key, val, &e))
        return SH_E_INTERNAL;
    if (s->count == s->max)
        return SH_E_LIMIT_EXCEEDED;
    struct sh_acc *a = &s->out[s->count++];
    memcpy(a->fund, e.fund, sizeof a->fund);
    memcpy(a->cap_group, e.cap_group, sizeof a->cap_group);
    a->paid = e.paid;
    a->payable = e.payable;
    a->deductible_met = e.deductible_met;
    return 0;
}

uint32_t accum_year_get(struct store_txn *txn, const char *person, int32_t year, struct sh_acc *out,
                        uint32_t max)
{
    uint8_t prefix[STORE_ACC_YEAR_PREFIX_LEN];
    if (strlen(person) != SH_PERSON_ID_LEN || year < 0)
        return 0;
    memcpy(prefix, person, SH_PERSON_ID_LEN);
    store_be32_put(prefix + SH_PERSON_ID_LEN, (uint32_t)year);
    struct year_scan s = {.out = out, .max = max};
    store_scan(txn, STORE_DB_ACCUMULATORS, prefix, sizeof prefix, year_scan_one, &s);
    return s.count;
}

/* a + sign * b, false on overflow. */
static bool add_signed(sh_fen a, sh_fen b, int sign, sh_fen *out)
{
    return sign > 0 ? !__builtin_add_overflow(a, b, out) : !__builtin_sub_overflow(a, b, out);
}

void accum_apply(struct store_txn *txn, const char *person, const struct accum_delta *d, int sign)
{
    assert(sign == 1 || sign == -1);
    if (txn->ret != 0)
        return;
    uint8_t key[STORE_ACC_KEY_MAX];
    int key_len = store_key_acc(key, person, d->year, d->fund, d->cap_group);
    if (key_len < 0) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return;
    }
    sh_fen cur[3] = {0, 0, 0};
    MDB_val v;
    if (store_get(txn, STORE_DB_ACCUMULATORS, key, (size_t)key_len, &v)) {
        if (v.mv_size != ACCUM_VALUE_LEN) {
            store_txn_fail_code(txn, SH_E_INTERNAL);
            return;
        }
        for (int i = 0; i < 3; i++)
            cur[i] = (sh_fen)store_be64_get((const uint8_t *)v.mv_data + 8 * i);
    }
    const sh_fen delta[3] = {d->paid, d->payable, d->deductible_met};
    sh_fen next[3];
    for (int i = 0; i < 3; i++) {
        if (!add_signed(cur[i], delta[i], sign, &next[i])) {
            store_txn_fail_code(txn, SH_E_LIMIT_EXCEEDED);
            return;
        }
        if (next[i] < 0) {
            store_txn_fail_code(txn, SH_E_INTERNAL);
            return;
        }
    }
    if (next[0] == 0 && next[1] == 0 && next[2] == 0) {
        store_del(txn, STORE_DB_ACCUMULATORS, key, (size_t)key_len);
        return;
    }
    uint8_t val[ACCUM_VALUE_LEN];
    accum_value_encode(val, next[0], next[1], next[2]);
    store_put(txn, STORE_DB_ACCUMULATORS, key, (size_t)key_len, val, sizeof val);
}
