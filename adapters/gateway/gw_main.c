/*
 * sanhe-gateway -c FILE: the national medical-insurance interface over
 * HTTPS, settled by the sanhe-engines FILE names (one per insured region).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gw.h"

static void usage(FILE *f)
{
    fputs("usage: sanhe-gateway [serve] -c FILE\n"
          "Serves the national medical-insurance interface (POST /{infno} or /, JSON\n"
          "envelope) over HTTPS with client certificates, and settles every call through\n"
          "the sanhe-engine of the patient's insured region (insuplc_admdvs). FILE is an\n"
          "INI file: adapters/gateway/sanhe-gateway.conf.example documents every key.\n"
          "Transactions: 9001 1101 2201 2202 2203 2204 2205 2206 2207 2208 2601 3201 3202\n"
          "(docs/gateway.md). SIGTERM or SIGINT stops it; every reply it gave is on disk.\n"
          "Exit status: 0 after a signal, 1 when it cannot start, 2 on bad usage.\n",
          f);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    struct gw_server *s = sig->data;
    gw_server_stop(s);
    uv_stop(sig->loop);
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int first = argc > 1 && strcmp(argv[1], "serve") == 0 ? 2 : 1; /* "serve" is the default */
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            conf = argv[++i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (conf == NULL) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static struct gw_server srv;
    char msg[1024];
    if (gw_config_load(&srv.cfg, conf, msg, sizeof msg) != 0) {
        fprintf(stderr, "sanhe-gateway: %s\n", msg);
        return 1;
    }
    uv_loop_t *loop = uv_default_loop();
    if (gw_server_start(&srv, loop, msg, sizeof msg) != 0) {
        fprintf(stderr, "sanhe-gateway: %s\n", msg);
        return 1;
    }
    uv_signal_t term, intr;
    uv_signal_init(loop, &term);
    uv_signal_init(loop, &intr);
    term.data = intr.data = &srv;
    uv_signal_start(&term, on_signal, SIGTERM);
    uv_signal_start(&intr, on_signal, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    /* Replies were durable before they were sent; a batch handed in during
     * the loop's last turn is committed (and answered) by the close. */
    gw_store_close(&srv.store);
    fprintf(stderr,
            "sanhe-gateway: stopped; %llu group commits of %llu records, at most %zu calls in "
            "one\n",
            (unsigned long long)srv.store.commits, (unsigned long long)srv.store.records,
            srv.store.batch_waiters_max);
    return 0;
}
