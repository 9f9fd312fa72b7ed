#include "inflight.h"

#include <stdlib.h>

int lg_inflight_init(struct lg_inflight *t, size_t size_pow2)
{
    t->slots = calloc(size_pow2, sizeof *t->slots);
    t->mask = size_pow2 - 1;
    t->count = 0;
    return t->slots != NULL ? 0 : -1;
}

void lg_inflight_free(struct lg_inflight *t)
{
    free(t->slots);
    t->slots = NULL;
    t->count = 0;
}

static int grow(struct lg_inflight *t)
{
    struct lg_inflight bigger;
    if (lg_inflight_init(&bigger, 2 * (t->mask + 1)) != 0)
        return -1;
    for (size_t i = 0; i <= t->mask; i++) {
        if (t->slots[i].used) {
            bigger.slots[t->slots[i].seq & bigger.mask] = t->slots[i];
            bigger.count++;
        }
    }
    free(t->slots);
    *t = bigger;
    return 0;
}

/* Two seqs share a slot of the doubled table only if they differ by a
 * multiple of its size; growing until the slot is free always ends. */
int lg_inflight_put(struct lg_inflight *t, const struct lg_pending *p)
{
    while (t->slots[p->seq & t->mask].used)
        if (grow(t) != 0)
            return -1;
    struct lg_pending *slot = &t->slots[p->seq & t->mask];
    *slot = *p;
    slot->used = true;
    t->count++;
    return 0;
}

struct lg_pending *lg_inflight_get(struct lg_inflight *t, uint64_t seq)
{
    struct lg_pending *slot = &t->slots[seq & t->mask];
    return slot->used && slot->seq == seq ? slot : NULL;
}

void lg_inflight_del(struct lg_inflight *t, struct lg_pending *p)
{
    p->used = false;
    t->count--;
}
