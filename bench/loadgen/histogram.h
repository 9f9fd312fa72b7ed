/*
 * A log-linear latency histogram, in the manner of HdrHistogram: values in
 * nanoseconds, exact below 256 ns, then 128 linear sub-buckets per power of
 * two, so every bucket is at most 1/128 (0.8 %) of its value wide, from
 * 1 ns up to 60 s (larger values are counted at 60 s). 3840 counters, a
 * few instructions per record, no allocation.
 *
 * Percentiles answer the upper edge of the bucket that holds the requested
 * rank (never above the exact maximum), as HdrHistogram's
 * highestEquivalentValue does: the figure is never optimistic by more than
 * the bucket width.
 */
#ifndef HISTOGRAM_H
#define HISTOGRAM_H

#include <stdint.h>

#define LG_HIST_SUB_BITS 7 /* 128 sub-buckets per power of two */
#define LG_HIST_MAX_NS 60000000000ull
/* 60 s < 2^36: top bucket exponent 36 - 1 - SUB_BITS = 28, counts (28 + 2) x 128. */
#define LG_HIST_COUNTS (30u << LG_HIST_SUB_BITS)

struct lg_hist {
    uint64_t counts[LG_HIST_COUNTS];
    uint64_t total;
    uint64_t min_ns, max_ns; /* exact */
    uint64_t sum_ns;         /* for the mean; 60 s x 10^8 values still fits */
    uint64_t clamped;        /* values above LG_HIST_MAX_NS */
};

void lg_hist_init(struct lg_hist *h);
void lg_hist_record(struct lg_hist *h, uint64_t ns);

/* The value at rank ceil(total x per_100k / 100000): per_100k 50000 is the
 * median, 99900 is p99.9, 100000 the maximum. 0 when empty. */
uint64_t lg_hist_percentile(const struct lg_hist *h, uint32_t per_100k);

/* Statistics only (printing), never money: a double is fine here. */
double lg_hist_mean_ns(const struct lg_hist *h);

/* Bucket index of a value, and the highest value a bucket holds (tests). */
uint32_t lg_hist_index(uint64_t ns);
uint64_t lg_hist_bucket_high(uint32_t index);

#endif
