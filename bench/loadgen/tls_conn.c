#include "tls_conn.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_util.h"

#define IN_CHUNK (16u * 1024u)

/* Every read lands here first and goes straight into OpenSSL: one thread. */
static uint8_t read_buf[64 * 1024];

/* ---- The context ---------------------------------------------------------------- */

static SSL_CTX *ctx_fail(SSL_CTX *ctx, char *err, size_t cap, const char *what, const char *file)
{
    char reason[160];
    ERR_error_string_n(ERR_peek_last_error(), reason, sizeof reason);
    ERR_clear_error();
    snprintf(err, cap, "tls: %s %s: %s", what, file, reason);
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *lg_tls_ctx(const char *ca, const char *cert, const char *key, char *err, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return ctx_fail(NULL, err, cap, "cannot create a context", "");
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        return ctx_fail(ctx, err, cap, "cannot load CA", ca);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        return ctx_fail(ctx, err, cap, "cannot use certificate", cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        return ctx_fail(ctx, err, cap, "cannot use key", key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return ctx_fail(ctx, err, cap, "key does not match", cert);
    return ctx;
}

/* ---- Failure -------------------------------------------------------------------- */

static void conn_on_close(uv_handle_t *h) { (void)h; }

__attribute__((format(printf, 2, 3))) static void conn_fail(struct lg_conn *c, const char *fmt, ...)
{
    if (c->state == LG_CONN_CLOSED)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    size_t n = strlen(c->error);
    if (e != 0 && n + 2 < sizeof c->error) {
        snprintf(c->error + n, sizeof c->error - n, ": ");
        ERR_error_string_n(e, c->error + n + 2, sizeof c->error - n - 2);
    }
    ERR_clear_error();
    bool ours = c->state == LG_CONN_CLOSING;
    c->state = LG_CONN_CLOSED;
    uv_close((uv_handle_t *)&c->tcp, conn_on_close);
    if (!ours && c->ev->lost != NULL)
        c->ev->lost(c, c->error);
}

/* ---- Ciphertext out ---------------------------------------------------------------- */

struct out_write {
    uv_write_t req;
    struct lg_conn *conn;
    size_t len;
    uint8_t data[];
};

static void conn_on_write(uv_write_t *req, int status)
{
    struct out_write *w = (struct out_write *)req;
    struct lg_conn *c = w->conn;
    c->bytes_unsent -= w->len;
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        conn_fail(c, "write: %s", uv_strerror(status));
}

/* Ciphertext on its way from OpenSSL to the socket: one thread. */
static uint8_t cipher_buf[64 * 1024];

/* Queues len bytes (copied) behind whatever libuv still holds. */
static void conn_queue_write(struct lg_conn *c, const uint8_t *data, size_t len)
{
    struct out_write *w = malloc(sizeof *w + len);
    if (w == NULL) {
        conn_fail(c, "out of memory");
        return;
    }
    memcpy(w->data, data, len);
    w->conn = c;
    w->len = len;
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, conn_on_write);
    if (rc != 0) {
        free(w);
        conn_fail(c, "write: %s", uv_strerror(rc));
        return;
    }
    c->bytes_unsent += len;
}

/* Moves whatever OpenSSL produced to the socket: written at once when the
 * socket takes it (no allocation, no write request, and none of the
 * epoll_ctl that libuv 1.44 made for every uv_write: 10k syscalls a second
 * at 10k/s), else queued in one uv_write. bytes_unsent_max counts it as
 * queued either way, as before. */
static void conn_send_tls(struct lg_conn *c)
{
    size_t pending = BIO_ctrl_pending(c->wbio);
    if (pending == 0 || c->state == LG_CONN_CLOSED)
        return;
    if (c->bytes_unsent + pending > c->bytes_unsent_max)
        c->bytes_unsent_max = c->bytes_unsent + pending;
    while (pending > 0 && c->state != LG_CONN_CLOSED) {
        size_t got = 0;
        size_t want = pending < sizeof cipher_buf ? pending : sizeof cipher_buf;
        if (BIO_read_ex(c->wbio, cipher_buf, want, &got) != 1 || got == 0) {
            conn_fail(c, "out of memory");
            return;
        }
        pending -= got;
        size_t done = 0;
        if (c->bytes_unsent == 0) { /* nothing queued: the bytes may go now */
            uv_buf_t buf = uv_buf_init((char *)cipher_buf, (unsigned)got);
            int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
            if (n < 0 && n != UV_EAGAIN) {
                conn_fail(c, "write: %s", uv_strerror(n));
                return;
            }
            done = n > 0 ? (size_t)n : 0;
        }
        if (done < got)
            conn_queue_write(c, cipher_buf + done, got - done);
    }
}

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap > 0 ? *cap : IN_CHUNK;
    while (n < need)
        n *= 2;
    uint8_t *grown = realloc(*buf, n);
    if (grown == NULL)
        return -1;
    *buf = grown;
    *cap = n;
    return 0;
}

uint8_t *lg_conn_frame(struct lg_conn *c, size_t payload_len)
{
    if (c->state != LG_CONN_OPEN || payload_len > LG_FRAME_MAX_BYTES ||
        reserve(&c->out, &c->out_cap, c->out_len + 4 + payload_len) != 0)
        return NULL;
    uint8_t *p = c->out + c->out_len;
    p[0] = (uint8_t)(payload_len >> 24);
    p[1] = (uint8_t)(payload_len >> 16);
    p[2] = (uint8_t)(payload_len >> 8);
    p[3] = (uint8_t)payload_len;
    c->out_len += 4 + payload_len;
    return p + 4;
}

void lg_conn_flush(struct lg_conn *c)
{
    if (c->out_len == 0 || c->state != LG_CONN_OPEN)
        return;
    size_t written = 0;
    ERR_clear_error();
    /* A memory BIO grows: SSL_write_ex takes everything at once. */
    if (SSL_write_ex(c->ssl, c->out, c->out_len, &written) != 1 || written != c->out_len) {
        conn_fail(c, "SSL_write");
        return;
    }
    c->out_len = 0;
    conn_send_tls(c);
}

/* ---- Plaintext in -------------------------------------------------------------------- */

/* Hands every complete frame to the owner, keeps the rest. */
static void conn_decode(struct lg_conn *c, int64_t now_ns)
{
    size_t pos = 0;
    while (c->in_len - pos >= 4 && c->state == LG_CONN_OPEN) {
        const uint8_t *p = c->in + pos;
        size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (len > LG_FRAME_MAX_BYTES) {
            conn_fail(c, "a frame of %zu bytes", len);
            return;
        }
        if (c->in_len - pos - 4 < len)
            break;
        c->ev->frame(c, p + 4, len, now_ns);
        pos += 4 + len;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
}

static void conn_read_tls(struct lg_conn *c, int64_t now_ns)
{
    for (;;) {
        if (reserve(&c->in, &c->in_cap, c->in_len + IN_CHUNK) != 0) {
            conn_fail(c, "out of memory");
            return;
        }
        size_t got = 0;
        ERR_clear_error();
        if (SSL_read_ex(c->ssl, c->in + c->in_len, c->in_cap - c->in_len, &got) == 1) {
            c->in_len += got;
            continue;
        }
        int e = SSL_get_error(c->ssl, 0);
        if (e == SSL_ERROR_WANT_READ)
            break;
        conn_fail(c, e == SSL_ERROR_ZERO_RETURN ? "the engine closed the connection"
                                                : "TLS read failed");
        return;
    }
    conn_decode(c, now_ns);
    conn_send_tls(c); /* a key update or an alert may want out */
}

static void conn_handshake(struct lg_conn *c)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(c->ssl);
    conn_send_tls(c);
    if (rc == 1) {
        c->state = LG_CONN_OPEN;
        c->ev->open(c);
        return;
    }
    if (SSL_get_error(c->ssl, rc) != SSL_ERROR_WANT_READ)
        conn_fail(c, "TLS handshake failed");
}

static void conn_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    *buf = uv_buf_init((char *)read_buf, sizeof read_buf);
}

static void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct lg_conn *c = stream->data;
    int64_t now = lg_now_ns(); /* before any decoding: the reply's arrival */
    if (nread < 0) {
        conn_fail(c, "%s",
                  nread == UV_EOF ? "the engine closed the connection (EOF)"
                                  : uv_strerror((int)nread));
        return;
    }
    if (nread == 0 || c->state == LG_CONN_CLOSED || c->state == LG_CONN_CLOSING)
        return;
    size_t written = 0;
    if (BIO_write_ex(c->rbio, buf->base, (size_t)nread, &written) != 1) {
        conn_fail(c, "out of memory");
        return;
    }
    if (c->state == LG_CONN_HANDSHAKE)
        conn_handshake(c);
    if (c->state == LG_CONN_OPEN)
        conn_read_tls(c, now);
}

/* ---- Connect, close ----------------------------------------------------------------------- */

static void conn_on_connect(uv_connect_t *req, int status)
{
    struct lg_conn *c = req->data;
    if (c->state == LG_CONN_CLOSED)
        return;
    if (status < 0) {
        conn_fail(c, "connect: %s", uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1); /* small pipelined frames: never wait for Nagle */
    c->state = LG_CONN_HANDSHAKE;
    uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read);
    conn_handshake(c);
}

int lg_conn_start(struct lg_conn *c, uv_loop_t *loop, SSL_CTX *ctx, const char *host,
                  const struct sockaddr *addr)
{
    c->ssl = SSL_new(ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
        snprintf(c->error, sizeof c->error, "out of memory");
        return -1;
    }
    BIO_set_mem_eof_return(c->rbio, -1); /* empty means "wait", not EOF */
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    SSL_set1_host(c->ssl, host); /* the engine's certificate must name it */
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->connect_req.data = c;
    c->state = LG_CONN_CONNECTING;
    int rc = uv_tcp_connect(&c->connect_req, &c->tcp, addr, conn_on_connect);
    if (rc != 0) {
        snprintf(c->error, sizeof c->error, "connect: %s", uv_strerror(rc));
        c->state = LG_CONN_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, conn_on_close);
        return -1;
    }
    return 0;
}

static void conn_on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    struct lg_conn *c = req->data;
    if (c->state != LG_CONN_CLOSED) {
        c->state = LG_CONN_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, conn_on_close);
    }
}

void lg_conn_close(struct lg_conn *c)
{
    if (c->state == LG_CONN_CLOSED || c->state == LG_CONN_CLOSING || c->state == LG_CONN_IDLE)
        return;
    if (c->state != LG_CONN_OPEN) {
        c->state = LG_CONN_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, conn_on_close);
        return;
    }
    lg_conn_flush(c);
    ERR_clear_error();
    (void)SSL_shutdown(c->ssl); /* queues close_notify; we do not wait for the engine's */
    conn_send_tls(c);
    c->state = LG_CONN_CLOSING;
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0) {
        c->state = LG_CONN_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, conn_on_close);
    }
}

void lg_conn_free(struct lg_conn *c)
{
    SSL_free(c->ssl); /* and both BIOs */
    free(c->in);
    free(c->out);
    c->ssl = NULL;
    c->in = c->out = NULL;
}
