/*
 * sanhe-import end to end: a sanhe-engine in a sandbox with the reference
 * data of tests/cases/10-crosscheck.json, roster files written here in
 * UTF-8 (with a BOM and CRLF) and GB18030, and sanhe-import run as the admin
 * terminal. Claims are settled over TLS before and after each import, and
 * the figures must follow the dated categories and the death rule
 * (docs/rosters.md); the monthly cross-check must list what the imports
 * mean for money already paid. The tests run in order on one engine, each
 * building on the state the one before left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "sandbox.h"
#include "sh_json.h"
#include "sh_json_load.h"

#define P_DIBAO "330424195001017018" /* dibao (assist) from 2026-01-01 */
#define P_PLAIN "330424196002027028" /* no category */
#define P_TEKUN "330424194003037034" /* tekun (assist) from 2026-01-01 */
#define P_YOUFU "330424194504047046" /* disabled_1_6 (youfu) */
#define P_NEW "330424199001010017"   /* not in reference data */
#define P_BADID "330424199001010016" /* a wrong check digit */
#define H_VILLAGE "H330424201"
#define H_COUNTY "H330424001"

struct world {
    struct sandbox sb;
    char conf[4096];
    char out[1 << 16];
    int seq;
};

static struct world *g_world;

/* ---- Helpers -------------------------------------------------------------------------------- */

static Sanhe__Response *call_as(struct world *w, const char *name, const Sanhe__Request *req)
{
    struct sh_error err = {0};
    struct tc *tc = NULL;
    Sanhe__Response *resp = NULL;
    if (sandbox_connect(&w->sb, name, &tc, &err) < 0)
        fail_msg("connect as %s: %s", name, err.msg);
    if (tc_call(tc, req, &resp, SANDBOX_TIMEOUT_MS) < 0)
        fail_msg("call as %s: %s", name, tc_last_error(tc));
    tc_close(tc);
    return resp;
}

static void write_file(struct world *w, const char *name, const char *text, size_t len)
{
    char path[4096];
    FILE *f = fopen(sandbox_path(&w->sb, name, path), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void write_text(struct world *w, const char *name, const char *text)
{
    write_file(w, name, text, strlen(text));
}

/* The same text converted to GB18030 with iconv(1), the way an older
 * county system exports it. */
static void write_gb18030(struct world *w, const char *name, const char *text)
{
    char utf8[4096], gb[4096], err[4096];
    write_text(w, "tmp-utf8.csv", text);
    sandbox_path(&w->sb, "tmp-utf8.csv", utf8);
    sandbox_path(&w->sb, name, gb);
    sandbox_path(&w->sb, "iconv.err", err);
    remove(gb);
    const char *const argv[] = {SANHE_ICONV, "-f", "UTF-8", "-t", "GB18030", utf8, NULL};
    assert_int_equal(proc_run(argv, gb, err), 0);
}

/* Runs sanhe-import -c CONF args... (NULL-terminated); its exit status,
 * stdout in w->out. */
static int import_run(struct world *w, ...)
{
    const char *argv[16] = {SANHE_IMPORT_PATH, "-c", w->conf};
    size_t n = 3;
    va_list ap;
    va_start(ap, w);
    for (const char *a; n < 15 && (a = va_arg(ap, const char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char out[4096], err[4096];
    sandbox_path(&w->sb, "import.out", out);
    sandbox_path(&w->sb, "import.err", err);
    remove(out);
    remove(err);
    int rc = proc_run(argv, out, err);
    FILE *f = fopen(out, "rb");
    assert_non_null(f);
    size_t len = fread(w->out, 1, sizeof w->out - 1, f);
    w->out[len] = '\0';
    fclose(f);
    if (rc != 0 && rc != 1) {
        char e[4096] = "";
        f = fopen(err, "rb");
        if (f != NULL) {
            e[fread(e, 1, sizeof e - 1, f)] = '\0';
            fclose(f);
        }
        printf("sanhe-import exit %d, stderr: %s\nstdout: %s\n", rc, e, w->out);
    }
    return rc;
}

static void contains(const char *text, const char *want)
{
    if (strstr(text, want) == NULL)
        fail_msg("\"%s\" not in:\n%s", want, text);
}

static void lacks(const char *text, const char *unwanted)
{
    if (strstr(text, unwanted) != NULL)
        fail_msg("\"%s\" unexpectedly in:\n%s", unwanted, text);
}

/* Settles a one-line claim; the response (free it). */
static Sanhe__Response *settle(struct world *w, const char *hospital, const char *person,
                               const char *visit, const char *date, const char *code,
                               int64_t amount)
{
    Sanhe__Line line = SANHE__LINE__INIT;
    line.code = (char *)code;
    line.has_qty_milli = line.has_amount = true;
    line.qty_milli = 1000;
    line.amount = amount;
    Sanhe__Line *lines[] = {&line};
    Sanhe__Claim claim = SANHE__CLAIM__INIT;
    claim.hospital = (char *)hospital;
    claim.person = (char *)person;
    claim.visit = (char *)visit;
    claim.date = (char *)date;
    claim.n_lines = 1;
    claim.lines = lines;
    Sanhe__SettleRequest op = SANHE__SETTLE_REQUEST__INIT;
    op.claim = &claim;
    char rid[32];
    snprintf(rid, sizeof rid, "t-%d", ++w->seq);
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = rid;
    req.op_case = SANHE__REQUEST__OP_SETTLE;
    req.settle = &op;
    char terminal[64];
    snprintf(terminal, sizeof terminal, "counter-%s", hospital);
    return call_as(w, terminal, &req);
}

static const Sanhe__FundShare *fund_of(const Sanhe__Response *r, const char *fund)
{
    assert_null(r->error);
    const Sanhe__Breakdown *b = r->settle->breakdown;
    for (size_t i = 0; i < b->n_funds; i++)
        if (strcmp(b->funds[i]->fund, fund) == 0)
            return b->funds[i];
    fail_msg("no fund %s", fund);
    return NULL;
}

static Sanhe__Response *crosscheck(struct world *w, const char *month)
{
    Sanhe__CrosscheckRequest op = SANHE__CROSSCHECK_REQUEST__INIT;
    op.month = (char *)month;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "xc";
    req.op_case = SANHE__REQUEST__OP_CROSSCHECK;
    req.crosscheck = &op;
    Sanhe__Response *r = call_as(w, "bureau-1", &req);
    assert_null(r->error);
    return r;
}

/* ---- Setup ---------------------------------------------------------------------------------- */

static const char dibao_map[] = "[source]\n"
                                "kind = category\n"
                                "fund = assist\n"
                                "exit_share_max = 10%\n"
                                "[columns]\n"
                                "person = 身份证号\n"
                                "name = 姓名\n"
                                "category = 救助类别\n"
                                "from = 起始日期\n"
                                "to = 终止日期\n"
                                "[categories]\n"
                                "低保 = dibao\n"
                                "特困 = tekun\n"
                                "低保边缘 = dibao_edge\n";

static const char youfu_map[] = "[source]\n"
                                "kind = veterans\n"
                                "fund = youfu\n"
                                "exit_share_max = 100%\n"
                                "[columns]\n"
                                "person = 公民身份号码\n"
                                "name = 姓名\n"
                                "category = 优抚类别\n"
                                "from = 开始\n"
                                "to = 结束\n"
                                "[categories]\n"
                                "伤残 = disabled_1_6\n"
                                "烈属 = martyr_family\n";

static const char enrol_map[] = "[source]\n"
                                "kind = enrolment\n"
                                "year = 2026\n"
                                "[columns]\n"
                                "person = id\n"
                                "name = name\n"
                                "region = region\n";

static const char deaths_map[] = "[source]\n"
                                 "kind = deaths\n"
                                 "[columns]\n"
                                 "person = 身份证号\n"
                                 "name = 姓名\n"
                                 "died = 死亡日期\n";

static const char hospitals_map[] = "[source]\n"
                                    "kind = hospitals\n"
                                    "[columns]\n"
                                    "code = 机构编码\n"
                                    "name = 机构名称\n"
                                    "region = 区划\n"
                                    "level = 等级\n"
                                    "funds = 定点基金\n"
                                    "[levels]\n"
                                    "村卫生室 = village\n"
                                    "县级 = county\n";

static const char catalog_map[] = "[source]\n"
                                  "kind = catalog\n"
                                  "[columns]\n"
                                  "code = 项目编码\n"
                                  "name = 项目名称\n"
                                  "class = 类别\n"
                                  "price_cap = 限价\n"
                                  "[classes]\n"
                                  "甲 = A\n"
                                  "乙 = B\n"
                                  "丙 = C\n";

static void load_reference(struct world *w)
{
    json_error_t jerr;
    json_t *doc = json_load_file(SANHE_CASE_FILE, 0, &jerr);
    assert_non_null(doc);
    struct sh_error err = {0};
    Sanhe__LoadRequest msg;
    assert_int_equal(sh_json_to_load(doc, &msg, &err), 0);
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "load";
    req.op_case = SANHE__REQUEST__OP_LOAD;
    req.load = &msg;
    Sanhe__Response *resp = call_as(w, "admin", &req);
    if (resp->error != NULL)
        fail_msg("load: %s", resp->error->message);
    sanhe__response__free_unpacked(resp, NULL);
    sh_json_load_free(&msg);
    json_decref(doc);
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    g_world = w;
    w->sb.engine.pid = -1;
    struct sh_error err = {0};
    assert_int_equal(
        sandbox_create(&w->sb, "sanhe-import-test", SANHE_ENGINE_PATH, SANHE_CERTS_SCRIPT, &err),
        0);
    assert_int_equal(sandbox_add_terminal(&w->sb, "admin", NULL, "admin", &err), 0);
    assert_int_equal(sandbox_add_terminal(&w->sb, "bureau-1", NULL, "bureau", &err), 0);
    assert_int_equal(sandbox_add_terminal(&w->sb, "counter-" H_VILLAGE, H_VILLAGE, "counter", &err),
                     0);
    assert_int_equal(sandbox_add_terminal(&w->sb, "counter-" H_COUNTY, H_COUNTY, "counter", &err),
                     0);
    if (sandbox_start(&w->sb, NULL, &err) != 0)
        fail_msg("engine: %s", err.msg);
    load_reference(w);
    char text[1024], dir[4096];
    snprintf(text, sizeof text,
             "[import]\nengine = 127.0.0.1:%d\nca = certs/ca.crt\ncert = certs/admin.crt\n"
             "key = certs/admin.key\nmappings = maps\ntimeout_ms = 30000\n",
             w->sb.engine.port);
    write_text(w, "import.conf", text);
    sandbox_path(&w->sb, "import.conf", w->conf);
    assert_int_equal(mkdir(sandbox_path(&w->sb, "maps", dir), 0700), 0);
    write_text(w, "maps/dibao.ini", dibao_map);
    write_text(w, "maps/youfu.ini", youfu_map);
    write_text(w, "maps/enrol.ini", enrol_map);
    write_text(w, "maps/deaths.ini", deaths_map);
    write_text(w, "maps/hospitals.ini", hospitals_map);
    write_text(w, "maps/catalog.ini", catalog_map);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    struct world *w = g_world;
    g_world = NULL;
    if (w != NULL && w->sb.dir[0] != '\0')
        sandbox_destroy(&w->sb, false);
    free(w);
    return 0;
}

/* ---- Category rosters ------------------------------------------------------------------------ */

/* The assist roster of March in UTF-8 with a BOM and CRLF: 特困丙 stays,
 * 低保甲 is not listed (an exit on 2026-03-01), 普通乙 begins 低保边缘. */
static const char march[] = "\xEF\xBB\xBF"
                            "身份证号,姓名,救助类别,起始日期,终止日期\r\n" P_TEKUN
                            ",特困丙,特困,2026-01-01,\r\n" P_PLAIN ",普通乙,低保边缘,2026/3/1,\r\n";

static void dry_run_shows_the_diff_and_changes_nothing(void **state)
{
    struct world *w = *state;
    write_text(w, "march.csv", march);
    char path[4096];
    sandbox_path(&w->sb, "march.csv", path);
    /* one exit of two open spans passes the mapping's 10 %: a dry run says so */
    assert_int_equal(import_run(w, "--dry-run", "--effective", "20260301", "dibao", path, NULL), 1);
    contains(w->out, "UTF-8 with BOM, 2 rows");
    contains(w->out, "dry run (nothing was changed)");
    contains(w->out, "categories begun     1");
    contains(w->out, "exits                1");
    contains(w->out, "unchanged            1");
    contains(w->out, "category_begun    line 3       330424********7028 assist dibao_edge");
    contains(w->out, "exit              line -       330424********7018 assist dibao "
                     "2026-01-01..2026-03-01 (was open)");
    contains(w->out, "a commit would be REFUSED");
    /* nothing changed: 低保甲 still has dibao after March */
    Sanhe__Response *r = settle(w, H_VILLAGE, P_DIBAO, "outpatient", "2026-03-10", "A001", 1000);
    assert_string_equal(fund_of(r, "assist")->category, "dibao");
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(import_run(w, "log", NULL), 0);
    contains(w->out, "no imports");
}

static void too_many_exits_refused_then_forced(void **state)
{
    struct world *w = *state;
    char path[4096];
    sandbox_path(&w->sb, "march.csv", path);
    assert_int_equal(import_run(w, "--effective", "2026-03-01", "dibao", path, NULL), 1);
    contains(w->out, "IMPORT_TOO_MANY_EXITS");
    contains(w->out, "would end 1 of 2 open spans of assist");
    assert_int_equal(import_run(w, "--force", "--effective", "2026-03-01", "dibao", path, NULL), 0);
    contains(w->out, "imported: ");
    contains(w->out, "exits                1");
    /* the exit is dated: the span holds on 2026-03-01 and not after */
    Sanhe__Response *r = settle(w, H_VILLAGE, P_DIBAO, "outpatient", "2026-03-01", "A001", 1000);
    assert_string_equal(fund_of(r, "assist")->category, "dibao");
    assert_true(fund_of(r, "assist")->pay > 0);
    sanhe__response__free_unpacked(r, NULL);
    r = settle(w, H_VILLAGE, P_DIBAO, "outpatient", "2026-03-02", "A001", 1000);
    assert_int_equal(fund_of(r, "assist")->pay, 0);
    assert_string_equal(fund_of(r, "assist")->reason, "no_category");
    sanhe__response__free_unpacked(r, NULL);
    /* 普通乙 begins dibao_edge on 2026-03-01: before it no category */
    r = settle(w, H_VILLAGE, P_PLAIN, "outpatient", "2026-02-28", "A001", 1000);
    assert_string_equal(fund_of(r, "assist")->reason, "no_category");
    sanhe__response__free_unpacked(r, NULL);
    r = settle(w, H_VILLAGE, P_PLAIN, "outpatient", "2026-03-05", "A001", 1000);
    assert_string_equal(fund_of(r, "assist")->category, "dibao_edge");
    sanhe__response__free_unpacked(r, NULL);
}

static void reimport_changes_nothing_and_says_so(void **state)
{
    struct world *w = *state;
    char path[4096];
    sandbox_path(&w->sb, "march.csv", path);
    assert_int_equal(import_run(w, "--effective", "2026-03-01", "dibao", path, NULL), 0);
    contains(w->out, "was imported already; nothing was changed");
    assert_int_equal(import_run(w, "log", NULL), 0);
    contains(w->out, "march.csv");
    contains(w->out, "committed");
    contains(w->out, "1 begun, 0 ended, 0 changed, 1 exits");
}

/* April in GB18030: 普通乙's dibao_edge becomes dibao from 2026-04-01 (the
 * earlier open span ends 2026-03-31), and a correction of 特困丙's span. */
static void gb18030_new_span_ends_the_earlier_one(void **state)
{
    struct world *w = *state;
    write_gb18030(w, "april.csv",
                  "身份证号,姓名,救助类别,起始日期,终止日期\n" P_TEKUN
                  ",特困丙,特困,2026-01-01,2026-12-31\n" P_PLAIN ",普通乙,低保,20260401,\n" P_PLAIN
                  ",普通乙,低保边缘,2026-03-01,\n");
    char path[4096];
    sandbox_path(&w->sb, "april.csv", path);
    assert_int_equal(import_run(w, "--effective", "2026-04-01", "dibao", path, NULL), 0);
    contains(w->out, "GB18030, 3 rows");
    contains(w->out, "categories begun     1");
    contains(w->out, "categories ended     1");
    contains(w->out, "categories changed   1");
    contains(w->out, "exits                0");
    Sanhe__Response *r = settle(w, H_VILLAGE, P_PLAIN, "outpatient", "2026-03-31", "A001", 1000);
    assert_string_equal(fund_of(r, "assist")->category, "dibao_edge");
    sanhe__response__free_unpacked(r, NULL);
    r = settle(w, H_VILLAGE, P_PLAIN, "outpatient", "2026-04-02", "A001", 1000);
    assert_string_equal(fund_of(r, "assist")->category, "dibao");
    sanhe__response__free_unpacked(r, NULL);
}

static void bad_rows_are_all_named_and_change_nothing(void **state)
{
    struct world *w = *state;
    write_gb18030(w, "bad.csv",
                  "身份证号,姓名,救助类别,起始日期,终止日期\n" P_TEKUN
                  ",特困丙,特困,2026-01-01,\n" P_BADID ",甲,低保,2026-05-01,\n" P_PLAIN
                  ",乙,低保,2026-02-30,\n" P_PLAIN ",乙,低保,2026-05-01,2026-04-01\n" P_DIBAO
                  ",丙,五保,2026-05-01,\n" P_TEKUN ",特困丙,特困,2026-01-01,\n" P_TEKUN
                  ",特困丙,低保,2026-01-01,\n");
    char path[4096];
    sandbox_path(&w->sb, "bad.csv", path);
    assert_int_equal(import_run(w, "--effective", "2026-05-01", "dibao", path, NULL), 1);
    contains(w->out, "REFUSED: ");
    contains(w->out, "6 of 7 rows are bad; nothing was changed");
    contains(w->out, "line 3: bad resident id 330424********0016");
    contains(w->out, "line 4: from: \"2026-02-30\" is not a date that exists");
    contains(w->out, "line 5: to 2026-04-01 is before from 2026-05-01");
    contains(w->out, "line 6: unknown category \"五保\" of fund assist");
    contains(w->out, "line 7: duplicate row (the same as line 2)");
    contains(w->out, "line 8: contradicts line 2");
    lacks(w->out, P_BADID); /* ids masked */
    /* a file without the header a mapping names */
    write_text(w, "noheader.csv", P_TEKUN ",特困丙,特困,2026-01-01,\n");
    sandbox_path(&w->sb, "noheader.csv", path);
    assert_int_equal(import_run(w, "--effective", "2026-05-01", "dibao", path, NULL), 1);
    contains(w->out, "line 1: no column \"身份证号\"");
    /* a truncated quote at the end */
    write_text(w, "trunc.csv",
               "身份证号,姓名,救助类别,起始日期,终止日期\n" P_TEKUN ",\"特困丙,特困,2026-01-01,");
    sandbox_path(&w->sb, "trunc.csv", path);
    assert_int_equal(import_run(w, "--effective", "2026-05-01", "dibao", path, NULL), 1);
    contains(w->out, "unterminated quoted field");
    /* nothing of them landed: still dibao, and the log holds two imports */
    Sanhe__Response *r = settle(w, H_VILLAGE, P_PLAIN, "outpatient", "2026-05-02", "A001", 1000);
    assert_string_equal(fund_of(r, "assist")->category, "dibao");
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(import_run(w, "log", NULL), 0);
    lacks(w->out, "bad.csv");
    lacks(w->out, "staging");
}

/* A veterans roster shortens 优抚丁's span after a visit was paid: the
 * cross-check lists the payment outside the category. */
static void veterans_roster_retroactive_end(void **state)
{
    struct world *w = *state;
    Sanhe__Response *r = settle(w, H_COUNTY, P_YOUFU, "inpatient", "2026-04-01", "A003", 900000);
    int64_t paid = fund_of(r, "youfu")->pay;
    uint64_t sid = r->settle->settlement_id;
    assert_true(paid > 0);
    sanhe__response__free_unpacked(r, NULL);
    write_text(w, "youfu.csv",
               "公民身份号码,姓名,优抚类别,开始,结束\n" P_YOUFU
               ",优抚丁,伤残,2026-01-01,2026-02-28\n");
    char path[4096];
    sandbox_path(&w->sb, "youfu.csv", path);
    assert_int_equal(import_run(w, "--effective", "2026-05-01", "youfu", path, NULL), 0);
    contains(w->out, "categories changed   1");
    r = crosscheck(w, "2026-05");
    const Sanhe__CrosscheckReply *x = r->crosscheck;
    /* and the March exit, retroactive for the visit of 2026-03-10 that
     * assist paid: sorted by person, 优抚丁 (1945) before 低保甲 (1950) */
    assert_int_equal(x->n_paid_outside_category, 2);
    assert_int_equal(x->paid_outside_category[0]->settlement_id, sid);
    assert_string_equal(x->paid_outside_category[0]->fund, "youfu");
    assert_int_equal(x->paid_outside_category[0]->pay, paid);
    assert_string_equal(x->paid_outside_category[1]->person, P_DIBAO);
    assert_string_equal(x->paid_outside_category[1]->fund, "assist");
    assert_string_equal(x->paid_outside_category[1]->date, "2026-03-10");
    sanhe__response__free_unpacked(r, NULL);
}

/* ---- Deaths ------------------------------------------------------------------------------------
 */

static void deaths_stop_benefits_and_list_recovery(void **state)
{
    struct world *w = *state;
    Sanhe__Response *r = settle(w, H_COUNTY, P_TEKUN, "inpatient", "2026-03-15", "A002", 500000);
    uint64_t sid = r->settle->settlement_id;
    int64_t fund_total = r->settle->breakdown->fund_total;
    sanhe__response__free_unpacked(r, NULL);
    write_gb18030(w, "deaths.csv", "身份证号,姓名,死亡日期\n" P_TEKUN ",特困丙,2026/3/10\n");
    char path[4096];
    sandbox_path(&w->sb, "deaths.csv", path);
    assert_int_equal(import_run(w, "deaths", path, NULL), 0);
    contains(w->out, "deaths recorded      1");
    r = settle(w, H_COUNTY, P_TEKUN, "inpatient", "2026-03-16", "A002", 1000);
    assert_non_null(r->error);
    assert_int_equal(-(int)r->error->code, SH_E_PERSON_DECEASED);
    sanhe__response__free_unpacked(r, NULL);
    r = crosscheck(w, "2026-03");
    const Sanhe__CrosscheckReply *x = r->crosscheck;
    assert_int_equal(x->n_died_in_category, 1);
    assert_string_equal(x->died_in_category[0]->person, P_TEKUN);
    assert_string_equal(x->died_in_category[0]->died, "2026-03-10");
    assert_int_equal(x->n_paid_after_death, 1);
    assert_int_equal(x->paid_after_death[0]->settlement_id, sid);
    assert_int_equal(x->paid_after_death[0]->fund_total, fund_total);
    sanhe__response__free_unpacked(r, NULL);
    /* another date replaces it, and says so */
    write_text(w, "deaths2.csv", "身份证号,姓名,死亡日期\n" P_TEKUN ",特困丙,20260320\n");
    sandbox_path(&w->sb, "deaths2.csv", path);
    assert_int_equal(import_run(w, "deaths", path, NULL), 0);
    contains(w->out, "deaths changed       1");
    contains(w->out, "died 2026-03-20 (was 2026-03-10)");
    r = crosscheck(w, "2026-03");
    assert_int_equal(r->crosscheck->n_paid_after_death, 0);
    sanhe__response__free_unpacked(r, NULL);
}

/* ---- Enrolment, hospitals, catalog
 * --------------------------------------------------------------- */

static void enrolment_adds_persons_and_years(void **state)
{
    struct world *w = *state;
    Sanhe__Response *r = settle(w, H_VILLAGE, P_NEW, "outpatient", "2026-06-01", "A001", 1000);
    assert_non_null(r->error);
    assert_int_equal(-(int)r->error->code, SH_E_UNKNOWN_PERSON);
    sanhe__response__free_unpacked(r, NULL);
    write_text(w, "enrol.csv",
               "id,name,region\n" P_NEW ",新人,330424\n" P_DIBAO ",低保甲,330424\n");
    char path[4096];
    sandbox_path(&w->sb, "enrol.csv", path);
    assert_int_equal(import_run(w, "--dry-run", "enrol", path, NULL), 0);
    contains(w->out, "persons added        1");
    contains(w->out, "unchanged            1");
    assert_int_equal(import_run(w, "enrol", path, NULL), 0);
    contains(w->out, "persons added        1");
    r = settle(w, H_VILLAGE, P_NEW, "outpatient", "2026-06-01", "A001", 1000);
    assert_null(r->error);
    assert_true(fund_of(r, "coop")->pay > 0);
    sanhe__response__free_unpacked(r, NULL);
}

static void hospitals_and_catalog_from_csv(void **state)
{
    struct world *w = *state;
    Sanhe__Response *r = settle(w, H_VILLAGE, P_PLAIN, "outpatient", "2026-06-02", "Z001", 5000);
    assert_non_null(r->error);
    assert_int_equal(-(int)r->error->code, SH_E_UNKNOWN_ITEM);
    sanhe__response__free_unpacked(r, NULL);
    write_gb18030(w, "items.csv",
                  "项目编码,项目名称,类别,限价\nZ001,新药,甲,30.00\nZ002,自费药,丙,\n");
    char path[4096];
    sandbox_path(&w->sb, "items.csv", path);
    assert_int_equal(import_run(w, "catalog", path, NULL), 0);
    contains(w->out, "catalog items        2");
    r = settle(w, H_VILLAGE, P_PLAIN, "outpatient", "2026-06-02", "Z001", 5000);
    assert_null(r->error);
    assert_int_equal(r->settle->breakdown->over_limit, 2000); /* a cap of 30 yuan */
    sanhe__response__free_unpacked(r, NULL);
    write_text(w, "hosp.csv",
               "机构编码,机构名称,区划,等级,定点基金\n"
               "H330424777,新村卫生室,330424,村卫生室,coop;assist\n"
               "H330424201,百步镇村卫生室,330424,神医,coop\n");
    sandbox_path(&w->sb, "hosp.csv", path);
    assert_int_equal(import_run(w, "hospitals", path, NULL), 1);
    contains(w->out, "line 3: level: \"神医\" is not village");
    write_text(w, "hosp.csv",
               "机构编码,机构名称,区划,等级,定点基金\n"
               "H330424777,新村卫生室,330424,村卫生室,coop;assist\n");
    assert_int_equal(import_run(w, "hospitals", path, NULL), 0);
    contains(w->out, "hospitals            1");
}

static void oop_warning_after_the_imports(void **state)
{
    struct world *w = *state;
    /* 普通乙 had no category until March; the policy warns at 3000 yuan.
     * A large self-paid bill in June, when 普通乙 holds dibao, is no
     * warning; 大病戊 (no category) crosses with one bill. */
    Sanhe__Response *r =
        settle(w, H_COUNTY, "330424197005057059", "inpatient", "2026-02-20", "C002", 400000);
    assert_null(r->error);
    sanhe__response__free_unpacked(r, NULL);
    r = crosscheck(w, "2026-06");
    const Sanhe__CrosscheckReply *x = r->crosscheck;
    assert_int_equal(x->n_oop_warning, 1);
    assert_string_equal(x->oop_warning[0]->person, "330424197005057059");
    assert_int_equal(x->oop_warning[0]->patient_pays, 400000);
    assert_string_equal(x->oop_warning[0]->crossed, "2026-02-20");
    sanhe__response__free_unpacked(r, NULL);
}

/* An enrolment left half applied (as a crash between two slices leaves
 * it: the first slice committed, the rest still staged) is found by the
 * next import of the same file and finished, and counts all its rows. */
static const char *const resume_ids[] = {"330424200001010012", "330424200001010020",
                                         "330424200001010039"};

static uint64_t admin_session_step(struct world *w, Sanhe__Request *req)
{
    Sanhe__Response *r = call_as(w, "admin", req);
    if (r->error != NULL)
        fail_msg("%s", r->error->message);
    uint64_t v = 0;
    if (r->result_case == SANHE__RESPONSE__RESULT_IMPORT_BEGIN)
        v = r->import_begin->session_id;
    else if (r->result_case == SANHE__RESPONSE__RESULT_IMPORT_COMMIT)
        v = r->import_commit->done;
    sanhe__response__free_unpacked(r, NULL);
    return v;
}

static void enrolment_left_half_applied_is_finished(void **state)
{
    struct world *w = *state;
    char text[512] = "id,name,region\n";
    for (size_t i = 0; i < 3; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s,续%zu,330424\n",
                 resume_ids[i], i);
    write_text(w, "resume.csv", text);
    uint8_t sha[32];
    unsigned int sha_len = 0;
    assert_int_equal(EVP_Digest(text, strlen(text), sha, &sha_len, EVP_sha256(), NULL), 1);
    Sanhe__ImportBeginRequest b = SANHE__IMPORT_BEGIN_REQUEST__INIT;
    b.has_source = b.has_sha256 = b.has_rows = true;
    b.source = SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT;
    b.file_name = "resume.csv";
    b.sha256.data = sha;
    b.sha256.len = 32;
    b.rows = 3;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_IMPORT_BEGIN;
    req.import_begin = &b;
    req.request_id = "resume-begin";
    uint64_t id = admin_session_step(w, &req);
    assert_true(id != 0);
    Sanhe__ImportRow rows[3], *ptrs[3];
    char names[3][16];
    for (size_t i = 0; i < 3; i++) {
        sanhe__import_row__init(&rows[i]);
        snprintf(names[i], sizeof names[i], "续%zu", i);
        rows[i].has_line = rows[i].has_year = true;
        rows[i].line = (uint32_t)i + 2;
        rows[i].person = (char *)resume_ids[i];
        rows[i].name = names[i];
        rows[i].region = "330424";
        rows[i].year = 2026;
        ptrs[i] = &rows[i];
    }
    Sanhe__ImportChunkRequest c = SANHE__IMPORT_CHUNK_REQUEST__INIT;
    c.has_session_id = c.has_seq = true;
    c.session_id = id;
    c.n_rows = 3;
    c.rows = ptrs;
    req.op_case = SANHE__REQUEST__OP_IMPORT_CHUNK;
    req.import_chunk = &c;
    req.request_id = "resume-chunk";
    admin_session_step(w, &req);
    Sanhe__ImportCommitRequest q = SANHE__IMPORT_COMMIT_REQUEST__INIT;
    q.has_session_id = q.has_max_rows = true;
    q.session_id = id;
    q.max_rows = 1;
    req.op_case = SANHE__REQUEST__OP_IMPORT_COMMIT;
    req.import_commit = &q;
    req.request_id = "resume-commit";
    assert_int_equal(admin_session_step(w, &req), 0); /* not done: one row of three */
    /* the first row is in reference data, the others not yet */
    Sanhe__Response *r =
        settle(w, H_VILLAGE, resume_ids[0], "outpatient", "2026-06-03", "A001", 1000);
    assert_null(r->error);
    sanhe__response__free_unpacked(r, NULL);
    r = settle(w, H_VILLAGE, resume_ids[2], "outpatient", "2026-06-03", "A001", 1000);
    assert_int_equal(-(int)r->error->code, SH_E_UNKNOWN_PERSON);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(import_run(w, "log", NULL), 0);
    contains(w->out, "applying");
    char path[4096];
    sandbox_path(&w->sb, "resume.csv", path);
    assert_int_equal(import_run(w, "enrol", path, NULL), 0);
    contains(w->out, "was left half applied; finishing it");
    contains(w->out, "persons added        3");
    r = settle(w, H_VILLAGE, resume_ids[2], "outpatient", "2026-06-03", "A001", 1000);
    assert_null(r->error);
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(import_run(w, "enrol", path, NULL), 0);
    contains(w->out, "was imported already");
}

/* sanhe-bureau crosscheck: the same lists as signed files. */
static void bureau_crosscheck_files(void **state)
{
    struct world *w = *state;
    char key[4096], log[4096], conf[4096], out[4096], err[4096], dir[4096];
    const char *const genkey[] = {SANHE_OPENSSL, "genpkey", "-algorithm",
                                  "ed25519",     "-out",    sandbox_path(&w->sb, "sign.key", key),
                                  NULL};
    assert_int_equal(proc_run(genkey, sandbox_path(&w->sb, "genkey.log", log), log), 0);
    char text[1024];
    snprintf(text, sizeof text,
             "[bureau]\nengine = 127.0.0.1:%d\nca = certs/ca.crt\ncert = certs/bureau-1.crt\n"
             "key = certs/bureau-1.key\nsigning_key = sign.key\n",
             w->sb.engine.port);
    write_text(w, "bureau.conf", text);
    sandbox_path(&w->sb, "xc", dir);
    const char *const argv[] = {SANHE_BUREAU_PATH,
                                "-c",
                                sandbox_path(&w->sb, "bureau.conf", conf),
                                "crosscheck",
                                "2026-06",
                                "--out",
                                dir,
                                NULL};
    assert_int_equal(proc_run(argv, sandbox_path(&w->sb, "bureau.out", out),
                              sandbox_path(&w->sb, "bureau.err", err)),
                     0);
    char path[4096];
    sandbox_path(&w->sb, "xc/crosscheck-2026-06.csv", path);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char csv[8192];
    csv[fread(csv, 1, sizeof csv - 1, f)] = '\0';
    fclose(f);
    contains(csv, "list,person,fund,category,from,to,died,settlement_id");
    contains(csv, "died_in_category," P_TEKUN ",assist,tekun,2026-01-01,2026-12-31,2026-03-20");
    contains(csv, "paid_outside_category," P_YOUFU ",youfu,");
    contains(csv, "oop_warning,330424197005057059,");
    contains(csv, ",4000.00,1,2026-02-20");
    sandbox_path(&w->sb, "xc/crosscheck-2026-06.csv.sig", path);
    f = fopen(path, "rb");
    assert_non_null(f);
    fclose(f);
    sandbox_path(&w->sb, "xc/crosscheck-2026-06.json.sig", path);
    f = fopen(path, "rb");
    assert_non_null(f);
    fclose(f);
}

/* No English word in the text of a Chinese page's part [from, to). */
static void no_english_between(const char *from, const char *to)
{
    bool in_tag = false;
    for (const char *p = from; p + 1 < to; p++) {
        if (*p == '<')
            in_tag = true;
        else if (*p == '>')
            in_tag = false;
        else if (!in_tag && isalpha((unsigned char)p[0]) && isalpha((unsigned char)p[1]))
            fail_msg("English on the page: \"%.40s\"", p);
    }
}

/* sanhe-bureau report MONTH: the month page's cross-check section, in
 * Chinese, funds by their policy names, ids masked, amounts in fen. Run
 * after bureau_crosscheck_files (its bureau.conf). Without the section (the
 * page before it) every contains() below fails. */
static void bureau_month_page_crosscheck(void **state)
{
    struct world *w = *state;
    char conf[4096], out[4096], err[4096], html[4096];
    const char *const argv[] = {SANHE_BUREAU_PATH,
                                "-c",
                                sandbox_path(&w->sb, "bureau.conf", conf),
                                "--lang",
                                "zh",
                                "report",
                                "2026-06",
                                "--out",
                                sandbox_path(&w->sb, "month/sanhe-2026-06.html", html),
                                NULL};
    char dir[4096];
    mkdir(sandbox_path(&w->sb, "month", dir), 0755);
    int rc = proc_run(argv, sandbox_path(&w->sb, "report.out", out),
                      sandbox_path(&w->sb, "report.err", err));
    if (rc != 0) {
        FILE *e = fopen(err, "rb");
        char text[4096] = "";
        if (e != NULL) {
            text[fread(text, 1, sizeof text - 1, e)] = '\0';
            fclose(e);
        }
        fail_msg("report 2026-06: exit %d: %s", rc, text);
    }
    FILE *f = fopen(html, "rb");
    assert_non_null(f);
    static char page[1 << 17];
    page[fread(page, 1, sizeof page - 1, f)] = '\0';
    fclose(f);
    contains(page, "<section id=\"crosscheck\" data-month=\"2026-06\"><h2>月度核查</h2>");
    contains(page, "核查截止日 2026-06-30");
    /* deaths still in a category: 特困丙, died 2026-03-20, tekun of assist */
    contains(page, "已死亡仍在救助类别中的人员 (1)");
    contains(page, "<tr data-list=\"died_in_category\"><td>330424********7034</td>"
                   "<td data-fund=\"assist\">城乡困难人员医疗救助</td>"
                   "<td data-category=\"tekun\">特困人员</td>"
                   "<td>2026-01-01</td><td>2026-12-31</td><td>2026-03-20</td></tr>");
    /* to recover: the two settlements paid outside a category (the
     * veteran's retroactive end, 低保甲's March exit); none after a death,
     * since the death date moved past the visit */
    contains(page, "应追回的结算 (2)");
    lacks(page, "id=\"crosscheck-after-death\"");
    contains(page, "<caption>类别终止后仍由类别基金支付的结算</caption>");
    contains(page, "<td>330424********7046</td><td>2026-04-01</td>"
                   "<td data-fund=\"youfu\">重点优抚对象医疗补助</td>");
    contains(page, "<td>330424********7018</td><td>2026-03-10</td>"
                   "<td data-fund=\"assist\">城乡困难人员医疗救助</td>");
    contains(page, "应追回合计:");
    /* the early warning: 大病戊, 4000 yuan out of pocket in one visit */
    contains(page, "因病致贫返贫监测预警 (1)");
    contains(page, "<tr data-list=\"oop_warning\"><td>330424********7059</td>"
                   "<td class=\"num\" data-fen=\"400000\">");
    contains(page, "<td class=\"num\">1</td><td>2026-02-20</td></tr>");
    contains(page, "本页身份证号已遮蔽");
    const char *section = strstr(page, "<section id=\"crosscheck\"");
    const char *end = section != NULL ? strstr(section, "</section>") : NULL;
    assert_non_null(end);
    no_english_between(section, end);
    /* ids only masked on the page */
    lacks(page, P_TEKUN);
    lacks(page, P_YOUFU);
    lacks(page, "330424197005057059");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dry_run_shows_the_diff_and_changes_nothing),
        cmocka_unit_test(too_many_exits_refused_then_forced),
        cmocka_unit_test(reimport_changes_nothing_and_says_so),
        cmocka_unit_test(gb18030_new_span_ends_the_earlier_one),
        cmocka_unit_test(bad_rows_are_all_named_and_change_nothing),
        cmocka_unit_test(veterans_roster_retroactive_end),
        cmocka_unit_test(deaths_stop_benefits_and_list_recovery),
        cmocka_unit_test(enrolment_adds_persons_and_years),
        cmocka_unit_test(hospitals_and_catalog_from_csv),
        cmocka_unit_test(oop_warning_after_the_imports),
        cmocka_unit_test(enrolment_left_half_applied_is_finished),
        cmocka_unit_test(bureau_crosscheck_files),
        cmocka_unit_test(bureau_month_page_crosscheck),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    if (g_world != NULL) /* setup failed half-way: stop its engine */
        teardown(NULL);
    return failed;
}
