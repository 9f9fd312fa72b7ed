/*
 * The test client is a thin shim over libsanhe-client's connection layer
 * (hospital-client/lib/conn.h: connect and handshake, write bytes, read a
 * frame or whatever plaintext comes), so that the tests speak TLS and
 * frames through the same code as every terminal, and only turn its
 * status codes into the SH_E_* codes the tests assert.
 */
#include "tls_client.h"

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conn.h"
#include "sanhe/client.h"

#define TC_SEND_TIMEOUT_MS 10000

struct tc {
    SSL_CTX *ctx;
    struct sanhe_conn *conn;
    char error[256];
};

__attribute__((format(printf, 3, 4))) static int tc_fail(struct tc *tc, int code, const char *fmt,
                                                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tc->error, sizeof tc->error, fmt, ap);
    va_end(ap);
    return code;
}

/* The library's status as the tests know it. */
static int tc_code(int rc)
{
    if (rc == 0 || rc == SANHE_E_TIMEOUT)
        return rc == 0 ? 0 : SH_E_TIMEOUT;
    return rc == SANHE_E_NOMEM ? SH_E_INTERNAL : SH_E_UNAVAILABLE;
}

/* What went wrong, with the engine's alert when it sent one. (Not
 * sanhe_strerror: only conn.c of the library is linked into the tests that
 * use the shared libsanhe-client too.) */
static int tc_fail_rc(struct tc *tc, int rc, const char *what)
{
    const char *alert = sanhe_conn_alert(tc->conn);
    const char *why = rc == SANHE_E_TIMEOUT     ? "timed out"
                      : rc == SANHE_E_NOMEM     ? "out of memory"
                      : rc == SANHE_CONN_CLOSED ? "connection closed"
                                                : "connection closed or broken";
    return tc_fail(tc, tc_code(rc), "%s: %s%s%s", what, why, alert != NULL ? ", alert " : "",
                   alert != NULL ? alert : "");
}

int tc_connect(struct tc **out, const char *host, int port, const char *ca, const char *cert,
               const char *key, int timeout_ms)
{
    *out = NULL;
    signal(SIGPIPE, SIG_IGN); /* the tests write to raw sockets too */
    struct tc *tc = calloc(1, sizeof *tc);
    if (tc == NULL)
        return SH_E_INTERNAL;
    char msg[256] = "", service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = SH_E_INTERNAL;
    tc->ctx = sanhe_ctx_new(ca, cert, key, msg, sizeof msg);
    if (tc->ctx != NULL) {
        rc = sanhe_conn_open(&tc->conn, tc->ctx, host, service, sanhe_now_ms() + timeout_ms, msg,
                             sizeof msg, NULL);
        rc = rc == SANHE_CONN_REFUSED ? SH_E_UNAVAILABLE : tc_code(rc);
    }
    if (rc != 0) {
        fprintf(stderr, "tc_connect: %s\n", msg);
        tc_close(tc);
        return rc;
    }
    *out = tc;
    return 0;
}

int tc_send_raw(struct tc *tc, const void *data, size_t len)
{
    int rc = sanhe_conn_write(tc->conn, data, len, sanhe_now_ms() + TC_SEND_TIMEOUT_MS);
    return rc == 0 ? 0 : tc_fail_rc(tc, rc, "send");
}

int tc_send(struct tc *tc, const Sanhe__Request *request)
{
    size_t len = sanhe__request__get_packed_size(request);
    uint8_t *buf = malloc(4 + len);
    if (buf == NULL)
        return tc_fail(tc, SH_E_INTERNAL, "out of memory");
    buf[0] = (uint8_t)(len >> 24);
    buf[1] = (uint8_t)(len >> 16);
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    sanhe__request__pack(request, buf + 4);
    int rc = tc_send_raw(tc, buf, 4 + len);
    free(buf);
    return rc;
}

int tc_recv(struct tc *tc, Sanhe__Response **out, int timeout_ms)
{
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = sanhe_conn_read_frame(tc->conn, &buf, &len, sanhe_now_ms() + timeout_ms);
    if (rc != 0)
        return tc_fail_rc(tc, rc, "no response frame");
    *out = sanhe__response__unpack(NULL, len, buf);
    free(buf);
    return *out != NULL ? 0 : tc_fail(tc, SH_E_BAD_FRAME, "the frame is not a sanhe.Response");
}

int tc_call(struct tc *tc, const Sanhe__Request *request, Sanhe__Response **out, int timeout_ms)
{
    *out = NULL;
    int rc = tc_send(tc, request);
    return rc != 0 ? rc : tc_recv(tc, out, timeout_ms);
}

int tc_wait_closed(struct tc *tc, int timeout_ms)
{
    int64_t deadline = sanhe_now_ms() + timeout_ms;
    uint8_t buf[4096];
    for (;;) {
        size_t got = 0;
        int rc = sanhe_conn_read_some(tc->conn, buf, sizeof buf, &got, deadline);
        if (rc == SANHE_E_TIMEOUT)
            return tc_fail(tc, SH_E_TIMEOUT, "the connection is still open");
        if (rc != 0)
            return 0; /* close_notify, EOF or a broken connection: it ended */
    }
}

const char *tc_last_error(const struct tc *tc) { return tc != NULL ? tc->error : "no connection"; }

void tc_close(struct tc *tc)
{
    if (tc == NULL)
        return;
    sanhe_conn_close(tc->conn); /* close_notify, best effort */
    SSL_CTX_free(tc->ctx);
    free(tc);
}

int tc_recv_some(struct tc *tc, void *buf, size_t cap, size_t *got, int timeout_ms)
{
    int rc = sanhe_conn_read_some(tc->conn, buf, cap, got, sanhe_now_ms() + timeout_ms);
    if (rc == SANHE_CONN_CLOSED)
        return tc_fail(tc, SH_E_UNAVAILABLE, "connection closed");
    return rc == 0 ? 0 : tc_fail_rc(tc, rc, "nothing read");
}
