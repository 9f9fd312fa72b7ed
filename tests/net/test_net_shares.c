/*
 * The fair-share keys themselves (docs/limits.md): frame_timeout_ms cuts a
 * frame that trickles in, however active; connections_per_hospital_max
 * holds all of a hospital's terminals; input_total_max_bytes refuses a big
 * frame once the engine's frame buffers are taken, while small frames are
 * still served. These keys are new: an older engine refuses this config.
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
    return fixture_start(&fixture, "idle_timeout_ms = 60000\n"
                                   "frame_timeout_ms = 2000\n"
                                   "connections_per_terminal_max = 8\n"
                                   "connections_per_hospital_max = 2\n"
                                   "input_total_max_bytes = 1048576");
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

static int presettle_on(struct tc *tc, const char *id, const char *hospital)
{
    Sanhe__Request *req = request_settle(id, hospital, true);
    Sanhe__Response *resp = NULL;
    int rc = tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS);
    request_free(req);
    if (rc == 0)
        rc = response_error(resp);
    sanhe__response__free_unpacked(resp, NULL);
    return rc;
}

static int presettle_as(const char *name, const char *hospital)
{
    struct tc *tc;
    int rc = fixture_connect(&fixture, name, false, &tc);
    if (rc == 0)
        rc = presettle_on(tc, "share-pre", hospital);
    tc_close(tc);
    return rc;
}

static void frame_header(uint8_t out[4], uint32_t len)
{
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
}

static void test_frame_deadline(void **state)
{
    (void)state;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h2", false, &tc), 0);
    uint8_t head[5];
    frame_header(head, 1000);
    head[4] = 0x0a;
    assert_int_equal(tc_send_raw(tc, head, sizeof head), 0);
    int closed_after_ms = -1;
    for (int waited = 0; waited < 8000 && closed_after_ms < 0; waited += 200) {
        if (tc_wait_closed(tc, 200) == 0)
            closed_after_ms = waited;
        else
            tc_send_raw(tc, "\x01", 1); /* a byte every 200 ms: never idle */
    }
    tc_close(tc);
    fprintf(stderr, "frame deadline: closed after %d ms\n", closed_after_ms);
    assert_true(closed_after_ms >= 0);
    assert_true(fixture_log_contains(&fixture, "frame_timeout_ms"));
    /* A frame sent in pieces well within the deadline is served. */
    assert_int_equal(fixture_connect(&fixture, "counter-h2", false, &tc), 0);
    Sanhe__Request *req = request_settle("share-pieces", FIXTURE_H2, true);
    size_t len = sanhe__request__get_packed_size(req);
    uint8_t *frame = malloc(4 + len);
    assert_non_null(frame);
    frame_header(frame, (uint32_t)len);
    sanhe__request__pack(req, frame + 4);
    request_free(req);
    for (size_t at = 0; at < 4 + len; at += 16) {
        assert_int_equal(tc_send_raw(tc, frame + at, 4 + len - at < 16 ? 4 + len - at : 16), 0);
        sleep_ms(10);
    }
    free(frame);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), 0);
    sanhe__response__free_unpacked(resp, NULL);
    tc_close(tc);
}

static void test_hospital_share(void **state)
{
    (void)state;
    sleep_ms(300);
    struct tc *a, *b, *c;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &a), 0);
    assert_int_equal(presettle_on(a, "share-a", FIXTURE_H1), 0);
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &b), 0);
    assert_int_equal(presettle_on(b, "share-b", FIXTURE_H1), 0);
    /* The terminal may hold 8, its hospital only 2. */
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &c), 0);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(c, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), SH_E_LIMIT_EXCEEDED);
    assert_non_null(strstr(resp->error->message, "connections_per_hospital_max"));
    sanhe__response__free_unpacked(resp, NULL);
    assert_int_equal(tc_wait_closed(c, FIXTURE_TIMEOUT_MS), 0);
    tc_close(c);
    /* Another hospital, and the bureau, are not counted with it. */
    assert_int_equal(presettle_as("counter-h2", FIXTURE_H2), 0);
    tc_close(a);
    tc_close(b);
}

static void test_input_budget(void **state)
{
    (void)state;
    sleep_ms(300);
    /* 700 KB of a frame held by h1, then 700 KB more asked by h2: past the
     * engine's 1 MiB of frame buffers. */
    uint32_t big = 700u * 1000u;
    uint8_t *frame = calloc(1, 4 + big);
    assert_non_null(frame);
    frame_header(frame, big);
    frame[4] = 0x0a;
    struct tc *a, *b;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &a), 0);
    assert_int_equal(tc_send_raw(a, frame, 4 + big - 1), 0);
    sleep_ms(100); /* well within a's frame_timeout_ms */
    assert_int_equal(fixture_connect(&fixture, "counter-h2", false, &b), 0);
    tc_send_raw(b, frame, 4 + big - 1); /* may fail once refused */
    free(frame);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(b, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), SH_E_LIMIT_EXCEEDED);
    assert_non_null(strstr(resp->error->message, "input_total_max_bytes"));
    sanhe__response__free_unpacked(resp, NULL);
    tc_close(b);
    /* Small frames need no share of it. */
    assert_int_equal(presettle_as("counter-h2", FIXTURE_H2), 0);
    tc_close(a);
    json_t *stats = fixture_stats(&fixture);
    assert_non_null(stats);
    assert_true(json_integer_value(json_object_get(stats, "input_memory_refused")) >= 1);
    assert_true(json_integer_value(json_object_get(stats, "frames_timed_out")) >= 1);
    assert_true(json_integer_value(json_object_get(stats, "connections_refused_share")) >= 1);
    json_decref(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_deadline),
        cmocka_unit_test(test_hospital_share),
        cmocka_unit_test(test_input_budget),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
