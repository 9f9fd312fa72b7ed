/*
 * The workload through the real server (pc_work.h, pc_server_run): the
 * net fixture makes a data directory with `sanhe-engine load` and stops
 * the engine; this process opens that store durably, runs net_server on a
 * loop thread over it (as tests/net/test_net_sync.c does) and sends
 * pipelined requests over TLS as two counters. The recorder starts on the
 * stopped engine's files, which every later state starts from.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "crash_req.h"
#include "ledger_test.h"
#include "net.h"
#include "net_fixture.h"
#include "pc_record.h"
#include "pc_work.h"

#define CONNS 2
#define BURST_MAX 6 /* requests sent on a connection before its replies are read */

static const char *const terminals[CONNS] = {"counter-h1", "counter-h2"};
static const char *const hospitals[CONNS] = {FIXTURE_H1, FIXTURE_H2};

struct srv {
    struct engine_fixture fx;
    struct ledger *ledger;
    uv_loop_t loop;
    uv_async_t stop;
    struct net_server *server;
    pthread_t thread;
};

static struct srv *the_srv; /* for the loop's callbacks */

static void on_stopped(void *ctx)
{
    (void)ctx;
    uv_close((uv_handle_t *)&the_srv->stop, NULL);
}

static void on_stop(uv_async_t *async)
{
    (void)async;
    net_server_stop(the_srv->server, on_stopped, NULL);
}

static void *loop_run(void *arg)
{
    struct srv *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int srv_start(struct srv *s)
{
    char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
    static const struct net_terminal extra = {
        .name = "counter-h2", .hospital = FIXTURE_H2, .role = SH_ROLE_COUNTER};
    struct net_config nc = {
        .listen_host = "127.0.0.1",
        .tls_ca = fixture_path(&s->fx, "certs/ca.crt", ca),
        .tls_cert = fixture_path(&s->fx, "certs/engine.crt", cert),
        .tls_key = fixture_path(&s->fx, "certs/engine.key", key),
        .limits = {.frame_max_bytes = NET_FRAME_MAX_BYTES_DEFAULT,
                   .connections_max = NET_CONNECTIONS_MAX_DEFAULT,
                   .inflight_max = NET_INFLIGHT_MAX_DEFAULT,
                   .batch_max = NET_BATCH_MAX_DEFAULT,
                   .output_max_bytes = NET_OUTPUT_MAX_BYTES_DEFAULT,
                   .handshake_timeout_ms = NET_HANDSHAKE_TIMEOUT_MS_DEFAULT,
                   .idle_timeout_ms = NET_IDLE_TIMEOUT_MS_DEFAULT},
        .terminals = &extra,
        .terminal_count = 1,
    };
    struct sh_error err = {0};
    if (uv_loop_init(&s->loop) != 0)
        return -1;
    if (net_server_create(&s->loop, &nc, s->ledger, &s->server, &err) != 0) {
        fprintf(stderr, "powercut: net_server_create: %s\n", err.msg);
        uv_loop_close(&s->loop);
        return -1;
    }
    s->fx.port = net_server_port(s->server);
    the_srv = s;
    uv_async_init(&s->loop, &s->stop, on_stop);
    if (pthread_create(&s->thread, NULL, loop_run, s) != 0)
        return -1;
    return 0;
}

static void srv_stop(struct srv *s)
{
    uv_async_send(&s->stop);
    pthread_join(s->thread, NULL);
    net_server_free(s->server);
    uv_loop_close(&s->loop);
}

/* ---- Requests -------------------------------------------------------------------------- */

/* A settle of fixture's small claim, its amount and date varied. */
static Sanhe__Request *settle_new(uint64_t *rng, const char *rid, const char *hospital)
{
    Sanhe__Request *base = request_settle(rid, hospital, false);
    if (base == NULL)
        return NULL;
    char date[11];
    snprintf(date, sizeof date, "2026-%02u-%02u", 1 + crash_rng_below(rng, 11),
             1 + crash_rng_below(rng, 28));
    free(base->settle->claim->date);
    base->settle->claim->date = strdup(date);
    base->settle->claim->lines[0]->amount = 1000 + crash_rng_below(rng, 30000);
    Sanhe__Request *r = base->settle->claim->date != NULL ? pc_req_copy(base) : NULL;
    request_free(base);
    return r;
}

/* An earlier request of connection c, of kind op, answered ok. */
static const struct pc_request *pick(const struct pc_work *w, uint64_t *rng, int c, int op)
{
    for (int tries = 0; tries < 16 && w->n > 1; tries++) {
        const struct pc_request *r = &w->reqs[1 + crash_rng_below(rng, (uint32_t)(w->n - 1))];
        if (r->op == op && r->ok && !r->retry && strcmp(r->caller.hospital, hospitals[c]) == 0)
            return r;
    }
    return NULL;
}

static int make(struct pc_work *w, uint64_t *rng, int c, struct pc_request *r)
{
    static uint32_t serial;
    char rid[48];
    memset(&r->caller, 0, sizeof r->caller);
    snprintf(r->caller.terminal, sizeof r->caller.terminal, "%s", terminals[c]);
    snprintf(r->caller.hospital, sizeof r->caller.hospital, "%s", hospitals[c]);
    r->caller.role = SH_ROLE_COUNTER;
    uint32_t dice = crash_rng_below(rng, 100);
    const struct pc_request *of =
        dice >= 60
            ? pick(w, rng, c, dice >= 94 ? SANHE__REQUEST__OP_REVERSE : SANHE__REQUEST__OP_SETTLE)
            : NULL;
    if (of != NULL && (dice < 72 || dice >= 94)) { /* a retry */
        r->request = pc_req_copy(of->request);
        r->retry = true;
    } else if (of != NULL && dice < 86) {
        snprintf(rid, sizeof rid, "rev-%u", serial++);
        r->request =
            crash_req_reverse(rid, of->settlement_id, dice % 2 ? of->request->request_id : NULL);
    } else if (of != NULL) {
        snprintf(rid, sizeof rid, "can-%u", serial++);
        r->request = crash_req_cancel(rid, of->request->request_id);
    } else {
        snprintf(rid, sizeof rid, "set-%u", serial++);
        r->request = settle_new(rng, rid, hospitals[c]);
    }
    if (r->request == NULL)
        return -1;
    r->op = (int)r->request->op_case;
    return 0;
}

/* The request of connection c with this request id still unanswered. */
static struct pc_request *awaiting(struct pc_work *w, size_t from, int c, const char *rid)
{
    for (size_t i = from; i < w->n; i++) {
        struct pc_request *r = &w->reqs[i];
        if (r->reply == NULL && strcmp(r->caller.hospital, hospitals[c]) == 0 &&
            strcmp(r->request->request_id, rid) == 0)
            return r;
    }
    return NULL;
}

/* One round: a burst on each connection, then every reply read. */
static int round_run(struct pc_work *w, struct tc *tc[CONNS], uint32_t round, uint64_t *rng)
{
    size_t first = w->n;
    uint32_t sent[CONNS] = {0};
    for (int c = 0; c < CONNS; c++) {
        uint32_t n = 1 + crash_rng_below(rng, BURST_MAX);
        for (uint32_t i = 0; i < n; i++) {
            struct pc_request *r = pc_req_add(w, round);
            if (r == NULL || make(w, rng, c, r) != 0 || tc_send(tc[c], r->request) != 0)
                return -1;
            sent[c]++;
        }
    }
    for (int c = 0; c < CONNS; c++)
        for (uint32_t i = 0; i < sent[c]; i++) {
            Sanhe__Response *resp = NULL;
            if (tc_recv(tc[c], &resp, FIXTURE_TIMEOUT_MS) != 0) {
                fprintf(stderr, "powercut: no reply: %s\n", tc_last_error(tc[c]));
                return -1;
            }
            size_t len = 0;
            uint8_t *bytes = crash_pack_response(resp, &len);
            /* Acknowledged: the client holds the reply. */
            size_t at = pc_record_ack(round);
            struct pc_request *r = awaiting(w, first, c, resp->request_id);
            int rc = bytes != NULL && r != NULL ? pc_req_answered(w, r, bytes, len) : -1;
            if (rc == 0) {
                r->acked = true;
                r->ack_event = at;
            }
            free(bytes);
            sanhe__response__free_unpacked(resp, NULL);
            if (rc != 0) {
                fprintf(stderr, "powercut: an unexpected or undecodable reply\n");
                return -1;
            }
        }
    return 0;
}

int pc_server_run(struct pc_work *w, uint32_t rounds, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->mode = PC_MODE_SERVER;
    w->cap = 1 + (size_t)rounds * CONNS * BURST_MAX;
    w->reqs = calloc(w->cap, sizeof *w->reqs);
    static struct srv s;
    memset(&s, 0, sizeof s);
    if (w->reqs == NULL || fixture_start(&s.fx, NULL) != 0 || fixture_halt(&s.fx) != 0)
        return -1;
    char dir[PATH_MAX];
    snprintf(w->dir, sizeof w->dir, "%s", fixture_path(&s.fx, "data", dir));
    w->cfg = (struct ledger_config){.dir = w->dir,
                                    .map_size_initial = PC_MAP_INITIAL,
                                    .durable = true,
                                    .utc_offset_min = 480,
                                    .wal_segment_bytes = PC_WAL_SEGMENT,
                                    .wal_checkpoint_bytes = PC_WAL_CHECKPOINT,
                                    .wal_checkpoint_ms = PC_WAL_CHECKPOINT_MS};
    w->fresh_caller = (struct sh_caller){.terminal = "counter-h1", .role = SH_ROLE_COUNTER};
    snprintf(w->fresh_caller.hospital, sizeof w->fresh_caller.hospital, "%s", FIXTURE_H1);
    uint64_t fresh_rng = 42;
    w->fresh = settle_new(&fresh_rng, "pc-fresh-after-recovery", FIXTURE_H1);
    pc_req_add(w, 0); /* no request of the run is number 0 (the load's place) */
    int rc = w->fresh != NULL && pc_record_start(w->dir) == 0 ? 0 : -1;
    w->load_ack_event = rc == 0 ? pc_record_ack(0) : 0;
    struct sh_error err = {0};
    if (rc == 0 && ledger_open(&w->cfg, &s.ledger, &err) != 0) {
        fprintf(stderr, "powercut: ledger_open: %s\n", err.msg);
        rc = -1;
    }
    bool serving = rc == 0 && srv_start(&s) == 0;
    struct tc *tc[CONNS] = {NULL};
    for (int c = 0; serving && c < CONNS; c++)
        if (fixture_connect(&s.fx, terminals[c], false, &tc[c]) != 0)
            rc = -1;
    rc = serving ? rc : -1;
    uint64_t rng = seed;
    for (uint32_t r = 1; rc == 0 && r <= rounds; r++) {
        rc = round_run(w, tc, r, &rng);
        w->batches = r;
    }
    for (int c = 0; c < CONNS; c++)
        tc_close(tc[c]);
    if (serving)
        srv_stop(&s);
    pc_record_stop();
    if (s.ledger != NULL) {
        ledger_info(s.ledger, &w->info);
        ledger_test_wal_stats(s.ledger, &w->wal);
        ledger_close(s.ledger);
    }
    fixture_stop(&s.fx);
    return rc;
}
