/*
 * The client threads of the crash test. Each runs one client over its own
 * TLS connection; none calls cmocka (its assertions jump, which is wrong
 * from a thread): a thread records its first failure in its client, and
 * the main thread asserts on it after the join.
 */
#ifndef CRASH_RUN_H
#define CRASH_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "crash_env.h"
#include "crash_log.h"
#include "tls_client.h"

#define CRASH_WINDOW_MAX 16
#define CRASH_REPLY_TIMEOUT_MS 10000

/* Settle, reverse and cancel at full speed with window requests in flight,
 * until the connection drops (the kill) or the deadline passes. */
struct crash_storm {
    struct crash_client *client;
    const struct crash_env *env;
    int window;
    int64_t deadline_ms; /* crash_now_ms() clock: a safety net, the kill comes first */
};
void *crash_storm_thread(void *arg);

/* count settles pipelined at once (all sent before any answer is read), to
 * kill the engine while one large group commit is on its way; ready is a
 * barrier of every burst thread and the main thread, passed once each is
 * connected, answers counts the answers of all the threads. */
struct crash_burst {
    struct crash_client *client;
    const struct crash_env *env;
    int count;
    pthread_barrier_t *ready;
    atomic_int *answers;
};
void *crash_burst_thread(void *arg);

/* After a restart: every request of the client without an answer is sent
 * again (same request id, same payload) until answered, or, in a cancel
 * round, half of the unanswered settles are cancelled instead (then the
 * late settle must not pay); then resend acknowledged requests, chosen at
 * random, must get their first reply again, byte for byte. */
struct crash_recover {
    struct crash_client *client;
    const struct crash_env *env;
    bool cancel_round;
    int resend;
};
void *crash_recover_thread(void *arg);

/* Requests per pipelined chunk (crash_pipe.c). */
#define CRASH_CHUNK 64

/* Sends reqs[0..n), CRASH_CHUNK at a time, and receives every answer into
 * resps[] in request order (answers may come in any order). Returns 0, or a
 * negative SH_E_* code and then no response at all. */
int crash_pipeline(struct tc *tc, Sanhe__Request *const *reqs, Sanhe__Response **resps, size_t n);

/* crash_pipeline, then frees reqs (built for this one call). */
int crash_run_all(struct tc *tc, Sanhe__Request **reqs, Sanhe__Response **resps, size_t n);

/* Monotonic milliseconds. */
int64_t crash_now_ms(void);

/* tc_call with the test's timeout; on failure the client's failure says
 * what (and false is returned). */
bool crash_call(struct crash_client *c, struct tc *tc, const Sanhe__Request *req,
                Sanhe__Response **out);

#endif
