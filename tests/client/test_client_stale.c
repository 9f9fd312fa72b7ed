/*
 * libsanhe-client against fake engines (no sanhe-engine): replies that are
 * not the pending request's (a request id that is a prefix of it, one it is
 * a prefix of, an unrelated one, none) are skipped; a refused connection
 * fails fast when asked to, a silent engine gets the whole deadline and no
 * more; a certificate the engine refuses is SANHE_E_TLS_REJECTED with the
 * alert named, at once. Times are bounded generously (the machine is
 * shared): ratios of the deadline, plus slack.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_engine.h"
#include "sandbox.h"
#include "sanhe/client.h"

#define SLACK_MS 300

static struct sandbox sb, other; /* other: a second CA, for the alert */
static char ca[4096], cert[4096], key[4096], engine_cert[4096], engine_key[4096];
static char other_ca[4096], other_cert[4096], other_key[4096];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct sanhe_line line = {"A001", 1000, 100};
static const struct sanhe_claim claim = {
    "H1", "330424194502020026", "outpatient", "2026-06-15", &line, 1};

static sanhe_client *client_on(int port, const char *cafile, const char *certfile,
                               const char *keyfile, int attempt_ms)
{
    char engines[64];
    snprintf(engines, sizeof engines, "127.0.0.1:%d", port);
    struct sanhe_client_options o = {.engines = engines,
                                     .ca_file = cafile,
                                     .cert_file = certfile,
                                     .key_file = keyfile,
                                     .terminal = "counter-H1",
                                     .attempt_timeout_ms = attempt_ms};
    sanhe_client *c = NULL;
    assert_int_equal(sanhe_client_new(&c, &o), 0);
    return c;
}

static void test_stale_replies_skipped(void **state)
{
    (void)state;
    struct fake_engine f;
    assert_int_equal(fake_engine_start(&f, FAKE_STALE_THEN_RIGHT, ca, engine_cert, engine_key), 0);
    sanhe_client *c = client_on(f.port, ca, cert, key, 0);
    struct sanhe_settle_result r;
    assert_int_equal(sanhe_settle(c, &claim, "req-abc", 5000, &r), 0);
    assert_int_equal(r.settlement_id, FAKE_RIGHT_ID); /* not a stale one's */
    sanhe_settle_result_free(&r);
    /* A generated request id too: the prefix of it is stale. */
    assert_int_equal(sanhe_settle(c, &claim, NULL, 5000, &r), 0);
    assert_int_equal(r.settlement_id, FAKE_RIGHT_ID);
    sanhe_settle_result_free(&r);
    sanhe_client_free(c);
    fake_engine_stop(&f);
}

/* Only stale replies: the settle is never taken as answered; after the
 * deadline its outcome is unknown, and the deadline holds. */
static void test_only_stale_replies(void **state)
{
    (void)state;
    struct fake_engine f;
    assert_int_equal(fake_engine_start(&f, FAKE_STALE_ONLY, ca, engine_cert, engine_key), 0);
    sanhe_client *c = client_on(f.port, ca, cert, key, 300);
    struct sanhe_settle_result r;
    int64_t t0 = now_ms();
    assert_int_equal(sanhe_settle(c, &claim, "req-only-stale", 1000, &r), SANHE_E_OUTCOME_UNKNOWN);
    int64_t took = now_ms() - t0;
    assert_true(took >= 900 && took <= 1000 + SLACK_MS);
    assert_true(atomic_load(&f.requests) >= 2); /* it was resent, same id */
    sanhe_client_free(c);
    fake_engine_stop(&f);
}

/* A port nothing listens on. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_refused_fails_fast(void **state)
{
    (void)state;
    sanhe_client *c = client_on(closed_port(), ca, cert, key, 0);
    sanhe_client_fail_fast(c, 1);
    struct sanhe_settle_result r;
    int64_t t0 = now_ms();
    assert_int_equal(sanhe_settle(c, &claim, "req-refused", 4000, &r), SANHE_E_UNREACHABLE);
    int64_t took = now_ms() - t0;
    assert_true(took < 4000 / 4); /* at once, not the deadline */
    assert_non_null(strstr(sanhe_last_message(c), "refused"));
    /* Without fail-fast the library waits for the engine to come back. */
    sanhe_client_fail_fast(c, 0);
    t0 = now_ms();
    assert_int_equal(sanhe_settle(c, &claim, "req-refused", 800, &r), SANHE_E_UNREACHABLE);
    took = now_ms() - t0;
    assert_true(took >= 700 && took <= 800 + SLACK_MS);
    sanhe_client_free(c);
}

/* Listening, never accepting: connects, and the handshake never ends. */
static void test_silent_engine_gets_the_deadline(void **state)
{
    (void)state;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    sanhe_client *c = client_on(ntohs(a.sin_port), ca, cert, key, 0);
    sanhe_client_fail_fast(c, 1);
    struct sanhe_settle_result r;
    int64_t t0 = now_ms();
    assert_int_equal(sanhe_settle(c, &claim, "req-silent", 1000, &r), SANHE_E_UNREACHABLE);
    int64_t took = now_ms() - t0;
    assert_true(took >= 900 && took <= 1000 + SLACK_MS);
    sanhe_client_free(c);
    close(fd);
}

/* The engine trusts another CA: it refuses the terminal's certificate with
 * an alert, and the client says so at once (not "no reply"). */
static void test_tls_alert_reported(void **state)
{
    (void)state;
    struct fake_engine f;
    assert_int_equal(
        fake_engine_start(&f, FAKE_STALE_THEN_RIGHT, other_ca, engine_cert, engine_key), 0);
    sanhe_client *c = client_on(f.port, ca, cert, key, 0);
    struct sanhe_settle_result r;
    int64_t t0 = now_ms();
    assert_int_equal(sanhe_settle(c, &claim, "req-alert", 4000, &r), SANHE_E_TLS_REJECTED);
    assert_true(now_ms() - t0 < 4000 / 4);
    assert_non_null(strstr(sanhe_last_message(c), "unknown CA"));
    assert_int_equal(atomic_load(&f.requests), 0);
    sanhe_client_free(c);
    /* The other way: the engine's certificate is not of the client's CA. */
    c = client_on(f.port, other_ca, other_cert, other_key, 0);
    t0 = now_ms();
    assert_int_equal(sanhe_settle(c, &claim, "req-alert", 4000, &r), SANHE_E_TLS_REJECTED);
    assert_true(now_ms() - t0 < 4000 / 4);
    assert_non_null(strstr(sanhe_last_message(c), "does not verify"));
    sanhe_client_free(c);
    fake_engine_stop(&f);
}

static int setup(void **state)
{
    (void)state;
    struct sh_error err = {0};
    if (sandbox_create(&sb, "sanhe-stale-test", SANHE_ENGINE_PATH, SANHE_CERTS_SCRIPT, &err) != 0 ||
        sandbox_add_terminal(&sb, "counter-H1", "H1", "counter", &err) != 0 ||
        sandbox_create(&other, "sanhe-stale-other", SANHE_ENGINE_PATH, SANHE_CERTS_SCRIPT, &err) !=
            0 ||
        sandbox_add_terminal(&other, "counter-H1", "H1", "counter", &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    sandbox_path(&sb, "certs/ca.crt", ca);
    sandbox_path(&sb, "certs/counter-H1.crt", cert);
    sandbox_path(&sb, "certs/counter-H1.key", key);
    sandbox_path(&sb, "certs/engine.crt", engine_cert);
    sandbox_path(&sb, "certs/engine.key", engine_key);
    sandbox_path(&other, "certs/ca.crt", other_ca);
    sandbox_path(&other, "certs/counter-H1.crt", other_cert);
    sandbox_path(&other, "certs/counter-H1.key", other_key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sandbox_destroy(&sb, false);
    sandbox_destroy(&other, false);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_replies_skipped),
        cmocka_unit_test(test_only_stale_replies),
        cmocka_unit_test(test_refused_fails_fast),
        cmocka_unit_test(test_silent_engine_gets_the_deadline),
        cmocka_unit_test(test_tls_alert_reported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
