/*
 * A real sanhe-engine for a test: a fresh temporary directory, fresh
 * certificates (ops/certs.sh), a configuration listening on 127.0.0.1:0,
 * reference data from cases/01 loaded with `sanhe-engine load`, then
 * `sanhe-engine serve` in a child process; the port comes from port_file.
 *
 * Terminals (certificate CN -> hospital, role):
 *   counter-h1  H330424001 counter   in the ledger (loaded)
 *   counter-h2  H330424002 counter   in the config's [terminals] only
 *   bureau-1    bureau, admin-1 admin (loaded)
 *   stranger    a valid certificate whose CN is no terminal
 *   other/counter-h1  the same CN, issued by another CA
 */
#ifndef NET_FIXTURE_H
#define NET_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "tls_client.h"

#define FIXTURE_TIMEOUT_MS 5000

/* Hospitals and a person of cases/01-line-split-and-insurance.json. */
#define FIXTURE_H1 "H330424001"
#define FIXTURE_H2 "H330424002"
#define FIXTURE_PERSON "330424196001010013"

struct engine_fixture {
    char dir[128];
    pid_t pid;
    int port;
    bool halted;     /* the engine has stopped (the directory may remain) */
    bool stopped;    /* ... and the directory is gone */
    int exit_status; /* of the stop, returned again by a later call */
};

/* limits: extra "key = value" lines for [limits] (NULL for none). Returns 0,
 * or -1 with the reason (and the engine's stderr) printed. */
int fixture_start(struct engine_fixture *f, const char *limits);

/* SIGTERM, then waits (at most 15 s) for the exit status, which it returns
 * (-1 when it had to be killed); removes the directory. A second call
 * returns the first one's status. */
int fixture_stop(struct engine_fixture *f);

/* Stops the engine as fixture_stop does but keeps the directory, so that
 * its data can be examined; fixture_stop removes it later (and returns the
 * same status). */
int fixture_halt(struct engine_fixture *f);

/* Halts the engine, then runs `sanhe-engine check -c engine.conf` on its
 * data (output in check.out, printed when it fails); returns check's exit
 * status (0: the store is consistent), or -1 when the engine did not stop
 * cleanly. */
int fixture_check(struct engine_fixture *f);

/* The sanhe-engine binary: SANHE_TEST_ENGINE when set (to run a test
 * against another build, e.g. to see an attack test fail on an older
 * engine), else the one built with the tests. */
const char *fixture_engine(void);

/* The engine's resident set (VmRSS), KiB, or -1. */
long fixture_rss_kb(const struct engine_fixture *f);

/* dir/rel into buf (PATH_MAX). */
const char *fixture_path(const struct engine_fixture *f, const char *rel, char *buf);

/* Connects with certs/NAME.crt (or other/NAME.crt when other_ca). */
int fixture_connect(const struct engine_fixture *f, const char *name, bool other_ca,
                    struct tc **out);

/* SIGUSR1, then the stats_file it writes (new reference), or NULL. */
json_t *fixture_stats(const struct engine_fixture *f);

/* True when the engine's stderr contains text. */
bool fixture_log_contains(const struct engine_fixture *f, const char *text);

/* Runs argv (argv[0] a path) with stdout and stderr to files of the
 * fixture (NULL: /dev/null); returns the exit status or -1. */
int fixture_run(const char *const argv[], const char *out_path, const char *err_path);

/* ---- Requests ---------------------------------------------------------- */

/* A settle (or presettle) of a small valid outpatient claim at hospital. */
Sanhe__Request *request_settle(const char *request_id, const char *hospital, bool presettle);
Sanhe__Request *request_query(const char *request_id, uint64_t settlement_id);
void request_free(Sanhe__Request *request);

/* Settles over a new connection as counter-h1; 0 when answered without error. */
int fixture_settle_once(const struct engine_fixture *f, const char *request_id);

/* The response's error code (0 for none) as a negative SH_E_* code. */
int response_error(const Sanhe__Response *response);

#endif
