/*
 * Keys in use: a msgid or a visit that a call is working on, from its start
 * until its reply is durable and sent (docs/gateway.md, "Durability").
 * A second call on the same key waits: it is parked, whole, and when the
 * key is let go it is handled again from the start, so it sees what the
 * first one left on disk (a resent msgid finds the stored reply; an upload
 * finds the lines acknowledged before it). Nothing the first call has not
 * made durable is ever read by another.
 *
 * Parked calls are handed back to the transaction layer from an idle
 * handle, one loop turn later, never from inside the call that let the key
 * go (which may be deep in a reply).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"

struct gw_lock {
    struct gw_lock *next; /* in its bucket */
    char key[GW_LOCK_KEY_MAX];
    size_t key_len;
    struct gw_request *waiters, **waiters_tail;
};

static size_t lock_key(char *buf, const char *hospital, char kind, const char *id)
{
    int n = snprintf(buf, GW_LOCK_KEY_MAX, "%s%c%c%s", hospital, '\0', kind, id);
    return n > 0 && n < GW_LOCK_KEY_MAX ? (size_t)n : 0;
}

static size_t bucket_of(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    return (size_t)(h % GW_LOCK_BUCKETS);
}

int gw_lock_take(struct gw_locks *ls, const char *hospital, char kind, const char *id,
                 struct gw_lock **out)
{
    *out = NULL;
    char key[GW_LOCK_KEY_MAX];
    size_t len = lock_key(key, hospital, kind, id);
    if (len == 0)
        return -1;
    size_t b = bucket_of(key, len);
    for (struct gw_lock *l = ls->buckets[b]; l != NULL; l = l->next)
        if (l->key_len == len && memcmp(l->key, key, len) == 0) {
            *out = l;
            return 1;
        }
    if (ls->held >= GW_LOCKS_MAX)
        return -1;
    struct gw_lock *l = calloc(1, sizeof *l);
    if (l == NULL)
        return -1;
    memcpy(l->key, key, len);
    l->key_len = len;
    l->waiters_tail = &l->waiters;
    l->next = ls->buckets[b];
    ls->buckets[b] = l;
    ls->held++;
    *out = l;
    return 0;
}

void gw_lock_wait(struct gw_lock *l, struct gw_request *r)
{
    assert(r->wait_next == NULL);
    *l->waiters_tail = r;
    l->waiters_tail = &r->wait_next;
}

static void on_idle(uv_idle_t *h)
{
    struct gw_locks *ls = h->data;
    struct gw_request *r = ls->ready;
    ls->ready = NULL;
    ls->ready_tail = &ls->ready;
    uv_idle_stop(&ls->idle);
    while (r != NULL) {
        struct gw_request *next = r->wait_next;
        r->wait_next = NULL;
        ls->parked--;
        gw_txn_handle(r); /* may park it again, on the same or another key */
        r = next;
    }
}

void gw_lock_release(struct gw_locks *ls, uv_loop_t *loop, struct gw_lock *l)
{
    size_t b = bucket_of(l->key, l->key_len);
    struct gw_lock **p = &ls->buckets[b];
    while (*p != l) {
        assert(*p != NULL);
        p = &(*p)->next;
    }
    *p = l->next;
    ls->held--;
    if (l->waiters != NULL) {
        if (ls->ready_tail == NULL)
            ls->ready_tail = &ls->ready;
        *ls->ready_tail = l->waiters;
        ls->ready_tail = l->waiters_tail;
        if (!ls->idle_open) {
            uv_idle_init(loop, &ls->idle);
            ls->idle.data = ls;
            ls->idle_open = true;
        }
        uv_idle_start(&ls->idle, on_idle);
    }
    free(l);
}
