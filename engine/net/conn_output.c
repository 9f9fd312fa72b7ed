/*
 * A connection's output: replies are framed into a plaintext buffer during
 * an iteration (conn_queue_reply), then encrypted together (conn_flush) so
 * that replies of one batch share TLS records, and the ciphertext goes out
 * in one uv_write. out_bytes counts what the socket has not taken yet; it
 * drives the output backpressure (conn_input_paused).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "net_internal.h"

struct conn_write {
    uv_write_t req;
    struct conn *conn;
    size_t len;
    uint8_t data[];
};

static void conn_on_write(uv_write_t *req, int status)
{
    struct conn_write *w = (struct conn_write *)req;
    struct conn *c = w->conn;
    assert(c->out_bytes >= w->len);
    c->out_bytes -= w->len;
    c->server->out_total_bytes -= w->len;
    if (w->len > 64 * 1024)
        conn_limits_freed(c->server, w->len);
    free(w);
    if (status < 0) {
        if (c->state != CONN_CLOSED)
            conn_abort(c, uv_strerror(status));
        return;
    }
    conn_update_reading(c); /* output below the limit again: resume */
}

/* Moves the ciphertext OpenSSL produced into one uv_write. */
static void conn_send_ciphertext(struct conn *c)
{
    size_t pending = tls_session_pending(&c->tls);
    if (pending == 0 || c->state == CONN_CLOSED)
        return;
    struct conn_write *w = malloc(sizeof *w + pending);
    if (w == NULL) {
        conn_abort(c, "out of memory");
        return;
    }
    w->conn = c;
    w->len = tls_session_drain(&c->tls, w->data, pending);
    assert(w->len <= pending);
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, conn_on_write);
    if (rc != 0) { /* its callback never runs */
        free(w);
        conn_abort(c, uv_strerror(rc));
        return;
    }
    c->out_bytes += w->len;
    c->server->out_total_bytes += w->len;
    c->server->stats.socket_writes++;
    c->server->iteration_socket_writes++;
}

/* Appends one framed reply to the plaintext output (encrypted by conn_flush,
 * so that replies of one iteration share TLS records). */
void conn_queue_reply(struct conn *c, const struct sh_reply *reply)
{
    if ((c->state != CONN_OPEN && c->state != CONN_CLOSING) || reply->data == NULL)
        return;
    assert(reply->len <= UINT32_MAX); /* a frame's length is 4 bytes */
    net_stats_record_reply(&c->server->stats, frame_reply_error(reply->data, reply->len));
    size_t need = c->out_len + FRAME_HEADER_BYTES + reply->len;
    if (need > c->out_cap) {
        size_t cap = c->out_cap > 0 ? c->out_cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *out = realloc(c->out, cap);
        if (out == NULL) {
            conn_abort(c, "out of memory");
            return;
        }
        c->out = out;
        c->out_cap = cap;
    }
    frame_length_put(c->out + c->out_len, (uint32_t)reply->len);
    memcpy(c->out + c->out_len + FRAME_HEADER_BYTES, reply->data, reply->len);
    c->out_len = need;
    assert(c->out_len <= c->out_cap);
}

void conn_flush(struct conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    if (c->out_len > 0) {
        int rc = tls_session_write(&c->tls, c->out, c->out_len);
        c->out_len = 0;
        c->server->stats.tls_writes++;
        c->server->iteration_tls_writes++;
        if (c->out_cap > 64 * 1024) { /* a big reply went out: give the memory back */
            conn_limits_freed(c->server, c->out_cap);
            free(c->out);
            c->out = NULL;
            c->out_cap = 0;
        }
        if (rc != TLS_DONE) {
            conn_abort(c, "TLS write failed");
            return;
        }
    }
    conn_send_ciphertext(c);
}

/* ---- Once per loop iteration ------------------------------------------------------ */

/* A uv_prepare hook runs once per iteration, just before the loop polls:
 * what was written since the last one is this iteration's. */
static void conn_output_on_prepare(uv_prepare_t *prepare)
{
    struct net_server *server = prepare->data;
    struct net_stats *stats = &server->stats;
    if (server->iteration_socket_writes > 0 || server->iteration_tls_writes > 0)
        stats->output_iterations++;
    if (server->iteration_tls_writes > stats->tls_writes_iteration_max)
        stats->tls_writes_iteration_max = server->iteration_tls_writes;
    if (server->iteration_socket_writes > stats->socket_writes_iteration_max)
        stats->socket_writes_iteration_max = server->iteration_socket_writes;
    server->iteration_tls_writes = 0;
    server->iteration_socket_writes = 0;
}

void conn_output_init(struct net_server *server)
{
    uv_prepare_init(server->loop, &server->output_prepare);
    server->output_prepare.data = server;
    server->handles_open++;
    uv_prepare_start(&server->output_prepare, conn_output_on_prepare);
    uv_unref((uv_handle_t *)&server->output_prepare); /* the hook alone keeps no loop alive */
}

static void conn_output_on_close(uv_handle_t *handle) { server_handle_closed(handle->data); }

void conn_output_close(struct net_server *server)
{
    uv_close((uv_handle_t *)&server->output_prepare, conn_output_on_close);
}
