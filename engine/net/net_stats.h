/*
 * Counters of the server, above all the group commit's batch sizes: the
 * number to watch under load (docs/performance.md).
 */
#ifndef NET_STATS_H
#define NET_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bucket i counts batches of size in (2^(i-1), 2^i]: 1, 2, 3-4, 5-8, ...;
 * the last bucket takes everything larger. */
#define NET_STATS_BUCKETS 14

/* A latency histogram for the metrics endpoint (metrics.c): per-bucket
 * counts (not cumulative), bounds in NET_HIST_BOUNDS_US, the last bucket
 * +Inf. */
#define NET_HIST_BUCKETS 15
struct net_hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t buckets[NET_HIST_BUCKETS];
};
extern const uint64_t NET_HIST_BOUNDS_US[NET_HIST_BUCKETS - 1];
void net_hist_observe(struct net_hist *h, uint64_t us);

#define NET_STATS_OPS_MAX 16    /* operations with a latency histogram */
#define NET_STATS_CODES_MAX 128 /* error codes counted, by -code */

struct net_stats {
    uint64_t batches;
    uint64_t batch_writes; /* write requests over all batches */
    uint64_t batch_size_max;
    uint64_t batch_hist[NET_STATS_BUCKETS];
    uint64_t commit_failures; /* batches whose every reply became an error */
    uint64_t commit_us_total; /* handed to the writer..durable (synced), microseconds */
    uint64_t commit_us_max;
    /* Where a batch's time goes, on the writer thread: applying its writes
     * (ledger_batch_begin and every apply), then LMDB's commit (its pages
     * written and fdatasynced). The rest of commit_us is waiting for the
     * writer and for the sync (stage 2), timed apart below. */
    uint64_t apply_us_total;
    uint64_t write_us_total;
    uint64_t write_us_max;
    uint64_t syncs; /* ledger_sync calls, each covering one or more batches */
    uint64_t sync_us_total;
    uint64_t sync_us_max;
    uint64_t reads; /* read requests answered */
    uint64_t connections_accepted;
    uint64_t connections_open;
    uint64_t connections_refused; /* over connections_max */
    uint64_t handshake_failures;
    uint64_t frames_refused; /* FRAME_TOO_LARGE or BAD_FRAME */
    uint64_t forbidden;      /* FORBIDDEN replies, ours or the ledger's */
    uint64_t enospc_batches; /* batches refused: the data file system was full */
    /* For the metrics endpoint (metrics.c). */
    uint64_t handshake_timeouts;
    uint64_t replies;
    uint64_t reply_errors[NET_STATS_CODES_MAX]; /* by -code */
    struct net_hist commit_hist;                /* handed to the writer..durable */
    struct net_hist sync_hist;
    struct {
        const char *name; /* frame_op_name's static string */
        struct net_hist hist;
    } ops[NET_STATS_OPS_MAX];
    size_t op_count;
    uint64_t connections_refused_share; /* over a per-terminal or per-hospital limit */
    uint64_t frames_timed_out;          /* a frame not complete within frame_timeout_ms */
    uint64_t input_memory_refused;      /* a frame past input_total_max_bytes */
    uint64_t strings_refused;           /* BAD_REQUEST for a string field */
    uint64_t reads_pooled;              /* costly reads run on the pool (read_pool.c) */
    uint64_t reads_refused;             /* LIMIT_EXCEEDED: a read queue was full */
    uint64_t lookups_refused;           /* LOOKUP_RATE_EXCEEDED (rate.c) */
    /* Output (conn_output.c): SSL_write calls and socket writes (uv_write),
     * in all and the most in one loop iteration (from one uv_prepare to the
     * next), and the iterations that wrote anything. Replies over
     * socket_writes is how many replies one write carries. */
    uint64_t tls_writes;
    uint64_t socket_writes;
    uint64_t output_iterations;
    uint64_t tls_writes_iteration_max;
    uint64_t socket_writes_iteration_max;
};

void net_stats_record_batch(struct net_stats *stats, size_t size, uint64_t commit_us, bool ok);

/* The writer's two parts of one batch (stage 1). */
void net_stats_record_stage1(struct net_stats *stats, uint64_t apply_us, uint64_t write_us);

void net_stats_record_sync(struct net_stats *stats, uint64_t sync_us);

/* One request answered: op (a static name), from its arrival to its reply. */
void net_stats_record_op(struct net_stats *stats, const char *op, uint64_t us);

/* One reply queued; code its error (0 for none, else negative SH_E_*). */
void net_stats_record_reply(struct net_stats *stats, int code);

/* The upper bound of bucket i ("1", "2", "4", ..., "inf"). */
const char *net_stats_bucket_label(size_t i);

/* One line: "batches=.. writes=.. mean=.. max=.. commit_us_mean=.. hist=1:..,2:..". */
void net_stats_format(const struct net_stats *stats, char *buf, size_t cap);

/* The same as a JSON object, with the process's CPU time so far
 * (cpu_user_us, cpu_sys_us: getrusage, every thread), written to path
 * through a temporary file and a rename, so that a reader never sees half
 * of it. Returns 0 or -1. */
int net_stats_write_json(const struct net_stats *stats, const char *path);

#endif
