/*
 * The transactions (docs/gateway.md lists each one's input and output).
 * Every engine call is asynchronous: a transaction sends, returns, and
 * finishes in the callback of its last call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_num.h"
#include "gw_txn.h"
#include "sh_person_id.h"

#define RECONCILE_DAYS_MAX 366

static const json_t *input_part(const struct txn *t, const char *key)
{
    const json_t *v = json_object_get(t->input, key);
    return json_is_object(v) ? v : NULL;
}

static int need(struct txn *t, const char *what, const char *v, size_t max)
{
    if (v == NULL || v[0] == '\0' || strlen(v) > max)
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "缺少%s或其长度超过%zu", what, max);
    return 0;
}

/* ---- Visits ---- */

static int visit_load(struct txn *t, const char *mdtrt_id)
{
    if (need(t, "mdtrt_id", mdtrt_id, 31) != 0)
        return -1;
    snprintf(t->mdtrt_id, sizeof t->mdtrt_id, "%s", mdtrt_id);
    if (txn_visit_lock(t, mdtrt_id) != 0)
        return -1;
    void *val = NULL;
    size_t len = 0;
    int rc = gw_store_get(&t->srv->store, t->srv->store.visits, t->hospital, mdtrt_id, &val, &len);
    if (rc < 0)
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：就诊记录不可读");
    if (rc == 1)
        return txn_fail(t, GW_INF_UNKNOWN_VISIT, "就诊信息%s不存在", mdtrt_id);
    /* JSON_ALLOW_NUL: the visit keeps client JSON (2203's diseinfo) whose
     * numbers gw_json_load marked with a NUL (gw_num.h). */
    t->visit = json_loadb(val, len, JSON_ALLOW_NUL, NULL);
    free(val);
    if (t->visit == NULL)
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：就诊记录已损坏");
    const char *state = txn_str(t->visit, "state");
    if (state != NULL && strcmp(state, "cancelled") == 0)
        return txn_fail(t, GW_INF_VISIT_STATE, "就诊%s已撤销", mdtrt_id);
    return 0;
}

static bool visit_settled(const struct txn *t)
{
    const char *s = txn_str(t->visit, "setl_id");
    return s != NULL && s[0] != '\0';
}

/* The visit's region: the call's insuplc_admdvs, else the registration's. */
static const char *visit_region(const struct txn *t)
{
    const char *r = txn_str(t->visit, "admdvs");
    return t->region[0] != '\0' || r == NULL ? t->region : r;
}

/* ---- 9001 sign-in ---- */

static int op_9001(struct txn *t)
{
    /* A sign-in number of the call's own digits: a resend gets it again. */
    t->output = json_pack("{s:{s:s, s:s}}", "signinoutb", "sign_time", t->refmsg_time, "sign_no",
                          t->msgid + strlen(t->hospital));
    txn_finish(t);
    return 0;
}

/* ---- 1101 person information ---- */

static void person_out(struct txn *t, const Sanhe__EligibilityReply *e)
{
    const char *id = e->person != NULL ? e->person : "";
    char brdy[11] = "", gend[2] = "";
    if (strlen(id) == 18) {
        snprintf(brdy, sizeof brdy, "%.4s-%.2s-%.2s", id + 6, id + 10, id + 12);
        gend[0] = (id[16] - '0') % 2 == 1 ? '1' : '2';
    }
    json_t *insu = json_array(), *idet = json_array();
    for (size_t i = 0; i < e->n_funds; i++) {
        const Sanhe__FundStatus *f = e->funds[i];
        if (!f->applies || f->kind == NULL || strcmp(f->kind, "insurance") != 0)
            continue;
        const char *type = gw_config_fund_type(t->cfg, f->fund);
        char insutype[4];
        snprintf(insutype, sizeof insutype, "%.3s", type);
        json_array_append_new(
            insu, json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "insutype", insutype, "psn_type", "",
                            "balc", gw_json_money(0), "psn_insu_stas", "1", "insuplc_admdvs",
                            e->region ? e->region : "", "fund_id", f->fund ? f->fund : ""));
    }
    for (size_t i = 0; i < e->n_categories; i++) {
        const Sanhe__PersonCategory *c = e->categories[i];
        const struct gw_pair *m = gw_config_idet(t->cfg, c->fund, c->category);
        json_array_append_new(
            idet, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "psn_idet_type",
                            m != NULL ? m->value : (c->category ? c->category : ""), "psn_type_lv",
                            m != NULL ? m->extra : "", "begntime", c->from ? c->from : "",
                            "endtime", c->to ? c->to : "", "fund_id", c->fund ? c->fund : "",
                            "category", c->category ? c->category : ""));
    }
    t->output = json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:o, s:o}", "baseinfo", "psn_no",
                          id, "psn_cert_type", "01", "certno", id, "psn_name",
                          e->name ? e->name : "", "gend", gend, "brdy", brdy, "insuplc_admdvs",
                          e->region ? e->region : "", "insuinfo", insu, "idetinfo", idet);
}

static void on_1101(struct txn *t, int status, const Sanhe__Response *resp, int index)
{
    (void)index;
    if (status == 0 && t->output == NULL && resp->eligibility != NULL)
        person_out(t, resp->eligibility);
    else if (status == SANHE_E_REFUSED && resp != NULL && resp->error != NULL &&
             resp->error->code != SANHE__ERROR_CODE__UNKNOWN_PERSON)
        t->best_code = (int)resp->error->code;
    else if (status != 0 && status != SANHE_E_REFUSED)
        t->system_status = status;
    if (t->pending > 0)
        return;
    if (t->output == NULL && t->best_code != 0)
        txn_refused(t, t->best_code, NULL);
    else if (t->output == NULL && t->system_status != 0)
        txn_engine_status(t, t->system_status, NULL, NULL);
    else if (t->output == NULL)
        txn_refused(t, SANHE__ERROR_CODE__UNKNOWN_PERSON, NULL);
    txn_finish(t);
}

static int op_1101(struct txn *t)
{
    const json_t *d = input_part(t, "data");
    const char *id = txn_code(d, "certno");
    if (id == NULL || id[0] == '\0')
        id = txn_code(d, "mdtrt_cert_no");
    if (need(t, "certno或mdtrt_cert_no", id, 18) != 0)
        return -1;
    const char *begn = txn_str(d, "begntime");
    char date[11];
    snprintf(date, sizeof date, "%.10s", begn != NULL && strlen(begn) >= 10 ? begn : t->date);
    Sanhe__EligibilityRequest er = SANHE__ELIGIBILITY_REQUEST__INIT;
    er.person = (char *)id;
    er.date = date;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = t->msgid;
    req.op_case = SANHE__REQUEST__OP_ELIGIBILITY;
    req.eligibility = &er;
    /* The insured region when the counter knows it; else every engine. */
    const char *regions[GW_REGIONS_MAX];
    size_t n = 0;
    if (t->region[0] != '\0' && gw_config_region(t->cfg, t->region) != NULL)
        regions[n++] = t->region;
    else
        n = gw_engines_regions(t->srv->engines, regions, GW_REGIONS_MAX);
    for (size_t i = 0; i < n; i++)
        if (txn_engine(t, regions[i], &req, on_1101, (int)i) != 0)
            return -1;
    return 0;
}

/* ---- 2201, 2202, 2203 visits ---- */

static int op_2201(struct txn *t)
{
    const json_t *d = input_part(t, "data");
    const char *psn = txn_code(d, "psn_no");
    if (need(t, "psn_no", psn, 18) != 0)
        return -1;
    const char *med = txn_code(d, "med_type");
    const char *begn = txn_str(d, "begntime");
    /* The visit is named by the registering call's msgid: unique, and the
     * same on a resend. */
    snprintf(t->mdtrt_id, sizeof t->mdtrt_id, "%s", t->msgid);
    if (txn_visit_lock(t, t->mdtrt_id) != 0)
        return -1;
    t->visit = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:[]}", "psn_no", psn, "admdvs",
                         t->region, "med_type", med ? med : "", "begntime", begn ? begn : t->date,
                         "state", "open", "setl_id", "", "diseinfo", "lines");
    t->visit_dirty = true;
    const char *ipt = txn_code(d, "ipt_otp_no");
    t->output = json_pack("{s:{s:s, s:s, s:s}}", "data", "mdtrt_id", t->mdtrt_id, "psn_no", psn,
                          "ipt_otp_no", ipt ? ipt : "");
    txn_finish(t);
    return 0;
}

static int op_2202(struct txn *t)
{
    const json_t *d = input_part(t, "data");
    if (visit_load(t, txn_code(d, "mdtrt_id")) != 0)
        return -1;
    if (visit_settled(t))
        return txn_fail(t, GW_INF_VISIT_STATE, "就诊%s已结算，请先冲正结算", t->mdtrt_id);
    json_object_set_new(t->visit, "state", json_string("cancelled"));
    t->visit_dirty = true;
    t->output = json_object();
    txn_finish(t);
    return 0;
}

static int op_2203(struct txn *t)
{
    const json_t *m = input_part(t, "mdtrtinfo");
    if (visit_load(t, txn_code(m, "mdtrt_id")) != 0)
        return -1;
    const char *med = txn_code(m, "med_type");
    if (med != NULL)
        json_object_set_new(t->visit, "med_type", json_string(med));
    const json_t *dise = json_object_get(t->input, "diseinfo");
    if (json_is_array(dise) && json_array_size(dise) <= 64)
        json_object_set(t->visit, "diseinfo", (json_t *)dise);
    t->visit_dirty = true;
    t->output = json_object();
    txn_finish(t);
    return 0;
}

/* ---- Claims from a visit ---- */

struct claim_buf {
    Sanhe__Claim claim;
    Sanhe__Line *lines;
    Sanhe__Line **ptrs;
};

static int claim_build(struct txn *t, struct claim_buf *cb, const struct txn_line *lines, size_t n)
{
    sanhe__claim__init(&cb->claim);
    cb->lines = calloc(n + 1, sizeof *cb->lines);
    cb->ptrs = calloc(n + 1, sizeof *cb->ptrs);
    if (cb->lines == NULL || cb->ptrs == NULL)
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：内存不足");
    for (size_t i = 0; i < n; i++) {
        sanhe__line__init(&cb->lines[i]);
        cb->lines[i].code = (char *)lines[i].code;
        cb->lines[i].has_qty_milli = cb->lines[i].has_amount = true;
        cb->lines[i].qty_milli = lines[i].qty_milli;
        cb->lines[i].amount = lines[i].amount;
        cb->ptrs[i] = &cb->lines[i];
    }
    cb->claim.hospital = t->hospital;
    cb->claim.person = (char *)txn_str(t->visit, "psn_no");
    const char *med = txn_str(t->visit, "med_type");
    cb->claim.visit = (char *)gw_config_visit(t->cfg, med);
    cb->claim.date = t->date;
    cb->claim.n_lines = n;
    cb->claim.lines = cb->ptrs;
    return 0;
}

static void claim_free(struct claim_buf *cb)
{
    free(cb->lines);
    free(cb->ptrs);
}

/* The visit's stored lines into t->lines. */
static int visit_lines(struct txn *t)
{
    const json_t *lines = json_object_get(t->visit, "lines");
    size_t n = json_array_size(lines);
    t->lines = calloc(n + 1, sizeof *t->lines);
    if (t->lines == NULL)
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：内存不足");
    for (size_t i = 0; i < n; i++) {
        const json_t *l = json_array_get(lines, i);
        struct txn_line *tl = &t->lines[i];
        snprintf(tl->sn, sizeof tl->sn, "%s", txn_str(l, "sn") ? txn_str(l, "sn") : "");
        snprintf(tl->code, sizeof tl->code, "%s", txn_str(l, "code") ? txn_str(l, "code") : "");
        tl->qty_milli = json_integer_value(json_object_get(l, "qty"));
        tl->amount = json_integer_value(json_object_get(l, "amt"));
    }
    t->line_count = n;
    return 0;
}

/* ---- 2204 fee-detail upload, 2205 its cancel ---- */

/* The line's share by class: what the single-line preview says of it. */
static json_t *line_result(const struct txn_line *l, const Sanhe__Breakdown *b, const char *sn)
{
    const char *lv = b->class_c_total > 0 ? "03" : b->class_b_total > 0 ? "02" : "01";
    int64_t rest = l->amount - b->over_limit;
    /* selfpay_prop: the part of the in-limit amount the patient pays
     * first (class C all of it, class A none, class B its share), to the
     * basis point, rounded half up. */
    int64_t bp = b->class_c_total > 0 ? 10000
                 : rest > 0           ? (b->pre_selfpay * 10000 + rest / 2) / rest
                                      : 0;
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "feedetl_sn", sn,
                     "det_item_fee_sumamt", gw_json_money(l->amount), "cnt", json_integer(0),
                     "fulamt_ownpay_amt", gw_json_money(b->out_of_scope), "overlmt_amt",
                     gw_json_money(b->over_limit), "preselfpay_amt", gw_json_money(b->pre_selfpay),
                     "inscp_scp_amt", gw_json_money(b->in_scope), "selfpay_prop", gw_json_bp(bp),
                     "chrgitm_lv", lv);
}

static void upload_done(struct txn *t)
{
    if (t->best_code != 0) {
        txn_refused(t, t->best_code, NULL);
    } else if (t->system_status != 0) {
        txn_engine_status(t, t->system_status, NULL, NULL);
    } else {
        json_t *stored = json_object_get(t->visit, "lines");
        for (size_t i = 0; i < t->line_count; i++) {
            const struct txn_line *l = &t->lines[i];
            json_array_append_new(stored, json_pack("{s:s, s:s, s:I, s:I}", "sn", l->sn, "code",
                                                    l->code, "qty", (json_int_t)l->qty_milli, "amt",
                                                    (json_int_t)l->amount));
        }
        t->visit_dirty = true;
        t->output = json_pack("{s:O}", "result", t->scratch);
    }
    txn_finish(t);
}

static void on_2204(struct txn *t, int status, const Sanhe__Response *resp, int index)
{
    const struct txn_line *l = &t->lines[index];
    if (status == 0 && resp->presettle != NULL && resp->presettle->breakdown != NULL) {
        json_t *row = line_result(l, resp->presettle->breakdown, l->sn);
        json_object_set_new(row, "cnt", gw_json_milli(l->qty_milli));
        json_array_set_new(t->scratch, (size_t)index, row);
    } else if (status == SANHE_E_REFUSED && resp != NULL && resp->error != NULL) {
        /* The claim's refusal is the first of its lines' in the engine's
         * order (the codes are numbered in that order). */
        int code = (int)resp->error->code;
        if (t->best_code == 0 || code < t->best_code)
            t->best_code = code;
    } else if (status != 0) {
        t->system_status = status;
    }
    if (t->pending == 0)
        upload_done(t);
}

static int upload_line(struct txn *t, const json_t *row, const char *mdtrt_id, size_t i)
{
    struct txn_line *l = &t->lines[i];
    const char *sn = txn_code(row, "feedetl_sn");
    const char *code = txn_code(row, "med_list_codg");
    const char *row_visit = txn_code(row, "mdtrt_id");
    if (need(t, "feedetl_sn", sn, 30) != 0 || need(t, "med_list_codg", code, 63) != 0)
        return -1;
    if (row_visit != NULL && strcmp(row_visit, mdtrt_id) != 0)
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "一次上传只能属于同一就诊");
    const char *cnt = gw_num_text(json_object_get(row, "cnt"));
    if (cnt == NULL || gw_qty_to_milli(cnt, &l->qty_milli) != 0)
        return txn_fail(t, GW_INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM,
                        "明细%s：数量cnt须为大于0、最多三位小数的数字", sn);
    if (txn_money(t, row, "det_item_fee_sumamt", true, &l->amount) != 0)
        return -1;
    snprintf(l->sn, sizeof l->sn, "%s", sn);
    snprintf(l->code, sizeof l->code, "%s", code);
    /* A line number once in a visit (uploaded before or in this call). */
    const json_t *old = json_object_get(t->visit, "lines");
    for (size_t k = 0; k < json_array_size(old); k++)
        if (strcmp(txn_str(json_array_get(old, k), "sn"), sn) == 0)
            return txn_fail(t, GW_INF_BAD_ENVELOPE, "明细流水号%s已上传", sn);
    for (size_t k = 0; k < i; k++)
        if (strcmp(t->lines[k].sn, sn) == 0)
            return txn_fail(t, GW_INF_BAD_ENVELOPE, "明细流水号%s重复", sn);
    return 0;
}

static int op_2204(struct txn *t)
{
    const json_t *rows = json_object_get(t->input, "feedetail");
    size_t n = json_array_size(rows);
    if (n == 0 || n > GW_LINES_MAX)
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "feedetail须为1至%d条明细", GW_LINES_MAX);
    const char *mdtrt_id = txn_code(json_array_get(rows, 0), "mdtrt_id");
    if (visit_load(t, mdtrt_id) != 0)
        return -1;
    if (visit_settled(t))
        return txn_fail(t, GW_INF_VISIT_STATE, "就诊%s已结算，不能再上传明细", t->mdtrt_id);
    size_t old = json_array_size(json_object_get(t->visit, "lines"));
    if (old + n > GW_LINES_MAX)
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "一次就诊最多%d条明细", GW_LINES_MAX);
    t->lines = calloc(n, sizeof *t->lines);
    t->scratch = json_array();
    if (t->lines == NULL || t->scratch == NULL)
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：内存不足");
    for (size_t i = 0; i < n; i++) {
        if (upload_line(t, json_array_get(rows, i), t->mdtrt_id, i) != 0)
            return -1;
        json_array_append_new(t->scratch, json_null());
    }
    t->line_count = n;
    /* Each line previewed alone: Step 1 splits every line on its own, so a
     * one-line presettle gives exactly that line's split. */
    for (size_t i = 0; i < n; i++) {
        struct claim_buf cb;
        int rc = claim_build(t, &cb, &t->lines[i], 1);
        Sanhe__PresettleRequest pr = SANHE__PRESETTLE_REQUEST__INIT;
        pr.claim = &cb.claim;
        Sanhe__Request req = SANHE__REQUEST__INIT;
        char rid[40];
        snprintf(rid, sizeof rid, "%.20s-%zu", t->msgid + strlen(t->msgid) - 20, i);
        req.request_id = rid;
        req.op_case = SANHE__REQUEST__OP_PRESETTLE;
        req.presettle = &pr;
        if (rc == 0)
            rc = txn_engine(t, visit_region(t), &req, on_2204, (int)i);
        claim_free(&cb);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int op_2205(struct txn *t)
{
    const json_t *d = input_part(t, "data");
    if (visit_load(t, txn_code(d, "mdtrt_id")) != 0)
        return -1;
    if (visit_settled(t))
        return txn_fail(t, GW_INF_VISIT_STATE, "就诊%s已结算，不能撤销明细", t->mdtrt_id);
    const char *sn = txn_code(d, "feedetl_sn");
    bool all = sn == NULL || strcmp(sn, "0000") == 0;
    json_t *lines = json_object_get(t->visit, "lines");
    size_t removed = 0;
    for (size_t i = json_array_size(lines); i-- > 0;)
        if (all || strcmp(txn_str(json_array_get(lines, i), "sn"), sn) == 0) {
            json_array_remove(lines, i);
            removed++;
        }
    if (!all && removed == 0)
        return txn_fail(t, GW_INF_UNKNOWN_VISIT, "明细流水号%s不存在", sn);
    t->visit_dirty = true;
    t->output = json_pack("{s:{s:I}}", "data", "cnt", (json_int_t)removed);
    txn_finish(t);
    return 0;
}

/* ---- 2206 presettle, 2207 settle ---- */

/* setlinfo and setldetail from a breakdown, as docs/gateway.md's table. */
static json_t *settle_output(struct txn *t, const Sanhe__Breakdown *b, const char *setl_id)
{
    int64_t hifp = 0, dedc = 0, hifmi = 0, maf = 0;
    bool first_insurance = false;
    json_t *detail = json_array(), *funds = json_array();
    int64_t base = b->in_scope; /* each fund's base: the in-scope remainder */
    for (size_t i = 0; i < b->n_funds; i++) {
        const Sanhe__FundShare *f = b->funds[i];
        const char *type = gw_config_fund_type(t->cfg, f->fund);
        /* The policy's first insurance fund: the first with an insurance
         * type (39xxxx) in policy order. */
        if (!first_insurance && strncmp(type, "39", 2) == 0 && strcmp(type, "390200") != 0) {
            first_insurance = true;
            hifp = f->pay;
            dedc = f->deductible;
        } else if (strcmp(type, "390200") == 0) {
            hifmi += f->pay;
        } else if (strncmp(type, "6101", 4) == 0) {
            maf += f->pay;
        }
        if (f->pay > 0)
            json_array_append_new(detail, json_pack("{s:s, s:o, s:s, s:o}", "fund_pay_type", type,
                                                    "fund_payamt", gw_json_money(f->pay),
                                                    "fund_pay_type_name", f->name ? f->name : "",
                                                    "inscp_scp_amt", gw_json_money(base)));
        json_t *row =
            json_pack("{s:s, s:s, s:o, s:o, s:s?, s:s?}", "fund_id", f->fund ? f->fund : "",
                      "fund_pay_type", type, "fund_payamt", gw_json_money(f->pay), "dedc_amt",
                      gw_json_money(f->deductible), "reason", f->reason, "category", f->category);
        json_array_append_new(funds, row);
        base -= f->pay;
    }
    char setl_time[20];
    gw_time_text(gw_unix_ms(), setl_time);
    json_t *info = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
        "s:s}",
        "setl_id", setl_id, "mdtrt_id", t->mdtrt_id, "psn_no",
        txn_str(t->visit, "psn_no") ? txn_str(t->visit, "psn_no") : "", "medfee_sumamt",
        gw_json_money(b->total), "fulamt_ownpay_amt", gw_json_money(b->out_of_scope),
        "overlmt_selfpay", gw_json_money(b->over_limit), "preselfpay_amt",
        gw_json_money(b->pre_selfpay), "inscp_scp_amt", gw_json_money(b->in_scope), "act_pay_dedc",
        gw_json_money(dedc), "hifp_pay", gw_json_money(hifp), "hifmi_pay", gw_json_money(hifmi),
        "maf_pay", gw_json_money(maf), "oth_pay", gw_json_money(b->fund_total - hifp - hifmi - maf),
        "fund_pay_sumamt", gw_json_money(b->fund_total), "psn_part_amt",
        gw_json_money(b->patient_pays), "psn_cash_pay", gw_json_money(b->patient_pays), "acct_pay",
        gw_json_money(0), "setl_time", setl_time);
    return json_pack("{s:o, s:o, s:{s:o, s:b}}", "setlinfo", info, "setldetail", detail,
                     "exp_content", "funds", funds, "trial", b->trial);
}

static void on_settle(struct txn *t, int status, const Sanhe__Response *resp, int index)
{
    (void)index;
    if (txn_engine_status(t, status, resp, NULL) == 0) {
        const Sanhe__Breakdown *b = NULL;
        char setl_id[24] = "";
        if (resp->result_case == SANHE__RESPONSE__RESULT_SETTLE && resp->settle != NULL) {
            b = resp->settle->breakdown;
            snprintf(setl_id, sizeof setl_id, "%llu",
                     (unsigned long long)resp->settle->settlement_id);
        } else if (resp->presettle != NULL) {
            b = resp->presettle->breakdown;
        }
        if (b == NULL) {
            txn_fail(t, GW_INF_SYSTEM, "系统错误：结算引擎的应答缺少结算结果");
        } else {
            if (txn_replay(t))
                return;
            t->output = settle_output(t, b, setl_id);
            if (setl_id[0] != '\0') {
                json_object_set_new(t->visit, "setl_id", json_string(setl_id));
                t->visit_dirty = true;
            }
        }
    }
    txn_finish(t);
}

static int settle_start(struct txn *t, bool settle)
{
    const json_t *d = input_part(t, "data");
    if (visit_load(t, txn_code(d, "mdtrt_id")) != 0)
        return -1;
    const char *psn = txn_code(d, "psn_no");
    if (psn != NULL && strcmp(psn, txn_str(t->visit, "psn_no")) != 0)
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "psn_no与就诊登记的人员不一致");
    if (visit_lines(t) != 0)
        return -1;
    int64_t sum = 0, sent = 0;
    for (size_t i = 0; i < t->line_count; i++)
        sum += t->lines[i].amount;
    int rc = txn_money(t, d, "medfee_sumamt", false, &sent);
    if (rc < 0)
        return -1;
    if (rc == 0 && sent != sum) {
        char a[24], b[24];
        gw_fen_to_yuan(sent, a, sizeof a);
        gw_fen_to_yuan(sum, b, sizeof b);
        return txn_fail(t, GW_INF_SUM_MISMATCH, "medfee_sumamt %s与已上传明细合计%s不符", a, b);
    }
    struct claim_buf cb;
    if (claim_build(t, &cb, t->lines, t->line_count) != 0)
        return -1;
    Sanhe__SettleRequest sr = SANHE__SETTLE_REQUEST__INIT;
    Sanhe__PresettleRequest pr = SANHE__PRESETTLE_REQUEST__INIT;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = t->msgid; /* the engine's idempotency key */
    if (settle) {
        sr.claim = &cb.claim;
        req.op_case = SANHE__REQUEST__OP_SETTLE;
        req.settle = &sr;
    } else {
        pr.claim = &cb.claim;
        req.op_case = SANHE__REQUEST__OP_PRESETTLE;
        req.presettle = &pr;
    }
    rc = txn_engine(t, visit_region(t), &req, on_settle, 0);
    claim_free(&cb);
    return rc;
}

static int op_2206(struct txn *t) { return settle_start(t, false); }
static int op_2207(struct txn *t) { return settle_start(t, true); }

/* ---- 2208 reversal, 2601 cancel ---- */

static void on_reverse(struct txn *t, int status, const Sanhe__Response *resp, int index)
{
    (void)index;
    if (txn_engine_status(t, status, resp, NULL) == 0 && resp->reverse != NULL) {
        if (txn_replay(t))
            return;
        char setl_id[24], now[20];
        snprintf(setl_id, sizeof setl_id, "%llu", (unsigned long long)resp->reverse->settlement_id);
        gw_time_text(gw_unix_ms(), now);
        t->output = json_pack(
            "{s:{s:s, s:s, s:s, s:s, s:s}}", "setlinfo", "setl_id", setl_id, "mdtrt_id",
            t->mdtrt_id, "psn_no",
            t->visit != NULL && txn_str(t->visit, "psn_no") ? txn_str(t->visit, "psn_no") : "",
            "setl_time", now, "rvs_flag", resp->reverse->reversed ? "1" : "0");
        if (t->visit != NULL) {
            json_object_set_new(t->visit, "setl_id", json_string(""));
            t->visit_dirty = true;
        }
    } else if (t->infcode == 0) {
        txn_fail(t, GW_INF_SYSTEM, "系统错误：结算引擎的应答缺少冲正结果");
    }
    txn_finish(t);
}

static int op_2208(struct txn *t)
{
    const json_t *d = input_part(t, "data");
    const char *setl = txn_code(d, "setl_id");
    int64_t id = 0;
    if (setl == NULL || gw_num_int(setl, &id) != 0 || id <= 0)
        return txn_fail(t, GW_INF_ENGINE + SANHE__ERROR_CODE__NOT_FOUND, "结算记录%s不存在",
                        setl != NULL ? setl : "");
    /* The visit, when named and known, is freed for a new settle. */
    const char *mdtrt_id = txn_code(d, "mdtrt_id");
    if (mdtrt_id != NULL && visit_load(t, mdtrt_id) != 0) {
        if (t->park != NULL)
            return -1; /* the visit is in use: this call waits for it */
        json_decref(t->visit);
        t->visit = NULL;
        t->infcode = 0;
    }
    Sanhe__ReverseRequest rr = SANHE__REVERSE_REQUEST__INIT;
    rr.target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID;
    rr.settlement_id = (uint64_t)id;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = t->msgid;
    req.op_case = SANHE__REQUEST__OP_REVERSE;
    req.reverse = &rr;
    /* The call's region, else (when it names none) its visit's, as 2207. */
    return txn_engine(t, visit_region(t), &req, on_reverse, 0);
}

static void on_cancel(struct txn *t, int status, const Sanhe__Response *resp, int index)
{
    (void)index;
    if (txn_engine_status(t, status, resp, NULL) == 0 && resp->cancel != NULL) {
        if (txn_replay(t))
            return;
        char setl_id[24] = "";
        if (resp->cancel->has_settlement_id)
            snprintf(setl_id, sizeof setl_id, "%llu",
                     (unsigned long long)resp->cancel->settlement_id);
        const json_t *d = input_part(t, "data");
        t->output =
            json_pack("{s:{s:s, s:s, s:s, s:s}}", "data", "omsgid", txn_str(d, "omsgid"), "oinfno",
                      "2207", "setl_id", setl_id, "rvs_flag", resp->cancel->reversed ? "1" : "0");
    } else if (t->infcode == 0) {
        txn_fail(t, GW_INF_SYSTEM, "系统错误：结算引擎的应答缺少撤销结果");
    }
    txn_finish(t);
}

static int op_2601(struct txn *t)
{
    const json_t *d = input_part(t, "data");
    const char *omsgid = txn_str(d, "omsgid");
    const char *oinfno = txn_code(d, "oinfno");
    if (need(t, "omsgid", omsgid, 31) != 0)
        return -1;
    if (oinfno == NULL || strcmp(oinfno, "2207") != 0)
        return txn_fail(t, GW_INF_UNKNOWN_INFNO,
                        "2601只撤销结算（oinfno 2207）；其他交易请用其撤销交易");
    Sanhe__CancelRequest cr = SANHE__CANCEL_REQUEST__INIT;
    cr.cancel_of = (char *)omsgid;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = t->msgid;
    req.op_case = SANHE__REQUEST__OP_CANCEL;
    req.cancel = &cr;
    return txn_engine(t, t->region, &req, on_cancel, 0);
}

/* ---- 3201, 3202 reconciliation over a range of business days ---- */

static int day_range(struct txn *t, const json_t *d, time_t *from, int *days)
{
    const char *b = txn_str(d, "stmt_begndate"), *e = txn_str(d, "stmt_enddate");
    struct tm tb = {0}, te = {0};
    if (b == NULL || e == NULL || strptime(b, "%Y-%m-%d", &tb) == NULL ||
        strptime(e, "%Y-%m-%d", &te) == NULL)
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "stmt_begndate和stmt_enddate须为yyyy-MM-dd");
    time_t tf = timegm(&tb), tt = timegm(&te);
    long n = (long)((tt - tf) / 86400) + 1;
    if (n < 1 || n > RECONCILE_DAYS_MAX)
        return txn_fail(t, GW_INF_BAD_ENVELOPE, "对账日期范围须为1至%d天", RECONCILE_DAYS_MAX);
    *from = tf;
    *days = (int)n;
    return 0;
}

enum { S_COUNT, S_TOTAL, S_FUND, R_COUNT, R_TOTAL, R_FUND };

static const char *stmt_text(int rslt)
{
    static const char *const texts[] = {"对账一致", "中心结算笔数多于机构", "机构结算笔数多于中心",
                                        "笔数一致，金额不一致"};
    return texts[rslt];
}

static void reconcile_3201(struct txn *t)
{
    const json_t *d = input_part(t, "data");
    const char *flag = txn_code(d, "refd_setl_flag");
    bool net = flag != NULL && strcmp(flag, "1") == 0;
    int64_t *s = t->sums;
    /* Reversal entries carry negated amounts; "net" subtracts them. */
    int64_t count = net ? s[S_COUNT] - s[R_COUNT] : s[S_COUNT];
    int64_t total = net ? s[S_TOTAL] - llabs(s[R_TOTAL]) : s[S_TOTAL];
    int64_t fund = net ? s[S_FUND] - llabs(s[R_FUND]) : s[S_FUND];
    int64_t h_total = 0, h_fund = 0, h_count = 0;
    const char *cnt = gw_num_text(json_object_get(d, "fixmedins_setl_cnt"));
    if (cnt == NULL || gw_num_int(cnt, &h_count) != 0 || h_count < 0) {
        txn_fail(t, GW_INF_BAD_ENVELOPE, "fixmedins_setl_cnt须为非负整数");
        return;
    }
    if (txn_money(t, d, "medfee_sumamt", true, &h_total) != 0 ||
        txn_money(t, d, "fund_pay_sumamt", true, &h_fund) != 0)
        return;
    int rslt = count > h_count                        ? 1
               : count < h_count                      ? 2
               : (total != h_total || fund != h_fund) ? 3
                                                      : 0;
    char r[2] = {(char)('0' + rslt), 0};
    t->output =
        json_pack("{s:{s:s, s:s, s:s, s:s, s:I, s:o, s:o}}", "data", "stmt_rslt", r,
                  "stmt_rslt_dscr", stmt_text(rslt), "refd_setl_flag", net ? "1" : "0",
                  "setl_optins", t->region, "fixmedins_setl_cnt", (json_int_t)count,
                  "medfee_sumamt", gw_json_money(total), "fund_pay_sumamt", gw_json_money(fund));
}

/* 3202: the engine's settlements of the range against the institution's
 * list (input data.details, or the national file's rows as a list). */
static void reconcile_3202(struct txn *t)
{
    const json_t *d = input_part(t, "data");
    const json_t *mine = json_object_get(d, "details");
    json_t *only_c = json_array(), *only_f = json_array(), *differ = json_array();
    json_t *engine = t->scratch; /* setl_id -> [total, fund] */
    json_t *seen = json_object();
    for (size_t i = 0; i < json_array_size(mine); i++) {
        const json_t *row = json_array_get(mine, i);
        const char *id = txn_code(row, "setl_id");
        int64_t tot = 0, fund = 0;
        if (id == NULL || txn_money(t, row, "medfee_sumamt", true, &tot) != 0 ||
            txn_money(t, row, "fund_pay_sumamt", true, &fund) != 0) {
            if (t->infcode == 0)
                txn_fail(t, GW_INF_BAD_ENVELOPE, "details第%zu行缺少setl_id", i + 1);
            break;
        }
        json_object_set_new(seen, id, json_true());
        const json_t *e = json_object_get(engine, id);
        if (e == NULL)
            json_array_append_new(only_f, json_pack("{s:s}", "setl_id", id));
        else if (json_integer_value(json_array_get(e, 0)) != tot ||
                 json_integer_value(json_array_get(e, 1)) != fund)
            json_array_append_new(
                differ, json_pack("{s:s, s:o, s:o, s:o, s:o}", "setl_id", id, "medfee_sumamt",
                                  gw_json_money(json_integer_value(json_array_get(e, 0))),
                                  "fund_pay_sumamt",
                                  gw_json_money(json_integer_value(json_array_get(e, 1))),
                                  "fixmedins_medfee_sumamt", gw_json_money(tot),
                                  "fixmedins_fund_pay_sumamt", gw_json_money(fund)));
    }
    const char *key;
    json_t *v;
    json_object_foreach(engine, key, v)
    {
        if (json_object_get(seen, key) == NULL)
            json_array_append_new(
                only_c, json_pack("{s:s, s:o, s:o}", "setl_id", key, "medfee_sumamt",
                                  gw_json_money(json_integer_value(json_array_get(v, 0))),
                                  "fund_pay_sumamt",
                                  gw_json_money(json_integer_value(json_array_get(v, 1)))));
    }
    json_decref(seen);
    bool same = json_array_size(only_c) + json_array_size(only_f) + json_array_size(differ) == 0;
    if (t->infcode == 0)
        t->output = json_pack("{s:{s:s, s:s, s:o, s:o, s:o}}", "data", "stmt_rslt",
                              same ? "0" : "1", "stmt_rslt_dscr", same ? "明细一致" : "明细不一致",
                              "only_centre", only_c, "only_fixmedins", only_f, "differ", differ);
    else {
        json_decref(only_c);
        json_decref(only_f);
        json_decref(differ);
    }
}

static void on_reconcile(struct txn *t, int status, const Sanhe__Response *resp, int index)
{
    (void)index;
    const Sanhe__ReconcileReply *rr = resp != NULL ? resp->reconcile : NULL;
    if (status != 0) {
        if (t->system_status == 0 && t->best_code == 0) {
            if (status == SANHE_E_REFUSED && resp != NULL && resp->error != NULL)
                t->best_code = (int)resp->error->code;
            else
                t->system_status = status;
        }
    } else if (rr != NULL) {
        if (rr->settlements != NULL) {
            t->sums[S_COUNT] += (int64_t)rr->settlements->count;
            t->sums[S_TOTAL] += rr->settlements->total;
            t->sums[S_FUND] += rr->settlements->fund_total;
        }
        if (rr->reversals != NULL) {
            t->sums[R_COUNT] += (int64_t)rr->reversals->count;
            t->sums[R_TOTAL] += rr->reversals->total;
            t->sums[R_FUND] += rr->reversals->fund_total;
        }
        for (size_t i = 0; t->scratch != NULL && i < rr->n_only_engine; i++) {
            char id[24];
            snprintf(id, sizeof id, "%llu", (unsigned long long)rr->only_engine[i]->settlement_id);
            json_object_set_new(t->scratch, id,
                                json_pack("[I, I]", (json_int_t)rr->only_engine[i]->total,
                                          (json_int_t)rr->only_engine[i]->fund_total));
        }
    }
    if (t->pending > 0)
        return;
    if (t->best_code != 0)
        txn_refused(t, t->best_code, NULL);
    else if (t->system_status != 0)
        txn_engine_status(t, t->system_status, NULL, NULL);
    else if (strcmp(t->infno, "3201") == 0)
        reconcile_3201(t);
    else
        reconcile_3202(t);
    txn_finish(t);
}

static int op_reconcile(struct txn *t)
{
    const json_t *d = input_part(t, "data");
    time_t from = 0;
    int days = 0;
    if (day_range(t, d, &from, &days) != 0)
        return -1;
    const char *optins = txn_code(d, "setl_optins");
    if (optins != NULL && optins[0] != '\0')
        snprintf(t->region, sizeof t->region, "%s", optins);
    bool detail = strcmp(t->infno, "3202") == 0;
    if (detail && (t->scratch = json_object()) == NULL)
        return txn_fail(t, GW_INF_SYSTEM, "系统错误：内存不足");
    for (int i = 0; i < days; i++) {
        time_t day = from + (time_t)i * 86400;
        struct tm tm;
        gmtime_r(&day, &tm);
        char text[16], rid[40];
        strftime(text, sizeof text, "%Y-%m-%d", &tm);
        snprintf(rid, sizeof rid, "%.20s-%d", t->msgid + strlen(t->msgid) - 20, i);
        Sanhe__ReconcileRequest rq = SANHE__RECONCILE_REQUEST__INIT;
        rq.hospital = t->hospital;
        rq.day = text;
        rq.has_with_items = detail;
        rq.with_items = detail;
        Sanhe__Request req = SANHE__REQUEST__INIT;
        req.request_id = rid;
        req.op_case = SANHE__REQUEST__OP_RECONCILE;
        req.reconcile = &rq;
        if (txn_engine(t, t->region, &req, on_reconcile, i) != 0)
            return -1;
    }
    return 0;
}

static const struct txn_op ops[] = {
    {"9001", KEEP_INPUT, op_9001},     {"1101", KEEP_NONE, op_1101},
    {"2201", KEEP_INPUT, op_2201},     {"2202", KEEP_INPUT, op_2202},
    {"2203", KEEP_INPUT, op_2203},     {"2204", KEEP_INPUT, op_2204},
    {"2205", KEEP_INPUT, op_2205},     {"2206", KEEP_NONE, op_2206},
    {"2207", KEEP_ENGINE, op_2207},    {"2208", KEEP_ENGINE, op_2208},
    {"2601", KEEP_ENGINE, op_2601},    {"3201", KEEP_NONE, op_reconcile},
    {"3202", KEEP_NONE, op_reconcile},
};

const struct txn_op *txn_op_find(const char *infno)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].infno, infno) == 0)
            return &ops[i];
    return NULL;
}
