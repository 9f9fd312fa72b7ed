/*
 * Replies are written once per connection per loop iteration: whatever an
 * iteration answers on a connection (reads answered at once, a batch's
 * writes, pooled reads) goes out as one SSL_write and one socket write.
 * Connections pipeline bursts of requests; every reply must arrive, in the
 * order the engine answers them (reads answered at once: the order they
 * were sent; writes: commit order, which is the order they were sent), and
 * the engine's counters (stats_file: socket_writes_iteration_max,
 * tls_writes_iteration_max) must show no iteration with more writes than
 * there are connections.
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

/* A burst of this many presettles is a few hundred KiB: the engine takes it
 * in several socket reads, most of them in one iteration. */
#define READ_BURST 1500
#define WRITE_BURST 400
#define CONNS 4

static struct engine_fixture fixture;

static int group_setup(void **state)
{
    (void)state;
    /* Presettles answered on the loop thread at once (their audit records
     * go with the next batch), and no lookup rate: a burst of lookups is
     * the point here. */
    return fixture_start(&fixture, "lookup_answer_after_audit = 0\nlookups_per_minute = 0\n"
                                   "inflight_max = 1024\n");
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

static const char *const names[CONNS] = {"counter-h1", "counter-h2", "counter-h1", "counter-h2"};
static const char *const hospitals[CONNS] = {FIXTURE_H1, FIXTURE_H2, FIXTURE_H1, FIXTURE_H2};

/* n requests "prefix-0" .. "prefix-(n-1)" framed into one buffer, written
 * at once. */
static void send_burst(struct tc *tc, const char *prefix, const char *hospital, int n,
                       bool presettle)
{
    size_t total = 0, cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    for (int i = 0; i < n; i++) {
        char id[48];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        Sanhe__Request *req = request_settle(id, hospital, presettle);
        size_t len = sanhe__request__get_packed_size(req);
        while (total + 4 + len > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        buf[total] = (uint8_t)(len >> 24), buf[total + 1] = (uint8_t)(len >> 16);
        buf[total + 2] = (uint8_t)(len >> 8), buf[total + 3] = (uint8_t)len;
        sanhe__request__pack(req, buf + total + 4);
        total += 4 + len;
        request_free(req);
    }
    assert_int_equal(tc_send_raw(tc, buf, total), 0);
    free(buf);
}

/* Every reply, in order: the k-th carries "prefix-k". */
static void recv_in_order(struct tc *tc, const char *prefix, int n, bool presettle)
{
    for (int k = 0; k < n; k++) {
        Sanhe__Response *resp = NULL;
        int rc = tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS * 2);
        if (rc != 0)
            print_error("%s: reply %d: %s\n", prefix, k, tc_last_error(tc));
        assert_int_equal(rc, 0);
        char want[48];
        snprintf(want, sizeof want, "%s-%d", prefix, k);
        assert_non_null(resp->request_id);
        if (strcmp(resp->request_id, want) != 0)
            print_error("%s: reply %d is %s\n", prefix, k, resp->request_id);
        assert_string_equal(resp->request_id, want);
        assert_int_equal(response_error(resp), 0);
        assert_int_equal(resp->result_case, presettle ? SANHE__RESPONSE__RESULT_PRESETTLE
                                                      : SANHE__RESPONSE__RESULT_SETTLE);
        sanhe__response__free_unpacked(resp, NULL);
    }
}

static json_int_t stat_get(const json_t *stats, const char *key)
{
    json_t *v = json_object_get(stats, key);
    if (!json_is_integer(v))
        print_error("stats_file has no %s\n", key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* The counters since the engine started: no iteration wrote more than once
 * to any connection, so never more than the connections open (conns). */
static void check_writes_per_iteration(int conns, int replies)
{
    json_t *stats = fixture_stats(&fixture);
    assert_non_null(stats);
    json_int_t socket_max = stat_get(stats, "socket_writes_iteration_max");
    json_int_t tls_max = stat_get(stats, "tls_writes_iteration_max");
    json_int_t writes = stat_get(stats, "socket_writes");
    json_int_t total = stat_get(stats, "replies");
    fprintf(stderr,
            "%lld replies in %lld socket writes (%lld TLS writes) over %lld iterations; "
            "at most %lld socket and %lld TLS writes in one iteration, %d connections\n",
            (long long)total, (long long)writes, (long long)stat_get(stats, "tls_writes"),
            (long long)stat_get(stats, "output_iterations"), (long long)socket_max,
            (long long)tls_max, conns);
    assert_true(total >= replies);
    assert_in_range(socket_max, 1, conns);
    assert_in_range(tls_max, 1, conns);
    /* Some writes carried many replies (a burst's reads, a batch). */
    assert_true(writes < total);
    json_decref(stats);
}

/* One connection, a burst of reads answered at once: in order, and one
 * write per iteration. This burst alone took the engine several writes in
 * one iteration when each socket read's replies were written at once. */
static void test_one_connection_burst(void **state)
{
    (void)state;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, names[0], false, &tc), 0);
    send_burst(tc, "one", hospitals[0], READ_BURST, true);
    recv_in_order(tc, "one", READ_BURST, true);
    check_writes_per_iteration(1, READ_BURST);
    tc_close(tc);
}

/* Several connections at once, reads then writes: every reply, in order on
 * each connection, and at most one write per connection per iteration. */
static void test_connections_pipelined(void **state)
{
    (void)state;
    struct tc *tcs[CONNS];
    char prefix[CONNS][16];
    for (int c = 0; c < CONNS; c++) {
        assert_int_equal(fixture_connect(&fixture, names[c], false, &tcs[c]), 0);
        snprintf(prefix[c], sizeof prefix[c], "r%d", c);
    }
    for (int c = 0; c < CONNS; c++)
        send_burst(tcs[c], prefix[c], hospitals[c], READ_BURST, true);
    for (int c = 0; c < CONNS; c++)
        recv_in_order(tcs[c], prefix[c], READ_BURST, true);
    /* Settles: answered by batches, in commit order, which on one
     * connection is the order sent. */
    for (int c = 0; c < CONNS; c++) {
        snprintf(prefix[c], sizeof prefix[c], "w%d", c);
        send_burst(tcs[c], prefix[c], hospitals[c], WRITE_BURST, false);
    }
    for (int c = 0; c < CONNS; c++)
        recv_in_order(tcs[c], prefix[c], WRITE_BURST, false);
    check_writes_per_iteration(CONNS, CONNS * (READ_BURST + WRITE_BURST));
    for (int c = 0; c < CONNS; c++)
        tc_close(tcs[c]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_connection_burst),
        cmocka_unit_test(test_connections_pipelined),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
