/*
 * The gateway's own durable state, in one LMDB environment of its own:
 *   replies  (hospital, msgid)    -> the reply first given (gw_txn.c)
 *   visits   (hospital, mdtrt_id) -> the visit and its fee lines (JSON)
 *
 * Group commit (docs/gateway.md, "Durability"). A call that must be
 * recorded hands its records to gw_store_submit and waits. Once per turn of
 * the event loop (a uv_check hook: after the turn's I/O callbacks, before
 * the loop sleeps again) every record handed in since the last commit goes
 * to libuv's thread pool as one batch: one LMDB write transaction, one
 * synced commit, on that thread, while the loop keeps serving. When the
 * commit is done each caller's callback runs on the loop, and only then
 * does the caller send its reply: a reply means its records are on disk.
 * At most one batch is being committed at a time (LMDB has one writer);
 * what arrives meanwhile makes the next batch.
 *
 * Should a batch's commit fail (the map full, say), each caller's records
 * are tried again in a transaction of their own, so one oversized visit
 * costs only its own call.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gw.h"

#define KEY_MAX 96

struct store_rec {
    MDB_dbi db;
    size_t key_len, val_len;
    char *data; /* the key, then the value */
};

struct store_waiter {
    gw_store_done_cb cb;
    void *arg;
    size_t first, count; /* its records in the batch */
    int rc;
};

struct gw_store_batch {
    struct store_rec *recs;
    size_t rec_count, rec_cap;
    struct store_waiter *waiters;
    size_t waiter_count, waiter_cap;
};

static size_t key_make(char *buf, const char *hospital, const char *id)
{
    int n = snprintf(buf, KEY_MAX, "%s%c%s", hospital, '\0', id);
    return n > 0 && n < KEY_MAX ? (size_t)n : 0;
}

static void batch_free(struct gw_store_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->rec_count; i++)
        free(b->recs[i].data);
    free(b->recs);
    free(b->waiters);
    free(b);
}

/* ---- The commit, on a pool thread (or the loop's, when there is no loop) ---- */

static int commit_recs(MDB_env *env, const struct store_rec *recs, size_t n)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        MDB_val k = {.mv_size = recs[i].key_len, .mv_data = recs[i].data};
        MDB_val v = {.mv_size = recs[i].val_len, .mv_data = recs[i].data + recs[i].key_len};
        rc = mdb_put(txn, recs[i].db, &k, &v, 0);
    }
    if (rc == 0)
        return mdb_txn_commit(txn); /* synced: the env has no MDB_NOSYNC */
    if (txn != NULL)
        mdb_txn_abort(txn);
    return rc;
}

static void batch_commit(MDB_env *env, struct gw_store_batch *b)
{
    int rc = commit_recs(env, b->recs, b->rec_count);
    for (size_t i = 0; i < b->waiter_count; i++) {
        struct store_waiter *w = &b->waiters[i];
        w->rc = rc == 0 ? 0 : commit_recs(env, b->recs + w->first, w->count);
    }
}

static void on_work(uv_work_t *req)
{
    struct gw_store *s = req->data;
    batch_commit(s->env, s->flying);
}

static void batch_start(struct gw_store *s);

static void batch_deliver(struct gw_store *s, struct gw_store_batch *b)
{
    s->commits++;
    s->records += b->rec_count;
    if (b->waiter_count > s->batch_waiters_max)
        s->batch_waiters_max = b->waiter_count;
    /* Callbacks may submit again: those records go to the open batch. */
    for (size_t i = 0; i < b->waiter_count; i++)
        b->waiters[i].cb(b->waiters[i].arg, b->waiters[i].rc == 0 ? 0 : -1);
    batch_free(b);
}

static void on_after_work(uv_work_t *req, int status)
{
    struct gw_store *s = req->data;
    assert(status == 0); /* nothing cancels it */
    struct gw_store_batch *b = s->flying;
    s->flying = NULL;
    batch_deliver(s, b);
    batch_start(s); /* what came in meanwhile, without waiting for the hook */
}

static void batch_start(struct gw_store *s)
{
    if (s->flying != NULL || s->open == NULL || s->open->waiter_count == 0)
        return;
    uv_idle_stop(&s->kick);
    s->flying = s->open;
    s->open = NULL;
    s->work.data = s;
    if (uv_queue_work(s->loop, &s->work, on_work, on_after_work) != 0) {
        /* No pool: commit here rather than lose the replies. */
        struct gw_store_batch *b = s->flying;
        s->flying = NULL;
        batch_commit(s->env, b);
        batch_deliver(s, b);
    }
}

static void on_check(uv_check_t *h) { batch_start(h->data); }

static void on_kick(uv_idle_t *h)
{
    struct gw_store *s = h->data;
    uv_idle_stop(&s->kick);
    batch_start(s);
}

/* ---- Opening ---- */

int gw_store_open(struct gw_store *s, uv_loop_t *loop, const char *dir, size_t map_bytes, char *msg,
                  size_t size)
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
    if (rc == 0) {
        s->loop = loop;
        rc = uv_check_init(loop, &s->hook);
        if (rc == 0)
            rc = uv_idle_init(loop, &s->kick);
        if (rc == 0) {
            s->hook.data = s->kick.data = s;
            s->hook_open = true;
            uv_check_start(&s->hook, on_check);
            uv_unref((uv_handle_t *)&s->hook); /* the batches' work keeps the loop alive */
        }
    }
    if (rc != 0) {
        snprintf(msg, size, "store %s: %s", dir, rc > 0 ? mdb_strerror(rc) : uv_strerror(rc));
        gw_store_close(s);
        return -1;
    }
    return 0;
}

void gw_store_close(struct gw_store *s)
{
    assert(s->flying == NULL); /* the loop ran until its work was done */
    if (s->open != NULL && s->env != NULL) {
        /* Submitted in the loop's last turn: committed before the store goes. */
        struct gw_store_batch *b = s->open;
        s->open = NULL;
        batch_commit(s->env, b);
        batch_deliver(s, b);
    }
    if (s->hook_open) {
        uv_close((uv_handle_t *)&s->hook, NULL);
        uv_close((uv_handle_t *)&s->kick, NULL);
        s->hook_open = false;
    }
    if (s->env != NULL)
        mdb_env_close(s->env);
    s->env = NULL;
}

/* ---- Reading (on the loop: it sees what is committed) ---- */

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

/* ---- Submitting ---- */

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap > 0 ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (q == NULL)
        return false;
    *p = q;
    *cap = n;
    return true;
}

int gw_store_submit(struct gw_store *s, const struct gw_store_put *puts, size_t n,
                    gw_store_done_cb cb, void *arg)
{
    assert(n > 0 && n <= GW_STORE_PUTS_MAX && cb != NULL);
    if (s->open == NULL && (s->open = calloc(1, sizeof *s->open)) == NULL)
        return -1;
    struct gw_store_batch *b = s->open;
    /* The check hook takes the batch at the end of this loop turn; the
     * kick (an idle handle: the loop does not sleep while it is on) does
     * when the call came from outside a turn, or the turn's check is past. */
    if (b->waiter_count == 0 && s->flying == NULL)
        uv_idle_start(&s->kick, on_kick);
    if (b->waiter_count >= GW_STORE_BATCH_WAITERS_MAX ||
        !grow((void **)&b->recs, &b->rec_cap, b->rec_count + n, sizeof *b->recs) ||
        !grow((void **)&b->waiters, &b->waiter_cap, b->waiter_count + 1, sizeof *b->waiters))
        return -1;
    size_t first = b->rec_count;
    for (size_t i = 0; i < n; i++) {
        char kb[KEY_MAX];
        size_t kl = key_make(kb, puts[i].hospital, puts[i].id);
        char *data = kl > 0 ? malloc(kl + puts[i].len) : NULL;
        if (data == NULL) {
            while (b->rec_count > first)
                free(b->recs[--b->rec_count].data);
            return -1;
        }
        memcpy(data, kb, kl);
        memcpy(data + kl, puts[i].val, puts[i].len);
        b->recs[b->rec_count++] = (struct store_rec){
            .db = puts[i].db, .key_len = kl, .val_len = puts[i].len, .data = data};
    }
    b->waiters[b->waiter_count++] =
        (struct store_waiter){.cb = cb, .arg = arg, .first = first, .count = n};
    return 0;
}
