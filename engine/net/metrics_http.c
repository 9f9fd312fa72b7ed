/*
 * The metrics endpoint: a small HTTP/1.1 server on the engine's loop, its
 * requests parsed by http-parser (and the URL by http_parser_parse_url).
 * It answers GET /metrics (and HEAD) with the exposition of metrics.c and
 * closes; every limit is in net.h. Nothing here touches a terminal's
 * connection: a slow or hostile scraper costs only its own socket.
 */
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "net_log.h"

struct mconn {
    struct net_metrics_http *m;
    struct mconn *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write_req;
    http_parser parser;
    int handles; /* tcp + timer still open */
    bool closing, answered;
    size_t received;
    char url[512];
    size_t url_len;
    bool url_too_long;
    char *response;
    char buf[4096];
};

struct net_metrics_http {
    uv_loop_t *loop;
    struct net_server *server;
    uv_tcp_t listener;
    http_parser_settings settings;
    struct mconn *conns;
    int conn_count;
    int port;
    int handles; /* the listener + every connection */
    bool closing;
};

static void metrics_maybe_free(struct net_metrics_http *m)
{
    if (m->closing && m->handles == 0)
        free(m);
}

static void mconn_on_closed(uv_handle_t *h)
{
    struct mconn *c = h->data;
    if (--c->handles > 0)
        return;
    struct net_metrics_http *m = c->m;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        m->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    m->conn_count--;
    m->handles--;
    free(c->response);
    free(c);
    metrics_maybe_free(m);
}

static void mconn_close(struct mconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, mconn_on_closed);
    uv_close((uv_handle_t *)&c->timer, mconn_on_closed);
}

static void mconn_on_written(uv_write_t *req, int status)
{
    (void)status;
    mconn_close(req->data);
}

static void mconn_respond(struct mconn *c, int status, const char *reason, const char *type,
                          const char *body, size_t body_len, bool head)
{
    if (c->answered)
        return;
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    char header[256];
    int n = snprintf(header, sizeof header,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, type, body_len);
    size_t total = (size_t)n + (head ? 0 : body_len);
    c->response = malloc(total);
    if (c->response == NULL) {
        mconn_close(c);
        return;
    }
    memcpy(c->response, header, (size_t)n);
    if (!head)
        memcpy(c->response + n, body, body_len);
    uv_buf_t buf = uv_buf_init(c->response, (unsigned)total);
    c->write_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, mconn_on_written) != 0)
        mconn_close(c);
}

static void mconn_error(struct mconn *c, int status, const char *reason)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason);
    mconn_respond(c, status, reason, "text/plain; charset=utf-8", body, (size_t)n, false);
}

static int mconn_on_url(http_parser *p, const char *at, size_t len)
{
    struct mconn *c = p->data;
    if (c->url_len + len >= sizeof c->url) {
        c->url_too_long = true;
        return 0;
    }
    memcpy(c->url + c->url_len, at, len);
    c->url_len += len;
    c->url[c->url_len] = '\0';
    return 0;
}

/* The URL's path is exactly /metrics (a query string is ignored). */
static bool mconn_is_metrics(const struct mconn *c)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (c->url_too_long || http_parser_parse_url(c->url, c->url_len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH)))
        return false;
    return u.field_data[UF_PATH].len == 8 &&
           memcmp(c->url + u.field_data[UF_PATH].off, "/metrics", 8) == 0;
}

static int mconn_on_complete(http_parser *p)
{
    struct mconn *c = p->data;
    bool head = p->method == HTTP_HEAD;
    if (p->method != HTTP_GET && !head) {
        mconn_error(c, 405, "Method Not Allowed");
    } else if (!mconn_is_metrics(c)) {
        mconn_error(c, 404, "Not Found");
    } else {
        char *body;
        size_t len;
        if (net_metrics_format(c->m->server, &body, &len) != 0) {
            mconn_error(c, 500, "Internal Server Error");
        } else {
            mconn_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len,
                          head);
            free(body);
        }
    }
    return 1; /* one request per connection: stop parsing */
}

static void mconn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct mconn *c = h->data;
    *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void mconn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct mconn *c = s->data;
    if (nread == 0 || c->answered)
        return;
    if (nread < 0) {
        mconn_close(c);
        return;
    }
    c->received += (size_t)nread;
    if (c->received > NET_METRICS_REQUEST_MAX) {
        mconn_error(c, 413, "Request Too Large");
        return;
    }
    size_t parsed = http_parser_execute(&c->parser, &c->m->settings, buf->base, (size_t)nread);
    if (!c->answered && (parsed != (size_t)nread || HTTP_PARSER_ERRNO(&c->parser) != HPE_OK))
        mconn_error(c, 400, "Bad Request");
}

static void mconn_on_timeout(uv_timer_t *t) { mconn_close(t->data); }

static void metrics_on_connection(uv_stream_t *listener, int status)
{
    struct net_metrics_http *m = listener->data;
    if (status < 0 || m->closing)
        return;
    struct mconn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->m = m;
    uv_tcp_init(m->loop, &c->tcp);
    uv_timer_init(m->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = m->conns;
    if (m->conns != NULL)
        m->conns->prev = c;
    m->conns = c;
    m->conn_count++;
    m->handles++;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
        m->conn_count > NET_METRICS_CONNECTIONS_MAX) {
        mconn_close(c);
        return;
    }
    uv_timer_start(&c->timer, mconn_on_timeout, NET_METRICS_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, mconn_alloc, mconn_on_read);
}

static void metrics_on_listener_closed(uv_handle_t *h)
{
    struct net_metrics_http *m = h->data;
    m->handles--;
    metrics_maybe_free(m);
}

static int metrics_bind(struct net_metrics_http *m, const char *host, int port,
                        struct sh_error *err)
{
    struct sockaddr_storage addr;
    int rc = strchr(host, ':') != NULL ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                                       : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc == 0)
        rc = uv_tcp_bind(&m->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&m->listener, 64, metrics_on_connection);
    struct sockaddr_storage bound;
    int len = sizeof bound;
    if (rc == 0)
        rc = uv_tcp_getsockname(&m->listener, (struct sockaddr *)&bound, &len);
    if (rc != 0)
        return sh_error_set(err, SH_E_INTERNAL, "metrics: cannot listen on %s port %d: %s", host,
                            port, uv_strerror(rc));
    m->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}

int net_metrics_http_start(uv_loop_t *loop, const char *host, int port, struct net_server *server,
                           struct net_metrics_http **out, struct sh_error *err)
{
    struct net_metrics_http *m = calloc(1, sizeof *m);
    if (m == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    m->loop = loop;
    m->server = server;
    m->settings.on_url = mconn_on_url;
    m->settings.on_message_complete = mconn_on_complete;
    uv_tcp_init(loop, &m->listener);
    m->listener.data = m;
    m->handles = 1;
    int rc = metrics_bind(m, host, port, err);
    if (rc != 0) {
        m->closing = true;
        uv_close((uv_handle_t *)&m->listener, metrics_on_listener_closed);
        return rc;
    }
    net_log_always("metrics: listening on %s port %d (GET /metrics)", host, m->port);
    *out = m;
    return 0;
}

int net_metrics_http_port(const struct net_metrics_http *m) { return m->port; }

void net_metrics_http_close(struct net_metrics_http *m)
{
    if (m == NULL || m->closing)
        return;
    m->closing = true;
    for (struct mconn *c = m->conns; c != NULL; c = c->next)
        mconn_close(c);
    uv_close((uv_handle_t *)&m->listener, metrics_on_listener_closed);
}
