/*
 * Revoking terminals (docs/operations.md): the CA's certificate revocation
 * list, and a terminal table's disabled entries, both enforced at the TLS
 * handshake by a verify callback on the server context, and both logged
 * with the terminal's name (its certificate's CN). Kept apart from tls.c,
 * which builds the context: tls_crl_install runs on a context tls.c made.
 */
#ifndef TLS_CRL_H
#define TLS_CRL_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sh_error.h"

/* What the verify callback consults and counts; outlives every context it
 * is installed on (the server owns it). */
struct tls_revocation {
    /* True when the terminal of that CN is disabled. */
    bool (*disabled)(void *ctx, const char *cn);
    void *ctx;
    uint64_t refused_revoked;  /* handshakes refused: certificate on the CRL */
    uint64_t refused_disabled; /* handshakes refused: terminal disabled */
};

/* Loads every CRL of a PEM file (crl_file "" or NULL: none) into the
 * context's store and turns on CRL checking of the terminal's certificate;
 * installs the verify callback over rv. *revoked_count: certificates the
 * CRLs list. Returns 0, or SH_E_INTERNAL with err naming the file. */
int tls_crl_install(SSL_CTX *ctx, const char *crl_file, struct tls_revocation *rv,
                    size_t *revoked_count, struct sh_error *err);

/* True when a CRL loaded into ctx lists cert (same issuer, same serial). */
bool tls_crl_lists(SSL_CTX *ctx, X509 *cert);

/* cert's subject CN into out ("" when none or too long). */
void tls_crl_cert_cn(X509 *cert, char *out, size_t cap);

#endif
