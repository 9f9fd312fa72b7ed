/*
 * sanhe-gateway: the national medical-insurance interface (JSON over HTTPS,
 * one transaction number a call) in front of one or more sanhe-engines.
 * docs/gateway.md describes the mapping; adapters/gateway/README.md a session.
 *
 *   gw_config.c  the INI file
 *   gw_http.c    HTTPS on libuv: TLS through memory BIOs, http-parser, limits
 *   gw_env.c     the envelope: checks, the reply, infcodes, x-tif signatures
 *   gw_txn.c     the transactions, over the engines
 *   gw_engine.c  engines by region, one pipelined connection per (region, hospital)
 *   gw_store.c   the gateway's own durable state (LMDB): replies and visits,
 *                group-committed off the loop
 *   gw_lock.c    msgids and visits in use: a second call on one waits
 *   gw_num.c     yuan <-> fen and every JSON number, exactly
 */
#ifndef GW_H
#define GW_H

#include <http_parser.h>
#include <jansson.h>
#include <lmdb.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sanhe.pb-c.h"
#include "sanhe/client.h"

#define GW_REGIONS_MAX 64
#define GW_MAP_MAX 128
#define GW_CODE_MAX 32
#define GW_HOSPITAL_MAX 16 /* a msgid is the code and 18 digits: at most 31 bytes */
#define GW_LINES_MAX 10000
#define GW_MSG_MAX 512

/* ---- Configuration (gw_config.c) ---- */

struct gw_region {
    char admdvs[GW_CODE_MAX]; /* insuplc_admdvs, or "*" for every other region */
    char engines[256];        /* host:port[,host:port] */
};

struct gw_pair {
    char key[96];
    char value[64];
    char extra[32];
};

struct gw_config {
    char listen_host[64];
    int listen_port;
    char port_file[512];
    char ca_file[512], cert_file[512], key_file[512];
    char data_dir[512];
    size_t header_bytes_max, body_bytes_max, connections_max;
    int header_timeout_ms, body_timeout_ms, idle_timeout_ms, engine_timeout_ms;
    size_t map_bytes_max;
    char signature_key[256]; /* "": x-tif headers are not checked */
    int signature_skew_s;
    /* The engine side: each hospital's counter terminal certificate. */
    char engine_ca_file[512], terminal_dir[512], terminal_prefix[64];
    struct gw_region regions[GW_REGIONS_MAX];
    size_t region_count;
    struct gw_pair fund_types[GW_MAP_MAX]; /* fund id -> fund_pay_type */
    size_t fund_type_count;
    struct gw_pair idet[GW_MAP_MAX]; /* "fund/category" -> psn_idet_type, psn_type_lv */
    size_t idet_count;
    struct gw_pair med_types[GW_MAP_MAX]; /* med_type -> visit */
    size_t med_type_count;
};

int gw_config_load(struct gw_config *c, const char *path, char *msg, size_t msg_size);
const char *gw_config_fund_type(const struct gw_config *c, const char *fund);
const char *gw_config_visit(const struct gw_config *c, const char *med_type);
const char *gw_config_med_type(const struct gw_config *c, const char *visit);
const struct gw_pair *gw_config_idet(const struct gw_config *c, const char *fund,
                                     const char *category);
const struct gw_region *gw_config_region(const struct gw_config *c, const char *admdvs);

/* ---- Durable state (gw_store.c) ---- */

#define GW_STORE_PUTS_MAX 2             /* records of one call */
#define GW_STORE_BATCH_WAITERS_MAX 8192 /* calls of one group commit */

struct gw_store_batch;

struct gw_store {
    MDB_env *env;
    MDB_dbi replies, visits;
    uv_loop_t *loop;
    uv_check_t hook; /* once a loop turn: the open batch to the pool */
    uv_idle_t kick;  /* the same, when a batch opens outside a turn */
    bool hook_open;
    uv_work_t work;
    struct gw_store_batch *open;   /* records handed in since the last commit began */
    struct gw_store_batch *flying; /* being committed on the pool */
    uint64_t commits, records;     /* so far: group commits and the records in them */
    size_t batch_waiters_max;      /* the most calls one commit carried */
};

/* One record: key (hospital, id) in db. */
struct gw_store_put {
    MDB_dbi db;
    const char *hospital, *id;
    const void *val;
    size_t len;
};

/* rc 0: the call's records are on disk (synced); -1: they are not. */
typedef void (*gw_store_done_cb)(void *arg, int rc);

int gw_store_open(struct gw_store *s, uv_loop_t *loop, const char *dir, size_t map_bytes, char *msg,
                  size_t size);
void gw_store_close(struct gw_store *s);
/* A stored record of (hospital, id): 0 found (*val malloc'ed), 1 none, <0 error. */
int gw_store_get(struct gw_store *s, MDB_dbi db, const char *hospital, const char *id, void **val,
                 size_t *len);
/* Hands in one call's records (copied) for the next group commit; cb runs
 * on the loop once they are durable, or failed. 0 queued, -1 not (out of
 * memory, a full batch): cb will not run. */
int gw_store_submit(struct gw_store *s, const struct gw_store_put *puts, size_t n,
                    gw_store_done_cb cb, void *arg);

/* ---- Engines (gw_engine.c) ---- */

struct gw_engines;
int gw_engines_new(struct gw_engines **out, uv_loop_t *loop, const struct gw_config *c);
void gw_engines_free(struct gw_engines *e);
/* The pipe to the engine of region for hospital's terminal, opened once.
 * NULL when the region has no engine or the terminal's certificate is
 * missing (msg says which). */
sanhe_pipe *gw_engines_pipe(struct gw_engines *e, const char *region, const char *hospital,
                            char *msg, size_t size);
/* The distinct engine regions (for 1101 before the region is known). */
size_t gw_engines_regions(const struct gw_engines *e, const char **out, size_t max);

/* ---- Keys in use (gw_lock.c) ---- */

#define GW_LOCK_BUCKETS 4096
#define GW_LOCK_KEY_MAX 64
#define GW_LOCKS_MAX 65536 /* keys held at once */

struct gw_lock;
struct gw_request;

struct gw_locks {
    struct gw_lock *buckets[GW_LOCK_BUCKETS];
    size_t held, parked;
    /* Calls whose key was let go, to be handled again (from idle). */
    struct gw_request *ready, **ready_tail;
    uv_idle_t idle;
    bool idle_open;
};

/* The key (hospital, kind, id): 0 taken (*out is it), 1 held by another
 * call (*out is the one to wait on), -1 out of room. */
int gw_lock_take(struct gw_locks *ls, const char *hospital, char kind, const char *id,
                 struct gw_lock **out);
/* Parks r on l: handled again (gw_txn_handle) once l is let go. */
void gw_lock_wait(struct gw_lock *l, struct gw_request *r);
/* Lets l go (and frees it); the calls parked on it are handled again. */
void gw_lock_release(struct gw_locks *ls, uv_loop_t *loop, struct gw_lock *l);

/* ---- The server (gw_http.c) ---- */

struct gw_server {
    uv_loop_t *loop;
    struct gw_config cfg;
    SSL_CTX *ctx;
    uv_tcp_t listener;
    struct gw_store store;
    struct gw_engines *engines;
    struct gw_locks locks;
    size_t connections;
    uint64_t refmsg_seq;
    bool stopping;
};

struct gw_conn;

/* What the HTTP layer hands the transaction layer: one whole request. */
struct gw_request {
    struct gw_server *srv;
    struct gw_conn *conn;               /* NULL once the connection is gone */
    char hospital[GW_HOSPITAL_MAX + 1]; /* the client certificate's */
    char path[64];
    char *body;
    size_t body_len;
    /* x-tif-* headers, "" when absent. */
    char tif_paasid[64], tif_timestamp[32], tif_nonce[64], tif_signature[130];
    /* With no connection: where gw_reply hands the reply (the fuzz
     * target's transactions without a socket), NULL to drop it. */
    void (*sink)(void *arg, int http_status, const char *body, size_t len);
    void *sink_arg;
    struct gw_request *wait_next; /* parked on a key (gw_lock.c) */
};

/* Reading requests from a connection's plaintext, with no socket (the
 * server's, and the fuzz target's, one way in): http-parser, the header
 * and body limits, the x-tif-* headers. */
struct gw_http_in {
    http_parser parser;
    size_t header_bytes_max, body_bytes_max;
    size_t header_bytes;
    char field[40], value[136];
    size_t field_len, value_len;
    bool in_value, in_body;
    int status;             /* a refusal: its HTTP status and message */
    const char *msg;        /* (a static text) */
    struct gw_request *req; /* being read */
};

enum gw_http_event {
    GW_HTTP_MORE,    /* every byte taken, no whole request yet */
    GW_HTTP_REQUEST, /* a whole request (gw_http_in_take); *used bytes were taken */
    GW_HTTP_REFUSED, /* answer in->status, in->msg and close */
};

void gw_http_in_init(struct gw_http_in *in, size_t header_bytes_max, size_t body_bytes_max);
enum gw_http_event gw_http_in_feed(struct gw_http_in *in, const char *data, size_t len,
                                   size_t *used);
/* After GW_HTTP_REQUEST: the request (body NUL-terminated, "" when none),
 * NULL when out of memory. The parser stays paused until resume. */
struct gw_request *gw_http_in_take(struct gw_http_in *in);
/* After the reply: unpauses; true when the connection may carry another. */
bool gw_http_in_resume(struct gw_http_in *in);
void gw_request_free(struct gw_request *r);

int gw_server_start(struct gw_server *s, uv_loop_t *loop, char *msg, size_t size);
void gw_server_stop(struct gw_server *s);
/* Sends the reply to a request (HTTP status, JSON body) and frees it. */
void gw_reply(struct gw_request *r, int http_status, const char *body, size_t len);

/* ---- The envelope and the transactions (gw_env.c, gw_txn.c) ---- */

/* infcodes besides 0 and -1 (docs/gateway.md, "infcode"). Engine refusals
 * are GW_INF_ENGINE + the engine's ErrorCode. */
enum {
    GW_INF_OK = 0,
    GW_INF_SYSTEM = -1,
    GW_INF_ENGINE = 1000,
    GW_INF_BAD_ENVELOPE = 2001,
    GW_INF_UNKNOWN_INFNO = 2002,
    GW_INF_BAD_SIGNATURE = 2004,
    GW_INF_UNKNOWN_VISIT = 2007,
    GW_INF_VISIT_STATE = 2008,
    GW_INF_SUM_MISMATCH = 2009,
    GW_INF_NO_ENGINE = 2010,
    GW_INF_HTTP_LIMIT = 2100,
};

/* A Chinese text for an engine refusal code (ErrorCode), never NULL. */
const char *gw_refusal_text(int engine_code);

/* Handles one request (takes it over; gw_reply is called once, later). */
void gw_txn_handle(struct gw_request *r);

/* An envelope reply with no output: the refusal of a request before any
 * transaction ran (limits, bad JSON). malloc'ed JSON. */
char *gw_env_error(int infcode, const char *err_msg, size_t *len);

/* x-tif signature: 0 good or not configured, -1 bad (why). */
int gw_env_check_signature(const struct gw_request *r, const struct gw_config *c, char *why,
                           size_t size);

/* "yyyy-MM-dd HH:mm:ss" of unix ms, local time. */
void gw_time_text(int64_t unix_ms, char out[20]);
int64_t gw_unix_ms(void);

#endif
