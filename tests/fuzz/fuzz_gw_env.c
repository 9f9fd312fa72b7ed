/*
 * fuzz_gw_env: request bodies of the national interface through
 * sanhe-gateway's transaction layer (gw_txn_handle, the server's own entry
 * after HTTP): the exact-number JSON load (gw_json_load, jansson), the
 * envelope's checks, each infno's input decoding into the gateway's request
 * structs (yuan amounts and quantities through gw_num), its own durable
 * state (visits and replies in LMDB, a fresh directory), and the reply.
 *
 * No engine: every region's engine is configured, but no hospital has a
 * terminal certificate, so a transaction that gets as far as an engine call
 * is refused with GW_INF_NO_ENGINE, synchronously, after its input decoded.
 *
 * The input: up to 16 requests separated by form feeds (JSON never has
 * one outside a string; a form feed in a string must be escaped). A request
 * that starts with '/' names its path up to the first newline ("/2204\n{...}"),
 * else the path is "/". The store is emptied before each input, so that a
 * crash reproduces from its input alone.
 *
 * Every reply must: come exactly once and synchronously, have an HTTP
 * status the gateway gives, be a JSON object with an integer infcode of
 * docs/gateway.md's list, err_msg empty exactly when infcode is 0, output
 * only when it is 0, and never a system error (-1: there is no engine to
 * fail, the store works). A call that succeeded on the gateway's own state
 * (9001, 2201-2205) is sent again at once and must get the same bytes.
 */
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw.h"
#include "gw_num.h"
#include "gw_txn.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HOSPITAL "H330424001"
#define PARTS_MAX 16

static struct gw_server srv;
static uv_loop_t loop;

struct reply {
    int calls, status;
    char *body;
    size_t len;
};

static void sink(void *arg, int status, const char *body, size_t len)
{
    struct reply *r = arg;
    r->calls++;
    r->status = status;
    free(r->body);
    r->body = malloc(len + 1);
    if (r->body == NULL)
        abort();
    memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->len = len;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_gw_env: %s: %s\n", what, detail != NULL ? detail : "");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* tmpfs when there is one: every stored reply is a synced commit. */
    char dir[] = "/dev/shm/fuzz_gw_env.XXXXXX";
    char alt[] = "/tmp/fuzz_gw_env.XXXXXX";
    const char *d = mkdtemp(dir);
    if (d == NULL && (d = mkdtemp(alt)) == NULL)
        die("mkdtemp", "");
    char ini[600], data[600];
    snprintf(ini, sizeof ini, "%s/gateway.ini", d);
    snprintf(data, sizeof data, "%s/data", d);
    FILE *f = fopen(ini, "w");
    if (f == NULL)
        die("cannot write", ini);
    fprintf(f,
            "[gateway]\nlisten = 127.0.0.1:0\nca = %s/none.crt\ncert = %s/none.crt\n"
            "key = %s/none.key\ndata_dir = %s\n"
            "[engine]\nca = %s/none.crt\nterminal_dir = %s/no-terminals\n"
            "[region 330424]\nengine = 127.0.0.1:1\n[region *]\nengine = 127.0.0.1:1\n"
            "[fund_pay_type]\ncoop = 390100\nserious = 390200\nassist = 610100\n",
            d, d, d, data, d, d);
    fclose(f);
    char msg[1024];
    if (gw_config_load(&srv.cfg, ini, msg, sizeof msg) != 0)
        die("config", msg);
    srv.cfg.map_bytes_max = (size_t)256 << 20;
    if (uv_loop_init(&loop) != 0)
        die("uv_loop_init", "");
    srv.loop = &loop;
    if (gw_store_open(&srv.store, &loop, data, srv.cfg.map_bytes_max, msg, sizeof msg) != 0)
        die("store", msg);
    if (gw_engines_new(&srv.engines, &loop, &srv.cfg) != 0)
        die("engines", "out of memory");
    return 0;
}

static void store_empty(void)
{
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(srv.store.env, NULL, 0, &txn) != 0 ||
        mdb_drop(txn, srv.store.replies, 0) != 0 || mdb_drop(txn, srv.store.visits, 0) != 0 ||
        mdb_txn_commit(txn) != 0)
        die("store", "cannot empty");
}

static bool infcode_known(json_int_t c)
{
    if (c == GW_INF_OK || c == GW_INF_SYSTEM || c == GW_INF_BAD_ENVELOPE ||
        c == GW_INF_UNKNOWN_INFNO || c == GW_INF_BAD_SIGNATURE || c == GW_INF_UNKNOWN_VISIT ||
        c == GW_INF_VISIT_STATE || c == GW_INF_SUM_MISMATCH || c == GW_INF_NO_ENGINE ||
        c == GW_INF_HTTP_LIMIT)
        return true;
    return c > GW_INF_ENGINE && c < GW_INF_ENGINE + 100;
}

/* One request through the transaction layer; the reply checked. */
static json_int_t send_one(const char *path, const char *body, size_t len, struct reply *out)
{
    struct gw_request *r = calloc(1, sizeof *r);
    if (r == NULL || (r->body = malloc(len + 1)) == NULL)
        die("out of memory", "");
    memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->body_len = len;
    r->srv = &srv;
    r->sink = sink;
    r->sink_arg = out;
    snprintf(r->hospital, sizeof r->hospital, "%s", HOSPITAL);
    snprintf(r->path, sizeof r->path, "%s", path);
    out->calls = 0;
    gw_txn_handle(r);
    /* A reply to be kept goes out once its group commit is done (on the
     * thread pool): the loop runs until then, a bounded number of turns. */
    for (int turn = 0; turn < 100000 && out->calls == 0; turn++)
        if (uv_run(&loop, UV_RUN_ONCE) == 0)
            break;
    uv_run(&loop, UV_RUN_NOWAIT);
    if (out->calls != 1)
        die("not exactly one reply", path);
    int s = out->status;
    if (s != 200 && s != 400 && s != 403 && s != 500 && s != 503)
        die("an HTTP status the gateway does not give", out->body);
    json_error_t err;
    json_t *doc = json_loadb(out->body, out->len, JSON_REJECT_DUPLICATES, &err);
    const json_t *code = json_object_get(doc, "infcode");
    const json_t *msg = json_object_get(doc, "err_msg");
    const json_t *output = json_object_get(doc, "output");
    if (!json_is_object(doc) || !json_is_integer(code) || !json_is_string(msg))
        die("a reply that is not an envelope", out->body);
    json_int_t c = json_integer_value(code);
    if (!infcode_known(c))
        die("an infcode not in docs/gateway.md", out->body);
    /* With a working store and no engine, a system error can only be the
     * gateway's own fault (a visit it cannot read back, say). */
    if (c == GW_INF_SYSTEM)
        die("a system error without an engine", out->body);
    if ((c == 0) != (json_string_length(msg) == 0))
        die("err_msg empty but not infcode 0, or the reverse", out->body);
    if ((c == 0) != (output != NULL && !json_is_null(output)) || (c == 0 && s != 200))
        die("output without success, or success without output", out->body);
    json_decref(doc);
    return c;
}

static const char *infno_of(const char *body, size_t len, char out[8])
{
    char why[64];
    json_t *doc = gw_json_load(body, len, why, sizeof why);
    const char *t = txn_code(doc, "infno");
    snprintf(out, 8, "%s", t != NULL ? t : "");
    json_decref(doc);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_empty();
    const char *s = (const char *)data;
    struct reply first = {0}, again = {0};
    size_t at = 0;
    for (int part = 0; part < PARTS_MAX && at <= size; part++) {
        const char *ff = memchr(s + at, '\f', size - at);
        size_t end = ff != NULL ? (size_t)(ff - s) : size;
        const char *p = s + at;
        size_t n = end - at;
        char path[64] = "/";
        if (n > 0 && p[0] == '/') {
            const char *nl = memchr(p, '\n', n);
            size_t plen = nl != NULL ? (size_t)(nl - p) : n;
            snprintf(path, sizeof path, "%.*s", (int)(plen < 63 ? plen : 63), p);
            p += plen + (nl != NULL);
            n -= plen + (nl != NULL);
        }
        json_int_t c = send_one(path, p, n, &first);
        char infno[8];
        const struct txn_op *op = c == 0 ? txn_op_find(infno_of(p, n, infno)) : NULL;
        if (op != NULL && op->keep == KEEP_INPUT) {
            send_one(path, p, n, &again);
            if (again.len != first.len || memcmp(again.body, first.body, first.len) != 0) {
                fprintf(stderr, "first: %s\nagain: %s\n", first.body, again.body);
                die("a resend got other bytes", infno);
            }
        }
        if (ff == NULL)
            break;
        at = end + 1;
    }
    free(first.body);
    free(again.body);
    return 0;
}
