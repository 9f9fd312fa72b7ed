#include "probe.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "histogram.h"
#include "lg_util.h"

#define PROBE_SYNCS 200
#define PROBE_BLOCK 4096
#define PROBE_PAGES_MAX 25
#define PROBE_FILE_BYTES (64 << 20) /* written once before, so no sync allocates blocks */
#define PROBE_FILL_CHUNK (1 << 20)

/* What one fdatasync makes durable: `pages` pages, one run or each alone. */
struct probe_pattern {
    const char *name;
    int pages;
    bool contiguous;
};

/* The first is the classic figure (the top-level fields of the JSON). */
static const struct probe_pattern patterns[] = {
    {"page_1", 1, true},
    {"pages_25_contiguous", PROBE_PAGES_MAX, true},
    {"pages_25_scattered", PROBE_PAGES_MAX, false},
};
#define PATTERN_COUNT (sizeof patterns / sizeof patterns[0])

static int probe_fill(int fd)
{
    static uint8_t zeros[PROBE_FILL_CHUNK];
    for (off_t at = 0; at < PROBE_FILE_BYTES; at += PROBE_FILL_CHUNK)
        if (pwrite(fd, zeros, sizeof zeros, at) != (ssize_t)sizeof zeros)
            return -1;
    return fdatasync(fd);
}

/* Page numbers of the file, from a xorshift generator (no two runs of a
 * scattered write are adjacent but by chance, as LMDB's free pages are). */
static off_t probe_page(uint64_t *rng, int span)
{
    uint64_t pages = PROBE_FILE_BYTES / PROBE_BLOCK - (uint64_t)span;
    return (off_t)(lg_rng_below(rng, pages) * PROBE_BLOCK);
}

static int probe_run(int fd, const struct probe_pattern *p, struct lg_hist *h)
{
    static uint8_t block[PROBE_PAGES_MAX * PROBE_BLOCK];
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < PROBE_SYNCS; i++) {
        memset(block, i, sizeof block);
        if (p->contiguous) {
            size_t len = (size_t)p->pages * PROBE_BLOCK;
            if (pwrite(fd, block, len, probe_page(&rng, p->pages)) != (ssize_t)len)
                return -1;
        } else {
            for (int k = 0; k < p->pages; k++)
                if (pwrite(fd, block, PROBE_BLOCK, probe_page(&rng, 1)) != PROBE_BLOCK)
                    return -1;
        }
        int64_t t0 = lg_now_ns();
        if (fdatasync(fd) != 0)
            return -1;
        lg_hist_record(h, (uint64_t)(lg_now_ns() - t0));
    }
    return 0;
}

static double pct_us(const struct lg_hist *h, uint32_t pct_milli)
{
    return (double)lg_hist_percentile(h, pct_milli) / 1000.0;
}

static json_t *probe_json(const char *dir, struct lg_hist *hists)
{
    const struct lg_hist *h = &hists[0];
    json_t *doc =
        json_pack("{s:s, s:s, s:i, s:f, s:f, s:f, s:f}", "kind", "fsync-probe", "dir", dir, "syncs",
                  PROBE_SYNCS, "mean_us", lg_hist_mean_ns(h) / 1000.0, "p50_us", pct_us(h, 50000),
                  "p99_us", pct_us(h, 99000), "max_us", (double)h->max_ns / 1000.0);
    json_t *by = json_object();
    for (size_t i = 0; doc != NULL && by != NULL && i < PATTERN_COUNT; i++)
        json_object_set_new(by, patterns[i].name,
                            json_pack("{s:i, s:b, s:f, s:f, s:f}", "pages", patterns[i].pages,
                                      "contiguous", patterns[i].contiguous, "p50_us",
                                      pct_us(&hists[i], 50000), "p99_us", pct_us(&hists[i], 99000),
                                      "max_us", (double)hists[i].max_ns / 1000.0));
    if (doc != NULL)
        json_object_set_new(doc, "patterns", by != NULL ? by : json_null());
    return doc;
}

int lg_probe_fsync(const char *dir, const char *json_out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/sanhe-fsync-probe.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "sanhe-loadgen: cannot create a file in %s\n", dir);
        return -1;
    }
    static struct lg_hist hists[PATTERN_COUNT];
    int rc = probe_fill(fd);
    for (size_t i = 0; rc == 0 && i < PATTERN_COUNT; i++) {
        lg_hist_init(&hists[i]);
        rc = probe_run(fd, &patterns[i], &hists[i]);
    }
    close(fd);
    unlink(path);
    if (rc != 0) {
        fprintf(stderr, "sanhe-loadgen: write or fdatasync failed in %s\n", dir);
        return -1;
    }
    for (size_t i = 0; i < PATTERN_COUNT; i++)
        printf("fdatasync of %d x 4 KiB (%s) in %s, %d times: mean %.0f us, p50 %.0f, p99 %.0f, "
               "max %.0f\n",
               patterns[i].pages, patterns[i].contiguous ? "one run" : "scattered", dir,
               PROBE_SYNCS, lg_hist_mean_ns(&hists[i]) / 1000.0, pct_us(&hists[i], 50000),
               pct_us(&hists[i], 99000), (double)hists[i].max_ns / 1000.0);
    if (json_out == NULL)
        return 0;
    json_t *doc = probe_json(dir, hists);
    rc = doc != NULL ? json_dump_file(doc, json_out,
                                      JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))
                     : -1;
    json_decref(doc);
    return rc;
}
