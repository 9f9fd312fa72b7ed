/*
 * Reads: gets, scans, counts (store.h). A durable store's transaction
 * reads its memtables in front of LMDB (store_mem.h): the first layer
 * that has a visible version of a key decides it (a delete's version
 * hides the key), newest layer first; a layer with no visible version of
 * a key says nothing about it. A scan merges the layers in key order.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "store.h"
#include "store_mem.h"

#define LAYERS_MAX 3 /* the active memtable, the frozen one, LMDB */

/* ---- Guarded reads ------------------------------------------------------------ */

int store_read_guard(struct store_txn *txn)
{
    mdb_filehandle_t fd;
    struct stat st;
    if (mdb_env_get_fd(txn->store->env, &fd) != 0 || fstat(fd, &st) != 0)
        return SH_E_INTERNAL;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL)
        return SH_E_INTERNAL;
    /* "lo-hi perms offset major:minor inode path": the file's mapping from
     * its first byte, told apart from others by device and inode. */
    char line[512];
    unsigned long lo = 0, hi = 0, ino = 0, off = 0;
    unsigned dev_major = 0, dev_minor = 0;
    bool found = false;
    while (!found && fgets(line, sizeof line, maps) != NULL)
        found = sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &lo, &hi, &off, &dev_major, &dev_minor,
                       &ino) == 6 &&
                ino == (unsigned long)st.st_ino && dev_major == major(st.st_dev) &&
                dev_minor == minor(st.st_dev) && off == 0 && hi > lo;
    fclose(maps);
    if (!found || st.st_size <= 0)
        return SH_E_INTERNAL;
    uint64_t bytes = (uint64_t)st.st_size < hi - lo ? (uint64_t)st.st_size : hi - lo;
    txn->guard_lo = (uintptr_t)lo;
    txn->guard_hi = (uintptr_t)lo + (uintptr_t)bytes;
    return 0;
}

/* False (and the transaction failed) when a guarded transaction got bytes
 * from outside the file. Only LMDB's bytes: a memtable's are the
 * process's own. */
static bool store_val_ok(struct store_txn *txn, const MDB_val *v)
{
    if (txn->guard_hi == 0)
        return true;
    uintptr_t p = (uintptr_t)v->mv_data;
    if (v->mv_size == 0 ||
        (p >= txn->guard_lo && p <= txn->guard_hi && v->mv_size <= txn->guard_hi - p))
        return true;
    store_txn_fail(txn, MDB_CORRUPTED);
    return false;
}

/* ---- Gets --------------------------------------------------------------------- */

/* The memtables' word on (db, key): a visible version, or NULL. */
static const struct mem_ver *mem_word(const struct store_txn *txn, enum store_db db,
                                      const void *key, size_t key_len)
{
    for (int i = 0; i < 2; i++) {
        struct store_mem *m = txn->mem[i];
        if (m == NULL || mem_db_nodes(m, (uint8_t)db) == 0)
            continue;
        struct mem_node *n = mem_find(m, (uint8_t)db, key, key_len);
        const struct mem_ver *v = n != NULL ? mem_visible(n, txn->bound) : NULL;
        if (v != NULL)
            return v;
    }
    return NULL;
}

bool store_get(struct store_txn *txn, enum store_db db, const void *key, size_t key_len,
               MDB_val *val)
{
    assert(db < STORE_DB_COUNT && key_len > 0);
    if (txn->ret != 0)
        return false;
    const struct mem_ver *v = mem_word(txn, db, key, key_len);
    if (v != NULL) {
        if (v->tomb)
            return false;
        *val = (MDB_val){.mv_size = v->len, .mv_data = (void *)v->val};
        return true;
    }
    MDB_val k = {.mv_size = key_len, .mv_data = (void *)key};
    int rc = mdb_get(txn->txn, txn->store->dbi[db], &k, val);
    if (rc == MDB_NOTFOUND)
        return false;
    if (rc != 0) {
        store_txn_fail(txn, rc);
        return false;
    }
    return store_val_ok(txn, val);
}

/* ---- Scans -------------------------------------------------------------------- */

/* One layer of a merged scan, at its current key (live) or at its end. */
struct layer {
    bool live;
    MDB_val k, v;
    const struct mem_ver *ver; /* a memtable's: the key's visible version */
    struct mem_node *node;     /* a memtable's: the current node */
    MDB_cursor *cur;           /* LMDB's */
};

struct walk {
    struct store_txn *txn;
    uint8_t db;
    struct layer layer[LAYERS_MAX];
    int n;
};

/* A memtable layer from node on: the first node of the database with a
 * visible version. */
static void mem_layer_settle(struct walk *w, struct layer *l, struct mem_node *node)
{
    while (node != NULL && node->db == w->db && (l->ver = mem_visible(node, w->txn->bound)) == NULL)
        node = mem_next(node);
    l->node = node;
    l->live = node != NULL && node->db == w->db;
    if (l->live)
        l->k = (MDB_val){.mv_size = node->key_len, .mv_data = (void *)node->key};
}

static void lmdb_layer_step(struct walk *w, struct layer *l, int rc)
{
    l->live = rc == 0 && store_val_ok(w->txn, &l->k) && store_val_ok(w->txn, &l->v);
    if (rc != 0 && rc != MDB_NOTFOUND)
        store_txn_fail(w->txn, rc);
}

static void layer_next(struct walk *w, struct layer *l)
{
    if (l->cur != NULL)
        lmdb_layer_step(w, l, mdb_cursor_get(l->cur, &l->k, &l->v, MDB_NEXT));
    else
        mem_layer_settle(w, l, mem_next(l->node));
}

/* The layers positioned at the first key at or after from. 0 or an LMDB code. */
static int walk_open(struct walk *w, struct store_txn *txn, enum store_db db, const void *from,
                     size_t from_len)
{
    memset(w, 0, sizeof *w);
    w->txn = txn;
    w->db = (uint8_t)db;
    for (int i = 0; i < 2; i++) {
        struct store_mem *m = txn->mem[i];
        if (m == NULL || mem_db_nodes(m, w->db) == 0)
            continue;
        struct layer *l = &w->layer[w->n++];
        mem_layer_settle(w, l, mem_seek(m, w->db, from, from_len));
    }
    struct layer *l = &w->layer[w->n++];
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[db], &l->cur);
    if (rc != 0) {
        l->cur = NULL;
        w->n--;
        return rc;
    }
    l->k = (MDB_val){.mv_size = from_len, .mv_data = (void *)from};
    lmdb_layer_step(w, l,
                    mdb_cursor_get(l->cur, &l->k, &l->v, from_len > 0 ? MDB_SET_RANGE : MDB_FIRST));
    return 0;
}

static void walk_close(struct walk *w)
{
    for (int i = 0; i < w->n; i++)
        if (w->layer[i].cur != NULL)
            mdb_cursor_close(w->layer[i].cur);
}

/* The next key of the merge: the smallest of the layers' keys, the
 * newest layer's word on it; every other layer at that key steps past
 * it. Returns the layer that had the word (it steps later), or -1 at the
 * end. *tomb: that word is a delete. */
static int walk_next(struct walk *w, MDB_val *k, MDB_val *v, bool *tomb)
{
    int best = -1;
    for (int i = 0; i < w->n; i++) {
        const struct layer *l = &w->layer[i];
        if (l->live &&
            (best < 0 || mem_key_cmp(l->k.mv_data, l->k.mv_size, w->layer[best].k.mv_data,
                                     w->layer[best].k.mv_size) < 0))
            best = i;
    }
    if (best < 0 || w->txn->ret != 0)
        return -1;
    struct layer *b = &w->layer[best];
    *k = b->k;
    *tomb = b->cur == NULL && b->ver->tomb;
    *v = b->cur != NULL ? b->v : (MDB_val){.mv_size = b->ver->len, .mv_data = (void *)b->ver->val};
    for (int i = 0; i < w->n; i++) {
        struct layer *l = &w->layer[i];
        if (i != best && l->live &&
            mem_key_cmp(l->k.mv_data, l->k.mv_size, k->mv_data, k->mv_size) == 0)
            layer_next(w, l);
    }
    return best;
}

static bool has_prefix(const MDB_val *key, const void *prefix, size_t prefix_len)
{
    return prefix_len == 0 ||
           (key->mv_size >= prefix_len && memcmp(key->mv_data, prefix, prefix_len) == 0);
}

/* Walks from the first key at or after from, while has_prefix holds. The
 * best layer steps after fn ran: fn may write (a write transaction), and
 * a memtable's node, like an LMDB cursor, is then still where it was. */
static void store_walk(struct store_txn *txn, enum store_db db, const void *from, size_t from_len,
                       size_t prefix_len, store_scan_fn fn, void *ctx)
{
    assert(db < STORE_DB_COUNT && fn != NULL && prefix_len <= from_len);
    if (txn->ret != 0)
        return;
    struct walk w;
    int rc = walk_open(&w, txn, db, from, from_len);
    if (rc != 0) {
        walk_close(&w);
        store_txn_fail(txn, rc);
        return;
    }
    MDB_val k, v;
    bool tomb;
    int best;
    while ((best = walk_next(&w, &k, &v, &tomb)) >= 0 && has_prefix(&k, from, prefix_len)) {
        int stop = tomb ? 0 : fn(ctx, &k, &v);
        if (stop < 0)
            store_txn_fail_code(txn, stop);
        if (stop != 0)
            break;
        layer_next(&w, &w.layer[best]);
    }
    walk_close(&w);
}

void store_scan(struct store_txn *txn, enum store_db db, const void *prefix, size_t prefix_len,
                store_scan_fn fn, void *ctx)
{
    store_walk(txn, db, prefix, prefix_len, prefix_len, fn, ctx);
}

void store_scan_from(struct store_txn *txn, enum store_db db, const void *key, size_t key_len,
                     store_scan_fn fn, void *ctx)
{
    store_walk(txn, db, key, key_len, 0, fn, ctx);
}

/* ---- Counts --------------------------------------------------------------------- */

/* Whether a memtable of txn holds keys of db (then LMDB's own figures are
 * not the answer, and a merged walk is). */
static bool mem_has_db(const struct store_txn *txn, enum store_db db)
{
    for (int i = 0; i < 2; i++)
        if (txn->mem[i] != NULL && mem_db_nodes(txn->mem[i], (uint8_t)db) > 0)
            return true;
    return false;
}

struct tally {
    uint64_t n;
    MDB_val last;
};

static int tally_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    struct tally *t = ctx;
    t->n++;
    t->last = *key;
    return 0;
}

uint64_t store_count(struct store_txn *txn, enum store_db db)
{
    if (txn->ret != 0)
        return 0;
    if (mem_has_db(txn, db)) {
        struct tally t = {0};
        store_scan(txn, db, NULL, 0, tally_one, &t);
        return txn->ret == 0 ? t.n : 0;
    }
    MDB_stat st;
    int rc = mdb_stat(txn->txn, txn->store->dbi[db], &st);
    if (rc != 0) {
        store_txn_fail(txn, rc);
        return 0;
    }
    return st.ms_entries;
}

static uint64_t be64_of(const MDB_val *k)
{
    if (k->mv_size != 8)
        return 0;
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n = n << 8 | ((const uint8_t *)k->mv_data)[i];
    return n;
}

uint64_t store_last_u64(struct store_txn *txn, enum store_db db)
{
    assert(db < STORE_DB_COUNT);
    if (txn->ret != 0)
        return 0;
    if (mem_has_db(txn, db)) {
        struct tally t = {0};
        store_scan(txn, db, NULL, 0, tally_one, &t);
        return txn->ret == 0 && t.n > 0 ? be64_of(&t.last) : 0;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[db], &cur);
    if (rc != 0) {
        store_txn_fail(txn, rc);
        return 0;
    }
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        store_txn_fail(txn, rc);
    return rc == 0 ? be64_of(&k) : 0;
}
