/*
 * The gateway driver (--gateway): the server driver's engine and reference
 * data, a sanhe-gateway in front of it, and every step sent as national
 * interface transactions over HTTPS, as the step's hospital:
 *
 *   settle     2201 registration, 2204 fee upload (when the claim has
 *              lines), 2207 settle with the step's request id as msgid
 *   presettle  2201, 2204, 2206
 *   reverse    2208 with the setl_id the named settle got (an id no
 *              settlement has when it got none)
 *   cancel     2601 with omsgid = the cancelled settle's msgid, oinfno 2207
 *
 * Each case request id of a hospital becomes one msgid (hospital code and
 * 18 digits), the same every time the case names it. The replies are read
 * back into sanhe.Response form (setlinfo and exp_content.funds for a
 * breakdown; infcode 1000 + code for an engine refusal) and compared as in
 * the other modes. Eligibility steps (accumulators) have no interface
 * transaction that reports them: they go to the engine directly, as the
 * bureau.
 */
#include <stdio.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "engine_proc.h"
#include "gw_client.h"
#include "gw_num.h"
#include "runner.h"
#include "sandbox.h"
#include "sh_error.h"

#define MAP_MAX 4096
#define INF_ENGINE 1000 /* infcode of an engine refusal: 1000 + its ErrorCode */
#define GW_TIMEOUT_MS 20000

struct rid_map {
    char hospital[32], request_id[64], msgid[40], setl_id[24];
};

struct driver {
    struct driver *engine; /* the server driver */
    const struct sandbox *sb;
    struct engine_proc gw;
    struct rid_map *map;
    size_t map_count;
    unsigned long long seq;
    struct {
        char hospital[32];
        struct gwc *c;
    } conns[64];
    size_t conn_count;
};

/* ---- msgids ---- */

static void msgid_new(struct driver *d, const char *hospital, char out[40])
{
    snprintf(out, 40, "%s%018llu", hospital, ++d->seq);
}

static struct rid_map *rid_find(struct driver *d, const char *hospital, const char *rid,
                                bool create)
{
    for (size_t i = 0; i < d->map_count; i++)
        if (strcmp(d->map[i].hospital, hospital) == 0 && strcmp(d->map[i].request_id, rid) == 0)
            return &d->map[i];
    if (!create || d->map_count >= MAP_MAX)
        return NULL;
    struct rid_map *m = &d->map[d->map_count++];
    snprintf(m->hospital, sizeof m->hospital, "%s", hospital);
    snprintf(m->request_id, sizeof m->request_id, "%s", rid);
    msgid_new(d, hospital, m->msgid);
    return m;
}

/* ---- HTTPS ---- */

static struct gwc *conn_for(struct driver *d, const char *hospital, struct sh_error *err)
{
    for (size_t i = 0; i < d->conn_count; i++)
        if (strcmp(d->conns[i].hospital, hospital) == 0)
            return d->conns[i].c;
    if (d->conn_count >= sizeof d->conns / sizeof d->conns[0]) {
        sh_error_set(err, SH_E_INTERNAL, "too many hospitals");
        return NULL;
    }
    char ca[4096], cert[4096], key[4096], rel[128];
    sandbox_path(d->sb, "certs/ca.crt", ca);
    snprintf(rel, sizeof rel, "certs/his-%s.crt", hospital);
    sandbox_path(d->sb, rel, cert);
    snprintf(rel, sizeof rel, "certs/his-%s.key", hospital);
    sandbox_path(d->sb, rel, key);
    struct gwc *c = NULL;
    if (gwc_open(&c, d->gw.port, ca, cert, key, GW_TIMEOUT_MS) != 0) {
        sh_error_set(err, SH_E_UNAVAILABLE, "cannot connect to the gateway as %s", hospital);
        return NULL;
    }
    snprintf(d->conns[d->conn_count].hospital, sizeof d->conns[0].hospital, "%s", hospital);
    d->conns[d->conn_count++].c = c;
    return c;
}

/* One transaction: the envelope around input (stolen), the reply parsed. */
static json_t *txn(struct driver *d, const char *cert_hospital, const char *code, const char *infno,
                   const char *msgid, const char *date, json_t *input, struct sh_error *err)
{
    char inf_time[32];
    snprintf(inf_time, sizeof inf_time, "%s 10:00:00", date != NULL ? date : "2026-01-01");
    json_t *env =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                  "s:s, s:s, s:s, s:s, s:o}",
                  "infno", infno, "msgid", msgid, "mdtrtarea_admvs", "", "insuplc_admdvs", "",
                  "recer_sys_code", "CONF", "dev_no", "", "dev_safe_info", "", "cainfo", "",
                  "signtype", "", "infver", "V1.0", "opter_type", "1", "opter", "conformance",
                  "opter_name", "conformance", "inf_time", inf_time, "fixmedins_code", code,
                  "fixmedins_name", code, "sign_no", "", "input", input);
    char *body = gw_json_dump(env, &(size_t){0});
    json_decref(env);
    struct gwc *c = body != NULL ? conn_for(d, cert_hospital, err) : NULL;
    char *reply = NULL;
    int status = 0;
    json_t *doc = NULL;
    char path[16];
    snprintf(path, sizeof path, "/%s", infno);
    if (c != NULL && gwc_post(c, path, body, &status, &reply, GW_TIMEOUT_MS) != 0)
        sh_error_set(err, SH_E_UNAVAILABLE, "%s: %s", infno, gwc_error(c));
    else if (reply != NULL && (doc = gw_json_load(reply, strlen(reply), err->msg, 64)) == NULL)
        sh_error_set(err, SH_E_BAD_FRAME, "%s: the reply is not JSON: %.200s", infno, reply);
    free(body);
    free(reply);
    return doc;
}

static int infcode_of(const json_t *doc)
{
    int64_t v = 0;
    const char *t = gw_num_text(json_object_get(doc, "infcode"));
    return t != NULL && gw_num_int(t, &v) == 0 ? (int)v : -9999;
}

/* A refusal in sanhe.Response form, packed then unpacked (the caller
 * frees it as it frees any response). */
static Sanhe__Response *unpacked(const Sanhe__Response *r)
{
    size_t n = sanhe__response__get_packed_size(r);
    uint8_t *buf = malloc(n + 1);
    if (buf == NULL)
        return NULL;
    sanhe__response__pack(r, buf);
    Sanhe__Response *out = sanhe__response__unpack(NULL, n, buf);
    free(buf);
    return out;
}

static Sanhe__Response *refusal_of(const json_t *doc)
{
    int inf = infcode_of(doc);
    int code = inf > INF_ENGINE && inf < INF_ENGINE + 100 ? inf - INF_ENGINE
               : inf == -1                                ? -SH_E_INTERNAL
                                                          : -SH_E_BAD_REQUEST;
    Sanhe__Error e = SANHE__ERROR__INIT;
    e.has_code = true;
    e.code = (Sanhe__ErrorCode)code;
    e.message = (char *)json_string_value(json_object_get(doc, "err_msg"));
    Sanhe__Response r = SANHE__RESPONSE__INIT;
    r.error = &e;
    return unpacked(&r);
}

static int64_t yuan(const json_t *obj, const char *key)
{
    int64_t fen = 0;
    const char *t = gw_num_text(json_object_get(obj, key));
    if (t == NULL || gw_yuan_to_fen(t, &fen) != 0)
        return INT64_MIN / 2; /* shows up as a difference */
    return fen;
}

/* setlinfo and exp_content.funds back into a breakdown. */
static Sanhe__Response *breakdown_of(const json_t *doc, bool settle)
{
    const json_t *out = json_object_get(doc, "output");
    const json_t *info = json_object_get(out, "setlinfo");
    const json_t *funds = json_object_get(json_object_get(out, "exp_content"), "funds");
    Sanhe__Breakdown b = SANHE__BREAKDOWN__INIT;
    b.has_total = b.has_out_of_scope = b.has_over_limit = b.has_pre_selfpay = true;
    b.has_in_scope = b.has_fund_total = b.has_patient_pays = true;
    b.total = yuan(info, "medfee_sumamt");
    b.out_of_scope = yuan(info, "fulamt_ownpay_amt");
    b.over_limit = yuan(info, "overlmt_selfpay");
    b.pre_selfpay = yuan(info, "preselfpay_amt");
    b.in_scope = yuan(info, "inscp_scp_amt");
    b.fund_total = yuan(info, "fund_pay_sumamt");
    b.patient_pays = yuan(info, "psn_cash_pay");
    size_t n = json_array_size(funds);
    Sanhe__FundShare *fs = calloc(n + 1, sizeof *fs);
    Sanhe__FundShare **fp = calloc(n + 1, sizeof *fp);
    for (size_t i = 0; fs != NULL && fp != NULL && i < n; i++) {
        const json_t *f = json_array_get(funds, i);
        sanhe__fund_share__init(&fs[i]);
        fs[i].fund = (char *)json_string_value(json_object_get(f, "fund_id"));
        fs[i].has_pay = fs[i].has_deductible = true;
        fs[i].pay = yuan(f, "fund_payamt");
        fs[i].deductible = yuan(f, "dedc_amt");
        fs[i].reason = (char *)json_string_value(json_object_get(f, "reason"));
        fs[i].category = (char *)json_string_value(json_object_get(f, "category"));
        fp[i] = &fs[i];
    }
    b.n_funds = fs != NULL && fp != NULL ? n : 0;
    b.funds = fp;
    Sanhe__Response r = SANHE__RESPONSE__INIT;
    Sanhe__SettleReply sr = SANHE__SETTLE_REPLY__INIT;
    Sanhe__PresettleReply pr = SANHE__PRESETTLE_REPLY__INIT;
    if (settle) {
        sr.breakdown = &b;
        sr.has_settlement_id = true;
        sr.settlement_id =
            strtoull(json_string_value(json_object_get(info, "setl_id")) ?: "0", NULL, 10);
        r.result_case = SANHE__RESPONSE__RESULT_SETTLE;
        r.settle = &sr;
    } else {
        b.has_trial = true;
        b.trial = true;
        pr.breakdown = &b;
        r.result_case = SANHE__RESPONSE__RESULT_PRESETTLE;
        r.presettle = &pr;
    }
    Sanhe__Response *o = unpacked(&r);
    free(fs);
    free(fp);
    return o;
}

/* ---- Steps ---- */

static const char *med_type_of(const char *visit)
{
    if (visit == NULL)
        return "99";
    return strcmp(visit, "outpatient") == 0  ? "11"
           : strcmp(visit, "chronic") == 0   ? "14"
           : strcmp(visit, "inpatient") == 0 ? "21"
                                             : "99";
}

/* A line's cnt and amount as the interface carries them, or text that
 * shows the defect the client adapter found (the gateway refuses it). */
static json_t *line_row(const Sanhe__Line *l, size_t i, const char *mdtrt_id)
{
    char sn[24], qty[40], amt[40];
    snprintf(sn, sizeof sn, "%zu", i + 1);
    snprintf(qty, sizeof qty, "%lld.%03lld", (long long)(l->qty_milli / 1000),
             (long long)(llabs(l->qty_milli) % 1000));
    if (l->qty_milli < 0)
        snprintf(qty, sizeof qty, "-%lld.%03lld", (long long)(-l->qty_milli / 1000),
                 (long long)(-l->qty_milli % 1000));
    gw_fen_to_yuan(l->amount, amt, sizeof amt);
    json_t *cnt = NULL, *fee = NULL;
    if (l->defect == SANHE__LINE_DEFECT__QTY_TOO_PRECISE)
        snprintf(qty, sizeof qty, "1.0005");
    if (l->defect == SANHE__LINE_DEFECT__AMOUNT_NOT_INTEGER)
        snprintf(amt, sizeof amt, "1.005");
    if (l->defect == SANHE__LINE_DEFECT__NOT_A_NUMBER) {
        cnt = json_null();
        fee = json_null();
    }
    /* Numbers with their exact text: the rewriting in gw_json_dump keeps it. */
    char mq[48] = {0}, ma[48] = {0};
    mq[1] = 'N';
    ma[1] = 'N';
    snprintf(mq + 2, sizeof mq - 2, "%s", qty);
    snprintf(ma + 2, sizeof ma - 2, "%s", amt);
    if (cnt == NULL)
        cnt = json_stringn(mq, 2 + strlen(qty));
    if (fee == NULL)
        fee = json_stringn(ma, 2 + strlen(amt));
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "feedetl_sn", sn, "mdtrt_id", mdtrt_id,
                     "med_list_codg", l->code != NULL ? l->code : "", "cnt", cnt,
                     "det_item_fee_sumamt", fee);
}

static int claim_step(struct driver *d, const char *hospital, const Sanhe__Request *req,
                      bool settle, Sanhe__Response **out, struct sh_error *err)
{
    const Sanhe__Claim *c = settle ? req->settle->claim : req->presettle->claim;
    const char *code = c->hospital != NULL ? c->hospital : hospital;
    char reg[40];
    msgid_new(d, code, reg);
    json_t *doc =
        txn(d, hospital, code, "2201", reg, c->date,
            json_pack("{s:{s:s, s:s, s:s}}", "data", "psn_no", c->person != NULL ? c->person : "",
                      "med_type", med_type_of(c->visit), "begntime", c->date ? c->date : ""),
            err);
    for (int phase = 0; doc != NULL && infcode_of(doc) == 0 && phase < 2; phase++) {
        json_decref(doc);
        doc = NULL;
        char mid[40];
        if (phase == 0 && c->n_lines > 0) {
            json_t *rows = json_array();
            for (size_t i = 0; i < c->n_lines; i++)
                json_array_append_new(rows, line_row(c->lines[i], i, reg));
            msgid_new(d, code, mid);
            doc = txn(d, hospital, code, "2204", mid, c->date,
                      json_pack("{s:o}", "feedetail", rows), err);
        } else if (phase == 1) {
            const char *msgid = mid;
            if (settle) {
                struct rid_map *m = rid_find(d, code, req->request_id ? req->request_id : "", true);
                if (m == NULL)
                    return sh_error_set(err, SH_E_INTERNAL, "too many request ids");
                msgid = m->msgid;
            } else {
                msgid_new(d, code, mid);
            }
            doc = txn(d, hospital, code, settle ? "2207" : "2206", msgid, c->date,
                      json_pack("{s:{s:s, s:s}}", "data", "psn_no", c->person ? c->person : "",
                                "mdtrt_id", reg),
                      err);
            if (doc != NULL && infcode_of(doc) == 0) {
                *out = breakdown_of(doc, settle);
                struct rid_map *m = settle ? rid_find(d, code, req->request_id, false) : NULL;
                const char *setl = json_string_value(json_object_get(
                    json_object_get(json_object_get(doc, "output"), "setlinfo"), "setl_id"));
                if (m != NULL && setl != NULL && setl[0] != '\0')
                    snprintf(m->setl_id, sizeof m->setl_id, "%s", setl);
                json_decref(doc);
                return *out != NULL ? 0 : sh_error_set(err, SH_E_INTERNAL, "out of memory");
            }
        } else {
            /* No lines: straight to the settle, as a successful upload would. */
            doc = gw_json_load("{\"infcode\":0}", strlen("{\"infcode\":0}"), err->msg, 64);
        }
    }
    if (doc == NULL)
        return err->code != 0 ? err->code : sh_error_set(err, SH_E_INTERNAL, "no reply");
    *out = refusal_of(doc);
    json_decref(doc);
    return 0;
}

static int reverse_step(struct driver *d, const char *hospital, const Sanhe__Request *req,
                        Sanhe__Response **out, struct sh_error *err)
{
    const char *of = req->reverse->settlement_request_id;
    struct rid_map *orig = rid_find(d, hospital, of != NULL ? of : "", false);
    struct rid_map *m = rid_find(d, hospital, req->request_id ? req->request_id : "", true);
    if (m == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "too many request ids");
    /* No settlement for it: an id no settlement has. */
    const char *setl = orig != NULL && orig->setl_id[0] != '\0' ? orig->setl_id : "999999999999";
    json_t *doc = txn(d, hospital, hospital, "2208", m->msgid, NULL,
                      json_pack("{s:{s:s}}", "data", "setl_id", setl), err);
    if (doc == NULL)
        return err->code;
    if (infcode_of(doc) != 0) {
        *out = refusal_of(doc);
    } else {
        const json_t *info = json_object_get(json_object_get(doc, "output"), "setlinfo");
        Sanhe__ReverseReply rr = SANHE__REVERSE_REPLY__INIT;
        rr.has_reversed = rr.has_settlement_id = true;
        rr.reversed = strcmp(json_string_value(json_object_get(info, "rvs_flag")) ?: "", "1") == 0;
        rr.settlement_id = strtoull(setl, NULL, 10);
        Sanhe__Response r = SANHE__RESPONSE__INIT;
        r.result_case = SANHE__RESPONSE__RESULT_REVERSE;
        r.reverse = &rr;
        *out = unpacked(&r);
    }
    json_decref(doc);
    return 0;
}

static int cancel_step(struct driver *d, const char *hospital, const Sanhe__Request *req,
                       Sanhe__Response **out, struct sh_error *err)
{
    const char *of = req->cancel->cancel_of;
    struct rid_map *orig = rid_find(d, hospital, of != NULL ? of : "", true);
    struct rid_map *m = rid_find(d, hospital, req->request_id ? req->request_id : "", true);
    if (orig == NULL || m == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "too many request ids");
    json_t *doc =
        txn(d, hospital, hospital, "2601", m->msgid, NULL,
            json_pack("{s:{s:s, s:s}}", "data", "omsgid", orig->msgid, "oinfno", "2207"), err);
    if (doc == NULL)
        return err->code;
    if (infcode_of(doc) != 0) {
        *out = refusal_of(doc);
    } else {
        const json_t *data = json_object_get(json_object_get(doc, "output"), "data");
        Sanhe__CancelReply cr = SANHE__CANCEL_REPLY__INIT;
        cr.has_reversed = true;
        cr.reversed = strcmp(json_string_value(json_object_get(data, "rvs_flag")) ?: "", "1") == 0;
        const char *setl = json_string_value(json_object_get(data, "setl_id"));
        if (setl != NULL && setl[0] != '\0') {
            cr.has_settlement_id = true;
            cr.settlement_id = strtoull(setl, NULL, 10);
        }
        Sanhe__Response r = SANHE__RESPONSE__INIT;
        r.result_case = SANHE__RESPONSE__RESULT_CANCEL;
        r.cancel = &cr;
        *out = unpacked(&r);
    }
    json_decref(doc);
    return 0;
}

/* The engine knows a settlement by the msgid the gateway sent as its request
 * id; the case names it by its own request id. */
static void rid_unmap(const struct driver *d, const char *hospital, char **rid)
{
    if (*rid == NULL)
        return;
    for (size_t i = 0; i < d->map_count; i++)
        if (strcmp(d->map[i].hospital, hospital) == 0 && strcmp(d->map[i].msgid, *rid) == 0) {
            char *case_rid = strdup(d->map[i].request_id);
            assert(case_rid != NULL);
            free(*rid);
            *rid = case_rid;
            return;
        }
}

/* The cross-check as the bureau asks the engine, its request ids named as
 * the case names them. */
static int crosscheck_step(struct driver *d, const char *hospital, const Sanhe__Request *req,
                           Sanhe__Response **out, struct sh_error *err)
{
    int rc = driver_server.call(d->engine, hospital, req, out, err);
    if (rc != 0 || *out == NULL || (*out)->result_case != SANHE__RESPONSE__RESULT_CROSSCHECK)
        return rc;
    Sanhe__CrosscheckReply *x = (*out)->crosscheck;
    for (size_t i = 0; i < x->n_paid_after_death; i++)
        rid_unmap(d, x->paid_after_death[i]->hospital, &x->paid_after_death[i]->request_id);
    for (size_t i = 0; i < x->n_paid_outside_category; i++)
        rid_unmap(d, x->paid_outside_category[i]->hospital,
                  &x->paid_outside_category[i]->request_id);
    return 0;
}

static int gateway_call(struct driver *d, const char *hospital, const Sanhe__Request *req,
                        Sanhe__Response **out, struct sh_error *err)
{
    *out = NULL;
    switch (req->op_case) {
    case SANHE__REQUEST__OP_SETTLE:
        return claim_step(d, hospital, req, true, out, err);
    case SANHE__REQUEST__OP_PRESETTLE:
        return claim_step(d, hospital, req, false, out, err);
    case SANHE__REQUEST__OP_REVERSE:
        return reverse_step(d, hospital, req, out, err);
    case SANHE__REQUEST__OP_CANCEL:
        return cancel_step(d, hospital, req, out, err);
    case SANHE__REQUEST__OP_CROSSCHECK:
        return crosscheck_step(d, hospital, req, out, err);
    default: /* eligibility: the engine itself, as the bureau */
        return driver_server.call(d->engine, hospital, req, out, err);
    }
}

/* ---- The gateway process ---- */

static int add_his_certs(struct driver *d, const struct case_identities *ids, struct sh_error *err)
{
    char dir[4096];
    sandbox_path(d->sb, "certs", dir);
    for (size_t i = 0; i < ids->hospital_count; i++) {
        char name[96];
        snprintf(name, sizeof name, "his-%s", ids->hospitals[i]);
        const char *argv[] = {server_options.certs_script, "terminal", dir, name,
                              ids->hospitals[i],           "counter",  NULL};
        if (proc_run(argv, NULL, NULL) != 0)
            return sh_error_set(err, SH_E_INTERNAL, "certs.sh terminal %s failed", name);
    }
    return 0;
}

static int write_conf(struct driver *d, char conf[4096], struct sh_error *err)
{
    sandbox_path(d->sb, "gateway.conf", conf);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "cannot write %s", conf);
    fprintf(f,
            "[gateway]\nlisten = 127.0.0.1:0\nport_file = %s/gateway.port\nca = %s/certs/ca.crt\n"
            "cert = %s/certs/engine.crt\nkey = %s/certs/engine.key\ndata_dir = %s/gateway-data\n"
            "engine_timeout_ms = %d\n"
            "[engine]\nca = %s/certs/ca.crt\nterminal_dir = %s/certs\nterminal_prefix = counter-\n"
            "[region *]\nengine = 127.0.0.1:%d\n"
            "[fund_pay_type]\ncoop = 390100\nserious = 390200\nassist = 610100\nyoufu = 350100\n",
            d->sb->dir, d->sb->dir, d->sb->dir, d->sb->dir, d->sb->dir, GW_TIMEOUT_MS / 2,
            d->sb->dir, d->sb->dir, d->sb->engine.port);
    return fclose(f) == 0 ? 0 : sh_error_set(err, SH_E_INTERNAL, "cannot write %s", conf);
}

static void gateway_close(struct driver *d)
{
    for (size_t i = 0; i < d->conn_count; i++)
        gwc_close(d->conns[i].c);
    if (d->gw.pid > 0 && engine_proc_stop(&d->gw, 10000) != 0)
        fprintf(stderr, "sanhe-conformance: the gateway did not stop cleanly\n");
    if (d->engine != NULL)
        driver_server.close(d->engine);
    free(d->map);
    free(d);
}

static int gateway_open(struct driver **out, const Sanhe__LoadRequest *load,
                        const struct case_identities *ids, struct sh_error *err)
{
    struct driver *d = calloc(1, sizeof *d);
    if (d == NULL || (d->map = calloc(MAP_MAX, sizeof *d->map)) == NULL) {
        free(d);
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    }
    d->gw.pid = -1;
    int rc = driver_server.open(&d->engine, load, ids, err);
    char conf[4096], port[4096], log_out[4096], log_err[4096];
    if (rc == 0) {
        d->sb = driver_server_sandbox(d->engine);
        rc = add_his_certs(d, ids, err);
    }
    if (rc == 0)
        rc = write_conf(d, conf, err);
    if (rc == 0 && engine_proc_start(&d->gw, server_options.gateway_path, conf,
                                     sandbox_path(d->sb, "gateway.port", port),
                                     sandbox_path(d->sb, "gateway.out", log_out),
                                     sandbox_path(d->sb, "gateway.err", log_err), 10000) != 0)
        rc = sh_error_set(err, SH_E_UNAVAILABLE, "the gateway did not start (see %s)", log_err);
    if (rc != 0) {
        gateway_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

const struct driver_ops driver_gateway = {
    .name = "gateway",
    .open = gateway_open,
    .call = gateway_call,
    .close = gateway_close,
};
