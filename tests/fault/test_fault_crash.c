/*
 * kill -9 crash test: "nothing acknowledged is lost, nothing is paid twice".
 *
 * A real sanhe-engine (durable = true) serves four counter terminals of
 * four hospitals, one client thread each, that settle, reverse and cancel
 * at full speed with a few requests in flight. At a random moment the
 * engine gets SIGKILL; it is restarted on the same data directory and each
 * client resolves what the crash left unanswered, as a counter would:
 * it retries with the same request id and payload, or (in some rounds)
 * cancels the settle and then sees the late original refused; it sends
 * answered requests again and must get the same bytes. After the last
 * round the store must pass `sanhe-engine check` and agree, settlement by
 * settlement and accumulator by accumulator, with every answer the clients
 * were given (crash_verify.h).
 *
 * A second test kills the engine in the middle of one large group commit
 * (500 settles pipelined on four connections, killed at the first answer).
 *
 * Environment: SANHE_CRASH_ROUNDS (default 30), SANHE_CRASH_SECONDS (the
 * rounds' wall-time budget, default 75), SANHE_CRASH_SEED (default: the
 * clock; printed, to repeat a run), SANHE_TEST_KEEP (keep the directories),
 * SANHE_CRASH_CHECK_EACH (check the store after every kill) and
 * SANHE_CRASH_MAP_MB (the engine's first map size, to make it grow): the
 * last two for the soak, tests/fault/soak.sh.
 */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "crash_req.h"
#include "crash_run.h"
#include "crash_verify.h"

#define STORM_WINDOW 8       /* requests in flight per client */
#define RESEND_PER_ROUND 3   /* answered requests each client sends again */
#define BURST_PER_CLIENT 125 /* 4 x 125 = 500 settles in the big batch */

struct crash_totals {
    int rounds, kills;
    struct crash_stats stats;
    struct crash_verdict verdict;
    int check_status;
};

static long env_long(const char *name, long fallback)
{
    const char *s = getenv(name);
    char *end;
    long v = s != NULL ? strtol(s, &end, 10) : fallback;
    return s != NULL && (*end != '\0' || v <= 0) ? fallback : v;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t seed_of_run(void)
{
    const char *s = getenv("SANHE_CRASH_SEED");
    if (s != NULL)
        return strtoull(s, NULL, 10);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000003u + (uint64_t)ts.tv_nsec;
}

/* The first client failure into msg; true when there was one. */
static bool client_failed(const struct crash_client *clients, char *msg, size_t len)
{
    for (int i = 0; i < CRASH_CLIENTS; i++)
        if (clients[i].failure[0] != '\0') {
            snprintf(msg, len, "%s", clients[i].failure);
            return true;
        }
    return false;
}

/* ---- one round --------------------------------------------------------------------------- */

/* Load, then SIGKILL after a random 50-500 ms; returns the delay. */
static int storm_and_kill(struct crash_env *env, struct crash_client *clients, uint64_t *rng)
{
    pthread_t th[CRASH_CLIENTS];
    struct crash_storm args[CRASH_CLIENTS];
    int delay = 50 + (int)crash_rng_below(rng, 451);
    for (int i = 0; i < CRASH_CLIENTS; i++) {
        args[i] =
            (struct crash_storm){&clients[i], env, STORM_WINDOW, crash_now_ms() + delay + 20000};
        pthread_create(&th[i], NULL, crash_storm_thread, &args[i]);
    }
    sleep_ms(delay);
    crash_env_kill(env);
    for (int i = 0; i < CRASH_CLIENTS; i++)
        pthread_join(th[i], NULL);
    return delay;
}

static void recover_all(struct crash_env *env, struct crash_client *clients, bool cancel_round,
                        int resend)
{
    pthread_t th[CRASH_CLIENTS];
    struct crash_recover args[CRASH_CLIENTS];
    for (int i = 0; i < CRASH_CLIENTS; i++) {
        args[i] = (struct crash_recover){&clients[i], env, cancel_round, resend};
        pthread_create(&th[i], NULL, crash_recover_thread, &args[i]);
    }
    for (int i = 0; i < CRASH_CLIENTS; i++)
        pthread_join(th[i], NULL);
}

/* ---- the end of a test ------------------------------------------------------------------- */

/* Clean stop, offline check, then the engine once more for the global
 * comparison, and a last clean stop and check. */
static bool finish(struct crash_env *env, struct crash_client *clients, struct crash_totals *t,
                   char *msg, size_t len)
{
    int stopped = crash_env_stop(env);
    t->check_status = crash_env_check(env);
    if (stopped != 0 || t->check_status != 0) {
        snprintf(msg, len, "after the last crash: stop exited %d, sanhe-engine check %d", stopped,
                 t->check_status);
        return false;
    }
    if (crash_env_start(env) != 0) {
        snprintf(msg, len, "the engine did not start for the final check");
        return false;
    }
    if (!crash_verify(env, clients, CRASH_CLIENTS, &t->verdict)) {
        snprintf(msg, len, "%s", t->verdict.failure);
        return false;
    }
    stopped = crash_env_stop(env);
    t->check_status = crash_env_check(env);
    if (stopped != 0 || t->check_status != 0)
        snprintf(msg, len, "at the end: stop exited %d, sanhe-engine check %d", stopped,
                 t->check_status);
    return stopped == 0 && t->check_status == 0;
}

static void add_stats(struct crash_stats *sum, const struct crash_client *clients)
{
    for (int i = 0; i < CRASH_CLIENTS; i++) {
        const struct crash_stats *s = &clients[i].stats;
        sum->sent += s->sent;
        sum->acked += s->acked;
        sum->retried += s->retried;
        sum->cancels += s->cancels;
        sum->cancel_landed += s->cancel_landed;
        sum->resent += s->resent;
        sum->undos += s->undos;
    }
}

static void print_summary(const char *name, const struct crash_totals *t, int64_t ms, bool ok)
{
    const struct crash_stats *s = &t->stats;
    const struct crash_verdict *v = &t->verdict;
    printf("%s: rounds %d, kills %d, requests sent %" PRIu64 ", acknowledged %" PRIu64
           ", retried %" PRIu64 ", cancels %" PRIu64 " (%" PRIu64 " had landed), reverses and "
           "cancels of answered settles %" PRIu64 ", replays identical %" PRIu64
           "; engine: settlements %" PRIu64 " (%" PRIu64 " undone), accumulators %" PRIu64
           ", duplicates %" PRIu64 ", lost %" PRIu64 ", mismatches %" PRIu64
           "; check %s; %.1f s; %s\n",
           name, t->rounds, t->kills, s->sent, s->acked, s->retried, s->cancels, s->cancel_landed,
           s->undos, s->resent, v->settlements, v->undone, v->accumulators, v->duplicates, v->lost,
           v->mismatches, t->check_status == 0 ? "clean" : "FAILED", (double)ms / 1000.0,
           ok ? "ok" : "FAILED");
    fflush(stdout);
}

/* ---- test 1: many rounds ----------------------------------------------------------------- */

static uint64_t sum_acked(const struct crash_client *clients)
{
    uint64_t n = 0;
    for (int i = 0; i < CRASH_CLIENTS; i++)
        n += clients[i].stats.acked;
    return n;
}

static uint64_t sum_sent(const struct crash_client *clients)
{
    uint64_t n = 0;
    for (int i = 0; i < CRASH_CLIENTS; i++)
        n += clients[i].stats.sent;
    return n;
}

/* One round: load, kill, restart, recovery; a line of what happened. */
static bool one_round(struct crash_env *env, struct crash_client *clients, int round, uint64_t *rng,
                      char *msg, size_t len)
{
    uint64_t sent = sum_sent(clients), acked = sum_acked(clients);
    int64_t t0 = crash_now_ms();
    int delay = storm_and_kill(env, clients, rng);
    /* SANHE_CRASH_CHECK_EACH (tests/fault/soak.sh): the store as the kill
     * left it must pass `sanhe-engine check`, before recovery touches it. */
    bool check_each = getenv("SANHE_CRASH_CHECK_EACH") != NULL;
    if (check_each && crash_env_check(env) != 0) {
        snprintf(msg, len, "round %d: sanhe-engine check failed on the store kill -9 left", round);
        return false;
    }
    int64_t t1 = crash_now_ms();
    if (crash_env_start(env) != 0) {
        snprintf(msg, len, "round %d: the engine did not restart after kill -9", round);
        return false;
    }
    int64_t t2 = crash_now_ms();
    recover_all(env, clients, round % 3 == 2, RESEND_PER_ROUND);
    int64_t t3 = crash_now_ms();
    printf("round %d: kill -9 after %d ms: %" PRIu64 " sent, %" PRIu64
           " answered;%s restart %" PRId64 " ms, recovery%s %" PRId64 " ms (round %" PRId64
           " ms)\n",
           round, delay, sum_sent(clients) - sent, sum_acked(clients) - acked,
           check_each ? " check clean;" : "", t2 - t1, round % 3 == 2 ? " with cancels" : "",
           t3 - t2, t3 - t0);
    return !client_failed(clients, msg, len);
}

static bool crash_rounds(struct crash_env *env, struct crash_client *clients,
                         struct crash_totals *t, char *msg, size_t len)
{
    long rounds = env_long("SANHE_CRASH_ROUNDS", 30);
    int64_t budget_ms = env_long("SANHE_CRASH_SECONDS", 75) * 1000;
    uint64_t seed = seed_of_run(), rng = seed;
    printf("crash: up to %ld rounds in %" PRId64 " s, seed %" PRIu64 "\n", rounds, budget_ms / 1000,
           seed);
    for (int i = 0; i < CRASH_CLIENTS; i++)
        crash_client_init(&clients[i], i, "k", seed);
    int64_t start = crash_now_ms();
    for (int round = 0; round < rounds && crash_now_ms() - start < budget_ms; round++) {
        t->kills++;
        t->rounds++;
        if (!one_round(env, clients, round, &rng, msg, len))
            return false;
    }
    return finish(env, clients, t, msg, len);
}

static void test_crash_rounds(void **state)
{
    (void)state;
    struct crash_env env;
    struct crash_client clients[CRASH_CLIENTS];
    memset(clients, 0, sizeof clients);
    struct crash_totals t = {.check_status = -1};
    char msg[600] = "";
    int64_t start = crash_now_ms();
    bool ok = crash_env_create(&env, "sanhe-crash") == 0 && crash_env_start(&env) == 0;
    if (!ok)
        snprintf(msg, sizeof msg, "the engine did not start");
    else
        ok = crash_rounds(&env, clients, &t, msg, sizeof msg);
    add_stats(&t.stats, clients);
    print_summary("crash", &t, crash_now_ms() - start, ok);
    crash_env_destroy(&env);
    for (int i = 0; i < CRASH_CLIENTS; i++)
        crash_client_free(&clients[i]);
    if (!ok)
        fail_msg("%s", msg);
    assert_int_equal(t.verdict.duplicates, 0);
    assert_int_equal(t.verdict.lost, 0);
}

/* ---- test 2: one large batch -------------------------------------------------------------- */

/* 500 settles in flight on four connections; SIGKILL as the first answer
 * arrives, while the rest are being committed. */
static int burst_and_kill(struct crash_env *env, struct crash_client *clients)
{
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, CRASH_CLIENTS + 1);
    atomic_int answers = 0;
    pthread_t th[CRASH_CLIENTS];
    struct crash_burst args[CRASH_CLIENTS];
    for (int i = 0; i < CRASH_CLIENTS; i++) {
        args[i] = (struct crash_burst){&clients[i], env, BURST_PER_CLIENT, &ready, &answers};
        pthread_create(&th[i], NULL, crash_burst_thread, &args[i]);
    }
    pthread_barrier_wait(&ready);
    int64_t deadline = crash_now_ms() + 30000;
    while (atomic_load(&answers) == 0 && crash_now_ms() < deadline)
        nanosleep(&(struct timespec){0, 100000L}, NULL);
    crash_env_kill(env);
    for (int i = 0; i < CRASH_CLIENTS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&ready);
    return atomic_load(&answers);
}

static bool big_batch(struct crash_env *env, struct crash_client *clients, struct crash_totals *t,
                      char *msg, size_t len)
{
    uint64_t seed = seed_of_run();
    for (int i = 0; i < CRASH_CLIENTS; i++)
        crash_client_init(&clients[i], i, "b", seed);
    int answers = burst_and_kill(env, clients);
    t->kills = t->rounds = 1;
    printf("big batch: %d settles sent, %d answered before the kill\n",
           CRASH_CLIENTS * BURST_PER_CLIENT, answers);
    if (client_failed(clients, msg, len))
        return false;
    if (crash_env_start(env) != 0) {
        snprintf(msg, len, "the engine did not restart after kill -9");
        return false;
    }
    recover_all(env, clients, false, 10);
    if (client_failed(clients, msg, len))
        return false;
    return finish(env, clients, t, msg, len);
}

static void test_crash_big_batch(void **state)
{
    (void)state;
    struct crash_env env;
    struct crash_client clients[CRASH_CLIENTS];
    memset(clients, 0, sizeof clients);
    struct crash_totals t = {.check_status = -1};
    char msg[600] = "";
    int64_t start = crash_now_ms();
    bool ok = crash_env_create(&env, "sanhe-crash-batch") == 0 && crash_env_start(&env) == 0;
    if (!ok)
        snprintf(msg, sizeof msg, "the engine did not start");
    else
        ok = big_batch(&env, clients, &t, msg, sizeof msg);
    add_stats(&t.stats, clients);
    print_summary("big batch", &t, crash_now_ms() - start, ok);
    crash_env_destroy(&env);
    for (int i = 0; i < CRASH_CLIENTS; i++)
        crash_client_free(&clients[i]);
    if (!ok)
        fail_msg("%s", msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_big_batch),
        cmocka_unit_test(test_crash_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
