/*
 * The engine's own counters around the measurement window: SIGUSR1 makes
 * `sanhe-engine serve` write its stats_file (engine/net/net_stats.c, written
 * through a rename, so a file that exists is whole). Two snapshots, at the
 * start of the window and after the drain, give the group commit's batch
 * sizes and commit times for exactly the requests measured.
 */
#ifndef ENGINE_STATS_H
#define ENGINE_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#define LG_ENGINE_BUCKETS 14 /* as NET_STATS_BUCKETS: batch sizes 1, 2, 3-4, ..., >4096 */

struct lg_engine_stats {
    bool valid;
    uint64_t batches, batch_writes, batch_size_max;
    uint64_t hist[LG_ENGINE_BUCKETS];
    uint64_t commit_us_total, commit_us_max, commit_failures;
    uint64_t apply_us_total, write_us_total, syncs, sync_us_total; /* 0 from older engines */
    uint64_t reads;
    uint64_t cpu_us; /* the process's user + system time; 0 from older engines */
};

/* What happened between two snapshots. */
struct lg_engine_delta {
    bool valid;
    uint64_t batches, batch_writes, reads, commit_failures;
    uint64_t commit_us_total;
    uint64_t apply_us_total, write_us_total, syncs, sync_us_total;
    int64_t cpu_us; /* the engine's CPU time; -1: unknown */
    uint64_t hist[LG_ENGINE_BUCKETS];
    /* The largest batch: exact when the engine's maximum grew during the
     * window, else only "at most" the upper edge of the highest bucket. */
    uint64_t batch_max;
    bool batch_max_exact;
};

extern const char *const lg_engine_bucket_labels[LG_ENGINE_BUCKETS];

struct lg_engine_probe {
    uv_timer_t timer;
    pid_t pid;
    const char *path;
    int waited_ms;
    bool active;
    struct lg_engine_stats *out;
    void (*done)(struct lg_engine_probe *probe); /* out->valid tells whether it worked */
    void *owner;
};

/* Removes the file, signals the engine and polls (every 2 ms, 3 s at most)
 * for the new file without blocking the loop. */
void lg_engine_probe_start(struct lg_engine_probe *p, uv_loop_t *loop);
void lg_engine_probe_close(struct lg_engine_probe *p);

void lg_engine_delta(const struct lg_engine_stats *a, const struct lg_engine_stats *b,
                     struct lg_engine_delta *out);

#endif
