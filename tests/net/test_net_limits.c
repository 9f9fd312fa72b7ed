/*
 * Connection limits: past connections_max a client is told LIMIT_EXCEEDED
 * and closed, and a slot freed is usable again; an idle connection is closed
 * after idle_timeout_ms; SIGTERM stops the engine cleanly (exit 0).
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

static struct engine_fixture fixture;

static int group_setup(void **state)
{
    (void)state;
    return fixture_start(&fixture, "connections_max = 2\nidle_timeout_ms = 1000");
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

/* Connects and completes one request, so the engine has surely counted it. */
static struct tc *connect_working(const char *id)
{
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    Sanhe__Request *req = request_settle(id, FIXTURE_H1, true);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), 0);
    sanhe__response__free_unpacked(resp, NULL);
    request_free(req);
    return tc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_connections_max(void **state)
{
    (void)state;
    struct tc *a = connect_working("lim-a");
    struct tc *b = connect_working("lim-b");

    struct tc *c;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &c), 0);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(c, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), SH_E_LIMIT_EXCEEDED);
    sanhe__response__free_unpacked(resp, NULL);
    assert_int_equal(tc_wait_closed(c, FIXTURE_TIMEOUT_MS), 0);
    tc_close(c);

    tc_close(a);
    /* The engine sees a's close shortly; then a new client gets in. */
    struct tc *d = NULL;
    for (int tries = 0; tries < 50 && d == NULL; tries++) {
        assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &d), 0);
        Sanhe__Request *req = request_settle("lim-d", FIXTURE_H1, true);
        assert_int_equal(tc_call(d, req, &resp, FIXTURE_TIMEOUT_MS), 0);
        request_free(req);
        if (response_error(resp) != 0) {
            assert_int_equal(response_error(resp), SH_E_LIMIT_EXCEEDED);
            tc_close(d);
            d = NULL;
            sleep_ms(50);
        }
        sanhe__response__free_unpacked(resp, NULL);
    }
    assert_non_null(d);
    tc_close(d);
    tc_close(b);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    sleep_ms(200); /* let the previous test's connections go */
    struct tc *tc = connect_working("idle-1");
    /* idle_timeout_ms = 1000: closed well within 5 s, without a request. */
    assert_int_equal(tc_wait_closed(tc, FIXTURE_TIMEOUT_MS), 0);
    tc_close(tc);
    assert_true(fixture_log_contains(&fixture, "idle timeout"));
}

static void test_graceful_stop(void **state)
{
    (void)state;
    /* SIGTERM with a connection open: the engine closes it and exits 0. */
    struct tc *tc = connect_working("stop-1");
    Sanhe__Request *req = request_settle("stop-2", FIXTURE_H1, false);
    assert_int_equal(tc_send(tc, req), 0);
    request_free(req);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), 0);
    sanhe__response__free_unpacked(resp, NULL);
    int status = fixture_stop(&fixture);
    assert_int_equal(status, 0);
    assert_int_equal(tc_wait_closed(tc, FIXTURE_TIMEOUT_MS), 0);
    tc_close(tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connections_max),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_graceful_stop),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
