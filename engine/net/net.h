/*
 * The sanhe-engine network server: TLS 1.3 terminals on a libuv loop,
 * length-prefixed protobuf frames, reads answered at once, writes answered
 * only after their group commit is durable.
 *
 * Usage: net_server_create on a loop, then uv_run; net_server_stop for a
 * graceful end (its callback runs once every connection is closed and the
 * last batch committed); net_server_free after the loop has stopped.
 */
#ifndef NET_H
#define NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ledger.h"
#include "net_stats.h"
#include "sh_error.h"

/* Defaults of the [limits] keys (ops/sanhe-engine.conf.example). */
#define NET_FRAME_MAX_BYTES_DEFAULT (1024u * 1024u)
#define NET_CONNECTIONS_MAX_DEFAULT 1024u
#define NET_INFLIGHT_MAX_DEFAULT 256u
#define NET_BATCH_MAX_DEFAULT 1024u
#define NET_OUTPUT_MAX_BYTES_DEFAULT (4u * 1024u * 1024u)
#define NET_HANDSHAKE_TIMEOUT_MS_DEFAULT 10000u
#define NET_IDLE_TIMEOUT_MS_DEFAULT 300000u
#define NET_FRAME_TIMEOUT_MS_DEFAULT 30000u
#define NET_CONNECTIONS_PER_TERMINAL_MAX_DEFAULT 16u
#define NET_CONNECTIONS_PER_HOSPITAL_MAX_DEFAULT 128u
#define NET_INPUT_TOTAL_MAX_BYTES_DEFAULT (256u * 1024u * 1024u)
#define NET_OUTPUT_TOTAL_MAX_BYTES_DEFAULT (256u * 1024u * 1024u)
#define NET_READS_QUEUED_PER_TERMINAL_MAX_DEFAULT 256u
#define NET_READS_QUEUED_TOTAL_MAX_DEFAULT 1024u
#define NET_READS_QUEUED_PER_TERMINAL_MAX_BYTES_DEFAULT (16u * 1024u * 1024u)
/* libuv's pool (UV_THREADPOOL_SIZE): the group commit's two stages take two
 * threads, the costly reads the others (engine/net/read_pool.c). */
#define NET_WORKER_THREADS_DEFAULT 4u
#define NET_WORKER_THREADS_MIN 3u
#define NET_WORKER_THREADS_MAX 64u /* each read holds an LMDB reader slot (126) */
#define NET_LOOKUPS_PER_MINUTE_DEFAULT 600u
#define NET_LOOKUPS_BURST_DEFAULT 600u
#define NET_LOOKUP_FLAG_RATIO_DEFAULT 20u
#define NET_LOOKUP_FLAG_MIN_DEFAULT 100u
#define NET_LINGER_MS 2000u        /* after our close: how long we drain the peer's bytes */
#define NET_STOP_TIMEOUT_MS 10000u /* graceful stop: connections still open then are cut */

struct net_limits {
    uint32_t frame_max_bytes;      /* a request frame's payload, header excluded */
    uint32_t connections_max;      /* more are accepted, told LIMIT_EXCEEDED, closed */
    uint32_t inflight_max;         /* per connection: writes awaiting commit; reading pauses */
    uint32_t batch_max;            /* write requests per group commit */
    uint32_t output_max_bytes;     /* per connection: unsent reply bytes; reading pauses */
    uint32_t handshake_timeout_ms; /* from accept to a finished TLS handshake */
    uint32_t idle_timeout_ms;      /* no whole frame from the peer and nothing in flight */
    /* Fair shares (docs/limits.md): what one certificate can
     * hold, so that a stolen one cannot take the engine from the others. */
    uint32_t frame_timeout_ms;             /* a frame's first byte to its last */
    uint32_t connections_per_terminal_max; /* per certificate CN, after the handshake */
    uint32_t connections_per_hospital_max; /* per hospital of the terminal */
    uint32_t input_total_max_bytes;        /* every connection's frame buffers together */
    uint32_t output_total_max_bytes;       /* every connection's unsent replies together */
    /* Costly reads (reconcile, crosscheck, import log) wait for a thread of
     * the pool (read_pool.c); past either bound they get LIMIT_EXCEEDED. */
    uint32_t reads_queued_per_terminal_max;       /* waiting or running, per certificate CN */
    uint32_t reads_queued_total_max;              /* every terminal's together */
    uint32_t reads_queued_per_terminal_max_bytes; /* their requests' bytes, per CN */
    /* Person lookups (eligibility, query, presettle), per terminal: a token
     * bucket of lookups_burst refilled at lookups_per_minute (0: no limit).
     * A terminal with at least lookup_flag_min lookups and more than
     * lookup_flag_ratio times as many lookups as settles is flagged. */
    uint32_t lookups_per_minute;
    uint32_t lookups_burst;
    uint32_t lookup_flag_ratio;
    uint32_t lookup_flag_min;
    /* 1: a lookup is answered only once its audit record is committed and
     * synced (it waits for a group commit); 0: at once, its record written
     * with the next group commit (docs/limits.md says what a crash loses). */
    uint32_t lookup_answer_after_audit;
};

/* A terminal from the configuration file, used when the ledger has none
 * of that name. */
struct net_terminal {
    char name[64];
    char hospital[SH_CODE_MAX];
    enum sh_role role;
    bool disabled;        /* refused at the handshake, whatever the ledger's table says */
    bool has_lookup_rate; /* lookups_per_minute=N in its line */
    uint32_t lookups_per_minute;
};

struct net_config {
    const char *listen_host; /* numeric IPv4 or IPv6 address */
    int listen_port;         /* 0: any free port (see net_server_port) */
    const char *tls_ca;
    const char *tls_cert;
    const char *tls_key;
    const char *tls_crl; /* the CA's CRL (PEM), "" or NULL for none */
    struct net_limits limits;
    const struct net_terminal *terminals;
    size_t terminal_count;
    /* A benchmark baseline only (bench/run.sh's tls_echo): every request from
     * a known terminal is answered at once with a Response carrying only its
     * request_id, without reading or writing the ledger. Never in service. */
    bool bench_echo;
    /* libuv's pool size as the process set it (UV_THREADPOOL_SIZE, before
     * the loop's first work); 0: NET_WORKER_THREADS_DEFAULT. */
    uint32_t worker_threads;
};

struct net_server;

/* Loads the TLS context, binds and listens. On failure nothing is left
 * behind (and no callback of the server will ever run). */
int net_server_create(uv_loop_t *loop, const struct net_config *config, struct ledger *ledger,
                      struct net_server **out, struct sh_error *err);

/* The port actually bound (useful with listen_port 0). */
int net_server_port(const struct net_server *server);

/* Graceful stop: no new connections, no new requests; requests already
 * read are committed and answered, then every connection is closed. done
 * runs once, when the server holds no more handles. */
void net_server_stop(struct net_server *server, void (*done)(void *ctx), void *ctx);

/* After done has run (or the loop was never run). */
void net_server_free(struct net_server *server);

const struct net_stats *net_server_stats(const struct net_server *server);

/* The Prometheus text exposition of the server (metrics.c), in a new
 * malloc'ed buffer. Returns 0 or SH_E_INTERNAL. */
int net_metrics_format(struct net_server *server, char **out, size_t *len);

/* The metrics endpoint (metrics_http.c): HTTP/1.1 on its own address, parsed
 * by http-parser; GET /metrics answers net_metrics_format, anything else
 * 404 or 405; one request per connection, then close. At most
 * NET_METRICS_CONNECTIONS_MAX connections at once, NET_METRICS_REQUEST_MAX
 * bytes of request, NET_METRICS_TIMEOUT_MS to send it. */
#define NET_METRICS_CONNECTIONS_MAX 16
#define NET_METRICS_REQUEST_MAX 8192
#define NET_METRICS_TIMEOUT_MS 5000
struct net_metrics_http;
int net_metrics_http_start(uv_loop_t *loop, const char *host, int port, struct net_server *server,
                           struct net_metrics_http **out, struct sh_error *err);
int net_metrics_http_port(const struct net_metrics_http *m);
/* Closes the listener and every connection; frees itself once closed. */
void net_metrics_http_close(struct net_metrics_http *m);

/* SIGHUP (reload.c): a new TLS context (CA, our certificate, the CRL), the
 * terminal table and the limits (all but batch_max, which sizes the group
 * commit's slots: kept, and said so). Connections stay up, except those of
 * terminals now disabled or revoked, which are closed (their writes in
 * flight are answered first). Every change is logged. On failure (a file
 * that does not load) nothing changes and err says why. */
int net_server_reload(struct net_server *server, const struct net_config *config,
                      struct sh_error *err);

#endif
