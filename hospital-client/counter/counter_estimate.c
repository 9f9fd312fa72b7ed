/*
 * Presettle estimates for the village clinic's outbox. With --queue DIR, a
 * presettle that the engine answered is kept in DIR/estimates (its own
 * LMDB environment, apart from the outbox), keyed by the SHA-256 of the
 * bill's canonical JSON. When a settle of the same bill cannot reach the
 * engine and is queued, the clinic is shown that estimate, marked as one:
 * what the funds would pay when it was asked, not what they will pay (the
 * patient's accumulators may have moved since).
 *
 * An estimate is a convenience: failing to keep or find one only prints a
 * warning, and never changes what the settle does.
 */
#include <errno.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "counter.h"

#define ESTIMATE_MAP_SIZE (64u * 1024u * 1024u)
#define ESTIMATE_KEY_LEN 32

/* The bill's key: SHA-256 of its canonical JSON (sorted keys, compact). */
static int estimate_key(const struct bill *b, uint8_t key[ESTIMATE_KEY_LEN])
{
    json_t *j = claim_json(b);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    unsigned int n = 0;
    int ok = text != NULL && EVP_Digest(text, strlen(text), key, &n, EVP_sha256(), NULL) == 1 &&
             n == ESTIMATE_KEY_LEN;
    free(text);
    return ok ? 0 : -1;
}

static int estimate_env(const struct counter_opts *o, MDB_env **env)
{
    char dir[sizeof o->queue + 16];
    snprintf(dir, sizeof dir, "%s/estimates", o->queue);
    if ((mkdir(o->queue, 0700) != 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) != 0 && errno != EEXIST))
        return -1;
    int rc = mdb_env_create(env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(*env, ESTIMATE_MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_open(*env, dir, 0, 0600);
    if (rc != 0) {
        mdb_env_close(*env);
        *env = NULL;
    }
    return rc == 0 ? 0 : -1;
}

void estimate_save(const struct counter_opts *o, const struct bill *b, const void *reply,
                   size_t len)
{
    uint8_t key[ESTIMATE_KEY_LEN];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    int rc = estimate_key(b, key) == 0 && estimate_env(o, &env) == 0 ? 0 : -1;
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc == 0) {
        MDB_val k = {.mv_size = sizeof key, .mv_data = key};
        MDB_val v = {.mv_size = len, .mv_data = (void *)reply};
        rc = mdb_put(txn, dbi, &k, &v, 0);
    }
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn != NULL)
        mdb_txn_abort(txn);
    if (env != NULL)
        mdb_env_close(env);
    if (rc != 0)
        fprintf(stderr, "sanhe-counter: warning: the estimate was not kept in %s/estimates\n",
                o->queue);
}

int estimate_load(const struct counter_opts *o, const struct bill *b, void **reply, size_t *len)
{
    uint8_t key[ESTIMATE_KEY_LEN];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val v = {0};
    *reply = NULL;
    *len = 0;
    int rc = estimate_key(b, key) == 0 && estimate_env(o, &env) == 0 ? 0 : -1;
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc == 0) {
        MDB_val k = {.mv_size = sizeof key, .mv_data = key};
        rc = mdb_get(txn, dbi, &k, &v);
    }
    if (rc == 0 && (*reply = malloc(v.mv_size > 0 ? v.mv_size : 1)) != NULL) {
        memcpy(*reply, v.mv_data, v.mv_size);
        *len = v.mv_size;
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (env != NULL)
        mdb_env_close(env);
    return *reply != NULL ? 0 : -1;
}
