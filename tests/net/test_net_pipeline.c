/*
 * Pipelining and group commit: many requests written at once are all
 * answered, each matched by its request_id (in any order); with a small
 * inflight_max and output_max_bytes the engine applies backpressure (stops
 * reading) instead of refusing; the
 * batch statistics (stats_file, on SIGUSR1) count every write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_fixture.h"

#define INFLIGHT_MAX 8
#define BATCH_MAX 16
#define REQUESTS 300

static struct engine_fixture fixture;

static int group_setup(void **state)
{
    (void)state;
    char limits[128];
    snprintf(limits, sizeof limits, "inflight_max = %d\nbatch_max = %d\noutput_max_bytes = 4096",
             INFLIGHT_MAX, BATCH_MAX);
    return fixture_start(&fixture, limits);
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

/* Every third request is a presettle (a read); the rest are settles. */
static Sanhe__Request *pipeline_request(const char *prefix, int i)
{
    char id[32];
    snprintf(id, sizeof id, "%s-%d", prefix, i);
    return request_settle(id, FIXTURE_H1, i % 3 == 2);
}

/* Sends REQUESTS frames in one write, then reads REQUESTS responses. */
static void run_pipeline(struct tc *tc, const char *prefix)
{
    size_t total = 0, cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    for (int i = 0; i < REQUESTS; i++) {
        Sanhe__Request *req = pipeline_request(prefix, i);
        size_t n = sanhe__request__get_packed_size(req);
        if (total + 4 + n > cap)
            buf = realloc(buf, cap *= 2);
        buf[total] = 0, buf[total + 1] = 0;
        buf[total + 2] = (uint8_t)(n >> 8), buf[total + 3] = (uint8_t)n;
        sanhe__request__pack(req, buf + total + 4);
        total += 4 + n;
        request_free(req);
    }
    assert_int_equal(tc_send_raw(tc, buf, total), 0);
    free(buf);

    bool seen[REQUESTS] = {false};
    size_t plen = strlen(prefix);
    for (int k = 0; k < REQUESTS; k++) {
        Sanhe__Response *resp = NULL;
        int rc = tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS);
        if (rc != 0)
            print_error("response %d: %s\n", k, tc_last_error(tc));
        assert_int_equal(rc, 0);
        assert_int_equal(response_error(resp), 0);
        assert_non_null(resp->request_id);
        assert_memory_equal(resp->request_id, prefix, plen);
        int i = (int)strtol(resp->request_id + plen + 1, NULL, 10);
        assert_in_range(i, 0, REQUESTS - 1);
        assert_false(seen[i]);
        seen[i] = true;
        assert_int_equal(resp->result_case, i % 3 == 2 ? SANHE__RESPONSE__RESULT_PRESETTLE
                                                       : SANHE__RESPONSE__RESULT_SETTLE);
        sanhe__response__free_unpacked(resp, NULL);
    }
}

static json_int_t stat_get(const json_t *stats, const char *key)
{
    return json_integer_value(json_object_get(stats, key));
}

static void test_pipelined_all_answered(void **state)
{
    (void)state;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    run_pipeline(tc, "p1");
    tc_close(tc);

    json_t *stats = fixture_stats(&fixture);
    assert_non_null(stats);
    int writes = REQUESTS - REQUESTS / 3;
    assert_true(stat_get(stats, "batch_writes") >= writes);
    assert_true(stat_get(stats, "batch_size_max") <= INFLIGHT_MAX); /* one connection */
    assert_int_equal(stat_get(stats, "commit_failures"), 0);
    /* The parts of a commit: applying and LMDB's commit happen inside the
     * batch's time, once per batch; each sync covers one batch or more. */
    json_int_t batches = stat_get(stats, "batches");
    json_int_t apply = stat_get(stats, "apply_us_total"), write = stat_get(stats, "write_us_total");
    assert_true(batches > 0 && apply > 0 && write > 0);
    assert_true(apply + write <= stat_get(stats, "commit_us_total"));
    assert_true(stat_get(stats, "write_us_max") <= write);
    assert_in_range(stat_get(stats, "syncs"), 1, batches);
    assert_true(stat_get(stats, "sync_us_total") > 0);
    assert_true(stat_get(stats, "sync_us_max") <= stat_get(stats, "sync_us_total"));
    /* The process's CPU so far: something, and no more than its whole life
     * on every core (a generous bound: the test takes seconds, not hours). */
    json_int_t cpu_us = stat_get(stats, "cpu_user_us") + stat_get(stats, "cpu_sys_us");
    assert_true(cpu_us > 0 && cpu_us < 3600LL * 1000000);
    fprintf(stderr, "batches %lld for %lld writes, largest %lld\n",
            (long long)stat_get(stats, "batches"), (long long)stat_get(stats, "batch_writes"),
            (long long)stat_get(stats, "batch_size_max"));
    json_decref(stats);
}

/* Several connections at once: batches gather writes of all of them. */
static void test_parallel_connections(void **state)
{
    (void)state;
    enum { CONNS = 4 };
    struct tc *tcs[CONNS];
    for (int c = 0; c < CONNS; c++)
        assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tcs[c]), 0);
    /* All requests out before any response is read. */
    char prefix[CONNS][16];
    for (int c = 0; c < CONNS; c++) {
        snprintf(prefix[c], sizeof prefix[c], "par%d", c);
        Sanhe__Request *req = request_settle(prefix[c], FIXTURE_H1, false);
        assert_int_equal(tc_send(tcs[c], req), 0);
        request_free(req);
    }
    for (int c = 0; c < CONNS; c++) {
        Sanhe__Response *resp = NULL;
        assert_int_equal(tc_recv(tcs[c], &resp, FIXTURE_TIMEOUT_MS), 0);
        assert_string_equal(resp->request_id, prefix[c]);
        assert_int_equal(response_error(resp), 0);
        sanhe__response__free_unpacked(resp, NULL);
        tc_close(tcs[c]);
    }
}

/* The same request id again returns the same settlement (idempotency through
 * the server), and a write after a read on one connection keeps working. */
static void test_retry_same_reply(void **state)
{
    (void)state;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    uint64_t first = 0;
    for (int round = 0; round < 2; round++) {
        Sanhe__Request *req = request_settle("retry-1", FIXTURE_H1, false);
        Sanhe__Response *resp = NULL;
        assert_int_equal(tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS), 0);
        assert_int_equal(response_error(resp), 0);
        if (round == 0)
            first = resp->settle->settlement_id;
        else
            assert_int_equal(resp->settle->settlement_id, first);
        sanhe__response__free_unpacked(resp, NULL);
        request_free(req);
    }
    tc_close(tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_all_answered),
        cmocka_unit_test(test_parallel_connections),
        cmocka_unit_test(test_retry_same_reply),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
