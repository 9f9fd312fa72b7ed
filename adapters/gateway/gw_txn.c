/*
 * One request of the national interface: the envelope's checks, the
 * resend of a msgid, and the common reply; the transactions themselves are
 * in gw_ops.c. docs/gateway.md is the specification.
 *
 * A msgid names one call of one institution. Its reply is kept (gw_store):
 *   - for the gateway's own state (9001, 2201-2205), with a hash of the
 *     input: the same input again gets the stored reply byte for byte,
 *     another input (or another infno) is refused as a reused msgid;
 *   - for 2207, 2208 and 2601 the msgid is the engine's request id, so the
 *     engine decides: a resend is sent to the engine again, and when the
 *     engine answers with exactly the reply it gave the first time, the
 *     stored reply goes out again byte for byte.
 * A refused call stores nothing, so a retry is checked afresh.
 */
#include <assert.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_num.h"
#include "gw_txn.h"

#define STORED_HEAD 37 /* infno (4), kind (1), hash (32) */

/* ---- Reading the input ---- */

const char *txn_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) && gw_num_text(v) == NULL ? json_string_value(v) : NULL;
}

/* A string or a number's text (codes such as med_type come either way). */
const char *txn_code(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    const char *num = gw_num_text(v);
    return num != NULL ? num : json_is_string(v) ? json_string_value(v) : NULL;
}

int txn_money(struct txn *t, const json_t *obj, const char *key, bool required, int64_t *fen)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL && !required)
        return 1;
    const char *text = gw_num_text(v);
    if (text == NULL || gw_yuan_to_fen(text, fen) != 0)
        return txn_fail(t, GW_INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM,
                        "%s: 金额须为最多两位小数的数字（元），不能使用指数或字符串", key);
    return 0;
}

/* ---- Failing and finishing ---- */

int txn_fail(struct txn *t, int infcode, const char *fmt, ...)
{
    t->infcode = infcode;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof t->err, fmt, ap);
    va_end(ap);
    return -1;
}

int txn_refused(struct txn *t, int engine_code, const char *detail)
{
    if (engine_code == SANHE__ERROR_CODE__STORAGE_FULL ||
        engine_code == SANHE__ERROR_CODE__UNAVAILABLE ||
        engine_code == SANHE__ERROR_CODE__INTERNAL || engine_code == SANHE__ERROR_CODE__TIMEOUT ||
        engine_code == 0)
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：结算引擎暂不能处理（%s）",
                        detail ? detail : "");
    return txn_fail(t, GW_INF_ENGINE + engine_code, "%s%s%s", gw_refusal_text(engine_code),
                    detail != NULL && detail[0] ? "：" : "", detail != NULL ? detail : "");
}

static void txn_free(struct txn *t)
{
    /* The reply is out (or there is none to give): the keys go, and the
     * calls waiting for them are handled again. */
    if (t->lock_msgid != NULL)
        gw_lock_release(&t->srv->locks, t->srv->loop, t->lock_msgid);
    if (t->lock_visit != NULL)
        gw_lock_release(&t->srv->locks, t->srv->loop, t->lock_visit);
    free(t->body);
    json_decref(t->doc);
    json_decref(t->output);
    json_decref(t->visit);
    json_decref(t->scratch);
    free(t->stored);
    free(t->lines);
    free(t);
}

static void hash_input(struct txn *t)
{
    char *text = json_dumps(json_object_get(t->doc, "input"), JSON_COMPACT | JSON_SORT_KEYS);
    size_t n = strlen(t->infno) + 1 + (text != NULL ? strlen(text) : 0);
    char *buf = malloc(n + 1);
    if (buf != NULL) {
        snprintf(buf, n + 1, "%s\n%s", t->infno, text != NULL ? text : "");
        SHA256((const unsigned char *)buf, n, t->input_hash);
    } else {
        memset(t->input_hash, 0xff, sizeof t->input_hash); /* matches no stored hash */
    }
    free(buf);
    free(text);
}

static void send_bytes(struct txn *t, int status, const char *body, size_t len)
{
    gw_reply(t->r, status, body, len);
    t->r = NULL;
}

/* The records of a call are durable (rc 0) or failed: now its reply. */
static void on_stored(void *arg, int rc)
{
    struct txn *t = arg;
    if (rc != 0) {
        free(t->body);
        t->body = gw_env_error(GW_INF_SYSTEM, "系统错误：网关无法保存交易记录", &t->body_len);
    }
    send_bytes(t, 200, t->body != NULL ? t->body : "", t->body != NULL ? t->body_len : 0);
    txn_free(t);
}

/* Hands the reply (and the visit, when dirty) to the next group commit;
 * 0 when on_stored will send it. */
static int store_reply(struct txn *t, char *body, size_t len)
{
    /* infno, kind, hash, then the reply. */
    size_t rlen = STORED_HEAD + len;
    char *rec = malloc(rlen);
    if (rec == NULL)
        return -1;
    memcpy(rec, t->infno, 4);
    rec[4] = t->keep == KEEP_INPUT ? 'I' : 'E';
    memcpy(rec + 5, t->keep == KEEP_INPUT ? t->input_hash : t->engine_hash, 32);
    memcpy(rec + STORED_HEAD, body, len);
    char *vtext = t->visit_dirty ? json_dumps(t->visit, JSON_COMPACT) : NULL;
    struct gw_store *st = &t->srv->store;
    struct gw_store_put puts[GW_STORE_PUTS_MAX] = {
        {.db = st->replies, .hospital = t->hospital, .id = t->msgid, .val = rec, .len = rlen},
        {.db = st->visits,
         .hospital = t->hospital,
         .id = t->mdtrt_id,
         .val = vtext,
         .len = vtext != NULL ? strlen(vtext) : 0},
    };
    int rc = t->visit_dirty && vtext == NULL
                 ? -1
                 : gw_store_submit(st, puts, vtext != NULL ? 2 : 1, on_stored, t);
    free(vtext);
    free(rec);
    if (rc == 0) {
        t->body = body;
        t->body_len = len;
    }
    return rc;
}

/* Builds the reply envelope; one to be kept goes out once it is durable
 * (on_stored), any other at once. */
void txn_finish(struct txn *t)
{
    char now[20], refmsgid[40];
    gw_time_text(gw_unix_ms(), now);
    char stamp[15];
    snprintf(stamp, sizeof stamp, "%.4s%.2s%.2s%.2s%.2s%.2s", now, now + 5, now + 8, now + 11,
             now + 14, now + 17);
    snprintf(refmsgid, sizeof refmsgid, "GW%s%010llu", stamp,
             (unsigned long long)(++t->srv->refmsg_seq % 10000000000ULL));
    bool ok = t->infcode == 0;
    json_t *doc = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:O?}", "infcode",
                            (json_int_t)t->infcode, "inf_refmsgid", refmsgid, "refmsg_time",
                            t->refmsg_time, "respond_time", now, "err_msg", ok ? "" : t->err,
                            "warn_msg", t->warn, "output", ok ? t->output : NULL);
    size_t len = 0;
    char *body = doc != NULL ? gw_json_dump(doc, &len) : NULL;
    json_decref(doc);
    if (body == NULL) {
        send_bytes(t, 500, "", 0);
        txn_free(t);
        return;
    }
    if (ok && t->keep != KEEP_NONE) {
        if (store_reply(t, body, len) == 0)
            return;
        free(body);
        body = gw_env_error(GW_INF_SYSTEM, "系统错误：网关无法保存交易记录", &len);
    }
    send_bytes(t, 200, body != NULL ? body : "", body != NULL ? len : 0);
    free(body);
    txn_free(t);
}

/* A refusal before the transaction: an HTTP status of its own. */
static void txn_reject(struct txn *t, int status)
{
    size_t len = 0;
    char *body = gw_env_error(t->infcode, t->err, &len);
    send_bytes(t, status, body != NULL ? body : "", body != NULL ? len : 0);
    free(body);
    txn_free(t);
}

/* ---- Keys in use ---- */

/* Another call holds a key this one needs: the request waits for it,
 * whole, and this txn (with any key it held) goes. */
static void txn_park(struct txn *t, struct gw_lock *on)
{
    assert(t->pending == 0 && t->r != NULL);
    struct gw_request *r = t->r;
    t->r = NULL;
    txn_free(t);
    gw_lock_wait(on, r);
    r->srv->locks.parked++;
}

int txn_visit_lock(struct txn *t, const char *mdtrt_id)
{
    assert(t->lock_visit == NULL);
    struct gw_lock *l = NULL;
    int rc = gw_lock_take(&t->srv->locks, t->hospital, 'v', mdtrt_id, &l);
    if (rc == 1) {
        t->park = l;
        return -1;
    }
    if (rc != 0)
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：网关同时处理的交易过多");
    t->lock_visit = l;
    return 0;
}

/* ---- The engine ---- */

struct engine_arg {
    struct txn *t;
    txn_engine_cb cb;
    int index;
};

static void engine_done(int status, const void *reply, size_t len, void *arg)
{
    struct engine_arg *a = arg;
    struct txn *t = a->t;
    Sanhe__Response *resp = reply != NULL ? sanhe__response__unpack(NULL, len, reply) : NULL;
    if (reply != NULL && resp == NULL)
        status = SANHE_E_PROTOCOL;
    if (status == 0 && t->keep == KEEP_ENGINE)
        SHA256(reply, len, t->engine_hash);
    t->pending--;
    a->cb(t, status, resp, a->index);
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    free(a);
}

int txn_engine(struct txn *t, const char *region, const Sanhe__Request *req, txn_engine_cb cb,
               int index)
{
    char why[GW_MSG_MAX];
    sanhe_pipe *p = gw_engines_pipe(t->srv->engines, region, t->hospital, why, sizeof why);
    if (p == NULL)
        return txn_fail(t, GW_INF_NO_ENGINE, "%s", why);
    size_t n = sanhe__request__get_packed_size(req);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    struct engine_arg *a = malloc(sizeof *a);
    if (buf == NULL || a == NULL) {
        free(buf);
        free(a);
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：内存不足");
    }
    sanhe__request__pack(req, buf);
    *a = (struct engine_arg){.t = t, .cb = cb, .index = index};
    int rc = sanhe_pipe_call_raw(p, buf, n, t->srv->cfg.engine_timeout_ms, engine_done, a);
    free(buf);
    if (rc != 0) {
        free(a);
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：结算引擎连接繁忙");
    }
    t->pending++;
    return 0;
}

/* The engine's answer as an infcode: 0 when it succeeded. */
int txn_engine_status(struct txn *t, int status, const Sanhe__Response *resp, const char *detail)
{
    if (status == 0)
        return 0;
    if (status == SANHE_E_REFUSED && resp != NULL && resp->error != NULL)
        return txn_refused(t, resp->error->has_code ? (int)resp->error->code : 0, detail);
    if (status == SANHE_E_OUTCOME_UNKNOWN)
        return txn_fail(t, GW_INF_SYSTEM,
                        "系统错误：结算引擎未在时限内应答，结果未知，请用2601撤销本次交易");
    return txn_fail(t, GW_INF_SYSTEM, "系统错误：结算引擎不可达（%s）", sanhe_strerror(status));
}

/* ---- The envelope ---- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* infno, msgid, fixmedins_code and input, and the path's infno. */
static int envelope_check(struct txn *t)
{
    if (!json_is_object(t->doc))
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "报文须为JSON对象");
    const char *infno = txn_code(t->doc, "infno");
    const char *msgid = txn_str(t->doc, "msgid");
    const char *code = txn_str(t->doc, "fixmedins_code");
    if (infno == NULL || strlen(infno) != 4 || !all_digits(infno, 4))
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "infno须为4位交易编号");
    snprintf(t->infno, sizeof t->infno, "%s", infno);
    const char *path = t->r->path;
    if (strcmp(path, "/") != 0 && (path[0] != '/' || strcmp(path + 1, infno) != 0))
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "请求地址与infno不一致");
    if (code == NULL || strcmp(code, t->hospital) != 0)
        return txn_fail(t, GW_INF_ENGINE + SANHE__ERROR_CODE__FORBIDDEN,
                        "fixmedins_code与客户端证书的定点医药机构（%s）不一致", t->hospital);
    size_t cl = strlen(code);
    if (msgid == NULL || strlen(msgid) != cl + 18 || strncmp(msgid, code, cl) != 0 ||
        !all_digits(msgid + cl, 18))
        return txn_fail(t, GW_INF_BAD_ENVELOPE,
                        "msgid须为定点医药机构编号+yyyyMMddHHmmss+4位流水号");
    snprintf(t->msgid, sizeof t->msgid, "%s", msgid);
    const json_t *input = json_object_get(t->doc, "input");
    if (input != NULL && !json_is_object(input))
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "input须为JSON对象");
    t->input = input;
    const char *region = txn_code(t->doc, "insuplc_admdvs");
    snprintf(t->region, sizeof t->region, "%s", region != NULL ? region : "");
    /* The claim date: the day the counter sent the call (inf_time). */
    const char *inf_time = txn_str(t->doc, "inf_time");
    if (inf_time != NULL && strlen(inf_time) >= 10)
        snprintf(t->date, sizeof t->date, "%.10s", inf_time);
    else
        snprintf(t->date, sizeof t->date, "%.10s", t->refmsg_time);
    return 0;
}

/* A msgid seen before: 0 go on (t->stored may hold an engine-kept reply),
 * 1 answered here. */
static int resend_check(struct txn *t)
{
    int rc = gw_store_get(&t->srv->store, t->srv->store.replies, t->hospital, t->msgid, &t->stored,
                          &t->stored_len);
    if (rc < 0) {
        txn_fail(t, GW_INF_SYSTEM, "系统错误：网关交易记录不可读");
        return -1;
    }
    if (rc == 1)
        return 0;
    const char *rec = t->stored;
    if (t->stored_len < STORED_HEAD || memcmp(rec, t->infno, 4) != 0 ||
        (rec[4] == 'I' && (t->keep != KEEP_INPUT || memcmp(rec + 5, t->input_hash, 32) != 0))) {
        txn_refused(t, SANHE__ERROR_CODE__REQUEST_ID_REUSED, t->msgid);
        return -1;
    }
    if (rec[4] == 'I') {
        send_bytes(t, 200, rec + STORED_HEAD, t->stored_len - STORED_HEAD);
        txn_free(t);
        return 1;
    }
    return 0;
}

/* An engine-kept reply: the stored bytes when the engine answered exactly
 * as the first time. Returns true when it sent them. */
bool txn_replay(struct txn *t)
{
    if (t->stored == NULL || t->infcode != 0 || t->stored_len < STORED_HEAD ||
        ((char *)t->stored)[4] != 'E' || memcmp((char *)t->stored + 5, t->engine_hash, 32) != 0)
        return false;
    send_bytes(t, 200, (char *)t->stored + STORED_HEAD, t->stored_len - STORED_HEAD);
    txn_free(t);
    return true;
}

void gw_txn_handle(struct gw_request *r)
{
    struct txn *t = calloc(1, sizeof *t);
    if (t == NULL) {
        gw_reply(r, 503, "", 0);
        return;
    }
    t->r = r;
    t->srv = r->srv;
    t->cfg = &r->srv->cfg;
    snprintf(t->hospital, sizeof t->hospital, "%s", r->hospital);
    gw_time_text(gw_unix_ms(), t->refmsg_time);
    char why[128];
    t->doc = gw_json_load(r->body, r->body_len, why, sizeof why);
    if (t->doc == NULL) {
        txn_fail(t, GW_INF_BAD_ENVELOPE, "报文不是合法的JSON（%s）", why);
        txn_reject(t, 400);
        return;
    }
    if (envelope_check(t) != 0) {
        txn_reject(t, t->infcode == GW_INF_ENGINE + SANHE__ERROR_CODE__FORBIDDEN ? 403 : 400);
        return;
    }
    if (gw_env_check_signature(r, t->cfg, why, sizeof why) != 0) {
        txn_fail(t, GW_INF_BAD_SIGNATURE, "%s", why);
        txn_reject(t, 403);
        return;
    }
    const struct txn_op *op = txn_op_find(t->infno);
    if (op == NULL) {
        txn_fail(t, GW_INF_UNKNOWN_INFNO, "不支持的交易编号%s", t->infno);
        txn_finish(t);
        return;
    }
    t->keep = op->keep;
    /* One call of a msgid at a time: a second one (a resend while the first
     * is still under way) waits, then is answered from what the first
     * stored. */
    struct gw_lock *l = NULL;
    int rc = gw_lock_take(&t->srv->locks, t->hospital, 'm', t->msgid, &l);
    if (rc == 1) {
        txn_park(t, l);
        return;
    }
    if (rc != 0) {
        txn_fail(t, GW_INF_SYSTEM, "系统错误：网关同时处理的交易过多");
        txn_reject(t, 503);
        return;
    }
    t->lock_msgid = l;
    hash_input(t);
    rc = resend_check(t);
    if (rc == 1)
        return;
    if (rc == 0)
        rc = op->run(t);
    if (rc != 0 && t->park != NULL) {
        txn_park(t, t->park);
        return;
    }
    /* A transaction that failed before any engine call answers at once;
     * one with calls in flight finishes in their callbacks. */
    if (rc != 0 && t->pending == 0)
        txn_finish(t);
}
