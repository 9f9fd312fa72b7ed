#include "tls_crl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>

#include "net_log.h"
#include "tls.h"

/* The context's ex_data slot holding its struct tls_revocation. Taken on
 * the loop thread, before any handshake. */
static int tls_crl_index = -1;

void tls_crl_cert_cn(X509 *cert, char *out, size_t cap)
{
    out[0] = '\0';
    if (cert == NULL)
        return;
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out, (int)cap);
    if (n < 0 || (size_t)n >= cap)
        out[0] = '\0';
}

static void tls_crl_serial(X509 *cert, char *out, size_t cap)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    snprintf(out, cap, "%s", hex != NULL ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
}

/* At depth 0 (the terminal's own certificate): a revoked one is logged by
 * name; a valid one whose terminal is disabled is refused here. */
static int tls_crl_verify(int ok, X509_STORE_CTX *xs)
{
    /* Replacing the context's callback must not drop the peer checks
     * (clientAuth, the failure kept for the log): they run first. */
    ok = tls_peer_verify(ok, xs);
    if (X509_STORE_CTX_get_error_depth(xs) != 0)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls_revocation *rv =
        ssl != NULL ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_crl_index) : NULL;
    X509 *cert = X509_STORE_CTX_get_current_cert(xs);
    if (rv == NULL || cert == NULL)
        return ok;
    char cn[64], serial[80];
    tls_crl_cert_cn(cert, cn, sizeof cn);
    if (!ok && X509_STORE_CTX_get_error(xs) == X509_V_ERR_CERT_REVOKED) {
        tls_crl_serial(cert, serial, sizeof serial);
        rv->refused_revoked++;
        net_log(NET_LOG_WARN,
                "terminal %s refused at the handshake: its certificate (serial %s) is revoked "
                "by the CRL",
                cn[0] ? cn : "-", serial);
        return 0;
    }
    if (ok && rv->disabled != NULL && rv->disabled(rv->ctx, cn)) {
        rv->refused_disabled++;
        net_log(NET_LOG_WARN,
                "terminal %s refused at the handshake: disabled in the terminal table", cn);
        X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    return ok;
}

static int tls_crl_fail(struct sh_error *err, const char *what, const char *file)
{
    unsigned long e = ERR_peek_last_error();
    char reason[256];
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof reason);
    else
        snprintf(reason, sizeof reason, "no CRL in the file");
    ERR_clear_error();
    return sh_error_set(err, SH_E_INTERNAL, "tls: %s %s: %s", what, file, reason);
}

static int tls_crl_load(SSL_CTX *ctx, const char *file, size_t *count, struct sh_error *err)
{
    BIO *in = BIO_new_file(file, "r");
    if (in == NULL)
        return tls_crl_fail(err, "cannot read CRL", file);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    size_t crls = 0;
    X509_CRL *crl;
    while ((crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL)) != NULL) {
        STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
        *count += revoked != NULL ? (size_t)sk_X509_REVOKED_num(revoked) : 0;
        int added = X509_STORE_add_crl(store, crl);
        X509_CRL_free(crl);
        if (added != 1) {
            BIO_free(in);
            return tls_crl_fail(err, "cannot use CRL", file);
        }
        crls++;
    }
    BIO_free(in);
    if (crls == 0)
        return tls_crl_fail(err, "no CRL in", file);
    ERR_clear_error(); /* the end of the PEM file */
    /* The terminal's certificate is checked; the CA itself is ours. */
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    return 0;
}

int tls_crl_install(SSL_CTX *ctx, const char *crl_file, struct tls_revocation *rv,
                    size_t *revoked_count, struct sh_error *err)
{
    *revoked_count = 0;
    if (tls_crl_index < 0)
        tls_crl_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (tls_crl_index < 0)
        return sh_error_set(err, SH_E_INTERNAL, "tls: no ex_data index");
    if (crl_file != NULL && crl_file[0] != '\0') {
        int rc = tls_crl_load(ctx, crl_file, revoked_count, err);
        if (rc != 0)
            return rc;
    }
    SSL_CTX_set_ex_data(ctx, tls_crl_index, rv);
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), tls_crl_verify);
    return 0;
}

bool tls_crl_lists(SSL_CTX *ctx, X509 *cert)
{
    if (cert == NULL)
        return false;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
    for (int i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs); i++) {
        X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
        X509_REVOKED *rev = NULL;
        if (crl != NULL &&
            X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) == 0 &&
            X509_CRL_get0_by_cert(crl, &rev, cert) == 1)
            return true;
    }
    return false;
}
