/*
 * The memtable (store_mem.h). Publication order is what makes a lock-free
 * read safe: the writer fills a node or a version completely, then links
 * it with a release store; a reader follows links with acquire loads, so
 * whatever it reaches is whole. A reader that misses a link being made
 * misses only a write its bound does not cover anyway: the commit that
 * publishes a sequence (store.c) comes after every link of its versions.
 */
#include "store_mem.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HASH_SLOTS (2u * MEM_NODES_MAX) /* a power of two: half full at most */
#define CHUNK_BYTES (1u << 20)
#define CHUNK_BIG (CHUNK_BYTES / 4) /* a larger allocation gets a chunk of its own */

struct chunk {
    struct chunk *prev;
    size_t used, cap;
    _Alignas(16) uint8_t data[];
};

struct store_mem {
    _Atomic int refs;
    _Atomic uint32_t nodes;
    _Atomic uint32_t db_nodes[256];
    _Atomic uint64_t bytes;
    struct chunk *chunks; /* the writer's: the current one first */
    uint64_t rng;
    _Atomic(struct mem_node *) *slots; /* HASH_SLOTS */
    struct mem_node *head;             /* the skip list's head: no key, every height */
};

static void *arena_alloc(struct store_mem *m, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct chunk *c = m->chunks;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > CHUNK_BIG ? n : CHUNK_BYTES;
        if (atomic_load(&m->bytes) + cap > MEM_BYTES_MAX + CHUNK_BYTES)
            return NULL;
        struct chunk *fresh = malloc(sizeof *fresh + cap);
        if (fresh == NULL)
            return NULL;
        fresh->cap = cap;
        fresh->used = 0;
        atomic_fetch_add(&m->bytes, (uint64_t)(sizeof *fresh + cap));
        if (n > CHUNK_BIG && c != NULL) { /* keep filling the current chunk after it */
            fresh->prev = c->prev;
            c->prev = fresh;
        } else {
            fresh->prev = c;
            m->chunks = fresh;
        }
        c = fresh;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

static size_t node_size(unsigned height)
{
    return sizeof(struct mem_node) + height * sizeof(_Atomic(struct mem_node *));
}

struct store_mem *mem_new(void)
{
    struct store_mem *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->slots = calloc(HASH_SLOTS, sizeof *m->slots);
    m->head = m->slots != NULL ? arena_alloc(m, node_size(MEM_HEIGHT_MAX)) : NULL;
    if (m->head == NULL) {
        mem_unref(m);
        return NULL;
    }
    memset(m->head, 0, node_size(MEM_HEIGHT_MAX));
    m->head->height = MEM_HEIGHT_MAX;
    m->rng = 0x9e3779b97f4a7c15ull;
    atomic_store(&m->refs, 1);
    return m;
}

void mem_ref(struct store_mem *m)
{
    int before = atomic_fetch_add(&m->refs, 1);
    assert(before > 0);
    (void)before;
}

static void mem_free(struct store_mem *m)
{
    for (struct chunk *c = m->chunks; c != NULL;) {
        struct chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    free(m->slots);
    free(m);
}

void mem_unref(struct store_mem *m)
{
    if (m == NULL)
        return;
    int before = atomic_fetch_sub(&m->refs, 1);
    assert(before >= 0);
    if (before <= 1)
        mem_free(m);
}

int mem_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* (db, key) against a node's. */
static int node_cmp(const struct mem_node *n, uint8_t db, const void *key, size_t key_len)
{
    if (n->db != db)
        return n->db < db ? -1 : 1;
    return mem_key_cmp(n->key, n->key_len, key, key_len);
}

static uint32_t hash_of(uint8_t db, const void *key, size_t key_len)
{
    uLong h = crc32(0L, &db, 1);
    return (uint32_t)crc32(h, key, (uInt)key_len);
}

struct mem_node *mem_find(struct store_mem *m, uint8_t db, const void *key, size_t key_len)
{
    uint32_t h = hash_of(db, key, key_len);
    for (uint32_t i = h & (HASH_SLOTS - 1);; i = (i + 1) & (HASH_SLOTS - 1)) {
        struct mem_node *n = atomic_load_explicit(&m->slots[i], memory_order_acquire);
        if (n == NULL)
            return NULL;
        if (n->hash == h && n->db == db && n->key_len == key_len &&
            memcmp(n->key, key, key_len) == 0)
            return n;
    }
}

struct mem_ver *mem_visible(const struct mem_node *node, uint64_t bound)
{
    for (struct mem_ver *v = atomic_load_explicit(&node->head, memory_order_acquire); v != NULL;
         v = v->older)
        if (v->seq <= bound && !atomic_load_explicit(&v->dead, memory_order_relaxed))
            return v;
    return NULL;
}

void mem_ver_kill(struct mem_ver *v)
{
    atomic_store_explicit(&v->dead, true, memory_order_relaxed);
}

static unsigned random_height(struct store_mem *m)
{
    unsigned h = 1;
    while (h < MEM_HEIGHT_MAX) {
        m->rng ^= m->rng << 13;
        m->rng ^= m->rng >> 7;
        m->rng ^= m->rng << 17;
        if ((m->rng & 3) != 0) /* one in four goes a level higher */
            break;
        h++;
    }
    return h;
}

/* The nodes before (db, key) at every level. Only loads: any thread. */
static void find_prev(struct store_mem *m, uint8_t db, const void *key, size_t key_len,
                      struct mem_node **prev)
{
    struct mem_node *x = m->head;
    for (int lvl = MEM_HEIGHT_MAX - 1; lvl >= 0; lvl--) {
        struct mem_node *n;
        while ((n = atomic_load_explicit(&x->next[lvl], memory_order_acquire)) != NULL &&
               node_cmp(n, db, key, key_len) < 0)
            x = n;
        prev[lvl] = x;
    }
}

static struct mem_node *node_add(struct store_mem *m, uint8_t db, const void *key, size_t key_len,
                                 uint32_t h)
{
    if (atomic_load(&m->nodes) >= MEM_NODES_MAX || key_len > UINT32_MAX)
        return NULL;
    unsigned height = random_height(m);
    struct mem_node *n = arena_alloc(m, node_size(height));
    uint8_t *k = n != NULL ? arena_alloc(m, key_len) : NULL;
    if (k == NULL)
        return NULL;
    memcpy(k, key, key_len);
    memset(n, 0, node_size(height));
    n->key = k;
    n->key_len = (uint32_t)key_len;
    n->hash = h;
    n->db = db;
    n->height = (uint8_t)height;
    struct mem_node *prev[MEM_HEIGHT_MAX];
    find_prev(m, db, key, key_len, prev);
    for (unsigned lvl = 0; lvl < height; lvl++) {
        struct mem_node *after = atomic_load_explicit(&prev[lvl]->next[lvl], memory_order_relaxed);
        atomic_store_explicit(&n->next[lvl], after, memory_order_relaxed);
        atomic_store_explicit(&prev[lvl]->next[lvl], n, memory_order_release);
    }
    uint32_t i = h & (HASH_SLOTS - 1);
    while (atomic_load_explicit(&m->slots[i], memory_order_relaxed) != NULL)
        i = (i + 1) & (HASH_SLOTS - 1);
    atomic_store_explicit(&m->slots[i], n, memory_order_release);
    atomic_fetch_add(&m->nodes, 1);
    atomic_fetch_add(&m->db_nodes[db], 1);
    return n;
}

struct mem_ver *mem_put(struct store_mem *m, uint8_t db, const void *key, size_t key_len,
                        const void *val, size_t val_len, bool tomb, uint64_t seq)
{
    assert(key_len > 0);
    if (tomb)
        val_len = 0;
    if (val_len > UINT32_MAX)
        return NULL;
    struct mem_node *n = mem_find(m, db, key, key_len);
    struct mem_ver *head = n != NULL ? atomic_load_explicit(&n->head, memory_order_relaxed) : NULL;
    assert(head == NULL || head->seq <= seq);
    /* The version and its bytes first: a failure after node_add would
     * leave a node with no version, which says nothing and is harmless,
     * but a failed put should add nothing. */
    struct mem_ver *v = arena_alloc(m, sizeof *v);
    uint8_t *copy = v != NULL && val_len > 0 ? arena_alloc(m, val_len) : NULL;
    if (v == NULL || (val_len > 0 && copy == NULL))
        return NULL;
    if (n == NULL && (n = node_add(m, db, key, key_len, hash_of(db, key, key_len))) == NULL)
        return NULL;
    if (val_len > 0)
        memcpy(copy, val, val_len);
    v->older = head;
    v->seq = seq;
    atomic_store_explicit(&v->dead, false, memory_order_relaxed);
    v->tomb = tomb;
    v->len = (uint32_t)val_len;
    v->val = copy;
    atomic_store_explicit(&n->head, v, memory_order_release);
    return v;
}

struct mem_node *mem_seek(struct store_mem *m, uint8_t db, const void *key, size_t key_len)
{
    struct mem_node *prev[MEM_HEIGHT_MAX];
    find_prev(m, db, key, key_len, prev);
    return atomic_load_explicit(&prev[0]->next[0], memory_order_acquire);
}

struct mem_node *mem_next(const struct mem_node *node)
{
    return atomic_load_explicit(&((struct mem_node *)node)->next[0], memory_order_acquire);
}

uint32_t mem_nodes(const struct store_mem *m) { return atomic_load(&m->nodes); }

uint32_t mem_db_nodes(const struct store_mem *m, uint8_t db)
{
    return atomic_load(&m->db_nodes[db]);
}

uint64_t mem_bytes(const struct store_mem *m) { return atomic_load(&m->bytes); }
