/*
 * The asynchronous form on a libuv loop: a settle and its replay, a
 * presettle, and a cancel, each completing on the loop's thread while a
 * timer on the same loop keeps ticking (the loop is never blocked).
 */
#include <stdio.h>
#include <uv.h>

#include "client_fixture.h"
#include "sh_json.h"

static int failures, completed, ticks;
static uint64_t first_id;
static uv_loop_t loop;
static uv_timer_t timer;
static struct sanhe_claim claim;
static struct sanhe_line lines[16];

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

static void on_tick(uv_timer_t *t)
{
    (void)t;
    ticks++;
}

static void on_cancel(sanhe_client *c, int status, struct sanhe_cancel_result *r, void *arg)
{
    (void)c, (void)arg;
    CHECK(status == 0 && r != NULL && r->reversed == 0); /* never sent: cancelled */
    if (++completed == 4)
        uv_close((uv_handle_t *)&timer, NULL);
}

static void on_presettle(sanhe_client *c, int status, struct sanhe_settle_result *r, void *arg)
{
    (void)arg;
    CHECK(status == 0 && r != NULL && r->breakdown.trial == 1);
    sanhe_settle_result_free(r);
    completed++;
    CHECK(sanhe_cancel_async(c, &loop, "async-never", NULL, 0, on_cancel, NULL) == 0);
}

static void on_replay(sanhe_client *c, int status, struct sanhe_settle_result *r, void *arg)
{
    (void)arg;
    CHECK(status == 0 && r != NULL && r->settlement_id == first_id);
    sanhe_settle_result_free(r);
    completed++;
    CHECK(sanhe_presettle_async(c, &loop, &claim, 0, on_presettle, NULL) == 0);
}

static void on_settle(sanhe_client *c, int status, struct sanhe_settle_result *r, void *arg)
{
    (void)arg;
    CHECK(status == 0 && r != NULL && r->settlement_id != 0);
    if (r != NULL) {
        first_id = r->settlement_id;
        CHECK(r->breakdown.fund_total + r->breakdown.patient_pays == r->breakdown.total);
    }
    sanhe_settle_result_free(r);
    completed++;
    CHECK(sanhe_settle_async(c, &loop, &claim, "async-1", 0, on_replay, NULL) == 0);
}

int main(int argc, char **argv)
{
    struct client_fixture f;
    if (argc != 2 || fixture_start(&f, argv[1]) != 0)
        return 1;
    const json_t *s = json_array_get(json_object_get(f.doc, "steps"), 0);
    Sanhe__Claim *pb;
    struct sh_error err;
    if (sh_json_to_claim(json_object_get(s, "claim"), &pb, &err) != 0 || pb->n_lines > 16)
        return 1;
    for (size_t i = 0; i < pb->n_lines; i++)
        lines[i] = (struct sanhe_line){pb->lines[i]->code, pb->lines[i]->qty_milli,
                                       pb->lines[i]->amount};
    claim = (struct sanhe_claim){pb->hospital, pb->person, pb->visit, pb->date, lines, pb->n_lines};
    char port[64], bufs[3][4096];
    struct sanhe_client_options o;
    fixture_options(&f, pb->hospital, fixture_engine(&f, port), &o, bufs);
    sanhe_client *c;
    CHECK(sanhe_client_new(&c, &o) == 0);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &timer);
    uv_timer_start(&timer, on_tick, 1, 1);
    CHECK(sanhe_settle_async(c, &loop, &claim, "async-1", 0, on_settle, NULL) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    CHECK(completed == 4);
    printf("async: %d calls completed, the loop's timer ticked %d times meanwhile\n", completed,
           ticks);
    sanhe_client_free(c);
    sanhe__claim__free_unpacked(pb, NULL);
    CHECK(fixture_finish(&f) == 0);
    printf("%s\n", failures == 0 ? "test_client_async: ok" : "test_client_async: FAILED");
    return failures != 0;
}
