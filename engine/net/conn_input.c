/*
 * Frames in. Everything complete in the input is decoded in one go
 * (pipelining): cheap reads are answered at once through ledger_read, the
 * costly ones go to the pool (read_pool.c), writes go to the group-commit
 * queue. Decoding pauses when the connection reaches a limit
 * (conn_input_paused) and resumes from the buffer when it drains.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "net_internal.h"
#include "net_log.h"

#define INPUT_CAP_INITIAL (16 * 1024)
#define INPUT_CAP_KEEP (64 * 1024) /* a larger buffer is given back once empty */
#define INPUT_NO_SHARE (-2)        /* input_reserve: past input_total_max_bytes */

/* Makes room for `need` undecoded bytes, moving them to the front first. */
static int input_reserve(struct conn *c, size_t need)
{
    if (c->in_pos > 0) {
        memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_len -= c->in_pos;
        c->in_pos = 0;
    }
    if (c->in_len == 0 && c->in_cap > INPUT_CAP_KEEP && need <= INPUT_CAP_INITIAL) {
        free(c->in);
        c->in = NULL;
        conn_limits_input_set(c, 0);
    }
    assert(c->in_pos == 0 && c->in_len <= c->in_cap);
    if (need <= c->in_cap)
        return 0;
    size_t cap = c->in_cap > 0 ? c->in_cap : INPUT_CAP_INITIAL;
    while (cap < need)
        cap *= 2;
    if (cap > need && cap > INPUT_CAP_KEEP)
        cap = need; /* a big frame takes what it needs, not the next power of two */
    if (!conn_limits_input_grow(c, cap))
        return INPUT_NO_SHARE;
    uint8_t *in = realloc(c->in, cap);
    if (in == NULL)
        return -1;
    c->in = in;
    conn_limits_input_set(c, cap);
    assert(need <= c->in_cap && c->in_len <= c->in_cap);
    return 0;
}

static void input_reply(struct conn *c, const char *request_id, int code, const char *message)
{
    struct sh_reply reply = {0};
    if (frame_error_reply(request_id, code, message, &reply) == 0)
        conn_queue_reply(c, &reply);
    free(reply.data);
}

void conn_log_forbidden(struct conn *c, const Sanhe__Request *request)
{
    c->server->stats.forbidden++;
    net_log(NET_LOG_WARN, "conn %llu %s: FORBIDDEN: terminal %s (hospital %s) op %s",
            (unsigned long long)c->id, c->peer, c->cn[0] ? c->cn : "-",
            c->has_caller ? c->caller.hospital : "-", frame_op_name(request));
}

static void input_read(struct conn *c, const Sanhe__Request *request)
{
    struct sh_reply reply = {0};
    c->server->stats.reads++;
    if (ledger_read(c->server->ledger, &c->caller, request, &reply) != 0) {
        free(reply.data);
        input_reply(c, request->request_id, SH_E_INTERNAL, "the engine could not answer");
        return;
    }
    if (frame_reply_error(reply.data, reply.len) == SH_E_FORBIDDEN)
        conn_log_forbidden(c, request);
    conn_queue_reply(c, &reply);
    free(reply.data);
}

/* Takes ownership of request. */
static void input_dispatch(struct conn *c, Sanhe__Request *request)
{
    if (!c->has_caller && !terminal_resolve(c->server, c)) {
        conn_log_forbidden(c, request);
        input_reply(c, request->request_id, SH_E_FORBIDDEN,
                    "this certificate names no terminal of the engine");
    } else if (c->server->bench_echo) {
        input_reply(c, request->request_id, 0, NULL);
    } else if (lookup_audited(request)) {
        lookup_dispatch(c, request); /* rate-limited, answered once audited */
        return;
    } else if (ledger_request_writes(request)) {
        if (handoff_submit(c->server, c, request) == 0)
            return; /* answered after the commit */
        input_reply(c, request->request_id, SH_E_INTERNAL, "out of memory");
    } else if (read_pool_takes(request)) {
        char why[256];
        int rc = read_pool_submit(c->server, c, request, why, sizeof why);
        if (rc == 0)
            return; /* answered from the pool (read_pool.c) */
        if (rc == SH_E_LIMIT_EXCEEDED) {
            c->server->stats.reads_refused++;
            net_log(NET_LOG_WARN, "conn %llu %s (%s): LIMIT_EXCEEDED: %s",
                    (unsigned long long)c->id, c->peer, c->cn, why);
        }
        input_reply(c, request->request_id, rc, why);
    } else {
        uint64_t begin_us = uv_hrtime() / 1000;
        input_read(c, request);
        net_stats_record_op(&c->server->stats, frame_op_name(request),
                            uv_hrtime() / 1000 - begin_us);
    }
    sanhe__request__free_unpacked(request, NULL);
}

/* BAD_REQUEST naming the field; the request id is echoed only when it is
 * itself acceptable (a strict decoder at the other end would refuse the
 * reply otherwise). Takes ownership of request. */
static void input_refuse_strings(struct conn *c, Sanhe__Request *request,
                                 const struct sh_error *err, bool id_ok)
{
    c->server->stats.strings_refused++;
    net_log(NET_LOG_INFO, "conn %llu %s (%s): BAD_REQUEST: %s", (unsigned long long)c->id, c->peer,
            c->cn[0] ? c->cn : "-", err->msg);
    struct sh_reply reply = {0};
    if (frame_refusal_reply(id_ok ? request->request_id : NULL, err->code, err->msg, err, &reply) ==
        0)
        conn_queue_reply(c, &reply);
    free(reply.data);
    sanhe__request__free_unpacked(request, NULL);
}

/* Decodes one frame if complete: 1 when one was taken, 0 when more input is
 * needed, -1 when the connection is being closed. */
static int input_take_frame(struct conn *c)
{
    /* No buffer yet (nothing received): NULL + 0 is undefined in C. */
    static const uint8_t none[1];
    const uint8_t *p = c->in != NULL ? c->in + c->in_pos : none;
    uint32_t max = c->server->limits.frame_max_bytes;
    Sanhe__Request *request;
    size_t used;
    enum frame_status st = frame_decode(p, c->in_len - c->in_pos, max, &request, &used);
    c->in_pos += used;
    assert(c->in_pos <= c->in_len && (st != FRAME_REQUEST || request != NULL));
    if (st == FRAME_PARTIAL)
        return 0;
    if (st == FRAME_OVERSIZE) {
        char msg[128];
        snprintf(msg, sizeof msg, "frame of %u bytes exceeds frame_max_bytes (%u)",
                 frame_length_get(p), max);
        c->server->stats.frames_refused++;
        conn_refuse(c, SH_E_FRAME_TOO_LARGE, msg);
        return -1;
    }
    if (st == FRAME_UNDECODABLE) {
        c->server->stats.frames_refused++;
        conn_refuse(c, SH_E_BAD_FRAME, "the frame does not decode as a sanhe.Request");
        return -1;
    }
    conn_idle_restart(c);
    conn_limits_frame_deadline(c, true);
    struct sh_error why;
    bool id_ok;
    if (frame_strings_check(p + FRAME_HEADER_BYTES, used - FRAME_HEADER_BYTES, &why, &id_ok) != 0) {
        input_refuse_strings(c, request, &why, id_ok);
        return 1;
    }
    input_dispatch(c, request);
    return 1;
}

/* The buffer size that lets the frame at in_pos complete. */
static size_t input_needed(const struct conn *c)
{
    size_t avail = c->in_len - c->in_pos;
    size_t need = FRAME_HEADER_BYTES;
    if (avail >= FRAME_HEADER_BYTES)
        need += frame_length_get(c->in + c->in_pos); /* <= frame_max_bytes: checked */
    return need > INPUT_CAP_INITIAL ? need : INPUT_CAP_INITIAL;
}

/* Decrypts what OpenSSL has into the free space: 1 when bytes came, 0 when
 * OpenSSL needs more from the socket, -1 when the connection is closing. */
static int input_pull(struct conn *c)
{
    int reserved = input_reserve(c, input_needed(c));
    if (reserved == INPUT_NO_SHARE) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "the engine's frame buffers are full (input_total_max_bytes %u); retry later",
                 c->server->limits.input_total_max_bytes);
        conn_refuse(c, SH_E_LIMIT_EXCEEDED, msg);
        return -1;
    }
    if (reserved != 0) {
        conn_abort(c, "out of memory");
        return -1;
    }
    size_t got = 0;
    int rc = tls_session_read(&c->tls, c->in + c->in_len, c->in_cap - c->in_len, &got);
    if (rc == TLS_DONE) {
        assert(got > 0 && got <= c->in_cap - c->in_len);
        c->in_len += got;
        return 1;
    }
    if (rc == TLS_AGAIN)
        return 0;
    if (rc == TLS_CLOSED) {
        conn_finish(c, "peer sent close_notify");
    } else {
        char reason[256];
        conn_abort(c, tls_last_error(reason, sizeof reason));
    }
    return -1;
}

void conn_input_process(struct conn *c)
{
    while (c->state == CONN_OPEN && !conn_input_paused(c)) {
        int rc = input_take_frame(c);
        if (rc < 0)
            break;
        if (rc == 0 && input_pull(c) <= 0)
            break;
    }
    conn_flush(c); /* replies to reads, and whatever OpenSSL wants to send */
    conn_update_reading(c);
    conn_limits_frame_deadline(c, false);
}
