/*
 * The open-loop sender. Request seq is due at t0 + seq x 10^9 / rate: the
 * schedule never looks at replies, so a slow engine cannot slow the offered
 * load (the coordinated omission of closed-loop generators), and latency is
 * taken from this due time, not from when the request actually left.
 *
 * The ticker is a timerfd (libuv's timers tick in whole milliseconds, which
 * would add up to a millisecond of the generator's own delay to every
 * latency at light load). Each tick sends every request that has come due,
 * round-robin over the connections, each connection's pipe corked, then
 * uncorks them (one TLS write per connection and tick, sanhe_pipe_cork).
 *   - Light load (requests at least --tick-us apart): the timerfd is armed
 *     for each request's due time, never sooner than --tick-us after the
 *     previous tick, so each request leaves on time.
 *   - Heavier load: the timerfd is periodic, every --tick-us from t0, armed
 *     once: a request leaves at the first tick at or after its due time.
 * The generator shares the machine with the engine it measures. At 10k/s a
 * 100 us tick, re-armed after each wake-up, meant 5-10k wake-ups a second
 * (an epoll_wait, a timerfd read and a context switch each) and as many
 * timerfd_settime calls (programming the timer traps in a VM): about a
 * fifth of the generator's CPU. The default tick is therefore 250 us (4k
 * wake-ups a second at most, no re-arming): a request may leave up to a
 * tick (plus the wake-up's own delay) after its due time, the send lag the
 * report shows, and since latency counts from the due time that delay is
 * measured, not hidden.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lg_util.h"
#include "run_internal.h"

int64_t sched_time(const struct lg_run *r, uint64_t seq)
{
    return r->t0 + (int64_t)((unsigned __int128)seq * LG_NS_PER_S / r->opt->rate);
}

/* At at_ns, then every interval_ns (0: once). */
static void sched_arm(struct lg_run *r, int64_t at_ns, int64_t interval_ns)
{
    struct itimerspec its = {0};
    its.it_value.tv_sec = at_ns / LG_NS_PER_S;
    its.it_value.tv_nsec = at_ns % LG_NS_PER_S;
    its.it_interval.tv_sec = interval_ns / LG_NS_PER_S;
    its.it_interval.tv_nsec = interval_ns % LG_NS_PER_S;
    timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The op to send: reverse, cancel and query need an earlier settlement of
 * this terminal; without one a settle goes instead (and is counted). */
static enum lg_op sched_pick_op(struct lg_run *r, struct lg_terminal *t, bool measured,
                                struct lg_settled *target)
{
    enum lg_op op = (enum lg_op)lg_weights_pick(&r->opt->mix, &r->rng);
    bool found = true;
    if (op == LG_OP_REVERSE || op == LG_OP_CANCEL)
        found = ring_pop(&t->settled, target);
    else if (op == LG_OP_QUERY)
        found = ring_peek_random(&t->settled, &r->rng, target);
    if (!found) {
        op = LG_OP_SETTLE;
        if (measured)
            r->res->substituted++;
    }
    return op;
}

/* Builds the request and hands it to the connection's pipe. */
static int sched_pack(struct lg_run *r, struct lg_conn *c, enum lg_op op,
                      const struct lg_settled *target, uint64_t seq)
{
    struct lg_terminal *t = run_terminal(r, c);
    char id[40], target_id[40], person[SH_PERSON_ID_LEN + 1];
    request_id_format(r, seq, id, sizeof id);
    request_id_format(r, target->seq, target_id, sizeof target_id);
    struct lg_request_in in = {
        .op = op,
        .request_id = id,
        .hospital = t->hospital,
        .person = lg_persons_at(&r->persons, lg_rng_below(&r->rng, r->persons.n), person),
        .date = r->opt->date,
        .settlement_id = target->settlement_id,
        .target_request_id = target_id,
    };
    const Sanhe__Request *req =
        lg_request_build(&r->builder, &in, &r->catalog, &r->opt->shape, &r->rng);
    size_t size = sanhe__request__get_packed_size(req);
    if (size > r->pack_cap) {
        uint8_t *grown = realloc(r->pack, size);
        if (grown == NULL)
            return -1;
        r->pack = grown;
        r->pack_cap = size;
    }
    sanhe__request__pack(req, r->pack);
    struct lg_call *call = malloc(sizeof *call);
    if (call == NULL)
        return -1;
    *call = (struct lg_call){.conn = c, .seq = seq};
    if (sanhe_pipe_call_raw(c->pipe, r->pack, size, r->call_timeout_ms, replies_on_reply, call) !=
        0) {
        free(call);
        return -1;
    }
    return 0;
}

static void sched_record_sent(struct lg_run *r, enum lg_op op, int64_t due, int64_t now)
{
    struct lg_result *res = r->res;
    res->sent++;
    res->ops[op].sent++;
    lg_hist_record(&res->lag, (uint64_t)(now - due));
    if (r->builder.last_lines > 0) {
        res->claims++;
        res->claim_lines += r->builder.last_lines;
    }
}

static void sched_send_one(struct lg_run *r, uint64_t seq, int64_t due)
{
    struct lg_conn *c = &r->conns[seq % r->nconns];
    bool measured = seq >= r->win_first;
    if (measured)
        r->res->scheduled++;
    if (!c->open) {
        if (measured)
            r->res->errors[LG_ERR_DISCONNECTED]++;
        return;
    }
    struct lg_settled target = {0, 0};
    enum lg_op op = sched_pick_op(r, run_terminal(r, c), measured, &target);
    int64_t now = lg_now_ns();
    struct lg_pending p = {.seq = seq,
                           .sched_ns = due,
                           .sent_ns = now,
                           .conn = c->index,
                           .op = (uint8_t)op,
                           .measured = measured};
    /* Pending before the pipe has it: a reply cannot come sooner, but the
     * order keeps the callback's lookup simple. */
    if (lg_inflight_put(&r->inflight, &p) != 0) {
        if (measured)
            r->res->errors[LG_ERR_DISCONNECTED]++;
        return;
    }
    if (sched_pack(r, c, op, &target, seq) != 0) {
        lg_inflight_del(&r->inflight, lg_inflight_get(&r->inflight, seq));
        if (measured)
            r->res->errors[LG_ERR_DISCONNECTED]++;
        return;
    }
    if (measured)
        sched_record_sent(r, op, due, now);
}

static void sched_tick(struct lg_run *r)
{
    int64_t now = lg_now_ns();
    for (uint32_t i = 0; i < r->nconns; i++)
        sanhe_pipe_cork(r->conns[i].pipe, 1);
    while (r->next_seq < r->total && sched_time(r, r->next_seq) <= now) {
        if (r->next_seq == r->win_first)
            run_window_start(r);
        sched_send_one(r, r->next_seq, sched_time(r, r->next_seq));
        r->next_seq++;
    }
    for (uint32_t i = 0; i < r->nconns; i++)
        sanhe_pipe_cork(r->conns[i].pipe, 0);
    if (r->next_seq == r->total) {
        run_all_sent(r);
        return;
    }
    if (r->tick_periodic)
        return;
    int64_t next = sched_time(r, r->next_seq);
    int64_t soonest = now + (int64_t)r->opt->tick_us * LG_NS_PER_US;
    sched_arm(r, next > soonest ? next : soonest, 0);
}

static void sched_on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    struct lg_run *r = h->data;
    uint64_t expirations;
    if (read(r->tfd, &expirations, sizeof expirations) < 0)
        return; /* EAGAIN: a spurious wake-up */
    if (r->phase == LG_RUNNING)
        sched_tick(r);
}

/* First request due a little after now, so that it is not already late. */
int sched_start(struct lg_run *r)
{
    r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r->tfd < 0 || uv_poll_init(&r->loop, &r->tick_poll, r->tfd) != 0) {
        snprintf(r->res->failure, sizeof r->res->failure, "cannot create the ticker's timerfd");
        return -1;
    }
    r->tick_open = true;
    r->tick_poll.data = r;
    r->phase = LG_RUNNING;
    r->t0 = lg_now_ns() + 5 * LG_NS_PER_S / 1000;
    r->res->window_start_ns = sched_time(r, r->win_first);
    uv_poll_start(&r->tick_poll, UV_READABLE, sched_on_poll);
    int64_t tick_ns = (int64_t)r->opt->tick_us * LG_NS_PER_US;
    r->tick_periodic = (int64_t)r->opt->rate * tick_ns >= LG_NS_PER_S;
    sched_arm(r, r->t0, r->tick_periodic ? tick_ns : 0);
    return 0;
}

static void sched_on_close(uv_handle_t *h)
{
    struct lg_run *r = h->data;
    close(r->tfd);
    r->tfd = -1;
}

void sched_stop(struct lg_run *r)
{
    if (!r->tick_open)
        return;
    r->tick_open = false;
    uv_poll_stop(&r->tick_poll);
    uv_close((uv_handle_t *)&r->tick_poll, sched_on_close);
}
