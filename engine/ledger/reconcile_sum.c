/*
 * A hospital-day's journal entries, summed. The journal_day index (day,
 * hospital, seq) gives a hospital-day's entries in commit order with one
 * cursor range; each entry is then read from the journal itself, so that
 * the figures are exactly what the hash chain covers. The entries above the
 * index's mark (index_flush.h: at most a few thousand, all later than the
 * indexed ones) are read from the journal directly.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "index_flush.h"
#include "reconcile.h"
#include "store_keys.h"

static int add_fen(sh_fen *into, sh_fen v)
{
    return __builtin_add_overflow(*into, v, into) ? SH_E_LIMIT_EXCEEDED : 0;
}

/* The fund's slot in t->funds (kept sorted by id), made when new. */
static struct journal_fund *fund_slot(struct recon_totals *t, const char *fund)
{
    uint32_t i = 0;
    int cmp = 1;
    while (i < t->fund_count && (cmp = strcmp(t->funds[i].fund, fund)) < 0)
        i++;
    if (i < t->fund_count && cmp == 0)
        return &t->funds[i];
    if (t->fund_count == RECON_FUNDS_MAX)
        return NULL;
    memmove(&t->funds[i + 1], &t->funds[i], (t->fund_count - i) * sizeof t->funds[0]);
    t->fund_count++;
    memset(&t->funds[i], 0, sizeof t->funds[i]);
    memcpy(t->funds[i].fund, fund, strnlen(fund, SH_ID_MAX - 1));
    /* Kept sorted by id, each fund once (the reply's order). */
    assert(t->fund_count <= RECON_FUNDS_MAX);
    assert(i == 0 || strcmp(t->funds[i - 1].fund, t->funds[i].fund) < 0);
    return &t->funds[i];
}

static int add_fund(struct recon_totals *t, const char *fund, sh_fen pay)
{
    struct journal_fund *slot = fund_slot(t, fund);
    return slot != NULL ? add_fen(&slot->pay, pay) : SH_E_LIMIT_EXCEEDED;
}

int recon_totals_add(struct recon_totals *t, const struct journal_entry *e)
{
    int rc = add_fen(&t->total, e->total);
    rc = rc != 0 ? rc : add_fen(&t->fund_total, e->fund_total);
    rc = rc != 0 ? rc : add_fen(&t->patient_pays, e->patient_pays);
    for (uint32_t i = 0; rc == 0 && i < e->fund_count; i++)
        rc = add_fund(t, e->funds[i].fund, e->funds[i].pay);
    t->count++;
    return rc;
}

int recon_totals_merge(struct recon_totals *into, const struct recon_totals *from)
{
    int rc = add_fen(&into->total, from->total);
    rc = rc != 0 ? rc : add_fen(&into->fund_total, from->fund_total);
    rc = rc != 0 ? rc : add_fen(&into->patient_pays, from->patient_pays);
    for (uint32_t i = 0; rc == 0 && i < from->fund_count; i++)
        rc = add_fund(into, from->funds[i].fund, from->funds[i].pay);
    into->count += from->count;
    return rc;
}

int recon_items_push(struct recon_items *list, const struct recon_item *item)
{
    if (list->count == list->cap) {
        size_t cap = list->cap > 0 ? list->cap * 2 : 64;
        struct recon_item *items = realloc(list->items, cap * sizeof *items);
        if (items == NULL)
            return SH_E_INTERNAL;
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = *item;
    return 0;
}

void recon_items_free(struct recon_items *list)
{
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* The hour (0..23) of an entry's time in the business day's zone. */
static int entry_hour(const struct journal_entry *e, int32_t utc_offset_min)
{
    int64_t local_s = e->time_ms / 1000 + (int64_t)utc_offset_min * 60;
    int64_t hour = (local_s / 3600) % 24;
    return (int)(hour < 0 ? hour + 24 : hour);
}

static struct recon_totals *hours_new(void)
{
    return calloc(RECON_HOURS, sizeof(struct recon_totals));
}

/* One entry into a hospital's sums: its kind's, the net, its hour, and as
 * an item. */
static int hospital_add(struct recon_hospital *h, const struct journal_entry *e,
                        const struct recon_want *want)
{
    bool settle = e->kind == JOURNAL_SETTLE;
    int rc = recon_totals_add(settle ? &h->settle : &h->reversal, e);
    if (rc == 0)
        rc = recon_totals_add(&h->net, e);
    if (rc == 0 && h->hours != NULL)
        rc = recon_totals_add(&h->hours[entry_hour(e, want->utc_offset_min)], e);
    if (rc == 0 && settle && want->items) {
        struct recon_item item = {
            .id = e->settlement_id, .total = e->total, .fund_total = e->fund_total};
        rc = recon_items_push(&h->items, &item);
    }
    return rc;
}

/* The journal entry an index key names; it must be of that day and hospital. */
static int entry_of_key(struct store_txn *txn, const MDB_val *key, struct journal_entry *e,
                        char hospital[STORE_PAD])
{
    if (key->mv_size != STORE_DAY_KEY_LEN)
        return SH_E_INTERNAL;
    const uint8_t *k = key->mv_data;
    store_pad_get(k + 4, hospital);
    MDB_val v;
    if (!store_get(txn, STORE_DB_JOURNAL, k + STORE_DAY_PREFIX_LEN, 8, &v))
        return txn->ret != 0 ? txn->ret : SH_E_INTERNAL;
    if (!journal_decode(v.mv_data, v.mv_size, e) || e->day != store_be32_get(k) ||
        strcmp(e->hospital, hospital) != 0 || e->seq != store_be64_get(k + STORE_DAY_PREFIX_LEN))
        return SH_E_INTERNAL; /* ledger_check names it */
    return 0;
}

/* The journal above the index's mark: entries of one day (and hospital). */
struct tail_scan {
    uint32_t day;
    const char *hospital; /* NULL: every hospital */
    int (*fn)(void *ctx, const struct journal_entry *e);
    void *ctx;
};

static int tail_scan_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct tail_scan *t = ctx;
    struct journal_entry e;
    if (key->mv_size != 8 || !journal_decode(val->mv_data, val->mv_size, &e) ||
        e.seq != store_be64_get(key->mv_data))
        return SH_E_INTERNAL; /* ledger_check names it */
    if (e.day != t->day || (t->hospital != NULL && strcmp(e.hospital, t->hospital) != 0))
        return 0;
    return t->fn(t->ctx, &e);
}

struct scan_one {
    struct store_txn *txn;
    struct recon_hospital *h;
    const struct recon_want *want;
};

static int scan_one_entry(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    struct scan_one *s = ctx;
    struct journal_entry e;
    char hospital[STORE_PAD];
    int rc = entry_of_key(s->txn, key, &e, hospital);
    return rc != 0 ? rc : hospital_add(s->h, &e, s->want);
}

static int tail_one_entry(void *ctx, const struct journal_entry *e)
{
    struct scan_one *s = ctx;
    return hospital_add(s->h, e, s->want);
}

int recon_scan_hospital(struct store_txn *txn, uint32_t day, const char *hospital,
                        const struct recon_want *want, struct recon_hospital *out)
{
    memset(out, 0, sizeof *out);
    uint8_t prefix[STORE_DAY_KEY_LEN];
    if (store_key_day(prefix, day, hospital, 0) < 0)
        return SH_E_UNKNOWN_HOSPITAL;
    memcpy(out->hospital, hospital, strlen(hospital) + 1);
    if (want->hours && (out->hours = hours_new()) == NULL)
        return SH_E_INTERNAL;
    struct scan_one s = {.txn = txn, .h = out, .want = want};
    store_scan(txn, STORE_DB_JOURNAL_DAY, prefix, STORE_DAY_PREFIX_LEN, scan_one_entry, &s);
    struct tail_scan t = {.day = day, .hospital = hospital, .fn = tail_one_entry, .ctx = &s};
    index_scan_tail(txn, STORE_DB_JOURNAL, tail_scan_one, &t);
    return txn->ret;
}

/* ---- The whole day -------------------------------------------------------------------- */

struct scan_day {
    struct store_txn *txn;
    struct recon_day *d;
    const struct recon_want *want;
};

/* The hospital's sums, or new ones. The index's keys come in hospital
 * order, so the last one is the likely one; the tail's come in any order. */
static struct recon_hospital *day_hospital(struct recon_day *d, const char *hospital)
{
    for (size_t i = d->count; i > 0; i--)
        if (strcmp(d->hospitals[i - 1].hospital, hospital) == 0)
            return &d->hospitals[i - 1];
    if (d->count == d->cap) {
        size_t cap = d->cap > 0 ? d->cap * 2 : 16;
        struct recon_hospital *hs = realloc(d->hospitals, cap * sizeof *hs);
        if (hs == NULL)
            return NULL;
        d->hospitals = hs;
        d->cap = cap;
    }
    struct recon_hospital *h = &d->hospitals[d->count++];
    memset(h, 0, sizeof *h);
    memcpy(h->hospital, hospital, strnlen(hospital, SH_CODE_MAX - 1));
    return h;
}

static int day_add(struct scan_day *s, const struct journal_entry *e)
{
    struct recon_hospital *h = day_hospital(s->d, e->hospital);
    struct recon_want want = {.utc_offset_min = s->want->utc_offset_min};
    int rc = h != NULL ? hospital_add(h, e, &want) : SH_E_INTERNAL;
    if (rc == 0 && s->d->hours != NULL) /* the day's hours, not each hospital's */
        rc = recon_totals_add(&s->d->hours[entry_hour(e, want.utc_offset_min)], e);
    return rc;
}

static int scan_day_entry(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    struct scan_day *s = ctx;
    struct journal_entry e;
    char hospital[STORE_PAD];
    int rc = entry_of_key(s->txn, key, &e, hospital);
    return rc != 0 ? rc : day_add(s, &e);
}

static int tail_day_entry(void *ctx, const struct journal_entry *e) { return day_add(ctx, e); }

static int hospital_cmp(const void *a, const void *b)
{
    return strcmp(((const struct recon_hospital *)a)->hospital,
                  ((const struct recon_hospital *)b)->hospital);
}

int recon_scan_day(struct store_txn *txn, uint32_t day, const struct recon_want *want,
                   struct recon_day *out)
{
    memset(out, 0, sizeof *out);
    if (want->hours && (out->hours = hours_new()) == NULL)
        return SH_E_INTERNAL;
    uint8_t prefix[4];
    store_be32_put(prefix, day);
    struct scan_day s = {.txn = txn, .d = out, .want = want};
    store_scan(txn, STORE_DB_JOURNAL_DAY, prefix, sizeof prefix, scan_day_entry, &s);
    struct tail_scan t = {.day = day, .fn = tail_day_entry, .ctx = &s};
    index_scan_tail(txn, STORE_DB_JOURNAL, tail_scan_one, &t);
    if (out->count > 1) /* in code order, as the reply promises */
        qsort(out->hospitals, out->count, sizeof *out->hospitals, hospital_cmp);
    int rc = txn->ret;
    for (size_t i = 0; rc == 0 && i < out->count; i++) {
        rc = recon_totals_merge(&out->settle, &out->hospitals[i].settle);
        rc = rc != 0 ? rc : recon_totals_merge(&out->reversal, &out->hospitals[i].reversal);
        rc = rc != 0 ? rc : recon_totals_merge(&out->net, &out->hospitals[i].net);
    }
    return rc;
}

void recon_hospital_free(struct recon_hospital *h)
{
    recon_items_free(&h->items);
    free(h->hours);
    h->hours = NULL;
}

void recon_day_free(struct recon_day *d)
{
    for (size_t i = 0; i < d->count; i++)
        recon_hospital_free(&d->hospitals[i]);
    free(d->hospitals);
    free(d->hours);
    memset(d, 0, sizeof *d);
}
