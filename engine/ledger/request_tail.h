/*
 * The idempotency records not yet in the requests index, in memory.
 *
 * A settle, reverse or cancel writes its idempotency record to the
 * request_log (appended under a sequence number, so every batch's records
 * share a page or two) in its own transaction, as docs/rules.md asks. The
 * requests index ((hospital, request id) -> log sequence) is brought up to
 * date later, a few thousand records at a time (index_flush.c): written one
 * by one, its keys land on a different page for every hospital of the batch,
 * which made it the most expensive write of a settle.
 *
 * Until then the writer finds those records here: the map holds exactly the
 * request_log entries above the index's mark, as the open write transaction
 * sees them. Any transaction that is dropped leaves the map stale; it is
 * reloaded from the store before it is used again (requests.c). Readers
 * without a map scan the log above the mark instead (it is short).
 */
#ifndef REQUEST_TAIL_H
#define REQUEST_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sh_types.h"

struct request_tail;

/* NULL when out of memory. */
struct request_tail *request_tail_new(void);
void request_tail_free(struct request_tail *tail);

/* Forgets every record (after they went into the index). */
void request_tail_clear(struct request_tail *tail);

/* Records that (hospital, request_id) is log entry seq (> 0); a later put of
 * the same key replaces it. 0, or SH_E_INTERNAL when out of memory. */
int request_tail_put(struct request_tail *tail, const char *hospital, const char *request_id,
                     uint64_t seq);

/* The log entry of (hospital, request_id), or 0 when the map has none. */
uint64_t request_tail_find(const struct request_tail *tail, const char *hospital,
                           const char *request_id);

size_t request_tail_count(const struct request_tail *tail);

/* Stale: the map no longer matches the store (a transaction was dropped). */
void request_tail_set_stale(struct request_tail *tail, bool stale);
bool request_tail_stale(const struct request_tail *tail);

#endif
