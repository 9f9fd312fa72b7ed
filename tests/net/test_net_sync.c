/*
 * The group commit's sync, seen from a client. The server runs in this
 * process (its loop on a thread of the test) over a durable ledger whose
 * sync the test holds or fails through the ledger's test hooks
 * (ledger_test.h); certificates and reference data come from the net
 * fixture (a real engine, started once and halted).
 *
 *   - a write is not answered while the sync that follows its commit is
 *     held, and is answered once that sync has returned; a batch read
 *     meanwhile is applied but not committed while that sync runs (the
 *     writer's commit waits for it: engine/durable/durable.c), and is answered
 *     only after a sync of its own has returned;
 *   - a failed sync turns the replies of its batch into INTERNAL, and the
 *     ledger takes no write after it (reads go on).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <uv.h>

#include "ledger.h"
#include "ledger_test.h"
#include "net.h"
#include "net_fixture.h"

#define QUIET_MS 300 /* long enough for an early reply to show */

/* ---- The sync gate: ledger_sync waits in it while hold is set ------------ */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool hold;
    int entered;  /* syncs that reached the gate */
    int returned; /* syncs let through (ledger_sync returns right after) */
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0};

static struct timespec deadline_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The hook, on the pool thread that syncs; bounded so that a failed test
 * cannot hang the server. */
static void gate_pass(void *ctx)
{
    (void)ctx;
    struct timespec until = deadline_in(10000);
    pthread_mutex_lock(&gate.mu);
    gate.entered++;
    pthread_cond_broadcast(&gate.cv);
    while (gate.hold && pthread_cond_timedwait(&gate.cv, &gate.mu, &until) != ETIMEDOUT)
        ;
    gate.returned++;
    pthread_mutex_unlock(&gate.mu);
}

static void gate_set(bool hold)
{
    pthread_mutex_lock(&gate.mu);
    gate.hold = hold;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

static int gate_count(const int *counter)
{
    pthread_mutex_lock(&gate.mu);
    int n = *counter;
    pthread_mutex_unlock(&gate.mu);
    return n;
}

static int gate_returned(void) { return gate_count(&gate.returned); }

/* Waits until n syncs have reached the gate; false after 5 s. */
static bool gate_wait_entered(int n)
{
    struct timespec until = deadline_in(FIXTURE_TIMEOUT_MS);
    pthread_mutex_lock(&gate.mu);
    int rc = 0;
    while (gate.entered < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&gate.cv, &gate.mu, &until);
    bool ok = gate.entered >= n;
    pthread_mutex_unlock(&gate.mu);
    return ok;
}

/* ---- The server in this process ------------------------------------------ */

static struct {
    struct engine_fixture fx; /* its directory: certs and loaded data */
    struct ledger *ledger;
    uv_loop_t loop;
    uv_async_t stop;
    struct net_server *server;
    pthread_t thread;
} srv;

static void srv_on_stopped(void *ctx)
{
    (void)ctx;
    uv_close((uv_handle_t *)&srv.stop, NULL);
}

static void srv_on_stop(uv_async_t *async)
{
    (void)async;
    net_server_stop(srv.server, srv_on_stopped, NULL);
}

static void *srv_run(void *arg)
{
    (void)arg;
    uv_run(&srv.loop, UV_RUN_DEFAULT);
    return NULL;
}

static int srv_open_ledger(void)
{
    char dir[PATH_MAX];
    struct ledger_config lc = {
        .dir = fixture_path(&srv.fx, "data", dir), .durable = true, .utc_offset_min = 480};
    struct sh_error err = {0};
    if (ledger_open(&lc, &srv.ledger, &err) != 0) {
        fprintf(stderr, "ledger_open: %s\n", err.msg);
        return -1;
    }
    ledger_test_on_sync(srv.ledger, gate_pass, NULL);
    return 0;
}

static int srv_start(void)
{
    char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
    struct net_config nc = {
        .listen_host = "127.0.0.1",
        .tls_ca = fixture_path(&srv.fx, "certs/ca.crt", ca),
        .tls_cert = fixture_path(&srv.fx, "certs/engine.crt", cert),
        .tls_key = fixture_path(&srv.fx, "certs/engine.key", key),
        .limits = {.frame_max_bytes = NET_FRAME_MAX_BYTES_DEFAULT,
                   .connections_max = NET_CONNECTIONS_MAX_DEFAULT,
                   .inflight_max = NET_INFLIGHT_MAX_DEFAULT,
                   .batch_max = NET_BATCH_MAX_DEFAULT,
                   .output_max_bytes = NET_OUTPUT_MAX_BYTES_DEFAULT,
                   .handshake_timeout_ms = NET_HANDSHAKE_TIMEOUT_MS_DEFAULT,
                   .idle_timeout_ms = NET_IDLE_TIMEOUT_MS_DEFAULT},
    };
    struct sh_error err = {0};
    if (uv_loop_init(&srv.loop) != 0)
        return -1;
    if (net_server_create(&srv.loop, &nc, srv.ledger, &srv.server, &err) != 0) {
        fprintf(stderr, "net_server_create: %s\n", err.msg);
        return -1;
    }
    srv.fx.port = net_server_port(srv.server); /* fixture_connect dials it */
    uv_async_init(&srv.loop, &srv.stop, srv_on_stop);
    return pthread_create(&srv.thread, NULL, srv_run, NULL) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (fixture_start(&srv.fx, NULL) != 0 || fixture_halt(&srv.fx) != 0)
        return -1;
    return srv_open_ledger() == 0 && srv_start() == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    gate_set(false);
    uv_async_send(&srv.stop);
    pthread_join(srv.thread, NULL);
    net_server_free(srv.server);
    int rc = uv_loop_close(&srv.loop);
    ledger_close(srv.ledger);
    fixture_stop(&srv.fx);
    return rc == 0 ? 0 : -1;
}

/* ---- Tests -------------------------------------------------------------- */

static struct tc *connect_counter(void)
{
    struct tc *tc = NULL;
    assert_int_equal(fixture_connect(&srv.fx, "counter-h1", false, &tc), 0);
    return tc;
}

static void send_settle(struct tc *tc, const char *request_id)
{
    Sanhe__Request *req = request_settle(request_id, FIXTURE_H1, false);
    assert_int_equal(tc_send(tc, req), 0);
    request_free(req);
}

/* The reply's error code; *syncs: syncs returned when it arrived. */
static int recv_reply(struct tc *tc, const char *request_id, int *syncs)
{
    Sanhe__Response *resp = NULL;
    int rc = tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS);
    *syncs = gate_returned();
    if (rc != 0)
        fail_msg("no reply to %s: %s", request_id, tc_last_error(tc));
    assert_string_equal(resp->request_id, request_id);
    int code = response_error(resp);
    sanhe__response__free_unpacked(resp, NULL);
    return code;
}

static void assert_no_reply(struct tc *tc)
{
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(tc, &resp, QUIET_MS), SH_E_TIMEOUT);
}

/* Whether settlement id is committed (a query finds it). */
static bool committed(struct tc *tc, uint64_t id)
{
    Sanhe__Request *q = request_query("q", id);
    Sanhe__Response *resp = NULL;
    int rc = tc_call(tc, q, &resp, FIXTURE_TIMEOUT_MS);
    request_free(q);
    assert_int_equal(rc, 0);
    bool found = response_error(resp) == 0;
    sanhe__response__free_unpacked(resp, NULL);
    return found;
}

static void test_reply_waits_for_its_sync(void **state)
{
    (void)state;
    struct tc *a = connect_counter(), *b = connect_counter(), *reader = connect_counter();
    int before = gate_returned(), entered = gate_count(&gate.entered);
    gate_set(true);
    send_settle(a, "sync-a");
    assert_true(gate_wait_entered(entered + 1)); /* batch 1 committed, its sync held */
    assert_no_reply(a);
    /* Batch 2 is read and applied beside the held sync, but its commit
     * waits for that sync to end: after a while it is still not there. */
    send_settle(b, "sync-b");
    assert_no_reply(b);
    assert_false(committed(reader, 2));
    assert_no_reply(a);
    assert_int_equal(gate_count(&gate.entered), entered + 1); /* no other sync began */
    gate_set(false);
    int syncs = 0;
    assert_int_equal(recv_reply(a, "sync-a", &syncs), 0);
    assert_true(syncs >= before + 1);
    assert_int_equal(recv_reply(b, "sync-b", &syncs), 0);
    assert_true(syncs >= before + 2);
    tc_close(a);
    tc_close(b);
    tc_close(reader);
}

/* Last: after it the ledger takes no more writes. */
static void test_failed_sync_refuses_the_batch(void **state)
{
    (void)state;
    struct tc *tc = connect_counter();
    ledger_test_fail_sync(srv.ledger, EIO);
    int syncs = 0;
    send_settle(tc, "fail-1");
    assert_int_equal(recv_reply(tc, "fail-1", &syncs), SH_E_INTERNAL);
    send_settle(tc, "fail-2");
    assert_int_equal(recv_reply(tc, "fail-2", &syncs), SH_E_INTERNAL);
    /* Reads still answer. */
    Sanhe__Request *req = request_settle("fail-3", FIXTURE_H1, true);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS), 0);
    assert_int_equal(response_error(resp), 0);
    sanhe__response__free_unpacked(resp, NULL);
    request_free(req);
    tc_close(tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_waits_for_its_sync),
        cmocka_unit_test(test_failed_sync_refuses_the_batch),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
