/*
 * Fair shares: what one terminal certificate may hold of the engine, so that
 * a stolen one (or a broken client) costs the other terminals nothing.
 *
 *   - connections: per terminal (certificate CN) and per hospital, checked
 *     once the handshake names the terminal, on top of connections_max;
 *   - time: a frame must be complete within frame_timeout_ms of its first
 *     byte (the idle timer, in conn.c, counts whole frames only), so a
 *     trickle of bytes cannot hold a slot;
 *   - memory: input buffers of every connection together stay under
 *     input_total_max_bytes (past it a frame is refused, LIMIT_EXCEEDED),
 *     and once the unsent replies of every connection pass
 *     output_total_max_bytes, a connection holding more than a small part
 *     of them is no longer read until its peer takes its replies.
 *
 * Memory given back: buffers of a frame or a reply batch above glibc's mmap
 * threshold are their own mappings, unmapped when freed; the threshold is
 * fixed in net_server_create so that it does not climb after a burst (glibc
 * raises it each time such a mapping is freed, which is what kept RSS high
 * after the connections that held it were gone). What remains in the heap
 * is handed back with malloc_trim, at most once a second, once enough was
 * freed.
 */
#include <assert.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "net_internal.h"
#include "net_log.h"

#define INPUT_FREE_BYTES (16 * 1024) /* a buffer this small is not counted */
#define OUTPUT_FAIR_BYTES (64 * 1024)
#define TRIM_AFTER_BYTES (8u * 1024u * 1024u)
#define TRIM_EVERY_MS 1000u

static bool conn_in_share(const struct conn *c)
{
    return c->share_held && (c->state == CONN_OPEN || c->state == CONN_CLOSING);
}

/* Connections of the same terminal, and of the same hospital, already held. */
static void conn_share_count(const struct conn *c, uint32_t *terminal, uint32_t *hospital)
{
    *terminal = *hospital = 0;
    const char *h = c->has_caller ? c->caller.hospital : "";
    for (const struct conn *o = c->server->conns; o != NULL; o = o->next) {
        if (o == c || !conn_in_share(o))
            continue;
        if (strcmp(o->cn, c->cn) == 0)
            (*terminal)++;
        if (h[0] != '\0' && o->has_caller && strcmp(o->caller.hospital, h) == 0)
            (*hospital)++;
    }
}

bool conn_limits_admit(struct conn *c)
{
    struct net_server *server = c->server;
    const struct net_limits *limits = &server->limits;
    uint32_t terminal, hospital;
    conn_share_count(c, &terminal, &hospital);
    char msg[160];
    if (terminal >= limits->connections_per_terminal_max)
        snprintf(msg, sizeof msg, "terminal %s holds connections_per_terminal_max (%u) connections",
                 c->cn, limits->connections_per_terminal_max);
    else if (hospital >= limits->connections_per_hospital_max)
        snprintf(msg, sizeof msg, "hospital %s holds connections_per_hospital_max (%u) connections",
                 c->caller.hospital, limits->connections_per_hospital_max);
    else {
        c->share_held = true;
        return true;
    }
    /* Its slot under connections_max is free at once: it is only refused. */
    server->stats.connections_refused_share++;
    server->conns_counted--;
    server->conns_refusing++;
    c->over_limit = true;
    conn_refuse(c, SH_E_LIMIT_EXCEEDED, msg);
    return false;
}

bool conn_limits_input_grow(struct conn *c, size_t cap)
{
    struct net_server *server = c->server;
    if (cap <= INPUT_FREE_BYTES || cap <= c->in_cap)
        return true;
    uint64_t others = server->in_total_bytes - (c->in_cap > INPUT_FREE_BYTES ? c->in_cap : 0);
    if (others + cap <= server->limits.input_total_max_bytes)
        return true;
    server->stats.input_memory_refused++;
    return false;
}

void conn_limits_input_set(struct conn *c, size_t cap)
{
    struct net_server *server = c->server;
    if (c->in_cap > INPUT_FREE_BYTES) {
        assert(server->in_total_bytes >= c->in_cap);
        server->in_total_bytes -= c->in_cap;
        if (cap < c->in_cap)
            conn_limits_freed(server, c->in_cap);
    }
    if (cap > INPUT_FREE_BYTES)
        server->in_total_bytes += cap;
    c->in_cap = cap;
}

bool conn_limits_output_over(const struct conn *c)
{
    return c->server->out_total_bytes > c->server->limits.output_total_max_bytes &&
           c->out_bytes + c->out_len > OUTPUT_FAIR_BYTES;
}

static void conn_on_frame_timeout(uv_timer_t *timer)
{
    struct conn *c = timer->data;
    char msg[128];
    c->server->stats.frames_timed_out++;
    snprintf(msg, sizeof msg, "a frame was not complete within frame_timeout_ms (%u)",
             c->server->limits.frame_timeout_ms);
    conn_refuse(c, SH_E_LIMIT_EXCEEDED, msg);
}

void conn_limits_frame_deadline(struct conn *c, bool restart)
{
    if (c->state == CONN_CLOSED)
        return;
    bool partial = c->state == CONN_OPEN && !conn_input_paused(c) &&
                   (c->in_len > c->in_pos || tls_session_has_input(&c->tls));
    bool active = uv_is_active((uv_handle_t *)&c->frame_timer);
    if (!partial || restart) {
        if (active)
            uv_timer_stop(&c->frame_timer);
        active = false;
    }
    if (partial && !active)
        uv_timer_start(&c->frame_timer, conn_on_frame_timeout, c->server->limits.frame_timeout_ms,
                       0);
}

void conn_limits_freed(struct net_server *server, size_t bytes)
{
    server->freed_since_trim_bytes += bytes;
    uint64_t now = uv_now(server->loop);
    if (server->freed_since_trim_bytes < TRIM_AFTER_BYTES ||
        now - server->trim_last_ms < TRIM_EVERY_MS)
        return;
    server->freed_since_trim_bytes = 0;
    server->trim_last_ms = now;
    malloc_trim(0);
}
