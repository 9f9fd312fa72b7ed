/*
 * The importer's connection: libsanhe-client as an admin terminal, through
 * its call for operations it has no function of its own for
 * (sanhe_call_raw), with its deadline, reconnects and resends.
 */
#include <stdlib.h>
#include <string.h>

#include "import.h"

int import_connect(struct import_conn *c, const char *engines, const char *ca, const char *cert,
                   const char *key, int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : IMPORT_TIMEOUT_MS_DEFAULT;
    /* One attempt may take the whole deadline: a commit of a large roster
     * is long, and resending it early would only queue the same work. */
    struct sanhe_client_options o = {.engines = engines,
                                     .ca_file = ca,
                                     .cert_file = cert,
                                     .key_file = key,
                                     .terminal = "import",
                                     .timeout_ms = c->timeout_ms,
                                     .attempt_timeout_ms = c->timeout_ms};
    int rc = sanhe_client_new(&c->client, &o);
    if (rc != 0)
        return sh_error_set(&c->err, SH_E_BAD_REQUEST, "engine %s, ca %s, cert %s, key %s: %s",
                            engines, ca, cert, key, sanhe_strerror(rc));
    return 0;
}

void import_disconnect(struct import_conn *c)
{
    sanhe_client_free(c->client);
    c->client = NULL;
}

int import_call(struct import_conn *c, const Sanhe__Request *request, Sanhe__Response **out)
{
    *out = NULL;
    size_t len = sanhe__request__get_packed_size(request);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return sh_error_set(&c->err, SH_E_INTERNAL, "out of memory");
    sanhe__request__pack(request, buf);
    void *reply = NULL;
    size_t reply_len = 0;
    int rc = sanhe_call_raw(c->client, buf, len, c->timeout_ms, &reply, &reply_len);
    free(buf);
    if (rc == SANHE_E_REFUSED) {
        const void *last = sanhe_last_reply(c->client, &reply_len);
        *out = last != NULL ? sanhe__response__unpack(NULL, reply_len, last) : NULL;
        if (*out == NULL)
            return sh_error_set(&c->err, SH_E_INTERNAL, "refused: %s",
                                sanhe_last_message(c->client));
        return 0;
    }
    if (rc != 0)
        return sh_error_set(&c->err,
                            rc == SANHE_E_OUTCOME_UNKNOWN ? SH_E_TIMEOUT : SH_E_UNAVAILABLE,
                            "%s: %s", sanhe_strerror(rc), sanhe_last_message(c->client));
    *out = sanhe__response__unpack(NULL, reply_len, reply);
    free(reply);
    if (*out == NULL)
        return sh_error_set(&c->err, SH_E_BAD_FRAME, "the reply does not decode");
    return 0;
}
