/*
 * The global check after the last crash: the engine (running again, clean)
 * against what the clients were told. Through the bureau terminal, which
 * may query any hospital's settlements:
 *   - every settlement id the engine has handed out, scanned by query:
 *     no (hospital, request id) has two settlements (nothing paid twice),
 *     and each hospital has exactly as many as its counter knows landed;
 *   - every settle the clients know landed is there, with the settlement
 *     id, amounts and state (reversed or not) they were told (nothing
 *     acknowledged lost); a settle cancelled before it landed is not;
 *   - each settle request id queried by request id gives that settlement;
 *   - every accumulator of every person (eligibility) equals the sum, over
 *     the settlements the clients know and did not undo, of each fund's
 *     pay and payable: a lost or a doubled settlement shows here too.
 */
#ifndef CRASH_VERIFY_H
#define CRASH_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "crash_env.h"
#include "crash_log.h"
#include "crash_run.h"
#include "tls_client.h"

struct crash_verdict {
    uint64_t settlements;  /* in the engine (the scan) */
    uint64_t landed;       /* settles the clients know landed */
    uint64_t undone;       /* of those, reversed or cancelled */
    uint64_t duplicates;   /* settlements beyond the first of one request id */
    uint64_t lost;         /* landed settles the engine does not have */
    uint64_t mismatches;   /* another id, other amounts or another state */
    uint64_t accumulators; /* accumulators compared */
    char failure[512];     /* the first problem; "" when none */
};

/* Runs every check; true when all pass. */
bool crash_verify(const struct crash_env *env, struct crash_client *clients, int n,
                  struct crash_verdict *v);

/* ---- shared by crash_verify.c and crash_accum.c ----------------------------------------- */

void crash_verdict_fail(struct crash_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The accumulator check (crash_accum.c). */
bool crash_verify_accumulators(struct tc *tc, struct crash_client *clients, int n,
                               struct crash_verdict *v);

#endif
