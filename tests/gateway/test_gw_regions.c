/*
 * Two pooling regions behind one gateway: engine 0 holds Haiyan (330424,
 * case 02's reference data), engine 1 Changshun (522729, case 07's). One
 * hospital (H330424001) settles a patient of each, through curl:
 *
 *   - 1101 without insuplc_admdvs asks both engines and answers from the
 *     one that knows the person;
 *   - 2201/2204/2207 settle in the engine of insuplc_admdvs (or of the
 *     registration's region when the settle leaves it out), and only there:
 *     each engine is asked directly which settlements it holds;
 *   - 3201 per region sees that region's settlement only;
 *   - 2208 reverses in the region of its visit when it names no region
 *     (both engines number their settlements from 1: the same setl_id is a
 *     different settlement in each);
 *   - a region with no engine is refused (2010).
 *
 * usage: test_gw_regions CASE02.json CASE07.json
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_fixture.h"

#define H1 "H330424001"
#define HAIYAN "330424"
#define CHANGSHUN "522729"
#define P_HAIYAN "33042419500303003X"
#define P_CHANGSHUN "522729195901160165"
#define INF_ENGINE 1000
#define INF_NO_ENGINE 2010

static const char *cases[2];
static struct gwfx fx;

struct patient {
    const char *person, *region, *inf_time;
    size_t engine;
    char mdtrt_id[40], settle_msgid[40];
    unsigned long long setl_id;
    long long total, fund_total;
};

static struct patient patients[2] = {
    {P_HAIYAN, HAIYAN, "2026-06-15 09:00:00", 0, "", "", 0, 0, 0},
    {P_CHANGSHUN, CHANGSHUN, "2019-03-10 09:00:00", 1, "", "", 0, 0, 0},
};

static void txn(const char *infno, const char *region, const char *inf_time, const char *input,
                int infcode, struct gwfx_reply *r)
{
    assert_int_equal(gwfx_txn(&fx, H1, infno, NULL, region, inf_time, input, r), 0);
    if (gwfx_infcode(r) != infcode)
        fprintf(stderr, "%s (%s): HTTP %d: %s\n", infno, region, r->status, r->body);
    assert_int_equal(gwfx_infcode(r), infcode);
}

static Sanhe__Response *query(size_t engine, const char *request_id, unsigned long long id)
{
    Sanhe__QueryRequest q = SANHE__QUERY_REQUEST__INIT;
    if (request_id != NULL) {
        q.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
        q.settlement_request_id = (char *)request_id;
    } else {
        q.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_ID;
        q.settlement_id = id;
    }
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "regions-query";
    req.op_case = SANHE__REQUEST__OP_QUERY;
    req.query = &q;
    Sanhe__Response *resp = NULL;
    assert_int_equal(gwfx_engine_call(&fx, engine, H1, &req, &resp), 0);
    return resp;
}

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    if (gwfx_engine(&fx, cases[0]) != 0 || gwfx_engine(&fx, cases[1]) != 0 ||
        gwfx_his(&fx, "his-" H1, H1) != 0)
        return -1;
    return gwfx_gateway(&fx, NULL, HAIYAN "=0," CHANGSHUN "=1",
                        "[fund_pay_type]\ncoop = 390100\ncritical = 390200\nassist = 610100\n");
}

static int teardown(void **state)
{
    (void)state;
    return gwfx_finish(&fx);
}

static void t_1101_asks_both(void **state)
{
    (void)state;
    for (size_t i = 0; i < 2; i++) {
        char in[128];
        snprintf(in, sizeof in, "{\"data\":{\"certno\":\"%s\"}}", patients[i].person);
        struct gwfx_reply r;
        txn("1101", "", patients[i].inf_time, in, 0, &r);
        const json_t *b = gwfx_get(r.doc, "output", "baseinfo", NULL);
        assert_string_equal(gwfx_str(b, "psn_no"), patients[i].person);
        assert_string_equal(gwfx_str(b, "insuplc_admdvs"), patients[i].region);
        gwfx_reply_free(&r);
    }
    struct gwfx_reply r;
    txn("1101", "", "2026-06-15 09:00:00", "{\"data\":{\"certno\":\"110101199001010015\"}}",
        INF_ENGINE + SANHE__ERROR_CODE__UNKNOWN_PERSON, &r);
    gwfx_reply_free(&r);
}

static void t_settle_in_own_region(void **state)
{
    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct patient *p = &patients[i];
        char in[512];
        struct gwfx_reply r;
        snprintf(in, sizeof in, "{\"data\":{\"psn_no\":\"%s\",\"med_type\":\"21\"}}", p->person);
        txn("2201", p->region, p->inf_time, in, 0, &r);
        snprintf(p->mdtrt_id, sizeof p->mdtrt_id, "%s",
                 gwfx_str(gwfx_get(r.doc, "output", "data", NULL), "mdtrt_id"));
        gwfx_reply_free(&r);
        snprintf(in, sizeof in,
                 "{\"feedetail\":[{\"feedetl_sn\":\"1\",\"mdtrt_id\":\"%s\","
                 "\"med_list_codg\":\"A003\",\"cnt\":1,\"det_item_fee_sumamt\":12345.67},"
                 "{\"feedetl_sn\":\"2\",\"mdtrt_id\":\"%s\",\"med_list_codg\":\"B001\","
                 "\"cnt\":1,\"det_item_fee_sumamt\":777.77}]}",
                 p->mdtrt_id, p->mdtrt_id);
        txn("2204", p->region, p->inf_time, in, 0, &r);
        gwfx_reply_free(&r);
        /* The second patient's settle names no region: the registration's. */
        snprintf(in, sizeof in, "{\"data\":{\"psn_no\":\"%s\",\"mdtrt_id\":\"%s\"}}", p->person,
                 p->mdtrt_id);
        txn("2207", i == 0 ? p->region : "", p->inf_time, in, 0, &r);
        const json_t *s = gwfx_get(r.doc, "output", "setlinfo", NULL);
        p->setl_id = strtoull(gwfx_str(s, "setl_id"), NULL, 10);
        p->total = gwfx_fen(s, "medfee_sumamt");
        p->fund_total = gwfx_fen(s, "fund_pay_sumamt");
        snprintf(p->settle_msgid, sizeof p->settle_msgid, "%s", r.msgid);
        assert_true(p->setl_id > 0);
        assert_int_equal(p->total, 1312344);
        gwfx_reply_free(&r);
    }
    /* Each settlement is in its region's engine, with the gateway's
     * figures, and not in the other. */
    for (size_t i = 0; i < 2; i++) {
        const struct patient *p = &patients[i];
        Sanhe__Response *q = query(p->engine, p->settle_msgid, 0);
        assert_null(q->error);
        const Sanhe__Settlement *s = q->query->settlement;
        assert_int_equal(s->settlement_id, p->setl_id);
        assert_string_equal(s->claim->person, p->person);
        assert_int_equal(s->breakdown->total, p->total);
        assert_int_equal(s->breakdown->fund_total, p->fund_total);
        assert_string_equal(s->breakdown->policy_region, p->region);
        sanhe__response__free_unpacked(q, NULL);
        q = query(1 - p->engine, p->settle_msgid, 0);
        assert_non_null(q->error);
        assert_int_equal(q->error->code, SANHE__ERROR_CODE__NOT_FOUND);
        sanhe__response__free_unpacked(q, NULL);
    }
    /* The two regions' policies differ: so do the funds' shares. */
    assert_int_not_equal(patients[0].fund_total, patients[1].fund_total);
}

static void t_3201_per_region(void **state)
{
    (void)state;
    time_t now = time(NULL), a = now - 86400, b = now + 86400;
    struct tm ta, tb;
    gmtime_r(&a, &ta);
    gmtime_r(&b, &tb);
    char from[11], to[11];
    strftime(from, sizeof from, "%Y-%m-%d", &ta);
    strftime(to, sizeof to, "%Y-%m-%d", &tb);
    for (size_t i = 0; i < 2; i++) {
        const struct patient *p = &patients[i];
        char in[512];
        snprintf(in, sizeof in,
                 "{\"data\":{\"setl_optins\":\"%s\",\"stmt_begndate\":\"%s\",\"stmt_enddate\":"
                 "\"%s\",\"medfee_sumamt\":%lld.%02lld,\"fund_pay_sumamt\":%lld.%02lld,"
                 "\"fixmedins_setl_cnt\":1,\"refd_setl_flag\":\"0\"}}",
                 p->region, from, to, p->total / 100, p->total % 100, p->fund_total / 100,
                 p->fund_total % 100);
        struct gwfx_reply r;
        txn("3201", p->region, p->inf_time, in, 0, &r);
        const json_t *d = gwfx_get(r.doc, "output", "data", NULL);
        assert_string_equal(gwfx_str(d, "stmt_rslt"), "0");
        assert_int_equal(gwfx_fen(d, "fund_pay_sumamt"), p->fund_total);
        gwfx_reply_free(&r);
    }
}

static void t_2208_in_visit_region(void **state)
{
    (void)state;
    assert_int_equal(patients[0].setl_id, patients[1].setl_id); /* each engine's first */
    const struct patient *p = &patients[1];
    char in[256];
    snprintf(in, sizeof in, "{\"data\":{\"setl_id\":\"%llu\",\"mdtrt_id\":\"%s\"}}", p->setl_id,
             p->mdtrt_id);
    struct gwfx_reply r;
    /* No insuplc_admdvs: the region the visit was registered in. */
    txn("2208", "", p->inf_time, in, 0, &r);
    assert_string_equal(gwfx_str(gwfx_get(r.doc, "output", "setlinfo", NULL), "rvs_flag"), "1");
    gwfx_reply_free(&r);
    Sanhe__Response *q = query(1, NULL, p->setl_id);
    assert_int_equal(q->query->settlement->state, SANHE__SETTLEMENT_STATE__REVERSED);
    sanhe__response__free_unpacked(q, NULL);
    q = query(0, NULL, patients[0].setl_id);
    assert_int_equal(q->query->settlement->state, SANHE__SETTLEMENT_STATE__SETTLED);
    sanhe__response__free_unpacked(q, NULL);
}

static void t_region_without_engine(void **state)
{
    (void)state;
    char in[256];
    struct gwfx_reply r;
    txn("2201", "110101", "2026-06-15 09:00:00",
        "{\"data\":{\"psn_no\":\"110101199001010015\",\"med_type\":\"11\"}}", 0, &r);
    snprintf(in, sizeof in,
             "{\"feedetail\":[{\"feedetl_sn\":\"1\",\"mdtrt_id\":\"%s\","
             "\"med_list_codg\":\"A003\",\"cnt\":1,\"det_item_fee_sumamt\":1.00}]}",
             gwfx_str(gwfx_get(r.doc, "output", "data", NULL), "mdtrt_id"));
    gwfx_reply_free(&r);
    txn("2204", "110101", "2026-06-15 09:00:00", in, INF_NO_ENGINE, &r);
    assert_non_null(strstr(gwfx_str(r.doc, "err_msg"), "110101"));
    gwfx_reply_free(&r);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_gw_regions CASE02.json CASE07.json\n");
        return 2;
    }
    cases[0] = argv[1];
    cases[1] = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_1101_asks_both),        cmocka_unit_test(t_settle_in_own_region),
        cmocka_unit_test(t_3201_per_region),       cmocka_unit_test(t_2208_in_visit_region),
        cmocka_unit_test(t_region_without_engine),
    };
    return cmocka_run_group_tests_name("gateway/curl-two-engines", tests, setup, teardown);
}
