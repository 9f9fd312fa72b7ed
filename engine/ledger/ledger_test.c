/* Test-only hooks: see ledger_test.h. */
#include "ledger_test.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <string.h>

#include "index_flush.h"
#include "ledger_internal.h"
#include "store_keys.h"

void ledger_test_fail_write(struct ledger *ledger, uint32_t nth, int mdb_code)
{
    ledger->store.fail_nth = nth;
    ledger->store.fail_code = mdb_code;
}

uint32_t ledger_test_fail_pending(const struct ledger *ledger) { return ledger->store.fail_nth; }

void ledger_test_fail_sync(struct ledger *ledger, int code)
{
    atomic_store(&ledger->store.fail_sync, code);
}

void ledger_test_on_sync(struct ledger *ledger, void (*fn)(void *ctx), void *ctx)
{
    ledger->store.sync_hook = fn;
    ledger->store.sync_hook_ctx = ctx;
}

static int digest_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    EVP_MD_CTX *md = ctx;
    uint8_t len[8];
    store_be32_put(len, (uint32_t)key->mv_size);
    store_be32_put(len + 4, (uint32_t)val->mv_size);
    if (EVP_DigestUpdate(md, len, sizeof len) != 1 ||
        EVP_DigestUpdate(md, key->mv_data, key->mv_size) != 1 ||
        (val->mv_size > 0 && EVP_DigestUpdate(md, val->mv_data, val->mv_size) != 1))
        return SH_E_INTERNAL;
    return 0;
}

int ledger_test_digest(struct ledger *ledger, const char *db, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return SH_E_INTERNAL;
    }
    struct store_txn txn;
    int rc = store_read_begin(&ledger->store, &txn);
    bool found = false;
    for (int i = 0; rc == 0 && i < STORE_DB_COUNT; i++) {
        const char *name = store_db_name((enum store_db)i);
        if (db != NULL && strcmp(db, name) != 0)
            continue;
        found = true;
        if (db == NULL)
            EVP_DigestUpdate(md, name, strlen(name) + 1);
        store_scan(&txn, (enum store_db)i, NULL, 0, digest_one, md);
        rc = txn.ret;
    }
    store_read_end(&txn);
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32)
        rc = SH_E_INTERNAL;
    EVP_MD_CTX_free(md);
    return rc == 0 && !found ? SH_E_NOT_FOUND : rc;
}

int ledger_test_index_lags(struct ledger *ledger, uint64_t *requests, uint64_t *journal)
{
    struct store_txn txn;
    int rc = store_read_begin(&ledger->store, &txn);
    if (rc == 0) {
        *requests = index_requests_lag(&txn);
        *journal = index_journal_lag(&txn);
        rc = txn.ret;
    }
    store_read_end(&txn);
    return rc;
}

void ledger_test_wal_stats(struct ledger *ledger, struct store_wal_stats *out)
{
    store_wal_stats(&ledger->store, out);
}
