/*
 * Memory pinned by one stolen certificate (issue 24): connections that each
 * hold an unfinished frame of nearly frame_max_bytes must not grow the
 * engine by their number, the memory must be given back once they are gone,
 * and another hospital is served meanwhile.
 *
 * No key is configured (the defaults: frame_max_bytes 1 MiB), so that the
 * program runs unchanged against an older engine (SANHE_TEST_ENGINE=...):
 * there RSS grows by about 1 MiB per connection and stays high after they
 * close, and the test fails. The defences under test are the per-terminal
 * share of connections and the way buffers are given back (conn_limits.c).
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

#define PINNERS 96
#define FRAME_BYTES (1000u * 1000u) /* under the default frame_max_bytes */
#define GROWTH_MAX_KB (40 * 1024)   /* 96 MB would be pinned without a share */
#define AFTER_MAX_KB (16 * 1024)

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

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int served_presettle(const char *id)
{
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
    tc_close(tc);
    return rc;
}

static void test_unfinished_frames(void **state)
{
    (void)state;
    assert_int_equal(served_presettle("pin-warm"), 0);
    long before_kb = fixture_rss_kb(&fixture);
    assert_true(before_kb > 0);

    /* Every byte but the last of a frame the engine must buffer whole. */
    uint8_t *frame = calloc(1, 4 + FRAME_BYTES - 1);
    assert_non_null(frame);
    frame[0] = (uint8_t)(FRAME_BYTES >> 24);
    frame[1] = (uint8_t)(FRAME_BYTES >> 16);
    frame[2] = (uint8_t)(FRAME_BYTES >> 8);
    frame[3] = (uint8_t)FRAME_BYTES;
    frame[4] = 0x0a; /* request_id, then junk bytes of its length */
    struct tc *pin[PINNERS] = {0};
    for (int i = 0; i < PINNERS; i++) {
        if (fixture_connect(&fixture, "counter-h1", false, &pin[i]) == 0)
            tc_send_raw(pin[i], frame, 4 + FRAME_BYTES - 1); /* may fail once refused */
    }
    free(frame);
    sleep_ms(1000); /* the engine reads what was sent */
    long during_kb = fixture_rss_kb(&fixture);
    int served = served_presettle("pin-other") == 0;

    for (int i = 0; i < PINNERS; i++)
        tc_close(pin[i]);
    long after_kb = -1;
    for (int waited = 0; waited < 6000; waited += 500) { /* closes, lingers, trims */
        sleep_ms(500);
        assert_int_equal(served_presettle("pin-after"), 0); /* frees and trims run */
        after_kb = fixture_rss_kb(&fixture);
        if (after_kb - before_kb < AFTER_MAX_KB)
            break;
    }
    fprintf(stderr,
            "pinning: %d connections x %u-byte unfinished frames: RSS %ld KiB before, %ld KiB "
            "during (+%ld), %ld KiB after they closed (+%ld); other hospital served: %d\n",
            PINNERS, FRAME_BYTES, before_kb, during_kb, during_kb - before_kb, after_kb,
            after_kb - before_kb, served);
    assert_true(served);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's allocator keeps freed and reallocated blocks in its quarantine
     * and puts redzones around each: RSS there measures ASan, not the
     * engine. The normal build, which the suite also runs, holds the bounds. */
    print_message("pinning: RSS bounds not asserted under AddressSanitizer\n");
#else
    assert_true(during_kb - before_kb < GROWTH_MAX_KB);
    assert_true(after_kb - before_kb < AFTER_MAX_KB);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unfinished_frames),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
