/*
 * Signatures of exported files: Ed25519 (OpenSSL EVP_DigestSign, no digest:
 * Ed25519 hashes the message itself) over the file's exact bytes, written
 * next to it as FILE.sig: the 64-byte signature in hex and a newline. The
 * private key is a PEM file (openssl genpkey -algorithm ed25519); a verifier
 * needs only the public half (openssl pkey -pubout).
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "bureau.h"

#define SIG_LEN 64

int bureau_read_all(const char *path, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 0;
    unsigned char buf[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (*len + n + 1 > cap) {
            cap = (*len + n + 1) * 2;
            unsigned char *p = realloc(*data, cap);
            if (p == NULL) {
                rc = -1;
                break;
            }
            *data = p;
        }
        memcpy(*data + *len, buf, n);
        *len += n;
    }
    rc = rc == 0 && ferror(f) ? -1 : rc;
    fclose(f);
    if (rc == 0 && *data == NULL)
        *data = calloc(1, 1);
    if (rc != 0 || *data == NULL) {
        free(*data);
        *data = NULL;
        return -1;
    }
    (*data)[*len] = '\0';
    return 0;
}

/* The key of a PEM file: a private key (signing, or verifying with its
 * public half) or a public key. */
static EVP_PKEY *read_key(const char *path, bool private_key, struct sh_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        sh_error_set(err, SH_E_BAD_REQUEST, _("%s: cannot open the key"), path);
        return NULL;
    }
    EVP_PKEY *key = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (key == NULL && !private_key)
        key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (key == NULL && !private_key) {
        rewind(f);
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    }
    fclose(f);
    if (key != NULL && EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(key);
        key = NULL;
        sh_error_set(err, SH_E_BAD_REQUEST, _("%s: not an Ed25519 key"), path);
    } else if (key == NULL && err->code == 0) {
        sh_error_set(err, SH_E_BAD_REQUEST, _("%s: no %s Ed25519 key in PEM"), path,
                     private_key ? "private" : "public or private");
    }
    ERR_clear_error();
    return key;
}

static void sig_path(const char *file, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%.*s.sig", PATH_MAX - 5, file);
}

int bureau_sign_file(const char *key_path, const char *file, struct sh_error *err)
{
    EVP_PKEY *key = read_key(key_path, true, err);
    if (key == NULL)
        return err->code;
    unsigned char *data = NULL, sig[SIG_LEN];
    size_t len = 0, sig_len = sizeof sig;
    int rc = bureau_read_all(file, &data, &len) == 0
                 ? 0
                 : sh_error_set(err, SH_E_INTERNAL, _("%s: cannot read it back"), file);
    EVP_MD_CTX *ctx = rc == 0 ? EVP_MD_CTX_new() : NULL;
    if (rc == 0 && (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
                    EVP_DigestSign(ctx, sig, &sig_len, data, len) != 1 || sig_len != SIG_LEN))
        rc = sh_error_set(err, SH_E_INTERNAL, _("%s: OpenSSL could not sign it"), file);
    char path[PATH_MAX];
    sig_path(file, path);
    FILE *out = rc == 0 ? fopen(path, "w") : NULL;
    if (rc == 0 && out == NULL)
        rc = sh_error_set(err, SH_E_INTERNAL, _("%s: cannot write"), path);
    for (size_t i = 0; out != NULL && i < SIG_LEN; i++)
        fprintf(out, "%02x", sig[i]);
    if (out != NULL && (fputc('\n', out) == EOF) | (fclose(out) != 0))
        rc = sh_error_set(err, SH_E_INTERNAL, _("%s: cannot write"), path);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    free(data);
    ERR_clear_error();
    return rc;
}

static bool parse_sig(const unsigned char *text, size_t len, unsigned char sig[SIG_LEN])
{
    if (len < 2 * SIG_LEN || (len > 2 * SIG_LEN && text[2 * SIG_LEN] != '\n'))
        return false;
    for (size_t i = 0; i < SIG_LEN; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2; j++) {
            unsigned char c = text[2 * i + j];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                                : 16;
            if (d == 16)
                return false;
            v = v << 4 | d;
        }
        sig[i] = (unsigned char)v;
    }
    return true;
}

int bureau_verify_file(const char *key_path, const char *file, struct sh_error *err)
{
    char path[PATH_MAX];
    sig_path(file, path);
    unsigned char *data = NULL, *text = NULL, sig[SIG_LEN];
    size_t len = 0, text_len = 0;
    int rc = 0;
    if (bureau_read_all(file, &data, &len) != 0)
        rc = sh_error_set(err, SH_E_BAD_REQUEST, _("%s: cannot read it"), file);
    else if (bureau_read_all(path, &text, &text_len) != 0)
        rc = sh_error_set(err, SH_E_BAD_REQUEST, _("%s: no signature file"), path);
    else if (!parse_sig(text, text_len, sig))
        rc = sh_error_set(err, SH_E_BAD_REQUEST, _("%s: not a hex Ed25519 signature"), path);
    EVP_PKEY *key = rc == 0 ? read_key(key_path, false, err) : NULL;
    if (rc == 0 && key == NULL)
        rc = err->code;
    EVP_MD_CTX *ctx = rc == 0 ? EVP_MD_CTX_new() : NULL;
    if (rc == 0 && (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1 ||
                    EVP_DigestVerify(ctx, sig, SIG_LEN, data, len) != 1))
        rc = sh_error_set(err, SH_E_BAD_REQUEST,
                          _("%s: the signature does not match its "
                            "contents (changed since it was signed, or another key)"),
                          file);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    free(data);
    free(text);
    ERR_clear_error();
    return rc;
}
