/*
 * Who the peer is, beyond its CN (docs/limits.md, "Certificates"):
 *
 *   - a terminal certificate must carry the clientAuth extended key usage
 *     (a server's or a mail certificate of the same CA is no terminal);
 *   - the whole subject must be the one the terminal table gives: O = the
 *     terminal's hospital (none for a bureau or admin terminal), OU = its
 *     role, CN = its name, and nothing else, which is what ops/certs.sh
 *     issues; a certificate with counter A's CN but another O or OU is not
 *     counter A;
 *   - why a handshake failed, and whose certificate it was, is kept for
 *     the log line: OpenSSL's verify error and the leaf's subject, caught
 *     in the verify callback, since a refused certificate never becomes
 *     the session's peer certificate.
 */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "tls.h"

static void name_oneline(const X509_NAME *name, char *out, size_t cap)
{
    if (name == NULL || X509_NAME_oneline(name, out, (int)cap) == NULL)
        snprintf(out, cap, "-");
}

/* The leaf's EKU must name clientAuth; OpenSSL's purpose check (set with
 * X509_PURPOSE_SSL_CLIENT) lets a certificate without any EKU through. */
static bool cert_has_client_auth(X509 *cert)
{
    uint32_t flags = X509_get_extension_flags(cert);
    return (flags & EXFLAG_XKUSAGE) != 0 && (X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
}

int tls_peer_verify(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls_session *s = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(store);
    int depth = X509_STORE_CTX_get_error_depth(store);
    if (ok && depth == 0 && leaf != NULL && !cert_has_client_auth(leaf)) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
        ok = 0;
    }
    if (!ok && s != NULL && s->verify_failure[0] == '\0') {
        int e = X509_STORE_CTX_get_error(store);
        snprintf(s->verify_failure, sizeof s->verify_failure, "%s (depth %d)",
                 X509_verify_cert_error_string(e), depth);
        name_oneline(leaf != NULL ? X509_get_subject_name(leaf) : NULL, s->verify_subject,
                     sizeof s->verify_subject);
    }
    return ok;
}

void tls_peer_ctx_setup(SSL_CTX *ctx)
{
    SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, tls_peer_verify);
}

void tls_peer_session_setup(struct tls_session *s)
{
    SSL_set_app_data(s->ssl, s);
    s->verify_failure[0] = '\0';
    s->verify_subject[0] = '\0';
}

const char *tls_peer_failure(const struct tls_session *s, char *buf, size_t cap)
{
    char reason[256];
    tls_last_error(reason, sizeof reason);
    if (s->verify_failure[0] != '\0')
        snprintf(buf, cap, "%s; certificate: %s; subject %s", reason, s->verify_failure,
                 s->verify_subject);
    else
        snprintf(buf, cap, "%s", reason);
    return buf;
}

void tls_peer_subject(const struct tls_session *s, char *out, size_t cap)
{
    X509 *cert = SSL_get0_peer_certificate(s->ssl);
    name_oneline(cert != NULL ? X509_get_subject_name(cert) : NULL, out, cap);
}

/* The entry nid of subject is exactly value, and there is one such entry. */
static bool name_entry_is(const X509_NAME *subject, int nid, const char *value)
{
    int at = X509_NAME_get_index_by_NID(subject, nid, -1);
    if (at < 0 || X509_NAME_get_index_by_NID(subject, nid, at) >= 0)
        return false;
    const ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    size_t len = (size_t)ASN1_STRING_length(data);
    return len == strlen(value) && memcmp(ASN1_STRING_get0_data(data), value, len) == 0;
}

bool tls_peer_subject_matches(const struct tls_session *s, const char *hospital, const char *role,
                              const char *name)
{
    X509 *cert = SSL_get0_peer_certificate(s->ssl);
    if (cert == NULL)
        return false;
    const X509_NAME *subject = X509_get_subject_name(cert);
    int want = hospital[0] != '\0' ? 3 : 2;
    if (X509_NAME_entry_count(subject) != want)
        return false;
    if (hospital[0] != '\0' && !name_entry_is(subject, NID_organizationName, hospital))
        return false;
    return name_entry_is(subject, NID_organizationalUnitName, role) &&
           name_entry_is(subject, NID_commonName, name);
}
