/*
 * sanhe_pipe (libsanhe-client's pipelined form) against a real engine:
 * hundreds of settles in flight at once on one connection and one loop,
 * every one answered exactly once and matched to its own request id; a
 * resend of a request id gets the first reply byte for byte; a refusal
 * comes back with its bytes; the engine restarted while calls are in
 * flight: every call is written again on the new connection and lands once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "client_fixture.h"
#include "sanhe.pb-c.h"

#define CALLS 300
#define HOSPITAL "H330424001"
#define PERSON "330424194502020026"

static int failures;
static uv_loop_t loop;

struct call {
    char request_id[32];
    int status, ran;
    uint8_t *reply;
    size_t len;
};

static struct call calls[CALLS + 8];

static void on_reply(int status, const void *reply, size_t len, void *arg)
{
    struct call *c = arg;
    c->status = status;
    c->ran++;
    if (reply != NULL) {
        c->reply = malloc(len);
        memcpy(c->reply, reply, len);
        c->len = len;
        Sanhe__Response *r = sanhe__response__unpack(NULL, len, reply);
        CHECK(r != NULL && r->request_id != NULL && strcmp(r->request_id, c->request_id) == 0);
        if (r != NULL)
            sanhe__response__free_unpacked(r, NULL);
    }
}

/* A settle of case 02's first claim (A002 x1, 100.00 yuan), or of an
 * unknown item when bad. */
static int send_settle(sanhe_pipe *p, struct call *c, const char *rid, bool bad)
{
    snprintf(c->request_id, sizeof c->request_id, "%s", rid);
    Sanhe__Line line = SANHE__LINE__INIT;
    line.code = bad ? "Z999" : "A002";
    line.has_qty_milli = line.has_amount = true;
    line.qty_milli = 1000;
    line.amount = 10000;
    Sanhe__Line *lines[] = {&line};
    Sanhe__Claim claim = SANHE__CLAIM__INIT;
    claim.hospital = HOSPITAL;
    claim.person = PERSON;
    claim.visit = "outpatient";
    claim.date = "2026-06-15";
    claim.n_lines = 1;
    claim.lines = lines;
    Sanhe__SettleRequest sr = SANHE__SETTLE_REQUEST__INIT;
    sr.claim = &claim;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = c->request_id;
    req.op_case = SANHE__REQUEST__OP_SETTLE;
    req.settle = &sr;
    uint8_t buf[512];
    size_t n = sanhe__request__pack(&req, buf);
    return sanhe_pipe_call_raw(p, buf, n, 20000, on_reply, c);
}

static struct client_fixture fx;

static void restart_now(uv_timer_t *t)
{
    (void)t;
    /* Blocks the loop meanwhile: the pipe notices the broken connection after. */
    CHECK(fixture_stop(&fx) == 0);
    CHECK(fixture_restart(&fx) == 0);
}

int main(int argc, char **argv)
{
    if (argc != 2 || fixture_start(&fx, argv[1]) != 0 || fixture_pin_port(&fx) != 0)
        return 1;
    uv_loop_init(&loop);
    char engine[64], bufs[3][4096];
    struct sanhe_client_options o;
    fixture_options(&fx, HOSPITAL, fixture_engine(&fx, engine), &o, bufs);
    sanhe_pipe *p = NULL;
    CHECK(sanhe_pipe_new(&p, &loop, &o, 0) == 0);
    /* Many in flight at once: all queued before the loop runs once. */
    char rid[32];
    for (int i = 0; i < CALLS; i++) {
        snprintf(rid, sizeof rid, "pipe-%d", i);
        CHECK(send_settle(p, &calls[i], rid, false) == 0);
    }
    CHECK(sanhe_pipe_in_flight(p) == CALLS);
    CHECK(send_settle(p, &calls[CALLS], "pipe-bad", true) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(sanhe_pipe_in_flight(p) == 0);
    for (int i = 0; i <= CALLS; i++)
        CHECK(calls[i].ran == 1);
    for (int i = 0; i < CALLS; i++)
        CHECK(calls[i].status == 0 && calls[i].len > 0);
    CHECK(calls[CALLS].status == SANHE_E_REFUSED && calls[CALLS].len > 0);
    /* A resend: the first reply, byte for byte. */
    CHECK(send_settle(p, &calls[CALLS + 1], "pipe-7", false) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(calls[CALLS + 1].status == 0 && calls[CALLS + 1].len == calls[7].len &&
          memcmp(calls[CALLS + 1].reply, calls[7].reply, calls[7].len) == 0);
    /* The engine restarts with calls in flight: each lands once, and a
     * resend after it gets the same reply as the call did. */
    static struct call again[40];
    for (int i = 0; i < 40; i++) {
        snprintf(rid, sizeof rid, "restart-%d", i);
        CHECK(send_settle(p, &again[i], rid, false) == 0);
    }
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, restart_now, 1, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    int ok = 0;
    for (int i = 0; i < 40; i++) {
        CHECK(again[i].ran == 1);
        ok += again[i].status == 0;
    }
    CHECK(ok == 40);
    struct call check;
    memset(&check, 0, sizeof check);
    CHECK(send_settle(p, &check, "restart-39", false) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(check.status == 0 && check.len == again[39].len &&
          memcmp(check.reply, again[39].reply, check.len) == 0);
    /* Not a request: refused up front, no callback. */
    CHECK(sanhe_pipe_call_raw(p, "\x0a", 1, 1000, on_reply, &check) == SANHE_E_INVAL);
    sanhe_pipe_free(p);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
    for (int i = 0; i < CALLS + 8; i++)
        free(calls[i].reply);
    for (int i = 0; i < 40; i++)
        free(again[i].reply);
    free(check.reply);
    CHECK(fixture_finish(&fx) == 0);
    if (failures > 0)
        fprintf(stderr, "test_gw_pipe: %d checks failed\n", failures);
    return failures > 0;
}
