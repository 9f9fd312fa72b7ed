/*
 * A connection's life:
 *
 *   accept -> HANDSHAKE --(client certificate verified)--> OPEN
 *   OPEN --(error frame, idle, stop)--> CLOSING --(in-flight answered)-->
 *   SHUTDOWN --(peer EOF or linger timeout)--> CLOSED -> freed
 *
 * Any state --(socket error, broken TLS)--> CLOSED at once (conn_abort).
 *
 * CLOSING waits for in-flight writes so that a request already committed
 * still gets its answer. SHUTDOWN sends close_notify and a FIN, then keeps
 * reading (and discarding) for NET_LINGER_MS: closing a socket with unread
 * input makes the kernel send a reset, which can destroy the error frame
 * before the peer reads it.
 *
 * Memory: the conn is freed only when both handles are closed and no batch
 * item holds it, so every callback may use it until then.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "net_internal.h"
#include "net_log.h"

static void conn_free(struct conn *c)
{
    struct net_server *server = c->server;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        server->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    tls_session_free(&c->tls);
    conn_limits_input_set(c, 0);
    free(c->in);
    free(c->out);
    free(c);
    server_conn_freed(server);
}

static void conn_maybe_free(struct conn *c)
{
    if (c->handles_open == 0 && c->refs == 0)
        conn_free(c);
}

void conn_ref(struct conn *c) { c->refs++; }

void conn_unref(struct conn *c)
{
    assert(c->refs > 0);
    c->refs--;
    conn_maybe_free(c);
}

static void conn_on_handle_closed(uv_handle_t *handle)
{
    struct conn *c = handle->data;
    assert(c->handles_open > 0);
    c->handles_open--;
    conn_maybe_free(c);
}

/* Leaves the connection count at once, so that a new client can take the slot. */
static void conn_uncount(struct conn *c)
{
    struct net_server *server = c->server;
    assert(c->over_limit ? server->conns_refusing > 0 : server->conns_counted > 0);
    if (c->over_limit)
        server->conns_refusing--;
    else
        server->conns_counted--;
    server->stats.connections_open--;
}

/* Closes both handles now; pending writes are cancelled. */
void conn_abort(struct conn *c, const char *why)
{
    if (c->state == CONN_CLOSED)
        return;
    net_log(why != NULL ? NET_LOG_INFO : NET_LOG_DEBUG, "conn %llu %s: closed%s%s",
            (unsigned long long)c->id, c->peer, why != NULL ? ": " : "", why != NULL ? why : "");
    c->state = CONN_CLOSED;
    conn_uncount(c);
    uv_close((uv_handle_t *)&c->tcp, conn_on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_on_handle_closed);
    uv_close((uv_handle_t *)&c->frame_timer, conn_on_handle_closed);
}

/* ---- The close sequence ------------------------------------------------------ */

static void conn_on_linger_timeout(uv_timer_t *timer) { conn_abort(timer->data, NULL); }

static void conn_on_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *c = req->data;
    if (status < 0 && c->state != CONN_CLOSED)
        conn_abort(c, NULL);
}

/* Our side ends: close_notify (after a handshake), every queued byte, FIN. */
static void conn_shutdown(struct conn *c, bool tls_notify)
{
    /* The replies queued, then close_notify, in one write before the FIN. */
    conn_flush_now(c, tls_notify);
    if (c->state == CONN_CLOSED)
        return;
    c->state = CONN_SHUTDOWN;
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0) {
        conn_abort(c, NULL);
        return;
    }
    uv_timer_start(&c->timer, conn_on_linger_timeout, NET_LINGER_MS, 0);
    conn_update_reading(c);
}

/* Stops taking input; once in-flight writes are answered, shuts down. */
void conn_finish(struct conn *c, const char *why)
{
    if (c->state == CONN_HANDSHAKE) {
        conn_abort(c, why);
        return;
    }
    if (c->state != CONN_OPEN)
        return;
    if (why != NULL)
        net_log(NET_LOG_INFO, "conn %llu %s: closing: %s", (unsigned long long)c->id, c->peer, why);
    c->state = CONN_CLOSING;
    uv_timer_stop(&c->timer);
    uv_timer_stop(&c->frame_timer);
    conn_update_reading(c);
    if (c->inflight == 0)
        conn_shutdown(c, true);
}

/* An error frame without a request id, then the close sequence: for input
 * that cannot be trusted any more (or a refusal of the whole connection). */
void conn_refuse(struct conn *c, int code, const char *message)
{
    struct sh_reply reply = {0};
    net_log(NET_LOG_WARN, "conn %llu %s (%s): %s: %s", (unsigned long long)c->id, c->peer,
            c->cn[0] ? c->cn : "-", sh_error_name(code), message);
    if (frame_error_reply(NULL, code, message, &reply) == 0)
        conn_queue_reply(c, &reply);
    free(reply.data);
    conn_finish(c, NULL);
}

void conn_write_done(struct conn *c)
{
    assert(c->inflight > 0 && c->refs > 0); /* a write answered was a write queued */
    c->inflight--;
    if (c->state == CONN_CLOSING && c->inflight == 0)
        conn_shutdown(c, true);
    else
        conn_update_reading(c);
}

/* ---- Reading and backpressure ------------------------------------------------- */

bool conn_input_paused(const struct conn *c)
{
    const struct net_limits *limits = &c->server->limits;
    return c->inflight >= limits->inflight_max ||
           c->out_bytes + c->out_len > limits->output_max_bytes || conn_limits_output_over(c);
}

void conn_pause_if_over(struct conn *c)
{
    if (c->state == CONN_OPEN && c->reading && conn_input_paused(c)) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void conn_on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = handle->data;
    /* One buffer for the whole loop: libuv hands it straight to conn_on_read,
     * which copies it into OpenSSL's read BIO before returning. */
    *buf = uv_buf_init((char *)c->server->read_buf, sizeof c->server->read_buf);
}

static void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void conn_read_start(struct conn *c)
{
    if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) == 0)
        c->reading = true;
}

static void conn_read_stop(struct conn *c)
{
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

/*
 * Reads when the connection can take input: always during the handshake and
 * the linger, never while CLOSING, and while OPEN only below both limits
 * (in-flight writes and unsent reply bytes): that is the backpressure. A
 * connection that resumes first decodes what is already buffered, since the
 * socket may have nothing more to say.
 */
void conn_update_reading(struct conn *c)
{
    switch (c->state) {
    case CONN_HANDSHAKE:
    case CONN_SHUTDOWN:
        conn_read_start(c);
        break;
    case CONN_OPEN:
        if (conn_input_paused(c)) {
            conn_read_stop(c);
        } else if (!c->reading) {
            conn_read_start(c);
            conn_input_process(c);
        }
        break;
    default:
        conn_read_stop(c);
        break;
    }
}

/* ---- Timers ---------------------------------------------------------------------- */

static void conn_on_handshake_timeout(uv_timer_t *timer)
{
    struct conn *c = timer->data;
    c->server->stats.handshake_failures++;
    c->server->stats.handshake_timeouts++;
    conn_abort(c, "handshake timeout");
}

/* The idle timer is not moved for each frame (a timer heap update per
 * request): a frame only notes its time, and the timer, when it fires
 * early, waits for the rest. */
static void conn_on_idle_timeout(uv_timer_t *timer)
{
    struct conn *c = timer->data;
    uint64_t ms = c->server->limits.idle_timeout_ms;
    uint64_t now = uv_now(c->server->loop);
    if (c->inflight > 0) { /* waiting on us is not idle */
        c->idle_from_ms = now;
        uv_timer_start(timer, conn_on_idle_timeout, ms, 0);
        return;
    }
    uint64_t since = now >= c->idle_from_ms ? now - c->idle_from_ms : 0;
    if (since < ms) {
        uv_timer_start(timer, conn_on_idle_timeout, ms - since, 0);
        return;
    }
    conn_finish(c, "idle timeout");
}

void conn_idle_restart(struct conn *c)
{
    assert(c->state == CONN_OPEN);
    c->idle_from_ms = uv_now(c->server->loop);
    if (!uv_is_active((uv_handle_t *)&c->timer)) /* in OPEN, only before its first start */
        uv_timer_start(&c->timer, conn_on_idle_timeout, c->server->limits.idle_timeout_ms, 0);
}

/* ---- Handshake ------------------------------------------------------------------ */

static void conn_on_handshake_done(struct conn *c)
{
    c->state = CONN_OPEN;
    uv_timer_stop(&c->timer); /* the handshake's deadline; the idle timer from here */
    conn_idle_restart(c);
    if (tls_session_peer_cn(&c->tls, c->cn, sizeof c->cn) != 0)
        c->cn[0] = '\0';
    if (c->over_limit) {
        char msg[96];
        snprintf(msg, sizeof msg, "connections_max (%u) reached",
                 c->server->limits.connections_max);
        conn_refuse(c, SH_E_LIMIT_EXCEEDED, msg);
        return;
    }
    bool known = terminal_resolve(c->server, c);
    if (!conn_limits_admit(c))
        return;
    if (known)
        net_log(NET_LOG_INFO, "conn %llu %s: terminal %s (hospital %s, role %s)",
                (unsigned long long)c->id, c->peer, c->cn,
                c->caller.hospital[0] ? c->caller.hospital : "-", sh_role_name(c->caller.role));
    else
        net_log(NET_LOG_WARN,
                "conn %llu %s: certificate CN \"%s\" is no terminal: every request "
                "will be FORBIDDEN",
                (unsigned long long)c->id, c->peer, c->cn);
}

static void conn_handshake_step(struct conn *c)
{
    int rc = tls_session_handshake(&c->tls);
    if (rc == TLS_AGAIN) {
        conn_flush(c); /* our handshake flight */
        return;
    }
    if (rc != TLS_DONE) {
        char reason[640];
        c->server->stats.handshake_failures++;
        net_log(NET_LOG_WARN, "conn %llu %s: TLS handshake failed: %s", (unsigned long long)c->id,
                c->peer, tls_peer_failure(&c->tls, reason, sizeof reason));
        conn_shutdown(c, false); /* the alert goes out, then the connection ends */
        return;
    }
    conn_flush(c);
    conn_on_handshake_done(c);
}

static void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = stream->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_abort(c, c->state == CONN_SHUTDOWN ? NULL
                      : nread == UV_EOF         ? "peer closed"
                                                : uv_strerror((int)nread));
        return;
    }
    if (c->state == CONN_SHUTDOWN)
        return; /* lingering: discard */
    if (tls_session_feed(&c->tls, buf->base, (size_t)nread) != TLS_DONE) {
        conn_abort(c, "out of memory");
        return;
    }
    if (c->state == CONN_HANDSHAKE)
        conn_handshake_step(c);
    if (c->state == CONN_OPEN)
        conn_input_process(c); /* restarts the idle timer for each whole frame */
}

/* ---- Accept ------------------------------------------------------------------------ */

static void conn_describe_peer(struct conn *c)
{
    struct sockaddr_storage addr;
    int len = sizeof addr;
    char host[48] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &len) == 0) {
        if (addr.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
        }
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
}

static struct conn *conn_new(struct net_server *server)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->server = server;
    c->id = ++server->next_conn_id;
    c->state = CONN_HANDSHAKE;
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    uv_timer_init(server->loop, &c->frame_timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->frame_timer.data = c;
    c->handles_open = 3;
    c->next = server->conns;
    if (server->conns != NULL)
        server->conns->prev = c;
    server->conns = c;
    return c;
}

/* Past connections_max a connection is still accepted and handshaken, so
 * that the terminal learns why (LIMIT_EXCEEDED) rather than seeing a reset;
 * but only so many of those at a time, beyond which we close at once. */
static bool conn_admit(struct net_server *server, struct conn *c)
{
    server->stats.connections_accepted++;
    server->stats.connections_open++;
    if (server->conns_counted < server->limits.connections_max) {
        server->conns_counted++;
        return true;
    }
    server->stats.connections_refused++;
    c->over_limit = true;
    server->conns_refusing++;
    return server->conns_refusing <= 16 + server->limits.connections_max / 16;
}

void conn_accept(struct net_server *server)
{
    struct conn *c = conn_new(server);
    if (c == NULL) {
        net_log(NET_LOG_ERROR, "accept: out of memory");
        return;
    }
    int rc = uv_accept((uv_stream_t *)&server->listener, (uv_stream_t *)&c->tcp);
    bool admitted = conn_admit(server, c);
    if (rc != 0 || tls_session_init(&c->tls, server->tls_ctx) != TLS_DONE) {
        conn_abort(c, rc != 0 ? uv_strerror(rc) : "out of memory");
        return;
    }
    conn_describe_peer(c);
    uv_tcp_nodelay(&c->tcp, 1);
    net_log(NET_LOG_INFO, "conn %llu %s: accepted%s", (unsigned long long)c->id, c->peer,
            c->over_limit ? " over connections_max" : "");
    if (!admitted) {
        conn_abort(c, "too many connections waiting to be refused");
        return;
    }
    uv_timer_start(&c->timer, conn_on_handshake_timeout, server->limits.handshake_timeout_ms, 0);
    conn_update_reading(c);
}
