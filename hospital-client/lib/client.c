/* The client handle: options, addresses, request ids, error reporting. */
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_ATTEMPT_TIMEOUT_MS 3000

/* "host:port[,host:port]"; a v6 address in brackets: "[::1]:7443". */
static int parse_addresses(sanhe_client *c, const char *list)
{
    const char *p = list;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        if (c->address_count == SANHE_ADDRESSES_MAX || len == 0 || len >= 256)
            return SANHE_E_INVAL;
        char item[256];
        memcpy(item, p, len);
        item[len] = '\0';
        char *colon = strrchr(item, ':');
        if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= 8)
            return SANHE_E_INVAL;
        *colon = '\0';
        char *host = item;
        if (host[0] == '[' && colon[-1] == ']') {
            host++;
            colon[-1] = '\0';
        }
        struct sanhe_address *a = &c->addresses[c->address_count++];
        snprintf(a->host, sizeof a->host, "%s", host);
        snprintf(a->port, sizeof a->port, "%s", colon + 1);
        p += len;
        p += *p == ',';
    }
    return c->address_count > 0 ? 0 : SANHE_E_INVAL;
}

int sanhe_client_new(sanhe_client **out, const struct sanhe_client_options *o)
{
    if (out == NULL)
        return SANHE_E_INVAL;
    *out = NULL;
    if (o == NULL || o->engines == NULL || o->ca_file == NULL || o->cert_file == NULL ||
        o->key_file == NULL)
        return SANHE_E_INVAL;
    sanhe_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SANHE_E_NOMEM;
    int rc = parse_addresses(c, o->engines);
    if (rc == 0) {
        c->ctx =
            sanhe_ctx_new(o->ca_file, o->cert_file, o->key_file, c->message, sizeof c->message);
        rc = c->ctx != NULL ? 0 : SANHE_E_TLS_SETUP;
    }
    if (rc != 0) {
        sanhe_client_free(c);
        return rc;
    }
    snprintf(c->terminal, sizeof c->terminal, "%s", o->terminal ? o->terminal : "sanhe");
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->attempt_timeout_ms =
        o->attempt_timeout_ms > 0 ? o->attempt_timeout_ms : DEFAULT_ATTEMPT_TIMEOUT_MS;
    *out = c;
    return 0;
}

void sanhe_client_fail_fast(sanhe_client *c, int on)
{
    if (c != NULL)
        c->fail_fast = on != 0;
}

void sanhe_client_free(sanhe_client *c)
{
    if (c == NULL)
        return;
    sanhe_conn_close(c->conn);
    SSL_CTX_free(c->ctx);
    free(c->reply);
    free(c);
}

const char *sanhe_strerror(int code)
{
    switch (code) {
    case SANHE_OK:
        return "ok";
    case SANHE_E_INVAL:
        return "invalid argument";
    case SANHE_E_NOMEM:
        return "out of memory";
    case SANHE_E_TLS_SETUP:
        return "the CA, certificate or key could not be loaded";
    case SANHE_E_UNREACHABLE:
        return "no engine could be reached; the request was not sent";
    case SANHE_E_TIMEOUT:
        return "no reply before the deadline; nothing was changed";
    case SANHE_E_OUTCOME_UNKNOWN:
        return "outcome unknown: sent, but no reply before the deadline; retry with the same "
               "request id or cancel it";
    case SANHE_E_REFUSED:
        return "refused by the engine";
    case SANHE_E_PROTOCOL:
        return "the engine's reply could not be understood";
    case SANHE_E_TLS_REJECTED:
        return "the TLS handshake was refused (a certificate not accepted); the request was not "
               "sent";
    default:
        return "unknown error";
    }
}

int sanhe_refusal_code(const sanhe_client *c) { return c != NULL ? c->refusal : 0; }
const char *sanhe_refusal_name(const sanhe_client *c) { return c != NULL ? c->refusal_name : ""; }
const char *sanhe_last_message(const sanhe_client *c) { return c != NULL ? c->message : ""; }

int sanhe_last_why(const sanhe_client *c, const char **address, int *number)
{
    if (address != NULL)
        *address = c != NULL ? c->why.address : "";
    if (number != NULL)
        *number = c != NULL ? c->why.number : 0;
    return c != NULL ? c->why.kind : SANHE_WHY_NONE;
}

void sanhe_set_why(sanhe_client *c, int kind, int number, size_t address)
{
    memset(&c->why, 0, sizeof c->why);
    c->why.kind = kind;
    c->why.number = number;
    if (address < c->address_count) {
        const struct sanhe_address *a = &c->addresses[address];
        if (strchr(a->host, ':') != NULL)
            snprintf(c->why.address, sizeof c->why.address, "[%s]:%s", a->host, a->port);
        else
            snprintf(c->why.address, sizeof c->why.address, "%s:%s", a->host, a->port);
    }
}
const char *sanhe_last_request_id(const sanhe_client *c) { return c != NULL ? c->request_id : ""; }

const void *sanhe_last_reply(const sanhe_client *c, size_t *len)
{
    if (len != NULL)
        *len = c != NULL ? c->reply_len : 0;
    return c != NULL ? c->reply : NULL;
}

void sanhe_set_message(sanhe_client *c, const char *fmt, ...)
{
    memset(&c->why, 0, sizeof c->why);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
}

/* n in base 36 into out (at least 14 bytes), at least width digits. */
static void base36(uint64_t n, int width, char *out)
{
    char tmp[16];
    int len = 0;
    do {
        tmp[len++] = "0123456789abcdefghijklmnopqrstuvwxyz"[n % 36];
        n /= 36;
    } while (n != 0 || len < width);
    for (int i = 0; i < len; i++)
        out[i] = tmp[len - 1 - i];
    out[len] = '\0';
}

/* Unique per hospital without coordination: the terminal's name (one per
 * counter), wall-clock ms (distinct across restarts), a counter (distinct
 * within a millisecond) and random bits (a clock set back, two processes
 * sharing a terminal certificate). The engine takes at most 31 bytes, so
 * the numbers are base 36 and the name gives way when it is long. */
int sanhe_request_id_new(sanhe_client *c, char out[SANHE_REQUEST_ID_MAX])
{
    if (c == NULL || out == NULL)
        return SANHE_E_INVAL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t rnd = 0;
    if (RAND_bytes((unsigned char *)&rnd, sizeof rnd) != 1)
        return SANHE_E_NOMEM;
    char ms[16], ctr[16], r[16], suffix[48];
    base36((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u, 1, ms);
    base36(++c->counter, 1, ctr);
    base36(rnd % 33554432u, 5, r); /* 25 bits: five base-36 digits */
    int n = snprintf(suffix, sizeof suffix, "-%s-%s%s", ms, ctr, r);
    size_t room = SANHE_REQUEST_ID_MAX - 1 - (size_t)n, keep = strlen(c->terminal);
    keep = keep < room ? keep : room;
    memcpy(out, c->terminal, keep);
    memcpy(out + keep, suffix, (size_t)n + 1);
    return 0;
}

int sanhe_call_begin(sanhe_client *c, const char *request_id)
{
    if (c == NULL)
        return SANHE_E_INVAL;
    c->refusal = 0;
    c->refusal_name[0] = '\0';
    c->message[0] = '\0';
    memset(&c->why, 0, sizeof c->why);
    free(c->reply);
    c->reply = NULL;
    c->reply_len = 0;
    if (request_id == NULL)
        return sanhe_request_id_new(c, c->request_id);
    if (request_id[0] == '\0' || strlen(request_id) >= SANHE_REQUEST_ID_MAX)
        return SANHE_E_INVAL;
    snprintf(c->request_id, sizeof c->request_id, "%s", request_id);
    return 0;
}
