/*
 * Malformed input: a frame over frame_max_bytes gets FRAME_TOO_LARGE and a
 * close; bytes that do not decode get BAD_FRAME and a close; a truncated
 * frame, plain TCP garbage and a silent TCP client get closed. After each,
 * the engine serves the next client normally.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "net_fixture.h"

#define FRAME_MAX 4096

static struct engine_fixture fixture;
static unsigned next_id;

static int group_setup(void **state)
{
    (void)state;
    char limits[128];
    snprintf(limits, sizeof limits, "frame_max_bytes = %d\nhandshake_timeout_ms = 1000", FRAME_MAX);
    return fixture_start(&fixture, limits);
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

static void assert_still_serving(void)
{
    char id[32];
    snprintf(id, sizeof id, "frames-ok-%u", ++next_id);
    assert_int_equal(fixture_settle_once(&fixture, id), 0);
}

/* Sends bytes; expects one error frame with `code` and then the close. */
static void assert_refused_with(const void *bytes, size_t len, int code)
{
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    assert_int_equal(tc_send_raw(tc, bytes, len), 0);
    Sanhe__Response *resp = NULL;
    int rc = tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS);
    if (rc != 0)
        print_error("recv: %s\n", tc_last_error(tc));
    assert_int_equal(rc, 0);
    assert_int_equal(response_error(resp), code);
    assert_non_null(resp->error->message);
    sanhe__response__free_unpacked(resp, NULL);
    assert_int_equal(tc_wait_closed(tc, FIXTURE_TIMEOUT_MS), 0);
    tc_close(tc);
}

static void test_frame_too_large(void **state)
{
    (void)state;
    uint8_t header[4];
    uint32_t len = htonl(FRAME_MAX + 1);
    memcpy(header, &len, 4);
    assert_refused_with(header, 4, SH_E_FRAME_TOO_LARGE);
    assert_true(fixture_log_contains(&fixture, "FRAME_TOO_LARGE"));
    assert_still_serving();

    /* A frame exactly at the limit is read (and then judged on content). */
    uint8_t *big = calloc(1, 4 + FRAME_MAX);
    len = htonl(FRAME_MAX);
    memcpy(big, &len, 4);
    memset(big + 4, 0xff, FRAME_MAX);
    assert_refused_with(big, 4 + FRAME_MAX, SH_E_BAD_FRAME);
    free(big);
    assert_still_serving();
}

static void test_garbage_is_bad_frame(void **state)
{
    (void)state;
    /* 16 bytes of 0xff: a varint that never ends. */
    uint8_t bytes[20] = {0, 0, 0, 16};
    memset(bytes + 4, 0xff, 16);
    assert_refused_with(bytes, sizeof bytes, SH_E_BAD_FRAME);
    assert_still_serving();

    /* Random bytes with a small length prefix. */
    uint8_t noise[4 + 200];
    noise[0] = 0, noise[1] = 0, noise[2] = 0, noise[3] = 200;
    srand(7);
    for (size_t i = 4; i < sizeof noise; i++)
        noise[i] = (uint8_t)(rand() | 0x80); /* continuation bits everywhere */
    assert_refused_with(noise, sizeof noise, SH_E_BAD_FRAME);
    assert_still_serving();
}

static void test_broken_protobuf(void **state)
{
    (void)state;
    /* Field 10 (settle), length-delimited, claims 100 bytes but has 2. */
    const uint8_t bytes[] = {0, 0, 0, 4, 0x52, 100, 0x0a, 0x00};
    assert_refused_with(bytes, sizeof bytes, SH_E_BAD_FRAME);
    assert_still_serving();

    /* A valid request followed by garbage in the same write: the first is
     * answered, then BAD_FRAME. */
    Sanhe__Request *req = request_settle("frames-pre", FIXTURE_H1, true);
    size_t n = sanhe__request__get_packed_size(req);
    uint8_t *buf = malloc(4 + n + 6);
    uint32_t len = htonl((uint32_t)n);
    memcpy(buf, &len, 4);
    sanhe__request__pack(req, buf + 4);
    const uint8_t tail[] = {0, 0, 0, 2, 0xff, 0xff};
    memcpy(buf + 4 + n, tail, sizeof tail);
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    assert_int_equal(tc_send_raw(tc, buf, 4 + n + sizeof tail), 0);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_string_equal(resp->request_id, "frames-pre");
    assert_int_equal(response_error(resp), 0);
    sanhe__response__free_unpacked(resp, NULL);
    assert_int_equal(tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), SH_E_BAD_FRAME);
    sanhe__response__free_unpacked(resp, NULL);
    assert_int_equal(tc_wait_closed(tc, FIXTURE_TIMEOUT_MS), 0);
    tc_close(tc);
    request_free(req);
    free(buf);
    assert_still_serving();
}

static void test_truncated_frame(void **state)
{
    (void)state;
    /* Half a frame, then the client goes away: no answer, no harm. */
    const uint8_t bytes[] = {0, 0, 0, 100, 0x0a, 0x03, 'a', 'b'};
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "counter-h1", false, &tc), 0);
    assert_int_equal(tc_send_raw(tc, bytes, sizeof bytes), 0);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(tc, &resp, 300), SH_E_TIMEOUT);
    tc_close(tc);
    assert_still_serving();
}

/* A plain TCP connection to 127.0.0.1:port, with a receive timeout. */
static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    return fd;
}

/* Reads until EOF or error; true when the server ended the connection. */
static bool tcp_closed_by_peer(int fd)
{
    char buf[1024];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            return true;
        if (n < 0)
            return errno != EAGAIN && errno != EWOULDBLOCK;
    }
}

static void test_not_tls(void **state)
{
    (void)state;
    int fd = tcp_connect(fixture.port);
    const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_true(send(fd, junk, sizeof junk - 1, MSG_NOSIGNAL) > 0);
    assert_true(tcp_closed_by_peer(fd));
    close(fd);
    assert_still_serving();
}

static void test_silent_client_times_out(void **state)
{
    (void)state;
    int fd = tcp_connect(fixture.port); /* handshake_timeout_ms = 1000 */
    assert_true(tcp_closed_by_peer(fd));
    close(fd);
    assert_true(fixture_log_contains(&fixture, "handshake timeout"));
    assert_still_serving();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_too_large), cmocka_unit_test(test_garbage_is_bad_frame),
        cmocka_unit_test(test_broken_protobuf), cmocka_unit_test(test_truncated_frame),
        cmocka_unit_test(test_not_tls),         cmocka_unit_test(test_silent_client_times_out),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
