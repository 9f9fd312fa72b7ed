#include "tls_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TC_FRAME_MAX_BYTES (64u * 1024u * 1024u)
#define TC_SEND_TIMEOUT_MS 10000

struct tc {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int send_timeout_ms;
    char error[256];
};

__attribute__((format(printf, 3, 4))) static int tc_fail(struct tc *tc, int code, const char *fmt,
                                                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tc->error, sizeof tc->error, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    if (e != 0) {
        size_t n = strlen(tc->error);
        snprintf(tc->error + n, sizeof tc->error - n, ": ");
        n = strlen(tc->error);
        ERR_error_string_n(e, tc->error + n, sizeof tc->error - n);
    }
    ERR_clear_error();
    return code;
}

static int64_t tc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the socket is ready for what OpenSSL asked; 0, or SH_E_TIMEOUT. */
static int tc_wait(struct tc *tc, int ssl_error, int64_t deadline)
{
    struct pollfd p = {.fd = tc->fd,
                       .events = ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
    for (;;) {
        int64_t left = deadline - tc_now_ms();
        if (left <= 0)
            return SH_E_TIMEOUT;
        int rc = poll(&p, 1, (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return SH_E_UNAVAILABLE;
    }
}

static int tc_tcp_connect(struct tc *tc, const char *host, int port, int64_t deadline)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    if (getaddrinfo(host, service, &hints, &ai) != 0)
        return tc_fail(tc, SH_E_UNAVAILABLE, "cannot resolve %s", host);
    tc->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = tc->fd < 0 ? -1 : connect(tc->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc != 0 && errno == EINPROGRESS) {
        int err = 0;
        socklen_t len = sizeof err;
        if (tc_wait(tc, SSL_ERROR_WANT_WRITE, deadline) != 0)
            return tc_fail(tc, SH_E_TIMEOUT, "connect to %s:%d timed out", host, port);
        getsockopt(tc->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        errno = err;
        rc = err == 0 ? 0 : -1;
    }
    if (rc != 0)
        return tc_fail(tc, SH_E_UNAVAILABLE, "connect to %s:%d: %s", host, port, strerror(errno));
    return 0;
}

static int tc_ctx_setup(struct tc *tc, const char *host, const char *ca, const char *cert,
                        const char *key)
{
    tc->ctx = SSL_CTX_new(TLS_client_method());
    if (tc->ctx == NULL)
        return tc_fail(tc, SH_E_INTERNAL, "SSL_CTX_new");
    SSL_CTX_set_min_proto_version(tc->ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(tc->ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(tc->ctx, ca, NULL) != 1)
        return tc_fail(tc, SH_E_INTERNAL, "CA %s", ca);
    if (cert != NULL && SSL_CTX_use_certificate_chain_file(tc->ctx, cert) != 1)
        return tc_fail(tc, SH_E_INTERNAL, "certificate %s", cert);
    if (key != NULL && SSL_CTX_use_PrivateKey_file(tc->ctx, key, SSL_FILETYPE_PEM) != 1)
        return tc_fail(tc, SH_E_INTERNAL, "key %s", key);
    tc->ssl = SSL_new(tc->ctx);
    if (tc->ssl == NULL || SSL_set_fd(tc->ssl, tc->fd) != 1)
        return tc_fail(tc, SH_E_INTERNAL, "SSL_new");
    SSL_set1_host(tc->ssl, host); /* the engine's certificate must name it */
    return 0;
}

/* Runs an SSL call until it completes, waiting on the socket as asked. */
#define TC_SSL_LOOP(tc, deadline, call, result)                                                    \
    do {                                                                                           \
        for (;;) {                                                                                 \
            ERR_clear_error();                                                                     \
            int tc_rc_ = (call);                                                                   \
            if (tc_rc_ == 1) {                                                                     \
                (result) = 0;                                                                      \
                break;                                                                             \
            }                                                                                      \
            int tc_e_ = SSL_get_error((tc)->ssl, tc_rc_);                                          \
            if (tc_e_ != SSL_ERROR_WANT_READ && tc_e_ != SSL_ERROR_WANT_WRITE) {                   \
                (result) = tc_e_ == SSL_ERROR_ZERO_RETURN ? 1 : SH_E_UNAVAILABLE;                  \
                break;                                                                             \
            }                                                                                      \
            if (((result) = tc_wait((tc), tc_e_, (deadline))) != 0)                                \
                break;                                                                             \
        }                                                                                          \
    } while (0)

int tc_connect(struct tc **out, const char *host, int port, const char *ca, const char *cert,
               const char *key, int timeout_ms)
{
    *out = NULL;
    signal(SIGPIPE, SIG_IGN);
    struct tc *tc = calloc(1, sizeof *tc);
    if (tc == NULL)
        return SH_E_INTERNAL;
    tc->fd = -1;
    tc->send_timeout_ms = TC_SEND_TIMEOUT_MS;
    int64_t deadline = tc_now_ms() + timeout_ms;
    int rc = tc_tcp_connect(tc, host, port, deadline);
    if (rc == 0)
        rc = tc_ctx_setup(tc, host, ca, cert, key);
    if (rc == 0) {
        TC_SSL_LOOP(tc, deadline, SSL_connect(tc->ssl), rc);
        if (rc != 0)
            rc = tc_fail(tc, rc == SH_E_TIMEOUT ? SH_E_TIMEOUT : SH_E_UNAVAILABLE,
                         "TLS handshake with %s:%d failed", host, port);
    }
    if (rc != 0) {
        fprintf(stderr, "tc_connect: %s\n", tc->error);
        tc_close(tc);
        return rc;
    }
    *out = tc;
    return 0;
}

int tc_send_raw(struct tc *tc, const void *data, size_t len)
{
    int64_t deadline = tc_now_ms() + tc->send_timeout_ms;
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        int rc;
        TC_SSL_LOOP(tc, deadline,
                    SSL_write_ex(tc->ssl, (const uint8_t *)data + done, len - done, &n), rc);
        if (rc != 0)
            return tc_fail(tc, rc == SH_E_TIMEOUT ? SH_E_TIMEOUT : SH_E_UNAVAILABLE,
                           "send of %zu bytes failed after %zu", len, done);
        done += n;
    }
    return 0;
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

/* Reads exactly len bytes; 1 when the peer closed cleanly before any. */
static int tc_read_exact(struct tc *tc, uint8_t *buf, size_t len, int64_t deadline)
{
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        int rc;
        TC_SSL_LOOP(tc, deadline, SSL_read_ex(tc->ssl, buf + done, len - done, &n), rc);
        if (rc == 1 && done == 0)
            return 1;
        if (rc != 0)
            return rc == SH_E_TIMEOUT ? SH_E_TIMEOUT : SH_E_UNAVAILABLE;
        done += n;
    }
    return 0;
}

int tc_recv(struct tc *tc, Sanhe__Response **out, int timeout_ms)
{
    *out = NULL;
    int64_t deadline = tc_now_ms() + timeout_ms;
    uint8_t header[4];
    int rc = tc_read_exact(tc, header, 4, deadline);
    if (rc != 0)
        return tc_fail(tc, rc == SH_E_TIMEOUT ? SH_E_TIMEOUT : SH_E_UNAVAILABLE, "%s",
                       rc == SH_E_TIMEOUT ? "no response in time" : "connection closed");
    uint32_t len = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                   (uint32_t)header[2] << 8 | header[3];
    if (len > TC_FRAME_MAX_BYTES)
        return tc_fail(tc, SH_E_BAD_FRAME, "response frame of %u bytes", len);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return tc_fail(tc, SH_E_INTERNAL, "out of memory");
    rc = tc_read_exact(tc, buf, len, deadline);
    if (rc != 0) {
        free(buf);
        return tc_fail(tc, rc == SH_E_TIMEOUT ? SH_E_TIMEOUT : SH_E_UNAVAILABLE,
                       "truncated response frame");
    }
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
    int64_t deadline = tc_now_ms() + timeout_ms;
    uint8_t buf[4096];
    for (;;) {
        int rc = tc_read_exact(tc, buf, 1, deadline);
        if (rc == SH_E_TIMEOUT)
            return tc_fail(tc, SH_E_TIMEOUT, "the connection is still open");
        if (rc != 0)
            return 0;
    }
}

const char *tc_last_error(const struct tc *tc) { return tc != NULL ? tc->error : "no connection"; }

void tc_close(struct tc *tc)
{
    if (tc == NULL)
        return;
    if (tc->ssl != NULL) {
        ERR_clear_error();
        SSL_shutdown(tc->ssl); /* non-blocking: a best effort */
        SSL_free(tc->ssl);
    }
    SSL_CTX_free(tc->ctx);
    if (tc->fd >= 0)
        close(tc->fd);
    ERR_clear_error();
    free(tc);
}

int tc_recv_some(struct tc *tc, void *buf, size_t cap, size_t *got, int timeout_ms)
{
    *got = 0;
    int64_t deadline = tc_now_ms() + timeout_ms;
    int rc;
    TC_SSL_LOOP(tc, deadline, SSL_read_ex(tc->ssl, buf, cap, got), rc);
    if (rc == 1)
        return tc_fail(tc, SH_E_UNAVAILABLE, "connection closed");
    if (rc != 0)
        return tc_fail(tc, rc == SH_E_TIMEOUT ? SH_E_TIMEOUT : SH_E_UNAVAILABLE, "%s",
                       rc == SH_E_TIMEOUT ? "nothing arrived in time" : "connection broken");
    return 0;
}
