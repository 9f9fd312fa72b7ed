/*
 * A connection's output. Replies are framed into a plaintext buffer as they
 * are answered (conn_queue_reply), and conn_flush only puts the connection
 * on the server's flush list. Once per loop iteration, just before the loop
 * polls (a uv_prepare hook), each listed connection's plaintext is
 * encrypted in one SSL_write into the memory BIO and the BIO's ciphertext
 * goes out in one uv_write: however many replies the iteration answered on
 * that connection (reads answered at once, one or more batches, pooled
 * reads), one TLS write and one socket write. The close sequence writes at
 * once (conn_flush_now), its close_notify in the same write.
 *
 * Order: a connection's replies go out in the order they were queued, since
 * every path appends to the same buffer and every write takes all of it.
 * Limits: out_len (plaintext not yet encrypted) and out_bytes (ciphertext
 * the socket has not taken) count together against output_max_bytes
 * (conn_input_paused), so backpressure sees a reply from the moment it is
 * queued; after each write the connection is checked again against the
 * engine-wide output_total_max_bytes, which counts ciphertext
 * (conn_pause_if_over).
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

/* The queued replies into the write BIO: one SSL_write. */
static void conn_encrypt(struct conn *c)
{
    if (c->out_len == 0 || c->state == CONN_CLOSED)
        return;
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
    if (rc != TLS_DONE)
        conn_abort(c, "TLS write failed");
}

void conn_flush_now(struct conn *c, bool close_notify)
{
    conn_encrypt(c);
    if (close_notify && c->state != CONN_CLOSED)
        tls_session_shutdown(&c->tls); /* after the replies: no SSL_write follows it */
    conn_send_ciphertext(c);
}

void conn_flush(struct conn *c)
{
    if (c->flush_queued || c->state == CONN_CLOSED || c->state == CONN_SHUTDOWN)
        return;
    struct net_server *server = c->server;
    c->flush_queued = true;
    c->flush_next = NULL;
    conn_ref(c); /* freed no earlier than its flush */
    if (server->flush_tail != NULL)
        server->flush_tail->flush_next = c;
    else
        server->flush_head = c;
    server->flush_tail = c;
    /* Output waiting keeps the loop running until it is written. */
    uv_ref((uv_handle_t *)&server->output_prepare);
}

/* ---- Once per loop iteration ------------------------------------------------------ */

/* Once per iteration, just before the loop polls: every connection with
 * output queued since the last time is written, once; what was written
 * since the last time is this iteration's (net_stats). */
static void conn_output_on_prepare(uv_prepare_t *prepare)
{
    struct net_server *server = prepare->data;
    struct net_stats *stats = &server->stats;
    struct conn *c = server->flush_head;
    server->flush_head = server->flush_tail = NULL;
    uv_unref((uv_handle_t *)prepare);
    while (c != NULL) {
        struct conn *next = c->flush_next;
        assert(c->flush_queued && c->refs > 0);
        c->flush_queued = false;
        c->flush_next = NULL;
        conn_flush_now(c, false);
        conn_pause_if_over(c);
        conn_unref(c); /* may free it */
        c = next;
    }
    /* Neither a write nor a pause queues output: nothing is left for later. */
    assert(server->flush_head == NULL);
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
