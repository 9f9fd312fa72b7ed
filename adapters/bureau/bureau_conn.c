/*
 * One request to the engine as this terminal, through libsanhe-client's
 * escape hatch for operations it has no call of its own for
 * (sanhe_call_raw): its deadline, reconnects and resends with the same
 * request id, and its error model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bureau.h"
#include "sanhe/client.h"
#include "words.h"

/* The library's result codes, in the catalog's words (the msgids of
 * sanhe-counter's, one catalog for both). */
static const char *conn_strerror(int rc)
{
    switch (rc) {
    case SANHE_E_INVAL:
        return _("invalid argument");
    case SANHE_E_NOMEM:
        return _("out of memory");
    case SANHE_E_TLS_SETUP:
        return _("the CA, certificate or key could not be loaded");
    case SANHE_E_PROTOCOL:
        return _("the engine's reply could not be understood");
    default:
        return _("unknown error");
    }
}

/* A client of the configured engine. One attempt may take the whole
 * deadline: a reconcile of a busy day can take longer than the library's
 * default attempt, and resending it early would only queue the same work
 * again. */
static int client_new(const struct bureau_config *c, sanhe_client **out, struct sh_error *err)
{
    char engine[300];
    if (strchr(c->host, ':') != NULL) /* an IPv6 address, in brackets */
        snprintf(engine, sizeof engine, "[%s]:%d", c->host, c->port);
    else
        snprintf(engine, sizeof engine, "%s:%d", c->host, c->port);
    struct sanhe_client_options o = {
        .engines = engine,
        .ca_file = c->ca,
        .cert_file = c->cert,
        .key_file = c->key,
        .terminal = "bureau",
        .timeout_ms = c->timeout_ms,
        .attempt_timeout_ms = c->timeout_ms,
    };
    int rc = sanhe_client_new(out, &o);
    if (rc != 0)
        return sh_error_set(err, rc == SANHE_E_INVAL ? SH_E_BAD_REQUEST : SH_E_INTERNAL,
                            _("engine %s, CA %s, certificate %s, key %s: %s"), engine, c->ca,
                            c->cert, c->key, conn_strerror(rc));
    return 0;
}

/* The library's failure as the bureau's error, naming the engine. */
static int failure(const struct bureau_config *c, sanhe_client *sc, int rc, struct sh_error *err)
{
    /* Why, worded (words.c); the library's English only for a why this
     * build cannot word. */
    char worded[SH_ERROR_MSG_MAX];
    const char *why =
        sh_words_last_why(sc, worded, sizeof worded) == 0 ? worded : sanhe_last_message(sc);
    if (rc == SANHE_E_UNREACHABLE)
        return sh_error_set(err, SH_E_UNAVAILABLE,
                            _("cannot connect to %s:%d (%s): is the engine running, and are "
                              "these the bureau's certificates?"),
                            c->host, c->port, why);
    if (rc == SANHE_E_TLS_REJECTED)
        return sh_error_set(err, SH_E_FORBIDDEN,
                            _("%s:%d: the TLS handshake was refused (%s): are these the "
                              "bureau's certificates, of the engine's CA?"),
                            c->host, c->port, why);
    if (rc == SANHE_E_TIMEOUT || rc == SANHE_E_OUTCOME_UNKNOWN)
        return sh_error_set(err, SH_E_TIMEOUT, _("%s:%d: no reply within %d ms"), c->host, c->port,
                            c->timeout_ms);
    return sh_error_set(err, rc == SANHE_E_PROTOCOL ? SH_E_BAD_FRAME : SH_E_INTERNAL,
                        "%s:%d: %s (%s)", c->host, c->port, conn_strerror(rc), why);
}

int bureau_refused(const Sanhe__Error *e, const char *what, struct sh_error *err)
{
    int code = e->has_code ? -(int)e->code : SH_E_INTERNAL;
    char worded[SH_ERROR_MSG_MAX];
    if (sh_words_refusal(e, worded, sizeof worded) == 0 && (what == NULL || what[0] == '\0'))
        return sh_error_set(err, code, _("the engine refused (%s): %s"), sh_error_name(code),
                            worded);
    if (what == NULL)
        what = "";
    if (sh_words_refusal(e, worded, sizeof worded) == 0)
        return sh_error_set(err, code, _("%s: the engine refused (%s): %s"), what,
                            sh_error_name(code), worded);
    return sh_error_set(err, code, _("%s: the engine refused: %s: %s"), what, sh_error_name(code),
                        e->message != NULL ? e->message : "");
}

/* The reply's bytes as a Response. */
static int unpack(const void *bytes, size_t len, Sanhe__Response **out, struct sh_error *err)
{
    *out = bytes != NULL ? sanhe__response__unpack(NULL, len, bytes) : NULL;
    return *out != NULL ? 0 : sh_error_set(err, SH_E_BAD_FRAME, _("a reply is not a Response"));
}

/* Sends packed over sc: 0 with *out the reply, a refusal included (the
 * library keeps a refusal's bytes as the last reply). */
static int exchange(const struct bureau_config *c, sanhe_client *sc, const uint8_t *packed,
                    size_t len, Sanhe__Response **out, struct sh_error *err)
{
    void *reply = NULL;
    size_t reply_len = 0;
    int rc = sanhe_call_raw(sc, packed, len, c->timeout_ms, &reply, &reply_len);
    if (rc == 0)
        rc = unpack(reply, reply_len, out, err);
    else if (rc == SANHE_E_REFUSED) {
        const void *bytes = sanhe_last_reply(sc, &reply_len);
        rc = unpack(bytes, reply_len, out, err);
    } else
        rc = failure(c, sc, rc, err);
    free(reply);
    return rc;
}

int bureau_call(const struct bureau_config *c, const Sanhe__Request *req, Sanhe__Response **out,
                struct sh_error *err)
{
    *out = NULL;
    if (c->ca[0] == '\0' || c->cert[0] == '\0' || c->key[0] == '\0')
        return sh_error_set(err, SH_E_BAD_REQUEST,
                            _("no certificates: give -c CONFIG or --ca, --cert and --key"));
    size_t len = sanhe__request__get_packed_size(req);
    uint8_t *packed = malloc(len > 0 ? len : 1);
    if (packed == NULL)
        return sh_error_set(err, SH_E_INTERNAL, _("out of memory"));
    sanhe__request__pack(req, packed);
    sanhe_client *sc = NULL;
    int rc = client_new(c, &sc, err);
    if (rc == 0)
        rc = exchange(c, sc, packed, len, out, err);
    sanhe_client_free(sc);
    free(packed);
    return rc;
}

int bureau_reconcile(const struct bureau_config *c, const Sanhe__ReconcileRequest *q,
                     Sanhe__Response **out, struct sh_error *err)
{
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = NULL; /* the library makes a unique one */
    req.op_case = SANHE__REQUEST__OP_RECONCILE;
    req.reconcile = (Sanhe__ReconcileRequest *)q;
    int rc = bureau_call(c, &req, out, err);
    if (rc < 0)
        return rc;
    const Sanhe__Response *r = *out;
    if (r->error != NULL || r->result_case != SANHE__RESPONSE__RESULT_RECONCILE) {
        /* The command names what it reconciled: the refusal alone. */
        rc = r->error != NULL ? bureau_refused(r->error, NULL, err)
                              : sh_error_set(err, SH_E_BAD_FRAME, _("no reconcile reply"));
        sanhe__response__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}
