/*
 * sanhe-bureau end to end: a sanhe-engine in a sandbox, the demo day's
 * reference data loaded and its bills settled over TLS (one of them then
 * reversed), and sanhe-bureau run as a bureau terminal: `day` must show the
 * figures this test sums from the settle replies, in yuan; `reconcile` must
 * answer balanced for the right books and name the one fen, the missing,
 * the extra and the wrong settlement otherwise.
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "receipt.h"
#include "sandbox.h"
#include "sh_json.h"
#include "sh_json_load.h"

#define MAX_BILLS 32

struct bill {
    char hospital[32];
    uint64_t id;
    int64_t total, fund_total, patient_pays;
    size_t n_funds;
    char funds[8][32];
    int64_t pays[8];
};

struct world {
    struct sandbox sb;
    json_t *doc;
    struct bill bills[MAX_BILLS];
    size_t n_bills;
    char day[16];
    char conf[4096];
};

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

static void load_reference(struct world *w)
{
    struct sh_error err = {0};
    Sanhe__LoadRequest msg;
    assert_int_equal(sh_json_to_load(w->doc, &msg, &err), 0);
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "load";
    req.op_case = SANHE__REQUEST__OP_LOAD;
    req.load = &msg;
    Sanhe__Response *resp = call_as(w, "admin", &req);
    if (resp->error != NULL)
        fail_msg("load: %s", resp->error->message);
    sanhe__response__free_unpacked(resp, NULL);
    sh_json_load_free(&msg);
}

static void settle_step(struct world *w, const json_t *step)
{
    struct sh_error err = {0};
    Sanhe__Claim *claim = NULL;
    assert_int_equal(sh_json_to_claim(json_object_get(step, "claim"), &claim, &err), 0);
    char terminal[64];
    snprintf(terminal, sizeof terminal, "counter-%s", claim->hospital);
    Sanhe__SettleRequest op = SANHE__SETTLE_REQUEST__INIT;
    op.claim = claim;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = (char *)json_string_value(json_object_get(step, "request_id"));
    req.op_case = SANHE__REQUEST__OP_SETTLE;
    req.settle = &op;
    Sanhe__Response *resp = call_as(w, terminal, &req);
    if (resp->error != NULL)
        fail_msg("settle: %s", resp->error->message);
    const Sanhe__Breakdown *b = resp->settle->breakdown;
    assert_true(w->n_bills < MAX_BILLS);
    struct bill *bill = &w->bills[w->n_bills++];
    snprintf(bill->hospital, sizeof bill->hospital, "%s", claim->hospital);
    bill->id = resp->settle->settlement_id;
    bill->total = b->total;
    bill->fund_total = b->fund_total;
    bill->patient_pays = b->patient_pays;
    for (size_t i = 0; i < b->n_funds && i < 8; i++) {
        snprintf(bill->funds[i], sizeof bill->funds[i], "%s", b->funds[i]->fund);
        bill->pays[i] = b->funds[i]->pay;
        bill->n_funds++;
    }
    snprintf(w->day, sizeof w->day, "%s", resp->settle->business_day);
    sanhe__response__free_unpacked(resp, NULL);
    sanhe__claim__free_unpacked(claim, NULL);
}

/* The first bill reversed the same day: a reversal entry, its settlement still listed. */
static void reverse_first(struct world *w)
{
    char terminal[64];
    snprintf(terminal, sizeof terminal, "counter-%s", w->bills[0].hospital);
    Sanhe__ReverseRequest op = SANHE__REVERSE_REQUEST__INIT;
    op.target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID;
    op.settlement_id = w->bills[0].id;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "rev-1";
    req.op_case = SANHE__REQUEST__OP_REVERSE;
    req.reverse = &op;
    Sanhe__Response *resp = call_as(w, terminal, &req);
    assert_null(resp->error);
    sanhe__response__free_unpacked(resp, NULL);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs sanhe-bureau -c CONF args...; returns its exit status, output in *out. */
static int bureau(struct world *w, char **out, const char *a1, const char *a2, const char *a3,
                  const char *a4, const char *a5, const char *a6, const char *a7)
{
    char path[4096], err[4096];
    const char *const argv[] = {SANHE_BUREAU_PATH, "-c", w->conf, a1, a2, a3, a4, a5, a6, a7, NULL};
    sandbox_path(&w->sb, "bureau.out", path);
    sandbox_path(&w->sb, "bureau.err", err);
    remove(path); /* proc_run appends */
    remove(err);
    int rc = proc_run(argv, path, err);
    *out = read_file(path);
    if (rc < 0 || rc > 2) /* 1 (not balanced) and 2 (usage) are asked for */
        printf("sanhe-bureau stderr: %s\n", read_file(err));
    return rc;
}

static void contains(const char *text, const char *want)
{
    if (strstr(text, want) == NULL)
        fail_msg("\"%s\" not in:\n%s", want, text);
}

/* Command output in Chinese: no English word (two ASCII letters in a row;
 * hospital codes, amounts and dates have none). */
static void no_english_text(const char *text)
{
    for (const char *p = text; *p != '\0'; p++)
        if (isalpha((unsigned char)p[0]) && isalpha((unsigned char)p[1]))
            fail_msg("English in the output: \"%.40s\"", p);
}

static void contains_fen(const char *text, int64_t fen)
{
    char yuan[32];
    sh_yuan_format(fen, yuan);
    contains(text, yuan);
}

/* The world alive, so that main can stop its engine when setup failed
 * half-way (cmocka then skips the teardown). */
static struct world *g_world;

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    g_world = w;
    w->sb.engine.pid = -1;
    json_error_t jerr;
    w->doc = json_load_file(SANHE_DEMO_DAY, 0, &jerr);
    assert_non_null(w->doc);
    struct sh_error err = {0};
    assert_int_equal(
        sandbox_create(&w->sb, "sanhe-bureau-test", SANHE_ENGINE_PATH, SANHE_CERTS_SCRIPT, &err),
        0);
    assert_int_equal(sandbox_add_terminal(&w->sb, "admin", NULL, "admin", &err), 0);
    assert_int_equal(sandbox_add_terminal(&w->sb, "bureau-1", NULL, "bureau", &err), 0);
    const json_t *hospitals = json_object_get(w->doc, "hospitals");
    for (size_t i = 0; i < json_array_size(hospitals); i++) {
        const char *code = json_string_value(json_object_get(json_array_get(hospitals, i), "code"));
        char name[64];
        snprintf(name, sizeof name, "counter-%s", code);
        assert_int_equal(sandbox_add_terminal(&w->sb, name, code, "counter", &err), 0);
    }
    if (sandbox_start(&w->sb, NULL, &err) != 0)
        fail_msg("engine: %s", err.msg);
    load_reference(w);
    const json_t *steps = json_object_get(w->doc, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(steps, i), "op")), "settle") ==
            0)
            settle_step(w, json_array_get(steps, i));
    reverse_first(w);
    char text[8192], key[4096], log[4096];
    const char *const genkey[] = {SANHE_OPENSSL, "genpkey", "-algorithm",
                                  "ed25519",     "-out",    sandbox_path(&w->sb, "sign.key", key),
                                  NULL};
    assert_int_equal(proc_run(genkey, sandbox_path(&w->sb, "genkey.log", log), log), 0);
    snprintf(text, sizeof text,
             "[bureau]\nengine = 127.0.0.1:%d\nca = certs/ca.crt\n"
             "cert = certs/bureau-1.crt\nkey = certs/bureau-1.key\nsigning_key = sign.key\n"
             "data_dir = data\n",
             w->sb.engine.port);
    write_file(sandbox_path(&w->sb, "bureau.conf", w->conf), text);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    struct world *w = g_world;
    g_world = NULL;
    if (w == NULL)
        return 0;
    if (w->sb.dir[0] != '\0')
        sandbox_destroy(&w->sb, false);
    json_decref(w->doc);
    free(w);
    return 0;
}

/* ---- day ---------------------------------------------------------------------------------- */

static void day_shows_each_hospital_and_totals(void **state)
{
    struct world *w = *state;
    char *out;
    assert_int_equal(bureau(w, &out, "day", w->day, NULL, NULL, NULL, NULL, NULL), 0);
    printf("$ sanhe-bureau day %s\n%s\n", w->day, out); /* cmocka's printer cuts long text */
    int64_t total = 0, fund_total = 0, patient = 0;
    for (size_t i = 0; i < w->n_bills; i++) {
        const struct bill *b = &w->bills[i];
        contains(out, b->hospital);
        if (i > 0) { /* the first was reversed: its hospital's net excludes it */
            total += b->total;
            fund_total += b->fund_total;
            patient += b->patient_pays;
        }
    }
    contains(out, "合计");
    contains(out, "医院名称");
    no_english_text(out);
    contains_fen(out, total);
    contains_fen(out, fund_total);
    contains_fen(out, patient);
    assert_int_equal(bureau(w, &out, "--lang", "en", "day", w->day, NULL, NULL, NULL), 0);
    printf("$ sanhe-bureau --lang en day %s\n%s\n", w->day, out);
    contains(out, "All hospitals");
    contains(out, "Patient pays");
    contains_fen(out, total);
    /* One hospital named: only it. */
    assert_int_equal(
        bureau(w, &out, "day", w->day, "--hospital", w->bills[1].hospital, NULL, NULL, NULL), 0);
    contains(out, w->bills[1].hospital);
    assert_null(
        strstr(out, strcmp(w->bills[1].hospital, "H330400001") == 0 ? "H330424001" : "H330400001"));
    /* Bad input: usage, exit 2; an unknown hospital: the engine's refusal, exit 1. */
    assert_int_equal(bureau(w, &out, "day", "2026-13-01", NULL, NULL, NULL, NULL, NULL), 2);
    assert_int_equal(bureau(w, &out, "day", w->day, "--hospital", "NOPE", NULL, NULL, NULL), 1);
}

/* ---- reconcile --------------------------------------------------------------------------- */

/* The net figures of hospital h for the day, as the hospital would state
 * them (every fund of the policy, in the order of the first bill). */
static void figures_json(const struct world *w, const char *h, int64_t coop_delta, char *out,
                         size_t cap)
{
    int64_t count = 0, total = 0, fund_total = 0, patient = 0, pays[8] = {0};
    const struct bill *first = NULL;
    for (size_t i = 0; i < w->n_bills; i++) {
        const struct bill *b = &w->bills[i];
        if (strcmp(b->hospital, h) != 0)
            continue;
        first = first != NULL ? first : b;
        count += i == 0 ? 2 : 1; /* the first: its settle and reversal net to 0 */
        if (i == 0)
            continue;
        total += b->total, fund_total += b->fund_total, patient += b->patient_pays;
        for (size_t f = 0; f < b->n_funds; f++)
            pays[f] += b->pays[f]; /* one policy: the same funds in the same order */
    }
    assert_non_null(first);
    int n = snprintf(out, cap,
                     "{\"count\": %lld, \"total\": %lld, \"fund_total\": %lld, "
                     "\"patient_pays\": %lld, \"funds\": {",
                     (long long)count, (long long)total, (long long)fund_total, (long long)patient);
    for (size_t f = 0; f < first->n_funds; f++)
        n += snprintf(
            out + n, cap - (size_t)n, "%s\"%s\": %lld", f > 0 ? ", " : "", first->funds[f],
            (long long)(pays[f] + (strcmp(first->funds[f], "coop") == 0 ? coop_delta : 0)));
    snprintf(out + n, cap - (size_t)n, "}}");
}

/* The hospital of the bill with most company (for a list of several). */
static const char *busiest(const struct world *w)
{
    size_t best = 0, best_n = 0;
    for (size_t i = 0; i < w->n_bills; i++) {
        size_t n = 0;
        for (size_t j = 0; j < w->n_bills; j++)
            n += strcmp(w->bills[i].hospital, w->bills[j].hospital) == 0;
        if (n > best_n)
            best = i, best_n = n;
    }
    return w->bills[best].hospital;
}

static void reconcile_balanced_and_one_fen_off(void **state)
{
    struct world *w = *state;
    const char *h = busiest(w);
    char text[1024], path[4096], *out;
    figures_json(w, h, 0, text, sizeof text);
    write_file(sandbox_path(&w->sb, "figures.json", path), text);
    int rc = bureau(w, &out, "reconcile", "--hospital", h, "--day", w->day, "--figures", path);
    printf("$ sanhe-bureau reconcile --figures (right)\n%s\n", out);
    assert_int_equal(rc, 0);
    contains(out, "对账结果：平");
    figures_json(w, h, 1, text, sizeof text);
    write_file(path, text);
    rc = bureau(w, &out, "--lang", "en", "reconcile", "--hospital", h, "--day", w->day);
    assert_int_equal(rc, 0); /* no books given: the engine's figures only */
    rc = bureau(w, &out, "reconcile", "--hospital", h, "--day", w->day, "--figures", path);
    printf("$ sanhe-bureau reconcile --figures (coop one fen off)\n%s\n", out);
    assert_int_equal(rc, 1);
    no_english_text(out);
    contains(out, "对账结果：不平");
    contains(out, "城乡居民合作医疗"); /* the fund's name from the policy, not its id */
    assert_null(strstr(out, "fund:"));
    assert_null(strstr(out, "fund_total"));
    /* A count off and a fund the engine's day does not have: each figure
     * under its Chinese label, the unknown fund's id said to be one. */
    size_t len = strlen(text);
    assert_true(len > 2 && strstr(text, "\"count\": ") != NULL);
    char *count = strstr(text, "\"count\": ") + strlen("\"count\": ");
    char wrong[1200];
    snprintf(wrong, sizeof wrong, "%.*s%lld%s", (int)(count - text), text,
             strtoll(count, NULL, 10) + 1, strchr(count, ','));
    len = strlen(wrong);
    snprintf(wrong + len - 2, sizeof wrong - (len - 2), ", \"x9\": 100}}");
    write_file(path, wrong);
    rc = bureau(w, &out, "reconcile", "--hospital", h, "--day", w->day, "--figures", path);
    printf("$ sanhe-bureau reconcile --figures (count off, fund x9)\n%s\n", out);
    assert_int_equal(rc, 1);
    no_english_text(out);
    contains(out, "记账笔数（结算+冲正）");
    contains(out, "基金 x9（引擎当日没有）");
    /* The net row counts net settlements: settled less reversed. */
    long long settled = 0, reversed = strcmp(w->bills[0].hospital, h) == 0;
    for (size_t i = 0; i < w->n_bills; i++)
        settled += strcmp(w->bills[i].hospital, h) == 0;
    const char *net = strstr(out, "净额（结算减冲正）");
    assert_non_null(net);
    assert_int_equal(strtoll(net + strlen("净额（结算减冲正）"), NULL, 10), settled - reversed);
}

static void reconcile_names_missing_extra_and_wrong(void **state)
{
    struct world *w = *state;
    const char *h = busiest(w);
    char csv[4096] = "settlement_id,total,fund_total\n", line[128], path[4096], *out;
    uint64_t missing = 0, wrong = 0;
    for (size_t i = 0; i < w->n_bills; i++) {
        const struct bill *b = &w->bills[i];
        if (strcmp(b->hospital, h) != 0)
            continue;
        if (missing == 0) {
            missing = b->id; /* left out */
            continue;
        }
        int64_t total = b->total;
        if (wrong == 0)
            wrong = b->id, total += 1;
        snprintf(line, sizeof line, "%llu,%lld,%lld\n", (unsigned long long)b->id, (long long)total,
                 (long long)b->fund_total);
        strncat(csv, line, sizeof csv - strlen(csv) - 1);
    }
    assert_true(missing != 0 && wrong != 0);
    strncat(csv, "777,100,0\n", sizeof csv - strlen(csv) - 1);
    write_file(sandbox_path(&w->sb, "items.csv", path), csv);
    assert_int_equal(
        bureau(w, &out, "reconcile", "--hospital", h, "--day", w->day, "--items", NULL),
        2); /* --items needs its file */
    int rc = bureau(w, &out, "reconcile", "--hospital", h, "--day", w->day, "--items", path);
    printf("$ sanhe-bureau reconcile --items\n%s\n", out);
    assert_int_equal(rc, 1);
    char id[32];
    contains(out, "仅引擎有的结算 (1)");
    snprintf(id, sizeof id, "%llu", (unsigned long long)missing);
    contains(out, id);
    contains(out, "仅医院有的结算 (1)");
    contains(out, "777");
    contains(out, "金额不符的结算 (1)");
}

/* ---- export and verify ----------------------------------------------------------------------- */

static void export_signs_and_verify_checks(void **state)
{
    struct world *w = *state;
    char dir[4096], file[4200], *out;
    sandbox_path(&w->sb, "export", dir);
    assert_int_equal(bureau(w, &out, "export", w->day, "--out", dir, NULL, NULL, NULL), 0);
    printf("$ sanhe-bureau export %s\n%s\n", w->day, out);
    const char *h = w->bills[1].hospital;
    const char *names[] = {"summary.json", "summary.csv", NULL, NULL};
    char hj[64], hc[64];
    snprintf(hj, sizeof hj, "%s.json", h);
    snprintf(hc, sizeof hc, "%s.csv", h);
    names[2] = hj;
    names[3] = hc;
    for (size_t i = 0; i < 4; i++) {
        snprintf(file, sizeof file, "%s/%s", dir, names[i]);
        int rc = bureau(w, &out, "verify", file, NULL, NULL, NULL, NULL, NULL);
        if (rc != 0)
            fail_msg("verify %s: %s", names[i], out);
        contains(out, "签名：有效");
        contains(out, "数据：与日志一致");
    }
    snprintf(file, sizeof file, "%s/%s", dir, hc);
    printf("$ cat %s\n%s\n", hc, read_file(file));
    /* The CSV in Chinese: its row keys, and the funds named (NAME:ID). */
    char *csv = read_file(file);
    contains(csv, "\n\"结算\",");
    contains(csv, "\n\"冲正\",");
    contains(csv, "\n\"净额\",");
    contains(csv, "\n\"明细\",");
    contains(csv, "城乡居民合作医疗:coop");
    assert_null(strstr(csv, "settlements"));
    assert_null(strstr(csv, "\"net\""));
    /* One figure changed: the signature no longer holds. */
    snprintf(file, sizeof file, "%s/%s", dir, hj);
    char *text = strdup(read_file(file));
    assert_non_null(text);
    char *count = strstr(text, "\"count\": ");
    assert_non_null(count);
    count[strlen("\"count\": ")] = '9';
    write_file(file, text);
    assert_int_equal(bureau(w, &out, "verify", file, NULL, NULL, NULL, NULL, NULL), 1);
    printf("$ sanhe-bureau verify %s (a count changed)\n%s\n", hj, out);
    contains(out, "签名：无效");
    /* Changed and signed again with the key: the journal still disagrees. */
    char key[4096], sig[4300], log[4096];
    snprintf(sig, sizeof sig, "%s.sig", file);
    const char *const sign[] = {SANHE_OPENSSL, "pkeyutl", "-sign",
                                "-rawin",      "-inkey",  sandbox_path(&w->sb, "sign.key", key),
                                "-in",         file,      "-out",
                                sig,           NULL};
    assert_int_equal(proc_run(sign, sandbox_path(&w->sb, "sign.log", log), log), 0);
    /* pkeyutl writes the raw 64 bytes; the .sig format is hex. */
    unsigned char raw[64];
    FILE *f = fopen(sig, "rb");
    assert_non_null(f);
    assert_int_equal(fread(raw, 1, sizeof raw, f), 64);
    fclose(f);
    char hex[130];
    for (size_t i = 0; i < 64; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[128] = '\n';
    hex[129] = '\0';
    write_file(sig, hex);
    assert_int_equal(bureau(w, &out, "verify", file, NULL, NULL, NULL, NULL, NULL), 1);
    printf("$ sanhe-bureau verify %s (changed and re-signed)\n%s\n", hj, out);
    contains(out, "签名：有效");
    contains(out, "项与日志不符");
    free(text);
}

/* ---- the daily report page --------------------------------------------------------------------
 */

/* The page's text (outside tags, styles and titles of attributes) has no
 * English word: two ASCII letters in a row. Codes (H330424001), amounts
 * and dates have none. */
static void no_english(const char *page)
{
    const char *body = strstr(page, "</style>");
    assert_non_null(body);
    bool in_tag = false;
    for (const char *p = body; *p != '\0'; p++) {
        if (*p == '<')
            in_tag = true;
        else if (*p == '>')
            in_tag = false;
        else if (!in_tag && isalpha((unsigned char)p[0]) && isalpha((unsigned char)p[1])) {
            char around[64];
            snprintf(around, sizeof around, "%.40s", p);
            fail_msg("English on the page: \"%s\"", around);
        }
    }
}

/* The hospital after h in the bills (another one), for a second set of books. */
static const char *other_than(const struct world *w, const char *h)
{
    for (size_t i = 0; i < w->n_bills; i++)
        if (strcmp(w->bills[i].hospital, h) != 0 && i > 0)
            return w->bills[i].hospital;
    return NULL;
}

/* Chromium headless as root needs --no-sandbox; its profile stays in the sandbox. */
/* The window: 1280 wide, and tall enough for the month page's day table
 * (a row per day below the charts) to be in its screenshot. */
static int chromium_window(struct world *w, const char *what, const char *url, const char *out_path,
                           const char *window)
{
#ifdef SANHE_CHROMIUM
    char profile[4096], arg[4300], log[4096];
    snprintf(arg, sizeof arg, "--user-data-dir=%s", sandbox_path(&w->sb, "chromium", profile));
    const char *const argv[] = {SANHE_CHROMIUM,
                                "--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--hide-scrollbars",
                                window,
                                arg,
                                what,
                                url,
                                NULL};
    remove(out_path);
    return proc_run(argv, out_path, sandbox_path(&w->sb, "chromium.log", log));
#else
    (void)w, (void)what, (void)url, (void)out_path, (void)window;
    return -1;
#endif
}

static int chromium(struct world *w, const char *what, const char *url, const char *out_path)
{
    return chromium_window(w, what, url, out_path, "--window-size=1280,1000");
}

static void report_page_in_chromium(void **state)
{
    struct world *w = *state;
    const char *good = busiest(w), *bad = other_than(w, good);
    assert_non_null(bad);
    char books[4096], path[4300], text[1024], html[4096], *out;
    sandbox_path(&w->sb, "books", books);
    assert_int_equal(mkdir(books, 0700), 0);
    figures_json(w, good, 0, text, sizeof text);
    snprintf(path, sizeof path, "%s/%s.json", books, good);
    write_file(path, text);
    figures_json(w, bad, 1, text, sizeof text); /* coop one fen off */
    snprintf(path, sizeof path, "%s/%s.json", books, bad);
    write_file(path, text);
    sandbox_path(&w->sb, "report.html", html);
    /* One hospital does not balance: exit 1, as reconcile. */
    assert_int_equal(bureau(w, &out, "report", w->day, "--out", html, "--books", books, NULL), 1);
    contains(out, "1 家对账不平");
    int64_t total = 0;
    for (size_t i = 1; i < w->n_bills; i++)
        total += w->bills[i].total;
    char want[128], row[128];
    snprintf(want, sizeof want, "data-figure=\"total\" data-fen=\"%lld\"", (long long)total);
    snprintf(row, sizeof row, "data-hospital=\"%s\" class=\"unbalanced\"", bad);
    char *page = read_file(html);
    contains(page, want);
    assert_null(strstr(page, "http")); /* nothing from outside */
    no_english(page);
    contains(page, "class=\"value\""); /* the hourly chart's values */
    contains(page, "class=\"tick\"");  /* and its axes */
    contains(page, "td.name,th{white-space:nowrap}");
#ifndef SANHE_CHROMIUM
    skip();
#endif
    /* What a browser shows: the DOM Chromium built from the file. */
    char url[4400], dom[4096];
    snprintf(url, sizeof url, "file://%s", html);
    assert_int_equal(chromium(w, "--dump-dom", url, sandbox_path(&w->sb, "dom.html", dom)), 0);
    char *shown = read_file(dom);
    contains(shown, want);
    contains(shown, row);
    contains(shown, "不平");
    contains(shown, "城乡居民合作医疗");
    contains(shown, "chart-hours");
    char shot[4400];
    snprintf(shot, sizeof shot, "--screenshot=%s", SANHE_SCREENSHOT);
    remove(SANHE_SCREENSHOT);
    assert_int_equal(chromium(w, shot, url, sandbox_path(&w->sb, "shot.log", dom)), 0);
    struct stat st;
    assert_int_equal(stat(SANHE_SCREENSHOT, &st), 0);
    assert_true(st.st_size > 10000);
    printf("screenshot: %s (%lld bytes)\n", SANHE_SCREENSHOT, (long long)st.st_size);
}

/* With a counter's certificate, day shows that counter's own hospital. */
static void day_with_a_counter_certificate(void **state)
{
    struct world *w = *state;
    const char *h = w->bills[1].hospital;
    char cert[4096], key[4096], rel[128], *out;
    snprintf(rel, sizeof rel, "certs/counter-%s.crt", h);
    sandbox_path(&w->sb, rel, cert);
    snprintf(rel, sizeof rel, "certs/counter-%s.key", h);
    sandbox_path(&w->sb, rel, key);
    assert_int_equal(bureau(w, &out, "--cert", cert, "--key", key, "day", w->day, NULL), 0);
    printf("$ sanhe-bureau day %s (a counter's certificate)\n%s\n", w->day, out);
    contains(out, h);
    assert_null(strstr(out, "当日无结算"));
    uint64_t settled = 0;
    for (size_t i = 0; i < w->n_bills; i++)
        settled += strcmp(w->bills[i].hospital, h) == 0;
    char want[32];
    snprintf(want, sizeof want, " %llu ", (unsigned long long)settled);
    contains(out, want);
}

/* The month page: a row per day of the month, each fund's trend, and the
 * hospital-day that did not balance linked to its day page (written
 * beside it); in Chromium, and a screenshot to look at. */
static void month_page_in_chromium(void **state)
{
    struct world *w = *state;
    const char *good = busiest(w), *bad = other_than(w, good);
    char books[4096], daydir[4300], path[4400], text[1024], dir[4096], html[4200], month[8];
    char *out;
    snprintf(month, sizeof month, "%.7s", w->day);
    sandbox_path(&w->sb, "month-books", books);
    assert_int_equal(mkdir(books, 0700), 0);
    snprintf(daydir, sizeof daydir, "%s/%s", books, w->day);
    assert_int_equal(mkdir(daydir, 0700), 0);
    figures_json(w, good, 0, text, sizeof text);
    snprintf(path, sizeof path, "%s/%s.json", daydir, good);
    write_file(path, text);
    figures_json(w, bad, 1, text, sizeof text);
    snprintf(path, sizeof path, "%s/%s.json", daydir, bad);
    write_file(path, text);
    sandbox_path(&w->sb, "month", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(html, sizeof html, "%s/sanhe-%s.html", dir, month);
    int rc = bureau(w, &out, "report", month, "--out", html, "--books", books, NULL);
    printf("$ sanhe-bureau report %s --books ...\n%s\n", month, out);
    assert_int_equal(rc, 1); /* a hospital-day not balanced */
    contains(out, "1 个医院日对账不平");
    char *page = strdup(read_file(html));
    assert_non_null(page);
    no_english(page);
    size_t rows = 0;
    for (const char *p = strstr(page, "<tr data-day=\"2"); p != NULL;
         p = strstr(p + 1, "<tr data-day=\"2"))
        rows++;
    assert_true(rows >= 28 && rows <= 31);
    char link[256], day_page[4400];
    snprintf(link, sizeof link, "href=\"sanhe-%s.html#hospital-%s\"", w->day, bad);
    contains(page, link);
    contains(page, "chart-trend");
    contains(page, "data-fund=\"coop\"");
    contains(page, "城乡居民合作医疗");
    int64_t total = 0;
    for (size_t i = 1; i < w->n_bills; i++)
        total += w->bills[i].total;
    char want[128];
    snprintf(want, sizeof want, "data-figure=\"total\" data-fen=\"%lld\"", (long long)total);
    contains(page, want);
    snprintf(day_page, sizeof day_page, "%s/sanhe-%s.html", dir, w->day);
    struct stat st;
    assert_int_equal(stat(day_page, &st), 0);
    contains(read_file(day_page), "id=\"hospital-");
#ifndef SANHE_CHROMIUM
    free(page);
    skip();
#else
    char url[4400], dom[4096], shot[4400];
    snprintf(url, sizeof url, "file://%s", html);
    assert_int_equal(chromium(w, "--dump-dom", url, sandbox_path(&w->sb, "month-dom.html", dom)),
                     0);
    char *shown = read_file(dom);
    contains(shown, link);
    contains(shown, "chart-trend");
    snprintf(shot, sizeof shot, "--screenshot=%s", SANHE_MONTH_SCREENSHOT);
    remove(SANHE_MONTH_SCREENSHOT);
    assert_int_equal(chromium_window(w, shot, url, sandbox_path(&w->sb, "month-shot.log", dom),
                                     "--window-size=1280,2600"),
                     0);
    assert_int_equal(stat(SANHE_MONTH_SCREENSHOT, &st), 0);
    assert_true(st.st_size > 10000);
    printf("screenshot: %s (%lld bytes)\n", SANHE_MONTH_SCREENSHOT, (long long)st.st_size);
    free(page);
#endif
}

/* ---- Failures and refusals in Chinese ----------------------------------------------------- */

/* The last run's standard error. */
static char *bureau_stderr(struct world *w)
{
    char err[4096];
    return read_file(sandbox_path(&w->sb, "bureau.err", err));
}

/* An error message in Chinese: no English word in it. The program's name,
 * codes (UPPER_CASE, H330424001), addresses, dates and numbers are data;
 * a run of two lower-case ASCII letters is an English word. */
static void no_english_message(const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        if (strncmp(p, "sanhe-bureau", 12) == 0) {
            p += 11;
            continue;
        }
        if (islower((unsigned char)p[0]) && islower((unsigned char)p[1]))
            fail_msg("English in the message: \"%.60s\"", p);
    }
}

/* A refusal, a dead engine and a certificate that does not verify, each
 * in Chinese (worded from the engine's detail or the library's why, not
 * the English words of either). */
static void failures_in_chinese(void **state)
{
    struct world *w = *state;
    char *out, engine[64], dir[4096], ca[4200], cmd[8192];
    /* The engine's refusal: a hospital that is not in the reference data. */
    assert_int_not_equal(
        bureau(w, &out, "reconcile", "--hospital", "H330424999", "--day", w->day, NULL, NULL), 0);
    char *err = bureau_stderr(w);
    printf("$ sanhe-bureau reconcile --hospital H330424999\n%s\n", err);
    contains(err, "医院 H330424999 不在基础数据中");
    no_english_message(err);
    /* The month of a cross-check that is no month. */
    assert_int_not_equal(bureau(w, &out, "crosscheck", "2026-13", NULL, NULL, NULL, NULL, NULL), 0);
    err = bureau_stderr(w);
    printf("$ sanhe-bureau crosscheck 2026-13\n%s\n", err);
    contains(err, "月份");
    no_english_message(err);
    /* Nothing listens: a port taken from the kernel, then let go. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_true(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    snprintf(engine, sizeof engine, "127.0.0.1:%d", ntohs(a.sin_port));
    close(fd);
    assert_int_not_equal(bureau(w, &out, "--engine", engine, "day", w->day, NULL, NULL, NULL), 0);
    err = bureau_stderr(w);
    printf("$ sanhe-bureau --engine %s day\n%s\n", engine, err);
    contains(err, "拒绝连接");
    no_english_message(err);
    /* The engine's certificate against a CA of its own making. */
    sandbox_path(&w->sb, "other-ca", dir);
    snprintf(cmd, sizeof cmd, "%s ca %s >/dev/null 2>&1", SANHE_CERTS_SCRIPT, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    assert_int_not_equal(bureau(w, &out, "--ca", ca, "day", w->day, NULL, NULL, NULL), 0);
    err = bureau_stderr(w);
    printf("$ sanhe-bureau --ca other-ca/ca.crt day\n%s\n", err);
    contains(err, "无法用 CA 文件验证");
    no_english_message(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(day_shows_each_hospital_and_totals),
        cmocka_unit_test(reconcile_balanced_and_one_fen_off),
        cmocka_unit_test(reconcile_names_missing_extra_and_wrong),
        cmocka_unit_test(export_signs_and_verify_checks),
        cmocka_unit_test(report_page_in_chromium),
        cmocka_unit_test(day_with_a_counter_certificate),
        cmocka_unit_test(month_page_in_chromium),
        cmocka_unit_test(failures_in_chinese),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    teardown(NULL); /* when setup failed */
    return failed;
}
