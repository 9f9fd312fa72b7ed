#include "probe.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "histogram.h"
#include "lg_util.h"

#define PROBE_SYNCS 200
#define PROBE_BLOCK 4096

static int probe_run(int fd, struct lg_hist *h)
{
    static uint8_t block[PROBE_BLOCK];
    for (int i = 0; i < PROBE_SYNCS; i++) {
        memset(block, i, sizeof block);
        if (pwrite(fd, block, sizeof block, (off_t)(i % 64) * PROBE_BLOCK) != PROBE_BLOCK)
            return -1;
        int64_t t0 = lg_now_ns();
        if (fdatasync(fd) != 0)
            return -1;
        lg_hist_record(h, (uint64_t)(lg_now_ns() - t0));
    }
    return 0;
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
    static struct lg_hist h;
    lg_hist_init(&h);
    int rc = probe_run(fd, &h);
    close(fd);
    unlink(path);
    if (rc != 0) {
        fprintf(stderr, "sanhe-loadgen: write or fdatasync failed in %s\n", dir);
        return -1;
    }
    double mean = lg_hist_mean_ns(&h) / 1000.0,
           p50 = (double)lg_hist_percentile(&h, 50000) / 1000.0;
    double p99 = (double)lg_hist_percentile(&h, 99000) / 1000.0, max = (double)h.max_ns / 1000.0;
    printf("fdatasync of 4 KiB in %s, %d times: mean %.0f us, p50 %.0f, p99 %.0f, max %.0f\n", dir,
           PROBE_SYNCS, mean, p50, p99, max);
    if (json_out == NULL)
        return 0;
    json_t *doc =
        json_pack("{s:s, s:s, s:i, s:f, s:f, s:f, s:f}", "kind", "fsync-probe", "dir", dir, "syncs",
                  PROBE_SYNCS, "mean_us", mean, "p50_us", p50, "p99_us", p99, "max_us", max);
    rc = doc != NULL ? json_dump_file(doc, json_out,
                                      JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))
                     : -1;
    json_decref(doc);
    return rc;
}
