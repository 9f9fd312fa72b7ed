#include "histogram.h"

#include <string.h>

void lg_hist_init(struct lg_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_ns = UINT64_MAX;
}

/* b = max(0, msb - SUB_BITS) is the bucket's power of two; v >> b lies in
 * [128, 256) for b > 0 (and is v itself for b = 0), so the index
 * (b << SUB_BITS) + (v >> b) runs on without gaps from one power to the next. */
uint32_t lg_hist_index(uint64_t ns)
{
    if (ns > LG_HIST_MAX_NS)
        ns = LG_HIST_MAX_NS;
    int msb = ns == 0 ? 0 : 63 - __builtin_clzll(ns);
    int b = msb > LG_HIST_SUB_BITS ? msb - LG_HIST_SUB_BITS : 0;
    return ((uint32_t)b << LG_HIST_SUB_BITS) + (uint32_t)(ns >> b);
}

uint64_t lg_hist_bucket_high(uint32_t index)
{
    uint32_t k = index >> LG_HIST_SUB_BITS;
    if (k <= 1)
        return index; /* exact below 256 */
    uint32_t b = k - 1;
    uint64_t low = (uint64_t)(index - (b << LG_HIST_SUB_BITS)) << b;
    return low + ((uint64_t)1 << b) - 1;
}

void lg_hist_record(struct lg_hist *h, uint64_t ns)
{
    if (ns > LG_HIST_MAX_NS)
        h->clamped++;
    h->counts[lg_hist_index(ns)]++;
    h->total++;
    h->sum_ns += ns;
    if (ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

uint64_t lg_hist_percentile(const struct lg_hist *h, uint32_t per_100k)
{
    if (h->total == 0)
        return 0;
    if (per_100k >= 100000)
        return h->max_ns;
    uint64_t rank = (h->total * per_100k + 99999) / 100000;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < LG_HIST_COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t high = lg_hist_bucket_high(i);
            return high < h->max_ns ? high : h->max_ns;
        }
    }
    return h->max_ns;
}

double lg_hist_mean_ns(const struct lg_hist *h)
{
    return h->total > 0 ? (double)h->sum_ns / (double)h->total : 0.0;
}
