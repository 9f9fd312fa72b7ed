/*
 * FNV-1a, 64 bits: the hash of the writer's in-memory maps (request_tail.c,
 * item_cache.c). Fast on short strings; not for anything an attacker could
 * aim at a bucket with, which these keys (checked codes and ids) are not.
 */
#ifndef FNV1A_H
#define FNV1A_H

#include <stdint.h>

#define FNV1A_OFFSET 14695981039346656037ull

static inline uint64_t fnv1a_byte(uint64_t h, uint8_t b) { return (h ^ b) * 1099511628211ull; }

/* h, continued over the bytes of s (without its NUL). */
static inline uint64_t fnv1a_str(uint64_t h, const char *s)
{
    for (const char *p = s; *p != '\0'; p++)
        h = fnv1a_byte(h, (uint8_t)*p);
    return h;
}

#endif
