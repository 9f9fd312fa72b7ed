/*
 * The asynchronous form: the synchronous call, run on the caller's libuv
 * thread pool, its callback on the loop's thread. The blocking call already
 * has everything a counter needs (deadline, reconnects, the same request id
 * on every resend), so running it off the loop thread gives a loop-based
 * program the same guarantees without a second implementation to keep
 * exactly-once in.
 *
 * Every operation is one struct async_call with two small functions: run
 * (the synchronous call, on a pool thread) and deliver (its callback, on the
 * loop's thread). Queueing, argument copies and freeing are shared.
 */
#include <assert.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "internal.h"

struct async_call {
    uv_work_t work;
    void (*run)(struct async_call *a);
    void (*deliver)(struct async_call *a);
    sanhe_client *client;
    const struct sanhe_claim *claim;       /* the caller keeps it alive */
    char request_id[SANHE_REQUEST_ID_MAX]; /* "" for a generated one */
    /* Copies of the string arguments, so that the caller's may go at once. */
    char *text[2];
    uint64_t settlement_id;
    int timeout_ms, status;
    union {
        struct sanhe_settle_result settle;
        struct sanhe_cancel_result cancel;
        struct sanhe_reverse_result reverse;
        struct sanhe_settlement settlement;
        struct sanhe_eligibility eligibility;
    } out;
    union {
        sanhe_settle_cb settle;
        sanhe_cancel_cb cancel;
        sanhe_reverse_cb reverse;
        sanhe_query_cb query;
        sanhe_eligibility_cb eligibility;
    } done;
    void *arg;
};

/* The request id the synchronous call gets: NULL asks it to generate one. */
static const char *rid(const struct async_call *a)
{
    return a->request_id[0] != '\0' ? a->request_id : NULL;
}

static void work_cb(uv_work_t *w)
{
    struct async_call *a = w->data;
    a->run(a);
}

static void async_free(struct async_call *a)
{
    free(a->text[0]);
    free(a->text[1]);
    free(a);
}

static void after_cb(uv_work_t *w, int uv_status)
{
    struct async_call *a = w->data;
    (void)uv_status; /* work is never cancelled: nothing calls uv_cancel on it */
    a->deliver(a);   /* the callback owns the result's contents (see the header) */
    async_free(a);
}

/* Queues a copy of call (its run, deliver, callback and arguments set),
 * with copies of the string arguments text0 and text1 (NULL: none). On an
 * error nothing is queued, and no callback will run. */
static int start(sanhe_client *c, void *uv_loop, bool has_done, const struct async_call *call,
                 const char *request_id, const char *text0, const char *text1)
{
    if (c == NULL || uv_loop == NULL || !has_done ||
        (request_id != NULL && strlen(request_id) >= SANHE_REQUEST_ID_MAX))
        return SANHE_E_INVAL;
    struct async_call *a = malloc(sizeof *a);
    if (a == NULL)
        return SANHE_E_NOMEM;
    *a = *call;
    a->client = c;
    a->work.data = a;
    snprintf(a->request_id, sizeof a->request_id, "%s", request_id ? request_id : "");
    a->text[0] = text0 != NULL ? strdup(text0) : NULL;
    a->text[1] = text1 != NULL ? strdup(text1) : NULL;
    int rc = (text0 != NULL && a->text[0] == NULL) || (text1 != NULL && a->text[1] == NULL)
                 ? SANHE_E_NOMEM
                 : 0;
    if (rc == 0 && uv_queue_work(uv_loop, &a->work, work_cb, after_cb) != 0)
        rc = SANHE_E_INVAL;
    if (rc != 0)
        async_free(a);
    return rc;
}

/* ---- settle and presettle ---- */

static void run_settle(struct async_call *a)
{
    a->status = sanhe_settle(a->client, a->claim, rid(a), a->timeout_ms, &a->out.settle);
}

static void run_presettle(struct async_call *a)
{
    a->status = sanhe_presettle(a->client, a->claim, a->timeout_ms, &a->out.settle);
}

static void deliver_settle(struct async_call *a)
{
    a->done.settle(a->client, a->status, a->status == 0 ? &a->out.settle : NULL, a->arg);
}

static int claim_async(sanhe_client *c, void *loop, void (*run)(struct async_call *),
                       const struct sanhe_claim *claim, const char *request_id, int timeout_ms,
                       sanhe_settle_cb done, void *arg)
{
    if (claim == NULL)
        return SANHE_E_INVAL;
    struct async_call call = {.run = run,
                              .deliver = deliver_settle,
                              .done.settle = done,
                              .claim = claim,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, request_id, NULL, NULL);
}

int sanhe_settle_async(sanhe_client *c, void *loop, const struct sanhe_claim *claim,
                       const char *request_id, int timeout_ms, sanhe_settle_cb done, void *arg)
{
    return claim_async(c, loop, run_settle, claim, request_id, timeout_ms, done, arg);
}

int sanhe_presettle_async(sanhe_client *c, void *loop, const struct sanhe_claim *claim,
                          int timeout_ms, sanhe_settle_cb done, void *arg)
{
    return claim_async(c, loop, run_presettle, claim, NULL, timeout_ms, done, arg);
}

/* ---- cancel ---- */

static void run_cancel(struct async_call *a)
{
    a->status = sanhe_cancel(a->client, a->text[0], rid(a), a->timeout_ms, &a->out.cancel);
}

static void deliver_cancel(struct async_call *a)
{
    a->done.cancel(a->client, a->status, a->status == 0 ? &a->out.cancel : NULL, a->arg);
}

int sanhe_cancel_async(sanhe_client *c, void *loop, const char *cancel_of, const char *request_id,
                       int timeout_ms, sanhe_cancel_cb done, void *arg)
{
    if (cancel_of == NULL || cancel_of[0] == '\0' || strlen(cancel_of) >= SANHE_REQUEST_ID_MAX)
        return SANHE_E_INVAL;
    struct async_call call = {.run = run_cancel,
                              .deliver = deliver_cancel,
                              .done.cancel = done,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, request_id, cancel_of, NULL);
}

/* ---- reverse ---- */

static void run_reverse(struct async_call *a)
{
    a->status = sanhe_reverse(a->client, a->settlement_id, rid(a), a->timeout_ms, &a->out.reverse);
}

static void deliver_reverse(struct async_call *a)
{
    a->done.reverse(a->client, a->status, a->status == 0 ? &a->out.reverse : NULL, a->arg);
}

int sanhe_reverse_async(sanhe_client *c, void *loop, uint64_t settlement_id, const char *request_id,
                        int timeout_ms, sanhe_reverse_cb done, void *arg)
{
    if (settlement_id == 0)
        return SANHE_E_INVAL;
    struct async_call call = {.run = run_reverse,
                              .deliver = deliver_reverse,
                              .done.reverse = done,
                              .settlement_id = settlement_id,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, request_id, NULL, NULL);
}

/* ---- query ---- */

static void run_query(struct async_call *a)
{
    a->status =
        sanhe_query(a->client, a->settlement_id, a->text[0], a->timeout_ms, &a->out.settlement);
}

static void deliver_query(struct async_call *a)
{
    a->done.query(a->client, a->status, a->status == 0 ? &a->out.settlement : NULL, a->arg);
}

int sanhe_query_async(sanhe_client *c, void *loop, uint64_t settlement_id,
                      const char *settle_request_id, int timeout_ms, sanhe_query_cb done, void *arg)
{
    /* Exactly one of the two targets, as the synchronous call wants. */
    if ((settlement_id == 0) == (settle_request_id == NULL))
        return SANHE_E_INVAL;
    struct async_call call = {.run = run_query,
                              .deliver = deliver_query,
                              .done.query = done,
                              .settlement_id = settlement_id,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, NULL, settle_request_id, NULL);
}

/* ---- eligibility ---- */

static void run_eligibility(struct async_call *a)
{
    a->status =
        sanhe_eligibility(a->client, a->text[0], a->text[1], a->timeout_ms, &a->out.eligibility);
}

static void deliver_eligibility(struct async_call *a)
{
    a->done.eligibility(a->client, a->status, a->status == 0 ? &a->out.eligibility : NULL, a->arg);
}

int sanhe_eligibility_async(sanhe_client *c, void *loop, const char *person, const char *date,
                            int timeout_ms, sanhe_eligibility_cb done, void *arg)
{
    if (person == NULL)
        return SANHE_E_INVAL;
    struct async_call call = {.run = run_eligibility,
                              .deliver = deliver_eligibility,
                              .done.eligibility = done,
                              .timeout_ms = timeout_ms,
                              .arg = arg};
    return start(c, loop, done != NULL, &call, NULL, person, date);
}

/* ---- The pipelined connection (sanhe_pipe) ----
 *
 * One TLS connection driven by the loop itself: OpenSSL through memory BIOs
 * on a uv_tcp_t, as the engine does it. Calls are written as soon as the
 * connection is up and matched to replies by request id, so any number of
 * them are in flight at once. A call stays in the list until it is
 * answered or its deadline passes; when the connection breaks, every call
 * still in the list is written again, with the same request id, on the next
 * one (the engine's idempotency makes the resend safe, as for the
 * synchronous call). One timer ticks for deadlines, connect timeouts and
 * the reconnect backoff. */

#define PIPE_TICK_MS 20
#define PIPE_BACKOFF_MIN_MS 50
#define PIPE_BACKOFF_MAX_MS 1000
#define PIPE_READ_CHUNK 65536
#define PIPE_FRAME_MAX (16u * 1024u * 1024u)

struct pipe_call {
    struct pipe_call *next;
    uint8_t *frame; /* length prefix and the packed Request */
    size_t frame_len;
    char request_id[SANHE_REQUEST_ID_MAX];
    int64_t deadline_ms, retry_at_ms;
    bool changes_state, sent, written; /* written: on the current connection */
    sanhe_raw_cb done;
    void *arg;
};

struct pipe_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    struct sanhe_pipe *pipe; /* NULL once the pipe has let go of it */
    SSL *ssl;
    BIO *rbio, *wbio;
    bool up, closing;
    int64_t started_ms, progress_ms;
    uint8_t *in;
    size_t in_len, in_cap;
};

struct sanhe_pipe {
    uv_loop_t *loop;
    uv_timer_t tick;
    sanhe_client *client; /* the addresses, the TLS context and the defaults */
    struct pipe_conn *conn;
    struct pipe_call *head, *tail;
    size_t in_flight, in_flight_max;
    int64_t next_connect_ms, backoff_ms;
    bool freed;
    bool corked;    /* sanhe_pipe_cork: calls wait for the uncork (or the tick) */
    uint8_t *batch; /* the frames of one write, encrypted together */
    size_t batch_cap;
};

static void pipe_conn_drop(struct sanhe_pipe *p);
static void pipe_write_pending(struct sanhe_pipe *p);

/* Only pending calls keep the caller's loop alive: the timer and an idle
 * connection are unreferenced while nothing is pending. */
static void pipe_set_ref(struct sanhe_pipe *p)
{
    void (*f)(uv_handle_t *) = p->in_flight > 0 ? uv_ref : uv_unref;
    f((uv_handle_t *)&p->tick);
    if (p->conn != NULL && !p->conn->closing)
        f((uv_handle_t *)&p->conn->tcp);
}

static void pipe_unlink(struct sanhe_pipe *p, struct pipe_call *c)
{
    struct pipe_call **pp = &p->head, *prev = NULL;
    while (*pp != NULL && *pp != c) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    assert(*pp == c);
    *pp = c->next;
    if (p->tail == c)
        p->tail = prev;
    if (--p->in_flight == 0)
        pipe_set_ref(p);
}

/* Unlinks, then runs the callback (which may start other calls). */
static void pipe_complete(struct sanhe_pipe *p, struct pipe_call *c, int status,
                          const uint8_t *reply, size_t len)
{
    pipe_unlink(p, c);
    c->done(status, reply, len, c->arg);
    free(c->frame);
    free(c);
}

static int pipe_lost_status(const struct pipe_call *c)
{
    if (c->sent && c->changes_state)
        return SANHE_E_OUTCOME_UNKNOWN;
    return c->sent ? SANHE_E_TIMEOUT : SANHE_E_UNREACHABLE;
}

static void pipe_on_write(uv_write_t *w, int status)
{
    (void)status; /* a failed write shows up as a read error or a timeout */
    free(w->data);
    free(w);
}

/* Sends what OpenSSL wrote into the memory BIO: at once when the socket
 * takes it (uv_try_write fails while earlier writes are queued, so the
 * order holds), what it does not take in one uv_write. */
static int pipe_flush(struct pipe_conn *pc)
{
    size_t n = BIO_ctrl_pending(pc->wbio);
    if (n == 0)
        return 0;
    uv_write_t *w = malloc(sizeof *w);
    char *buf = malloc(n);
    if (w == NULL || buf == NULL || BIO_read(pc->wbio, buf, (int)n) != (int)n) {
        free(w);
        free(buf);
        return -1;
    }
    uv_buf_t b = uv_buf_init(buf, (unsigned)n);
    int done = uv_try_write((uv_stream_t *)&pc->tcp, &b, 1);
    if (done < 0 && done != UV_EAGAIN) {
        free(w);
        free(buf);
        return -1;
    }
    if (done == (int)n) {
        free(w);
        free(buf);
        return 0;
    }
    w->data = buf;
    b = uv_buf_init(buf + (done > 0 ? done : 0), (unsigned)(n - (size_t)(done > 0 ? done : 0)));
    if (uv_write(w, (uv_stream_t *)&pc->tcp, &b, 1, pipe_on_write) != 0) {
        free(w);
        free(buf);
        return -1;
    }
    return 0;
}

static void pipe_conn_closed(uv_handle_t *h)
{
    struct pipe_conn *pc = h->data;
    SSL_free(pc->ssl);
    free(pc->in);
    free(pc);
}

static void pipe_conn_drop(struct sanhe_pipe *p)
{
    struct pipe_conn *pc = p->conn;
    if (pc == NULL)
        return;
    p->conn = NULL;
    pc->pipe = NULL;
    for (struct pipe_call *c = p->head; c != NULL; c = c->next)
        c->written = false;
    p->client->current = (p->client->current + 1) % p->client->address_count;
    p->next_connect_ms = sanhe_now_ms() + p->backoff_ms;
    p->backoff_ms =
        p->backoff_ms * 2 > PIPE_BACKOFF_MAX_MS ? PIPE_BACKOFF_MAX_MS : p->backoff_ms * 2;
    if (!pc->closing) {
        pc->closing = true;
        uv_close((uv_handle_t *)&pc->tcp, pipe_conn_closed);
    }
}

/* A reply: the first call in the list with its request id takes it. */
static void pipe_on_frame(struct sanhe_pipe *p, const uint8_t *buf, size_t len)
{
    Sanhe__Response *r = sanhe__response__unpack(NULL, len, buf);
    if (r == NULL)
        return; /* not ours to answer: the call's deadline will tell */
    struct pipe_call *c = p->head;
    while (c != NULL && (r->request_id == NULL || strcmp(c->request_id, r->request_id) != 0))
        c = c->next;
    bool busy = r->error != NULL && r->error->has_code &&
                (r->error->code == SANHE__ERROR_CODE__UNAVAILABLE ||
                 r->error->code == SANHE__ERROR_CODE__LIMIT_EXCEEDED);
    int status = r->error != NULL ? SANHE_E_REFUSED : 0;
    sanhe__response__free_unpacked(r, NULL);
    if (c == NULL)
        return;
    if (busy) { /* it changed nothing: try again a little later */
        c->written = false;
        c->retry_at_ms = sanhe_now_ms() + PIPE_BACKOFF_MIN_MS;
        return;
    }
    pipe_complete(p, c, status, buf, len);
}

/* Cuts the plaintext into frames. -1: a corrupt stream. */
static int pipe_frames(struct pipe_conn *pc)
{
    size_t off = 0;
    while (pc->in_len - off >= 4) {
        const uint8_t *h = pc->in + off;
        uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        if (n > PIPE_FRAME_MAX)
            return -1;
        if (pc->in_len - off - 4 < n)
            break;
        pipe_on_frame(pc->pipe, h + 4, n);
        off += 4 + n;
        if (pc->pipe == NULL || pc->pipe->conn != pc)
            return 0; /* a callback let go of the connection */
    }
    memmove(pc->in, pc->in + off, pc->in_len - off);
    pc->in_len -= off;
    return 0;
}

static int pipe_read_plain(struct pipe_conn *pc)
{
    for (;;) {
        if (pc->in_cap - pc->in_len < PIPE_READ_CHUNK) {
            size_t cap = pc->in_len + PIPE_READ_CHUNK * 2;
            uint8_t *n = realloc(pc->in, cap);
            if (n == NULL)
                return -1;
            pc->in = n;
            pc->in_cap = cap;
        }
        size_t got = 0;
        ERR_clear_error();
        int rc = SSL_read_ex(pc->ssl, pc->in + pc->in_len, pc->in_cap - pc->in_len, &got);
        if (rc != 1) {
            int e = SSL_get_error(pc->ssl, rc);
            ERR_clear_error();
            return e == SSL_ERROR_WANT_READ ? 0 : -1;
        }
        pc->in_len += got;
        if (pipe_frames(pc) != 0)
            return -1;
        if (pc->pipe == NULL)
            return 0;
    }
}

static void pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base != NULL ? suggested : 0;
}

static int pipe_handshake(struct pipe_conn *pc)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(pc->ssl);
    if (rc == 1) {
        pc->up = true;
        pc->pipe->backoff_ms = PIPE_BACKOFF_MIN_MS;
        return 0;
    }
    int e = SSL_get_error(pc->ssl, rc);
    ERR_clear_error();
    return e == SSL_ERROR_WANT_READ ? 0 : -1;
}

static void pipe_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pipe_conn *pc = s->data;
    struct sanhe_pipe *p = pc->pipe;
    int bad = n < 0 || p == NULL;
    if (!bad && n > 0) {
        pc->progress_ms = sanhe_now_ms();
        bad = BIO_write(pc->rbio, buf->base, (int)n) != (int)n;
        bool was_up = pc->up;
        if (!bad && !pc->up)
            bad = pipe_handshake(pc) != 0;
        if (!bad && pc->up)
            bad = pipe_read_plain(pc) != 0;
        if (!bad && pc->pipe != NULL)
            bad = pipe_flush(pc) != 0;
        if (!bad && !was_up && pc->up && pc->pipe != NULL)
            pipe_write_pending(pc->pipe);
    }
    free(buf->base);
    if (bad && pc->pipe != NULL && pc->pipe->conn == pc)
        pipe_conn_drop(pc->pipe);
    else if (bad && !pc->closing) {
        pc->closing = true;
        uv_close((uv_handle_t *)&pc->tcp, pipe_conn_closed);
    }
}

static void pipe_on_connect(uv_connect_t *req, int status)
{
    struct pipe_conn *pc = req->data;
    struct sanhe_pipe *p = pc->pipe;
    if (p == NULL || pc->closing)
        return;
    if (status != 0 || uv_read_start((uv_stream_t *)&pc->tcp, pipe_alloc, pipe_on_read) != 0 ||
        pipe_handshake(pc) != 0 || pipe_flush(pc) != 0) {
        sanhe_set_message(p->client, "connect: %s", status != 0 ? uv_strerror(status) : "TLS");
        /* libuv's status is a negated errno on Unix. */
        sanhe_set_why(p->client,
                      status == UV_ECONNREFUSED ? SANHE_WHY_CONNECT_REFUSED
                      : status != 0             ? SANHE_WHY_CONNECT
                                                : SANHE_WHY_HANDSHAKE_FAILED,
                      status != 0 ? -status : 0, p->client->current);
        pipe_conn_drop(p);
    }
}

static int pipe_tls_new(struct sanhe_pipe *p, struct pipe_conn *pc, const char *host)
{
    pc->ssl = SSL_new(p->client->ctx);
    pc->rbio = BIO_new(BIO_s_mem());
    pc->wbio = BIO_new(BIO_s_mem());
    if (pc->ssl == NULL || pc->rbio == NULL || pc->wbio == NULL) {
        BIO_free(pc->rbio);
        BIO_free(pc->wbio);
        return -1;
    }
    BIO_set_mem_eof_return(pc->rbio, -1);
    SSL_set_bio(pc->ssl, pc->rbio, pc->wbio);
    SSL_set_connect_state(pc->ssl);
    return SSL_set1_host(pc->ssl, host) == 1 ? 0 : -1;
}

/* Starts a connection to the current address (numeric hosts, or names the
 * resolver answers at once: the gateway's engines are configured by
 * address). */
static void pipe_connect(struct sanhe_pipe *p)
{
    const struct sanhe_address *a = &p->client->addresses[p->client->current];
    struct sockaddr_storage ss;
    int port = (int)strtol(a->port, NULL, 10);
    const char *host = strcmp(a->host, "localhost") == 0 ? "127.0.0.1" : a->host;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
        sanhe_set_message(p->client, "%s: not a numeric address", a->host);
        sanhe_set_why(p->client, SANHE_WHY_RESOLVE, 0, p->client->current);
        p->next_connect_ms = sanhe_now_ms() + PIPE_BACKOFF_MAX_MS;
        return;
    }
    struct pipe_conn *pc = calloc(1, sizeof *pc);
    if (pc == NULL)
        return;
    pc->pipe = p;
    pc->started_ms = pc->progress_ms = sanhe_now_ms();
    pc->tcp.data = pc;
    pc->connect.data = pc;
    if (uv_tcp_init(p->loop, &pc->tcp) != 0) {
        free(pc);
        return;
    }
    p->conn = pc;
    pipe_set_ref(p);
    if (pipe_tls_new(p, pc, a->host) != 0 ||
        uv_tcp_connect(&pc->connect, &pc->tcp, (struct sockaddr *)&ss, pipe_on_connect) != 0)
        pipe_conn_drop(p);
    else
        uv_tcp_nodelay(&pc->tcp, 1);
}

static void pipe_write_pending(struct sanhe_pipe *p)
{
    struct pipe_conn *pc = p->conn;
    if (pc == NULL || !pc->up)
        return;
    /* Every call due goes into one buffer and one SSL_write: one TLS
     * record train and one socket write for all of them. */
    int64_t now = sanhe_now_ms();
    size_t len = 0;
    for (struct pipe_call *c = p->head; c != NULL; c = c->next) {
        if (c->written || c->retry_at_ms > now)
            continue;
        if (len + c->frame_len > p->batch_cap) {
            size_t cap = (len + c->frame_len) * 2;
            uint8_t *grown = realloc(p->batch, cap);
            if (grown == NULL)
                break; /* the rest waits for the next write */
            p->batch = grown;
            p->batch_cap = cap;
        }
        memcpy(p->batch + len, c->frame, c->frame_len);
        len += c->frame_len;
        c->written = c->sent = true;
    }
    if (len == 0)
        return;
    size_t w = 0;
    ERR_clear_error();
    if (SSL_write_ex(pc->ssl, p->batch, len, &w) != 1 || w != len) {
        ERR_clear_error();
        pipe_conn_drop(p);
        return;
    }
    if (pipe_flush(pc) != 0)
        pipe_conn_drop(p);
}

static void pipe_on_tick(uv_timer_t *t)
{
    struct sanhe_pipe *p = t->data;
    int64_t now = sanhe_now_ms();
    for (struct pipe_call *c = p->head, *next; c != NULL; c = next) {
        next = c->next;
        if (now >= c->deadline_ms) {
            sanhe_set_message(p->client, "no reply before the deadline");
            sanhe_set_why(p->client, SANHE_WHY_DEADLINE, 0, SANHE_ADDRESSES_MAX);
            pipe_complete(p, c, pipe_lost_status(c), NULL, 0);
            next = p->head; /* the callback may have changed the list */
        }
    }
    struct pipe_conn *pc = p->conn;
    bool waiting = false;
    for (struct pipe_call *c = p->head; c != NULL; c = c->next)
        waiting |= c->written;
    /* No handshake, or written calls and nothing read, for an attempt's
     * time: this connection is stuck; try the next address. */
    if (pc != NULL &&
        ((!pc->up && now - pc->started_ms > p->client->attempt_timeout_ms) ||
         (pc->up && waiting && now - pc->progress_ms > p->client->attempt_timeout_ms)))
        pipe_conn_drop(p);
    if (p->conn == NULL && p->head != NULL && now >= p->next_connect_ms)
        pipe_connect(p);
    else
        pipe_write_pending(p);
}

int sanhe_pipe_new(sanhe_pipe **out, void *uv_loop, const struct sanhe_client_options *options,
                   size_t in_flight_max)
{
    if (out == NULL || uv_loop == NULL)
        return SANHE_E_INVAL;
    *out = NULL;
    struct sanhe_pipe *p = calloc(1, sizeof *p);
    if (p == NULL)
        return SANHE_E_NOMEM;
    int rc = sanhe_client_new(&p->client, options);
    if (rc != 0) {
        free(p);
        return rc;
    }
    p->loop = uv_loop;
    p->in_flight_max = in_flight_max > 0 ? in_flight_max : 4096;
    p->backoff_ms = PIPE_BACKOFF_MIN_MS;
    uv_timer_init(p->loop, &p->tick);
    p->tick.data = p;
    uv_timer_start(&p->tick, pipe_on_tick, PIPE_TICK_MS, PIPE_TICK_MS);
    uv_unref((uv_handle_t *)&p->tick); /* only calls keep the loop alive */
    *out = p;
    return 0;
}

static bool pipe_read_only(Sanhe__Request__OpCase op)
{
    return op == SANHE__REQUEST__OP_PRESETTLE || op == SANHE__REQUEST__OP_QUERY ||
           op == SANHE__REQUEST__OP_ELIGIBILITY || op == SANHE__REQUEST__OP_RECONCILE;
}

int sanhe_pipe_call_raw(sanhe_pipe *p, const void *request, size_t len, int timeout_ms,
                        sanhe_raw_cb done, void *arg)
{
    if (p == NULL || p->freed || request == NULL || done == NULL || len > PIPE_FRAME_MAX)
        return SANHE_E_INVAL;
    if (p->in_flight >= p->in_flight_max)
        return SANHE_E_UNREACHABLE;
    Sanhe__Request *req = sanhe__request__unpack(NULL, len, request);
    if (req == NULL || req->op_case == SANHE__REQUEST__OP__NOT_SET || req->request_id == NULL ||
        req->request_id[0] == '\0' || strlen(req->request_id) >= SANHE_REQUEST_ID_MAX) {
        if (req != NULL)
            sanhe__request__free_unpacked(req, NULL);
        return SANHE_E_INVAL;
    }
    struct pipe_call *c = calloc(1, sizeof *c);
    uint8_t *frame = malloc(len + 4);
    if (c == NULL || frame == NULL) {
        free(c);
        free(frame);
        sanhe__request__free_unpacked(req, NULL);
        return SANHE_E_NOMEM;
    }
    snprintf(c->request_id, sizeof c->request_id, "%s", req->request_id);
    c->changes_state = !pipe_read_only(req->op_case);
    sanhe__request__free_unpacked(req, NULL);
    frame[0] = (uint8_t)(len >> 24), frame[1] = (uint8_t)(len >> 16);
    frame[2] = (uint8_t)(len >> 8), frame[3] = (uint8_t)len;
    memcpy(frame + 4, request, len);
    c->frame = frame;
    c->frame_len = len + 4;
    c->deadline_ms = sanhe_now_ms() + (timeout_ms > 0 ? timeout_ms : p->client->timeout_ms);
    c->done = done;
    c->arg = arg;
    if (p->tail != NULL)
        p->tail->next = c;
    else
        p->head = c;
    p->tail = c;
    if (p->in_flight++ == 0)
        pipe_set_ref(p);
    if (p->conn == NULL) {
        if (sanhe_now_ms() >= p->next_connect_ms)
            pipe_connect(p);
    } else if (!p->corked) {
        pipe_write_pending(p);
    }
    return 0;
}

void sanhe_pipe_cork(sanhe_pipe *p, int on)
{
    if (p == NULL || p->freed)
        return;
    p->corked = on != 0;
    if (!p->corked)
        pipe_write_pending(p);
}

size_t sanhe_pipe_in_flight(const sanhe_pipe *p) { return p != NULL ? p->in_flight : 0; }

static void pipe_tick_closed(uv_handle_t *h)
{
    struct sanhe_pipe *p = h->data;
    sanhe_client_free(p->client);
    free(p->batch);
    free(p);
}

void sanhe_pipe_free(sanhe_pipe *p)
{
    if (p == NULL || p->freed)
        return;
    p->freed = true;
    while (p->head != NULL) {
        sanhe_set_message(p->client, "the connection was closed");
        sanhe_set_why(p->client, SANHE_WHY_CLOSED, 0, SANHE_ADDRESSES_MAX);
        pipe_complete(p, p->head, pipe_lost_status(p->head), NULL, 0);
    }
    pipe_conn_drop(p);
    uv_close((uv_handle_t *)&p->tick, pipe_tick_closed);
}
