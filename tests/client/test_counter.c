/*
 * sanhe-counter against a real engine: every settle of a case file through
 * the counter, its printed (English) receipt parsed back: the fund lines plus
 * the patient's share equal the bill, and the totals are the case's; the
 * same with --json; a CSV bill; eligibility, query, reverse, cancel; and the
 * store-and-forward outbox: engine down -> queued (exit 4) -> engine up ->
 * flush -> each entry settled exactly once, with its recorded reply.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client_fixture.h"
#include "receipt.h"

static int failures;

#define OUT_MAX (256 * 1024)

static struct client_fixture f;
static char out[OUT_MAX];

/* Runs sanhe-counter as counter-HOSPITAL with args; stdout into out.
 * Returns the exit status. */
static int counter(const char *hospital, const char *args)
{
    char port[64], cmd[24576];
    snprintf(cmd, sizeof cmd,
             "%s --engine %s --ca %s/certs/ca.crt --cert %s/certs/counter-%s.crt "
             "--key %s/certs/counter-%s.key --terminal-hospital %s --timeout-ms 3000 %s",
             SANHE_COUNTER_PATH, fixture_engine(&f, port), f.sb.dir, f.sb.dir, hospital, f.sb.dir,
             hospital, hospital, args);
    FILE *p = popen(cmd, "r");
    size_t n = p != NULL ? fread(out, 1, OUT_MAX - 1, p) : 0;
    out[n] = '\0';
    int status = p != NULL ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* "1,234.56" at the end of a line -> fen. */
static int64_t yuan_at_end(const char *line, size_t len)
{
    size_t start = len;
    while (start > 0 && line[start - 1] != ' ')
        start--;
    int64_t v = 0;
    bool neg = false;
    for (size_t i = start; i < len; i++)
        if (line[i] >= '0' && line[i] <= '9')
            v = v * 10 + (line[i] - '0');
        else if (line[i] == '-')
            neg = true;
    return neg ? -v : v;
}

/* Parses an English receipt: the total, the fund rows, the patient's share. */
static void parse_receipt(const char *text, int64_t *total, int64_t *funds, int64_t *patient,
                          int64_t *fund_total)
{
    *total = *funds = *patient = *fund_total = -1;
    int rules = 0; /* "-" rules seen: the fund rows lie between the 3rd and the 4th */
    int64_t sum = 0;
    for (const char *l = text; *l != '\0';) {
        size_t len = strcspn(l, "\n");
        if (len > 0 && l[0] == '-')
            rules++;
        else if (strncmp(l, "Total bill", 10) == 0)
            *total = yuan_at_end(l, len);
        else if (strncmp(l, "Funds pay in total", 18) == 0)
            *fund_total = yuan_at_end(l, len);
        else if (strncmp(l, "Patient pays", 12) == 0)
            *patient = yuan_at_end(l, len);
        else if (rules == 3 && strncmp(l, "    ", 4) != 0 && len > 0)
            sum += yuan_at_end(l, len);
        l += len + (l[len] == '\n');
    }
    *funds = sum;
}

/* The amount at the end of the first line that starts with label; -1. */
static int64_t row_value(const char *text, const char *label)
{
    for (const char *l = text; *l != '\0';) {
        size_t len = strcspn(l, "\n");
        if (strncmp(l, label, strlen(label)) == 0)
            return yuan_at_end(l, len);
        l += len + (l[len] == '\n');
    }
    return -1;
}

/* The class of a catalog code in the case file ('?' when unknown). */
static char class_of(const char *code)
{
    const json_t *items = json_object_get(f.doc, "catalog");
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        if (strcmp(json_string_value(json_object_get(it, "code")), code) == 0)
            return json_string_value(json_object_get(it, "class"))[0];
    }
    return '?';
}

/* The sums of a claim's line amounts by class, from the case's catalog:
 * what the receipt's class rows must show. */
static void class_sums(const json_t *claim, int64_t sums[3])
{
    const json_t *lines = json_object_get(claim, "lines");
    sums[0] = sums[1] = sums[2] = 0;
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const json_t *l = json_array_get(lines, i);
        char c = class_of(json_string_value(json_object_get(l, "code")));
        if (c >= 'A' && c <= 'C')
            sums[c - 'A'] += json_integer_value(json_object_get(l, "amount"));
    }
}

static const char *write_temp(const char *name, const char *text, char *path)
{
    sandbox_path(&f.sb, name, path);
    FILE *o = fopen(path, "w");
    fputs(text, o);
    fclose(o);
    return path;
}

static const char *hospital_name(const char *code)
{
    const json_t *hs = json_object_get(f.doc, "hospitals");
    for (size_t i = 0; i < json_array_size(hs); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(hs, i), "code")), code) == 0)
            return json_string_value(json_object_get(json_array_get(hs, i), "name"));
    return "";
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text != '\0'; text++)
        n += *text == '\n';
    return n;
}

/* Every settle step: a receipt that adds up, with the case's figures. */
static void test_case_receipts(void)
{
    const json_t *steps = json_object_get(f.doc, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const json_t *s = json_array_get(steps, i), *e = json_object_get(s, "expect");
        if (strcmp(json_string_value(json_object_get(s, "op")), "settle") != 0)
            continue;
        const char *h = json_string_value(json_object_get(s, "hospital"));
        char *claim = json_dumps(json_object_get(s, "claim"), 0), path[4096], args[16384];
        snprintf(args, sizeof args, "--lang en --hospital-name '%s' --request-id %s settle %s",
                 hospital_name(h), json_string_value(json_object_get(s, "request_id")),
                 write_temp("bill.json", claim, path));
        free(claim);
        CHECK(counter(h, args) == 0);
        int64_t total, funds, patient, fund_total;
        parse_receipt(out, &total, &funds, &patient, &fund_total);
        CHECK(total > 0 && funds + patient == total && fund_total == funds);
        CHECK(total == json_integer_value(json_object_get(e, "total")));
        CHECK(patient == json_integer_value(json_object_get(e, "patient_pays")));
        int64_t sums[3];
        class_sums(json_object_get(s, "claim"), sums);
        CHECK(row_value(out, "  Class A items") == sums[0]);
        CHECK(row_value(out, "  Class B items") == sums[1]);
        CHECK(row_value(out, "  Class C items (out of scope)") == sums[2]);
        CHECK(sums[0] + sums[1] + sums[2] == total);
        CHECK(sums[2] == json_integer_value(json_object_get(e, "out_of_scope")));
        if (i == 0)
            fputs(out, stdout); /* one receipt in the log */
        if (funds + patient != total)
            fprintf(stderr, "step %zu receipt does not add up:\n%s", i, out);
    }
}

/* --json: the full breakdown; a replay of the same request id. */
static void test_json_replay(void)
{
    const json_t *s = json_array_get(json_object_get(f.doc, "steps"), 0);
    char *claim = json_dumps(json_object_get(s, "claim"), 0), path[4096], args[16384];
    snprintf(args, sizeof args, "--json --request-id in0 settle %s",
             write_temp("bill.json", claim, path));
    free(claim);
    CHECK(counter("H330424001", args) == 0);
    json_t *j = json_loads(out, 0, NULL);
    CHECK(j != NULL);
    int64_t sum = json_integer_value(json_object_get(j, "patient_pays"));
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(j, "funds"), key, v) sum +=
        json_integer_value(json_object_get(v, "pay"));
    CHECK(sum == json_integer_value(json_object_get(j, "total")));
    CHECK(json_integer_value(json_object_get(j, "settlement_id")) > 0);
    /* Step 0: A002 6,000.00 + A003 15,000.00; B001 1,500.00; C001 2,000.00. */
    CHECK(json_integer_value(json_object_get(j, "class_a_total")) == 2100000);
    CHECK(json_integer_value(json_object_get(j, "class_b_total")) == 150000);
    CHECK(json_integer_value(json_object_get(j, "class_c_total")) == 200000);
    json_decref(j);
}

/* The Chinese receipt of step 0's bill (a presettle): the class rows after
 * the visit, then the funds with the deductible, then the patient's share. */
static void test_zh_receipt(void)
{
    const json_t *s = json_array_get(json_object_get(f.doc, "steps"), 0);
    char *claim = json_dumps(json_object_get(s, "claim"), 0), path[4096], args[16384];
    snprintf(args, sizeof args, "presettle %s", write_temp("bill.json", claim, path));
    free(claim);
    CHECK(counter("H330424001", args) == 0);
    CHECK(row_value(out, "医疗费用总额") == 2450000);
    CHECK(row_value(out, "  甲类费用") == 2100000);
    CHECK(row_value(out, "  乙类费用") == 150000);
    CHECK(row_value(out, "  丙类费用（目录外）") == 200000);
    CHECK(strstr(out, "本次起付线: 800.00") != NULL); /* coop, county level */
    CHECK(row_value(out, "个人自付") == 215000);
    const char *visit = strstr(out, "就诊:"), *cls = strstr(out, "  甲类费用");
    const char *fund = strstr(out, "城乡居民合作医疗"), *patient = strstr(out, "个人自付");
    CHECK(visit && cls && fund && patient && visit < cls && cls < fund && fund < patient);
    fputs(out, stdout);
}

/* The first case bill as CSV (hospital systems' export), presettled. */
static void test_csv(void)
{
    char path[4096], args[8192];
    write_temp("bill.csv",
               "hospital,person,visit,date,code,qty,amount\n"
               "H330424001,330424194502020026,inpatient,2026-06-15,A002,12,600000\n"
               "H330424001,330424194502020026,inpatient,2026-06-15,A003,1.000,1500000\n"
               "H330424001,330424194502020026,inpatient,2026-06-15,B001,10,150000\n"
               "H330424001,330424194502020026,inpatient,2026-06-15,C001,2,200000\n",
               path);
    snprintf(args, sizeof args, "--lang en presettle %s", path);
    CHECK(counter("H330424001", args) == 0);
    int64_t total, funds, patient, fund_total;
    parse_receipt(out, &total, &funds, &patient, &fund_total);
    CHECK(total == 2450000 && funds + patient == total);
    CHECK(strstr(out, "Presettlement estimate") != NULL);
    write_temp("bad.csv", "hospital,person,code,qty,amount\nH,1,A,1,1\n", path);
    snprintf(args, sizeof args, "presettle %s", path);
    CHECK(counter("H330424001", args) == 2);
}

/* The limit of fund for visit in a `--json eligibility` reply, or NULL. */
static const json_t *limit_of(const json_t *elig, const char *fund, const char *visit)
{
    const json_t *limits =
        json_object_get(json_object_get(json_object_get(elig, "funds"), fund), "limits");
    for (size_t i = 0; i < json_array_size(limits); i++) {
        const json_t *l = json_array_get(limits, i);
        if (strcmp(json_string_value(json_object_get(l, "visit")), visit) == 0)
            return l;
    }
    return NULL;
}

static int64_t limit_int(const json_t *elig, const char *fund, const char *visit, const char *key)
{
    const json_t *v = json_object_get(limit_of(elig, fund, visit), key);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static json_t *eligibility_json(const char *person)
{
    char args[256];
    snprintf(args, sizeof args, "--json eligibility %s 2026-06-15", person);
    CHECK(counter("H330424001", args) == 0);
    json_t *j = json_loads(out, 0, NULL);
    CHECK(j != NULL);
    return j;
}

/* 患者3 (veteran, dibao) after the case's in1 (inpatient) and out1
 * (outpatient) settles: the inpatient caps of the policy and what is
 * left, computed by hand; then the same inpatient bill again, and each
 * fund's remaining drops by exactly its pay. */
static void test_eligibility_remaining(void)
{
    const char *p3 = "33042419500303003X";
    json_t *before = eligibility_json(p3);
    /* coop inpatient: cap 300,000.00; in1 paid 16,740.00 */
    CHECK(limit_int(before, "coop", "inpatient", "annual_cap") == 30000000);
    CHECK(limit_int(before, "coop", "inpatient", "paid") == 1674000);
    CHECK(limit_int(before, "coop", "inpatient", "remaining") == 28326000);
    CHECK(limit_int(before, "coop", "inpatient", "deductible") == 80000); /* county */
    /* coop outpatient (cap group outpatient): cap 1,500.00; out1 paid 48.00 */
    CHECK(limit_int(before, "coop", "outpatient", "remaining") == 150000 - 4800);
    /* youfu veteran inpatient: cap 30,000.00, in1 paid 4,488.00 */
    CHECK(limit_int(before, "youfu", "inpatient", "remaining") == 3000000 - 448800);
    /* assist dibao inpatient: cap 50,000.00, in1 paid 785.40 */
    CHECK(limit_int(before, "assist", "inpatient", "remaining") == 5000000 - 78540);

    const json_t *s = json_array_get(json_object_get(f.doc, "steps"), 1); /* in1's bill */
    char *claim = json_dumps(json_object_get(s, "claim"), 0), path[4096], args[16384];
    snprintf(args, sizeof args, "--json --request-id elig-1 settle %s",
             write_temp("elig.json", claim, path));
    free(claim);
    CHECK(counter("H330424001", args) == 0);
    json_t *settle = json_loads(out, 0, NULL);
    json_t *after = eligibility_json(p3);
    static const char *const funds[] = {"coop", "youfu", "assist"};
    static const int64_t pays[] = {1674000, 448800, 78540}; /* as in1: same bill */
    for (int i = 0; i < 3; i++) {
        int64_t pay = json_integer_value(
            json_object_get(json_object_get(json_object_get(settle, "funds"), funds[i]), "pay"));
        CHECK(pay == pays[i]);
        CHECK(limit_int(after, funds[i], "inpatient", "remaining") ==
              limit_int(before, funds[i], "inpatient", "remaining") - pay);
        CHECK(limit_int(after, funds[i], "inpatient", "paid") ==
              limit_int(before, funds[i], "inpatient", "paid") + pay);
    }
    CHECK(limit_int(after, "coop", "outpatient", "remaining") == 145200); /* untouched */
    /* youfu's chronic rule shares the cap group youfu with inpatient. */
    CHECK(limit_int(after, "youfu", "chronic", "paid") == 2 * 448800);
    json_decref(before);
    json_decref(settle);
    json_decref(after);

    /* The same in the cashier's words: 300,000.00 - 2 × 16,740.00 left. */
    CHECK(counter("H330424001", "--lang en eligibility 33042419500303003X 2026-06-15") == 0);
    CHECK(strstr(out, "annual cap 300,000.00  used this year 33,480.00  left 266,520.00"));
    CHECK(strstr(out, "deductible here: 800.00 (on every claim)"));
    CHECK(counter("H330424001", "eligibility 33042419500303003X 2026-06-15") == 0);
    CHECK(strstr(out, "年度限额 300,000.00  本年已支付 33,480.00  剩余 266,520.00"));
    CHECK(strstr(out, "年度限额 30,000.00  本年已支付 8,976.00  剩余 21,024.00"));
    fputs(out, stdout);
}

/* 患者6 (dibao_edge): an annual deductible of 1,500.00, met by in4, and a
 * fund with no category; 患者2's youfu rules (disabled_1_6) have no annual
 * cap: paid is shown, remaining is null. */
static void test_eligibility_deductible_and_no_cap(void)
{
    json_t *j = eligibility_json("330424199006060064");
    CHECK(limit_int(j, "assist", "inpatient", "deductible") == 150000);
    CHECK(limit_int(j, "assist", "inpatient", "deductible_met") == 150000);
    CHECK(limit_int(j, "assist", "inpatient", "paid") == 246600);
    CHECK(limit_int(j, "assist", "inpatient", "remaining") == 4000000 - 246600);
    CHECK(limit_of(j, "youfu", "inpatient") == NULL);
    json_decref(j);
    CHECK(counter("H330424001", "--lang en eligibility 330424199006060064 2026-06-15") == 0);
    CHECK(strstr(out, "deductible here: 1,500.00 (once a year)  met 1,500.00  still to meet 0.00"));
    CHECK(strstr(out, "(youfu): does not apply (no category)"));
    j = eligibility_json("330424194502020026");
    const json_t *l = limit_of(j, "youfu", "inpatient");
    CHECK(l != NULL && json_is_null(json_object_get(l, "annual_cap")) &&
          json_is_null(json_object_get(l, "remaining")));
    /* disabled_1_6's rules all use the cap group youfu: in0 5,610.00 and
     * out0 32.00 */
    CHECK(limit_int(j, "youfu", "inpatient", "paid") == 561000 + 3200);
    CHECK(limit_int(j, "youfu", "outpatient", "paid") == 561000 + 3200);
    json_decref(j);
    CHECK(counter("H330424001", "--lang en eligibility 330424194502020026 2026-06-15") == 0);
    CHECK(strstr(out, "annual cap: none  used this year 5,642.00"));
}

static void test_other_commands(void)
{
    CHECK(counter("H330424001", "--lang en eligibility 330424194502020026 2026-06-15") == 0);
    CHECK(strstr(out, "paid") != NULL && strstr(out, "left") != NULL);
    CHECK(counter("H330424001", "eligibility 330424194502020027 2026-06-15") == 1);
    CHECK(counter("H330424001", "--lang en query --request-id in0") == 0 &&
          strstr(out, "in force"));
    CHECK(counter("H330424001", "--lang en cancel never-sent") == 0 &&
          strstr(out, "had not settled"));
    CHECK(counter("H330424001", "--json query --request-id in1") == 0);
    json_t *j = json_loads(out, 0, NULL);
    json_int_t id = json_integer_value(json_object_get(j, "settlement_id"));
    CHECK(id > 0 && json_object_get(j, "breakdown") != NULL);
    json_decref(j);
    char args[128];
    snprintf(args, sizeof args, "--lang en --request-id rev-in1 reverse %lld", (long long)id);
    CHECK(counter("H330424001", args) == 0 && strstr(out, "Reversal receipt"));
    CHECK(counter("H330424001", args) == 0 && strstr(out, "Reversal receipt")); /* a replay */
    snprintf(args, sizeof args, "reverse %lld", (long long)id);
    CHECK(counter("H330424001", args) == 1); /* a new reversal: ALREADY_REVERSED */
    CHECK(counter("H330424001", "--lang en query --request-id in1") == 0 &&
          strstr(out, "REVERSED"));
}

/* Outbox: three settles while the engine is down, then flush. */
static void test_queue(void)
{
    const json_t *steps = json_object_get(f.doc, "steps");
    char qdir[4096], path[4096], args[16384], name[32];
    sandbox_path(&f.sb, "outbox", qdir);
    /* A presettle of out0 while the link is up: kept as its estimate. */
    char *claim0 = json_dumps(json_object_get(json_array_get(steps, 8), "claim"), 0);
    write_temp("q0.json", claim0, path);
    free(claim0);
    snprintf(args, sizeof args, "--json --queue %s presettle %s", qdir, path);
    CHECK(counter("H330424201", args) == 0);
    json_t *pre = json_loads(out, 0, NULL);
    CHECK(pre != NULL);
    json_int_t pre_patient = json_integer_value(json_object_get(pre, "patient_pays"));
    json_int_t pre_total = json_integer_value(json_object_get(pre, "total"));
    CHECK(pre_total > 0 && pre_patient > 0 && pre_patient <= pre_total);
    json_decref(pre);
    CHECK(fixture_stop(&f) == 0);
    for (int i = 0; i < 3; i++) {
        const json_t *s = json_array_get(steps, (size_t)(8 + i)); /* out0..out2 */
        char *claim = json_dumps(json_object_get(s, "claim"), 0);
        snprintf(name, sizeof name, "q%d.json", i);
        snprintf(args, sizeof args, "--lang en --queue %s --request-id q-%d settle %s", qdir, i,
                 write_temp(name, claim, path));
        free(claim);
        int64_t t0 = mono_ms();
        CHECK(counter("H330424201", args) == 4 && strstr(out, "QUEUED"));
        int64_t took = mono_ms() - t0;
        /* The engine is down (connection refused): queued at once, not
         * after the 3,000 ms deadline. */
        printf("queued bill %d in %lld ms\n", i, (long long)took);
        CHECK(took < 3000 / 2);
        /* out0 shows the presettle's estimate, the others none. */
        CHECK((strstr(out, "ESTIMATE from an earlier presettle") != NULL) == (i == 0));
        if (i == 0) {
            char want[32];
            sh_yuan_format(pre_total, want);
            CHECK(strstr(out, want) != NULL);
            sh_yuan_format(pre_patient, want);
            CHECK(strstr(out, want) != NULL);
            CHECK(strstr(out, "患者2") != NULL); /* the estimate names the patient */
        }
    }
    /* Resending q-0 while it waits adds no second entry. */
    char *again = json_dumps(json_object_get(json_array_get(steps, 8), "claim"), 0);
    snprintf(args, sizeof args, "--lang en --queue %s --request-id q-0 settle %s", qdir,
             write_temp("q0-again.json", again, path));
    free(again);
    CHECK(counter("H330424201", args) == 4 && strstr(out, "request id q-0 waits"));
    snprintf(args, sizeof args, "--lang en --queue %s queue", qdir);
    CHECK(counter("H330424201", args) == 0 && strstr(out, "waiting") != NULL &&
          strstr(out, "q-2") != NULL);
    CHECK(count_lines(out) == 3);
    snprintf(args, sizeof args, "--lang en --queue %s flush", qdir);
    CHECK(counter("H330424201", args) == 3);
    CHECK(fixture_restart(&f) == 0);
    /* The flush says what it sent, each entry with its answer. */
    CHECK(counter("H330424201", args) == 0);
    CHECK(strstr(out, "3 sent (3 settled, 0 refused); nothing waits") != NULL);
    CHECK(strstr(out, "q-0") != NULL && strstr(out, "q-1") != NULL && strstr(out, "q-2") != NULL);
    CHECK(count_lines(out) == 4);
    CHECK(counter("H330424201", args) == 0 &&
          strstr(out, "0 sent (0 settled, 0 refused); nothing waits"));
    snprintf(args, sizeof args, "--json --queue %s queue", qdir);
    CHECK(counter("H330424201", args) == 0);
    int answered = 0;
    for (const char *l = out; *l != '\0';) {
        size_t len = strcspn(l, "\n");
        json_t *rec = json_loadb(l, len, 0, NULL);
        answered +=
            rec != NULL &&
            strcmp(json_string_value(json_object_get(rec, "state")), "answered") == 0 &&
            json_integer_value(json_object_get(json_object_get(rec, "reply"), "settlement_id")) > 0;
        json_decref(rec);
        l += len + (l[len] == '\n');
    }
    CHECK(answered == 3);
}

/* After the outbox test: each queued request id names exactly one settlement,
 * and resending it is a replay, not a new settlement. */
static void test_queue_exactly_once(void)
{
    for (int i = 0; i < 3; i++) {
        char args[16384];
        snprintf(args, sizeof args, "--json query --request-id q-%d", i);
        CHECK(counter("H330424201", args) == 0);
        json_t *j = json_loads(out, 0, NULL);
        json_int_t sid = json_integer_value(json_object_get(j, "settlement_id"));
        json_decref(j);
        const json_t *s = json_array_get(json_object_get(f.doc, "steps"), (size_t)(8 + i));
        char *claim = json_dumps(json_object_get(s, "claim"), 0), path[4096];
        snprintf(args, sizeof args, "--json --request-id q-%d settle %s", i,
                 write_temp("again.json", claim, path));
        free(claim);
        CHECK(counter("H330424201", args) == 0);
        j = json_loads(out, 0, NULL);
        CHECK(sid > 0 && json_integer_value(json_object_get(j, "settlement_id")) == sid);
        json_decref(j);
    }
}

/* kill -9 of the counter while its settle is in flight (the engine frozen):
 * the outbox still holds the entry, flush completes it, exactly once. */
static void test_queue_kill9(void)
{
    char qdir[4096], path[4096], port[64], ca[4096], cert[4096], key[4096];
    const json_t *s = json_array_get(json_object_get(f.doc, "steps"), 11); /* out3 */
    char *claim = json_dumps(json_object_get(s, "claim"), 0);
    write_temp("k.json", claim, path);
    free(claim);
    sandbox_path(&f.sb, "outbox-kill9", qdir);
    sandbox_path(&f.sb, "certs/ca.crt", ca);
    sandbox_path(&f.sb, "certs/counter-H330424201.crt", cert);
    sandbox_path(&f.sb, "certs/counter-H330424201.key", key);
    kill(f.sb.engine.pid, SIGSTOP);
    fflush(stdout); /* or the child's freopen would print our buffer again */
    pid_t child = fork();
    if (child == 0) {
        freopen("/dev/null", "w", stdout);
        execl(SANHE_COUNTER_PATH, "sanhe-counter", "--engine", fixture_engine(&f, port), "--ca", ca,
              "--cert", cert, "--key", key, "--queue", qdir, "--request-id", "k-1", "settle", path,
              (char *)NULL);
        _exit(127);
    }
    struct timespec pause = {0, 800 * 1000 * 1000};
    nanosleep(&pause, NULL);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status)); /* it was still waiting for the frozen engine */
    kill(f.sb.engine.pid, SIGCONT);
    char args[16384];
    snprintf(args, sizeof args, "--lang en --queue %s queue", qdir);
    CHECK(counter("H330424201", args) == 0 && strstr(out, "waiting") && strstr(out, "k-1"));
    snprintf(args, sizeof args, "--lang en --queue %s flush", qdir);
    CHECK(counter("H330424201", args) == 0);
    CHECK(counter("H330424201", "--json query --request-id k-1") == 0);
    json_t *j = json_loads(out, 0, NULL);
    json_int_t sid = json_integer_value(json_object_get(j, "settlement_id"));
    json_decref(j);
    snprintf(args, sizeof args, "--json --request-id k-1 settle %s", path);
    CHECK(counter("H330424201", args) == 0);
    j = json_loads(out, 0, NULL);
    CHECK(sid > 0 && json_integer_value(json_object_get(j, "settlement_id")) == sid);
    json_decref(j);
}

/* flush --daemon: started while the engine is down, it delivers the queued
 * settle once the engine is back on the same address. */
static void test_flush_daemon(void)
{
    char qdir[4096], path[4096], port[64], ca[4096], cert[4096], key[4096], args[16384];
    const json_t *s = json_array_get(json_object_get(f.doc, "steps"), 12); /* out4 */
    char *claim = json_dumps(json_object_get(s, "claim"), 0);
    write_temp("d.json", claim, path);
    free(claim);
    sandbox_path(&f.sb, "outbox-daemon", qdir);
    CHECK(fixture_pin_port(&f) == 0);
    fixture_engine(&f, port);
    CHECK(fixture_stop(&f) == 0);
    snprintf(args, sizeof args, "--queue %s --request-id d-1 settle %s", qdir, path);
    CHECK(counter("H330424201", args) == 4);
    sandbox_path(&f.sb, "certs/ca.crt", ca);
    sandbox_path(&f.sb, "certs/counter-H330424201.crt", cert);
    sandbox_path(&f.sb, "certs/counter-H330424201.key", key);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(SANHE_COUNTER_PATH, "sanhe-counter", "--engine", port, "--ca", ca, "--cert", cert,
              "--key", key, "--queue", qdir, "--daemon", "--interval-ms", "200", "--timeout-ms",
              "1000", "flush", (char *)NULL);
        _exit(127);
    }
    CHECK(fixture_restart(&f) == 0);
    snprintf(args, sizeof args, "--lang en --queue %s queue", qdir);
    bool answered = false;
    for (int i = 0; i < 100 && !answered; i++) {
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
        answered = counter("H330424201", args) == 0 && strstr(out, "answered") != NULL;
    }
    CHECK(answered);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    CHECK(counter("H330424201", "--lang en query --request-id d-1") == 0 &&
          strstr(out, "in force"));
}

/* The first line of text with English message text in it: two English
 * words in a row ("no reply", "QUEUED: request"), or one of the words the
 * counter's English messages are made of. Not data: the engine's own words
 * after the "detail" label, and the case's English policy name. NULL when
 * none. */
static const char *english_line(const char *text, char *line, size_t size)
{
    static const char *const words[] = {"QUEUED",  "flushed",  "settlement", "reversed", "refused",
                                        "waiting", "answered", "total",      "patient",  "deadline",
                                        "unknown", "usage",    "error",      "today"};
    const char *policy = json_string_value(
        json_object_get(json_array_get(json_object_get(f.doc, "policies"), 0), "name"));
    for (const char *l = text; *l != '\0';) {
        size_t len = strcspn(l, "\n");
        snprintf(line, size, "%.*s", (int)len, l);
        l += len + (l[len] == '\n');
        if (strstr(line, "详情（原文）") != NULL)
            continue;
        char *p = policy != NULL ? strstr(line, policy) : NULL;
        if (p != NULL)
            memset(p, '_', strlen(policy));
        /* `sanhe-counter flush`: a command to type, not a message. */
        for (char *q = strchr(line, '`'), *e; q != NULL && (e = strchr(q + 1, '`')) != NULL;
             q = strchr(e + 1, '`'))
            memset(q, '_', (size_t)(e - q + 1));
        for (const char *c = line; *c != '\0'; c++) {
            size_t a = 0, b = 0;
            while (isalpha((unsigned char)c[a]))
                a++;
            if (a >= 2 && c[a] == ' ')
                while (isalpha((unsigned char)c[a + 1 + b]))
                    b++;
            if (a >= 2 && b >= 2 && (c == line || !isalpha((unsigned char)c[-1])))
                return line;
        }
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
            for (const char *w = strstr(line, words[i]); w != NULL; w = strstr(w + 1, words[i])) {
                size_t n = strlen(words[i]);
                if ((w == line || !isalpha((unsigned char)w[-1])) && !isalpha((unsigned char)w[n]))
                    return line;
            }
    }
    return NULL;
}

static void check_zh(const char *what)
{
    char line[1024];
    const char *bad = english_line(out, line, sizeof line);
    if (bad != NULL)
        fprintf(stderr, "zh %s: English in: %s\n", what, bad);
    CHECK(bad == NULL);
}

/* Every command in Chinese (the default), its stdout and stderr: no English
 * message text. */
static void test_zh_no_english(void)
{
    const json_t *steps = json_object_get(f.doc, "steps");
    char *claim = json_dumps(json_object_get(json_array_get(steps, 0), "claim"), 0);
    char path[4096], args[16384], qdir[4096];
    write_temp("zh.json", claim, path);
    free(claim);
    snprintf(args, sizeof args, "presettle %s 2>&1", path);
    CHECK(counter("H330424001", args) == 0);
    check_zh("presettle");
    snprintf(args, sizeof args, "--request-id zh-1 settle %s 2>&1", path);
    CHECK(counter("H330424001", args) == 0);
    check_zh("settle");
    CHECK(counter("H330424001", "query --request-id zh-1 2>&1") == 0 && strstr(out, "有效"));
    check_zh("query");
    CHECK(counter("H330424001", "--json query --request-id zh-1") == 0);
    json_t *j = json_loads(out, 0, NULL);
    long long sid = (long long)json_integer_value(json_object_get(j, "settlement_id"));
    json_decref(j);
    snprintf(args, sizeof args, "--request-id zh-rev-1 reverse %lld 2>&1", sid);
    CHECK(counter("H330424001", args) == 0);
    check_zh("reverse");
    /* The reversal receipt: what the funds take back, what the patient is
     * given back (the settle's patient share), and the patient's name. */
    CHECK(strstr(out, "冲正凭证") != NULL && strstr(out, "患者2") != NULL);
    CHECK(row_value(out, "退还患者") == 215000);
    CHECK(row_value(out, "基金冲回合计") == 2450000 - 215000);
    fputs(out, stdout);
    snprintf(args, sizeof args, "reverse %lld 2>&1", sid);
    CHECK(counter("H330424001", args) == 1); /* ALREADY_REVERSED */
    check_zh("reverse refused");
    CHECK(counter("H330424001", "cancel zh-never 2>&1") == 0);
    check_zh("cancel");
    /* A cancel of a settle that landed reverses it: a reversal receipt. */
    snprintf(args, sizeof args, "--request-id zh-c settle %s 2>&1", path);
    CHECK(counter("H330424001", args) == 0);
    CHECK(counter("H330424001", "cancel zh-c 2>&1") == 0);
    check_zh("cancel of a landed settle");
    CHECK(strstr(out, "冲正凭证") != NULL && row_value(out, "退还患者") == 215000);
    CHECK(counter("H330424001", "eligibility 330424194502020026 2>&1") == 0);
    check_zh("eligibility");
    CHECK(counter("H330424001", "eligibility 330424194502020027 2>&1") == 1);
    check_zh("eligibility refused");
    CHECK(counter("H330424001", "settel x 2>&1") == 2);
    check_zh("typo");
    /* The outbox, with the engine frozen (silent): queued, listed, and a
     * flush that cannot deliver. */
    sandbox_path(&f.sb, "outbox-zh", qdir);
    kill(f.sb.engine.pid, SIGSTOP);
    snprintf(args, sizeof args, "--timeout-ms 300 --queue %s --request-id zh-q settle %s 2>&1",
             qdir, path);
    CHECK(counter("H330424001", args) == 4 && strstr(out, "已排队"));
    check_zh("queued settle");
    snprintf(args, sizeof args, "--timeout-ms 300 --queue %s flush 2>&1", qdir);
    CHECK(counter("H330424001", args) == 3);
    check_zh("flush, engine silent");
    CHECK(counter("H330424001", "--timeout-ms 300 query --request-id zh-1 2>&1") == 3);
    check_zh("query, engine silent");
    kill(f.sb.engine.pid, SIGCONT);
    snprintf(args, sizeof args, "--queue %s flush 2>&1", qdir);
    CHECK(counter("H330424001", args) == 0 && strstr(out, "已发完"));
    check_zh("flush");
    snprintf(args, sizeof args, "--queue %s queue 2>&1", qdir);
    CHECK(counter("H330424001", args) == 0 && strstr(out, "已结算"));
    check_zh("queue");
}

/* One refusal, in both languages: exit 1; in Chinese the reason zh (and no
 * English message text), in English the reason en. args is the command
 * after the options. */
static void check_refusal(const char *what, const char *args, const char *zh, const char *en)
{
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "%s 2>&1", args);
    int rc = counter("H330424001", cmd);
    if (rc != 1 || strstr(out, zh) == NULL)
        fprintf(stderr, "refusal %s (zh): exit %d, wanted \"%s\" in:\n%s", what, rc, zh, out);
    CHECK(rc == 1 && strstr(out, zh) != NULL && strstr(out, "原因") != NULL);
    CHECK(strstr(out, "详情（原文）") == NULL); /* worded, not the engine's English */
    check_zh(what);
    fputs(out, stdout);
    snprintf(cmd, sizeof cmd, "--lang en %s 2>&1", args);
    rc = counter("H330424001", cmd);
    if (rc != 1 || strstr(out, en) == NULL)
        fprintf(stderr, "refusal %s (en): exit %d, wanted \"%s\" in:\n%s", what, rc, en, out);
    CHECK(rc == 1 && strstr(out, en) != NULL && strstr(out, "  reason: ") != NULL);
}

/* A claim of the first step with one field replaced (a JSON text), written
 * to name; its path into path. */
static void claim_with(const char *name, const char *key, json_t *value, char *path)
{
    json_t *claim = json_deep_copy(
        json_object_get(json_array_get(json_object_get(f.doc, "steps"), 0), "claim"));
    json_object_set_new(claim, key, value);
    char *text = json_dumps(claim, 0);
    write_temp(name, text, path);
    free(text);
    json_decref(claim);
}

/* The engine's refusals, each with its detail worded by the counter
 * (counter_refusal.c): the Chinese reason in zh, the English one in en. */
static void test_refusal_details(void)
{
    char path[4096], args[16384];
    /* Unknown person: a valid resident ID (check digit right) that is not
     * in the reference data; masked in both. */
    claim_with("rd-person.json", "person", json_string("330424196001010013"), path);
    snprintf(args, sizeof args, "presettle %s", path);
    check_refusal("unknown person", args, "参保人 330424********0013 不在基础数据中",
                  "person 330424********0013 is not in the reference data");
    /* Not eligible on that date: no policy in force. */
    claim_with("rd-date.json", "date", json_string("2027-03-01"), path);
    snprintf(args, sizeof args, "presettle %s", path);
    check_refusal("no policy", args, "地区 330424 在 2027-03-01 没有生效的政策",
                  "no policy of region 330424 is in force on 2027-03-01");
    /* A bad line: an item not in the catalog. */
    claim_with("rd-item.json", "lines",
               json_pack("[{s:s, s:i, s:i}]", "code", "Z999", "qty", 1, "amount", 100), path);
    snprintf(args, sizeof args, "presettle %s", path);
    check_refusal("unknown item", args, "第 1 行：项目 Z999 不在目录中",
                  "line 1: item Z999 is not in the catalog");
    /* Limit exceeded: more lines than the engine takes in one bill. */
    json_t *lines = json_array();
    for (int i = 0; i < 10001; i++)
        json_array_append_new(lines,
                              json_pack("{s:s, s:i, s:i}", "code", "A001", "qty", 1, "amount", 1));
    claim_with("rd-lines.json", "lines", lines, path);
    snprintf(args, sizeof args, "presettle %s", path);
    check_refusal("too many lines", args, "费用单有 10001 行明细，超过上限 10000 行",
                  "the bill has 10001 lines, more than the limit of 10000");
    /* Another hospital's bill at this counter. */
    claim_with("rd-hosp.json", "hospital", json_string("H330424002"), path);
    snprintf(args, sizeof args, "presettle %s", path);
    check_refusal("other hospital", args, "费用单属于医院 H330424002，本终端属于医院 H330424001",
                  "the bill is of hospital H330424002; this terminal is of hospital H330424001");
    /* A duplicate request: a request id settled, then used for another bill. */
    claim_with("rd-dup.json", "date", json_string("2026-06-16"), path);
    snprintf(args, sizeof args, "--request-id rd-dup settle %s 2>&1", path);
    CHECK(counter("H330424001", args) == 0);
    claim_with("rd-dup2.json", "date", json_string("2026-06-17"), path);
    snprintf(args, sizeof args, "--request-id rd-dup settle %s", path);
    check_refusal("request id reused", args, "请求号 rd-dup 已被结算使用",
                  "request id rd-dup was already used by a settlement");
    /* A request id cancelled before its settle arrived. */
    CHECK(counter("H330424001", "cancel rd-cancelled 2>&1") == 0);
    snprintf(args, sizeof args, "--request-id rd-cancelled settle %s", path);
    check_refusal("cancelled", args, "请求号 rd-cancelled 在到达前已被撤销",
                  "request id rd-cancelled was cancelled before it arrived");
    /* Not found, by settlement id and by request id. */
    check_refusal("no settlement", "query 987654321", "没有结算 987654321",
                  "there is no settlement 987654321");
    check_refusal("no request", "query --request-id rd-none",
                  "请求 rd-none 在医院 H330424001 没有结算记录",
                  "request rd-none settled nothing at hospital H330424001");
    /* Already reversed (by its request id's settlement). */
    CHECK(counter("H330424001", "--json query --request-id rd-dup") == 0);
    json_t *j = json_loads(out, 0, NULL);
    long long sid = (long long)json_integer_value(json_object_get(j, "settlement_id"));
    json_decref(j);
    snprintf(args, sizeof args, "--request-id rd-rev reverse %lld 2>&1", sid);
    CHECK(counter("H330424001", args) == 0);
    snprintf(args, sizeof args, "reverse %lld", sid);
    char zh[128], en[128];
    snprintf(zh, sizeof zh, "结算 %lld 已被冲正（冲正请求 rd-rev）", sid);
    snprintf(en, sizeof en, "settlement %lld was already reversed (by request rd-rev)", sid);
    check_refusal("already reversed", args, zh, en);
    /* A queued bill refused when the outbox is flushed: the outbox list
     * words the refusal too. */
    char qdir[4096];
    sandbox_path(&f.sb, "outbox-refused", qdir);
    claim_with("rd-queued.json", "person", json_string("330424196001010013"), path);
    kill(f.sb.engine.pid, SIGSTOP);
    snprintf(args, sizeof args, "--timeout-ms 300 --queue %s --request-id rd-q settle %s 2>&1",
             qdir, path);
    CHECK(counter("H330424001", args) == 4);
    kill(f.sb.engine.pid, SIGCONT);
    snprintf(args, sizeof args, "--queue %s flush 2>&1", qdir);
    CHECK(counter("H330424001", args) == 0);
    snprintf(args, sizeof args, "--queue %s queue 2>&1", qdir);
    CHECK(counter("H330424001", args) == 0);
    fputs(out, stdout);
    CHECK(strstr(out, "参保人 330424********0013 不在基础数据中") != NULL);
    check_zh("outbox list of a refused bill");
    /* Eligibility of an unknown person. */
    check_refusal("eligibility, unknown person", "eligibility 330424196001010013 2026-06-15",
                  "参保人 330424********0013 不在基础数据中",
                  "person 330424********0013 is not in the reference data");
}

/* --timeout-ms holds for the whole command on a frozen engine: the settle
 * and its patient-name look-up share it. */
static void test_frozen_deadline(void)
{
    char path[4096], args[16384];
    char *claim =
        json_dumps(json_object_get(json_array_get(json_object_get(f.doc, "steps"), 0), "claim"), 0);
    write_temp("frozen.json", claim, path);
    free(claim);
    kill(f.sb.engine.pid, SIGSTOP);
    static const char *const cmds[] = {"settle", "presettle"};
    for (int i = 0; i < 2; i++) {
        snprintf(args, sizeof args, "--timeout-ms 500 %s %s 2>/dev/null", cmds[i], path);
        int64_t t0 = mono_ms();
        CHECK(counter("H330424001", args) == 3);
        int64_t took = mono_ms() - t0;
        printf("%s --timeout-ms 500 on a frozen engine: %lld ms\n", cmds[i], (long long)took);
        CHECK(took >= 450 && took <= 500 + 400); /* process start-up included */
    }
    kill(f.sb.engine.pid, SIGCONT);
}

/* A terminal certificate of another CA: the engine's TLS alert, named, with
 * exit 6, at once. */
static void test_wrong_ca(void)
{
    char dir[4096], cmd[16384], port[64];
    sandbox_path(&f.sb, "other-ca", dir);
    snprintf(cmd, sizeof cmd, "%s ca %s && %s terminal %s counter-H330424001 H330424001 counter",
             SANHE_CERTS_SCRIPT, dir, SANHE_CERTS_SCRIPT, dir);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "%s --lang en --engine %s --ca %s/certs/ca.crt --cert %s/counter-H330424001.crt "
             "--key %s/counter-H330424001.key --timeout-ms 4000 query --request-id in0 2>&1",
             SANHE_COUNTER_PATH, fixture_engine(&f, port), f.sb.dir, dir, dir);
    int64_t t0 = mono_ms();
    FILE *p = popen(cmd, "r");
    size_t n = p != NULL ? fread(out, 1, OUT_MAX - 1, p) : 0;
    out[n] = '\0';
    int status = p != NULL ? pclose(p) : -1;
    int64_t took = mono_ms() - t0;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 6);
    CHECK(strstr(out, "unknown CA") != NULL && strstr(out, "()") == NULL);
    CHECK(took < 4000 / 2);
    fputs(out, stdout);
}

/* A certificate of the engine's CA whose name is no terminal: the engine
 * refuses every request as FORBIDDEN, and the cashier is told the
 * certificate may be the cause, in Chinese. */
static void test_unknown_terminal(void)
{
    char dir[4096], cmd[16384], port[64];
    sandbox_path(&f.sb, "certs", dir);
    snprintf(cmd, sizeof cmd, "%s terminal %s stranger-1 H330424001 counter", SANHE_CERTS_SCRIPT,
             dir);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "%s --engine %s --ca %s/ca.crt --cert %s/stranger-1.crt --key %s/stranger-1.key "
             "query --request-id in0 2>&1",
             SANHE_COUNTER_PATH, fixture_engine(&f, port), dir, dir, dir);
    FILE *p = popen(cmd, "r");
    size_t n = p != NULL ? fread(out, 1, OUT_MAX - 1, p) : 0;
    out[n] = '\0';
    int status = p != NULL ? pclose(p) : -1;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    CHECK(strstr(out, "FORBIDDEN") != NULL && strstr(out, "证书") != NULL);
    check_zh("unknown terminal");
}

/* Runs a whole shell command; its output into out, its exit status back. */
static int run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    size_t n = p != NULL ? fread(out, 1, OUT_MAX - 1, p) : 0;
    out[n] = '\0';
    int status = p != NULL ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The Chinese of a failure on the way to the engine, or of a refusal the
 * engine's frame check makes: worded from the library's why or the
 * engine's detail, so no "详情（原文）" line (the English words of the
 * library or engine) at all, and no English message text. zh is a
 * fragment the reason must hold. */
static void check_zh_worded(const char *what, int rc, int want_rc, const char *zh)
{
    bool ok = rc == want_rc && strstr(out, zh) != NULL && strstr(out, "原因") != NULL &&
              strstr(out, "详情（原文）") == NULL;
    if (!ok)
        fprintf(stderr, "zh %s: exit %d (want %d), wanted \"%s\" and no 详情（原文） in:\n%s", what,
                rc, want_rc, zh, out);
    CHECK(ok);
    check_zh(what);
    fputs(out, stdout);
}

/* The library's transport failures and the engine's frame-level refusals
 * in Chinese: an engine that is not there, a terminal certificate of
 * another CA, an engine certificate that does not verify, a bill whose
 * item code holds a control character. Each also in English, the
 * library's own words kept. */
static void test_transport_zh(void)
{
    char dir[4096], cmd[16384], port[64], path[4096];
    sandbox_path(&f.sb, "other-ca-zh", dir);
    snprintf(cmd, sizeof cmd, "%s ca %s && %s terminal %s counter-H330424001 H330424001 counter",
             SANHE_CERTS_SCRIPT, dir, SANHE_CERTS_SCRIPT, dir);
    CHECK(system(cmd) == 0);
    /* Nothing listens: a port taken from the kernel, then let go. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
          getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    int free_port = ntohs(a.sin_port);
    close(fd);
    char own[12288];
    snprintf(own, sizeof own,
             "--ca %s/certs/ca.crt --cert %s/certs/counter-H330424001.crt "
             "--key %s/certs/counter-H330424001.key",
             f.sb.dir, f.sb.dir, f.sb.dir);
    snprintf(cmd, sizeof cmd, "%s --engine 127.0.0.1:%d %s query --request-id t0 2>&1",
             SANHE_COUNTER_PATH, free_port, own);
    check_zh_worded("engine down", run(cmd), 3, "拒绝连接");
    snprintf(cmd, sizeof cmd, "%s --lang en --engine 127.0.0.1:%d %s query --request-id t0 2>&1",
             SANHE_COUNTER_PATH, free_port, own);
    CHECK(run(cmd) == 3 && strstr(out, "refused the connection") != NULL &&
          strstr(out, "  detail: connect to 127.0.0.1:") != NULL);
    /* A terminal certificate of another CA: the engine's alert 48. */
    snprintf(cmd, sizeof cmd,
             "%s --engine %s --ca %s/certs/ca.crt --cert %s/counter-H330424001.crt "
             "--key %s/counter-H330424001.key query --request-id t1 2>&1",
             SANHE_COUNTER_PATH, fixture_engine(&f, port), f.sb.dir, dir, dir);
    check_zh_worded("certificate of another CA", run(cmd), 6, "不是引擎信任的 CA 签发的");
    /* The engine's certificate checked against another CA. */
    snprintf(cmd, sizeof cmd,
             "%s --engine %s --ca %s/ca.crt --cert %s/counter-H330424001.crt "
             "--key %s/counter-H330424001.key query --request-id t2 2>&1",
             SANHE_COUNTER_PATH, fixture_engine(&f, port), dir, dir, dir);
    check_zh_worded("engine certificate not verifying", run(cmd), 6, "无法用 CA 文件验证");
    /* A control character in an item code: the engine's frame check. */
    json_t *claim = json_deep_copy(
        json_object_get(json_array_get(json_object_get(f.doc, "steps"), 0), "claim"));
    json_object_set_new(json_array_get(json_object_get(claim, "lines"), 0), "code",
                        json_string("A0\a1"));
    char *text = json_dumps(claim, 0);
    write_temp("ctl.json", text, path);
    free(text);
    json_decref(claim);
    snprintf(cmd, sizeof cmd, "presettle %s 2>&1", path);
    check_zh_worded("control character", counter("H330424001", cmd), 1, "含有控制字符 U+0007");
    snprintf(cmd, sizeof cmd, "--lang en presettle %s 2>&1", path);
    CHECK(counter("H330424001", cmd) == 1 &&
          strstr(out, "holds the control character U+0007 (at byte 2)") != NULL);
}

/* One line that says what is wrong; options after the operands. */
static void test_usage_errors(void)
{
    CHECK(counter("H330424001", "--lang en settel x.json 2>&1") == 2);
    CHECK(count_lines(out) == 1 && strstr(out, "\"settle\"") != NULL);
    CHECK(counter("H330424001", "--lang en --json-out query 1 2>&1") == 2);
    CHECK(count_lines(out) == 1 && strstr(out, "--json") != NULL);
    CHECK(counter("H330424001", "--lang en reverse 2>&1") == 2);
    CHECK(count_lines(out) == 1 && strstr(out, "SETTLEMENT_ID") != NULL);
    char path[4096], args[8192];
    write_temp("late.csv",
               "hospital,person,visit,date,code,qty,amount\n"
               "H330424001,330424194502020026,inpatient,2026-06-15,A002,12,600000\n",
               path);
    snprintf(args, sizeof args, "presettle %s --lang en", path);
    CHECK(counter("H330424001", args) == 0 && strstr(out, "Presettlement estimate") != NULL);
}

/* eligibility without a date: the date it was asked for, printed. */
static void test_eligibility_today(void)
{
    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    CHECK(counter("H330424001", "eligibility 330424194502020026") == 0);
    CHECK(strstr(out, today) != NULL && strstr(out, "今天") == NULL);
}

int main(int argc, char **argv)
{
    if (argc != 2 || fixture_start(&f, argv[1]) != 0)
        return 1;
    test_case_receipts();
    test_json_replay();
    test_csv();
    test_zh_receipt();
    test_eligibility_remaining();
    test_eligibility_deductible_and_no_cap();
    test_other_commands();
    test_usage_errors();
    test_eligibility_today();
    test_zh_no_english();
    test_refusal_details();
    test_frozen_deadline();
    test_wrong_ca();
    test_unknown_terminal();
    test_transport_zh();
    test_queue();
    test_queue_exactly_once();
    test_queue_kill9();
    test_flush_daemon();
    CHECK(fixture_finish(&f) == 0);
    printf("%s\n", failures == 0 ? "test_counter: ok" : "test_counter: FAILED");
    return failures != 0;
}
