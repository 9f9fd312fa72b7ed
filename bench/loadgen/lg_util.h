/*
 * Small helpers shared by sanhe-loadgen's files: the monotonic clock in
 * nanoseconds, a seeded PRNG, bounded string copies and number parsing.
 */
#ifndef LG_UTIL_H
#define LG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define LG_NS_PER_S 1000000000LL
#define LG_NS_PER_US 1000LL

/* CLOCK_MONOTONIC in ns: scheduled times, send times and reply times all
 * come from this one clock, so their differences are latencies. */
static inline int64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * LG_NS_PER_S + ts.tv_nsec;
}

/* splitmix64: tiny, fast, good enough to pick ops, persons and lines; a
 * fixed seed makes a run's request stream reproducible. */
static inline uint64_t lg_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (n > 0), by multiply-high: no modulo bias worth naming. */
static inline uint64_t lg_rng_below(uint64_t *state, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)lg_rng_next(state) * n) >> 64);
}

/* A stateless hash of an index, for the deterministic dataset. */
static inline uint64_t lg_hash64(uint64_t x)
{
    uint64_t s = x;
    return lg_rng_next(&s);
}

/* Copies at most cap - 1 bytes and terminates; true when all of src fit. */
static inline bool lg_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap);
    bool fits = n < cap;
    if (!fits)
        n = cap - 1;
    memmove(dst, src, n);
    dst[n] = '\0';
    return fits;
}

/* Parses a whole decimal string in [lo, hi]; false otherwise. */
bool lg_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

#endif
