/*
 * sanhe-engine serve: the ledger, the network server and the signals on one
 * libuv loop, on one thread.
 *
 *   SIGTERM, SIGINT  graceful stop: no new connections, what was read is
 *                    committed and answered, connections close, the ledger
 *                    closes; a second signal exits at once
 *   SIGUSR1          one "stats ..." line to stderr (and stats_file)
 *   SIGHUP           reload (reload.c): terminals, CA and CRL, log level,
 *                    limits; connections stay up but those of terminals
 *                    disabled or revoked
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "net.h"
#include "net_log.h"

struct serve {
    struct config *config; /* the running one: reload changes it */
    uv_loop_t loop;
    struct net_server *server;
    struct net_metrics_http *metrics; /* NULL without [metrics] listen */
    uv_signal_t sig_term, sig_int, sig_usr1, sig_hup;
    bool stopping;
};

static void serve_stats(struct serve *s)
{
    char line[512];
    net_stats_format(net_server_stats(s->server), line, sizeof line);
    net_log_always("stats %s", line);
    if (s->config->stats_file[0] != '\0' &&
        net_stats_write_json(net_server_stats(s->server), s->config->stats_file) != 0)
        net_log(NET_LOG_WARN, "cannot write stats_file %s", s->config->stats_file);
}

static void serve_on_stopped(void *ctx)
{
    struct serve *s = ctx;
    uv_close((uv_handle_t *)&s->sig_term, NULL);
    uv_close((uv_handle_t *)&s->sig_int, NULL);
    uv_close((uv_handle_t *)&s->sig_usr1, NULL);
    uv_close((uv_handle_t *)&s->sig_hup, NULL);
    net_metrics_http_close(s->metrics);
    s->metrics = NULL;
    app_notify_close();
}

static void serve_on_signal(uv_signal_t *handle, int signum)
{
    struct serve *s = handle->data;
    if (signum == SIGUSR1) {
        serve_stats(s);
        return;
    }
    if (signum == SIGHUP) {
        if (!s->stopping) {
            app_notify_reloading(true);
            app_reload(s->config, s->server);
            app_notify_reloading(false);
        }
        return;
    }
    if (s->stopping) {
        net_log(NET_LOG_WARN, "second signal: exiting without a graceful stop");
        _exit(APP_EXIT_FAIL);
    }
    s->stopping = true;
    app_notify_stopping();
    net_log_always("signal %d: stopping", signum);
    net_server_stop(s->server, serve_on_stopped, s);
}

static void serve_signal(struct serve *s, uv_signal_t *handle, int signum)
{
    uv_signal_init(&s->loop, handle);
    handle->data = s;
    uv_signal_start(handle, serve_on_signal, signum);
}

/* The port file is written through a rename, so that a reader that sees it
 * sees all of it; the stdout line is for people and simple scripts. */
static int serve_announce(struct serve *s)
{
    int port = net_server_port(s->server);
    printf("listening on %s:%d\n", s->config->listen_host, port);
    fflush(stdout);
    char status[128];
    snprintf(status, sizeof status, "listening on %s:%d", s->config->listen_host, port);
    app_notify_ready(&s->loop, status);
    const char *path = s->config->port_file;
    if (path[0] == '\0')
        return 0;
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        net_log(NET_LOG_ERROR, "cannot write port_file %s", path);
        return -1;
    }
    return 0;
}

void app_net_config(const struct config *c, struct net_config *nc)
{
    *nc = (struct net_config){
        .listen_host = c->listen_host,
        .listen_port = c->listen_port,
        .tls_ca = c->tls_ca,
        .tls_cert = c->tls_cert,
        .tls_key = c->tls_key,
        .tls_crl = c->tls_crl,
        .limits = c->limits,
        .terminals = c->terminals,
        .terminal_count = c->terminal_count,
        .bench_echo = c->bench_echo,
        .worker_threads = c->worker_threads,
    };
}

static int serve_run(struct serve *s, struct ledger *ledger)
{
    struct net_config nc;
    app_net_config(s->config, &nc);
    struct sh_error err = {0};
    if (net_server_create(&s->loop, &nc, ledger, &s->server, &err) != 0) {
        fprintf(stderr, "sanhe-engine: %s\n", err.msg);
        return APP_EXIT_FAIL;
    }
    if (s->config->metrics_listen[0] != '\0' &&
        net_metrics_http_start(&s->loop, s->config->metrics_host, s->config->metrics_port,
                               s->server, &s->metrics, &err) != 0) {
        fprintf(stderr, "sanhe-engine: %s\n", err.msg);
        uv_run(&s->loop, UV_RUN_NOWAIT);
        net_server_stop(s->server, NULL, NULL);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        net_server_free(s->server);
        return APP_EXIT_FAIL;
    }
    serve_signal(s, &s->sig_term, SIGTERM);
    serve_signal(s, &s->sig_int, SIGINT);
    serve_signal(s, &s->sig_usr1, SIGUSR1);
    serve_signal(s, &s->sig_hup, SIGHUP);
    if (serve_announce(s) != 0)
        net_server_stop(s->server, serve_on_stopped, s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    serve_stats(s);
    net_server_free(s->server);
    /* Every batch is answered by now. Bringing the indexes up to date
     * spares the next start reloading their tails; if it fails, nothing is
     * lost (the logs hold every record) and the next start reloads them. */
    int rc = ledger_index_flush(ledger, (int64_t)time(NULL) * 1000);
    if (rc != 0)
        net_log(NET_LOG_WARN, "indexes not brought up to date at shutdown: %s", sh_error_name(rc));
    return APP_EXIT_OK;
}

int app_serve(const struct config *config)
{
    if (config->tls_ca[0] == '\0' || config->tls_cert[0] == '\0' || config->tls_key[0] == '\0') {
        fprintf(stderr, "sanhe-engine: [tls] ca, cert and key are required to serve\n");
        return APP_EXIT_USAGE;
    }
    /* A peer that closes while we write must be an error, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    net_log_set_level(config->log_level);
    static struct config running; /* large: not on the stack */
    running = *config;
    struct serve s = {.config = &running};
    /* libuv sizes its pool from the environment, once, at its first work
     * (read_pool.c takes two threads less for reads). */
    char threads[16];
    snprintf(threads, sizeof threads, "%u", config->worker_threads);
    if (setenv("UV_THREADPOOL_SIZE", threads, 1) != 0)
        return APP_EXIT_FAIL;
    if (uv_loop_init(&s.loop) != 0)
        return APP_EXIT_FAIL;
    struct ledger *ledger;
    int rc = app_ledger_open(config, true, "serve", &ledger);
    if (rc == 0) {
        rc = serve_run(&s, ledger);
        ledger_close(ledger);
        net_log_always("ledger closed");
    }
    uv_run(&s.loop, UV_RUN_NOWAIT); /* close callbacks still due */
    uv_loop_close(&s.loop);
    return rc;
}
