/*
 * A run's life: load the dataset, connect every connection, start the
 * schedule once all are open, drain, take the engine's stats, close.
 * Bounded: a deadline timer ends the run whatever the engine does.
 */
#include "run.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_util.h"
#include "run_internal.h"

#define CONNECT_TIMEOUT_S 10
#define DEADLINE_SLACK_S 10
#define INFLIGHT_INITIAL 4096
/* Requests one connection may have unanswered: an open-loop run against a
 * saturated engine piles them up until the drain ends. */
#define PIPE_IN_FLIGHT_MAX (1u << 20)

/* ---- The end ---------------------------------------------------------------------- */

/* Every pipe is freed (a call still pending gets its callback now, which
 * the CLOSING phase ignores); their handles close as the loop runs on. */
static void run_on_closer(uv_timer_t *t)
{
    struct lg_run *r = t->data;
    for (uint32_t i = 0; r->conns != NULL && i < r->nconns; i++) {
        sanhe_pipe_free(r->conns[i].pipe);
        r->conns[i].pipe = NULL;
    }
    uv_close((uv_handle_t *)&r->closer, NULL);
}

static void run_close_all(struct lg_run *r)
{
    if (r->phase == LG_CLOSING)
        return;
    r->phase = LG_CLOSING;
    if (r->cpu_end.valid)
        lg_cpu_use_compute(&r->cpu_start, &r->cpu_end,
                           r->res->engine.valid ? r->res->engine.cpu_us : -1, &r->res->cpu);
    sched_stop(r);
    /* This may run inside a pipe's callback, where the pipe must not be
     * freed: the closer frees them on the loop's next turn. */
    uv_timer_start(&r->closer, run_on_closer, 0, 0);
    uv_close((uv_handle_t *)&r->deadline, NULL);
    uv_close((uv_handle_t *)&r->drain, NULL);
    lg_engine_probe_close(&r->probe);
}

static void run_on_end_stats(struct lg_engine_probe *probe)
{
    struct lg_run *r = probe->owner;
    lg_engine_delta(&r->stats_start, &r->stats_end, &r->res->engine);
    run_close_all(r);
}

/* Whatever is still pending will not be answered; then the engine's stats. */
static void run_end_window(struct lg_run *r)
{
    if (r->phase != LG_DRAINING)
        return;
    r->phase = LG_ENDING;
    lg_cpu_snap_take(&r->cpu_end); /* with the engine's end snapshot, just below */
    uv_timer_stop(&r->drain);
    replies_expire_all(r);
    /* No engine to ask, no first snapshot, or it is somehow still being taken. */
    if (r->opt->engine_pid <= 0 || !r->stats_start.valid ||
        uv_is_active((uv_handle_t *)&r->probe.timer)) {
        run_close_all(r);
        return;
    }
    r->probe.out = &r->stats_end;
    r->probe.done = run_on_end_stats;
    lg_engine_probe_start(&r->probe, &r->loop);
}

static void run_on_drain_timeout(uv_timer_t *t) { run_end_window(t->data); }

void run_check_drained(struct lg_run *r)
{
    if (r->phase == LG_DRAINING && r->inflight.count == 0)
        run_end_window(r);
}

void run_all_sent(struct lg_run *r)
{
    sched_stop(r);
    r->phase = LG_DRAINING;
    uv_timer_start(&r->drain, run_on_drain_timeout, (uint64_t)r->opt->drain_s * 1000, 0);
    run_check_drained(r);
}

static void run_on_deadline(uv_timer_t *t)
{
    struct lg_run *r = t->data;
    snprintf(r->res->failure, sizeof r->res->failure,
             "the run's deadline passed (phase %d); stopped", (int)r->phase);
    if (r->phase == LG_RUNNING || r->phase == LG_DRAINING || r->phase == LG_ENDING) {
        r->phase = LG_DRAINING;
        replies_expire_all(r);
    }
    run_close_all(r);
}

/* ---- The window's start: the engine's first snapshot ------------------------------- */

static void run_on_start_stats(struct lg_engine_probe *probe)
{
    (void)probe; /* stats_start.valid says whether it came */
}

void run_window_start(struct lg_run *r)
{
    lg_cpu_snap_take(&r->cpu_start);
    if (r->opt->engine_pid <= 0)
        return;
    r->probe.out = &r->stats_start;
    r->probe.done = run_on_start_stats;
    lg_engine_probe_start(&r->probe, &r->loop);
}

/* ---- Connections ------------------------------------------------------------------- */

/* The probe's answer: the connection is up (an answer of any kind, a
 * refusal too, means the handshake was done and a request went through). */
static void run_on_probe(int status, const void *reply, size_t len, void *arg)
{
    (void)reply, (void)len;
    struct lg_conn *c = arg;
    struct lg_run *r = c->owner;
    if (r->phase != LG_CONNECTING)
        return;
    if (status != 0 && status != SANHE_E_REFUSED) {
        snprintf(r->res->failure, sizeof r->res->failure, "connection %u: %s", c->index,
                 sanhe_strerror(status));
        run_close_all(r);
        return;
    }
    c->open = true;
    if (++r->nopen == r->nconns && sched_start(r) != 0)
        run_close_all(r);
}

/* One eligibility request, read-only, of the run's first person: the pipe
 * connects on its first call, and the schedule starts only once every
 * connection has done its handshake, which is not the engine's latency. */
static int run_probe(struct lg_run *r, struct lg_conn *c)
{
    char id[48], person[SH_PERSON_ID_LEN + 1];
    snprintf(id, sizeof id, "%s-p%u", r->tag, c->index);
    struct lg_request_in in = {
        .op = LG_OP_ELIGIBILITY,
        .request_id = id,
        .hospital = run_terminal(r, c)->hospital,
        .person = lg_persons_at(&r->persons, 0, person),
        .date = r->opt->date,
    };
    uint64_t rng = 1; /* not the run's: the request stream stays the seed's */
    const Sanhe__Request *req =
        lg_request_build(&r->builder, &in, &r->catalog, &r->opt->shape, &rng);
    size_t size = sanhe__request__get_packed_size(req);
    uint8_t buf[1024];
    if (size > sizeof buf)
        return -1;
    sanhe__request__pack(req, buf);
    return sanhe_pipe_call_raw(c->pipe, buf, size, CONNECT_TIMEOUT_S * 1000, run_on_probe, c);
}

static int run_connect(struct lg_run *r)
{
    const struct lg_options *o = r->opt;
    char engines[80]; /* a numeric address and a port */
    snprintf(engines, sizeof engines, strchr(o->host, ':') != NULL ? "[%s]:%u" : "%s:%u", o->host,
             (unsigned)o->port);
    r->conns = calloc(r->nconns, sizeof *r->conns);
    if (r->conns == NULL)
        return -1;
    for (uint32_t i = 0; i < r->nconns; i++) {
        struct lg_conn *c = &r->conns[i];
        c->index = i;
        c->owner = r;
        const struct lg_terminal *t = run_terminal(r, c);
        struct sanhe_client_options copt = {.engines = engines,
                                            .ca_file = o->ca,
                                            .cert_file = t->cert,
                                            .key_file = t->key,
                                            .timeout_ms = r->call_timeout_ms,
                                            .attempt_timeout_ms = CONNECT_TIMEOUT_S * 1000};
        int rc = sanhe_pipe_new(&c->pipe, &r->loop, &copt, PIPE_IN_FLIGHT_MAX);
        if (rc == 0)
            rc = run_probe(r, c);
        if (rc != 0) {
            snprintf(r->res->failure, sizeof r->res->failure, "connection %u: %s", i,
                     sanhe_strerror(rc));
            return -1;
        }
    }
    return 0;
}

/* ---- Set-up ---------------------------------------------------------------------------- */

static int run_terminals(struct lg_run *r)
{
    const struct lg_options *o = r->opt;
    r->nterms = o->terminal_count;
    r->terms = calloc(r->nterms, sizeof *r->terms);
    if (r->terms == NULL)
        return -1;
    for (size_t i = 0; i < r->nterms; i++) {
        const struct lg_terminal_opt *t = &o->terminals[i];
        r->terms[i].hospital = t->hospital;
        r->terms[i].cert = t->cert;
        r->terms[i].key = t->key;
    }
    return 0;
}

static int run_dataset(struct lg_run *r)
{
    const struct lg_options *o = r->opt;
    char *err = r->res->failure;
    size_t cap = sizeof r->res->failure;
    int rc =
        o->dataset != NULL ? lg_dataset_read(o->dataset, &r->catalog, &r->persons, err, cap) : 0;
    if (rc == 0)
        rc = lg_catalog_select(o->catalog_spec, &r->catalog, err, cap);
    if (rc == 0)
        rc = lg_persons_select(o->persons_spec, &r->persons, err, cap);
    r->res->persons = r->persons.n;
    return rc;
}

/* The request id prefix: base 36 of the time and pid, so that runs against
 * the same engine never reuse an id (which would be REQUEST_ID_REUSED). */
static void run_tag(struct lg_run *r)
{
    if (r->opt->run_tag != NULL) {
        lg_copy(r->tag, sizeof r->tag, r->opt->run_tag);
        return;
    }
    uint64_t v = (uint64_t)time(NULL) * 100000u + (uint64_t)getpid() % 100000u;
    char digits[16];
    size_t n = 0;
    while (v > 0 && n < sizeof digits) {
        digits[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    }
    size_t used = 0;
    r->tag[used++] = 'g';
    while (n > 0)
        r->tag[used++] = digits[--n];
    r->tag[used] = '\0';
}

static void run_result_init(struct lg_run *r)
{
    const struct lg_options *o = r->opt;
    struct lg_result *res = r->res;
    lg_hist_init(&res->latency);
    lg_hist_init(&res->service);
    lg_hist_init(&res->lag);
    for (int i = 0; i < LG_OP_COUNT; i++)
        lg_hist_init(&res->ops[i].hist);
    lg_copy(res->label, sizeof res->label, o->label != NULL ? o->label : "");
    lg_weights_format(&o->mix, res->mix, sizeof res->mix);
    lg_weights_format(&o->shape.visits, res->visits, sizeof res->visits);
    if (o->lines_spec != NULL)
        snprintf(res->lines, sizeof res->lines, "%s", o->lines_spec);
    else
        snprintf(res->lines, sizeof res->lines, "outpatient 1-5, chronic 2-8, inpatient 10-40");
    lg_copy(res->date, sizeof res->date, o->date);
    lg_copy(res->tag, sizeof res->tag, r->tag);
    res->rate = o->rate;
    res->connections = o->connections;
    res->terminals = (uint32_t)o->terminal_count;
    res->duration_s = o->duration_s;
    res->warmup_s = o->warmup_s;
    res->drain_s = o->drain_s;
    res->seed = o->seed;
}

static int run_setup(struct lg_run *r)
{
    const struct lg_options *o = r->opt;
    r->nconns = o->connections;
    r->rng = o->seed;
    r->tfd = -1;
    r->total = (uint64_t)o->rate * (o->warmup_s + o->duration_s);
    r->win_first = (uint64_t)o->rate * o->warmup_s;
    run_tag(r);
    run_result_init(r);
    if (run_dataset(r) != 0 || run_terminals(r) != 0 ||
        lg_inflight_init(&r->inflight, INFLIGHT_INITIAL) != 0)
        return -1;
    uv_timer_init(&r->loop, &r->deadline);
    uv_timer_init(&r->loop, &r->drain);
    uv_timer_init(&r->loop, &r->closer);
    r->deadline.data = r->drain.data = r->closer.data = r;
    r->probe.pid = o->engine_pid;
    r->probe.path = o->engine_stats;
    r->probe.owner = r;
    uint64_t limit_s =
        CONNECT_TIMEOUT_S + o->warmup_s + o->duration_s + o->drain_s + DEADLINE_SLACK_S;
    uv_timer_start(&r->deadline, run_on_deadline, limit_s * 1000, 0);
    /* The pipes never give up on a request before the run does. */
    r->call_timeout_ms = (int)(limit_s * 1000);
    return 0;
}

static void run_free(struct lg_run *r)
{
    for (uint32_t i = 0; r->conns != NULL && i < r->nconns; i++)
        assert(r->conns[i].pipe == NULL); /* the closer freed it */
    for (size_t i = 0; r->terms != NULL && i < r->nterms; i++)
        free(r->terms[i].settled.e);
    free(r->pack);
    free(r->conns);
    free(r->terms);
    lg_inflight_free(&r->inflight);
    lg_catalog_free(&r->catalog);
    lg_persons_free(&r->persons);
}

int lg_run(const struct lg_options *opt, struct lg_result *res)
{
    struct lg_run *r = calloc(1, sizeof *r); /* the builder alone is ~100 KB */
    if (r == NULL || uv_loop_init(&r->loop) != 0) {
        free(r);
        return -1;
    }
    memset(res, 0, sizeof *res);
    r->opt = opt;
    r->res = res;
    r->phase = LG_CONNECTING;
    int rc = run_setup(r);
    if (rc == 0 && run_connect(r) != 0)
        rc = -1;
    if (rc != 0 && r->deadline.data != NULL)
        run_close_all(r);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (res->failure[0] != '\0' && res->sent == 0)
        rc = -1;
    run_free(r);
    uv_loop_close(&r->loop);
    free(r);
    return rc;
}
