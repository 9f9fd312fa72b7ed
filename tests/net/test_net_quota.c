/*
 * Write quotas against the store-filling attack (docs/limits.md#write-quotas):
 * one clinic certificate sends class-C claims, which cost the funds
 * nothing, of as many lines as it may, as fast as the engine takes them.
 *
 * - With the quotas (stored_mb_per_day_county = 8, the other keys at their
 *   defaults): a 10,000-line claim is CLAIM_TOO_LARGE (inpatient: 5,000 at
 *   most); claims of 5,000 lines are taken until the hospital's writes of
 *   the day reach 8 MiB, then refused QUOTA_EXCEEDED, so the store stops
 *   growing; counter-h2 (another hospital) still settles; the metrics show
 *   the refusals by hospital and quota, and the log says so.
 * - Without them (every quota key 0): the same storm of 10,000-line claims,
 *   until the store has grown by twice the ceiling above (30 s at most);
 *   the test prints the growth per second and per day, the figure to
 *   compare.
 *
 * Against an engine before the quotas (SANHE_TEST_ENGINE) the first engine
 * does not start: it refuses the quota keys as unknown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <cmocka.h>

#include "net_fixture.h"
#include "sanhe.pb-c.h"
#include "sh_error.h"

#define STORM_S 30.0       /* each storm's length at most */
#define WINDOW 8           /* claims in flight */
#define CEILING_MB 8       /* stored_mb_per_day_county in the first engine */
#define BIG_LINES 10000    /* the attack's claims */
#define ALLOWED_LINES 5000 /* claim_lines_max_inpatient's default */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_str(const char *s) { return s != NULL ? strdup(s) : NULL; }

/* A settle (or presettle) of n class-C lines, inpatient, at hospital. */
static Sanhe__Request *request_lines(const char *rid, const char *hospital, int n, bool presettle)
{
    Sanhe__Claim *claim = calloc(1, sizeof *claim);
    assert_non_null(claim);
    sanhe__claim__init(claim);
    claim->hospital = dup_str(hospital);
    claim->person = dup_str(FIXTURE_PERSON);
    claim->visit = dup_str("inpatient");
    claim->date = dup_str("2026-03-10");
    claim->lines = calloc((size_t)n, sizeof *claim->lines);
    assert_non_null(claim->lines);
    for (int i = 0; i < n; i++) {
        Sanhe__Line *l = calloc(1, sizeof *l);
        assert_non_null(l);
        sanhe__line__init(l);
        l->code = dup_str("C001");
        l->has_qty_milli = l->has_amount = 1;
        l->qty_milli = 1000;
        l->amount = 100;
        claim->lines[claim->n_lines++] = l;
    }
    Sanhe__Request *r = calloc(1, sizeof *r);
    assert_non_null(r);
    sanhe__request__init(r);
    r->request_id = dup_str(rid);
    if (presettle) {
        r->op_case = SANHE__REQUEST__OP_PRESETTLE;
        r->presettle = calloc(1, sizeof *r->presettle);
        sanhe__presettle_request__init(r->presettle);
        r->presettle->claim = claim;
    } else {
        r->op_case = SANHE__REQUEST__OP_SETTLE;
        r->settle = calloc(1, sizeof *r->settle);
        sanhe__settle_request__init(r->settle);
        r->settle->claim = claim;
    }
    return r;
}

static void request_lines_free(Sanhe__Request *r)
{
    bool pre = r->op_case == SANHE__REQUEST__OP_PRESETTLE; /* a oneof: one pointer */
    Sanhe__Claim *c = pre ? r->presettle->claim : r->settle->claim;
    for (size_t i = 0; i < c->n_lines; i++) {
        free(c->lines[i]->code);
        free(c->lines[i]);
    }
    free(c->lines);
    free(c->hospital);
    free(c->person);
    free(c->visit);
    free(c->date);
    free(c);
    if (pre)
        free(r->presettle);
    else
        free(r->settle);
    free(r->request_id);
    free(r);
}

static int call_code(struct tc *tc, Sanhe__Request *req)
{
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, req, &resp, 30000), 0);
    int code = response_error(resp);
    sanhe__response__free_unpacked(resp, NULL);
    return code;
}

/* The metrics endpoint's port, from the engine's log. */
static int metrics_port(const struct engine_fixture *f)
{
    char path[PATH_MAX], line[1024];
    const char *mark = "metrics: listening on 127.0.0.1 port ";
    FILE *in = fopen(fixture_path(f, "engine.err", path), "r");
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

/* The metrics text (a static buffer). */
static const char *metrics(const struct engine_fixture *f)
{
    static char buf[1 << 20];
    char url[128], out[PATH_MAX];
    int port = metrics_port(f);
    assert_true(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    const char *const argv[] = {
        "/usr/bin/curl", "-s", "-m", "10", "-o", fixture_path(f, "metrics.txt", out), url, NULL};
    assert_int_equal(fixture_run(argv, NULL, NULL), 0);
    FILE *in = fopen(out, "r");
    assert_non_null(in);
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    return buf;
}

static unsigned long long map_used(const struct engine_fixture *f)
{
    const char *m = metrics(f);
    const char *at = strstr(m, "\nsanhe_lmdb_map_used_bytes ");
    assert_non_null(at);
    return strtoull(at + strlen("\nsanhe_lmdb_map_used_bytes "), NULL, 10);
}

/* map_used once LMDB has caught up: a durable store's commits reach LMDB
 * at checkpoints (docs/storage.md), and an idle engine makes one within a
 * checkpoint interval, so the figure is read until it holds still for
 * longer than that. */
static unsigned long long map_used_quiet(const struct engine_fixture *f)
{
    unsigned long long last = map_used(f);
    double still_since = now_s(), begin = still_since;
    while (now_s() - still_since < 2.5 && now_s() - begin < 20.0) {
        usleep(250 * 1000);
        unsigned long long now = map_used(f);
        if (now != last)
            last = now, still_since = now_s();
    }
    assert_true(now_s() - begin < 20.0);
    return last;
}

struct storm {
    int ok, refused_quota, refused_other;
    double seconds;
    unsigned long long grown;
};

/* counter-h1 settles claims of lines lines, WINDOW at a time, until three
 * windows in a row are all refused, or the store has grown by stop_bytes
 * (when not 0), or STORM_S have passed. */
static void storm_run(const struct engine_fixture *f, int lines, unsigned long long stop_bytes,
                      struct storm *out)
{
    memset(out, 0, sizeof *out);
    struct tc *tc;
    assert_int_equal(fixture_connect(f, "counter-h1", false, &tc), 0);
    unsigned long long used0 = map_used(f);
    double begin = now_s();
    int refused_windows = 0, n = 0;
    while (now_s() - begin < STORM_S && refused_windows < 3) {
        for (int i = 0; i < WINDOW; i++) {
            char rid[32];
            snprintf(rid, sizeof rid, "fill-%d", n + i);
            Sanhe__Request *req = request_lines(rid, FIXTURE_H1, lines, false);
            assert_int_equal(tc_send(tc, req), 0);
            request_lines_free(req);
        }
        int ok = 0;
        for (int i = 0; i < WINDOW; i++) {
            Sanhe__Response *resp = NULL;
            assert_int_equal(tc_recv(tc, &resp, 30000), 0);
            int code = response_error(resp);
            sanhe__response__free_unpacked(resp, NULL);
            ok += code == 0;
            out->ok += code == 0;
            out->refused_quota += code == SH_E_QUOTA_EXCEEDED;
            out->refused_other += code != 0 && code != SH_E_QUOTA_EXCEEDED;
        }
        refused_windows = ok == 0 ? refused_windows + 1 : 0;
        n += WINDOW;
        if (stop_bytes > 0 && n % (4 * WINDOW) == 0 && map_used(f) - used0 > stop_bytes)
            break;
    }
    out->seconds = now_s() - begin;
    tc_close(tc);
    out->grown = map_used(f) - used0;
}

static void test_quota_caps_the_store(void **state)
{
    (void)state;
    struct engine_fixture f;
    char limits[256];
    snprintf(limits, sizeof limits,
             "stored_mb_per_day_county = %d\n[metrics]\nlisten = 127.0.0.1:0\n", CEILING_MB);
    assert_int_equal(fixture_start(&f, limits), 0);
    struct tc *tc;
    assert_int_equal(fixture_connect(&f, "counter-h1", false, &tc), 0);
    Sanhe__Request *big = request_lines("big", FIXTURE_H1, BIG_LINES, false);
    assert_int_equal(call_code(tc, big), SH_E_CLAIM_TOO_LARGE);
    request_lines_free(big);
    big = request_lines("big-pre", FIXTURE_H1, BIG_LINES, true);
    assert_int_equal(call_code(tc, big), SH_E_CLAIM_TOO_LARGE);
    request_lines_free(big);
    tc_close(tc);

    struct storm s;
    storm_run(&f, ALLOWED_LINES, 0, &s);
    print_message("with quotas: %d claims of %d lines taken, %d refused QUOTA_EXCEEDED, "
                  "%d otherwise, in %.1f s; the store grew by %.1f MB (ceiling %d MiB a day)\n",
                  s.ok, ALLOWED_LINES, s.refused_quota, s.refused_other, s.seconds,
                  (double)s.grown / 1e6, CEILING_MB);
    assert_true(s.ok > 0);
    assert_true(s.refused_quota >= WINDOW); /* the storm ended on the ceiling */
    assert_int_equal(s.refused_other, 0);
    /* Pages are not filled to the brim: LMDB's B-tree pages and the ones a
     * transaction copies take some room beyond the bytes put. */
    assert_true(s.grown < 3ull * CEILING_MB * 1024 * 1024);
    /* Nothing more of H1 grows the store. */
    unsigned long long used = map_used_quiet(&f);
    assert_true(fixture_settle_once(&f, "after-ceiling") != 0);
    /* counter-h2, another hospital, settles as ever. */
    assert_int_equal(fixture_connect(&f, "counter-h2", false, &tc), 0);
    Sanhe__Request *other = request_settle("h2-ok", FIXTURE_H2, false);
    assert_int_equal(call_code(tc, other), 0);
    request_free(other);
    tc_close(tc);
    assert_true(map_used_quiet(&f) - used < 1024 * 1024);
    const char *m = metrics(&f);
    assert_non_null(strstr(m, "sanhe_quota_refused_total{hospital=\"" FIXTURE_H1
                              "\",quota=\"stored_bytes\"} "));
    assert_non_null(strstr(m, "sanhe_quota_refused_total{hospital=\"" FIXTURE_H1
                              "\",quota=\"claim_lines\"} 2\n"));
    assert_null(strstr(m, "hospital=\"" FIXTURE_H2 "\""));
    assert_true(fixture_log_contains(&f, "QUOTA_EXCEEDED: hospital " FIXTURE_H1
                                         " (terminal counter-h1) past its stored_bytes quota"));
    assert_true(fixture_log_contains(&f, "CLAIM_TOO_LARGE: hospital " FIXTURE_H1));
    assert_int_equal(fixture_check(&f), 0);
    assert_int_equal(fixture_stop(&f), 0);
}

static void test_without_quotas_the_store_fills(void **state)
{
    (void)state;
    static const char *const levels[] = {"village", "township", "county", "municipal",
                                         "provincial"};
    char limits[2048];
    size_t at = 0;
    for (size_t i = 0; i < 5; i++)
        at += (size_t)snprintf(limits + at, sizeof limits - at,
                               "settlements_per_day_%s = 0\nstored_mb_per_day_%s = 0\n"
                               "unknown_cancels_per_day_%s = 0\n",
                               levels[i], levels[i], levels[i]);
    snprintf(limits + at, sizeof limits - at,
             "claim_lines_max_outpatient = 0\nclaim_lines_max_chronic = 0\n"
             "claim_lines_max_inpatient = 0\n[metrics]\nlisten = 127.0.0.1:0\n");
    struct engine_fixture f;
    assert_int_equal(fixture_start(&f, limits), 0);
    struct storm s;
    storm_run(&f, BIG_LINES, 2ull * CEILING_MB * 1024 * 1024, &s);
    double per_s = (double)s.grown / s.seconds;
    print_message("without quotas: %d claims of %d lines taken in %.1f s; the store grew by "
                  "%.1f MB, %.1f MB/s, %.0f GB a day at that rate\n",
                  s.ok, BIG_LINES, s.seconds, (double)s.grown / 1e6, per_s / 1e6,
                  per_s * 86400 / 1e9);
    assert_int_equal(s.refused_quota + s.refused_other, 0);
    /* In the same time it passed the ceiling that stopped the first storm. */
    assert_true(s.grown > (unsigned long long)CEILING_MB * 1024 * 1024);
    assert_int_equal(fixture_stop(&f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quota_caps_the_store),
        cmocka_unit_test(test_without_quotas_the_store_fills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
