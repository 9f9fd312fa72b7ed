/*
 * The retrying call. One request is packed once and, until its deadline,
 * sent (again) over whatever connection can be made, with the same request
 * id each time: the engine's idempotency turns every resend of a settle
 * into the original reply, so resending is always safe, and it is the only
 * way to learn an outcome after a dropped connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sh_error.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

struct attempt {
    const uint8_t *frame;
    size_t frame_len;
    int64_t deadline;
    bool sent; /* some byte of it may have reached an engine */
};

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void drop_conn(sanhe_client *c)
{
    sanhe_conn_close(c->conn);
    c->conn = NULL;
}

/* Tries every address once, starting with the current one (fail over in
 * order, and stay on the one that works). SANHE_CONN_REFUSED when every
 * address refused the connection; SANHE_E_TLS_REJECTED at the first one
 * that refused the certificate (every engine trusts the same CA). */
static int connect_any(sanhe_client *c, int64_t deadline)
{
    size_t refused = 0;
    for (size_t i = 0; i < c->address_count; i++) {
        size_t k = (c->current + i) % c->address_count;
        int64_t now = sanhe_now_ms();
        if (now >= deadline)
            break;
        int64_t until =
            now + c->attempt_timeout_ms < deadline ? now + c->attempt_timeout_ms : deadline;
        int rc = sanhe_conn_open(&c->conn, c->ctx, c->addresses[k].host, c->addresses[k].port,
                                 until, c->message, sizeof c->message, &c->why);
        if (rc == 0) {
            c->current = k;
            return 0;
        }
        if (rc == SANHE_E_NOMEM || rc == SANHE_E_TLS_REJECTED)
            return rc;
        refused += rc == SANHE_CONN_REFUSED;
    }
    return refused == c->address_count ? SANHE_CONN_REFUSED : SANHE_E_UNREACHABLE;
}

/* Reads frames until the one answering our request id. 0 with *out set, or
 * a transport error (the connection is then useless: the caller drops it). */
static int read_reply(sanhe_client *c, struct attempt *a, Sanhe__Response **out)
{
    int64_t now = sanhe_now_ms();
    int64_t until =
        now + c->attempt_timeout_ms < a->deadline ? now + c->attempt_timeout_ms : a->deadline;
    for (;;) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int rc = sanhe_conn_read_frame(c->conn, &buf, &len, until);
        if (rc != 0)
            return rc;
        Sanhe__Response *r = sanhe__response__unpack(NULL, len, buf);
        if (r == NULL) {
            free(buf);
            sanhe_set_message(c, "a reply frame is not a sanhe.Response");
            sanhe_set_why(c, SANHE_WHY_BAD_REPLY, 0, c->current);
            return SANHE_E_PROTOCOL;
        }
        /* A late reply to an earlier request on this connection: skip it. */
        if (r->request_id != NULL && strcmp(r->request_id, c->request_id) == 0) {
            c->reply = buf;
            c->reply_len = len;
            *out = r;
            return 0;
        }
        sanhe__response__free_unpacked(r, NULL);
        free(buf);
    }
}

/* The engine answers UNAVAILABLE while it shuts down and LIMIT_EXCEEDED when
 * it has too many connections; both changed nothing, and another attempt
 * (perhaps on the next address) may succeed. */
static bool retryable_refusal(const Sanhe__Response *r)
{
    return r->error != NULL && r->error->has_code &&
           (r->error->code == SANHE__ERROR_CODE__UNAVAILABLE ||
            r->error->code == SANHE__ERROR_CODE__LIMIT_EXCEEDED);
}

/* One attempt: connect if need be, send, wait for the reply. */
static int attempt_once(sanhe_client *c, struct attempt *a, Sanhe__Response **out)
{
    int rc = c->conn == NULL ? connect_any(c, a->deadline) : 0;
    if (rc != 0)
        return rc;
    a->sent = true; /* from the first byte on, it may land */
    rc = sanhe_conn_write(c->conn, a->frame, a->frame_len, a->deadline);
    if (rc == 0)
        rc = read_reply(c, a, out);
    if (rc == 0 && retryable_refusal(*out)) {
        sanhe_set_message(c, "engine busy: %s",
                          (*out)->error->message ? (*out)->error->message : "");
        sanhe_set_why(c, SANHE_WHY_BUSY, 0, c->current);
        sanhe__response__free_unpacked(*out, NULL);
        *out = NULL;
        rc = SANHE_E_UNREACHABLE;
    }
    if (rc == SANHE_E_TLS_REJECTED && c->conn != NULL) {
        const char *alert = sanhe_conn_alert(c->conn);
        sanhe_set_message(c,
                          "TLS alert from %s:%s: %s (the engine refused this terminal's "
                          "certificate)",
                          c->addresses[c->current].host, c->addresses[c->current].port,
                          alert != NULL ? alert : "?");
        sanhe_set_why(c, SANHE_WHY_TLS_ALERT, sanhe_conn_alert_number(c->conn), c->current);
    }
    if (rc != 0) {
        if (rc == SANHE_E_UNREACHABLE || rc == SANHE_E_TIMEOUT)
            c->current = (c->current + 1) % c->address_count; /* fail over next time */
        drop_conn(c);
    }
    return rc;
}

/* Whether another attempt could change anything: not after a refused
 * certificate, nor (when failing fast) when no engine listens. */
static bool final_failure(const sanhe_client *c, int rc)
{
    return rc == SANHE_E_NOMEM || rc == SANHE_E_TLS_REJECTED ||
           (rc == SANHE_CONN_REFUSED && c->fail_fast);
}

static uint8_t *pack_frame(const Sanhe__Request *req, size_t *len)
{
    size_t n = sanhe__request__get_packed_size(req);
    uint8_t *buf = malloc(4 + n);
    if (buf == NULL)
        return NULL;
    buf[0] = (uint8_t)(n >> 24), buf[1] = (uint8_t)(n >> 16);
    buf[2] = (uint8_t)(n >> 8), buf[3] = (uint8_t)n;
    sanhe__request__pack(req, buf + 4);
    *len = 4 + n;
    return buf;
}

static int refusal(sanhe_client *c, const Sanhe__Error *e)
{
    c->refusal = e->has_code ? (int)e->code : SANHE_REFUSAL_INTERNAL;
    snprintf(c->refusal_name, sizeof c->refusal_name, "%s", sh_error_name(-c->refusal));
    sanhe_set_message(c, "%s", e->message != NULL ? e->message : "");
    return SANHE_E_REFUSED;
}

int sanhe_call(sanhe_client *c, Sanhe__Request *req, bool changes_state, int timeout_ms,
               Sanhe__Response **out)
{
    *out = NULL;
    req->request_id = c->request_id;
    struct attempt a = {.deadline = sanhe_now_ms() + (timeout_ms > 0 ? timeout_ms : c->timeout_ms)};
    uint8_t *frame = pack_frame(req, &a.frame_len);
    if (frame == NULL)
        return SANHE_E_NOMEM;
    a.frame = frame;
    int rc = SANHE_E_UNREACHABLE;
    for (int64_t backoff = BACKOFF_MIN_MS; sanhe_now_ms() < a.deadline;) {
        rc = attempt_once(c, &a, out);
        /* A reply that does not decode is retried too: the resend is
         * answered from the engine's stored reply. */
        if (rc == 0 || final_failure(c, rc))
            break;
        int64_t left = a.deadline - sanhe_now_ms();
        sleep_ms(left < backoff ? (left > 0 ? left : 0) : backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    free(frame);
    if (rc == SANHE_CONN_REFUSED)
        rc = SANHE_E_UNREACHABLE; /* never sent: it did not land */
    if (rc == 0 && (*out)->error != NULL) {
        rc = refusal(c, (*out)->error);
        sanhe__response__free_unpacked(*out, NULL);
        *out = NULL;
    } else if (rc == SANHE_E_TLS_REJECTED) {
        /* The engine refuses a certificate in the handshake, before it
         * reads any request: nothing landed, even when bytes were sent. */
    } else if (rc != 0 && a.sent && changes_state) {
        /* Never guess: a state-changing request that may have reached an
         * engine, whatever went wrong after, has an unknown outcome. */
        rc = SANHE_E_OUTCOME_UNKNOWN;
    } else if (rc != 0 && rc != SANHE_E_NOMEM && rc != SANHE_E_PROTOCOL) {
        rc = a.sent ? SANHE_E_TIMEOUT : SANHE_E_UNREACHABLE;
    }
    return rc;
}
