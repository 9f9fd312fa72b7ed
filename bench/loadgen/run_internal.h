/*
 * Shared by run.c (set-up, connections, the end), schedule.c (the open-loop
 * sender) and replies.c (matching replies to requests).
 *
 * Phases, only forward:
 *   CONNECTING  every connection connects and handshakes (its probe, an
 *               eligibility request, is answered)
 *   RUNNING     the ticker sends every request whose scheduled time has come
 *   DRAINING    all sent; waiting (at most --drain-s) for the last replies
 *   ENDING      the engine's end-of-window stats are being taken
 *   CLOSING     connections and handles are closing; uv_run then returns
 */
#ifndef RUN_INTERNAL_H
#define RUN_INTERNAL_H

#include <uv.h>

#include "claims.h"
#include "dataset.h"
#include "cpu_use.h"
#include "engine_stats.h"
#include "inflight.h"
#include "options.h"
#include "report.h"
#include "sanhe/client.h"

enum lg_phase { LG_CONNECTING, LG_RUNNING, LG_DRAINING, LG_ENDING, LG_CLOSING };

/* Settlements of this run that reverse, cancel and query may name: a FIFO
 * per terminal (counters may only touch their own hospital's). */
struct lg_settled {
    uint64_t settlement_id, seq;
};

struct lg_ring {
    struct lg_settled *e;
    size_t cap, head, len;
};

struct lg_terminal {
    const char *cert, *key, *hospital;
    struct lg_ring settled;
};

/* One connection: a pipelined libsanhe-client connection (sanhe_pipe) of
 * one terminal, on the run's loop. The pipe writes each request at once and
 * hands each reply to replies_on_reply, which the request's struct lg_call
 * names. */
struct lg_conn {
    sanhe_pipe *pipe;
    uint32_t index;
    struct lg_run *owner;
    bool open; /* its probe was answered: the handshake is done */
};

/* What one request's callback needs: which connection, which seq. */
struct lg_call {
    struct lg_conn *conn;
    uint64_t seq;
};

struct lg_run {
    const struct lg_options *opt;
    struct lg_result *res;
    uv_loop_t loop;
    enum lg_phase phase;
    struct lg_terminal *terms;
    size_t nterms;
    struct lg_conn *conns;
    uint32_t nconns, nopen;
    int call_timeout_ms; /* the pipe's deadline: past the drain, which decides */
    uint8_t *pack;       /* the packed request being sent */
    size_t pack_cap;
    uv_timer_t closer; /* frees the pipes outside their callbacks */
    struct lg_catalog catalog;
    struct lg_persons persons;
    struct lg_builder builder;
    struct lg_inflight inflight;
    uint64_t rng;
    char tag[20];
    /* the schedule: request seq is due at t0 + seq x 10^9 / rate ns */
    int64_t t0;
    uint64_t next_seq, total, win_first;
    int tfd;             /* timerfd of the ticker */
    uv_poll_t tick_poll; /* readable when the timerfd fires */
    bool tick_open;
    bool tick_periodic;  /* every --tick-us (heavy load), else at each due time */
    uv_timer_t deadline; /* the whole run, whatever happens */
    uv_timer_t drain;
    struct lg_engine_probe probe;
    struct lg_engine_stats stats_start, stats_end;
    struct lg_cpu_snap cpu_start, cpu_end; /* the window's two moments */
};

/* schedule.c */
int64_t sched_time(const struct lg_run *r, uint64_t seq);
int sched_start(struct lg_run *r);
void sched_stop(struct lg_run *r);

/* replies.c */
void replies_on_reply(int status, const void *reply, size_t len, void *arg);
void replies_expire_all(struct lg_run *r);
void ring_push(struct lg_ring *ring, uint64_t settlement_id, uint64_t seq);
bool ring_pop(struct lg_ring *ring, struct lg_settled *out);
bool ring_peek_random(const struct lg_ring *ring, uint64_t *rng, struct lg_settled *out);
/* TAG-SEQ (SEQ in base 36) into out; the reverse: a seq, or false. */
void request_id_format(const struct lg_run *r, uint64_t seq, char *out, size_t cap);
bool request_id_parse(const struct lg_run *r, const char *id, uint64_t *seq);

/* run.c */
/* The terminal of a connection: connections take the terminals in turn. */
static inline struct lg_terminal *run_terminal(struct lg_run *r, const struct lg_conn *c)
{
    return &r->terms[c->index % r->nterms];
}
void run_all_sent(struct lg_run *r); /* RUNNING -> DRAINING */
void run_check_drained(struct lg_run *r);
void run_window_start(struct lg_run *r);

#endif
