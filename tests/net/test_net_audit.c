/*
 * Person lookups audited and rate-limited (docs/limits.md): the attack of
 * one clinic certificate reading the welfare rolls, 50,000 eligibility
 * lookups on one connection, is refused past the terminal's rate with
 * LOOKUP_RATE_EXCEEDED, logged with the person masked, and audited; the
 * audit lists it by person and by terminal (over the wire and through
 * sanhe-bureau audit), the terminal is flagged there and in the metrics,
 * and another terminal keeps its lookups.
 *
 * Against an engine without the audit (SANHE_TEST_ENGINE=an old build,
 * started with its own defaults) the storm is answered in full and
 * test_storm_refused fails on the number answered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "net_fixture.h"
#include "sanhe.pb-c.h"
#include "sh_error.h"

#define STORM 50000
#define CHUNK 1000 /* sent, then every reply read: a bounded output either way */
#define RATE_PER_MINUTE 60
#define BURST 20
#define MASKED "330424********0013"

static struct engine_fixture fixture;
static int storm_ok, storm_refused;
static double storm_seconds;

static int group_setup(void **state)
{
    (void)state;
    /* Another build (SANHE_TEST_ENGINE) may not know the lookup keys: it
     * is started with its defaults, to show what it does with the storm. */
    const char *other = getenv("SANHE_TEST_ENGINE");
    if (other != NULL && other[0] != '\0')
        return fixture_start(&fixture, "[metrics]\nlisten = 127.0.0.1:0\n");
    return fixture_start(&fixture, "lookups_per_minute = 60\n"
                                   "lookups_burst = 20\n"
                                   "lookup_flag_ratio = 20\n"
                                   "lookup_flag_min = 100\n"
                                   "lookup_answer_after_audit = 1\n"
                                   "[metrics]\n"
                                   "listen = 127.0.0.1:0\n");
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static Sanhe__Request *request_eligibility(const char *request_id, const char *person)
{
    Sanhe__Request *r = calloc(1, sizeof *r);
    Sanhe__EligibilityRequest *e = calloc(1, sizeof *e);
    assert_non_null(r);
    assert_non_null(e);
    sanhe__request__init(r);
    sanhe__eligibility_request__init(e);
    r->request_id = strdup(request_id);
    e->person = strdup(person);
    e->date = strdup("2026-03-10");
    r->op_case = SANHE__REQUEST__OP_ELIGIBILITY;
    r->eligibility = e;
    return r;
}

static void eligibility_free(Sanhe__Request *r)
{
    free(r->request_id);
    free(r->eligibility->person);
    free(r->eligibility->date);
    free(r->eligibility);
    free(r);
}

/* One eligibility over tc; its error code. */
static int eligibility_once(struct tc *tc, const char *id)
{
    Sanhe__Request *req = request_eligibility(id, FIXTURE_PERSON);
    Sanhe__Response *resp = NULL;
    int rc = tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS);
    eligibility_free(req);
    assert_int_equal(rc, 0);
    int code = response_error(resp);
    sanhe__response__free_unpacked(resp, NULL);
    return code;
}

static void test_storm_refused(void **state)
{
    (void)state;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    double begin = now_s();
    for (int sent = 0; sent < STORM; sent += CHUNK) {
        for (int i = 0; i < CHUNK; i++) {
            char id[32];
            snprintf(id, sizeof id, "storm-%d", sent + i);
            Sanhe__Request *req = request_eligibility(id, FIXTURE_PERSON);
            assert_int_equal(tc_send(tc, req), 0);
            eligibility_free(req);
        }
        for (int i = 0; i < CHUNK; i++) {
            Sanhe__Response *resp = NULL;
            assert_int_equal(tc_recv(tc, &resp, 30000), 0);
            int code = response_error(resp);
            sanhe__response__free_unpacked(resp, NULL);
            if (code == 0)
                storm_ok++;
            else if (code == SH_E_LOOKUP_RATE_EXCEEDED)
                storm_refused++;
            else
                fail_msg("storm: unexpected code %d", code);
        }
    }
    storm_seconds = now_s() - begin;
    tc_close(tc);
    print_message("storm: %d eligibility lookups on one connection in %.1f s: %d answered, "
                  "%d refused LOOKUP_RATE_EXCEEDED (burst %d, %d a minute)\n",
                  STORM, storm_seconds, storm_ok, storm_refused, BURST, RATE_PER_MINUTE);
    /* At most the burst and what the rate refilled meanwhile (a second per
     * lookup at 60 a minute), with one more for rounding. */
    int allowed = BURST + (int)(storm_seconds * RATE_PER_MINUTE / 60.0) + 1;
    assert_true(storm_ok >= BURST);
    assert_true(storm_ok <= allowed);
    assert_int_equal(storm_ok + storm_refused, STORM);
    /* Logged, with the person masked, never in clear; a line per 1000. */
    assert_true(fixture_log_contains(&fixture, "LOOKUP_RATE_EXCEEDED: terminal counter-h1"));
    assert_true(fixture_log_contains(&fixture, MASKED));
    assert_false(fixture_log_contains(&fixture, FIXTURE_PERSON));
}

static void test_other_terminal_unaffected(void **state)
{
    (void)state;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h2", false, &tc), 0);
    assert_int_equal(eligibility_once(tc, "h2-elig-1"), 0);
    assert_int_equal(eligibility_once(tc, "h2-elig-2"), 0);
    Sanhe__Request *req = request_settle("h2-settle-1", FIXTURE_H2, false);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS), 0);
    request_free(req);
    assert_int_equal(response_error(resp), 0);
    sanhe__response__free_unpacked(resp, NULL);
    tc_close(tc);
    /* counter-h1 stays refused meanwhile: its bucket refills one lookup a
     * second, so of three at once two at least are refused. */
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    int refused = 0;
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "h1-after-%d", i);
        refused += eligibility_once(tc, id) == SH_E_LOOKUP_RATE_EXCEEDED;
    }
    assert_true(refused >= 2);
    tc_close(tc);
}

/* The audit over the wire, as bureau-1. */
static Sanhe__Response *audit_call(const char *person, const char *terminal, uint32_t limit)
{
    Sanhe__AuditRequest q = SANHE__AUDIT_REQUEST__INIT;
    q.person = (char *)person;
    q.terminal = (char *)terminal;
    q.has_limit = true;
    q.limit = limit;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "audit";
    req.op_case = SANHE__REQUEST__OP_AUDIT;
    req.audit = &q;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "bureau-1", false, &tc), 0);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, &req, &resp, FIXTURE_TIMEOUT_MS), 0);
    tc_close(tc);
    assert_int_equal(response_error(resp), 0);
    assert_non_null(resp->audit);
    return resp;
}

static const Sanhe__AuditTerminal *terminal_of(const Sanhe__AuditReply *ar, const char *name)
{
    for (size_t i = 0; i < ar->n_terminals; i++)
        if (strcmp(ar->terminals[i]->terminal, name) == 0)
            return ar->terminals[i];
    fail_msg("no terminal %s in the audit", name);
    return NULL;
}

static void test_audit_by_person_and_terminal(void **state)
{
    (void)state;
    /* By person: every lookup of the storm is there, answered or refused. */
    Sanhe__Response *resp = audit_call(FIXTURE_PERSON, NULL, 10000);
    const Sanhe__AuditReply *ar = resp->audit;
    assert_int_equal(ar->n_entries, 10000);
    assert_true(ar->truncated);
    int ok = 0, refused = 0;
    for (size_t i = 0; i < ar->n_entries; i++) {
        const Sanhe__AuditEntry *e = ar->entries[i];
        assert_string_equal(e->person, MASKED);
        assert_string_equal(e->op, "eligibility");
        assert_string_equal(e->terminal, "counter-h1");
        assert_string_equal(e->hospital, FIXTURE_H1);
        ok += e->outcome == 0;
        refused += e->outcome == SANHE__ERROR_CODE__LOOKUP_RATE_EXCEEDED;
    }
    /* The first 10,000 hold the burst, and what the rate refilled so far. */
    assert_true(ok >= BURST && ok <= storm_ok);
    assert_int_equal(ok + refused, 10000);
    const Sanhe__AuditTerminal *h1 = terminal_of(ar, "counter-h1");
    assert_true(h1->lookups >= STORM);
    assert_true(h1->flagged);
    const Sanhe__AuditTerminal *h2 = terminal_of(ar, "counter-h2");
    assert_int_equal(h2->lookups, 2);
    assert_int_equal(h2->settles, 1);
    assert_false(h2->flagged);
    sanhe__response__free_unpacked(resp, NULL);

    /* By terminal: counter-h2's two lookups and its settle, nothing else. */
    resp = audit_call(NULL, "counter-h2", 0);
    ar = resp->audit;
    assert_int_equal(ar->n_entries, 3);
    assert_false(ar->truncated);
    for (size_t i = 0; i < ar->n_entries; i++) {
        assert_string_equal(ar->entries[i]->terminal, "counter-h2");
        assert_int_equal(ar->entries[i]->outcome, 0);
    }
    assert_string_equal(ar->entries[2]->op, "settle");
    sanhe__response__free_unpacked(resp, NULL);

    /* A counter may not read the audit. */
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h2", false, &tc), 0);
    Sanhe__AuditRequest q = SANHE__AUDIT_REQUEST__INIT;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "audit-counter";
    req.op_case = SANHE__REQUEST__OP_AUDIT;
    req.audit = &q;
    assert_int_equal(tc_call(tc, &req, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), SH_E_FORBIDDEN);
    sanhe__response__free_unpacked(resp, NULL);
    tc_close(tc);
}

static char *slurp(const char *path)
{
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    static char buf[4 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    return buf;
}

static char bureau_out[PATH_MAX]; /* the last run's output */

/* sanhe-bureau -c bureau.conf audit ARGS; its exit status, output in
 * bureau_out (a new file each run). */
static int bureau(const char *a1, const char *a2, const char *a3, const char *a4)
{
    static int runs;
    char conf[PATH_MAX], text[1024], rel[32], err[PATH_MAX];
    snprintf(rel, sizeof rel, "audit-%d.txt", ++runs);
    fixture_path(&fixture, rel, bureau_out);
    snprintf(text, sizeof text,
             "[bureau]\nengine = 127.0.0.1:%d\nca = certs/ca.crt\ncert = certs/bureau-1.crt\n"
             "key = certs/bureau-1.key\nlang = en\n",
             fixture.port);
    FILE *f = fopen(fixture_path(&fixture, "bureau.conf", conf), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    const char *const argv[] = {SANHE_BUREAU_PATH, "-c", conf, "audit", a1, a2, a3, a4, NULL};
    int rc = fixture_run(argv, bureau_out, fixture_path(&fixture, "err.txt", err));
    if (rc != 0 && rc != 1)
        print_message("sanhe-bureau: %s\n", slurp(err));
    return rc;
}

static void test_bureau_audit_cli(void **state)
{
    (void)state;
    /* By person: the storm's records, the terminal flagged (exit 1). */
    assert_int_equal(bureau("--person", FIXTURE_PERSON, "--limit", "50"), 1);
    const char *out = slurp(bureau_out);
    assert_non_null(strstr(out, MASKED));
    assert_null(strstr(out, FIXTURE_PERSON));
    assert_non_null(strstr(out, "LOOKUP_RATE_EXCEEDED"));
    assert_non_null(strstr(out, "FLAGGED"));
    /* By terminal: counter-h2's lines only. */
    assert_int_equal(bureau("--terminal", "counter-h2", NULL, NULL), 1);
    out = slurp(bureau_out);
    printf("$ sanhe-bureau audit --terminal counter-h2\n%s\n", out);
    int lines = 0;
    for (const char *l = out; *l != '\0'; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
        if (strncmp(l, "20", 2) != 0)
            continue; /* the records start with their time */
        lines++;
        const char *end = strchr(l, '\n');
        char line[512];
        size_t n = end != NULL ? (size_t)(end - l) : strlen(l);
        snprintf(line, sizeof line, "%.*s", (int)n, l);
        assert_non_null(strstr(line, "counter-h2"));
    }
    assert_int_equal(lines, 3);
    /* Both filters at once: a usage error. */
    assert_int_equal(bureau("--person", FIXTURE_PERSON, "--terminal", "counter-h2"), 2);
}

/* The metrics endpoint's port, from the engine's log. */
static int metrics_port(void)
{
    char path[PATH_MAX], line[1024];
    const char *mark = "metrics: listening on 127.0.0.1 port ";
    FILE *in = fopen(fixture_path(&fixture, "engine.err", path), "r");
    int port = -1;
    while (in != NULL && fgets(line, sizeof line, in) != NULL) {
        char *at = strstr(line, mark);
        if (at != NULL)
            port = (int)strtol(at + strlen(mark), NULL, 10);
    }
    if (in != NULL)
        fclose(in);
    return port;
}

static void test_metrics_flag(void **state)
{
    (void)state;
    int port = metrics_port();
    assert_true(port > 0);
    char url[128], out[PATH_MAX], code[PATH_MAX];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    const char *const argv[] = {"/usr/bin/curl",
                                "-s",
                                "-m",
                                "10",
                                "-o",
                                fixture_path(&fixture, "metrics.txt", out),
                                url,
                                NULL};
    assert_int_equal(fixture_run(argv, fixture_path(&fixture, "curl.out", code), NULL), 0);
    const char *m = slurp(out);
    assert_non_null(strstr(m, "sanhe_terminal_lookup_flagged{terminal=\"counter-h1\"} 1\n"));
    assert_non_null(strstr(m, "sanhe_terminal_lookup_flagged{terminal=\"counter-h2\"} 0\n"));
    assert_non_null(strstr(m, "sanhe_terminal_settles_total{terminal=\"counter-h2\"} 1\n"));
    assert_non_null(strstr(m, "sanhe_lookups_refused_total "));
    assert_null(strstr(m, FIXTURE_PERSON));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storm_refused),
        cmocka_unit_test(test_other_terminal_unaffected),
        cmocka_unit_test(test_audit_by_person_and_terminal),
        cmocka_unit_test(test_bureau_audit_cli),
        cmocka_unit_test(test_metrics_flag),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
