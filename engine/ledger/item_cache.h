/*
 * The writer's catalog items, in memory.
 *
 * Every line of every claim names a catalog item; looked up in LMDB, each
 * costs a walk down the catalog's tree and a decode (about 1,500
 * instructions, an eighth of a settle's).
 * The writer keeps the items it has looked up here, as its open
 * transaction sees them.
 * A Load (which may change any item) empties the map, and so does every
 * dropped transaction (the map may hold what it read); so the map never
 * holds an item that differs from the store's. Readers run on other
 * threads with no map.
 *
 * Bounded: past ITEM_CACHE_MAX items the map empties and fills again.
 */
#ifndef ITEM_CACHE_H
#define ITEM_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "sh_types.h"

#define ITEM_CACHE_MAX 32768u

struct item_cache;

/* NULL when out of memory. */
struct item_cache *item_cache_new(void);
void item_cache_free(struct item_cache *cache);

/* Copies the item of code to out; false when the map does not hold it. */
bool item_cache_get(const struct item_cache *cache, const char *code, struct sh_item *out);

/* Keeps a copy of item (under item->code); when memory is short, it keeps
 * nothing (the next lookup goes to the store). */
void item_cache_put(struct item_cache *cache, const struct sh_item *item);

void item_cache_clear(struct item_cache *cache);

size_t item_cache_count(const struct item_cache *cache);

#endif
