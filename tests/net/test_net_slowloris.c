/*
 * Slow connections from one stolen certificate (issue 24): a terminal that
 * opens every slot and trickles a frame's bytes must not keep another
 * hospital out, and a trickle must not keep a connection open.
 *
 * Only keys older than the defence are configured (connections_max,
 * idle_timeout_ms), so that this program runs unchanged against an older
 * engine (SANHE_TEST_ENGINE=...): there the attacker holds every slot and
 * both tests fail. The defence under test is the default per-terminal share
 * (connections_per_terminal_max = 16) and an idle timer that counts whole
 * frames only.
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

#define SLOTS 32
#define ATTACKERS 40 /* more than every slot */
#define VICTIMS 8

static struct engine_fixture fixture;

static int group_setup(void **state)
{
    (void)state;
    return fixture_start(&fixture, "connections_max = 32\nidle_timeout_ms = 1500");
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A frame header announcing 1000 bytes, and its first byte. */
static int loris_start(struct tc *tc)
{
    static const uint8_t start[5] = {0, 0, 0x03, 0xe8, 0x0a};
    return tc_send_raw(tc, start, sizeof start);
}

/* A presettle as counter-h2 on a new connection: 0 when served. */
static int victim_try(struct tc **out, int n)
{
    char id[32];
    snprintf(id, sizeof id, "victim-%d", n);
    *out = NULL;
    struct tc *tc;
    int rc = fixture_connect(&fixture, "counter-h2", false, &tc);
    if (rc != 0)
        return rc;
    Sanhe__Request *req = request_settle(id, FIXTURE_H2, true);
    Sanhe__Response *resp = NULL;
    rc = tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS);
    request_free(req);
    if (rc == 0)
        rc = response_error(resp);
    sanhe__response__free_unpacked(resp, NULL);
    if (rc != 0) {
        tc_close(tc);
        return rc;
    }
    *out = tc;
    return 0;
}

static void test_other_hospital_gets_slots(void **state)
{
    (void)state;
    struct tc *loris[ATTACKERS] = {0};
    int held = 0;
    for (int i = 0; i < ATTACKERS; i++) {
        if (fixture_connect(&fixture, "counter-h1", false, &loris[i]) == 0 &&
            loris_start(loris[i]) == 0)
            held++;
    }
    assert_int_equal(held, ATTACKERS);  /* TLS 1.3: the client cannot tell yet */
    sleep_ms(300);                      /* the engine has seen every handshake */
    for (int i = 0; i < ATTACKERS; i++) /* a byte each: still "active" */
        tc_send_raw(loris[i], "\x0a", 1);

    struct tc *victims[VICTIMS] = {0};
    int served = 0;
    for (int i = 0; i < VICTIMS; i++)
        served += victim_try(&victims[i], i) == 0;
    fprintf(stderr,
            "slow-loris: %d connections of counter-h1 against connections_max %d; "
            "counter-h2 got %d of %d connections served\n",
            ATTACKERS, SLOTS, served, VICTIMS);
    for (int i = 0; i < VICTIMS; i++)
        tc_close(victims[i]);
    for (int i = 0; i < ATTACKERS; i++)
        tc_close(loris[i]);
    assert_int_equal(served, VICTIMS);
    /* The stats file is rewritten on a timer, and on a loaded machine the
     * engine may not have refused the last attackers yet: wait for the
     * count, up to 10 s, rather than read it once. */
    json_int_t refused = 0;
    for (int waited = 0; waited < 10000 && refused < ATTACKERS - 16; waited += 100) {
        json_t *stats = fixture_stats(&fixture);
        assert_non_null(stats);
        refused = json_integer_value(json_object_get(stats, "connections_refused_share"));
        json_decref(stats);
        if (refused < ATTACKERS - 16)
            sleep_ms(100);
    }
    fprintf(stderr, "slow-loris: connections_refused_share %lld\n", (long long)refused);
    assert_true(refused >= ATTACKERS - 16);
}

/* One byte every 400 ms of a frame that never completes: under an idle
 * timeout of 1.5 s, closed within a few seconds all the same. */
static void test_trickle_is_idle(void **state)
{
    (void)state;
    sleep_ms(500); /* the previous test's connections go */
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    assert_int_equal(loris_start(tc), 0);
    int closed_after_ms = -1;
    for (int waited = 0; waited < 8000 && closed_after_ms < 0; waited += 400) {
        if (tc_wait_closed(tc, 400) == 0)
            closed_after_ms = waited;
        else
            tc_send_raw(tc, "\x0a", 1);
    }
    tc_close(tc);
    fprintf(stderr, "trickle: closed after %d ms (-1: still open after 8 s)\n", closed_after_ms);
    assert_true(closed_after_ms >= 0);
    assert_true(fixture_log_contains(&fixture, "idle timeout"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_other_hospital_gets_slots),
        cmocka_unit_test(test_trickle_is_idle),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
