/*
 * Shared by the server's files: the server, a connection, the write queue.
 *
 *   listener.c   bind, listen, accept (and the connections_max refusal)
 *   conn.c       a connection's life: accept, TLS handshake, timers,
 *                reading and backpressure, the close sequence
 *   conn_output.c replies out: framing, encryption, uv_write
 *   conn_input.c frames in: decode, check, answer reads, queue writes
 *   handoff.c    writes to the durability pipeline (engine/durable), replies back
 *   terminal.c   certificate CN -> (hospital, role)
 *   server.c     create, stop, free
 */
#ifndef NET_INTERNAL_H
#define NET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "durable.h"
#include "ledger.h"
#include "net.h"
#include "tls.h"
#include "tls_crl.h"

/* ---- Person lookups per terminal (rate.c) ------------------------------------ */

#define RATE_TERMINALS_MAX 4096

struct rate_entry {
    char terminal[64];
    bool used;
    uint64_t tokens;  /* in 1/60000 of a lookup */
    uint64_t last_ms; /* the last refill */
    uint64_t lookups, settles, refused;
};

struct rate_table {
    struct rate_entry *entries; /* RATE_TERMINALS_MAX, allocated on first use */
    size_t len;
};

/* ---- A connection --------------------------------------------------------- */

/* Only ever forward. */
enum conn_state {
    CONN_HANDSHAKE, /* TLS handshake under handshake_timeout_ms */
    CONN_OPEN,      /* frames are read and answered */
    CONN_CLOSING,   /* no more input; waiting for in-flight writes to be answered */
    CONN_SHUTDOWN,  /* our side is shut (close_notify + FIN); draining the peer for a while */
    CONN_CLOSED     /* uv_close called on both handles */
};

struct conn {
    struct net_server *server;
    struct conn *prev, *next; /* the server's list */
    uint64_t id;              /* for log lines */
    enum conn_state state;
    uv_tcp_t tcp;
    uv_timer_t timer;       /* handshake, then idle, then linger timeout */
    uv_timer_t frame_timer; /* frame_timeout_ms: running while a frame is incomplete */
    uv_shutdown_t shutdown_req;
    struct tls_session tls;
    int handles_open;     /* tcp + timer + frame_timer; freed when 0 and refs is 0 */
    uint32_t refs;        /* writes in the durability pipeline still holding this connection */
    bool reading;         /* uv_read_start is in effect */
    bool over_limit;      /* accepted past connections_max: refuse after the handshake */
    bool has_caller;      /* the CN maps to a terminal */
    bool subject_refused; /* its CN names a terminal, its subject does not (logged) */
    bool share_held;      /* counted in its terminal's and hospital's shares (conn_limits.c) */
    struct sh_caller caller;
    char cn[64];        /* the certificate's CN, "" before the handshake */
    char peer[64];      /* "address:port" */
    uint32_t inflight;  /* write requests queued and not yet answered */
    uint64_t out_bytes; /* ciphertext handed to uv_write, not yet written */
    uint8_t *in;        /* decrypted input: [in_pos, in_len) not yet decoded */
    size_t in_pos, in_len, in_cap;
    uint8_t *out; /* framed replies not yet encrypted */
    size_t out_len, out_cap;
    /* In the server's flush list (conn_output.c), holding a reference:
     * written at the end of the iteration. */
    bool flush_queued;
    struct conn *flush_next;
    uint64_t idle_from_ms; /* uv_now of the last whole frame (conn_idle_restart) */
};

/* ---- The server --------------------------------------------------------- */

struct net_server {
    uv_loop_t *loop;
    struct ledger *ledger;
    SSL_CTX *tls_ctx;
    struct net_limits limits;
    struct net_terminal *terminals;
    size_t terminal_count;
    uv_tcp_t listener;
    bool listening;
    int port;
    uv_prepare_t output_prepare;          /* conn_output.c: once per iteration, before the poll */
    struct conn *flush_head, *flush_tail; /* connections with output to write */
    uint64_t iteration_tls_writes;        /* in this iteration so far (net_stats) */
    uint64_t iteration_socket_writes;
    struct durable *durable; /* the group commit (handoff.c) */
    uv_timer_t stop_timer;
    struct conn *conns; /* every connection not yet freed */
    uint64_t next_conn_id;
    uint32_t conns_counted;  /* under connections_max (not over_limit ones) */
    uint32_t conns_refusing; /* over_limit ones still open */
    /* Memory every connection holds together (conn_limits.c): input buffers
     * (in_cap) and ciphertext handed to uv_write (out_bytes). */
    uint64_t in_total_bytes;
    uint64_t out_total_bytes;
    uint64_t freed_since_trim_bytes; /* large buffers freed since the last malloc_trim */
    uint64_t trim_last_ms;
    int handles_open; /* listener, the pipeline's check, output prepare, stop timer */
    bool stopping;
    bool bench_echo; /* net_config.bench_echo: answer without the ledger */
    void (*stop_done)(void *ctx);
    void *stop_ctx;
    struct tls_revocation revocation; /* reload.c: CRL and disabled terminals */
    uint64_t enospc_seen;             /* diskfull.c: the store's enospc_count last logged */
    bool disk_full;                   /* diskfull.c: the last batch was refused for ENOSPC */
    uint8_t read_buf[64 * 1024];      /* every uv read lands here, then goes to OpenSSL */
    struct read_pool *reads;          /* read_pool.c */
    struct net_stats stats;
    struct rate_table rates; /* rate.c */
};

/* listener.c */
int listener_start(struct net_server *server, const char *host, int port, struct sh_error *err);
void listener_close(struct net_server *server);

/* conn.c */
void conn_accept(struct net_server *server);
void conn_ref(struct conn *conn);
void conn_unref(struct conn *conn);
/* conn_output.c: a reply is queued (framed, in plaintext); conn_flush
 * marks the connection for the end of the iteration, when everything it
 * queued goes out in one SSL_write and one socket write; conn_flush_now
 * writes at once (the close sequence), close_notify after the replies. */
void conn_queue_reply(struct conn *conn, const struct sh_reply *reply);
void conn_flush(struct conn *conn);
void conn_flush_now(struct conn *conn, bool close_notify);
/* conn.c: stops reading a connection now past its output limits. */
void conn_pause_if_over(struct conn *conn);
void conn_update_reading(struct conn *conn);
/* conn_output.c: the per-iteration hook (a server handle), and its close. */
void conn_output_init(struct net_server *server);
void conn_output_close(struct net_server *server);
void conn_finish(struct conn *conn, const char *why);
void conn_refuse(struct conn *conn, int code, const char *message);
void conn_abort(struct conn *conn, const char *why);
void conn_write_done(struct conn *conn);   /* an in-flight write (or pooled read) was answered */
void conn_idle_restart(struct conn *conn); /* a whole frame came: not idle */
bool conn_input_paused(const struct conn *conn);

/* conn_limits.c: fair shares of connections and memory, the frame deadline. */
/* After the terminal is known: false when the connection was refused (its
 * terminal or hospital holds its share already). */
bool conn_limits_admit(struct conn *conn);
/* Whether the input buffer may grow from conn->in_cap to cap bytes. */
bool conn_limits_input_grow(struct conn *conn, size_t cap);
void conn_limits_input_set(struct conn *conn, size_t cap); /* in_cap is now cap */
/* The engine's unsent replies are past output_total_max_bytes and this
 * connection holds more than its small fair part of them. */
bool conn_limits_output_over(const struct conn *conn);
/* Starts, keeps or stops the frame deadline after input was processed;
 * restart: a whole frame was just taken, the next one starts afresh. */
void conn_limits_frame_deadline(struct conn *conn, bool restart);
/* A large buffer was freed: gives memory back to the system now and then. */
void conn_limits_freed(struct net_server *server, size_t bytes);

/* conn_input.c: decode and dispatch every complete frame while not paused. */
void conn_input_process(struct conn *conn);
/* FORBIDDEN is logged with terminal and operation, whoever refused. */
void conn_log_forbidden(struct conn *conn, const Sanhe__Request *request);

/* rate.c: false when the terminal is past its lookup rate (*refused: how
 * many of its lookups were refused so far, for the log). */
bool rate_lookup_admit(struct net_server *server, const struct sh_caller *caller, uint64_t now_ms,
                       uint64_t *refused);
/* A lookup not held to the rate (a query): counted only. */
void rate_lookup_note(struct net_server *server, const struct sh_caller *caller, uint64_t now_ms);
void rate_settle_note(struct net_server *server, const struct sh_caller *caller, uint64_t now_ms);
bool rate_flagged(const struct net_server *server, const struct rate_entry *e);
void rate_free(struct net_server *server);

/* lookup.c: eligibility, query and presettle, rate-limited and audited;
 * takes ownership of request. */
bool lookup_audited(const Sanhe__Request *request);
void lookup_dispatch(struct conn *conn, Sanhe__Request *request);
/* The audit record of a settle, once its reply is known (writer thread). */
void lookup_settle_audit(struct durable_item *item, int64_t now_ms);

/* handoff.c: the durability pipeline's network side. */
int handoff_init(struct net_server *server); /* all or nothing */
/* Queues a write of the connection (ownership of request passes on 0);
 * its reply comes once durable, the connection counts it in inflight. */
int handoff_submit(struct net_server *server, struct conn *conn, Sanhe__Request *request);
/* A read answered already (reply taken over), waiting only for its audit
 * record to be committed and synced with the next batch. */
int handoff_submit_answered(struct net_server *server, struct conn *conn, Sanhe__Request *request,
                            struct sh_reply *reply, const struct ledger_audit_record *audit);
/* No write queued, none applying, none waiting for its sync. */
bool handoff_idle(const struct net_server *server);

/* read_pool.c: the costly reads on libuv's pool, a queue per terminal. */
struct read_pool;
int read_pool_init(struct net_server *server, uint32_t worker_threads); /* 0 or SH_E_INTERNAL */
void read_pool_free(struct net_server *server);
/* The reads whose cost grows with the data: they go to the pool. */
bool read_pool_takes(const Sanhe__Request *request);
/* Queues the read (ownership of request passes on 0; its reply comes later,
 * the connection counts it in inflight meanwhile). SH_E_LIMIT_EXCEEDED with
 * why filled when the terminal's or the engine's queue is full. */
int read_pool_submit(struct net_server *server, struct conn *conn, Sanhe__Request *request,
                     char *why, size_t why_len);
/* No read waiting or running. */
bool read_pool_idle(const struct net_server *server);
/* Reads waiting or running, every terminal (metrics). */
uint32_t read_pool_queued(const struct net_server *server);

/* quota_log.c: the ledger's observer of quota refusals (ledger_quota_observe). */
void quota_log_refusal(void *ctx, const struct ledger_quota_event *e);

/* terminal.c: fills conn->caller from conn->cn; false when no terminal has it. */
bool terminal_resolve(struct net_server *server, struct conn *conn);

/* reload.c: the CRL and the revocation callback on a new context. */
int reload_tls_setup(struct net_server *server, SSL_CTX *ctx, const char *crl_file,
                     size_t *revoked_count, struct sh_error *err);

/* diskfull.c: after each batch is answered (rc its outcome): says in the log
 * when writes start being refused because the data file system is full
 * (ENOSPC), and when they succeed again. */
void diskfull_note_batch(struct net_server *server, int rc);

/* server.c: a handle of the server's own was closed (stop bookkeeping). */
void server_handle_closed(struct net_server *server);
void server_conn_freed(struct net_server *server);
/* A batch ended: a batch of audit records alone frees no connection, so
 * the stop also looks again here. */
void server_batch_done(struct net_server *server);

#endif
