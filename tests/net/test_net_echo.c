/*
 * bench_echo = true (bench/run.sh's tls_echo baseline): every request of a
 * known terminal is answered at once with a Response carrying its request_id
 * and nothing else, the ledger is never touched (no commit, no read), and
 * sanhe-loadgen, unchanged, counts those replies as OK and matches them all
 * by id. Unknown terminals are still refused.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net_fixture.h"

static struct engine_fixture fixture;

static int group_setup(void **state)
{
    (void)state;
    /* The fixture's extra lines go into [limits]; a second [engine] section
     * is still the [engine] section to the INI reader. */
    return fixture_start(&fixture, "[engine]\nbench_echo = true");
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

static json_int_t stat_get(json_t *stats, const char *key)
{
    return json_integer_value(json_object_get(stats, key));
}

/* A settle, a presettle and a query: each answered empty, with its id. */
static void test_echo_replies(void **state)
{
    (void)state;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    Sanhe__Request *reqs[] = {request_settle("echo-1", FIXTURE_H1, false),
                              request_settle("echo-2", FIXTURE_H1, true),
                              request_query("echo-3", 12345)};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(tc_send(tc, reqs[i]), 0);
    for (size_t i = 0; i < 3; i++) {
        Sanhe__Response *resp = NULL;
        assert_int_equal(tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS), 0);
        assert_string_equal(resp->request_id, reqs[i]->request_id); /* one connection: in order */
        assert_null(resp->error);
        assert_int_equal(resp->result_case, SANHE__RESPONSE__RESULT__NOT_SET);
        sanhe__response__free_unpacked(resp, NULL);
        request_free(reqs[i]);
    }
    tc_close(tc);
    json_t *stats = fixture_stats(&fixture);
    assert_non_null(stats);
    assert_int_equal(stat_get(stats, "batches"), 0); /* nothing committed */
    assert_int_equal(stat_get(stats, "reads"), 0);   /* nothing read */
    json_decref(stats);
    assert_true(fixture_log_contains(&fixture, "bench_echo = true"));
}

/* The terminal check still comes first. */
static void test_echo_refuses_strangers(void **state)
{
    (void)state;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "stranger", false, &tc), 0);
    Sanhe__Request *req = request_settle("echo-x", FIXTURE_H1, false);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), SH_E_FORBIDDEN);
    sanhe__response__free_unpacked(resp, NULL);
    request_free(req);
    tc_close(tc);
}

/* Runs sanhe-loadgen (its output into the fixture's out_name) and returns
 * the JSON it wrote to json_path, of that kind (new reference). */
static json_t *loadgen_json(const char *const *argv, const char *out_name, const char *json_path,
                            const char *kind)
{
    char out[PATH_MAX];
    assert_int_equal(fixture_run(argv, fixture_path(&fixture, out_name, out), NULL), 0);
    json_t *doc = json_load_file(json_path, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "kind")), kind);
    return doc;
}

static double num_get(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

/* The window's CPU: the engine's (from its stats file) and the generator's
 * are each some of the machine's, per request and in cores; the machine's
 * busy and stolen shares fit in its cores, and the machine was busy at
 * least for the two. */
static void assert_cpu_figures(const json_t *cpu, long cores)
{
    assert_true(json_is_object(cpu));
    double window_s = num_get(cpu, "window_s");
    assert_true(window_s >= 1.5 && window_s < 60); /* 2 s of schedule, a short drain */
    assert_int_equal(num_get(cpu, "cores"), cores);
    const char *const per_core[] = {"engine_cores", "loadgen_cores", "machine_busy_cores",
                                    "steal_cores"};
    for (size_t i = 0; i < sizeof per_core / sizeof per_core[0]; i++) {
        double v = num_get(cpu, per_core[i]);
        assert_true(v >= 0 && v <= (double)cores + 0.1);
    }
    /* Both did work for every request: TLS records each way at least. */
    double engine = num_get(cpu, "engine_cores"), loadgen = num_get(cpu, "loadgen_cores");
    assert_true(engine > 0 && loadgen > 0);
    /* The machine was at least as busy as the two (/proc/stat's measured
     * idle against their getrusage; a tick-sampled busy time failed this). */
    assert_true(num_get(cpu, "machine_busy_cores") + 0.03 >= 0.9 * (engine + loadgen));
    double e_us = num_get(cpu, "engine_us_per_request");
    double g_us = num_get(cpu, "loadgen_us_per_request");
    assert_true(e_us > 0 && g_us > 0);
    /* Cores x window = us a request x requests (1,000 at 500/s for 2 s). */
    double g_total_us = num_get(cpu, "loadgen_cores") * window_s * 1e6;
    assert_true(g_us * 900 <= g_total_us * 1.01 && g_total_us <= g_us * 1100 * 1.01);
}

/* sanhe-loadgen against the echo: every request answered OK, matched by id. */
static void test_loadgen_counts_echo_ok(void **state)
{
    (void)state;
    char port[16], ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], json[PATH_MAX];
    char pid[16], stats[PATH_MAX];
    snprintf(port, sizeof port, "%d", fixture.port);
    snprintf(pid, sizeof pid, "%d", (int)fixture.pid);
    const char *const argv[] = {SANHE_LOADGEN_PATH,
                                "--port",
                                port,
                                "--ca",
                                fixture_path(&fixture, "certs/ca.crt", ca),
                                "--cert",
                                fixture_path(&fixture, "certs/counter-h1.crt", cert),
                                "--key",
                                fixture_path(&fixture, "certs/counter-h1.key", key),
                                "--hospital",
                                FIXTURE_H1,
                                "--rate",
                                "500",
                                "--connections",
                                "4",
                                "--duration-s",
                                "2",
                                "--warmup-s",
                                "0",
                                "--kind",
                                "tls_echo",
                                "--json",
                                fixture_path(&fixture, "echo.json", json),
                                "--engine-pid",
                                pid,
                                "--engine-stats",
                                fixture_path(&fixture, "stats.json", stats),
                                NULL};
    json_t *doc = loadgen_json(argv, "loadgen.out", json, "tls_echo");
    json_t *requests = json_object_get(doc, "requests");
    assert_int_equal(stat_get(doc, "errors_total"), 0); /* UNMATCHED ids would count here */
    assert_true(stat_get(requests, "scheduled") >= 900);
    assert_int_equal(stat_get(requests, "ok"), stat_get(requests, "scheduled"));
    assert_cpu_figures(json_object_get(doc, "cpu"), sysconf(_SC_NPROCESSORS_ONLN));
    json_decref(doc);
}

/* sanhe-loadgen --probe-fsync: each write pattern timed and reported, the
 * one-page case also at the top level (what bench/run.sh's summary reads).
 * Nothing about the disk is asserted, only that each figure is a timing. */
static void test_probe_fsync_patterns(void **state)
{
    (void)state;
    char json[PATH_MAX];
    const char *const argv[] = {SANHE_LOADGEN_PATH,
                                "--probe-fsync",
                                fixture.dir,
                                "--json",
                                fixture_path(&fixture, "fsync.json", json),
                                NULL};
    json_t *doc = loadgen_json(argv, "probe.out", json, "fsync-probe");
    assert_int_equal(stat_get(doc, "syncs"), 200);
    const json_t *by = json_object_get(doc, "patterns");
    const struct {
        const char *name;
        int pages;
        bool contiguous;
    } want[] = {
        {"page_1", 1, true}, {"pages_25_contiguous", 25, true}, {"pages_25_scattered", 25, false}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const json_t *p = json_object_get(by, want[i].name);
        assert_true(json_is_object(p));
        assert_int_equal(json_integer_value(json_object_get(p, "pages")), want[i].pages);
        assert_int_equal(json_is_true(json_object_get(p, "contiguous")), want[i].contiguous);
        double p50 = num_get(p, "p50_us"), p99 = num_get(p, "p99_us"), max = num_get(p, "max_us");
        assert_true(p50 > 0 && p50 <= p99 && p99 <= max);
    }
    assert_true(num_get(doc, "p50_us") == num_get(json_object_get(by, "page_1"), "p50_us"));
    /* The probe's file is gone. */
    DIR *d = opendir(fixture.dir);
    assert_non_null(d);
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d))
        assert_null(strstr(e->d_name, "sanhe-fsync-probe"));
    closedir(d);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_replies),
        cmocka_unit_test(test_echo_refuses_strangers),
        cmocka_unit_test(test_loadgen_counts_echo_ok),
        cmocka_unit_test(test_probe_fsync_patterns),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
