/* The server's lifetime: create, graceful stop, free. */
#include <assert.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "net_log.h"

/* Every handle of the server is closed: the stop is complete. */
void server_handle_closed(struct net_server *server)
{
    assert(server->handles_open > 0);
    server->handles_open--;
    if (server->handles_open == 0 && server->stop_done != NULL) {
        void (*done)(void *) = server->stop_done;
        server->stop_done = NULL;
        done(server->stop_ctx);
    }
}

static void server_on_timer_closed(uv_handle_t *handle) { server_handle_closed(handle->data); }

/* Once the last connection is gone (and with it every queued write, since
 * a queued write holds its connection), the server's own handles go. */
static void server_maybe_done(struct net_server *server)
{
    if (!server->stopping || server->conns != NULL || !handoff_idle(server) ||
        !read_pool_idle(server))
        return;
    if (uv_is_closing((uv_handle_t *)&server->stop_timer))
        return;
    char line[512];
    net_stats_format(&server->stats, line, sizeof line);
    net_log_always("stopped: %s", line);
    durable_close(server->durable);
    conn_output_close(server);
    uv_close((uv_handle_t *)&server->stop_timer, server_on_timer_closed);
}

void server_conn_freed(struct net_server *server) { server_maybe_done(server); }

void server_batch_done(struct net_server *server) { server_maybe_done(server); }

static void server_on_stop_timeout(uv_timer_t *timer)
{
    struct net_server *server = timer->data;
    net_log(NET_LOG_WARN, "stop: connections still open after %u ms are cut", NET_STOP_TIMEOUT_MS);
    for (struct conn *c = server->conns; c != NULL; c = c->next)
        conn_abort(c, "engine stopping");
}

void net_server_stop(struct net_server *server, void (*done)(void *ctx), void *ctx)
{
    if (server->stopping)
        return;
    server->stopping = true;
    server->stop_done = done;
    server->stop_ctx = ctx;
    net_log(NET_LOG_INFO, "stopping: no new connections; answering what was read");
    listener_close(server);
    for (struct conn *c = server->conns; c != NULL; c = c->next)
        conn_finish(c, "engine stopping");
    uv_timer_start(&server->stop_timer, server_on_stop_timeout, NET_STOP_TIMEOUT_MS, 0);
    uv_unref((uv_handle_t *)&server->stop_timer);
    server_maybe_done(server);
}

/* A limit left 0 (a caller that predates it) takes its default. */
static void server_limits_defaults(struct net_limits *l)
{
    if (l->frame_timeout_ms == 0)
        l->frame_timeout_ms = NET_FRAME_TIMEOUT_MS_DEFAULT;
    if (l->connections_per_terminal_max == 0)
        l->connections_per_terminal_max = NET_CONNECTIONS_PER_TERMINAL_MAX_DEFAULT;
    if (l->connections_per_hospital_max == 0)
        l->connections_per_hospital_max = NET_CONNECTIONS_PER_HOSPITAL_MAX_DEFAULT;
    if (l->input_total_max_bytes == 0)
        l->input_total_max_bytes = NET_INPUT_TOTAL_MAX_BYTES_DEFAULT;
    if (l->output_total_max_bytes == 0)
        l->output_total_max_bytes = NET_OUTPUT_TOTAL_MAX_BYTES_DEFAULT;
    if (l->reads_queued_per_terminal_max == 0)
        l->reads_queued_per_terminal_max = NET_READS_QUEUED_PER_TERMINAL_MAX_DEFAULT;
    if (l->reads_queued_per_terminal_max_bytes == 0)
        l->reads_queued_per_terminal_max_bytes = NET_READS_QUEUED_PER_TERMINAL_MAX_BYTES_DEFAULT;
    if (l->reads_queued_total_max == 0)
        l->reads_queued_total_max = NET_READS_QUEUED_TOTAL_MAX_DEFAULT;
    if (l->lookups_burst == 0)
        l->lookups_burst = NET_LOOKUPS_BURST_DEFAULT;
    if (l->lookup_flag_ratio == 0)
        l->lookup_flag_ratio = NET_LOOKUP_FLAG_RATIO_DEFAULT;
    if (l->lookup_flag_min == 0)
        l->lookup_flag_min = NET_LOOKUP_FLAG_MIN_DEFAULT;
}

static int server_copy_config(struct net_server *server, const struct net_config *config)
{
    server->limits = config->limits;
    server->bench_echo = config->bench_echo;
    if (server->limits.batch_max == 0)
        server->limits.batch_max = 1;
    if (server->limits.inflight_max == 0)
        server->limits.inflight_max = 1;
    server_limits_defaults(&server->limits);
    if (server->ledger != NULL) {
        ledger_audit_flag_set(server->ledger, server->limits.lookup_flag_ratio,
                              server->limits.lookup_flag_min);
        ledger_quota_observe(server->ledger, quota_log_refusal, NULL);
    }
    if (config->terminal_count == 0)
        return 0;
    server->terminals = calloc(config->terminal_count, sizeof *server->terminals);
    if (server->terminals == NULL)
        return SH_E_INTERNAL;
    memcpy(server->terminals, config->terminals,
           config->terminal_count * sizeof *config->terminals);
    server->terminal_count = config->terminal_count;
    return 0;
}

/* Handles already initialised are closed; the loop runs (without blocking)
 * until their callbacks have, so that no callback of ours ever runs later. */
static void server_discard(struct net_server *server)
{
    server->stopping = true;
    listener_close(server);
    if (server->durable != NULL)
        durable_close(server->durable);
    if (server->output_prepare.loop != NULL)
        conn_output_close(server);
    if (server->stop_timer.loop != NULL)
        uv_close((uv_handle_t *)&server->stop_timer, server_on_timer_closed);
    while (server->handles_open > 0)
        uv_run(server->loop, UV_RUN_NOWAIT);
    net_server_free(server);
}

int net_server_create(uv_loop_t *loop, const struct net_config *config, struct ledger *ledger,
                      struct net_server **out, struct sh_error *err)
{
    struct net_server *server = calloc(1, sizeof *server);
    if (server == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    server->loop = loop;
    server->ledger = ledger;
    /* Frame and reply buffers above 256 KiB get their own mappings, returned
     * to the system when freed; a fixed threshold stops glibc from raising
     * it after each such free, which would keep later bursts in the heap
     * (conn_limits.c). */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    if (server_copy_config(server, config) != 0) {
        net_server_free(server);
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    }
    server->tls_ctx = tls_ctx_create(config->tls_ca, config->tls_cert, config->tls_key, err);
    size_t revoked = 0;
    if (server->tls_ctx != NULL &&
        reload_tls_setup(server, server->tls_ctx, config->tls_crl, &revoked, err) != 0) {
        tls_ctx_free(server->tls_ctx);
        server->tls_ctx = NULL;
    }
    if (server->tls_ctx == NULL) {
        net_server_free(server);
        return err != NULL ? err->code : SH_E_INTERNAL;
    }
    uv_timer_init(loop, &server->stop_timer);
    server->stop_timer.data = server;
    server->handles_open++;
    conn_output_init(server);
    int rc = handoff_init(server);
    if (rc == 0)
        rc = read_pool_init(server, config->worker_threads);
    if (rc != 0)
        sh_error_set(err, rc, "out of memory");
    else
        rc = listener_start(server, config->listen_host, config->listen_port, err);
    if (rc != 0) {
        server_discard(server);
        return rc;
    }
    net_log_always("listening on %s port %d", config->listen_host, server->port);
    if (server->bench_echo)
        net_log(NET_LOG_WARN, "bench_echo = true: a benchmark baseline, every request is answered "
                              "empty and never reaches the ledger");
    *out = server;
    return 0;
}

int net_server_port(const struct net_server *server) { return server->port; }

const struct net_stats *net_server_stats(const struct net_server *server) { return &server->stats; }

void net_server_free(struct net_server *server)
{
    if (server == NULL)
        return;
    tls_ctx_free(server->tls_ctx);
    free(server->terminals);
    rate_free(server);
    durable_free(server->durable);
    read_pool_free(server);
    free(server);
}
