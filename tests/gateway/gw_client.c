#include "gw_client.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sh_error.h"
#include "tls_client.h"

#define GWC_REPLY_MAX (16u << 20)

struct gwc {
    struct tc *tc;
    int port, timeout_ms;
    char ca[512], cert[512], key[512];
    char error[256];
    /* The response being read. */
    char *body;
    size_t len;
    bool complete, overflow;
};

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct gwc *c = p->data;
    if (c->len + len > GWC_REPLY_MAX) {
        c->overflow = true;
        return -1;
    }
    char *n = realloc(c->body, c->len + len + 1);
    if (n == NULL)
        return -1;
    memcpy(n + c->len, at, len);
    c->body = n;
    c->len += len;
    c->body[c->len] = '\0';
    return 0;
}

static int on_complete(http_parser *p)
{
    ((struct gwc *)p->data)->complete = true;
    http_parser_pause(p, 1);
    return 0;
}

static int connect_now(struct gwc *c)
{
    return tc_connect(&c->tc, "127.0.0.1", c->port, c->ca, c->cert, c->key, c->timeout_ms);
}

int gwc_open(struct gwc **out, int port, const char *ca, const char *cert, const char *key,
             int timeout_ms)
{
    struct gwc *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SH_E_INTERNAL;
    c->port = port;
    c->timeout_ms = timeout_ms;
    snprintf(c->ca, sizeof c->ca, "%s", ca);
    snprintf(c->cert, sizeof c->cert, "%s", cert);
    snprintf(c->key, sizeof c->key, "%s", key);
    int rc = connect_now(c);
    if (rc != 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void gwc_close(struct gwc *c)
{
    if (c == NULL)
        return;
    tc_close(c->tc);
    free(c->body);
    free(c);
}

const char *gwc_error(const struct gwc *c) { return c->error; }

static int exchange(struct gwc *c, const char *req, size_t req_len, int *status, int timeout_ms)
{
    int rc = tc_send_raw(c->tc, req, req_len);
    if (rc != 0)
        return rc;
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = c;
    http_parser_settings s = {.on_body = on_body, .on_message_complete = on_complete};
    c->len = 0;
    c->complete = c->overflow = false;
    char buf[16384];
    while (!c->complete) {
        size_t got = 0;
        rc = tc_recv_some(c->tc, buf, sizeof buf, &got, timeout_ms);
        if (rc != 0) {
            snprintf(c->error, sizeof c->error, "%s", tc_last_error(c->tc));
            return rc;
        }
        http_parser_execute(&p, &s, buf, got);
        if (HTTP_PARSER_ERRNO(&p) != HPE_OK && HTTP_PARSER_ERRNO(&p) != HPE_PAUSED) {
            snprintf(c->error, sizeof c->error, "bad HTTP response: %s",
                     http_errno_name(HTTP_PARSER_ERRNO(&p)));
            return SH_E_BAD_FRAME;
        }
    }
    *status = (int)p.status_code;
    if (!http_should_keep_alive(&p)) {
        tc_close(c->tc);
        c->tc = NULL;
    }
    return 0;
}

int gwc_post(struct gwc *c, const char *path, const char *body, int *status, char **reply,
             int timeout_ms)
{
    *reply = NULL;
    size_t blen = strlen(body);
    size_t cap = blen + 256;
    char *req = malloc(cap);
    if (req == NULL)
        return SH_E_INTERNAL;
    int n = snprintf(req, cap,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     path, blen);
    memcpy(req + n, body, blen);
    int rc = SH_E_UNAVAILABLE;
    for (int attempt = 0; attempt < 2 && rc == SH_E_UNAVAILABLE; attempt++) {
        if (c->tc == NULL && connect_now(c) != 0)
            break;
        rc = exchange(c, req, (size_t)n + blen, status, timeout_ms);
        if (rc != 0) {
            tc_close(c->tc);
            c->tc = NULL;
        }
    }
    free(req);
    if (rc == 0) {
        *reply = c->body != NULL ? c->body : strdup("");
        c->body = NULL;
        c->len = 0;
    }
    return rc;
}
