/*
 * The gateway's own durable state, in one LMDB environment of its own:
 *   replies  (hospital, msgid)    -> the reply first given (gw_txn.c)
 *   visits   (hospital, mdtrt_id) -> the visit and its fee lines (JSON)
 * Every write is one synced transaction, committed before the reply goes
 * out, so an acknowledged registration or upload survives a crash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gw.h"

#define KEY_MAX 96

static size_t key_make(char *buf, const char *hospital, const char *id)
{
    int n = snprintf(buf, KEY_MAX, "%s%c%s", hospital, '\0', id);
    return n > 0 && n < KEY_MAX ? (size_t)n : 0;
}

int gw_store_open(struct gw_store *s, const char *dir, size_t map_bytes, char *msg, size_t size)
{
    memset(s, 0, sizeof *s);
    mkdir(dir, 0700);
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, 4);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, map_bytes);
    if (rc == 0)
        rc = mdb_env_open(s->env, dir, 0, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "replies", MDB_CREATE, &s->replies);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "visits", MDB_CREATE, &s->visits);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc != 0) {
        snprintf(msg, size, "store %s: %s", dir, mdb_strerror(rc));
        gw_store_close(s);
        return -1;
    }
    return 0;
}

void gw_store_close(struct gw_store *s)
{
    if (s->env != NULL)
        mdb_env_close(s->env);
    s->env = NULL;
}

int gw_store_get(struct gw_store *s, MDB_dbi db, const char *hospital, const char *id, void **val,
                 size_t *len)
{
    *val = NULL;
    *len = 0;
    char kb[KEY_MAX];
    MDB_val k = {.mv_size = key_make(kb, hospital, id), .mv_data = kb}, v;
    if (k.mv_size == 0)
        return 1;
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return -1;
    rc = mdb_get(txn, db, &k, &v);
    int out = rc == MDB_NOTFOUND ? 1 : rc == 0 ? 0 : -1;
    if (rc == 0) {
        *val = malloc(v.mv_size + 1);
        if (*val == NULL) {
            out = -1;
        } else {
            memcpy(*val, v.mv_data, v.mv_size);
            ((char *)*val)[v.mv_size] = '\0';
            *len = v.mv_size;
        }
    }
    mdb_txn_abort(txn);
    return out;
}

static int put_one(MDB_txn *txn, MDB_dbi db, const char *hospital, const char *id, const void *v,
                   size_t l)
{
    char kb[KEY_MAX];
    MDB_val k = {.mv_size = key_make(kb, hospital, id), .mv_data = kb};
    MDB_val val = {.mv_size = l, .mv_data = (void *)v};
    return k.mv_size == 0 ? EINVAL : mdb_put(txn, db, &k, &val, 0);
}

int gw_store_put2(struct gw_store *s, MDB_dbi db1, const char *h1, const char *id1, const void *v1,
                  size_t l1, MDB_dbi db2, const char *id2, const void *v2, size_t l2)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0)
        rc = put_one(txn, db1, h1, id1, v1, l1);
    if (rc == 0 && id2 != NULL)
        rc = put_one(txn, db2, h1, id2, v2, l2);
    if (rc == 0)
        return mdb_txn_commit(txn) == 0 ? 0 : -1; /* synced: the env has no MDB_NOSYNC */
    if (txn != NULL)
        mdb_txn_abort(txn);
    return -1;
}
