/*
 * The engine under test: a sandbox (tests/support/sandbox.h: its own CA,
 * certificates, a durable config on 127.0.0.1 port 0) with one counter
 * terminal per client hospital and a bureau terminal, reference data of
 * tests/cases/02 loaded offline with `sanhe-engine load`, and the engine
 * process that the test starts, kills with SIGKILL and restarts on the same
 * data directory.
 */
#ifndef CRASH_ENV_H
#define CRASH_ENV_H

#include <stdbool.h>

#include "sandbox.h"

/* One client per hospital: the counters of four hospitals of case 02 at
 * three levels (county, township, village), so the ratios differ. */
#define CRASH_CLIENTS 4
extern const char *const crash_hospitals[CRASH_CLIENTS];

/* The bureau terminal, for the global checks (it may query any hospital). */
#define CRASH_BUREAU "bureau-1"

struct crash_env {
    struct sandbox sb;
    bool keep; /* SANHE_TEST_KEEP: leave the directory for a post-mortem */
};

/* "counter-<i>", the terminal of client i. */
const char *crash_terminal(int i, char buf[32]);

/* Sandbox, certificates, reference data. Returns 0, or -1 with the reason
 * printed. Does not start the engine. */
int crash_env_create(struct crash_env *env, const char *prefix);

/* Starts the engine on the data directory (again after a kill). */
int crash_env_start(struct crash_env *env);

/* kill -9: the engine gets no chance to finish anything. */
int crash_env_kill(struct crash_env *env);

/* SIGTERM; returns the exit status (0 for a clean stop). */
int crash_env_stop(struct crash_env *env);

/* `sanhe-engine check` on the data directory (the engine stopped);
 * returns its exit status, its output printed when not 0. */
int crash_env_check(struct crash_env *env);

/* A TLS connection as terminal name, in at most attempts tries 100 ms
 * apart (a restarted engine may still be starting up under ASan). */
int crash_env_connect(const struct crash_env *env, const char *name, int attempts, struct tc **out);

/* Stops the engine if it runs, removes the directory unless kept. */
void crash_env_destroy(struct crash_env *env);

#endif
