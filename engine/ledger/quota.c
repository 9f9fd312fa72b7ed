/*
 * Write quotas (docs/limits.md#write-quotas): what one hospital may add to
 * the store per business day, so that a stolen clinic certificate cannot
 * fill the store for every hospital.
 *
 *   meta   "quota/" hospital -> u8 version (1), u32 day (yyyymmdd),
 *          u64 settlements, u64 stored bytes, u64 unknown cancels
 *
 * One record per hospital, rewritten by each of its writes in the same
 * transaction as the write itself (the batch's): the counts are exactly as
 * durable as what they count, survive a restart with no scan at open, and
 * a batch rebuilt after a full map (ledger_batch.c) counts again from what
 * its transaction holds. A record of an older day counts as zero: the
 * counts roll over at the business day (utc_offset_min), and the record is
 * overwritten by the hospital's first write of the new day.
 *
 * The checks run before the op writes anything: a refusal changes nothing.
 * Only new records count: an idempotent retry of a settle answered already
 * is answered again whatever the counts.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_internal.h"
#include "refdata.h"
#include "sh_rules.h"
#include "store_codec.h"
#include "store_keys.h"

#define QUOTA_VERSION 1
#define QUOTA_KEY_PREFIX "quota/"
#define QUOTA_KEY_MAX (sizeof QUOTA_KEY_PREFIX + SH_CODE_MAX)
#define QUOTA_VALUE_LEN (1 + 4 + 8 * LEDGER_QUOTA_DAILY_KINDS)
/* Hospitals with refusals counted in memory (metrics); more share the last. */
#define QUOTA_HOSPITALS_MAX 4096

static const char *const quota_names[LEDGER_QUOTA_KINDS] = {"settlements", "stored_bytes",
                                                            "unknown_cancels", "claim_lines"};

const char *ledger_quota_name(enum ledger_quota_kind kind)
{
    return (unsigned)kind < LEDGER_QUOTA_KINDS ? quota_names[kind] : "unknown";
}

void quota_init(struct ledger *ledger, const struct ledger_quota *quota)
{
    ledger->quota = *quota;
    ledger->quota_on = false;
    for (int k = 0; k < LEDGER_QUOTA_DAILY_KINDS; k++)
        for (int l = 0; l < SH_LEVEL_COUNT; l++)
            ledger->quota_on |= quota->per_day[k][l] != 0;
    for (int v = 0; v < SH_VISIT_COUNT; v++)
        ledger->quota_on |= quota->claim_lines_max[v] != 0;
    ledger->quota_lock_ready = pthread_mutex_init(&ledger->quota_lock, NULL) == 0;
}

void quota_free(struct ledger *ledger)
{
    free(ledger->quota_refusals);
    ledger->quota_refusals = NULL;
    if (ledger->quota_lock_ready)
        pthread_mutex_destroy(&ledger->quota_lock);
    ledger->quota_lock_ready = false;
}

void ledger_quota_observe(struct ledger *ledger,
                          void (*fn)(void *ctx, const struct ledger_quota_event *e), void *ctx)
{
    assert(ledger != NULL);
    ledger->quota_fn = fn;
    ledger->quota_ctx = ctx;
}

size_t ledger_quota_refusals(struct ledger *ledger, struct ledger_quota_refusals *out, size_t cap)
{
    assert(ledger != NULL && (cap == 0 || out != NULL));
    if (!ledger->quota_lock_ready)
        return 0;
    pthread_mutex_lock(&ledger->quota_lock);
    size_t n = ledger->quota_refusal_len;
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = ledger->quota_refusals[i];
    pthread_mutex_unlock(&ledger->quota_lock);
    return n;
}

/* Counts the refusal and tells the observer (outside the lock). */
static void quota_refused(struct ledger_op *op, enum ledger_quota_kind kind, uint64_t used,
                          uint64_t limit)
{
    struct ledger *ledger = op->ledger;
    uint64_t refused = 0;
    if (ledger->quota_lock_ready) {
        pthread_mutex_lock(&ledger->quota_lock);
        if (ledger->quota_refusals == NULL)
            ledger->quota_refusals = calloc(QUOTA_HOSPITALS_MAX, sizeof *ledger->quota_refusals);
        struct ledger_quota_refusals *r = NULL;
        for (size_t i = 0; ledger->quota_refusals != NULL && i < ledger->quota_refusal_len; i++)
            if (strcmp(ledger->quota_refusals[i].hospital, op->caller->hospital) == 0)
                r = &ledger->quota_refusals[i];
        if (r == NULL && ledger->quota_refusals != NULL) {
            size_t at = ledger->quota_refusal_len < QUOTA_HOSPITALS_MAX
                            ? ledger->quota_refusal_len++
                            : QUOTA_HOSPITALS_MAX - 1;
            r = &ledger->quota_refusals[at];
            snprintf(r->hospital, sizeof r->hospital, "%s", op->caller->hospital);
        }
        if (r != NULL)
            refused = ++r->refused[kind];
        pthread_mutex_unlock(&ledger->quota_lock);
    }
    if (ledger->quota_fn != NULL) {
        struct ledger_quota_event e = {
            .kind = kind, .caller = op->caller, .used = used, .limit = limit, .refused = refused};
        ledger->quota_fn(ledger->quota_ctx, &e);
    }
}

int quota_claim_check(struct ledger_op *op, const Sanhe__Claim *claim, const char *opname)
{
    /* Past SH_CLAIM_LINES_MAX the claim is malformed: BAD_CLAIM (convert.c). */
    if (!op->ledger->quota_on || claim->visit == NULL || claim->n_lines > SH_CLAIM_LINES_MAX)
        return 0;
    int visit = sh_visit_parse(claim->visit);
    if (visit < 0 || visit >= SH_VISIT_COUNT)
        return 0; /* the rules refuse it */
    uint32_t max = op->ledger->quota.claim_lines_max[visit];
    if (max == 0 || claim->n_lines <= max)
        return 0;
    quota_refused(op, LEDGER_QUOTA_CLAIM_LINES, claim->n_lines, max);
    return sh_error_set(&op->err, SH_E_CLAIM_TOO_LARGE,
                        "%s: the claim has %zu lines; a %s claim may have at most %u "
                        "(claim_lines_max_%s); nothing was recorded",
                        opname, claim->n_lines, claim->visit, max, claim->visit);
}

static size_t quota_key(const char *hospital, uint8_t key[QUOTA_KEY_MAX])
{
    size_t n = strnlen(hospital, SH_CODE_MAX - 1);
    memcpy(key, QUOTA_KEY_PREFIX, sizeof QUOTA_KEY_PREFIX - 1);
    memcpy(key + sizeof QUOTA_KEY_PREFIX - 1, hospital, n);
    return sizeof QUOTA_KEY_PREFIX - 1 + n;
}

void quota_load(struct ledger_op *op, struct quota_state *q)
{
    memset(q, 0, sizeof *q);
    q->put_bytes0 = op->txn->put_bytes;
    const char *hospital = op->caller->hospital;
    if (!op->ledger->quota_on || hospital[0] == '\0' || op->txn->read_only)
        return;
    q->on = true;
    struct sh_hospital h;
    q->level = refdata_hospital_get(op->txn, hospital, &h) && (unsigned)h.level < SH_LEVEL_COUNT
                   ? (int)h.level
                   : SH_LEVEL_VILLAGE; /* refused later anyway; the smallest share till then */
    uint8_t key[QUOTA_KEY_MAX];
    MDB_val v;
    if (!store_get(op->txn, STORE_DB_META, key, quota_key(hospital, key), &v))
        return;
    struct store_r r;
    store_r_init(&r, v.mv_data, v.mv_size);
    uint8_t version = store_r_u8(&r);
    uint32_t day = store_r_u32(&r);
    uint64_t used[LEDGER_QUOTA_DAILY_KINDS];
    for (int k = 0; k < LEDGER_QUOTA_DAILY_KINDS; k++)
        used[k] = store_r_u64(&r);
    /* Another day's (or an unreadable) record: today nothing is used yet. */
    if (store_r_done(&r) && version == QUOTA_VERSION && day == op->day)
        memcpy(q->used, used, sizeof used);
    q->put_bytes0 = op->txn->put_bytes; /* the reads above wrote nothing */
}

int quota_admit(struct ledger_op *op, const struct quota_state *q, enum ledger_quota_kind kind)
{
    assert(kind == LEDGER_QUOTA_SETTLEMENTS || kind == LEDGER_QUOTA_UNKNOWN_CANCELS);
    if (!q->on || op->txn->ret != 0)
        return op->txn->ret;
    const enum ledger_quota_kind kinds[2] = {kind, LEDGER_QUOTA_STORED_BYTES};
    for (int i = 0; i < 2; i++) {
        uint64_t limit = op->ledger->quota.per_day[kinds[i]][q->level];
        if (limit == 0 || q->used[kinds[i]] < limit)
            continue;
        quota_refused(op, kinds[i], q->used[kinds[i]], limit);
        return sh_error_set(&op->err, SH_E_QUOTA_EXCEEDED,
                            "hospital %s reached its %s quota of the day (%llu; level %s): "
                            "nothing was recorded; the quota is renewed at the next business day",
                            op->caller->hospital, ledger_quota_name(kinds[i]),
                            (unsigned long long)limit, sh_level_name((enum sh_level)q->level));
    }
    return 0;
}

void quota_charge(struct ledger_op *op, struct quota_state *q, enum ledger_quota_kind kind)
{
    if (!q->on || op->txn->ret != 0)
        return;
    assert(op->txn->put_bytes >= q->put_bytes0);
    if (kind != LEDGER_QUOTA_STORED_BYTES)
        q->used[kind]++;
    q->used[LEDGER_QUOTA_STORED_BYTES] += op->txn->put_bytes - q->put_bytes0;
    uint8_t val[QUOTA_VALUE_LEN];
    struct store_w w;
    store_w_init(&w, val, sizeof val);
    store_w_u8(&w, QUOTA_VERSION);
    store_w_u32(&w, op->day);
    for (int k = 0; k < LEDGER_QUOTA_DAILY_KINDS; k++)
        store_w_u64(&w, q->used[k]);
    assert(!w.bad && w.len == sizeof val);
    uint8_t key[QUOTA_KEY_MAX];
    store_put(op->txn, STORE_DB_META, key, quota_key(op->caller->hospital, key), val, w.len);
    q->put_bytes0 = op->txn->put_bytes;
}

int ledger_quota_used(struct ledger *ledger, const char *hospital, uint32_t day,
                      uint64_t used[LEDGER_QUOTA_DAILY_KINDS])
{
    assert(ledger != NULL && hospital != NULL && used != NULL);
    memset(used, 0, LEDGER_QUOTA_DAILY_KINDS * sizeof *used);
    struct store_txn txn;
    ledger_lock_shared(ledger);
    int rc = store_read_begin_own(&ledger->store, &txn);
    if (rc == 0) {
        uint8_t key[QUOTA_KEY_MAX];
        MDB_val v;
        if (store_get(&txn, STORE_DB_META, key, quota_key(hospital, key), &v)) {
            struct store_r r;
            store_r_init(&r, v.mv_data, v.mv_size);
            uint8_t version = store_r_u8(&r);
            uint32_t d = store_r_u32(&r);
            uint64_t u[LEDGER_QUOTA_DAILY_KINDS];
            for (int k = 0; k < LEDGER_QUOTA_DAILY_KINDS; k++)
                u[k] = store_r_u64(&r);
            if (store_r_done(&r) && version == QUOTA_VERSION && d == day)
                memcpy(used, u, sizeof u);
        }
        rc = txn.ret;
        store_read_end(&txn);
    }
    ledger_unlock(ledger);
    return rc;
}
