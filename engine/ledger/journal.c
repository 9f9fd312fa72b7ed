#include "journal.h"

#include <assert.h>
#include <openssl/evp.h>
#include <string.h>

#include "settlement.h"
#include "store_codec.h"
#include "store_keys.h"

static bool copy_id(char *out, size_t cap, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n >= cap)
        return false;
    memcpy(out, s != NULL ? s : "", n);
    out[n] = '\0';
    return true;
}

bool journal_entry_amounts(struct journal_entry *e, const Sanhe__Breakdown *b, int sign)
{
    if (b->n_funds > SH_FUNDS_MAX)
        return false;
    e->total = sign * b->total;
    e->out_of_scope = sign * b->out_of_scope;
    e->over_limit = sign * b->over_limit;
    e->pre_selfpay = sign * b->pre_selfpay;
    e->in_scope = sign * b->in_scope;
    e->fund_total = sign * b->fund_total;
    e->patient_pays = sign * b->patient_pays;
    e->fund_count = (uint32_t)b->n_funds;
    for (size_t i = 0; i < b->n_funds; i++) {
        if (!copy_id(e->funds[i].fund, sizeof e->funds[i].fund, b->funds[i]->fund))
            return false;
        e->funds[i].pay = sign * b->funds[i]->pay;
    }
    return true;
}

size_t journal_body_encode(const struct journal_entry *e, uint8_t *buf, size_t cap)
{
    assert(e->fund_count <= SH_FUNDS_MAX && buf != NULL);
    struct store_w w;
    store_w_init(&w, buf, cap);
    store_w_u8(&w, JOURNAL_VERSION);
    store_w_u64(&w, e->seq);
    store_w_u32(&w, e->day);
    store_w_u8(&w, e->kind);
    store_w_u64(&w, e->settlement_id);
    store_w_i64(&w, e->time_ms);
    store_w_str(&w, e->hospital);
    const sh_fen amounts[] = {e->total,    e->out_of_scope, e->over_limit,  e->pre_selfpay,
                              e->in_scope, e->fund_total,   e->patient_pays};
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++)
        store_w_i64(&w, amounts[i]);
    store_w_u8(&w, (uint8_t)e->fund_count);
    for (uint32_t i = 0; i < e->fund_count && i < SH_FUNDS_MAX; i++) {
        store_w_str(&w, e->funds[i].fund);
        store_w_i64(&w, e->funds[i].pay);
    }
    assert(w.bad || (w.len > 0 && w.len <= cap));
    return w.bad ? 0 : w.len;
}

bool journal_decode(const void *data, size_t len, struct journal_entry *e)
{
    if (len < 2 * LEDGER_HASH_LEN)
        return false;
    memset(e, 0, sizeof *e);
    size_t body = len - 2 * LEDGER_HASH_LEN;
    struct store_r r;
    store_r_init(&r, data, body);
    r.bad = store_r_u8(&r) != JOURNAL_VERSION;
    e->seq = store_r_u64(&r);
    e->day = store_r_u32(&r);
    e->kind = store_r_u8(&r);
    e->settlement_id = store_r_u64(&r);
    e->time_ms = store_r_i64(&r);
    store_r_str(&r, e->hospital, sizeof e->hospital);
    sh_fen *amounts[] = {&e->total,    &e->out_of_scope, &e->over_limit,  &e->pre_selfpay,
                         &e->in_scope, &e->fund_total,   &e->patient_pays};
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++)
        *amounts[i] = store_r_i64(&r);
    e->fund_count = store_r_u8(&r);
    r.bad |= e->fund_count > SH_FUNDS_MAX;
    for (uint32_t i = 0; !r.bad && i < e->fund_count; i++) {
        store_r_str(&r, e->funds[i].fund, sizeof e->funds[i].fund);
        e->funds[i].pay = store_r_i64(&r);
    }
    memcpy(e->prev_hash, (const uint8_t *)data + body, LEDGER_HASH_LEN);
    memcpy(e->hash, (const uint8_t *)data + body + LEDGER_HASH_LEN, LEDGER_HASH_LEN);
    return store_r_done(&r) && (e->kind == JOURNAL_SETTLE || e->kind == JOURNAL_REVERSAL);
}

int journal_hash(const uint8_t prev[LEDGER_HASH_LEN], const uint8_t *body, size_t len,
                 uint8_t out[LEDGER_HASH_LEN])
{
    assert(prev != NULL && body != NULL && len > 0 && len <= JOURNAL_BODY_MAX);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, ledger_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, prev, LEDGER_HASH_LEN) == 1 &&
             EVP_DigestUpdate(ctx, body, len) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 &&
             n == LEDGER_HASH_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : SH_E_INTERNAL;
}

/* The chain's last hash (zeros before the first entry). */
static void journal_last_hash(struct store_txn *txn, uint8_t out[LEDGER_HASH_LEN])
{
    MDB_val v;
    memset(out, 0, LEDGER_HASH_LEN);
    if (!store_get(txn, STORE_DB_META, STORE_META_LAST_HASH, strlen(STORE_META_LAST_HASH), &v))
        return;
    if (v.mv_size != LEDGER_HASH_LEN)
        store_txn_fail_code(txn, SH_E_INTERNAL);
    else
        memcpy(out, v.mv_data, LEDGER_HASH_LEN);
}

void journal_append(struct store_txn *txn, struct journal_entry *e)
{
    e->seq = meta_take(txn, STORE_META_NEXT_SEQ);
    journal_last_hash(txn, e->prev_hash);
    if (txn->ret != 0)
        return;
    assert(e->kind == JOURNAL_SETTLE || e->kind == JOURNAL_REVERSAL);
    assert(e->settlement_id != 0 && e->seq != 0 && e->fund_count <= SH_FUNDS_MAX);
    uint8_t value[JOURNAL_VALUE_MAX];
    size_t body = journal_body_encode(e, value, JOURNAL_BODY_MAX);
    if (body == 0 || journal_hash(e->prev_hash, value, body, e->hash) != 0) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return;
    }
    assert(body + 2 * LEDGER_HASH_LEN <= sizeof value);
    memcpy(value + body, e->prev_hash, LEDGER_HASH_LEN);
    memcpy(value + body + LEDGER_HASH_LEN, e->hash, LEDGER_HASH_LEN);
    uint8_t key[8];
    store_key_u64(key, e->seq);
    store_put(txn, STORE_DB_JOURNAL, key, sizeof key, value, body + 2 * LEDGER_HASH_LEN);
    /* The journal_day index follows later (index_flush.h). */
    store_put(txn, STORE_DB_META, STORE_META_LAST_HASH, strlen(STORE_META_LAST_HASH), e->hash,
              LEDGER_HASH_LEN);
}
