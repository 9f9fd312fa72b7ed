/* One request to the engine over a fresh TLS connection, as this terminal. */
#include <string.h>

#include "bureau.h"
#include "tls_client.h"

int bureau_call(const struct bureau_config *c, const Sanhe__Request *req, Sanhe__Response **out,
                struct sh_error *err)
{
    *out = NULL;
    if (c->ca[0] == '\0' || c->cert[0] == '\0' || c->key[0] == '\0')
        return sh_error_set(err, SH_E_BAD_REQUEST,
                            "no certificates: give -c CONFIG or --ca, --cert and --key");
    struct tc *tc = NULL;
    int rc = tc_connect(&tc, c->host, c->port, c->ca, c->cert, c->key, c->timeout_ms);
    if (rc < 0)
        return sh_error_set(err, rc, "cannot connect to %s:%d (%s): is the engine running, "
                            "and are these the bureau's certificates?", c->host, c->port,
                            sh_error_name(rc));
    rc = tc_call(tc, req, out, c->timeout_ms);
    if (rc < 0)
        sh_error_set(err, rc, "%s:%d: %s", c->host, c->port, tc_last_error(tc));
    tc_close(tc);
    return rc;
}

int bureau_reconcile(const struct bureau_config *c, const Sanhe__ReconcileRequest *q,
                     Sanhe__Response **out, struct sh_error *err)
{
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "bureau-reconcile";
    req.op_case = SANHE__REQUEST__OP_RECONCILE;
    req.reconcile = (Sanhe__ReconcileRequest *)q;
    int rc = bureau_call(c, &req, out, err);
    if (rc < 0)
        return rc;
    const Sanhe__Response *r = *out;
    if (r->error != NULL || r->result_case != SANHE__RESPONSE__RESULT_RECONCILE) {
        int code = r->error != NULL ? -(int)r->error->code : SH_E_INTERNAL;
        rc = sh_error_set(err, code, "the engine refused: %s: %s", sh_error_name(code),
                          r->error != NULL && r->error->message != NULL ? r->error->message
                                                                        : "no reconcile reply");
        sanhe__response__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}
