/*
 * Two indexes are kept a little behind what they index, and brought up to
 * date a few thousand entries at a time:
 *   requests     over request_log   (mark: meta requests_indexed_through)
 *   journal_day  over journal       (mark: meta journal_day_indexed_through)
 * The log and the journal are appended under sequence numbers, so a batch's
 * entries share a page or two. Their indexes are keyed by hospital first:
 * written entry by entry, every hospital of a batch dirtied its own pages
 * of both (a page written per settle, for each), the most expensive part of
 * a commit with many counters. Written together, the entries of one
 * hospital share their pages.
 *
 * Nothing is lost in between: the log and the journal are the records, in
 * the settle's own transaction; the indexes can always be brought up to date
 * from them. Every reader looks at the index and then at the entries above
 * the mark (the writer through its request_tail map; readers by a short
 * scan, bounded by INDEX_LAG_MAX).
 */
#ifndef INDEX_FLUSH_H
#define INDEX_FLUSH_H

#include "request_tail.h"
#include "store.h"

/* A commit brings an index up to date once its tail reaches about this
 * (index_flush_due: the two take turns). */
#define INDEX_LAG_FLUSH 2048u
/* Within a batch no tail passes this (a reader's scan is at most this long):
 * a batch brings both up to date when the requests' tail reaches half of
 * it, and a commit leaves the journal_day index less than 2 * lag behind
 * (so lag is at most a quarter of it). */
#define INDEX_LAG_MAX 16384u
#define INDEX_LAG_FLUSH_MAX (INDEX_LAG_MAX / 4)

/* Brings one index up to date when its tail holds at least lag entries,
 * the two half a period apart (index_flush.c). tail: the writer's map
 * (emptied when the requests index is brought up to date), or NULL. */
void index_flush_due(struct store_txn *txn, struct request_tail *tail, uint64_t lag);
/* Brings both up to date now. */
void index_flush(struct store_txn *txn, struct request_tail *tail);

/* The journal_day index covers the journal up to this seq (0: none). */
uint64_t index_journal_mark(struct store_txn *txn);
/* Calls fn for every entry of db (STORE_DB_REQUEST_LOG or STORE_DB_JOURNAL)
 * above its index's mark, in sequence order; returns the mark. */
uint64_t index_scan_tail(struct store_txn *txn, enum store_db db, store_scan_fn fn, void *ctx);
/* Entries above the marks, from the meta counters. */
uint64_t index_requests_lag(struct store_txn *txn);
uint64_t index_journal_lag(struct store_txn *txn);

#endif
