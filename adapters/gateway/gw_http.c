/*
 * HTTPS on the libuv loop: OpenSSL through memory BIOs (as engine/net does
 * it), HTTP/1.1 parsed by http-parser, keep-alive, one request at a time on
 * a connection (the parser pauses while a request is being answered and
 * resumes on the bytes it had not parsed yet).
 *
 * Limits, each with its own reply (docs/gateway.md, "Limits"): header bytes
 * (431), body bytes (413, at once when Content-Length says so), connections
 * (503 to a connection over the limit, right after its handshake), the time
 * to send the headers (from the connection's start or the first byte of a
 * request) and the body (408 each), and idle time between requests (the
 * connection is closed: there is no request to answer).
 */
#include <assert.h>
#include <http_parser.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"

enum phase { PH_HEADERS, PH_BODY, PH_BUSY, PH_IDLE, PH_CLOSING, PH_CLOSED };

struct gw_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct gw_server *srv;
    SSL *ssl;
    BIO *rbio, *wbio;
    bool up, over_limit, close_after_write, counted, lingering;
    int handles_open;
    enum phase phase;
    struct gw_http_in in; /* the request being read */
    char hospital[GW_HOSPITAL_MAX + 1];
    bool hospital_ok;
    struct gw_request *active; /* being answered: the transaction's */
    /* Plaintext the parser has not taken yet (it was paused). */
    char *pending;
    size_t pending_len;
};

/* How long a connection is read (and the bytes dropped) after the reply
 * that ends it, before it is closed. */
#define LINGER_MS 2000

static void conn_close(struct gw_conn *c);
static void conn_feed(struct gw_conn *c, const char *data, size_t len);
static void on_timer(uv_timer_t *t);

/* ---- Output ---- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status; /* the client's EOF or the linger timer closes the connection */
    free(req);
}

/* After a reply that ends the connection, its write side is shut down and
 * what the client still sends (the rest of a body over the limit, say) is
 * read and dropped, until the client closes or LINGER_MS pass. Closing at
 * once, with those bytes unread, would reset the connection, and a reset
 * can destroy the reply before the client has read it. */
static void conn_linger(struct gw_conn *c)
{
    c->lingering = true;
    uv_shutdown_t *req = malloc(sizeof *req);
    if (req == NULL || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        free(req);
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timer, LINGER_MS, 0);
}

static void on_written(uv_write_t *w, int status)
{
    struct gw_conn *c = w->handle->data;
    free(w->data);
    free(w);
    if (c->phase == PH_CLOSED)
        return;
    if (status != 0)
        conn_close(c);
    else if (c->close_after_write && !c->lingering)
        conn_linger(c);
}

static int flush_tls(struct gw_conn *c)
{
    size_t n = BIO_ctrl_pending(c->wbio);
    if (n == 0)
        return 0;
    uv_write_t *w = malloc(sizeof *w);
    char *buf = malloc(n);
    if (w == NULL || buf == NULL || BIO_read(c->wbio, buf, (int)n) != (int)n) {
        free(w);
        free(buf);
        return -1;
    }
    w->data = buf;
    uv_buf_t b = uv_buf_init(buf, (unsigned)n);
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        free(buf);
        return -1;
    }
    return 0;
}

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static void send_response(struct gw_conn *c, int status, const char *body, size_t len, bool close)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     status, status_text(status), len, close ? "Connection: close\r\n" : "");
    size_t w1 = 0, w2 = 0;
    ERR_clear_error();
    bool ok = SSL_write_ex(c->ssl, head, (size_t)n, &w1) == 1 &&
              (len == 0 || SSL_write_ex(c->ssl, body, len, &w2) == 1);
    ERR_clear_error();
    if (close) {
        SSL_shutdown(c->ssl);
        c->close_after_write = true;
        c->phase = PH_CLOSING;
        uv_timer_stop(&c->timer);
    }
    if (!ok || flush_tls(c) != 0)
        conn_close(c);
}

/* A refusal of the HTTP layer: an envelope with infcode and message, then close. */
static void send_limit(struct gw_conn *c, int status, const char *msg)
{
    size_t len = 0;
    char *body = gw_env_error(GW_INF_HTTP_LIMIT, msg, &len);
    send_response(c, status, body != NULL ? body : "", body != NULL ? len : 0, true);
    free(body);
    c->phase = PH_CLOSING;
    uv_timer_stop(&c->timer);
}

/* ---- Timers ---- */

static void on_timer(uv_timer_t *t)
{
    struct gw_conn *c = t->data;
    if (c->phase == PH_HEADERS && c->up)
        send_limit(c, 408, "请求头接收超时");
    else if (c->phase == PH_BODY)
        send_limit(c, 408, "请求体接收超时");
    else
        conn_close(c); /* idle, or no TLS handshake in time */
}

static void arm(struct gw_conn *c, enum phase ph)
{
    const struct gw_config *cfg = &c->srv->cfg;
    c->phase = ph;
    int ms = ph == PH_HEADERS ? cfg->header_timeout_ms
             : ph == PH_BODY  ? cfg->body_timeout_ms
             : ph == PH_IDLE  ? cfg->idle_timeout_ms
                              : 0;
    if (ms > 0)
        uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
    else
        uv_timer_stop(&c->timer);
}

/* ---- Reading a request: the parser's callbacks, with no socket ---- */

static int limit(struct gw_http_in *in, int status, const char *msg)
{
    in->status = status;
    in->msg = msg;
    return -1;
}

/* The bytes of the request line's URL and of each header's name and value,
 * plus 4 a header (": " and CRLF): the same count however the bytes were cut
 * into reads (the parser calls back once a piece). */
static int count_header(struct gw_http_in *in, size_t len)
{
    in->header_bytes += len;
    return in->header_bytes > in->header_bytes_max ? limit(in, 431, "请求头超过长度限制") : 0;
}

static int on_message_begin(http_parser *p)
{
    struct gw_http_in *in = p->data;
    assert(in->req == NULL);
    in->header_bytes = 0;
    in->field_len = in->value_len = 0;
    in->in_value = in->in_body = false;
    in->req = calloc(1, sizeof *in->req);
    if (in->req == NULL)
        return limit(in, 503, "服务暂不可用");
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct gw_http_in *in = p->data;
    size_t have = strlen(in->req->path);
    if (have + len >= sizeof in->req->path)
        return limit(in, 404, "交易地址不存在");
    memcpy(in->req->path + have, at, len);
    in->req->path[have + len] = '\0';
    return count_header(in, len);
}

/* Keeps the x-tif-* headers (the only ones the gateway reads itself). */
static void header_done(struct gw_http_in *in)
{
    if (in->field_len == 0)
        return;
    in->field[in->field_len] = '\0';
    in->value[in->value_len] = '\0';
    struct {
        const char *name;
        char *dst;
        size_t size;
    } keep[] = {
        {"x-tif-paasid", in->req->tif_paasid, sizeof in->req->tif_paasid},
        {"x-tif-timestamp", in->req->tif_timestamp, sizeof in->req->tif_timestamp},
        {"x-tif-nonce", in->req->tif_nonce, sizeof in->req->tif_nonce},
        {"x-tif-signature", in->req->tif_signature, sizeof in->req->tif_signature},
    };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        if (strcasecmp(in->field, keep[i].name) != 0)
            continue;
        /* Longer than any valid value: cut, and the signature check fails. */
        size_t n = in->value_len < keep[i].size - 1 ? in->value_len : keep[i].size - 1;
        memcpy(keep[i].dst, in->value, n);
        keep[i].dst[n] = '\0';
    }
    in->field_len = in->value_len = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct gw_http_in *in = p->data;
    bool first_piece = in->in_value || in->field_len == 0;
    if (in->in_value)
        header_done(in);
    in->in_value = false;
    if (first_piece)
        in->header_bytes += 4;
    size_t room = sizeof in->field - 1 - in->field_len;
    size_t n = len < room ? len : room;
    memcpy(in->field + in->field_len, at, n);
    in->field_len += n;
    return count_header(in, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct gw_http_in *in = p->data;
    in->in_value = true;
    size_t room = sizeof in->value - 1 - in->value_len;
    size_t n = len < room ? len : room;
    memcpy(in->value + in->value_len, at, n);
    in->value_len += n;
    return count_header(in, len);
}

static int on_headers_complete(http_parser *p)
{
    struct gw_http_in *in = p->data;
    header_done(in);
    if (p->method != HTTP_POST)
        return limit(in, 405, "只接受POST请求");
    /* Content-Length is known here (ULLONG_MAX when absent: chunked). */
    if (p->content_length != ULLONG_MAX && p->content_length > in->body_bytes_max)
        return limit(in, 413, "请求体超过长度限制");
    in->in_body = true;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct gw_http_in *in = p->data;
    struct gw_request *r = in->req;
    if (r->body_len + len > in->body_bytes_max)
        return limit(in, 413, "请求体超过长度限制");
    char *n = realloc(r->body, r->body_len + len + 1);
    if (n == NULL)
        return limit(in, 503, "服务暂不可用");
    memcpy(n + r->body_len, at, len);
    r->body = n;
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct gw_http_in *in = p->data;
    in->in_body = false;
    http_parser_pause(p, 1); /* the next request waits for this one's reply */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void gw_http_in_init(struct gw_http_in *in, size_t header_bytes_max, size_t body_bytes_max)
{
    memset(in, 0, sizeof *in);
    http_parser_init(&in->parser, HTTP_REQUEST);
    in->parser.data = in;
    in->header_bytes_max = header_bytes_max;
    in->body_bytes_max = body_bytes_max;
}

enum gw_http_event gw_http_in_feed(struct gw_http_in *in, const char *data, size_t len,
                                   size_t *used)
{
    assert(in->parser.data == in && in->status == 0);
    *used = http_parser_execute(&in->parser, &settings, data, len);
    assert(*used <= len);
    enum http_errno e = HTTP_PARSER_ERRNO(&in->parser);
    if (e == HPE_PAUSED) {
        assert(in->req != NULL);
        return GW_HTTP_REQUEST;
    }
    if (e == HPE_OK)
        return GW_HTTP_MORE;
    gw_request_free(in->req);
    in->req = NULL;
    if (in->status == 0)
        limit(in, 400, "HTTP请求格式错误");
    return GW_HTTP_REFUSED;
}

struct gw_request *gw_http_in_take(struct gw_http_in *in)
{
    struct gw_request *r = in->req;
    assert(r != NULL && HTTP_PARSER_ERRNO(&in->parser) == HPE_PAUSED);
    in->req = NULL;
    if (r->body == NULL && (r->body = strdup("")) == NULL) {
        gw_request_free(r);
        return NULL;
    }
    return r;
}

bool gw_http_in_resume(struct gw_http_in *in)
{
    bool keep = http_should_keep_alive(&in->parser) != 0;
    http_parser_pause(&in->parser, 0);
    return keep;
}

void gw_request_free(struct gw_request *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r);
}

/* ---- Requests ---- */

static void dispatch(struct gw_conn *c)
{
    struct gw_request *r = gw_http_in_take(&c->in);
    if (r == NULL) {
        send_limit(c, 503, "服务暂不可用");
        return;
    }
    r->srv = c->srv;
    r->conn = c;
    snprintf(r->hospital, sizeof r->hospital, "%s", c->hospital);
    if (!c->hospital_ok) {
        size_t len = 0;
        char *body = gw_env_error(GW_INF_ENGINE + SANHE__ERROR_CODE__FORBIDDEN,
                                  "客户端证书未载明定点医药机构", &len);
        gw_request_free(r);
        send_response(c, 403, body != NULL ? body : "", body != NULL ? len : 0, true);
        free(body);
        c->phase = PH_CLOSING;
        return;
    }
    /* The transaction layer owns r until it calls gw_reply; active lets a
     * close tell it that there is no one to answer any more. */
    c->active = r;
    gw_txn_handle(r);
}

void gw_reply(struct gw_request *r, int status, const char *body, size_t len)
{
    struct gw_conn *c = r->conn;
    if (c == NULL && r->sink != NULL)
        r->sink(r->sink_arg, status, body, len);
    if (c != NULL) {
        assert(c->active == r);
        c->active = NULL;
        bool keep = gw_http_in_resume(&c->in) && !c->srv->stopping;
        send_response(c, status, body, len, !keep);
        if (keep && c->phase < PH_CLOSING) {
            arm(c, PH_IDLE);
            char *rest = c->pending;
            size_t n = c->pending_len;
            c->pending = NULL;
            c->pending_len = 0;
            if (n > 0)
                conn_feed(c, rest, n);
            free(rest);
        }
    }
    gw_request_free(r);
}

/* Runs the parser over plaintext; keeps what it did not take while paused. */
static void conn_feed(struct gw_conn *c, const char *data, size_t len)
{
    if (c->phase >= PH_CLOSING)
        return;
    if (c->phase == PH_BUSY) {
        if (c->pending_len + len > c->srv->cfg.body_bytes_max + c->srv->cfg.header_bytes_max) {
            conn_close(c); /* pipelining far ahead of its answers */
            return;
        }
        char *n = realloc(c->pending, c->pending_len + len);
        if (n == NULL) {
            conn_close(c);
            return;
        }
        memcpy(n + c->pending_len, data, len);
        c->pending = n;
        c->pending_len += len;
        return;
    }
    if (c->phase == PH_IDLE)
        arm(c, PH_HEADERS);
    size_t used = 0;
    enum gw_http_event ev = gw_http_in_feed(&c->in, data, len, &used);
    if (ev == GW_HTTP_REQUEST) {
        arm(c, PH_BUSY);
        if (used < len) {
            c->pending = malloc(len - used);
            if (c->pending == NULL) {
                conn_close(c);
                return;
            }
            memcpy(c->pending, data + used, len - used);
            c->pending_len = len - used;
        }
        dispatch(c);
    } else if (ev == GW_HTTP_REFUSED) {
        send_limit(c, c->in.status, c->in.msg);
    } else if (c->in.in_body && c->phase == PH_HEADERS) {
        arm(c, PH_BODY); /* the body's own deadline from the end of the headers */
    }
}

/* ---- TLS and the socket ---- */

/* The hospital a client certificate names: its subject's O. */
static void peer_hospital(struct gw_conn *c)
{
    X509 *cert = SSL_get0_peer_certificate(c->ssl);
    X509_NAME *name = cert != NULL ? X509_get_subject_name(cert) : NULL;
    char o[64] = "";
    int n = name != NULL ? X509_NAME_get_text_by_NID(name, NID_organizationName, o, sizeof o) : -1;
    c->hospital_ok = n > 0 && (size_t)n <= GW_HOSPITAL_MAX && (size_t)n < sizeof c->hospital &&
                     strcmp(o, "-") != 0;
    /* n bytes and the NUL fit: checked just above. */
    size_t len = c->hospital_ok ? (size_t)n : 0;
    memcpy(c->hospital, o, len);
    c->hospital[len] = '\0';
}

static int tls_progress(struct gw_conn *c)
{
    if (!c->up) {
        ERR_clear_error();
        int rc = SSL_do_handshake(c->ssl);
        if (rc != 1) {
            int e = SSL_get_error(c->ssl, rc);
            ERR_clear_error();
            return e == SSL_ERROR_WANT_READ ? flush_tls(c) : -1;
        }
        c->up = true;
        peer_hospital(c);
        if (c->over_limit) {
            flush_tls(c);
            send_limit(c, 503, "连接数超过限制");
            return 0;
        }
    }
    char buf[16384];
    for (;;) {
        size_t got = 0;
        ERR_clear_error();
        int rc = SSL_read_ex(c->ssl, buf, sizeof buf, &got);
        if (rc != 1) {
            int e = SSL_get_error(c->ssl, rc);
            ERR_clear_error();
            if (e == SSL_ERROR_ZERO_RETURN)
                return -1;
            return e == SSL_ERROR_WANT_READ ? flush_tls(c) : -1;
        }
        conn_feed(c, buf, got);
        if (c->phase >= PH_CLOSING)
            return 0;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base != NULL ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct gw_conn *c = s->data;
    bool bad = n < 0;
    if (n > 0 && c->phase < PH_CLOSING)
        bad = BIO_write(c->rbio, buf->base, (int)n) != (int)n || tls_progress(c) != 0;
    free(buf->base);
    if (bad && c->phase != PH_CLOSED)
        conn_close(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct gw_conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    SSL_free(c->ssl);
    free(c->pending);
    free(c);
}

static void conn_close(struct gw_conn *c)
{
    if (c->handles_open == 0 || c->phase == PH_CLOSED)
        return;
    c->phase = PH_CLOSED;       /* closed: nothing more is sent or read */
    gw_request_free(c->in.req); /* one being read */
    c->in.req = NULL;
    if (c->active != NULL) /* a transaction still running finishes (and stores) alone */
        c->active->conn = NULL;
    c->active = NULL;
    if (c->counted)
        c->srv->connections--;
    c->counted = false;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct gw_server *s = server->data;
    if (status != 0)
        return;
    struct gw_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->handles_open = 2;
    c->tcp.data = c->timer.data = c;
    gw_http_in_init(&c->in, s->cfg.header_bytes_max, s->cfg.body_bytes_max);
    c->ssl = SSL_new(s->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || c->ssl == NULL || c->rbio == NULL ||
        c->wbio == NULL) {
        if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
            BIO_free(c->rbio);
            BIO_free(c->wbio);
        } else {
            SSL_set_bio(c->ssl, c->rbio, c->wbio);
        }
        conn_close(c);
        return;
    }
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_accept_state(c->ssl);
    c->counted = true;
    c->over_limit = ++s->connections > s->cfg.connections_max;
    uv_tcp_nodelay(&c->tcp, 1);
    arm(c, PH_HEADERS);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

static SSL_CTX *server_ctx(const struct gw_config *cfg, char *msg, size_t size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *what = ctx == NULL ? "SSL_CTX_new" : NULL;
    if (what == NULL) {
        /* TLS 1.2 and 1.3: counter software on older systems has no 1.3. */
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
            what = cfg->cert_file;
        else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
                 SSL_CTX_check_private_key(ctx) != 1)
            what = cfg->key_file;
        else if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1)
            what = cfg->ca_file;
        else {
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca_file);
            if (names == NULL)
                what = cfg->ca_file;
            else
                SSL_CTX_set_client_CA_list(ctx, names);
        }
    }
    if (what == NULL)
        return ctx;
    char reason[256] = "";
    ERR_error_string_n(ERR_peek_last_error(), reason, sizeof reason);
    ERR_clear_error();
    snprintf(msg, size, "TLS: %s: %s", what, reason);
    SSL_CTX_free(ctx);
    return NULL;
}

static int write_port(const struct gw_config *cfg, int port)
{
    if (cfg->port_file[0] == '\0')
        return 0;
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", cfg->port_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, cfg->port_file);
}

int gw_server_start(struct gw_server *s, uv_loop_t *loop, char *msg, size_t size)
{
    s->loop = loop;
    s->ctx = server_ctx(&s->cfg, msg, size);
    if (s->ctx == NULL)
        return -1;
    if (gw_store_open(&s->store, loop, s->cfg.data_dir, s->cfg.map_bytes_max, msg, size) != 0)
        return -1;
    if (gw_engines_new(&s->engines, loop, &s->cfg) != 0) {
        snprintf(msg, size, "out of memory");
        return -1;
    }
    struct sockaddr_storage ss;
    if (uv_ip4_addr(s->cfg.listen_host, s->cfg.listen_port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(s->cfg.listen_host, s->cfg.listen_port, (struct sockaddr_in6 *)&ss) != 0) {
        snprintf(msg, size, "listen: %s is not an address", s->cfg.listen_host);
        return -1;
    }
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    int rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 512, on_connection);
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (rc == 0)
        rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
    if (rc != 0) {
        snprintf(msg, size, "listen %s:%d: %s", s->cfg.listen_host, s->cfg.listen_port,
                 uv_strerror(rc));
        return -1;
    }
    int port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    if (write_port(&s->cfg, port) != 0) {
        snprintf(msg, size, "%s: cannot write", s->cfg.port_file);
        return -1;
    }
    fprintf(stderr, "sanhe-gateway: listening on %s:%d\n", s->cfg.listen_host, port);
    return 0;
}

void gw_server_stop(struct gw_server *s)
{
    s->stopping = true;
    if (!uv_is_closing((uv_handle_t *)&s->listener))
        uv_close((uv_handle_t *)&s->listener, NULL);
}
