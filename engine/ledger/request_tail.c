#include "request_tail.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "sh_error.h"

/* An open-addressing table with linear probing; seq 0 marks a free slot.
 * It grows by doubling past half full, so probes stay short. */
struct tail_slot {
    uint64_t seq;
    char hospital[SH_CODE_MAX];
    char request_id[SH_CODE_MAX];
};

struct request_tail {
    struct tail_slot *slots;
    size_t cap; /* a power of two */
    size_t count;
    bool stale;
};

#define TAIL_CAP_MIN 1024u

/* FNV-1a over hospital, a separator and the request id. */
static uint64_t tail_hash(const char *hospital, const char *request_id)
{
    uint64_t h = fnv1a_byte(fnv1a_str(FNV1A_OFFSET, hospital), 0xffu);
    return fnv1a_str(h, request_id);
}

/* The slot holding the key, or the free slot where it would go. */
static struct tail_slot *tail_probe(const struct request_tail *t, const char *hospital,
                                    const char *request_id)
{
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)tail_hash(hospital, request_id) & mask;; i = (i + 1) & mask) {
        struct tail_slot *s = &t->slots[i];
        if (s->seq == 0 ||
            (strcmp(s->hospital, hospital) == 0 && strcmp(s->request_id, request_id) == 0))
            return s;
    }
}

struct request_tail *request_tail_new(void)
{
    struct request_tail *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->slots = calloc(TAIL_CAP_MIN, sizeof *t->slots);
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    t->cap = TAIL_CAP_MIN;
    return t;
}

void request_tail_free(struct request_tail *tail)
{
    if (tail == NULL)
        return;
    free(tail->slots);
    free(tail);
}

void request_tail_clear(struct request_tail *tail)
{
    if (tail->count > 0)
        memset(tail->slots, 0, tail->cap * sizeof *tail->slots);
    tail->count = 0;
}

static int tail_grow(struct request_tail *t)
{
    struct request_tail bigger = {.cap = t->cap * 2};
    bigger.slots = calloc(bigger.cap, sizeof *bigger.slots);
    if (bigger.slots == NULL)
        return SH_E_INTERNAL;
    for (size_t i = 0; i < t->cap; i++) {
        const struct tail_slot *s = &t->slots[i];
        if (s->seq != 0)
            *tail_probe(&bigger, s->hospital, s->request_id) = *s;
    }
    free(t->slots);
    t->slots = bigger.slots;
    t->cap = bigger.cap;
    assert((t->cap & (t->cap - 1)) == 0); /* the probe masks with cap - 1 */
    return 0;
}

int request_tail_put(struct request_tail *tail, const char *hospital, const char *request_id,
                     uint64_t seq)
{
    assert(seq != 0);
    size_t hl = strlen(hospital), rl = strlen(request_id);
    if (hl >= SH_CODE_MAX || rl >= SH_CODE_MAX)
        return SH_E_INTERNAL; /* keys are checked long before; never here */
    if ((tail->count + 1) * 2 > tail->cap && tail_grow(tail) != 0)
        return SH_E_INTERNAL;
    assert((tail->count + 1) * 2 <= tail->cap); /* at most half full: a free slot ends a probe */
    struct tail_slot *s = tail_probe(tail, hospital, request_id);
    if (s->seq == 0) {
        memcpy(s->hospital, hospital, hl + 1);
        memcpy(s->request_id, request_id, rl + 1);
        tail->count++;
    }
    s->seq = seq;
    return 0;
}

uint64_t request_tail_find(const struct request_tail *tail, const char *hospital,
                           const char *request_id)
{
    return tail_probe(tail, hospital, request_id)->seq;
}

size_t request_tail_count(const struct request_tail *tail) { return tail->count; }

void request_tail_set_stale(struct request_tail *tail, bool stale) { tail->stale = stale; }

bool request_tail_stale(const struct request_tail *tail) { return tail->stale; }
