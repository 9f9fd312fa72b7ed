/*
 * Test-only hooks of the ledger (linked in, harmless: nothing calls them
 * outside tests).
 */
#ifndef LEDGER_TEST_H
#define LEDGER_TEST_H

#include <stdint.h>

#include "ledger.h"

/* The nth LMDB put or delete from now fails with mdb_code (an LMDB or
 * errno code, as if LMDB had returned it). 0 clears the hook. */
void ledger_test_fail_write(struct ledger *ledger, uint32_t nth, int mdb_code);
/* Writes still to go before the injected failure; 0 once it happened or
 * when none is set. */
uint32_t ledger_test_fail_pending(const struct ledger *ledger);

/* The next ledger_sync fails as if fdatasync had returned code (an errno
 * or LMDB code), once; the ledger then refuses every later write, as after
 * a real failure. 0 clears the hook. */
void ledger_test_fail_sync(struct ledger *ledger, int code);

/* fn(ctx) runs inside every successful ledger_sync, after the sync and
 * before ledger_sync returns, on the syncing thread (NULL: none). Set it
 * before any thread syncs. */
void ledger_test_on_sync(struct ledger *ledger, void (*fn)(void *ctx), void *ctx);

/* SHA-256 over every key and value of one database ("accumulators",
 * "journal", ...; NULL: all of them, with their names), committed state. */
int ledger_test_digest(struct ledger *ledger, const char *db, uint8_t out[32]);

/* Entries above the marks of the requests and journal_day indexes
 * (index_flush.h), committed state. */
int ledger_test_index_lags(struct ledger *ledger, uint64_t *requests, uint64_t *journal);

/* What the store's write-ahead log did since open (store_wal_stats). */
struct store_wal_stats;
void ledger_test_wal_stats(struct ledger *ledger, struct store_wal_stats *out);

#endif
