/*
 * SIGHUP reloads without a stop (engine/app/reload.c, engine/net/reload.c):
 * a CRL added, a terminal revoked by it (openssl ca -revoke through
 * ops/certs.sh), another disabled in the terminal table, the log level
 * changed; the connections of the others stay up and keep working; the
 * revoked and the disabled one are closed, refused at the next handshake
 * and logged by name; a broken file changes nothing; the engine stops with
 * 0 after all that.
 *
 * On the code before, the first SIGHUP killed the engine (exit 129): the
 * first call after it fails.
 */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ops_util.h"

static struct engine_fixture f;

static Sanhe__Request *settle(const char *id, const char *hospital)
{
    return request_settle(id, hospital, false);
}

static bool connects_and_works(const char *name, const char *hospital, const char *id)
{
    struct tc *tc;
    if (fixture_connect(&f, name, false, &tc) != 0)
        return false;
    bool ok = ops_call(tc, settle(id, hospital)) == 0;
    tc_close(tc);
    return ok;
}

static void test_reload(void **state)
{
    (void)state;
    assert_int_equal(fixture_start(&f, NULL), 0);
    struct tc *h1, *h2, *bureau;
    assert_int_equal(fixture_connect(&f, "counter-h1", false, &h1), 0);
    assert_int_equal(fixture_connect(&f, "counter-h2", false, &h2), 0);
    assert_int_equal(fixture_connect(&f, "bureau-1", false, &bureau), 0);
    assert_int_equal(ops_call(h1, settle("r-1", FIXTURE_H1)), 0);
    assert_int_equal(ops_call(h2, settle("r-2", FIXTURE_H2)), 0);

    /* 1. A CRL (none revoked yet) and the log level: everyone stays. */
    assert_int_equal(ops_certs(&f, "crl", NULL), 0);
    assert_int_equal(ops_conf_replace(&f, "level = debug", "level = info"), 0);
    assert_int_equal(ops_conf_append(&f, "[tls]\ncrl = certs/ca.crl\n"), 0);
    assert_int_equal(kill(f.pid, SIGHUP), 0);
    assert_true(ops_log_wait(&f, "reload 1: done", 10000));
    assert_true(fixture_log_contains(&f, "reload: 0 connections"));
    assert_true(fixture_log_contains(&f, "reload: [log] level debug -> info"));
    assert_true(fixture_log_contains(&f, "0 revoked"));
    assert_int_equal(ops_call(h1, settle("r-3", FIXTURE_H1)), 0);
    assert_int_equal(ops_call(h2, settle("r-4", FIXTURE_H2)), 0);

    /* 2. counter-h1 revoked by the CRL: its connection is closed, the
     * others go on; a new handshake of it is refused and logged by name. */
    assert_int_equal(ops_certs(&f, "revoke", "counter-h1"), 0);
    assert_int_equal(ops_conf_replace(&f, "inflight_max", "; was inflight_max"), -1);
    assert_int_equal(ops_conf_replace(&f, "[limits]\n", "[limits]\ninflight_max = 128\n"), 0);
    assert_int_equal(kill(f.pid, SIGHUP), 0);
    assert_true(ops_log_wait(&f, "reload 2: done", 10000));
    assert_true(fixture_log_contains(&f, "reload: 1 connection"));
    assert_true(fixture_log_contains(&f, "reload: [limits] inflight_max 256 -> 128"));
    assert_true(fixture_log_contains(&f, "terminal counter-h1: terminal's certificate revoked"));
    assert_int_equal(tc_wait_closed(h1, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(ops_call(h2, settle("r-5", FIXTURE_H2)), 0);
    assert_false(connects_and_works("counter-h1", FIXTURE_H1, "r-6"));
    assert_true(
        ops_log_wait(&f, "terminal counter-h1 refused at the handshake: its certificate", 5000));

    /* 3. counter-h2 disabled in the terminal table: the same. */
    assert_int_equal(ops_conf_replace(&f, FIXTURE_H2 " counter", FIXTURE_H2 " counter disabled"),
                     0);
    assert_int_equal(kill(f.pid, SIGHUP), 0);
    assert_true(ops_log_wait(&f, "reload 3: done", 10000));
    assert_true(fixture_log_contains(&f, "reload: terminal counter-h2 disabled"));
    assert_true(fixture_log_contains(&f, "terminal counter-h2: terminal disabled"));
    assert_int_equal(tc_wait_closed(h2, FIXTURE_TIMEOUT_MS), 0);
    assert_false(connects_and_works("counter-h2", FIXTURE_H2, "r-7"));
    assert_true(ops_log_wait(&f, "terminal counter-h2 refused at the handshake: disabled", 5000));

    /* 4. A broken file changes nothing. */
    assert_int_equal(ops_conf_append(&f, "[limits]\nno_such_key = 1\n"), 0);
    assert_int_equal(kill(f.pid, SIGHUP), 0);
    assert_true(ops_log_wait(&f, "reload refused, the running configuration stays", 10000));

    /* The bureau's connection, opened before every reload, still works. */
    Sanhe__Request *q = request_query("r-q", 1);
    int qrc = ops_call(bureau, q);
    assert_true(qrc != 1); /* answered (found or not), not cut */
    assert_int_equal(ops_conf_replace(&f, "no_such_key = 1", "; no_such_key = 1"), 0);
    tc_close(h1);
    tc_close(h2);
    tc_close(bureau);
    assert_int_equal(fixture_check(&f), 0);
    assert_int_equal(fixture_stop(&f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_reload)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
