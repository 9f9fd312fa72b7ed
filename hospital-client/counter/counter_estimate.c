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

/* DIR/estimates, beside the outbox (created with it when it is new). */
static int estimate_open(const struct counter_opts *o, struct queue *q)
{
    char dir[sizeof o->queue + 16];
    snprintf(dir, sizeof dir, "%s/estimates", o->queue);
    if (mkdir(o->queue, 0700) != 0 && errno != EEXIST)
        return -1;
    return q_open(q, dir) == 0 ? 0 : -1;
}

/* The patient's name is kept under the bill's key with 'n' appended (the
 * reply under the bare key stays as it was). */
static void name_key(const uint8_t key[ESTIMATE_KEY_LEN], uint8_t out[ESTIMATE_KEY_LEN + 1])
{
    memcpy(out, key, ESTIMATE_KEY_LEN);
    out[ESTIMATE_KEY_LEN] = 'n';
}

void estimate_save(const struct counter_opts *o, const struct bill *b, const void *reply,
                   size_t len, const char *patient_name)
{
    uint8_t key[ESTIMATE_KEY_LEN];
    struct queue q = {0};
    MDB_txn *txn = NULL;
    int rc = estimate_key(b, key) == 0 && estimate_open(o, &q) == 0 ? 0 : -1;
    if (rc == 0)
        rc = mdb_txn_begin(q.env, NULL, 0, &txn);
    if (rc == 0) {
        MDB_val k = {.mv_size = sizeof key, .mv_data = key};
        MDB_val v = {.mv_size = len, .mv_data = (void *)reply};
        rc = mdb_put(txn, q.dbi, &k, &v, 0);
        uint8_t nk[ESTIMATE_KEY_LEN + 1];
        name_key(key, nk);
        MDB_val kn = {.mv_size = sizeof nk, .mv_data = nk};
        MDB_val vn = {.mv_size = patient_name != NULL ? strlen(patient_name) : 0,
                      .mv_data = (void *)patient_name};
        if (rc == 0 && patient_name != NULL)
            rc = mdb_put(txn, q.dbi, &kn, &vn, 0);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (q.env != NULL)
        mdb_env_close(q.env);
    if (rc != 0)
        fprintf(stderr, _("sanhe-counter: warning: the estimate was not kept in %s/estimates\n"),
                o->queue);
}

int estimate_load(const struct counter_opts *o, const struct bill *b, void **reply, size_t *len,
                  char **name)
{
    uint8_t key[ESTIMATE_KEY_LEN];
    struct queue q = {0};
    MDB_txn *txn = NULL;
    MDB_val v = {0};
    *reply = NULL;
    *len = 0;
    *name = NULL;
    int rc = estimate_key(b, key) == 0 && estimate_open(o, &q) == 0 ? 0 : -1;
    if (rc == 0)
        rc = mdb_txn_begin(q.env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        MDB_val k = {.mv_size = sizeof key, .mv_data = key};
        if (mdb_get(txn, q.dbi, &k, &v) == 0 && (*reply = malloc(v.mv_size + 1)) != NULL) {
            memcpy(*reply, v.mv_data, v.mv_size);
            *len = v.mv_size;
        }
        uint8_t nk[ESTIMATE_KEY_LEN + 1];
        name_key(key, nk);
        MDB_val kn = {.mv_size = sizeof nk, .mv_data = nk}, vn;
        if (*reply != NULL && mdb_get(txn, q.dbi, &kn, &vn) == 0)
            *name = strndup(vn.mv_data, vn.mv_size);
        mdb_txn_abort(txn);
    }
    if (q.env != NULL)
        mdb_env_close(q.env);
    return *reply != NULL ? 0 : -1;
}
