/*
 * The Prometheus text exposition of the server's counters
 * (docs/operations.md lists every metric). Units last (_seconds, _bytes),
 * counters end in _total. Seconds are printed from integer microseconds:
 * engine/ keeps floating point out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

struct mbuf {
    char *data;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void mput(struct mbuf *b, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !b->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
}

static void mhead(struct mbuf *b, const char *name, const char *type, const char *help)
{
    mput(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void mvalue(struct mbuf *b, const char *name, const char *type, const char *help,
                   unsigned long long v)
{
    mhead(b, name, type, help);
    mput(b, "%s %llu\n", name, v);
}

static void mseconds(char *out, size_t cap, uint64_t us)
{
    snprintf(out, cap, "%llu.%06llu", (unsigned long long)(us / 1000000),
             (unsigned long long)(us % 1000000));
}

/* labels: "" or `op="settle"` (without braces). */
static void mhist(struct mbuf *b, const char *name, const char *labels, const struct net_hist *h)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cum = 0;
    char le[32];
    for (size_t i = 0; i < NET_HIST_BUCKETS - 1; i++) {
        cum += h->buckets[i];
        mseconds(le, sizeof le, NET_HIST_BOUNDS_US[i]);
        mput(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, le, (unsigned long long)cum);
    }
    mput(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)h->count);
    mseconds(le, sizeof le, h->sum_us);
    mput(b, "%s_sum%s%s%s %s\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "", le);
    mput(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
         (unsigned long long)h->count);
}

static void metrics_latency(struct mbuf *b, const struct net_stats *s)
{
    mhead(b, "sanhe_request_duration_seconds", "histogram",
          "Requests from arrival to reply, by operation (writes: until durable).");
    for (size_t i = 0; i < s->op_count; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "op=\"%s\"", s->ops[i].name);
        mhist(b, "sanhe_request_duration_seconds", labels, &s->ops[i].hist);
    }
    mhead(b, "sanhe_commit_duration_seconds", "histogram",
          "Group commits, from hand-over to the writer until durable (synced).");
    mhist(b, "sanhe_commit_duration_seconds", "", &s->commit_hist);
    mhead(b, "sanhe_sync_duration_seconds", "histogram",
          "The sync (fdatasync) after group commits.");
    mhist(b, "sanhe_sync_duration_seconds", "", &s->sync_hist);
}

static void metrics_batches(struct mbuf *b, const struct net_stats *s)
{
    mhead(b, "sanhe_batch_writes", "histogram", "Write requests per group commit.");
    uint64_t cum = 0;
    for (size_t i = 0; i < NET_STATS_BUCKETS - 1; i++) {
        cum += s->batch_hist[i];
        mput(b, "sanhe_batch_writes_bucket{le=\"%s\"} %llu\n", net_stats_bucket_label(i),
             (unsigned long long)cum);
    }
    mput(b, "sanhe_batch_writes_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)s->batches);
    mput(b, "sanhe_batch_writes_sum %llu\nsanhe_batch_writes_count %llu\n",
         (unsigned long long)s->batch_writes, (unsigned long long)s->batches);
    mvalue(b, "sanhe_commit_failures_total", "counter",
           "Group commits whose every write was refused.", s->commit_failures);
    mvalue(b, "sanhe_storage_full_batches_total", "counter",
           "Group commits refused because the data file system was full (ENOSPC).",
           s->enospc_batches);
}

static void metrics_replies(struct mbuf *b, const struct net_stats *s)
{
    mvalue(b, "sanhe_replies_total", "counter", "Replies sent (errors included).", s->replies);
    mhead(b, "sanhe_reply_errors_total", "counter", "Error replies, by error code.");
    for (int i = 1; i < NET_STATS_CODES_MAX; i++) {
        if (s->reply_errors[i] > 0)
            mput(b, "sanhe_reply_errors_total{code=\"%s\"} %llu\n", sh_error_name(-i),
                 (unsigned long long)s->reply_errors[i]);
    }
    mvalue(b, "sanhe_frames_refused_total", "counter", "Frames refused (too large, malformed).",
           s->frames_refused);
    mvalue(b, "sanhe_tls_writes_total", "counter", "SSL_write calls: replies encrypted together.",
           s->tls_writes);
    mvalue(b, "sanhe_socket_writes_total", "counter", "Socket writes of ciphertext (uv_write).",
           s->socket_writes);
    mvalue(b, "sanhe_socket_writes_iteration_max", "gauge",
           "The most socket writes of one event loop iteration.", s->socket_writes_iteration_max);
}

static void metrics_connections(struct mbuf *b, const struct net_server *server)
{
    const struct net_stats *s = &server->stats;
    mvalue(b, "sanhe_connections_open", "gauge", "Connections open now.", s->connections_open);
    mvalue(b, "sanhe_connections_accepted_total", "counter", "Connections accepted.",
           s->connections_accepted);
    mvalue(b, "sanhe_connections_refused_total", "counter",
           "Connections refused over connections_max.", s->connections_refused);
    uint64_t revoked = server->revocation.refused_revoked;
    uint64_t disabled = server->revocation.refused_disabled;
    uint64_t timeouts = s->handshake_timeouts;
    uint64_t known = revoked + disabled + timeouts;
    uint64_t other = s->handshake_failures > known ? s->handshake_failures - known : 0;
    mhead(b, "sanhe_tls_handshake_failures_total", "counter",
          "TLS handshakes that failed, by reason.");
    mput(b,
         "sanhe_tls_handshake_failures_total{reason=\"revoked\"} %llu\n"
         "sanhe_tls_handshake_failures_total{reason=\"disabled\"} %llu\n"
         "sanhe_tls_handshake_failures_total{reason=\"timeout\"} %llu\n"
         "sanhe_tls_handshake_failures_total{reason=\"other\"} %llu\n",
         (unsigned long long)revoked, (unsigned long long)disabled, (unsigned long long)timeouts,
         (unsigned long long)other);
}

/* A label value as Prometheus reads it: backslash, quote and newline escaped. */
static void mlabel(char *out, size_t cap, const char *v)
{
    size_t o = 0;
    for (const char *p = v; *p != '\0' && o + 3 < cap; p++) {
        if (*p == '\\' || *p == '"')
            out[o++] = '\\';
        out[o++] = *p == '\n' ? ' ' : *p;
    }
    out[o] = '\0';
}

/* Person lookups per terminal since the start (rate.c), and the flag. */
static void metrics_lookups(struct mbuf *b, const struct net_server *server)
{
    const struct rate_table *t = &server->rates;
    mvalue(b, "sanhe_lookups_refused_total", "counter",
           "Person lookups refused with LOOKUP_RATE_EXCEEDED.", server->stats.lookups_refused);
    mvalue(b, "sanhe_audit_records_lost_total", "counter",
           "Audit records of lookups answered at once that never reached the store.",
           server->durable != NULL ? durable_audit_lost(server->durable) : 0);
    if (t->entries == NULL)
        return;
    static const char *const names[] = {
        "sanhe_terminal_lookups_total", "sanhe_terminal_settles_total",
        "sanhe_terminal_lookups_refused_total", "sanhe_terminal_lookup_flagged"};
    static const char *const helps[] = {
        "Person lookups (eligibility, query, presettle), by terminal.",
        "Settlements made, by terminal.", "Person lookups refused over the rate, by terminal.",
        "1: the terminal's lookups far outnumber its settles (lookup_flag_ratio)."};
    for (size_t k = 0; k < 4; k++) {
        mhead(b, names[k], k == 3 ? "gauge" : "counter", helps[k]);
        for (size_t i = 0; i < RATE_TERMINALS_MAX; i++) {
            const struct rate_entry *e = &t->entries[i];
            if (!e->used)
                continue;
            char label[160];
            mlabel(label, sizeof label, e->terminal);
            uint64_t v = k == 0   ? e->lookups
                         : k == 1 ? e->settles
                         : k == 2 ? e->refused
                                  : (uint64_t)rate_flagged(server, e);
            mput(b, "%s{terminal=\"%s\"} %llu\n", names[k], label, (unsigned long long)v);
        }
    }
}

/* Write-quota refusals by hospital and quota since the start (ledger quota.c). */
static void metrics_quotas(struct mbuf *b, struct net_server *server)
{
    const char *name = "sanhe_quota_refused_total";
    mhead(b, name, "counter",
          "Writes refused QUOTA_EXCEEDED (settlements, stored_bytes, unknown_cancels) or "
          "CLAIM_TOO_LARGE (claim_lines), by hospital and quota.");
    if (server->ledger == NULL)
        return;
    size_t cap = ledger_quota_refusals(server->ledger, NULL, 0);
    struct ledger_quota_refusals *r = cap > 0 ? calloc(cap, sizeof *r) : NULL;
    size_t n = r != NULL ? ledger_quota_refusals(server->ledger, r, cap) : 0;
    if (n > cap)
        n = cap; /* more came meanwhile: the next scrape has them */
    for (size_t i = 0; r != NULL && i < n; i++) {
        char label[80];
        mlabel(label, sizeof label, r[i].hospital);
        for (int k = 0; k < LEDGER_QUOTA_KINDS; k++)
            if (r[i].refused[k] > 0)
                mput(b, "%s{hospital=\"%s\",quota=\"%s\"} %llu\n", name, label,
                     ledger_quota_name((enum ledger_quota_kind)k),
                     (unsigned long long)r[i].refused[k]);
    }
    free(r);
}

static void metrics_store(struct mbuf *b, struct net_server *server)
{
    struct ledger_info info;
    if (server->ledger == NULL || ledger_info(server->ledger, &info) != 0)
        return;
    mvalue(b, "sanhe_lmdb_map_size_bytes", "gauge", "The LMDB map as mapped now.", info.map_size);
    mvalue(b, "sanhe_lmdb_map_max_bytes", "gauge", "The map's hard limit (map_size_max_mb).",
           info.map_size_max);
    mvalue(b, "sanhe_lmdb_map_used_bytes", "gauge", "The map up to its last page in use.",
           info.map_used);
    mvalue(b, "sanhe_lmdb_readers_used", "gauge", "LMDB reader slots taken (every process).",
           info.readers_used);
    mvalue(b, "sanhe_lmdb_readers_max", "gauge", "LMDB reader slots in all.", info.readers_max);
    mvalue(b, "sanhe_settlements_total", "counter", "Settlement ids handed out.", info.settlements);
    mvalue(b, "sanhe_journal_entries_total", "counter", "Journal entries written.",
           info.journal_entries);
}

static void metrics_reads(struct mbuf *b, struct net_server *server)
{
    mvalue(b, "sanhe_reads_pooled_total", "counter",
           "Costly reads (reconcile, crosscheck, import log) run on the pool.",
           server->stats.reads_pooled);
    mvalue(b, "sanhe_reads_refused_total", "counter",
           "Costly reads refused LIMIT_EXCEEDED: a read queue was full.",
           server->stats.reads_refused);
    mvalue(b, "sanhe_reads_queued", "gauge", "Costly reads waiting or running, every terminal.",
           read_pool_queued(server));
}

int net_metrics_format(struct net_server *server, char **out, size_t *len)
{
    struct mbuf b = {.cap = 16384};
    b.data = malloc(b.cap);
    if (b.data == NULL)
        return SH_E_INTERNAL;
    b.data[0] = '\0';
    metrics_latency(&b, &server->stats);
    metrics_batches(&b, &server->stats);
    metrics_replies(&b, &server->stats);
    metrics_connections(&b, server);
    metrics_store(&b, server);
    metrics_reads(&b, server);
    metrics_lookups(&b, server);
    metrics_quotas(&b, server);
    mvalue(&b, "sanhe_up", "gauge", "1 while the engine serves.", server->stopping ? 0 : 1);
    if (b.failed) {
        free(b.data);
        return SH_E_INTERNAL;
    }
    *out = b.data;
    *len = b.len;
    return 0;
}
