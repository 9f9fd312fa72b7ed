/*
 * The memtable: a durable store's writes that are logged but not yet in
 * LMDB (docs/storage.md, "Durability"). One writer thread adds to it, any
 * number of reader threads read it at once, without a lock.
 *
 * Every key (a database and its bytes) has one node, found by a hash
 * index for a get and linked into a skip list, in LMDB's key order, for a
 * scan. A node holds a chain of versions, newest first; each version
 * carries the commit sequence number that made it. A reader sees, of each
 * node, the newest version that is not dead and whose sequence is at most
 * its own bound: the commits published when it began. The writer's open
 * transaction writes versions of the next sequence, which no reader's
 * bound reaches until the commit publishes it, and an abort marks its
 * versions dead before any later commit could publish that sequence.
 *
 * Nothing is ever removed or moved: nodes, versions and their bytes live
 * in the memtable's arena until the memtable itself is freed, when its
 * last reference goes (store.c: the store's view, each transaction that
 * reads it). So a value a get returns stays valid for as long as the
 * transaction that got it.
 *
 * Limits: a memtable holds at most MEM_NODES_MAX keys and MEM_BYTES_MAX
 * bytes of arena; mem_put refuses beyond them, and the store checkpoints
 * well before (store_wal.c). They also bound the LMDB transaction that
 * brings the memtable into LMDB: each key dirties at most a leaf page and
 * its value's overflow pages, far below LMDB's limit on dirty pages.
 *
 * Internal to engine/store.
 */
#ifndef STORE_MEM_H
#define STORE_MEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_NODES_MAX 65536u
#define MEM_BYTES_MAX (96ull << 20)
#define MEM_HEIGHT_MAX 16

struct mem_ver {
    struct mem_ver *older; /* set before the version is published, never after */
    uint64_t seq;
    _Atomic bool dead; /* aborted: never visible */
    bool tomb;         /* a delete */
    uint32_t len;
    const uint8_t *val;
};

struct mem_node {
    _Atomic(struct mem_ver *) head; /* newest first */
    const uint8_t *key;
    uint32_t key_len;
    uint32_t hash;
    uint8_t db;
    uint8_t height;
    _Atomic(struct mem_node *) next[]; /* height links */
};

struct store_mem;

struct store_mem *mem_new(void);
/* References: mem_new gives the first; the last mem_unref frees. Any thread. */
void mem_ref(struct store_mem *m);
void mem_unref(struct store_mem *m);

/* The node of (db, key), or NULL. Any thread. */
struct mem_node *mem_find(struct store_mem *m, uint8_t db, const void *key, size_t key_len);

/* The newest version of node that is not dead and has seq <= bound, or
 * NULL (the node then says nothing about its key). Any thread. */
struct mem_ver *mem_visible(const struct mem_node *node, uint64_t bound);

/* Adds a version of (db, key) with sequence seq (the writer's thread
 * only; seq at least that of every version already in m). tomb: a delete
 * (val ignored). Returns the version, or NULL when m is full or out of
 * memory (nothing is added). */
struct mem_ver *mem_put(struct store_mem *m, uint8_t db, const void *key, size_t key_len,
                        const void *val, size_t val_len, bool tomb, uint64_t seq);

/* Marks a version of the writer's open transaction dead (an abort). */
void mem_ver_kill(struct mem_ver *v);

/* The first node at or after (db, key) in key order, in any database at
 * or after db (the caller checks node->db), or NULL at the end. key_len 0:
 * the database's first node. Any thread. */
struct mem_node *mem_seek(struct store_mem *m, uint8_t db, const void *key, size_t key_len);
struct mem_node *mem_next(const struct mem_node *node);

/* Keys held (all databases, or one), and arena bytes used. Any thread
 * (a value of the moment). */
uint32_t mem_nodes(const struct store_mem *m);
uint32_t mem_db_nodes(const struct store_mem *m, uint8_t db);
uint64_t mem_bytes(const struct store_mem *m);

/* LMDB's order of keys: bytes compared, a shorter key before a longer one
 * it begins. */
int mem_key_cmp(const void *a, size_t alen, const void *b, size_t blen);

#endif
