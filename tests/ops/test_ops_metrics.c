/*
 * The metrics endpoint (engine/net/metrics.c, metrics_http.c) tested with
 * the real things: curl fetches /metrics, promtool checks the exposition,
 * and Debian's prometheus, started here on loopback with a temporary
 * configuration, scrapes the engine; the test reads values back through
 * Prometheus's HTTP API. Bad requests get 404 and 405.
 */
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ops_util.h"

static struct engine_fixture f;
static pid_t prom_pid = -1;

/* The port the engine logged for its metrics endpoint. */
static int metrics_port(void)
{
    char path[PATH_MAX], line[1024];
    const char *mark = "metrics: listening on 127.0.0.1 port ";
    assert_true(ops_log_wait(&f, mark, 10000));
    FILE *in = fopen(fixture_path(&f, "engine.err", path), "r");
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

/* curl URL into DIR/name; returns curl's status. */
static int curl(const char *url, const char *name, const char *write_out)
{
    char out[PATH_MAX];
    const char *const argv[] = {
        "/usr/bin/curl", "-s", "-m", "10", "-o", fixture_path(&f, name, out), "-w",
        write_out,       url,  NULL};
    char code[PATH_MAX], rel[64];
    snprintf(rel, sizeof rel, "%s.code", name);
    return fixture_run(argv, fixture_path(&f, rel, code), NULL);
}

/* A port free a moment ago, for prometheus (which cannot announce one). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void start_prometheus(int target_port, int web_port)
{
    char conf[PATH_MAX], data[PATH_MAX], log[PATH_MAX], flag[3][PATH_MAX + 64];
    FILE *out = fopen(fixture_path(&f, "prometheus.yml", conf), "w");
    assert_non_null(out);
    fprintf(out,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: sanhe\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n",
            target_port);
    fclose(out);
    snprintf(flag[0], sizeof flag[0], "--config.file=%s", conf);
    snprintf(flag[1], sizeof flag[1], "--storage.tsdb.path=%s", fixture_path(&f, "prom", data));
    snprintf(flag[2], sizeof flag[2], "--web.listen-address=127.0.0.1:%d", web_port);
    fixture_path(&f, "prometheus.log", log);
    prom_pid = fork();
    assert_true(prom_pid >= 0);
    if (prom_pid == 0) {
        if (freopen(log, "w", stderr) == NULL || freopen(log, "a", stdout) == NULL)
            _exit(127);
        execl("/usr/bin/prometheus", "prometheus", flag[0], flag[1], flag[2], (char *)NULL);
        _exit(127);
    }
}

static void stop_prometheus(void)
{
    if (prom_pid > 0) {
        kill(prom_pid, SIGTERM);
        waitpid(prom_pid, NULL, 0);
    }
    prom_pid = -1;
}

/* Asks Prometheus for query until the answer holds expect (60 s at most). */
static bool prometheus_says(int web_port, const char *query, const char *expect)
{
    char url[512], path[PATH_MAX];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/query?query=%s", web_port, query);
    for (int i = 0; i < 120; i++) {
        if (curl(url, "prom-answer.json", "%{http_code}") == 0 &&
            ops_file_contains(fixture_path(&f, "prom-answer.json", path), expect))
            return true;
        ops_sleep_ms(500);
    }
    return false;
}

static void test_metrics(void **state)
{
    (void)state;
    assert_int_equal(fixture_start(&f, "[metrics]\nlisten = 127.0.0.1:0\n"), 0);
    int port = metrics_port();
    assert_true(port > 0);
    assert_int_equal(fixture_settle_once(&f, "m-1"), 0);
    assert_int_equal(fixture_settle_once(&f, "m-2"), 0);
    struct tc *tc;
    assert_int_equal(fixture_connect(&f, "counter-h1", false, &tc), 0);
    assert_int_equal(ops_call(tc, request_settle("m-p", FIXTURE_H1, true)), 0);
    assert_int_not_equal(ops_call(tc, request_query("m-q", 999999)), 1);
    tc_close(tc);
    /* A certificate of another CA: a failed handshake. */
    if (fixture_connect(&f, "counter-h1", true, &tc) == 0) {
        ops_call(tc, request_query("m-x", 1));
        tc_close(tc);
    }

    char url[128], path[PATH_MAX], code[PATH_MAX];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    assert_int_equal(curl(url, "metrics.txt", "%{http_code}"), 0);
    fixture_path(&f, "metrics.txt", path);
    assert_true(ops_file_contains(path, "sanhe_request_duration_seconds_bucket{op=\"settle\","));
    assert_true(
        ops_file_contains(path, "sanhe_request_duration_seconds_count{op=\"presettle\"} 1"));
    assert_true(ops_file_contains(path, "sanhe_commit_duration_seconds_count"));
    assert_true(ops_file_contains(path, "sanhe_sync_duration_seconds_bucket"));
    assert_true(ops_file_contains(path, "sanhe_batch_writes_bucket{le=\"1\"}"));
    assert_true(ops_file_contains(path, "sanhe_reply_errors_total{code=\"NOT_FOUND\"} 1"));
    assert_true(ops_file_contains(path, "sanhe_lmdb_map_used_bytes "));
    assert_true(ops_file_contains(path, "sanhe_lmdb_readers_used "));
    assert_true(ops_file_contains(path, "sanhe_settlements_total 2"));
    assert_true(ops_file_contains(path, "sanhe_tls_handshake_failures_total{reason=\"other\"} 1"));
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "/usr/bin/promtool check metrics < %s", path);
    const char *const promtool[] = {"/bin/sh", "-c", cmd, NULL};
    char lint[PATH_MAX];
    int lint_rc = fixture_run(promtool, fixture_path(&f, "promtool.out", lint), lint);
    if (lint_rc != 0) {
        const char *const show[] = {"/bin/cat", lint, NULL};
        fixture_run(show, "/dev/stderr", NULL);
    }
    assert_int_equal(lint_rc, 0);
    /* The alerting rules of the runbook are valid, and name real metrics. */
    const char *const rules[] = {"/usr/bin/promtool", "check", "rules",
                                 SANHE_SOURCE_DIR "/ops/sanhe-alerts.yml", NULL};
    assert_int_equal(fixture_run(rules, lint, lint), 0);
    assert_true(ops_file_contains(path, "sanhe_commit_failures_total"));
    assert_true(ops_file_contains(path, "sanhe_lmdb_map_max_bytes"));

    snprintf(url, sizeof url, "http://127.0.0.1:%d/nope", port);
    assert_int_equal(curl(url, "nope.txt", "%{http_code}"), 0);
    assert_true(ops_file_contains(fixture_path(&f, "nope.txt.code", code), "404"));

    int web = free_port();
    start_prometheus(port, web);
    bool got = prometheus_says(web, "sanhe_settlements_total", "\"2\"]");
    if (!got) {
        const char *const show[] = {"/usr/bin/tail", "-20",
                                    fixture_path(&f, "prometheus.log", path), NULL};
        fixture_run(show, "/dev/stderr", NULL);
    }
    assert_true(got);
    assert_true(prometheus_says(web, "sanhe_request_duration_seconds_count%7Bop%3D%22settle%22%7D",
                                "\"2\"]"));
    fprintf(stderr, "prometheus scraped the engine: sanhe_settlements_total 2 read back\n");
    stop_prometheus();
    assert_int_equal(fixture_stop(&f), 0);
}

static int teardown(void **state)
{
    (void)state;
    stop_prometheus();
    fixture_stop(&f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_metrics, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
