#include "net_stats.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static size_t stats_bucket(size_t size)
{
    size_t i = 0;
    while (i + 1 < NET_STATS_BUCKETS && ((size_t)1 << i) < size)
        i++;
    return i;
}

void net_stats_record_batch(struct net_stats *stats, size_t size, uint64_t commit_us, bool ok)
{
    stats->batches++;
    stats->batch_writes += size;
    if (size > stats->batch_size_max)
        stats->batch_size_max = size;
    stats->batch_hist[stats_bucket(size)]++;
    stats->commit_us_total += commit_us;
    if (commit_us > stats->commit_us_max)
        stats->commit_us_max = commit_us;
    if (!ok)
        stats->commit_failures++;
    net_hist_observe(&stats->commit_hist, commit_us);
}

void net_stats_record_stage1(struct net_stats *stats, uint64_t apply_us, uint64_t write_us)
{
    stats->apply_us_total += apply_us;
    stats->write_us_total += write_us;
    if (write_us > stats->write_us_max)
        stats->write_us_max = write_us;
}

void net_stats_record_sync(struct net_stats *stats, uint64_t sync_us)
{
    stats->syncs++;
    stats->sync_us_total += sync_us;
    if (sync_us > stats->sync_us_max)
        stats->sync_us_max = sync_us;
    net_hist_observe(&stats->sync_hist, sync_us);
}

const uint64_t NET_HIST_BOUNDS_US[NET_HIST_BUCKETS - 1] = {
    250,   500,    1000,   2500,   5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 10000000};

void net_hist_observe(struct net_hist *h, uint64_t us)
{
    size_t i = 0;
    while (i < NET_HIST_BUCKETS - 1 && us > NET_HIST_BOUNDS_US[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum_us += us;
}

void net_stats_record_op(struct net_stats *stats, const char *op, uint64_t us)
{
    size_t i = 0;
    /* op is one of frame_op_name's static strings: the same pointer, as a rule. */
    while (i < stats->op_count && stats->ops[i].name != op && strcmp(stats->ops[i].name, op) != 0)
        i++;
    if (i == stats->op_count) {
        if (stats->op_count == NET_STATS_OPS_MAX)
            return; /* more operations than the wire has: not counted */
        stats->ops[i].name = op;
        stats->op_count++;
    }
    net_hist_observe(&stats->ops[i].hist, us);
}

void net_stats_record_reply(struct net_stats *stats, int code)
{
    stats->replies++;
    if (code < 0 && -code < NET_STATS_CODES_MAX)
        stats->reply_errors[-code]++;
}

const char *net_stats_bucket_label(size_t i)
{
    static const char *const labels[NET_STATS_BUCKETS] = {
        "1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "1024", "2048", "4096", "inf"};
    return i < NET_STATS_BUCKETS ? labels[i] : "?";
}

/* Means in hundredths, in integers: engine/ keeps floating point out. */
static unsigned long long stats_mean_x100(uint64_t sum, uint64_t n)
{
    return n > 0 ? (unsigned long long)((sum * 100 + n / 2) / n) : 0;
}

/* The same rounded to a whole number. */
static unsigned long long stats_mean(uint64_t sum, uint64_t n)
{
    return (stats_mean_x100(sum, n) + 50) / 100;
}

void net_stats_format(const struct net_stats *s, char *buf, size_t cap)
{
    int n = snprintf(
        buf, cap,
        "batches=%llu writes=%llu mean=%llu.%02llu max=%llu commit_us_mean=%llu "
        "commit_us_max=%llu apply_us_mean=%llu write_us_mean=%llu syncs=%llu "
        "sync_us_mean=%llu failures=%llu reads=%llu connections=%llu/%llu refused=%llu hist=",
        (unsigned long long)s->batches, (unsigned long long)s->batch_writes,
        stats_mean_x100(s->batch_writes, s->batches) / 100,
        stats_mean_x100(s->batch_writes, s->batches) % 100, (unsigned long long)s->batch_size_max,
        stats_mean(s->commit_us_total, s->batches), (unsigned long long)s->commit_us_max,
        stats_mean(s->apply_us_total, s->batches), stats_mean(s->write_us_total, s->batches),
        (unsigned long long)s->syncs, stats_mean(s->sync_us_total, s->syncs),
        (unsigned long long)s->commit_failures, (unsigned long long)s->reads,
        (unsigned long long)s->connections_open, (unsigned long long)s->connections_accepted,
        (unsigned long long)s->connections_refused);
    for (size_t i = 0; i < NET_STATS_BUCKETS && n >= 0 && (size_t)n < cap; i++) {
        if (s->batch_hist[i] == 0)
            continue;
        n += snprintf(buf + n, cap - (size_t)n, "%s%s:%llu", buf[n - 1] == '=' ? "" : ",",
                      net_stats_bucket_label(i), (unsigned long long)s->batch_hist[i]);
    }
}

static json_int_t cpu_us(struct timeval tv)
{
    return (json_int_t)tv.tv_sec * 1000000 + (json_int_t)tv.tv_usec;
}

static json_t *stats_json(const struct net_stats *s)
{
    json_t *hist = json_object();
    for (size_t i = 0; i < NET_STATS_BUCKETS; i++)
        json_object_set_new(hist, net_stats_bucket_label(i),
                            json_integer((json_int_t)s->batch_hist[i]));
    json_t *doc = json_pack(
        "{s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "batches",
        (json_int_t)s->batches, "batch_writes", (json_int_t)s->batch_writes, "batch_size_max",
        (json_int_t)s->batch_size_max, "batch_hist", hist, "commit_failures",
        (json_int_t)s->commit_failures, "commit_us_total", (json_int_t)s->commit_us_total,
        "commit_us_max", (json_int_t)s->commit_us_max, "reads", (json_int_t)s->reads,
        "connections_accepted", (json_int_t)s->connections_accepted, "connections_open",
        (json_int_t)s->connections_open, "connections_refused", (json_int_t)s->connections_refused,
        "handshake_failures", (json_int_t)s->handshake_failures, "frames_refused",
        (json_int_t)s->frames_refused, "forbidden", (json_int_t)s->forbidden);
    const struct {
        const char *key;
        uint64_t value;
    } stages[] = {{"apply_us_total", s->apply_us_total},
                  {"write_us_total", s->write_us_total},
                  {"write_us_max", s->write_us_max},
                  {"syncs", s->syncs},
                  {"sync_us_total", s->sync_us_total},
                  {"sync_us_max", s->sync_us_max},
                  {"connections_refused_share", s->connections_refused_share},
                  {"frames_timed_out", s->frames_timed_out},
                  {"input_memory_refused", s->input_memory_refused},
                  {"strings_refused", s->strings_refused},
                  {"reads_pooled", s->reads_pooled},
                  {"reads_refused", s->reads_refused},
                  {"replies", s->replies},
                  {"tls_writes", s->tls_writes},
                  {"socket_writes", s->socket_writes},
                  {"output_iterations", s->output_iterations},
                  {"tls_writes_iteration_max", s->tls_writes_iteration_max},
                  {"socket_writes_iteration_max", s->socket_writes_iteration_max}};
    for (size_t i = 0; doc != NULL && i < sizeof stages / sizeof stages[0]; i++)
        json_object_set_new(doc, stages[i].key, json_integer((json_int_t)stages[i].value));
    /* The process's CPU so far, every thread: with two snapshots, a load
     * generator tells the engine's CPU per request (bench/loadgen/cpu_use.h). */
    struct rusage ru;
    if (doc != NULL && getrusage(RUSAGE_SELF, &ru) == 0) {
        json_object_set_new(doc, "cpu_user_us", json_integer(cpu_us(ru.ru_utime)));
        json_object_set_new(doc, "cpu_sys_us", json_integer(cpu_us(ru.ru_stime)));
    }
    return doc;
}

int net_stats_write_json(const struct net_stats *stats, const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    json_t *doc = stats_json(stats);
    int rc = doc != NULL ? json_dump_file(doc, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) : -1;
    json_decref(doc);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    return rc;
}
