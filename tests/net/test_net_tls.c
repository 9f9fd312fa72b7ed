/*
 * sanhe-engine over TLS: a settle is answered; clients without a certificate,
 * with one from another CA, or whose CN names no terminal are refused; a
 * counter cannot touch another hospital's settlements.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_fixture.h"

static struct engine_fixture fixture;

static int group_setup(void **state)
{
    (void)state;
    return fixture_start(&fixture, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

/* Settles with `terminal` and returns the response (NULL when none came). */
static Sanhe__Response *call_as(const char *terminal, Sanhe__Request *request)
{
    struct tc *tc;
    Sanhe__Response *resp = NULL;
    assert_int_equal(fixture_connect(&fixture, terminal, false, &tc), 0);
    int rc = tc_call(tc, request, &resp, FIXTURE_TIMEOUT_MS);
    if (rc != 0)
        print_error("%s: %s\n", terminal, tc_last_error(tc));
    assert_int_equal(rc, 0);
    tc_close(tc);
    request_free(request);
    return resp;
}

static void test_settle_answers(void **state)
{
    (void)state;
    Sanhe__Response *resp = call_as("counter-h1", request_settle("tls-1", FIXTURE_H1, false));
    assert_int_equal(response_error(resp), 0);
    assert_string_equal(resp->request_id, "tls-1");
    assert_int_equal(resp->result_case, SANHE__RESPONSE__RESULT_SETTLE);
    assert_true(resp->settle->settlement_id > 0);
    assert_non_null(resp->settle->breakdown);
    assert_int_equal(resp->settle->breakdown->total, 5000);
    sanhe__response__free_unpacked(resp, NULL);

    resp = call_as("counter-h1", request_settle("tls-1p", FIXTURE_H1, true));
    assert_int_equal(response_error(resp), 0);
    assert_int_equal(resp->result_case, SANHE__RESPONSE__RESULT_PRESETTLE);
    assert_true(resp->presettle->breakdown->trial);
    sanhe__response__free_unpacked(resp, NULL);
}

/* The refusal may show during the handshake or on the first read (in TLS
 * 1.3 the client finishes before the server has judged its certificate);
 * either way no Response ever comes. */
static void assert_refused(const char *terminal, bool other_ca)
{
    struct tc *tc = NULL;
    int rc = fixture_connect(&fixture, terminal, other_ca, &tc);
    if (rc == 0) {
        Sanhe__Request *req = request_settle("refused-1", FIXTURE_H1, false);
        Sanhe__Response *resp = NULL;
        rc = tc_send(tc, req);
        if (rc == 0)
            rc = tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS);
        assert_null(resp);
        request_free(req);
        tc_close(tc);
    }
    assert_int_equal(rc, SH_E_UNAVAILABLE);
}

static void test_no_certificate_refused(void **state)
{
    (void)state;
    assert_refused(NULL, false);
    assert_int_equal(fixture_settle_once(&fixture, "tls-after-nocert"), 0);
}

static void test_other_ca_refused(void **state)
{
    (void)state;
    assert_refused("counter-h1", true);
    assert_true(fixture_log_contains(&fixture, "TLS handshake failed"));
    assert_int_equal(fixture_settle_once(&fixture, "tls-after-otherca"), 0);
}

static void test_unknown_terminal_forbidden(void **state)
{
    (void)state;
    Sanhe__Response *resp = call_as("stranger", request_settle("tls-s1", FIXTURE_H1, false));
    assert_int_equal(response_error(resp), SH_E_FORBIDDEN);
    assert_string_equal(resp->request_id, "tls-s1");
    sanhe__response__free_unpacked(resp, NULL);
    assert_true(fixture_log_contains(&fixture, "FORBIDDEN: terminal stranger"));
}

static void test_other_hospital_forbidden(void **state)
{
    (void)state;
    Sanhe__Response *resp = call_as("counter-h1", request_settle("tls-h1", FIXTURE_H1, false));
    assert_int_equal(response_error(resp), 0);
    uint64_t id = resp->settle->settlement_id;
    sanhe__response__free_unpacked(resp, NULL);

    /* counter-h2 comes from the configuration's [terminals] (the fallback). */
    resp = call_as("counter-h2", request_query("tls-q1", id));
    assert_int_equal(response_error(resp), SH_E_FORBIDDEN);
    assert_string_equal(resp->request_id, "tls-q1");
    sanhe__response__free_unpacked(resp, NULL);

    resp = call_as("counter-h2", request_settle("tls-h2", FIXTURE_H1, false));
    assert_int_equal(response_error(resp), SH_E_FORBIDDEN);
    sanhe__response__free_unpacked(resp, NULL);

    /* Its own hospital's claim goes through. */
    resp = call_as("counter-h2", request_settle("tls-h2b", FIXTURE_H2, false));
    assert_int_equal(response_error(resp), 0);
    sanhe__response__free_unpacked(resp, NULL);

    /* The owner may query it. */
    resp = call_as("counter-h1", request_query("tls-q2", id));
    assert_int_equal(response_error(resp), 0);
    sanhe__response__free_unpacked(resp, NULL);
    assert_true(fixture_log_contains(&fixture, "FORBIDDEN: terminal counter-h2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settle_answers),
        cmocka_unit_test(test_no_certificate_refused),
        cmocka_unit_test(test_other_ca_refused),
        cmocka_unit_test(test_unknown_terminal_forbidden),
        cmocka_unit_test(test_other_hospital_forbidden),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
