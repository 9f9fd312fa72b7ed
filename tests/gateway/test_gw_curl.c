/*
 * sanhe-gateway driven by curl, the real command-line HTTP client, against
 * a real engine loaded with case 02's reference data (tests/gateway/
 * gw_fixture.c). One group a process (argv[1]), each with its own engine
 * and gateway:
 *
 *   txn       every transaction in a hospital's order, each reply's fields
 *             checked against the engine's own figures (a direct presettle,
 *             a direct query) and the case's expectations
 *   resend    a msgid sent again gets the first reply byte for byte and is
 *             not done twice (the engine's reconciliation counts once); also
 *             when the copies come at once (one loop turn, or while the
 *             first is at the engine or being committed)
 *   refusals  a fixmedins_code that is not the certificate's hospital,
 *             malformed JSON, three decimals and exponents, an unknown
 *             infno: each refused, and nothing changed
 *   limits    one connection over connections_max (503 and its envelope),
 *             an idle keep-alive connection (closed after idle_timeout_ms,
 *             not before), a body over the limit (413), headers over it
 *             (431), slow clients that stall in the headers or the body
 *             (408) while others are served
 *   signature x-tif-* signatures, with a key configured: unsigned, wrongly
 *             signed and stale requests refused, a right one served
 *   crash     kill -9 of the gateway under load (client processes running
 *             2201, 2204, 2207): after a restart on the same data, every
 *             call answered before the kill gets its reply again, byte for
 *             byte
 *
 * usage: test_gw_curl GROUP CASE02.json
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <http_parser.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gw_client.h"
#include "gw_fixture.h"
#include "gw_num.h"
#include "sh_error.h"
#include "tls_client.h"

#define H1 "H330424001"
#define H2 "H330424002"
#define P3 "33042419500303003X" /* 患者3: youfu veteran, assist dibao 2026 */
#define DAY "2026-06-15 09:30:00"
#define INF_ENGINE 1000
#define INF_BAD_ENVELOPE 2001
#define INF_UNKNOWN_INFNO 2002
#define INF_VISIT_STATE 2008
#define INF_HTTP_LIMIT 2100
#define STALLS 8
#define HEADER_TIMEOUT_MS 5000
#define BODY_LIMIT 65536
#define CONNECTIONS_MAX 16
#define IDLE_TIMEOUT_MS 2000

static const char *case_path;
static struct gwfx fx;
static json_t *case_doc;
static const json_t *claim; /* the case's step in1: P3 inpatient at H1 */
static const json_t *expect;

/* ---- Helpers ---- */

/* fen as the interface's yuan text, on its own (not the gateway's). */
static void yuan(long long fen, char out[32])
{
    snprintf(out, 32, "%s%lld.%02lld", fen < 0 ? "-" : "", llabs(fen) / 100, llabs(fen) % 100);
}

static long long ex(const char *key)
{
    return (long long)json_integer_value(json_object_get(expect, key));
}

static long long ex_fund(const char *fund, const char *key)
{
    return (long long)json_integer_value(
        json_object_get(json_object_get(json_object_get(expect, "funds"), fund), key));
}

/* One call that must succeed (HTTP 200, infcode 0). */
static void ok_txn(const char *infno, const char *input, struct gwfx_reply *r)
{
    assert_int_equal(gwfx_txn(&fx, H1, infno, NULL, "330424", DAY, input, r), 0);
    if (r->status != 200 || gwfx_infcode(r) != 0)
        fprintf(stderr, "%s: HTTP %d: %s\n", infno, r->status, r->body);
    assert_int_equal(r->status, 200);
    assert_int_equal(gwfx_infcode(r), 0);
    assert_non_null(gwfx_get(r->doc, "output", NULL));
    assert_string_equal(gwfx_str(r->doc, "err_msg"), "");
}

/* One call that must be refused with infcode (HTTP status). */
static void refused_txn(const char *infno, const char *msgid, const char *input, int infcode,
                        int status, struct gwfx_reply *r)
{
    assert_int_equal(gwfx_txn(&fx, H1, infno, msgid, "330424", DAY, input, r), 0);
    if (gwfx_infcode(r) != infcode)
        fprintf(stderr, "%s: HTTP %d: %s\n", infno, r->status, r->body);
    assert_int_equal(gwfx_infcode(r), infcode);
    assert_int_equal(r->status, status);
    assert_true(strlen(gwfx_str(r->doc, "err_msg")) > 0);
    assert_true(json_is_null(gwfx_get(r->doc, "output", NULL)) ||
                gwfx_get(r->doc, "output", NULL) == NULL);
}

static const char *register_visit(char mdtrt_id[40])
{
    struct gwfx_reply r;
    ok_txn("2201",
           "{\"data\":{\"psn_no\":\"" P3 "\",\"insutype\":\"390\",\"med_type\":\"21\","
           "\"begntime\":\"2026-06-10 08:00:00\",\"ipt_otp_no\":\"ZY001\"}}",
           &r);
    snprintf(mdtrt_id, 40, "%s", gwfx_str(gwfx_get(r.doc, "output", "data", NULL), "mdtrt_id"));
    assert_string_equal(mdtrt_id, r.msgid); /* the visit is named by its registration */
    assert_string_equal(gwfx_str(gwfx_get(r.doc, "output", "data", NULL), "ipt_otp_no"), "ZY001");
    gwfx_reply_free(&r);
    return mdtrt_id;
}

/* The 2204 input of the case claim's lines (and one more line when extra). */
static char *feedetail(const char *mdtrt_id, const char *extra_row)
{
    const json_t *lines = json_object_get(claim, "lines");
    size_t cap = 4096 + (extra_row ? strlen(extra_row) : 0);
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n = (size_t)snprintf(out, cap, "{\"feedetail\":[");
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const json_t *l = json_array_get(lines, i);
        char amt[32];
        yuan((long long)json_integer_value(json_object_get(l, "amount")), amt);
        n += (size_t)snprintf(out + n, cap - n,
                              "%s{\"feedetl_sn\":\"%zu\",\"mdtrt_id\":\"%s\",\"psn_no\":\"" P3
                              "\",\"med_list_codg\":\"%s\",\"cnt\":%lld,"
                              "\"det_item_fee_sumamt\":%s}",
                              i > 0 ? "," : "", i + 1, mdtrt_id,
                              json_string_value(json_object_get(l, "code")),
                              (long long)json_integer_value(json_object_get(l, "qty")), amt);
    }
    if (extra_row != NULL)
        n += (size_t)snprintf(out + n, cap - n, ",%s", extra_row);
    snprintf(out + n, cap - n, "]}");
    return out;
}

static void upload(const char *mdtrt_id, struct gwfx_reply *r)
{
    char *in = feedetail(mdtrt_id, NULL);
    ok_txn("2204", in, r);
    free(in);
}

static char *settle_input(const char *mdtrt_id)
{
    char total[32], *out = malloc(256);
    assert_non_null(out);
    yuan(ex("total"), total);
    snprintf(out, 256,
             "{\"data\":{\"psn_no\":\"" P3 "\",\"mdtrt_id\":\"%s\",\"medfee_sumamt\":%s,"
             "\"med_type\":\"21\"}}",
             mdtrt_id, total);
    return out;
}

/* Engine queries, as H1's counter terminal, straight to the engine. */
static Sanhe__Response *engine_query(uint64_t setl_id, const char *request_id)
{
    Sanhe__QueryRequest q = SANHE__QUERY_REQUEST__INIT;
    if (request_id != NULL) {
        q.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
        q.settlement_request_id = (char *)request_id;
    } else {
        q.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_ID;
        q.settlement_id = setl_id;
    }
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "test-query";
    req.op_case = SANHE__REQUEST__OP_QUERY;
    req.query = &q;
    Sanhe__Response *resp = NULL;
    assert_int_equal(gwfx_engine_call(&fx, 0, H1, &req, &resp), 0);
    return resp;
}

/* The engine's settlements and reversals of H1 on day. */
static void engine_counts(const char *day, uint64_t *settled, uint64_t *reversed)
{
    Sanhe__ReconcileRequest rq = SANHE__RECONCILE_REQUEST__INIT;
    rq.hospital = H1;
    rq.day = (char *)day;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "test-reconcile";
    req.op_case = SANHE__REQUEST__OP_RECONCILE;
    req.reconcile = &rq;
    Sanhe__Response *resp = NULL;
    assert_int_equal(gwfx_engine_call(&fx, 0, H1, &req, &resp), 0);
    assert_null(resp->error);
    assert_non_null(resp->reconcile);
    *settled = resp->reconcile->settlements ? resp->reconcile->settlements->count : 0;
    *reversed = resp->reconcile->reversals ? resp->reconcile->reversals->count : 0;
    sanhe__response__free_unpacked(resp, NULL);
}

/* The engine's own presettle of the case claim. */
static Sanhe__Response *engine_presettle(void)
{
    const json_t *lines = json_object_get(claim, "lines");
    size_t n = json_array_size(lines);
    Sanhe__Line ls[8], *lp[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        const json_t *l = json_array_get(lines, i);
        sanhe__line__init(&ls[i]);
        ls[i].code = (char *)json_string_value(json_object_get(l, "code"));
        ls[i].has_qty_milli = ls[i].has_amount = true;
        ls[i].qty_milli = json_integer_value(json_object_get(l, "qty")) * 1000;
        ls[i].amount = json_integer_value(json_object_get(l, "amount"));
        lp[i] = &ls[i];
    }
    Sanhe__Claim c = SANHE__CLAIM__INIT;
    c.hospital = H1;
    c.person = P3;
    c.visit = "inpatient";
    c.date = "2026-06-15";
    c.n_lines = n;
    c.lines = lp;
    Sanhe__PresettleRequest pr = SANHE__PRESETTLE_REQUEST__INIT;
    pr.claim = &c;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "test-presettle";
    req.op_case = SANHE__REQUEST__OP_PRESETTLE;
    req.presettle = &pr;
    Sanhe__Response *resp = NULL;
    assert_int_equal(gwfx_engine_call(&fx, 0, H1, &req, &resp), 0);
    assert_null(resp->error);
    assert_non_null(resp->presettle);
    return resp;
}

static const Sanhe__FundShare *fund_of(const Sanhe__Breakdown *b, const char *id)
{
    for (size_t i = 0; i < b->n_funds; i++)
        if (strcmp(b->funds[i]->fund, id) == 0)
            return b->funds[i];
    fail_msg("no fund %s", id);
    return NULL;
}

/* setlinfo and setldetail against an engine breakdown, field by field as
 * docs/gateway.md maps them (coop 390100, youfu 350100, assist 610100). */
static void check_setlinfo(const json_t *out, const Sanhe__Breakdown *b, const char *mdtrt_id)
{
    const json_t *s = json_object_get(out, "setlinfo");
    assert_string_equal(gwfx_str(s, "mdtrt_id"), mdtrt_id);
    assert_string_equal(gwfx_str(s, "psn_no"), P3);
    assert_int_equal(gwfx_fen(s, "medfee_sumamt"), b->total);
    assert_int_equal(gwfx_fen(s, "fulamt_ownpay_amt"), b->out_of_scope);
    assert_int_equal(gwfx_fen(s, "overlmt_selfpay"), b->over_limit);
    assert_int_equal(gwfx_fen(s, "preselfpay_amt"), b->pre_selfpay);
    assert_int_equal(gwfx_fen(s, "inscp_scp_amt"), b->in_scope);
    const Sanhe__FundShare *coop = fund_of(b, "coop"), *youfu = fund_of(b, "youfu"),
                           *assist = fund_of(b, "assist");
    assert_int_equal(gwfx_fen(s, "act_pay_dedc"), coop->deductible);
    assert_int_equal(gwfx_fen(s, "hifp_pay"), coop->pay);
    assert_int_equal(gwfx_fen(s, "hifmi_pay"), 0);
    assert_int_equal(gwfx_fen(s, "maf_pay"), assist->pay);
    assert_int_equal(gwfx_fen(s, "oth_pay"), b->fund_total - coop->pay - assist->pay);
    assert_int_equal(gwfx_fen(s, "oth_pay"), youfu->pay);
    assert_int_equal(gwfx_fen(s, "fund_pay_sumamt"), b->fund_total);
    assert_int_equal(gwfx_fen(s, "psn_part_amt"), b->patient_pays);
    assert_int_equal(gwfx_fen(s, "psn_cash_pay"), b->patient_pays);
    assert_int_equal(gwfx_fen(s, "acct_pay"), 0);
    assert_true(strlen(gwfx_str(s, "setl_time")) == 19);
    /* One row per fund that paid, in policy order, each on its base. */
    const json_t *d = json_object_get(out, "setldetail");
    static const char *const types[] = {"390100", "350100", "610100"};
    long long base = b->in_scope;
    size_t row = 0;
    for (size_t i = 0; i < b->n_funds; i++) {
        if (b->funds[i]->pay <= 0)
            continue;
        const json_t *r = json_array_get(d, row++);
        assert_non_null(r);
        assert_string_equal(gwfx_str(r, "fund_pay_type"), types[i]);
        assert_int_equal(gwfx_fen(r, "fund_payamt"), b->funds[i]->pay);
        assert_int_equal(gwfx_fen(r, "inscp_scp_amt"), base);
        base -= b->funds[i]->pay;
    }
    assert_int_equal(json_array_size(d), row);
}

/* The case's own expectations, in fen. */
static void check_expect(const json_t *s)
{
    assert_int_equal(gwfx_fen(s, "medfee_sumamt"), ex("total"));
    assert_int_equal(gwfx_fen(s, "fulamt_ownpay_amt"), ex("out_of_scope"));
    assert_int_equal(gwfx_fen(s, "preselfpay_amt"), ex("pre_selfpay"));
    assert_int_equal(gwfx_fen(s, "inscp_scp_amt"), ex("in_scope"));
    assert_int_equal(gwfx_fen(s, "hifp_pay"), ex_fund("coop", "pay"));
    assert_int_equal(gwfx_fen(s, "act_pay_dedc"), ex_fund("coop", "deductible"));
    assert_int_equal(gwfx_fen(s, "maf_pay"), ex_fund("assist", "pay"));
    assert_int_equal(gwfx_fen(s, "oth_pay"), ex_fund("youfu", "pay"));
    assert_int_equal(gwfx_fen(s, "fund_pay_sumamt"), ex("fund_total"));
    assert_int_equal(gwfx_fen(s, "psn_cash_pay"), ex("patient_pays"));
}

/* The engine's business day is UTC+8's date (utc_offset_min 480): a range
 * of yesterday to tomorrow (UTC) holds it whatever the hour. */
static void day_range(char from[11], char to[11])
{
    time_t now = time(NULL), a = now - 86400, b = now + 86400;
    struct tm ta, tb;
    gmtime_r(&a, &ta);
    gmtime_r(&b, &tb);
    strftime(from, 11, "%Y-%m-%d", &ta);
    strftime(to, 11, "%Y-%m-%d", &tb);
}

/* ---- Group setup ---- */

static const json_t *case_step(const char *rid)
{
    const json_t *steps = json_object_get(case_doc, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++)
        if (strcmp(gwfx_str(json_array_get(steps, i), "request_id"), rid) == 0)
            return json_array_get(steps, i);
    return NULL;
}

static int start_gateway(const char *extra_gateway)
{
    return gwfx_gateway(&fx, extra_gateway, "*=0",
                        "[fund_pay_type]\ncoop = 390100\nyoufu = 350100\nassist = 610100\n"
                        "[idetinfo youfu]\nveteran = 1101,1\n"
                        "[idetinfo assist]\ndibao = 1301,2\n");
}

static int start(const char *extra_gateway)
{
    json_error_t jerr;
    case_doc = json_load_file(case_path, 0, &jerr);
    const json_t *step = case_doc != NULL ? case_step("in1") : NULL;
    if (step == NULL)
        return -1;
    claim = json_object_get(step, "claim");
    expect = json_object_get(step, "expect");
    memset(&fx, 0, sizeof fx);
    if (gwfx_engine(&fx, case_path) != 0 || gwfx_his(&fx, "his-" H1, H1) != 0 ||
        gwfx_his(&fx, "his-" H2, H2) != 0)
        return -1;
    return start_gateway(extra_gateway);
}

static int setup(void **state)
{
    (void)state;
    return start(NULL);
}

static int setup_limits(void **state)
{
    (void)state;
    char extra[256];
    snprintf(extra, sizeof extra,
             "body_bytes_max = %d\nheader_bytes_max = 8192\nheader_timeout_ms = %d\n"
             "body_timeout_ms = %d\nconnections_max = %d\nidle_timeout_ms = %d\n",
             BODY_LIMIT, HEADER_TIMEOUT_MS, HEADER_TIMEOUT_MS, CONNECTIONS_MAX, IDLE_TIMEOUT_MS);
    return start(extra);
}

static int teardown(void **state)
{
    (void)state;
    char log[4096];
    /* Nothing the gateway wrote shows a resident id in clear. */
    bool leaked = gwfx_file_has_id(gwfx_path(&fx, "gateway.err", log)) ||
                  gwfx_file_has_id(gwfx_path(&fx, "gateway.out", log));
    if (leaked)
        fprintf(stderr, "a resident id in clear in the gateway's log: %s\n", log);
    int rc = gwfx_finish(&fx);
    json_decref(case_doc);
    return rc != 0 || leaked ? -1 : 0;
}

/* ---- txn: every transaction ---- */

static char visit[40]; /* the visit settled in the txn group */
static unsigned long long setl_id;

static void t_9001(void **state)
{
    (void)state;
    struct gwfx_reply r;
    ok_txn("9001",
           "{\"signIn\":{\"opter_no\":\"T01\",\"mac\":\"00:00:00:00:00:00\","
           "\"ip\":\"127.0.0.1\"}}",
           &r);
    const json_t *s = gwfx_get(r.doc, "output", "signinoutb", NULL);
    assert_string_equal(gwfx_str(s, "sign_no"), r.msgid + strlen(H1));
    assert_int_equal(strlen(gwfx_str(s, "sign_time")), 19);
    assert_int_equal(strlen(gwfx_str(r.doc, "inf_refmsgid")), 26);
    assert_int_equal(strlen(gwfx_str(r.doc, "respond_time")), 19);
    gwfx_reply_free(&r);
}

static void t_1101(void **state)
{
    (void)state;
    struct gwfx_reply r;
    ok_txn("1101",
           "{\"data\":{\"mdtrt_cert_type\":\"02\",\"certno\":\"" P3 "\",\"psn_cert_type\":\"01\","
           "\"begntime\":\"2026-06-15\"}}",
           &r);
    const json_t *base = gwfx_get(r.doc, "output", "baseinfo", NULL);
    assert_string_equal(gwfx_str(base, "psn_no"), P3);
    assert_string_equal(gwfx_str(base, "certno"), P3);
    assert_string_equal(gwfx_str(base, "psn_name"), "患者3");
    assert_string_equal(gwfx_str(base, "brdy"), "1950-03-03");
    assert_string_equal(gwfx_str(base, "gend"), "1");
    assert_string_equal(gwfx_str(base, "insuplc_admdvs"), "330424");
    const json_t *insu = gwfx_get(r.doc, "output", "insuinfo", NULL);
    assert_int_equal(json_array_size(insu), 1);
    assert_string_equal(gwfx_str(json_array_get(insu, 0), "insutype"), "390");
    /* Both categories, through the configured mapping. */
    const json_t *idet = gwfx_get(r.doc, "output", "idetinfo", NULL);
    assert_int_equal(json_array_size(idet), 2);
    const json_t *vet = json_array_get(idet, 0), *dibao = json_array_get(idet, 1);
    if (strcmp(gwfx_str(vet, "category"), "veteran") != 0) {
        const json_t *t = vet;
        vet = dibao;
        dibao = t;
    }
    assert_string_equal(gwfx_str(vet, "psn_idet_type"), "1101");
    assert_string_equal(gwfx_str(vet, "psn_type_lv"), "1");
    assert_string_equal(gwfx_str(vet, "begntime"), "2020-01-01");
    assert_string_equal(gwfx_str(dibao, "psn_idet_type"), "1301");
    assert_string_equal(gwfx_str(dibao, "psn_type_lv"), "2");
    assert_string_equal(gwfx_str(dibao, "begntime"), "2026-01-01");
    assert_string_equal(gwfx_str(dibao, "endtime"), "2026-12-31");
    gwfx_reply_free(&r);
    /* Nobody the engine knows. */
    refused_txn("1101", NULL, "{\"data\":{\"certno\":\"330424190001010016\"}}",
                INF_ENGINE + SANHE__ERROR_CODE__UNKNOWN_PERSON, 200, &r);
    gwfx_reply_free(&r);
}

static void t_2201_2202(void **state)
{
    (void)state;
    char v[40];
    register_visit(v);
    struct gwfx_reply r;
    char in[256];
    snprintf(in, sizeof in, "{\"data\":{\"mdtrt_id\":\"%s\",\"psn_no\":\"" P3 "\"}}", v);
    ok_txn("2202", in, &r);
    gwfx_reply_free(&r);
    /* A cancelled visit takes no fee lines and no second cancel. */
    char *fees = feedetail(v, NULL);
    refused_txn("2204", NULL, fees, INF_VISIT_STATE, 200, &r);
    free(fees);
    gwfx_reply_free(&r);
    refused_txn("2202", NULL, in, INF_VISIT_STATE, 200, &r);
    gwfx_reply_free(&r);
}

static void t_2203(void **state)
{
    (void)state;
    register_visit(visit);
    struct gwfx_reply r;
    char in[512];
    snprintf(in, sizeof in,
             "{\"mdtrtinfo\":{\"mdtrt_id\":\"%s\",\"psn_no\":\"" P3 "\",\"med_type\":\"21\","
             "\"begntime\":\"2026-06-10 08:00:00\",\"main_cond_dscr\":\"阑尾炎\"},"
             "\"diseinfo\":[{\"diag_type\":\"1\",\"diag_srt_no\":\"1\",\"diag_code\":\"K35.900\","
             "\"diag_name\":\"急性阑尾炎\"}]}",
             visit);
    ok_txn("2203", in, &r);
    gwfx_reply_free(&r);
    /* A visit nobody registered. */
    refused_txn("2203", NULL,
                "{\"mdtrtinfo\":{\"mdtrt_id\":\"H330424001209901011000000001\"},\"diseinfo\":[]}",
                2007, 200, &r);
    gwfx_reply_free(&r);
}

static void t_2204_2205(void **state)
{
    (void)state;
    struct gwfx_reply r;
    /* The case's lines and a fifth, cancelled again by 2205. */
    char extra[256];
    snprintf(extra, sizeof extra,
             "{\"feedetl_sn\":\"9\",\"mdtrt_id\":\"%s\",\"med_list_codg\":\"A004\",\"cnt\":1.5,"
             "\"det_item_fee_sumamt\":37.50}",
             visit);
    char *in = feedetail(visit, extra);
    ok_txn("2204", in, &r);
    free(in);
    const json_t *rows = gwfx_get(r.doc, "output", "result", NULL);
    const json_t *lines = json_object_get(claim, "lines");
    assert_int_equal(json_array_size(rows), json_array_size(lines) + 1);
    long long out_of_scope = 0, pre = 0, in_scope = 0;
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const json_t *row = json_array_get(rows, i), *l = json_array_get(lines, i);
        char sn[24];
        snprintf(sn, sizeof sn, "%zu", i + 1);
        assert_string_equal(gwfx_str(row, "feedetl_sn"), sn);
        long long amt = (long long)json_integer_value(json_object_get(l, "amount"));
        assert_int_equal(gwfx_fen(row, "det_item_fee_sumamt"), amt);
        const char *code = json_string_value(json_object_get(l, "code"));
        long long own = gwfx_fen(row, "fulamt_ownpay_amt"), over = gwfx_fen(row, "overlmt_amt"),
                  p = gwfx_fen(row, "preselfpay_amt"), sc = gwfx_fen(row, "inscp_scp_amt");
        /* Class C is all out of scope, class B pays 10% first (the case's
         * class_b_selfpay_bp), class A is all in scope. */
        if (code[0] == 'C') {
            assert_int_equal(own, amt);
            assert_string_equal(gw_num_text(json_object_get(row, "selfpay_prop")), "1.0000");
        } else if (code[0] == 'B') {
            assert_int_equal(p, amt / 10);
            assert_string_equal(gw_num_text(json_object_get(row, "selfpay_prop")), "0.1000");
        } else {
            assert_int_equal(own + over + p, 0);
            assert_string_equal(gw_num_text(json_object_get(row, "selfpay_prop")), "0.0000");
        }
        assert_int_equal(own + over + p + sc, amt);
        out_of_scope += own;
        pre += p;
        in_scope += sc;
    }
    assert_int_equal(out_of_scope, ex("out_of_scope"));
    assert_int_equal(pre, ex("pre_selfpay"));
    assert_int_equal(in_scope, ex("in_scope"));
    const json_t *fifth = json_array_get(rows, json_array_size(lines));
    assert_int_equal(gwfx_fen(fifth, "det_item_fee_sumamt"), 3750);
    assert_string_equal(gw_num_text(json_object_get(fifth, "cnt")), "1.500");
    gwfx_reply_free(&r);
    /* 2205: the fifth line goes; an unknown line number is refused. */
    char cancel[256];
    snprintf(cancel, sizeof cancel, "{\"data\":{\"mdtrt_id\":\"%s\",\"feedetl_sn\":\"9\"}}", visit);
    ok_txn("2205", cancel, &r);
    assert_string_equal(
        gw_num_text(json_object_get(gwfx_get(r.doc, "output", "data", NULL), "cnt")), "1");
    gwfx_reply_free(&r);
    refused_txn("2205", NULL, cancel, 2007, 200, &r);
    gwfx_reply_free(&r);
}

static void t_2206(void **state)
{
    (void)state;
    struct gwfx_reply r;
    char *in = settle_input(visit);
    ok_txn("2206", in, &r);
    free(in);
    Sanhe__Response *direct = engine_presettle();
    const json_t *out = gwfx_get(r.doc, "output", NULL);
    check_setlinfo(out, direct->presettle->breakdown, visit);
    check_expect(json_object_get(out, "setlinfo"));
    assert_string_equal(gwfx_str(json_object_get(out, "setlinfo"), "setl_id"), "");
    assert_true(json_is_true(gwfx_get(out, "exp_content", "trial", NULL)));
    sanhe__response__free_unpacked(direct, NULL);
    /* Nothing recorded under its msgid. */
    Sanhe__Response *q = engine_query(0, r.msgid);
    assert_non_null(q->error);
    assert_int_equal(q->error->code, SANHE__ERROR_CODE__NOT_FOUND);
    sanhe__response__free_unpacked(q, NULL);
    gwfx_reply_free(&r);
}

static void t_2207(void **state)
{
    (void)state;
    struct gwfx_reply r;
    char *in = settle_input(visit);
    ok_txn("2207", in, &r);
    free(in);
    const json_t *out = gwfx_get(r.doc, "output", NULL);
    const char *id = gwfx_str(json_object_get(out, "setlinfo"), "setl_id");
    setl_id = strtoull(id, NULL, 10);
    assert_true(setl_id > 0);
    assert_false(json_is_true(gwfx_get(out, "exp_content", "trial", NULL)));
    /* The engine's record: this settlement, under the msgid, these figures. */
    Sanhe__Response *q = engine_query(setl_id, NULL);
    assert_null(q->error);
    const Sanhe__Settlement *s = q->query->settlement;
    assert_int_equal(s->state, SANHE__SETTLEMENT_STATE__SETTLED);
    assert_string_equal(s->request_id, r.msgid);
    check_setlinfo(out, s->breakdown, visit);
    check_expect(json_object_get(out, "setlinfo"));
    sanhe__response__free_unpacked(q, NULL);
    gwfx_reply_free(&r);
    /* A settled visit takes no more lines. */
    char *fees = feedetail(visit, NULL);
    refused_txn("2204", NULL, fees, INF_VISIT_STATE, 200, &r);
    free(fees);
    gwfx_reply_free(&r);
}

static void t_3201_3202(void **state)
{
    (void)state;
    char from[11], to[11], in[512], total[32], fund[32], wrong[32];
    day_range(from, to);
    yuan(ex("total"), total);
    yuan(ex("fund_total"), fund);
    yuan(ex("fund_total") + 1, wrong);
    struct {
        int count;
        const char *fund;
        const char *rslt;
    } cases[] = {{1, fund, "0"}, {0, fund, "1"}, {2, fund, "2"}, {1, wrong, "3"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(in, sizeof in,
                 "{\"data\":{\"insutype\":\"390\",\"clr_type\":\"21\",\"setl_optins\":\"330424\","
                 "\"stmt_begndate\":\"%s\",\"stmt_enddate\":\"%s\",\"medfee_sumamt\":%s,"
                 "\"fund_pay_sumamt\":%s,\"acct_pay\":0.00,\"fixmedins_setl_cnt\":%d,"
                 "\"refd_setl_flag\":\"0\"}}",
                 from, to, total, cases[i].fund, cases[i].count);
        struct gwfx_reply r;
        ok_txn("3201", in, &r);
        const json_t *d = gwfx_get(r.doc, "output", "data", NULL);
        assert_string_equal(gwfx_str(d, "stmt_rslt"), cases[i].rslt);
        assert_true(strlen(gwfx_str(d, "stmt_rslt_dscr")) > 0);
        assert_int_equal(gwfx_fen(d, "medfee_sumamt"), ex("total"));
        assert_int_equal(gwfx_fen(d, "fund_pay_sumamt"), ex("fund_total"));
        gwfx_reply_free(&r);
    }
    /* 3202: the institution's list against the engine's. */
    for (int same = 1; same >= 0; same--) {
        char details[256] = "";
        if (same)
            snprintf(details, sizeof details,
                     "{\"setl_id\":\"%llu\",\"medfee_sumamt\":%s,\"fund_pay_sumamt\":%s}", setl_id,
                     total, fund);
        snprintf(in, sizeof in,
                 "{\"data\":{\"setl_optins\":\"330424\",\"stmt_begndate\":\"%s\","
                 "\"stmt_enddate\":\"%s\",\"details\":[%s]}}",
                 from, to, details);
        struct gwfx_reply r;
        ok_txn("3202", in, &r);
        const json_t *d = gwfx_get(r.doc, "output", "data", NULL);
        assert_string_equal(gwfx_str(d, "stmt_rslt"), same ? "0" : "1");
        const json_t *only = json_object_get(d, "only_centre");
        assert_int_equal(json_array_size(only), same ? 0 : 1);
        if (!same) {
            assert_int_equal(strtoull(gwfx_str(json_array_get(only, 0), "setl_id"), NULL, 10),
                             setl_id);
            assert_int_equal(gwfx_fen(json_array_get(only, 0), "medfee_sumamt"), ex("total"));
        }
        gwfx_reply_free(&r);
    }
}

static void t_2208(void **state)
{
    (void)state;
    char in[256];
    snprintf(in, sizeof in,
             "{\"data\":{\"psn_no\":\"" P3 "\",\"mdtrt_id\":\"%s\",\"setl_id\":\"%llu\"}}", visit,
             setl_id);
    struct gwfx_reply r;
    ok_txn("2208", in, &r);
    const json_t *s = gwfx_get(r.doc, "output", "setlinfo", NULL);
    assert_string_equal(gwfx_str(s, "rvs_flag"), "1");
    assert_int_equal(strtoull(gwfx_str(s, "setl_id"), NULL, 10), setl_id);
    gwfx_reply_free(&r);
    Sanhe__Response *q = engine_query(setl_id, NULL);
    assert_null(q->error);
    assert_int_equal(q->query->settlement->state, SANHE__SETTLEMENT_STATE__REVERSED);
    sanhe__response__free_unpacked(q, NULL);
    /* Once only; and a settlement nobody made. */
    refused_txn("2208", NULL, in, INF_ENGINE + SANHE__ERROR_CODE__ALREADY_REVERSED, 200, &r);
    gwfx_reply_free(&r);
    refused_txn("2208", NULL, "{\"data\":{\"setl_id\":\"987654321\"}}",
                INF_ENGINE + SANHE__ERROR_CODE__NOT_FOUND, 200, &r);
    gwfx_reply_free(&r);
}

static void t_2601(void **state)
{
    (void)state;
    /* A settle whose answer the counter lost, reversed by its msgid. */
    char v[40];
    register_visit(v);
    struct gwfx_reply r;
    upload(v, &r);
    gwfx_reply_free(&r);
    char *in = settle_input(v);
    ok_txn("2207", in, &r);
    char omsgid[40];
    snprintf(omsgid, sizeof omsgid, "%s", r.msgid);
    unsigned long long id =
        strtoull(gwfx_str(gwfx_get(r.doc, "output", "setlinfo", NULL), "setl_id"), NULL, 10);
    gwfx_reply_free(&r);
    char cancel[256];
    snprintf(cancel, sizeof cancel, "{\"data\":{\"omsgid\":\"%s\",\"oinfno\":\"2207\"}}", omsgid);
    ok_txn("2601", cancel, &r);
    const json_t *d = gwfx_get(r.doc, "output", "data", NULL);
    assert_string_equal(gwfx_str(d, "rvs_flag"), "1");
    assert_int_equal(strtoull(gwfx_str(d, "setl_id"), NULL, 10), id);
    gwfx_reply_free(&r);
    Sanhe__Response *q = engine_query(id, NULL);
    assert_int_equal(q->query->settlement->state, SANHE__SETTLEMENT_STATE__REVERSED);
    sanhe__response__free_unpacked(q, NULL);
    /* A settle cancelled before it arrived: the late original is refused
     * and the engine records nothing. */
    char late[40];
    gwfx_msgid(&fx, H1, late);
    snprintf(cancel, sizeof cancel, "{\"data\":{\"omsgid\":\"%s\",\"oinfno\":\"2207\"}}", late);
    ok_txn("2601", cancel, &r);
    assert_string_equal(gwfx_str(gwfx_get(r.doc, "output", "data", NULL), "rvs_flag"), "0");
    gwfx_reply_free(&r);
    char v2[40];
    register_visit(v2);
    upload(v2, &r);
    gwfx_reply_free(&r);
    free(in);
    in = settle_input(v2);
    assert_int_equal(gwfx_txn(&fx, H1, "2207", late, "330424", DAY, in, &r), 0);
    assert_int_not_equal(gwfx_infcode(&r), 0);
    assert_true(json_is_null(gwfx_get(r.doc, "output", NULL)) ||
                gwfx_get(r.doc, "output", NULL) == NULL);
    gwfx_reply_free(&r);
    q = engine_query(0, late);
    assert_non_null(q->error);
    sanhe__response__free_unpacked(q, NULL);
    free(in);
    /* 2601 undoes settles only. */
    snprintf(cancel, sizeof cancel, "{\"data\":{\"omsgid\":\"%s\",\"oinfno\":\"2204\"}}", omsgid);
    refused_txn("2601", NULL, cancel, INF_UNKNOWN_INFNO, 200, &r);
    gwfx_reply_free(&r);
}

/* ---- Raw HTTPS connections (the test's own, not curl's) ---- */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One HTTP response read with http-parser off a raw connection. */
struct raw_reply {
    http_parser parser;
    int status;
    char body[8192];
    size_t len;
    bool done;
};

static int raw_on_body(http_parser *p, const char *at, size_t n)
{
    struct raw_reply *r = p->data;
    if (r->len + n >= sizeof r->body)
        return -1;
    memcpy(r->body + r->len, at, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

static int raw_on_complete(http_parser *p)
{
    struct raw_reply *r = p->data;
    r->status = (int)p->status_code;
    r->done = true;
    http_parser_pause(p, 1);
    return 0;
}

/* Reads one whole response (the connection stays open). 0, or -1 when the
 * connection ended or the time ran out first. */
static int raw_read(struct tc *c, struct raw_reply *r, int timeout_ms)
{
    memset(r, 0, sizeof *r);
    static http_parser_settings settings;
    settings.on_body = raw_on_body;
    settings.on_message_complete = raw_on_complete;
    http_parser_init(&r->parser, HTTP_RESPONSE);
    r->parser.data = r;
    double end = mono_s() + timeout_ms / 1000.0;
    while (!r->done) {
        char buf[4096];
        size_t got = 0;
        int left = (int)((end - mono_s()) * 1000);
        if (left <= 0 || tc_recv_some(c, buf, sizeof buf, &got, left) != 0)
            return -1;
        size_t used = http_parser_execute(&r->parser, &settings, buf, got);
        if (!r->done && used != got)
            return -1;
    }
    return 0;
}

static struct tc *raw_connect(const char *hospital)
{
    char ca[4096], cert[4096], key[4096], rel[128];
    gwfx_path(&fx, "certs/ca.crt", ca);
    snprintf(rel, sizeof rel, "certs/his-%s.crt", hospital);
    gwfx_path(&fx, rel, cert);
    snprintf(rel, sizeof rel, "certs/his-%s.key", hospital);
    gwfx_path(&fx, rel, key);
    struct tc *c = NULL;
    assert_int_equal(tc_connect(&c, "127.0.0.1", fx.gw.port, ca, cert, key, 10000), 0);
    return c;
}

/* A POST of body at path, keep-alive. */
static void raw_send(struct tc *c, const char *path, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     path, strlen(body));
    assert_true(n > 0 && (size_t)n < sizeof head);
    size_t len = (size_t)n + strlen(body);
    char *all = malloc(len);
    assert_non_null(all);
    memcpy(all, head, (size_t)n);
    memcpy(all + n, body, strlen(body));
    assert_int_equal(tc_send_raw(c, all, len), 0); /* one TLS record, one read at the gateway */
    free(all);
}

/* ---- resend: the same msgid again ---- */

/* Sends the same bytes twice (the second time at path2) and checks that the
 * replies are identical. */
static void twice(const char *infno, const char *input, const char *path2, struct gwfx_reply *first)
{
    ok_txn(infno, input, first);
    char *body = gwfx_envelope(infno, first->msgid, H1, "330424", DAY, input);
    struct gwfx_reply again;
    assert_int_equal(gwfx_post(&fx, "his-" H1, path2, body, strlen(body), NULL, &again), 0);
    free(body);
    assert_int_equal(again.status, 200);
    assert_int_equal(again.len, first->len);
    assert_memory_equal(again.body, first->body, first->len);
    gwfx_reply_free(&again);
}

static void t_resend(void **state)
{
    (void)state;
    struct gwfx_reply r;
    twice("9001", "{\"signIn\":{\"opter_no\":\"T01\"}}", "/9001", &r);
    gwfx_reply_free(&r);
    char v[40], in[256];
    snprintf(in, sizeof in,
             "{\"data\":{\"psn_no\":\"" P3 "\",\"med_type\":\"21\",\"begntime\":\"2026-06-10\"}}");
    twice("2201", in, "/2201", &r);
    snprintf(v, sizeof v, "%s", gwfx_str(gwfx_get(r.doc, "output", "data", NULL), "mdtrt_id"));
    char reg_msgid[40];
    snprintf(reg_msgid, sizeof reg_msgid, "%s", r.msgid);
    gwfx_reply_free(&r);
    /* The same msgid with another input is another call: refused. */
    char other[256];
    snprintf(other, sizeof other,
             "{\"data\":{\"psn_no\":\"330424198005050054\",\"med_type\":\"11\"}}");
    refused_txn("2201", reg_msgid, other, INF_ENGINE + SANHE__ERROR_CODE__REQUEST_ID_REUSED, 200,
                &r);
    gwfx_reply_free(&r);
    /* 2204 twice: the lines count once in the settle. */
    char *fees = feedetail(v, NULL);
    twice("2204", fees, "/2204", &r);
    free(fees);
    gwfx_reply_free(&r);
    /* 2207 twice (the second time at "/"): one settlement. */
    char *settle = settle_input(v);
    twice("2207", settle, "/", &r);
    free(settle);
    const json_t *s = gwfx_get(r.doc, "output", "setlinfo", NULL);
    assert_int_equal(gwfx_fen(s, "medfee_sumamt"), ex("total"));
    unsigned long long id = strtoull(gwfx_str(s, "setl_id"), NULL, 10);
    Sanhe__Response *q = engine_query(id, NULL);
    assert_null(q->error);
    char day[16];
    snprintf(day, sizeof day, "%s", q->query->settlement->business_day);
    sanhe__response__free_unpacked(q, NULL);
    uint64_t settled = 0, reversed = 0;
    engine_counts(day, &settled, &reversed);
    assert_int_equal(settled, 1);
    assert_int_equal(reversed, 0);
    gwfx_reply_free(&r);
    /* 2208 twice: one reversal. */
    snprintf(in, sizeof in, "{\"data\":{\"setl_id\":\"%llu\",\"mdtrt_id\":\"%s\"}}", id, v);
    twice("2208", in, "/2208", &r);
    assert_string_equal(gwfx_str(gwfx_get(r.doc, "output", "setlinfo", NULL), "rvs_flag"), "1");
    gwfx_reply_free(&r);
    engine_counts(day, &settled, &reversed);
    assert_int_equal(settled, 1);
    assert_int_equal(reversed, 1);
}

/* The settlements the engine has of H1 on the business day of the
 * settlement of request_id (into day). */
static uint64_t settled_on_day_of(const char *request_id, char day[16])
{
    Sanhe__Response *q = engine_query(0, request_id);
    assert_null(q->error);
    snprintf(day, 16, "%s", q->query->settlement->business_day);
    sanhe__response__free_unpacked(q, NULL);
    uint64_t settled = 0, reversed = 0;
    engine_counts(day, &settled, &reversed);
    return settled;
}

#define AT_ONCE 3
#define CURLS 4

/* CURLS curl processes at once, each posting body to path; their replies. */
static void curls_at_once(const char *path, const char *body, struct gwfx_reply r[CURLS])
{
    char req[4096], ca[4096], cert[4096], key[4096], url[128], data[4200];
    FILE *w = fopen(gwfx_path(&fx, "at-once-request", req), "wb");
    assert_non_null(w);
    assert_int_equal(fwrite(body, 1, strlen(body), w), strlen(body));
    assert_int_equal(fclose(w), 0);
    gwfx_path(&fx, "certs/ca.crt", ca);
    gwfx_path(&fx, "certs/his-" H1 ".crt", cert);
    gwfx_path(&fx, "certs/his-" H1 ".key", key);
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", fx.gw.port, path);
    snprintf(data, sizeof data, "@%s", req);
    pid_t pids[CURLS];
    char outs[CURLS][4096], codes[CURLS][4096];
    for (int i = 0; i < CURLS; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "at-once-reply-%d", i);
        gwfx_path(&fx, rel, outs[i]);
        snprintf(rel, sizeof rel, "at-once-code-%d", i);
        gwfx_path(&fx, rel, codes[i]);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            int o = open(codes[i], O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(o, 1);
            execl(SANHE_CURL_PATH, "curl", "-sS", "--max-time", "60", "--cacert", ca, "--cert",
                  cert, "--key", key, "-H", "Content-Type: application/json", "--data-binary", data,
                  "-o", outs[i], "-w", "%{http_code}", url, (char *)NULL);
            _exit(127);
        }
    }
    for (int i = 0; i < CURLS; i++) {
        int st = 0;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        memset(&r[i], 0, sizeof r[i]);
        FILE *in = fopen(codes[i], "r");
        assert_non_null(in);
        assert_int_equal(fscanf(in, "%d", &r[i].status), 1);
        fclose(in);
        in = fopen(outs[i], "rb");
        assert_non_null(in);
        r[i].body = calloc(1, 8192);
        assert_non_null(r[i].body);
        r[i].len = fread(r[i].body, 1, 8191, in);
        fclose(in);
    }
}

/* The same 2207 sent several times at once: settled once, and every copy
 * answered with the same bytes. First on connections already open, sent
 * back to back so that the gateway reads them in one turn of its loop;
 * then by curls started together (the later ones arrive while the first
 * is at the engine or being committed). */
static void t_resend_at_once(void **state)
{
    (void)state;
    char v[40], day[16];
    struct gwfx_reply r;
    register_visit(v);
    upload(v, &r);
    gwfx_reply_free(&r);
    char msgid[40];
    gwfx_msgid(&fx, H1, msgid);
    char *settle = settle_input(v);
    char *body = gwfx_envelope("2207", msgid, H1, "330424", DAY, settle);
    free(settle);
    struct tc *c[AT_ONCE];
    for (int i = 0; i < AT_ONCE; i++)
        c[i] = raw_connect(H1);
    for (int i = 0; i < AT_ONCE; i++)
        raw_send(c[i], "/2207", body);
    struct raw_reply *got = calloc(AT_ONCE, sizeof *got);
    assert_non_null(got);
    for (int i = 0; i < AT_ONCE; i++) {
        assert_int_equal(raw_read(c[i], &got[i], 60000), 0);
        assert_int_equal(got[i].status, 200);
        if (i > 0 && (got[i].len != got[0].len || memcmp(got[i].body, got[0].body, got[0].len)))
            fail_msg("copy %d of one 2207 answered otherwise:\n%s\n%s", i, got[0].body,
                     got[i].body);
        tc_close(c[i]);
    }
    assert_non_null(strstr(got[0].body, "\"infcode\":0,"));
    free(got);
    free(body);
    uint64_t before = settled_on_day_of(msgid, day);

    register_visit(v);
    upload(v, &r);
    gwfx_reply_free(&r);
    gwfx_msgid(&fx, H1, msgid);
    settle = settle_input(v);
    body = gwfx_envelope("2207", msgid, H1, "330424", DAY, settle);
    free(settle);
    struct gwfx_reply rs[CURLS];
    curls_at_once("/2207", body, rs);
    free(body);
    for (int i = 0; i < CURLS; i++) {
        assert_int_equal(rs[i].status, 200);
        if (rs[i].len != rs[0].len || memcmp(rs[i].body, rs[0].body, rs[0].len) != 0)
            fail_msg("curl %d of one 2207 answered otherwise:\n%s\n%s", i, rs[0].body, rs[i].body);
    }
    assert_non_null(strstr(rs[0].body, "\"infcode\":0,"));
    for (int i = 0; i < CURLS; i++)
        free(rs[i].body);
    char day2[16];
    assert_int_equal(settled_on_day_of(msgid, day2), before + 1);
    assert_string_equal(day2, day);
}

/* ---- refusals ---- */

static void t_wrong_hospital(void **state)
{
    (void)state;
    /* H2's certificate, H1's code; and H1's certificate, H2's code. */
    char msgid[40];
    gwfx_msgid(&fx, H1, msgid);
    char *body = gwfx_envelope("2201", msgid, H1, "330424", DAY,
                               "{\"data\":{\"psn_no\":\"" P3 "\",\"med_type\":\"21\"}}");
    struct gwfx_reply r;
    assert_int_equal(gwfx_post(&fx, "his-" H2, "/2201", body, strlen(body), NULL, &r), 0);
    free(body);
    assert_int_equal(r.status, 403);
    assert_int_equal(gwfx_infcode(&r), INF_ENGINE + SANHE__ERROR_CODE__FORBIDDEN);
    assert_non_null(strstr(gwfx_str(r.doc, "err_msg"), H2));
    gwfx_reply_free(&r);
    /* Nothing was registered under that msgid: H1 may use it afresh. */
    char in[256];
    snprintf(in, sizeof in, "{\"data\":{\"mdtrt_id\":\"%s\"}}", msgid);
    refused_txn("2202", NULL, in, 2007, 200, &r);
    gwfx_reply_free(&r);
    gwfx_msgid(&fx, H2, msgid);
    body = gwfx_envelope("9001", msgid, H2, "330424", DAY, "{}");
    assert_int_equal(gwfx_post(&fx, "his-" H1, "/9001", body, strlen(body), NULL, &r), 0);
    free(body);
    assert_int_equal(r.status, 403);
    assert_int_equal(gwfx_infcode(&r), INF_ENGINE + SANHE__ERROR_CODE__FORBIDDEN);
    gwfx_reply_free(&r);
}

static void t_malformed(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"infno\":\"9001\",\"msgid\":",
        "not json at all",
        "[\"9001\"]",
        "{\"infno\":\"9001\",\"fixmedins_code\":\"H330424001\",\"msgid\":"
        "\"H3304240012026120710000000\"}",
        "{\"infno\":9001,\"fixmedins_code\":\"H330424001\",\"msgid\":\"x\"}",
        "{\"infno\":\"9001\",\"infno\":\"9001\"} trailing",
        "\xff\xfe{}",
        "",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct gwfx_reply r;
        assert_int_equal(gwfx_post(&fx, "his-" H1, "/9001", bodies[i], strlen(bodies[i]), NULL, &r),
                         0);
        if (r.status != 400 || gwfx_infcode(&r) != INF_BAD_ENVELOPE)
            fprintf(stderr, "body %zu: HTTP %d: %s\n", i, r.status, r.body);
        assert_int_equal(r.status, 400);
        assert_int_equal(gwfx_infcode(&r), INF_BAD_ENVELOPE);
        assert_true(strlen(gwfx_str(r.doc, "err_msg")) > 0);
        gwfx_reply_free(&r);
    }
    /* The path's infno is not the envelope's. */
    char msgid[40];
    gwfx_msgid(&fx, H1, msgid);
    char *body = gwfx_envelope("9001", msgid, H1, "330424", DAY, "{}");
    struct gwfx_reply r;
    assert_int_equal(gwfx_post(&fx, "his-" H1, "/2207", body, strlen(body), NULL, &r), 0);
    free(body);
    assert_int_equal(r.status, 400);
    assert_int_equal(gwfx_infcode(&r), INF_BAD_ENVELOPE);
    gwfx_reply_free(&r);
    /* And the gateway still answers. */
    ok_txn("9001", "{}", &r);
    gwfx_reply_free(&r);
}

static void t_three_decimals(void **state)
{
    (void)state;
    char v[40];
    register_visit(v);
    /* Numbers JSON has but yuan has not, and strings: refused as money.
     * Tokens that are not JSON numbers at all: refused as JSON. */
    static const struct {
        const char *amount;
        int infcode, status;
    } bad[] = {
        {"100.005", INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200},
        {"1e2", INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200},
        {"1.0E+2", INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200},
        {"\"100.00\"", INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200},
        {"-0.001", INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200},
        {"100.000", INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200},
        {"1.23456789e-3", INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200},
        {"100.", INF_BAD_ENVELOPE, 400},
        {"0100.00", INF_BAD_ENVELOPE, 400},
    };
    struct gwfx_reply r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char in[512];
        snprintf(in, sizeof in,
                 "{\"feedetail\":[{\"feedetl_sn\":\"1\",\"mdtrt_id\":\"%s\","
                 "\"med_list_codg\":\"A002\",\"cnt\":1,\"det_item_fee_sumamt\":%s}]}",
                 v, bad[i].amount);
        refused_txn("2204", NULL, in, bad[i].infcode, bad[i].status, &r);
        if (bad[i].status == 200)
            assert_non_null(strstr(gwfx_str(r.doc, "err_msg"), "det_item_fee_sumamt"));
        gwfx_reply_free(&r);
    }
    /* Nothing was kept: line 1 uploads now, once, with 100.00. */
    char in[512];
    snprintf(in, sizeof in,
             "{\"feedetail\":[{\"feedetl_sn\":\"1\",\"mdtrt_id\":\"%s\","
             "\"med_list_codg\":\"A002\",\"cnt\":1,\"det_item_fee_sumamt\":100.00}]}",
             v);
    ok_txn("2204", in, &r);
    gwfx_reply_free(&r);
    /* A settle of 100.001 is refused and not settled; 100.00 then settles. */
    char settle[256];
    snprintf(settle, sizeof settle,
             "{\"data\":{\"psn_no\":\"" P3 "\",\"mdtrt_id\":\"%s\",\"medfee_sumamt\":100.001}}", v);
    refused_txn("2207", NULL, settle, INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200, &r);
    Sanhe__Response *q = engine_query(0, r.msgid);
    assert_non_null(q->error);
    assert_int_equal(q->error->code, SANHE__ERROR_CODE__NOT_FOUND);
    sanhe__response__free_unpacked(q, NULL);
    gwfx_reply_free(&r);
    snprintf(settle, sizeof settle,
             "{\"data\":{\"psn_no\":\"" P3 "\",\"mdtrt_id\":\"%s\",\"medfee_sumamt\":100.00}}", v);
    ok_txn("2206", settle, &r);
    assert_int_equal(gwfx_fen(gwfx_get(r.doc, "output", "setlinfo", NULL), "medfee_sumamt"), 10000);
    gwfx_reply_free(&r);
    /* A quantity with four decimals is refused too. */
    snprintf(in, sizeof in,
             "{\"feedetail\":[{\"feedetl_sn\":\"2\",\"mdtrt_id\":\"%s\","
             "\"med_list_codg\":\"A002\",\"cnt\":1.0005,\"det_item_fee_sumamt\":1.00}]}",
             v);
    refused_txn("2204", NULL, in, INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200, &r);
    gwfx_reply_free(&r);
    /* 3201's figures too. */
    refused_txn("3201", NULL,
                "{\"data\":{\"stmt_begndate\":\"2026-06-01\",\"stmt_enddate\":\"2026-06-30\","
                "\"medfee_sumamt\":1.001,\"fund_pay_sumamt\":0.00,\"fixmedins_setl_cnt\":0}}",
                INF_ENGINE + SANHE__ERROR_CODE__BAD_CLAIM, 200, &r);
    gwfx_reply_free(&r);
}

static void t_unknown_infno(void **state)
{
    (void)state;
    static const char *const infnos[] = {"9999", "1201", "2301", "5205"};
    for (size_t i = 0; i < sizeof infnos / sizeof infnos[0]; i++) {
        struct gwfx_reply r;
        refused_txn(infnos[i], NULL, "{\"data\":{}}", INF_UNKNOWN_INFNO, 200, &r);
        assert_non_null(strstr(gwfx_str(r.doc, "err_msg"), infnos[i]));
        gwfx_reply_free(&r);
    }
    struct gwfx_reply r;
    refused_txn("12345", NULL, "{}", INF_BAD_ENVELOPE, 400, &r);
    gwfx_reply_free(&r);
}

/* ---- limits ---- */

static void t_body_limit(void **state)
{
    (void)state;
    size_t n = 4 * BODY_LIMIT; /* most of it unread when the gateway refuses it */
    char *big = malloc(n + 1);
    assert_non_null(big);
    char msgid[40];
    gwfx_msgid(&fx, H1, msgid);
    int head = snprintf(big, n,
                        "{\"infno\":\"9001\",\"msgid\":\"%s\",\"fixmedins_code\":\"" H1
                        "\",\"input\":{\"pad\":\"",
                        msgid);
    memset(big + head, 'a', n - (size_t)head - 3);
    memcpy(big + n - 3, "\"}}", 3);
    big[n] = '\0';
    /* With a Content-Length, then chunked (no length: the limit counts). */
    const char *const chunked[] = {"-H", "Transfer-Encoding: chunked", NULL};
    for (int i = 0; i < 2; i++) {
        struct gwfx_reply r;
        gwfx_post(&fx, "his-" H1, "/9001", big, n, i == 0 ? NULL : chunked, &r);
        if (r.status != 413)
            fprintf(stderr, "body limit (%s): curl %d HTTP %d: %.300s\n", i ? "chunked" : "length",
                    r.curl_rc, r.status, r.body);
        assert_int_equal(r.status, 413);
        assert_int_equal(gwfx_infcode(&r), INF_HTTP_LIMIT);
        gwfx_reply_free(&r);
    }
    /* Just under the limit is a request like any other. */
    size_t small = BODY_LIMIT - 64;
    memcpy(big + small - 3, "\"}}", 3);
    struct gwfx_reply r;
    assert_int_equal(gwfx_post(&fx, "his-" H1, "/9001", big, small, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(gwfx_infcode(&r), 0);
    gwfx_reply_free(&r);
    free(big);
}

static void t_header_limit(void **state)
{
    (void)state;
    char *hdr = malloc(10000);
    assert_non_null(hdr);
    snprintf(hdr, 10000, "X-Pad: ");
    memset(hdr + 7, 'b', 9000);
    hdr[9007] = '\0';
    const char *const extra[] = {"-H", hdr, NULL};
    char msgid[40];
    gwfx_msgid(&fx, H1, msgid);
    char *body = gwfx_envelope("9001", msgid, H1, "330424", DAY, "{}");
    struct gwfx_reply r;
    gwfx_post(&fx, "his-" H1, "/9001", body, strlen(body), extra, &r);
    free(body);
    free(hdr);
    assert_int_equal(r.status, 431);
    assert_int_equal(gwfx_infcode(&r), INF_HTTP_LIMIT);
    gwfx_reply_free(&r);
}

/* Clients that send part of their headers and stop, and a curl whose body
 * never comes (it reads it from a pipe nobody writes): each is answered
 * 408 after the configured time, and meanwhile others are served at once. */
static void t_slow_clients(void **state)
{
    (void)state;
    char ca[4096], cert[4096], key[4096];
    gwfx_path(&fx, "certs/ca.crt", ca);
    gwfx_path(&fx, "certs/his-" H1 ".crt", cert);
    gwfx_path(&fx, "certs/his-" H1 ".key", key);
    struct tc *stalled[STALLS];
    double stall0 = mono_s();
    for (int i = 0; i < STALLS; i++) {
        assert_int_equal(tc_connect(&stalled[i], "127.0.0.1", fx.gw.port, ca, cert, key, 10000), 0);
        const char *part = "POST /9001 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le";
        assert_int_equal(tc_send_raw(stalled[i], part, strlen(part)), 0);
    }
    /* curl, body from a pipe kept open and empty. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char out[4096], code[4096], url[128];
    gwfx_path(&fx, "slow-reply", out);
    gwfx_path(&fx, "slow-code", code);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/9001", fx.gw.port);
    double t0 = mono_s(); /* after the stalled connections: they time out first */
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[1]);
        int o = open(code, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        execl(SANHE_CURL_PATH, "curl", "-sS", "--max-time", "60", "--cacert", ca, "--cert", cert,
              "--key", key, "-X", "POST", "-H", "Content-Type: application/json", "-H",
              "Expect:", "-T", "-", "-o", out, "-w", "%{http_code}", url, (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    close(fds[0]);
    /* Served while all of them wait: well before the header timeout. */
    for (int i = 0; i < 3; i++) {
        struct gwfx_reply r;
        double s0 = mono_s();
        ok_txn("9001", "{}", &r);
        double took = mono_s() - s0;
        gwfx_reply_free(&r);
        assert_true(took < HEADER_TIMEOUT_MS / 2000.0);
    }
    /* Each stalled client gets its 408, and the connection ends. */
    for (int i = 0; i < STALLS; i++) {
        /* The whole reply: the server ends the connection after it. */
        char buf[4096];
        size_t have = 0;
        while (have < sizeof buf - 1) {
            size_t got = 0;
            if (tc_recv_some(stalled[i], buf + have, sizeof buf - 1 - have, &got, 60000) != 0)
                break;
            have += got;
        }
        buf[have] = '\0';
        assert_true(strncmp(buf, "HTTP/1.1 408", 12) == 0);
        assert_non_null(strstr(buf, "\"infcode\":2100"));
        /* Not before the configured time. */
        assert_true(mono_s() - stall0 >= HEADER_TIMEOUT_MS / 1000.0 * 0.9);
        tc_close(stalled[i]);
    }

    /* curl reads the reply only once its upload ends: end it at twice the
     * body timeout after curl started. Had the gateway waited for the body
     * instead, this empty body would be answered 400 (not JSON), not 408. */
    while (mono_s() - t0 < 2 * HEADER_TIMEOUT_MS / 1000.0) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    close(fds[1]);
    int status = 0;
    for (int waited = 0; waited < 60000 && waitpid(pid, &status, WNOHANG) != pid; waited += 20) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("curl with a stalled body did not end");
    }
    FILE *in = fopen(code, "r");
    int http = 0;
    assert_non_null(in);
    assert_int_equal(fscanf(in, "%d", &http), 1);
    fclose(in);
    assert_int_equal(http, 408);
    /* And the gateway serves still. */
    struct gwfx_reply r;
    ok_txn("9001", "{}", &r);
    gwfx_reply_free(&r);
}

/* connections_max open connections: one more is answered 503 with the
 * limit's envelope right after its handshake, and closed; the ones within
 * the limit are served; once one of them goes, a new one is served. */
static void t_connections_max(void **state)
{
    (void)state;
    struct tc *c[CONNECTIONS_MAX];
    for (int i = 0; i < CONNECTIONS_MAX; i++)
        c[i] = raw_connect(H1);
    struct tc *over = raw_connect(H1);
    struct raw_reply *got = calloc(1, sizeof *got);
    assert_non_null(got);
    assert_int_equal(raw_read(over, got, 30000), 0);
    if (got->status != 503)
        fail_msg("connection %d of %d: HTTP %d: %s", CONNECTIONS_MAX + 1, CONNECTIONS_MAX,
                 got->status, got->body);
    char why[64];
    json_t *doc = gw_json_load(got->body, got->len, why, sizeof why);
    assert_non_null(doc); /* an envelope: infcode 2100 and why */
    assert_non_null(strstr(got->body, "\"infcode\":2100,"));
    assert_non_null(strstr(gwfx_str(doc, "err_msg"), "连接数"));
    json_decref(doc);
    assert_int_equal(tc_wait_closed(over, 30000), 0);
    tc_close(over);
    /* The last one within the limit is served. */
    char msgid[40];
    gwfx_msgid(&fx, H1, msgid);
    char *body = gwfx_envelope("9001", msgid, H1, "330424", DAY, "{}");
    raw_send(c[CONNECTIONS_MAX - 1], "/9001", body);
    free(body);
    assert_int_equal(raw_read(c[CONNECTIONS_MAX - 1], got, 30000), 0);
    assert_int_equal(got->status, 200);
    assert_non_null(strstr(got->body, "\"infcode\":0,"));
    free(got);
    /* While all are open, curl too is over the limit. */
    struct gwfx_reply r;
    gwfx_txn(&fx, H1, "9001", NULL, "330424", DAY, "{}", &r);
    assert_int_equal(r.status, 503);
    gwfx_reply_free(&r);
    /* One goes: a new connection is served again (the gateway counts the
     * close when it sees it: a few tries). */
    tc_close(c[0]);
    int status = 0;
    for (int i = 0; i < 50 && status != 200; i++) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        gwfx_txn(&fx, H1, "9001", NULL, "330424", DAY, "{}", &r);
        status = r.status;
        gwfx_reply_free(&r);
    }
    assert_int_equal(status, 200);
    for (int i = 1; i < CONNECTIONS_MAX; i++)
        tc_close(c[i]);
}

/* A keep-alive connection carries a second request within idle_timeout_ms
 * of the first reply; idle longer, it is closed by the gateway, with no
 * reply, not before the configured time. */
static void t_idle_timeout(void **state)
{
    (void)state;
    struct tc *c = raw_connect(H1);
    struct raw_reply *got = calloc(1, sizeof *got);
    assert_non_null(got);
    for (int i = 0; i < 2; i++) {
        char msgid[40];
        gwfx_msgid(&fx, H1, msgid);
        char *body = gwfx_envelope("9001", msgid, H1, "330424", DAY, "{}");
        raw_send(c, "/9001", body);
        free(body);
        assert_int_equal(raw_read(c, got, 30000), 0);
        assert_int_equal(got->status, 200);
        if (i == 0) { /* idle for half the time: still open */
            struct timespec ts = {IDLE_TIMEOUT_MS / 2000, (IDLE_TIMEOUT_MS / 2 % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    free(got);
    double t0 = mono_s();
    char buf[256];
    size_t n = 0;
    int rc = tc_recv_some(c, buf, sizeof buf, &n, 30 * IDLE_TIMEOUT_MS);
    double idle = mono_s() - t0;
    if (rc == 0)
        fail_msg("an idle connection got %zu bytes: %.*s", n, (int)n, buf);
    assert_int_not_equal(rc, SH_E_TIMEOUT); /* closed, not still open */
    assert_true(idle >= IDLE_TIMEOUT_MS / 1000.0 * 0.9);
    tc_close(c);
}

/* ---- crash: kill -9 under load, then every answered call is found ---- */

#define CRASH_CLIENTS 4
#define CRASH_ANSWERS_MIN 40 /* answered calls before the kill */

static const char *const crash_infnos[] = {"2201", "2204", "2207"};

/* The msgid of step (0 2201, 1 2204, 2 2207) of a client's cycle. */
static void crash_msgid(int client, unsigned cycle, int step, char out[40])
{
    snprintf(out, 40, H1 "2026%02d%08u%04d", client, cycle, step);
}

/* The body of that call (its visit is step 0's msgid). malloc'ed. */
static char *crash_body(const char *msgid, int step)
{
    char visit_id[40];
    snprintf(visit_id, sizeof visit_id, "%.*s0000", (int)strlen(msgid) - 4, msgid);
    char *input = step == 0   ? strdup("{\"data\":{\"psn_no\":\"" P3 "\",\"med_type\":\"21\","
                                         "\"begntime\":\"2026-06-10 08:00:00\"}}")
                  : step == 1 ? feedetail(visit_id, NULL)
                              : settle_input(visit_id);
    char *body = gwfx_envelope(crash_infnos[step], msgid, H1, "330424", DAY, input);
    free(input);
    return body;
}

static struct gwc *crash_connect(void)
{
    char ca[4096], cert[4096], key[4096];
    gwfx_path(&fx, "certs/ca.crt", ca);
    gwfx_path(&fx, "certs/his-" H1 ".crt", cert);
    gwfx_path(&fx, "certs/his-" H1 ".key", key);
    struct gwc *c = NULL;
    return gwc_open(&c, fx.gw.port, ca, cert, key, 10000) == 0 ? c : NULL;
}

/* A client process: visit after visit (2201, 2204, 2207) as fast as the
 * gateway answers, each answered call (infcode 0) appended to its file as
 * "INFNO MSGID LEN\n" and the reply's bytes, until the gateway is gone. */
static void crash_client(int client, const char *path)
{
    FILE *out = fopen(path, "wb");
    struct gwc *c = crash_connect();
    if (out == NULL || c == NULL)
        _exit(3);
    double end = mono_s() + 60;
    for (unsigned cycle = 0; cycle < 100000 && mono_s() < end; cycle++)
        for (int step = 0; step < 3; step++) {
            char msgid[40];
            crash_msgid(client, cycle, step, msgid);
            char *body = crash_body(msgid, step), *reply = NULL;
            char path_infno[8];
            snprintf(path_infno, sizeof path_infno, "/%s", crash_infnos[step]);
            int status = 0;
            int rc = gwc_post(c, path_infno, body, &status, &reply, 10000);
            free(body);
            if (rc != 0) {
                fclose(out);
                gwc_close(c);
                _exit(0); /* the gateway is gone */
            }
            bool ok = status == 200 && strstr(reply, "\"infcode\":0,") != NULL;
            if (ok) {
                fprintf(out, "%s %s %zu\n", crash_infnos[step], msgid, strlen(reply));
                fwrite(reply, 1, strlen(reply), out);
                fflush(out);
            }
            free(reply);
            if (!ok)
                break; /* the next visit */
        }
    fclose(out);
    gwc_close(c);
    _exit(0);
}

static long file_lines_answered(const char *path)
{
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        return 0;
    long n = 0;
    char infno[8], msgid[40];
    size_t len = 0;
    while (fscanf(in, "%7s %39s %zu", infno, msgid, &len) == 3 && fgetc(in) == '\n' &&
           fseek(in, (long)len, SEEK_CUR) == 0)
        n++;
    fclose(in);
    return n;
}

static void t_crash(void **state)
{
    (void)state;
    char paths[CRASH_CLIENTS][4096];
    pid_t pids[CRASH_CLIENTS];
    for (int i = 0; i < CRASH_CLIENTS; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "crash-answers-%d", i);
        gwfx_path(&fx, rel, paths[i]);
        unlink(paths[i]);
        fflush(NULL);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            crash_client(i, paths[i]);
    }
    /* Under load (at least CRASH_ANSWERS_MIN answered), then kill -9. */
    long answered = 0;
    double t0 = mono_s();
    while (answered < CRASH_ANSWERS_MIN && mono_s() - t0 < 60) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
        answered = 0;
        for (int i = 0; i < CRASH_CLIENTS; i++)
            answered += file_lines_answered(paths[i]);
    }
    assert_true(answered >= CRASH_ANSWERS_MIN);
    assert_int_equal(kill(fx.gw.pid, SIGKILL), 0);
    int st = 0;
    assert_int_equal(waitpid(fx.gw.pid, &st, 0), fx.gw.pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    fx.gw.pid = -1;
    for (int i = 0; i < CRASH_CLIENTS; i++) {
        int cst = 0;
        pid_t w = 0;
        for (int waited = 0; waited < 60000 && (w = waitpid(pids[i], &cst, WNOHANG)) == 0;
             waited += 20) {
            struct timespec ts = {0, 20000000};
            nanosleep(&ts, NULL);
        }
        if (w == 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], &cst, 0);
            fail_msg("client %d did not end after the gateway was killed", i);
        }
        assert_true(WIFEXITED(cst) && WEXITSTATUS(cst) == 0);
    }
    /* The same data directory, a new process: every answered call, sent
     * again, gets its first reply byte for byte. A reply the gateway had
     * not made durable would be answered afresh (another inf_refmsgid). */
    assert_int_equal(start_gateway(NULL), 0);
    struct gwc *c = crash_connect();
    assert_non_null(c);
    long checked = 0, per_infno[3] = {0, 0, 0};
    for (int i = 0; i < CRASH_CLIENTS; i++) {
        FILE *in = fopen(paths[i], "rb");
        assert_non_null(in);
        char infno[8], msgid[40];
        size_t len = 0;
        while (fscanf(in, "%7s %39s %zu", infno, msgid, &len) == 3 && fgetc(in) == '\n') {
            char *first = malloc(len + 1);
            assert_non_null(first);
            assert_int_equal(fread(first, 1, len, in), len);
            first[len] = '\0';
            int step = strcmp(infno, "2201") == 0 ? 0 : strcmp(infno, "2204") == 0 ? 1 : 2;
            char *body = crash_body(msgid, step), *reply = NULL, path[16];
            snprintf(path, sizeof path, "/%s", infno);
            int status = 0;
            assert_int_equal(gwc_post(c, path, body, &status, &reply, 30000), 0);
            if (status != 200 || strlen(reply) != len || memcmp(reply, first, len) != 0)
                fail_msg("%s %s answered before the kill, not found after it:\n%s\n%s", infno,
                         msgid, first, reply);
            per_infno[step]++;
            checked++;
            free(reply);
            free(body);
            free(first);
        }
        fclose(in);
    }
    gwc_close(c);
    fprintf(stderr, "t_crash: %ld answered calls found again (2201 %ld, 2204 %ld, 2207 %ld)\n",
            checked, per_infno[0], per_infno[1], per_infno[2]);
    assert_true(checked >= answered);
}

/* ---- signature: x-tif-* headers, checked when a key is configured ---- */

#define SIGNATURE_KEY "test-key-for-x-tif"

static int setup_signature(void **state)
{
    (void)state;
    return start("signature_key = " SIGNATURE_KEY "\nsignature_skew_s = 300\n");
}

/* Posts a 9001 signed over signed_body (the body sent is body) at ts. */
static void signed_post(const char *body, const char *signed_body, long long ts,
                        struct gwfx_reply *r)
{
    char stamp[32], head[4096], hex[2 * EVP_MAX_MD_SIZE + 1];
    snprintf(stamp, sizeof stamp, "%lld", ts);
    int n = snprintf(head, sizeof head, "paas-1\n%s\nnonce-%lld\n%s", stamp, ts, signed_body);
    assert_true(n > 0 && (size_t)n < sizeof head);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), SIGNATURE_KEY, (int)strlen(SIGNATURE_KEY),
                         (const unsigned char *)head, (size_t)n, mac, &mac_len));
    for (unsigned i = 0; i < mac_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    char h1[64], h2[64], h3[64], h4[200];
    snprintf(h1, sizeof h1, "x-tif-paasid: paas-1");
    snprintf(h2, sizeof h2, "x-tif-timestamp: %s", stamp);
    snprintf(h3, sizeof h3, "x-tif-nonce: nonce-%lld", ts);
    snprintf(h4, sizeof h4, "x-tif-signature: %s", hex);
    const char *const extra[] = {"-H", h1, "-H", h2, "-H", h3, "-H", h4, NULL};
    assert_int_equal(gwfx_post(&fx, "his-" H1, "/9001", body, strlen(body), extra, r), 0);
}

static void t_signature(void **state)
{
    (void)state;
    char msgid[40];
    gwfx_msgid(&fx, H1, msgid);
    char *body = gwfx_envelope("9001", msgid, H1, "330424", DAY, "{}");
    char *other = gwfx_envelope("9001", msgid, H1, "330424", DAY, "{\"x\":1}");
    long long now = (long long)time(NULL);
    struct gwfx_reply r;
    /* Unsigned, signed over another body, signed an hour ago: refused. */
    assert_int_equal(gwfx_post(&fx, "his-" H1, "/9001", body, strlen(body), NULL, &r), 0);
    assert_int_equal(r.status, 403);
    assert_int_equal(gwfx_infcode(&r), 2004);
    gwfx_reply_free(&r);
    signed_post(body, other, now, &r);
    assert_int_equal(r.status, 403);
    assert_int_equal(gwfx_infcode(&r), 2004);
    gwfx_reply_free(&r);
    signed_post(body, body, now - 3600, &r);
    assert_int_equal(r.status, 403);
    assert_int_equal(gwfx_infcode(&r), 2004);
    gwfx_reply_free(&r);
    /* Signed right: done (and the refusals kept nothing under the msgid). */
    signed_post(body, body, now, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(gwfx_infcode(&r), 0);
    gwfx_reply_free(&r);
    free(body);
    free(other);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr,
                "usage: test_gw_curl txn|resend|refusals|limits|signature|crash CASE02.json\n");
        return 2;
    }
    case_path = argv[2];
    const struct CMUnitTest txn[] = {
        cmocka_unit_test(t_9001), cmocka_unit_test(t_1101),      cmocka_unit_test(t_2201_2202),
        cmocka_unit_test(t_2203), cmocka_unit_test(t_2204_2205), cmocka_unit_test(t_2206),
        cmocka_unit_test(t_2207), cmocka_unit_test(t_3201_3202), cmocka_unit_test(t_2208),
        cmocka_unit_test(t_2601),
    };
    const struct CMUnitTest resend[] = {cmocka_unit_test(t_resend),
                                        cmocka_unit_test(t_resend_at_once)};
    const struct CMUnitTest refusals[] = {
        cmocka_unit_test(t_wrong_hospital),
        cmocka_unit_test(t_malformed),
        cmocka_unit_test(t_three_decimals),
        cmocka_unit_test(t_unknown_infno),
    };
    const struct CMUnitTest limits[] = {
        cmocka_unit_test(t_connections_max), cmocka_unit_test(t_idle_timeout),
        cmocka_unit_test(t_body_limit),      cmocka_unit_test(t_header_limit),
        cmocka_unit_test(t_slow_clients),
    };
    if (strcmp(argv[1], "txn") == 0)
        return cmocka_run_group_tests_name("gateway/curl-txn", txn, setup, teardown);
    if (strcmp(argv[1], "resend") == 0)
        return cmocka_run_group_tests_name("gateway/curl-resend", resend, setup, teardown);
    if (strcmp(argv[1], "refusals") == 0)
        return cmocka_run_group_tests_name("gateway/curl-refusals", refusals, setup, teardown);
    const struct CMUnitTest signature[] = {cmocka_unit_test(t_signature)};
    const struct CMUnitTest crash[] = {cmocka_unit_test(t_crash)};
    if (strcmp(argv[1], "crash") == 0)
        return cmocka_run_group_tests_name("gateway/curl-crash", crash, setup, teardown);
    if (strcmp(argv[1], "signature") == 0)
        return cmocka_run_group_tests_name("gateway/curl-signature", signature, setup_signature,
                                           teardown);
    if (strcmp(argv[1], "limits") == 0)
        return cmocka_run_group_tests_name("gateway/curl-limits", limits, setup_limits, teardown);
    fprintf(stderr, "test_gw_curl: unknown group %s\n", argv[1]);
    return 2;
}
