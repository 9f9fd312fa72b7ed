/*
 * One TLS 1.3 connection to an engine, every operation bounded by an
 * absolute deadline (CLOCK_MONOTONIC ms). Frames are a 4-byte big-endian
 * length and a packed sanhe.Response.
 *
 * The library's one blocking TLS and frame layer: the synchronous calls
 * use it, and so does the test client (tests/support/tls_client.c), which
 * sends raw and malformed bytes through sanhe_conn_write. Internal: the
 * static library carries it; libsanhe-client.so exports none of it
 * (libsanhe-client.map).
 */
#ifndef SANHE_CONN_H
#define SANHE_CONN_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

struct sanhe_conn;

/* sanhe_conn_open: every address of the host refused the TCP connection
 * (nothing listens: the engine is down). Internal; callers see
 * SANHE_E_UNREACHABLE. */
#define SANHE_CONN_REFUSED (-100)

/* sanhe_conn_read_some: the engine ended the connection cleanly
 * (close_notify). Internal, like SANHE_CONN_REFUSED. */
#define SANHE_CONN_CLOSED (-101)

/* What sanhe_conn_open found wrong, for sanhe_last_why: an enum
 * sanhe_why, its number, and host:port. */
struct sanhe_conn_why {
    int kind;
    int number;
    char address[272]; /* "[" host (255 at most) "]:" port (7) */
};

/* Monotonic milliseconds. */
int64_t sanhe_now_ms(void);

/* An SSL_CTX for a terminal: TLS 1.3, the engine verified against ca.
 * cert and key both NULL: no client certificate (only the tests of a
 * refused handshake want that). NULL on failure (msg says why). */
SSL_CTX *sanhe_ctx_new(const char *ca, const char *cert, const char *key, char *msg,
                       size_t msg_size);

/* TCP connect and TLS handshake before deadline. 0; SANHE_CONN_REFUSED;
 * SANHE_E_TLS_REJECTED (the engine sent a fatal alert, or its certificate
 * does not verify); or SANHE_E_UNREACHABLE (msg says why in English, and
 * why, when not NULL, in a form to word). */
int sanhe_conn_open(struct sanhe_conn **out, SSL_CTX *ctx, const char *host, const char *port,
                    int64_t deadline, char *msg, size_t msg_size, struct sanhe_conn_why *why);

/* Writes all of data. 0, SANHE_E_TLS_REJECTED (the engine's alert), or
 * SANHE_E_UNREACHABLE (broken or timed out). */
int sanhe_conn_write(struct sanhe_conn *c, const uint8_t *data, size_t len, int64_t deadline);

/* Reads one frame into a malloc'ed buffer. 0; SANHE_E_TIMEOUT;
 * SANHE_E_TLS_REJECTED (the engine's alert); or SANHE_E_UNREACHABLE when
 * the connection broke or closed. */
int sanhe_conn_read_frame(struct sanhe_conn *c, uint8_t **out, size_t *len, int64_t deadline);

/* Whatever plaintext arrives next, at most cap bytes (at least 1 on 0),
 * for the tests that read a stream that is not sanhe frames (the gateway's
 * HTTPS) or wait for the engine to close. 0; SANHE_CONN_CLOSED;
 * SANHE_E_TIMEOUT; SANHE_E_TLS_REJECTED; or SANHE_E_UNREACHABLE. */
int sanhe_conn_read_some(struct sanhe_conn *c, void *buf, size_t cap, size_t *got,
                         int64_t deadline);

/* The fatal alert the engine sent ("unknown CA"), or NULL. */
/* The fatal alert the engine sent (SSL_AD_*), or -1. */
int sanhe_conn_alert_number(const struct sanhe_conn *c);
const char *sanhe_conn_alert(const struct sanhe_conn *c);

void sanhe_conn_close(struct sanhe_conn *c);

#endif
