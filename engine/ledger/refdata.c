#include "refdata.h"

#include <assert.h>
#include <string.h>

#include "store_codec.h"

#define REFDATA_VERSION 1
#define REFDATA_BUF_MAX 2048 /* more than the largest record (a person, ~1.6 KB) */

/* A key for a string: false when it cannot be one (empty or too long). */
static bool refdata_key_ok(const char *key, size_t cap)
{
    size_t n = key != NULL ? strlen(key) : 0;
    return n > 0 && n < cap;
}

static void refdata_put(struct store_txn *txn, enum store_db db, const char *key,
                        const struct store_w *w)
{
    if (w->bad) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return;
    }
    store_put(txn, db, key, strlen(key), w->p, w->len);
}

static bool refdata_decoded(struct store_txn *txn, const struct store_r *r)
{
    if (store_r_done(r))
        return true;
    store_txn_fail_code(txn, SH_E_INTERNAL); /* a record we did not write */
    return false;
}

/* ---- Persons ------------------------------------------------------------------- */

void refdata_person_put(struct store_txn *txn, const struct sh_person *p)
{
    assert(p->enrolled_count <= SH_ENROLLED_MAX && p->category_count <= SH_PERSON_CATS_MAX);
    uint8_t buf[REFDATA_BUF_MAX];
    struct store_w w;
    store_w_init(&w, buf, sizeof buf);
    store_w_u8(&w, REFDATA_VERSION);
    store_w_str(&w, p->name);
    store_w_str(&w, p->region);
    store_w_u32(&w, p->died);
    store_w_u8(&w, (uint8_t)p->enrolled_count);
    for (uint32_t i = 0; i < p->enrolled_count; i++)
        store_w_u32(&w, (uint32_t)p->enrolled[i]);
    store_w_u8(&w, (uint8_t)p->category_count);
    for (uint32_t i = 0; i < p->category_count; i++) {
        store_w_str(&w, p->categories[i].fund);
        store_w_str(&w, p->categories[i].category);
        store_w_u32(&w, p->categories[i].from);
        store_w_u32(&w, p->categories[i].to);
    }
    refdata_put(txn, STORE_DB_PERSONS, p->id, &w);
}

bool refdata_person_get(struct store_txn *txn, const char *id, struct sh_person *out)
{
    MDB_val v;
    if (!refdata_key_ok(id, sizeof out->id) ||
        !store_get(txn, STORE_DB_PERSONS, id, strlen(id), &v))
        return false;
    MDB_val k = {.mv_size = strlen(id), .mv_data = (void *)id};
    return refdata_person_decode(txn, &k, &v, out);
}

bool refdata_person_decode(struct store_txn *txn, const MDB_val *key, const MDB_val *val,
                           struct sh_person *out)
{
    if (key->mv_size == 0 || key->mv_size >= sizeof out->id) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return false;
    }
    const MDB_val *v = val;
    memset(out, 0, sizeof *out);
    memcpy(out->id, key->mv_data, key->mv_size);
    struct store_r r;
    store_r_init(&r, v->mv_data, v->mv_size);
    r.bad = store_r_u8(&r) != REFDATA_VERSION;
    store_r_str(&r, out->name, sizeof out->name);
    store_r_str(&r, out->region, sizeof out->region);
    out->died = store_r_u32(&r);
    out->enrolled_count = store_r_u8(&r);
    r.bad |= out->enrolled_count > SH_ENROLLED_MAX;
    for (uint32_t i = 0; !r.bad && i < out->enrolled_count; i++)
        out->enrolled[i] = (int32_t)store_r_u32(&r);
    out->category_count = store_r_u8(&r);
    r.bad |= out->category_count > SH_PERSON_CATS_MAX;
    for (uint32_t i = 0; !r.bad && i < out->category_count; i++) {
        struct sh_person_category *c = &out->categories[i];
        store_r_str(&r, c->fund, sizeof c->fund);
        store_r_str(&r, c->category, sizeof c->category);
        c->from = store_r_u32(&r);
        c->to = store_r_u32(&r);
    }
    return refdata_decoded(txn, &r);
}

/* ---- Hospitals ----------------------------------------------------------------- */

void refdata_hospital_put(struct store_txn *txn, const struct sh_hospital *h)
{
    assert(h->fund_count <= SH_FUNDS_MAX && h->level < SH_LEVEL_COUNT);
    uint8_t buf[REFDATA_BUF_MAX];
    struct store_w w;
    store_w_init(&w, buf, sizeof buf);
    store_w_u8(&w, REFDATA_VERSION);
    store_w_u8(&w, (uint8_t)h->level);
    store_w_str(&w, h->region);
    store_w_u8(&w, (uint8_t)h->fund_count);
    for (uint32_t i = 0; i < h->fund_count; i++)
        store_w_str(&w, h->funds[i]);
    store_w_str(&w, h->name);
    refdata_put(txn, STORE_DB_HOSPITALS, h->code, &w);
}

bool refdata_hospital_get(struct store_txn *txn, const char *code, struct sh_hospital *out)
{
    MDB_val v;
    if (!refdata_key_ok(code, sizeof out->code) ||
        !store_get(txn, STORE_DB_HOSPITALS, code, strlen(code), &v))
        return false;
    memset(out, 0, sizeof *out);
    memcpy(out->code, code, strlen(code));
    struct store_r r;
    store_r_init(&r, v.mv_data, v.mv_size);
    r.bad = store_r_u8(&r) != REFDATA_VERSION;
    uint8_t level = store_r_u8(&r);
    r.bad |= level >= SH_LEVEL_COUNT;
    out->level = (enum sh_level)level;
    store_r_str(&r, out->region, sizeof out->region);
    out->fund_count = store_r_u8(&r);
    r.bad |= out->fund_count > SH_FUNDS_MAX;
    for (uint32_t i = 0; !r.bad && i < out->fund_count; i++)
        store_r_str(&r, out->funds[i], sizeof out->funds[i]);
    store_r_str(&r, out->name, sizeof out->name);
    return refdata_decoded(txn, &r);
}

/* ---- Catalog items: looked up for every line of every claim, so the fields
 * the rules need come first and the name (only for display) last. -------------- */

void refdata_item_put(struct store_txn *txn, const struct sh_item *item)
{
    uint8_t buf[REFDATA_BUF_MAX];
    struct store_w w;
    store_w_init(&w, buf, sizeof buf);
    store_w_u8(&w, REFDATA_VERSION);
    store_w_u8(&w, (uint8_t)item->cls);
    store_w_u32(&w, (uint32_t)item->selfpay_bp);
    store_w_i64(&w, item->price_cap);
    store_w_str(&w, item->name);
    refdata_put(txn, STORE_DB_CATALOG, item->code, &w);
}

bool refdata_item_get(struct store_txn *txn, const char *code, struct sh_item *out)
{
    MDB_val v;
    if (!refdata_key_ok(code, sizeof out->code) ||
        !store_get(txn, STORE_DB_CATALOG, code, strlen(code), &v))
        return false;
    size_t n = strlen(code);
    memcpy(out->code, code, n + 1);
    struct store_r r;
    store_r_init(&r, v.mv_data, v.mv_size);
    r.bad = store_r_u8(&r) != REFDATA_VERSION;
    uint8_t cls = store_r_u8(&r);
    r.bad |= cls != SH_CLASS_A && cls != SH_CLASS_B && cls != SH_CLASS_C;
    out->cls = (enum sh_item_class)cls;
    out->selfpay_bp = (int32_t)store_r_u32(&r);
    out->price_cap = store_r_i64(&r);
    store_r_str(&r, out->name, sizeof out->name);
    return refdata_decoded(txn, &r);
}

/* ---- Terminals ------------------------------------------------------------------- */

void refdata_terminal_put(struct store_txn *txn, const struct ledger_terminal *t)
{
    uint8_t buf[REFDATA_BUF_MAX];
    struct store_w w;
    store_w_init(&w, buf, sizeof buf);
    store_w_u8(&w, REFDATA_VERSION);
    store_w_u8(&w, (uint8_t)t->role);
    store_w_str(&w, t->hospital);
    /* Optional, last: a record without it (written before it existed) is
     * read as before. */
    if (t->has_lookup_rate)
        store_w_u32(&w, t->lookups_per_minute);
    refdata_put(txn, STORE_DB_TERMINALS, t->name, &w);
}

bool refdata_terminal_get(struct store_txn *txn, const char *name, struct ledger_terminal *out)
{
    MDB_val v;
    if (!refdata_key_ok(name, sizeof out->name) ||
        !store_get(txn, STORE_DB_TERMINALS, name, strlen(name), &v))
        return false;
    memset(out, 0, sizeof *out);
    memcpy(out->name, name, strlen(name));
    struct store_r r;
    store_r_init(&r, v.mv_data, v.mv_size);
    r.bad = store_r_u8(&r) != REFDATA_VERSION;
    uint8_t role = store_r_u8(&r);
    r.bad |= role > SH_ROLE_ADMIN;
    out->role = (enum sh_role)role;
    store_r_str(&r, out->hospital, sizeof out->hospital);
    if (!r.bad && r.pos < r.len) {
        out->has_lookup_rate = true;
        out->lookups_per_minute = store_r_u32(&r);
    }
    return refdata_decoded(txn, &r);
}
