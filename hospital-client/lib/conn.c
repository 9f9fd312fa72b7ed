#include "conn.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sanhe/client.h"

/* The engine's default frame_max_bytes is 1 MiB; replies stay far below
 * this, which only guards against a corrupt length prefix. */
#define FRAME_MAX_BYTES (16u * 1024u * 1024u)

struct sanhe_conn {
    int fd;
    SSL *ssl;
    int alert; /* the fatal alert the engine sent (SSL_AD_*), or -1 */
};

/* Records a fatal alert from the engine: with TLS 1.3 the engine checks the
 * terminal's certificate after the client's side of the handshake is done,
 * so its refusal arrives as an alert on the first read, and only the alert
 * tells it apart from a dropped connection. */
static void on_info(const SSL *ssl, int where, int ret)
{
    struct sanhe_conn *c = SSL_get_app_data(ssl);
    if (c != NULL && (where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT &&
        (ret >> 8) == SSL3_AL_FATAL)
        c->alert = ret & 0xff;
}

int sanhe_conn_alert_number(const struct sanhe_conn *c) { return c != NULL ? c->alert : -1; }

const char *sanhe_conn_alert(const struct sanhe_conn *c)
{
    return c != NULL && c->alert >= 0 ? SSL_alert_desc_string_long(c->alert) : NULL;
}

int64_t sanhe_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The OpenSSL error queue's last entry, appended to msg, and cleared. */
static void ssl_reason(char *msg, size_t size)
{
    unsigned long e = ERR_peek_last_error();
    size_t n = strlen(msg);
    if (e != 0 && n + 3 < size) {
        snprintf(msg + n, size - n, ": ");
        ERR_error_string_n(e, msg + n + 2, size - n - 2);
    }
    ERR_clear_error();
}

SSL_CTX *sanhe_ctx_new(const char *ca, const char *cert, const char *key, char *msg,
                       size_t msg_size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    const char *what = ctx == NULL ? "SSL_CTX_new" : NULL;
    if (what == NULL) {
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
            what = "CA file";
        else if (cert == NULL && key == NULL)
            what = NULL; /* no client certificate (the tests of a refused handshake) */
        else if (cert == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
            what = "certificate file";
        else if (key == NULL || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
            what = "key file";
        else if (SSL_CTX_check_private_key(ctx) != 1)
            what = "key does not match the certificate";
    }
    if (what == NULL)
        return ctx;
    snprintf(msg, msg_size, "%s", what);
    ssl_reason(msg, msg_size);
    SSL_CTX_free(ctx);
    return NULL;
}

/* Waits until fd is ready for what OpenSSL asked; 0 or SANHE_E_TIMEOUT. */
static int wait_fd(int fd, int want_write, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = want_write ? POLLOUT : POLLIN};
    for (;;) {
        int64_t left = deadline - sanhe_now_ms();
        if (left <= 0)
            return SANHE_E_TIMEOUT;
        int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return SANHE_E_UNREACHABLE;
    }
}

/* Non-blocking connect to the first address of host:port that answers.
 * -1 on failure; -2 when every address refused the connection (nothing
 * listens there: the engine is down, not slow). */
static int tcp_connect(const char *host, const char *port, int64_t deadline, char *msg, size_t size,
                       struct sanhe_conn_why *why)
{
    bool all_refused = true;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai, *a;
    int grc = getaddrinfo(host, port, &hints, &ai);
    if (grc != 0) {
        snprintf(msg, size, "%s:%s: %s", host, port, gai_strerror(grc));
        why->kind = SANHE_WHY_RESOLVE;
        return -1;
    }
    int fd = -1;
    for (a = ai; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int err = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
        if (err == EINPROGRESS) {
            socklen_t len = sizeof err;
            err = wait_fd(fd, 1, deadline) != 0 ? ETIMEDOUT : 0;
            if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
        if (err != 0) {
            all_refused = all_refused && err == ECONNREFUSED;
            snprintf(msg, size, "connect to %s:%s: %s", host, port, strerror(err));
            why->kind = err == ECONNREFUSED ? SANHE_WHY_CONNECT_REFUSED : SANHE_WHY_CONNECT;
            why->number = err;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd >= 0 ? fd : all_refused ? -2 : -1;
}

/* Runs one SSL call to completion (1 from the call), waiting as asked.
 * Returns 0, 1 on a clean close (close_notify), or a SANHE_E_* code. */
static int ssl_loop(struct sanhe_conn *c, int64_t deadline,
                    int (*call)(SSL *, void *, size_t, size_t *), void *buf, size_t len,
                    size_t *done)
{
    for (;;) {
        ERR_clear_error();
        int rc = call(c->ssl, buf, len, done);
        if (rc == 1)
            return 0;
        int e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_ZERO_RETURN)
            return 1;
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
            return c->alert >= 0 ? SANHE_E_TLS_REJECTED : SANHE_E_UNREACHABLE;
        }
        int w = wait_fd(c->fd, e == SSL_ERROR_WANT_WRITE, deadline);
        if (w != 0)
            return w;
    }
}

static int do_connect(SSL *ssl, void *buf, size_t len, size_t *done)
{
    (void)buf, (void)len, (void)done;
    return SSL_connect(ssl);
}

static int do_read(SSL *ssl, void *buf, size_t len, size_t *done)
{
    return SSL_read_ex(ssl, buf, len, done);
}

static int do_write(SSL *ssl, void *buf, size_t len, size_t *done)
{
    return SSL_write_ex(ssl, buf, len, done);
}

int sanhe_conn_open(struct sanhe_conn **out, SSL_CTX *ctx, const char *host, const char *port,
                    int64_t deadline, char *msg, size_t msg_size, struct sanhe_conn_why *why)
{
    *out = NULL;
    struct sanhe_conn_why none_why;
    if (why == NULL)
        why = &none_why;
    memset(why, 0, sizeof *why);
    if (strchr(host, ':') != NULL)
        snprintf(why->address, sizeof why->address, "[%s]:%s", host, port);
    else
        snprintf(why->address, sizeof why->address, "%s:%s", host, port);
    struct sanhe_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SANHE_E_NOMEM;
    c->alert = -1;
    c->fd = tcp_connect(host, port, deadline, msg, msg_size, why);
    if (c->fd < 0) {
        int refused = c->fd == -2;
        free(c);
        return refused ? SANHE_CONN_REFUSED : SANHE_E_UNREACHABLE;
    }
    c->ssl = SSL_new(ctx);
    if (c->ssl != NULL) {
        SSL_set_app_data(c->ssl, c);
        SSL_set_info_callback(c->ssl, on_info);
    }
    /* The engine's certificate must name the host we dialled. */
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set1_host(c->ssl, host) != 1) {
        snprintf(msg, msg_size, "TLS setup for %s:%s", host, port);
        ssl_reason(msg, msg_size);
        why->kind = SANHE_WHY_TLS_SETUP;
        sanhe_conn_close(c);
        return SANHE_E_UNREACHABLE;
    }
    size_t none = 0;
    int rc = ssl_loop(c, deadline, do_connect, NULL, 0, &none);
    if (rc != 0) {
        long v = SSL_get_verify_result(c->ssl);
        if (c->alert >= 0) {
            snprintf(msg, msg_size, "TLS alert from %s:%s: %s", host, port,
                     SSL_alert_desc_string_long(c->alert));
            why->kind = SANHE_WHY_TLS_ALERT;
            why->number = c->alert;
        } else if (v != X509_V_OK && rc != SANHE_E_TIMEOUT) {
            snprintf(msg, msg_size, "the certificate of %s:%s does not verify against the CA: %s",
                     host, port, X509_verify_cert_error_string(v));
            why->kind = SANHE_WHY_CERT_VERIFY;
            why->number = (int)v;
        } else {
            snprintf(msg, msg_size, "TLS handshake with %s:%s %s", host, port,
                     rc == SANHE_E_TIMEOUT ? "timed out" : "failed");
            why->kind =
                rc == SANHE_E_TIMEOUT ? SANHE_WHY_HANDSHAKE_TIMEOUT : SANHE_WHY_HANDSHAKE_FAILED;
        }
        /* A certificate refused, either way, is not a network fault: the
         * next attempt would be refused the same way. */
        int final = c->alert >= 0 || (v != X509_V_OK && rc != SANHE_E_TIMEOUT);
        sanhe_conn_close(c);
        return final ? SANHE_E_TLS_REJECTED : SANHE_E_UNREACHABLE;
    }
    *out = c;
    return 0;
}

/* Writing to a connection the peer closed raises SIGPIPE; block it in this
 * thread while we write (or send close_notify), and swallow one we caused,
 * so that the caller's signal handling is left alone. */
struct sigpipe_guard {
    sigset_t old;
    int was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

static void sigpipe_unblock(const struct sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

int sanhe_conn_write(struct sanhe_conn *c, const uint8_t *data, size_t len, int64_t deadline)
{
    struct sigpipe_guard g;
    sigpipe_block(&g);
    int rc = 0;
    for (size_t done = 0; rc == 0 && done < len;) {
        size_t n = 0;
        rc = ssl_loop(c, deadline, do_write, (void *)(data + done), len - done, &n);
        done += n;
    }
    sigpipe_unblock(&g);
    return rc == 0 || rc == SANHE_E_TLS_REJECTED ? rc : SANHE_E_UNREACHABLE;
}

/* Exactly len bytes. 0, SANHE_E_TIMEOUT or SANHE_E_UNREACHABLE. */
static int read_exact(struct sanhe_conn *c, uint8_t *buf, size_t len, int64_t deadline)
{
    for (size_t done = 0; done < len;) {
        size_t n = 0;
        int rc = ssl_loop(c, deadline, do_read, buf + done, len - done, &n);
        if (rc != 0)
            return rc == SANHE_E_TIMEOUT || rc == SANHE_E_TLS_REJECTED ? rc : SANHE_E_UNREACHABLE;
        done += n;
    }
    return 0;
}

int sanhe_conn_read_frame(struct sanhe_conn *c, uint8_t **out, size_t *len, int64_t deadline)
{
    *out = NULL;
    uint8_t h[4];
    int rc = read_exact(c, h, 4, deadline);
    if (rc != 0)
        return rc;
    uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    if (n > FRAME_MAX_BYTES)
        return SANHE_E_UNREACHABLE; /* a corrupt stream: only a new connection helps */
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL)
        return SANHE_E_NOMEM;
    rc = read_exact(c, buf, n, deadline);
    if (rc != 0) {
        free(buf);
        /* A partial frame leaves the stream unusable even after a timeout. */
        return rc == SANHE_E_TLS_REJECTED ? rc : SANHE_E_UNREACHABLE;
    }
    *out = buf;
    *len = n;
    return 0;
}

int sanhe_conn_read_some(struct sanhe_conn *c, void *buf, size_t cap, size_t *got, int64_t deadline)
{
    *got = 0;
    int rc = ssl_loop(c, deadline, do_read, buf, cap, got);
    if (rc == 1)
        return SANHE_CONN_CLOSED;
    return rc == 0 || rc == SANHE_E_TIMEOUT || rc == SANHE_E_TLS_REJECTED ? rc
                                                                          : SANHE_E_UNREACHABLE;
}

void sanhe_conn_close(struct sanhe_conn *c)
{
    if (c == NULL)
        return;
    if (c->ssl != NULL) {
        struct sigpipe_guard g;
        sigpipe_block(&g);
        ERR_clear_error();
        SSL_shutdown(c->ssl); /* non-blocking: best effort */
        SSL_free(c->ssl);
        sigpipe_unblock(&g);
    }
    if (c->fd >= 0)
        close(c->fd);
    ERR_clear_error();
    free(c);
}
