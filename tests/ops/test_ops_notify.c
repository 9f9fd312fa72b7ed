/*
 * sd_notify (engine/app/notify.c), checked against the protocol itself:
 * the test is systemd's side, a datagram socket named in NOTIFY_SOCKET,
 * with WATCHDOG_USEC set as systemd sets it. The engine says READY=1 once it
 * listens, WATCHDOG=1 at half the period, RELOADING=1 then READY=1 around
 * a SIGHUP, STOPPING=1 on SIGTERM.
 */
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ops_util.h"

static struct engine_fixture f;
static int sock = -1;
static char sock_path[108];

/* Reads datagrams until one contains text (timeout_ms in all). */
static bool notified(const char *text, int timeout_ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited >= timeout_ms)
            return false;
        struct pollfd p = {.fd = sock, .events = POLLIN};
        if (poll(&p, 1, (int)(timeout_ms - waited)) <= 0)
            continue;
        char msg[1024];
        ssize_t n = recv(sock, msg, sizeof msg - 1, 0);
        if (n <= 0)
            continue;
        msg[n] = '\0';
        if (strstr(msg, text) != NULL)
            return true;
    }
}

static void test_notify(void **state)
{
    (void)state;
    snprintf(sock_path, sizeof sock_path, "/tmp/sanhe-notify-%d.sock", (int)getpid());
    unlink(sock_path);
    sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(sock >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path);
    assert_int_equal(bind(sock, (struct sockaddr *)&addr, sizeof addr), 0);
    setenv("NOTIFY_SOCKET", sock_path, 1);
    setenv("WATCHDOG_USEC", "1000000", 1); /* pings every 500 ms */
    assert_int_equal(fixture_start(&f, NULL), 0);
    assert_true(notified("READY=1", 10000));
    assert_true(ops_log_wait(&f, "systemd watchdog: a ping every 500 ms", 5000));
    assert_true(notified("WATCHDOG=1", 5000));
    assert_true(notified("WATCHDOG=1", 5000));
    kill(f.pid, SIGHUP);
    assert_true(notified("RELOADING=1", 10000));
    assert_true(notified("READY=1", 10000));
    assert_int_equal(fixture_settle_once(&f, "n-1"), 0);
    /* The stop's datagram waits in the socket until read. */
    assert_int_equal(fixture_stop(&f), 0);
    assert_true(notified("STOPPING=1", 2000));
}

static int teardown(void **state)
{
    (void)state;
    fixture_stop(&f);
    if (sock >= 0)
        close(sock);
    unlink(sock_path);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_notify, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
