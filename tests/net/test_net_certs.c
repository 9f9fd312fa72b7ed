/*
 * Certificates bind more than a CN (issue 24). Certificates of the
 * fixture's own CA are made here with openssl:
 *
 *   forged   CN=counter-h1 but another O and OU: not counter-h1 (FORBIDDEN,
 *            and the log names its subject);
 *   noeku    counter-h1's subject without any extended key usage: refused
 *            in the handshake (clientAuth is required);
 *   server   counter-h1's subject with serverAuth only: refused, and the log
 *            gives OpenSSL's reason ("unsuitable certificate purpose") and
 *            the subject, as it does for a certificate of another CA.
 *
 * Only old keys are configured, so the program runs against an older
 * engine too (SANHE_TEST_ENGINE=...), where forged and noeku act as
 * counter-h1 and the log says "certificate verify failed" for every cause.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_fixture.h"

static struct engine_fixture fixture;

/* NAME.crt/.key in certs/, signed by the fixture's CA; ext: extension lines. */
static int make_cert(const char *name, const char *subject, const char *ext)
{
    char dir[PATH_MAX], script[PATH_MAX + 2048];
    fixture_path(&fixture, "certs", dir);
    int n =
        snprintf(script, sizeof script,
                 "set -e; cd '%s'; printf '%%s\\n' '%s' > %s.ext; "
                 "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 "
                 "-keyout %s.key -out %s.csr -subj '%s' 2>/dev/null; "
                 "openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key -sha256 -set_serial 0x%x "
                 "-days 30 -extfile %s.ext -out %s.crt 2>/dev/null",
                 dir, ext, name, name, name, subject, name, (unsigned)(strlen(name) * 7919u + 17u),
                 name, name);
    assert_true(n > 0 && (size_t)n < sizeof script);
    const char *const argv[] = {"/bin/sh", "-c", script, NULL};
    return fixture_run(argv, NULL, NULL);
}

static int group_setup(void **state)
{
    (void)state;
    if (fixture_start(&fixture, NULL) != 0)
        return -1;
    if (make_cert("forged", "/O=H330424999/OU=admin/CN=counter-h1",
                  "extendedKeyUsage=clientAuth") != 0 ||
        make_cert("noeku", "/O=" FIXTURE_H1 "/OU=counter/CN=counter-h1",
                  "basicConstraints=critical,CA:FALSE") != 0 ||
        make_cert("server", "/O=" FIXTURE_H1 "/OU=counter/CN=counter-h1",
                  "extendedKeyUsage=serverAuth") != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

/* A presettle as certificate NAME: its error code, or the client's
 * (SH_E_UNAVAILABLE when the handshake was refused). */
static int presettle_as(const char *name, bool other_ca)
{
    struct tc *tc;
    int rc = fixture_connect(&fixture, name, other_ca, &tc);
    if (rc != 0)
        return rc;
    Sanhe__Request *req = request_settle("cert-pre", FIXTURE_H1, true);
    Sanhe__Response *resp = NULL;
    rc = tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS);
    request_free(req);
    if (rc == 0)
        rc = response_error(resp);
    sanhe__response__free_unpacked(resp, NULL);
    tc_close(tc);
    return rc;
}

static void test_genuine_terminal_served(void **state)
{
    (void)state;
    assert_int_equal(presettle_as("counter-h1", false), 0);
}

static void test_cn_alone_is_not_enough(void **state)
{
    (void)state;
    assert_int_equal(presettle_as("forged", false), SH_E_FORBIDDEN);
    assert_true(fixture_log_contains(&fixture, "O=H330424999/OU=admin/CN=counter-h1 is not "
                                               "terminal counter-h1's"));
}

static void test_client_auth_required(void **state)
{
    (void)state;
    assert_int_equal(presettle_as("noeku", false), SH_E_UNAVAILABLE);
    assert_true(fixture_log_contains(&fixture, "unsuitable certificate purpose"));
}

static void test_failures_say_why_and_whose(void **state)
{
    (void)state;
    assert_int_equal(presettle_as("server", false), SH_E_UNAVAILABLE);
    assert_true(fixture_log_contains(&fixture,
                                     "unsuitable certificate purpose (depth 0); "
                                     "subject /O=" FIXTURE_H1 "/OU=counter/CN=counter-h1"));
    assert_int_equal(presettle_as("counter-h1", true), SH_E_UNAVAILABLE); /* another CA */
    assert_true(fixture_log_contains(&fixture, "unable to get local issuer certificate"));
    assert_true(
        fixture_log_contains(&fixture, "subject /O=" FIXTURE_H1 "/OU=counter/CN=counter-h1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_terminal_served),
        cmocka_unit_test(test_cn_alone_is_not_enough),
        cmocka_unit_test(test_client_auth_required),
        cmocka_unit_test(test_failures_say_why_and_whose),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
