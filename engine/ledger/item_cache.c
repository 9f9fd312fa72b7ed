#include "item_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"

/* Open addressing, linear probing; an empty code marks a free slot. The
 * table doubles past half full, up to twice ITEM_CACHE_MAX slots. */
struct item_cache {
    struct sh_item *slots;
    size_t cap; /* a power of two, or 0 before the first put */
    size_t count;
};

#define ITEM_CACHE_CAP_MIN 1024u

/* The slot of code, or the free slot where it would go. */
static struct sh_item *slot_of(const struct item_cache *c, const char *code)
{
    size_t mask = c->cap - 1;
    for (size_t i = (size_t)fnv1a_str(FNV1A_OFFSET, code) & mask;; i = (i + 1) & mask)
        if (c->slots[i].code[0] == '\0' || strcmp(c->slots[i].code, code) == 0)
            return &c->slots[i];
}

struct item_cache *item_cache_new(void) { return calloc(1, sizeof(struct item_cache)); }

void item_cache_free(struct item_cache *cache)
{
    if (cache == NULL)
        return;
    free(cache->slots);
    free(cache);
}

bool item_cache_get(const struct item_cache *cache, const char *code, struct sh_item *out)
{
    if (cache->count == 0 || code[0] == '\0')
        return false;
    const struct sh_item *s = slot_of(cache, code);
    if (s->code[0] == '\0')
        return false;
    memcpy(out, s, sizeof *out);
    return true;
}

/* A table of cap slots holding what the old one held; false when memory
 * is short (the old one stays). */
static bool cache_resize(struct item_cache *c, size_t cap)
{
    struct item_cache bigger = {.cap = cap, .count = c->count};
    bigger.slots = calloc(cap, sizeof *bigger.slots);
    if (bigger.slots == NULL)
        return false;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].code[0] != '\0')
            *slot_of(&bigger, c->slots[i].code) = c->slots[i];
    free(c->slots);
    *c = bigger;
    return true;
}

void item_cache_put(struct item_cache *cache, const struct sh_item *item)
{
    if (item->code[0] == '\0' || strnlen(item->code, sizeof item->code) == sizeof item->code)
        return;
    if (cache->count >= ITEM_CACHE_MAX)
        item_cache_clear(cache);
    if ((cache->count + 1) * 2 > cache->cap &&
        !cache_resize(cache, cache->cap > 0 ? cache->cap * 2 : ITEM_CACHE_CAP_MIN))
        return;
    struct sh_item *s = slot_of(cache, item->code);
    if (s->code[0] == '\0')
        cache->count++;
    *s = *item;
}

void item_cache_clear(struct item_cache *cache)
{
    if (cache->count > 0)
        memset(cache->slots, 0, cache->cap * sizeof *cache->slots);
    cache->count = 0;
}

size_t item_cache_count(const struct item_cache *cache) { return cache->count; }
