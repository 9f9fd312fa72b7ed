/*
 * TLS 1.3 with mutual authentication, OpenSSL driven through two memory BIOs
 * so that libuv owns the socket: ciphertext read from the socket is fed into
 * the read BIO, and whatever OpenSSL wants to send collects in the write BIO,
 * from where the connection drains it into uv_write. OpenSSL never touches a
 * file descriptor and never blocks.
 */
#ifndef TLS_H
#define TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "sh_error.h"

/* The server context: TLS 1.3 only, our certificate chain and key, client
 * certificates required and verified against ca_file. NULL on failure, with
 * err naming the file and OpenSSL's reason. */
SSL_CTX *tls_ctx_create(const char *ca_file, const char *cert_file, const char *key_file,
                        struct sh_error *err);
void tls_ctx_free(SSL_CTX *ctx);

struct tls_session {
    SSL *ssl;
    BIO *rbio; /* ciphertext from the peer, owned by ssl */
    BIO *wbio; /* ciphertext for the peer, owned by ssl */
    /* The first verify failure of the peer's certificate, and its subject
     * (tls_peer.c), for the handshake failure's log line. */
    char verify_failure[128];
    char verify_subject[256];
};

/* Results of the stepping functions below (failures are negative). */
enum tls_result {
    TLS_DONE = 0,   /* handshake finished, or data was read */
    TLS_AGAIN = 1,  /* needs more ciphertext from the peer */
    TLS_CLOSED = 2, /* the peer sent close_notify */
    TLS_FAILED = -1 /* protocol error, failed verification: close the connection */
};

int tls_session_init(struct tls_session *s, SSL_CTX *ctx);
void tls_session_free(struct tls_session *s);

/* Ciphertext read from the socket. Memory BIOs grow, so this only fails
 * when out of memory. */
int tls_session_feed(struct tls_session *s, const void *data, size_t len);

/* One step of the server handshake. */
int tls_session_handshake(struct tls_session *s);

/* Reads decrypted bytes into buf (at most cap); *got is set on TLS_DONE. */
int tls_session_read(struct tls_session *s, void *buf, size_t cap, size_t *got);

/* Encrypts all of data into the write BIO (TLS_DONE or TLS_FAILED). */
int tls_session_write(struct tls_session *s, const void *data, size_t len);

/* Queues close_notify into the write BIO. */
void tls_session_shutdown(struct tls_session *s);

/* Input that has not made a whole record yet, or a record not yet read:
 * a frame is on its way. */
bool tls_session_has_input(const struct tls_session *s);

/* Ciphertext waiting in the write BIO, and taking it out (returns bytes taken). */
size_t tls_session_pending(const struct tls_session *s);
size_t tls_session_drain(struct tls_session *s, void *buf, size_t cap);

/* The verified peer certificate's subject CN into out (NUL-terminated).
 * Returns 0, or -1 when there is none, it is longer than cap - 1 bytes or
 * holds a NUL: such a name matches no terminal. */
int tls_session_peer_cn(const struct tls_session *s, char *out, size_t cap);

/* tls_peer.c: the peer beyond its CN. */
/* Verification of client certificates: clientAuth EKU required, failures
 * recorded in the session. */
void tls_peer_ctx_setup(SSL_CTX *ctx);
/* The peer checks' verify callback: a callback installed later (tls_crl.c)
 * calls it first, since a context has one verify callback. */
int tls_peer_verify(int ok, X509_STORE_CTX *store);
void tls_peer_session_setup(struct tls_session *s);
/* Why the handshake failed: OpenSSL's reason, the certificate's verify
 * error and subject when one was presented. Clears OpenSSL's error queue. */
const char *tls_peer_failure(const struct tls_session *s, char *buf, size_t cap);
/* The verified peer certificate's subject, one line ("-" when none). */
void tls_peer_subject(const struct tls_session *s, char *out, size_t cap);
/* The subject is exactly O=hospital (absent when hospital is ""),
 * OU=role, CN=name: what ops/certs.sh issues for that terminal. */
bool tls_peer_subject_matches(const struct tls_session *s, const char *hospital, const char *role,
                              const char *name);

/* OpenSSL's reason for the last failure of this thread, for a log line;
 * clears OpenSSL's error queue. */
const char *tls_last_error(char *buf, size_t cap);

#endif
