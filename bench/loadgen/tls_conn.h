/*
 * One client connection to sanhe-engine: TCP on the libuv loop, TLS 1.3
 * with a client certificate through two OpenSSL memory BIOs (libuv owns
 * the socket, OpenSSL never blocks), length-prefixed frames both ways.
 *
 * Frames to send are appended as plaintext (lg_conn_frame) and encrypted in
 * one SSL_write per lg_conn_flush, then written straight to the socket (or,
 * when it does not take them all, queued in one uv_write), so a tick that
 * sends several requests on a connection costs one TLS record train and one
 * syscall, as a pipelining terminal would do.
 */
#ifndef TLS_CONN_H
#define TLS_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define LG_FRAME_MAX_BYTES (64u * 1024u * 1024u) /* a reply larger than this is a broken peer */

enum lg_conn_state {
    LG_CONN_IDLE,
    LG_CONN_CONNECTING,
    LG_CONN_HANDSHAKE,
    LG_CONN_OPEN,
    LG_CONN_CLOSING, /* by us: close_notify, then FIN, then close */
    LG_CONN_CLOSED   /* uv_close called */
};

struct lg_conn;

struct lg_conn_events {
    void (*open)(struct lg_conn *c); /* the handshake is done */
    /* One response frame's payload; now_ns is when the bytes were read. */
    void (*frame)(struct lg_conn *c, const uint8_t *data, size_t len, int64_t now_ns);
    /* The peer closed, or TCP or TLS failed (not called for lg_conn_close). */
    void (*lost)(struct lg_conn *c, const char *why);
};

struct lg_conn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_shutdown_t shutdown_req;
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    enum lg_conn_state state;
    uint32_t index;
    void *owner;
    const struct lg_conn_events *ev;
    uint8_t *in; /* decrypted bytes not yet decoded */
    size_t in_len, in_cap;
    uint8_t *out; /* framed plaintext not yet encrypted */
    size_t out_len, out_cap;
    uint64_t bytes_unsent;     /* ciphertext given to uv_write, not yet written */
    uint64_t bytes_unsent_max; /* counts each flush's ciphertext as queued too */
    char error[192];
};

/* The client context of one terminal: TLS 1.3 only, the engine verified
 * against ca, our certificate and key. NULL with why in err. */
SSL_CTX *lg_tls_ctx(const char *ca, const char *cert, const char *key, char *err, size_t cap);

/* Connects to addr and starts the handshake; host is the name (or address)
 * the engine's certificate must carry. 0, or -1 with c->error set. */
int lg_conn_start(struct lg_conn *c, uv_loop_t *loop, SSL_CTX *ctx, const char *host,
                  const struct sockaddr *addr);

/* Room for one frame of payload_len bytes after its length prefix; NULL
 * when out of memory or the connection is not open. */
uint8_t *lg_conn_frame(struct lg_conn *c, size_t payload_len);

/* Encrypts what lg_conn_frame queued and hands it to the socket. */
void lg_conn_flush(struct lg_conn *c);

/* Graceful end: close_notify, FIN once written, then the handle is closed. */
void lg_conn_close(struct lg_conn *c);

/* After the loop has finished with the handle. */
void lg_conn_free(struct lg_conn *c);

#endif
