#include "index_flush.h"

#include <assert.h>

#include "journal.h"
#include "requests.h"
#include "settlement.h"
#include "store_keys.h"

/* The meta key of the mark of db's index. */
static const char *mark_of(enum store_db db)
{
    assert(db == STORE_DB_REQUEST_LOG || db == STORE_DB_JOURNAL);
    return db == STORE_DB_REQUEST_LOG ? STORE_META_REQUESTS_INDEXED
                                      : STORE_META_JOURNAL_DAY_INDEXED;
}

uint64_t index_journal_mark(struct store_txn *txn)
{
    return meta_get(txn, mark_of(STORE_DB_JOURNAL), 0);
}

uint64_t index_scan_tail(struct store_txn *txn, enum store_db db, store_scan_fn fn, void *ctx)
{
    uint64_t mark = meta_get(txn, mark_of(db), 0);
    uint8_t from[8];
    store_key_u64(from, mark + 1);
    store_scan_from(txn, db, from, sizeof from, fn, ctx);
    return mark;
}

/* Entries numbered from 1 by the counter next, up to mark indexed. */
static uint64_t lag_of(struct store_txn *txn, const char *next, const char *mark)
{
    uint64_t last = meta_peek(txn, next) - 1;
    uint64_t indexed = meta_get(txn, mark, 0);
    if (txn->ret == 0 && indexed > last)
        store_txn_fail_code(txn, SH_E_INTERNAL); /* a mark past the end */
    return txn->ret == 0 ? last - indexed : 0;
}

uint64_t index_requests_lag(struct store_txn *txn)
{
    return lag_of(txn, STORE_META_NEXT_REQUEST, mark_of(STORE_DB_REQUEST_LOG));
}

uint64_t index_journal_lag(struct store_txn *txn)
{
    return lag_of(txn, STORE_META_NEXT_SEQ, mark_of(STORE_DB_JOURNAL));
}

/* ---- Bringing the indexes up to date --------------------------------------------- */

struct flush_walk {
    struct store_txn *txn;
    uint64_t last; /* the last entry indexed */
};

static int flush_request(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct flush_walk *w = ctx;
    struct request_log_entry e;
    if (key->mv_size != 8 || !request_log_decode(val, &e))
        return SH_E_INTERNAL;
    assert(store_be64_get(key->mv_data) > w->last); /* a cursor walks the log in order */
    w->last = store_be64_get(key->mv_data);
    request_index_put(w->txn, e.hospital, e.request_id, w->last);
    return w->txn->ret;
}

static int flush_journal(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct flush_walk *w = ctx;
    struct journal_entry e;
    uint8_t day_key[STORE_DAY_KEY_LEN];
    if (key->mv_size != 8 || !journal_decode(val->mv_data, val->mv_size, &e) ||
        store_key_day(day_key, e.day, e.hospital, e.seq) < 0)
        return SH_E_INTERNAL;
    assert(e.seq > w->last && e.seq == store_be64_get(key->mv_data));
    w->last = e.seq;
    store_put(w->txn, STORE_DB_JOURNAL_DAY, day_key, sizeof day_key, "", 0);
    return w->txn->ret;
}

/* Indexes every entry of db above the mark, then moves the mark. */
static void flush_one(struct store_txn *txn, enum store_db db, store_scan_fn fn)
{
    struct flush_walk w = {.txn = txn};
    uint64_t mark = index_scan_tail(txn, db, fn, &w);
    assert(w.last == 0 || w.last > mark); /* the tail starts above the mark */
    if (w.last > mark)
        meta_set(txn, mark_of(db), w.last);
}

static void flush_requests(struct store_txn *txn, struct request_tail *tail)
{
    flush_one(txn, STORE_DB_REQUEST_LOG, flush_request);
    if (tail == NULL)
        return;
    request_tail_clear(tail);
    request_tail_set_stale(tail, txn->ret != 0);
}

void index_flush(struct store_txn *txn, struct request_tail *tail)
{
    flush_requests(txn, tail);
    flush_one(txn, STORE_DB_JOURNAL, flush_journal);
}

/*
 * One index per commit, half a period apart. Each index's flush dirties a
 * leaf of it per hospital, a few hundred pages with a hundred counters,
 * and the commit that carries it is the slowest of its period; both in one
 * commit made it twice as slow. From the start: at lag, requests; the
 * journal_day index waits until the requests' lag is half of lag again
 * (half a period later), and from then on each comes half a period after
 * the other. Its lag stays below 2 * lag plus a batch: at 2 * lag it is
 * brought up to date whatever the other does.
 */
void index_flush_due(struct store_txn *txn, struct request_tail *tail, uint64_t lag)
{
    if (txn->ret != 0)
        return;
    uint64_t requests = index_requests_lag(txn);
    uint64_t journal = index_journal_lag(txn);
    bool requests_due = requests >= lag;
    /* The bound first: with batches of lag entries or more the requests
     * are due at every commit, and the journal_day index must not starve. */
    bool journal_due =
        journal >= 2 * lag || (!requests_due && requests >= lag / 2 && journal >= lag);
    if (requests_due)
        flush_requests(txn, tail);
    if (journal_due)
        flush_one(txn, STORE_DB_JOURNAL, flush_journal);
    /* What was brought up to date has no tail left. */
    assert(txn->ret != 0 || !requests_due || index_requests_lag(txn) == 0);
    assert(txn->ret != 0 || !journal_due || index_journal_lag(txn) == 0);
}
