#include "tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>

const char *tls_last_error(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        snprintf(buf, cap, "no OpenSSL error");
    else
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

static SSL_CTX *tls_ctx_fail(SSL_CTX *ctx, struct sh_error *err, const char *what, const char *file)
{
    char reason[256];
    sh_error_set(err, SH_E_INTERNAL, "tls: %s %s: %s", what, file,
                 tls_last_error(reason, sizeof reason));
    SSL_CTX_free(ctx);
    return NULL;
}

/* Our own certificate and key, then the CA that client certificates must
 * chain to; the CA's name is also sent to clients as the acceptable issuer. */
static SSL_CTX *tls_ctx_load(SSL_CTX *ctx, const char *ca_file, const char *cert_file,
                             const char *key_file, struct sh_error *err)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
        return tls_ctx_fail(ctx, err, "cannot use certificate", cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1)
        return tls_ctx_fail(ctx, err, "cannot use private key", key_file);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return tls_ctx_fail(ctx, err, "key does not match certificate", key_file);
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
        return tls_ctx_fail(ctx, err, "cannot load CA", ca_file);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
    if (names == NULL)
        return tls_ctx_fail(ctx, err, "no CA certificate in", ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);
    return ctx;
}

SSL_CTX *tls_ctx_create(const char *ca_file, const char *cert_file, const char *key_file,
                        struct sh_error *err)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return tls_ctx_fail(NULL, err, "cannot create context", "");
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    tls_peer_ctx_setup(ctx); /* client certificates required, clientAuth, failures kept */
    SSL_CTX_set_verify_depth(ctx, 4);
    /* Terminals hold long connections; resumption buys nothing and session
     * tickets cost a write per connection. */
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return tls_ctx_load(ctx, ca_file, cert_file, key_file, err);
}

void tls_ctx_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

int tls_session_init(struct tls_session *s, SSL_CTX *ctx)
{
    memset(s, 0, sizeof *s);
    s->ssl = SSL_new(ctx);
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    if (s->ssl == NULL || s->rbio == NULL || s->wbio == NULL) {
        BIO_free(s->rbio);
        BIO_free(s->wbio);
        SSL_free(s->ssl);
        memset(s, 0, sizeof *s);
        return TLS_FAILED;
    }
    /* An empty read BIO means "wait for the socket", not end of file. */
    BIO_set_mem_eof_return(s->rbio, -1);
    SSL_set_bio(s->ssl, s->rbio, s->wbio); /* ssl owns both from here */
    SSL_set_accept_state(s->ssl);
    tls_peer_session_setup(s);
    return TLS_DONE;
}

void tls_session_free(struct tls_session *s)
{
    SSL_free(s->ssl); /* frees both BIOs */
    memset(s, 0, sizeof *s);
}

int tls_session_feed(struct tls_session *s, const void *data, size_t len)
{
    size_t written = 0;
    if (BIO_write_ex(s->rbio, data, len, &written) != 1 || written != len)
        return TLS_FAILED;
    return TLS_DONE;
}

/* Maps an SSL_* call's result: want-read is the normal "wait for more". */
static int tls_result_of(struct tls_session *s, int rc)
{
    switch (SSL_get_error(s->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        return TLS_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_CLOSED;
    default:
        return TLS_FAILED;
    }
}

int tls_session_handshake(struct tls_session *s)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(s->ssl);
    return rc == 1 ? TLS_DONE : tls_result_of(s, rc);
}

int tls_session_read(struct tls_session *s, void *buf, size_t cap, size_t *got)
{
    ERR_clear_error();
    int rc = SSL_read_ex(s->ssl, buf, cap, got);
    return rc == 1 ? TLS_DONE : tls_result_of(s, rc);
}

int tls_session_write(struct tls_session *s, const void *data, size_t len)
{
    /* The write BIO is memory that grows, so SSL_write_ex takes everything
     * in one call (no partial writes, no want-write). */
    ERR_clear_error();
    size_t written = 0;
    if (SSL_write_ex(s->ssl, data, len, &written) != 1 || written != len)
        return TLS_FAILED;
    return TLS_DONE;
}

void tls_session_shutdown(struct tls_session *s)
{
    ERR_clear_error();
    (void)SSL_shutdown(s->ssl); /* 0 = close_notify queued; we never wait for the peer's */
    ERR_clear_error();
}

bool tls_session_has_input(const struct tls_session *s)
{
    return BIO_ctrl_pending(s->rbio) > 0 || SSL_has_pending(s->ssl) == 1;
}

size_t tls_session_pending(const struct tls_session *s) { return BIO_ctrl_pending(s->wbio); }

/* A memory BIO keeps the largest buffer it ever held, even once read
 * empty: a connection that once had megabytes of replies to send would keep
 * them allocated for its whole life, beyond the output budgets (which count
 * what is waiting to be sent, not what was). Past this, an emptied write
 * BIO is replaced by a fresh one, which SSL_set0_wbio frees. */
#define TLS_WBIO_KEEP_BYTES (64u * 1024u)

size_t tls_session_drain(struct tls_session *s, void *buf, size_t cap)
{
    size_t got = 0;
    if (BIO_read_ex(s->wbio, buf, cap, &got) != 1)
        return 0;
    if (got > TLS_WBIO_KEEP_BYTES && BIO_ctrl_pending(s->wbio) == 0) {
        BIO *fresh = BIO_new(BIO_s_mem());
        if (fresh != NULL) {
            SSL_set0_wbio(s->ssl, fresh);
            s->wbio = fresh;
        }
    }
    return got;
}

int tls_session_peer_cn(const struct tls_session *s, char *out, size_t cap)
{
    X509 *cert = SSL_get0_peer_certificate(s->ssl);
    if (cert == NULL || SSL_get_verify_result(s->ssl) != X509_V_OK)
        return -1;
    X509_NAME *subject = X509_get_subject_name(cert);
    int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at < 0)
        return -1;
    const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    int len = ASN1_STRING_length(cn);
    const unsigned char *data = ASN1_STRING_get0_data(cn);
    if (len <= 0 || (size_t)len >= cap || memchr(data, '\0', (size_t)len) != NULL)
        return -1;
    memcpy(out, data, (size_t)len);
    out[len] = '\0';
    return 0;
}
