/*
 * A sandboxed sanhe-engine with a case file's reference data loaded (as the
 * admin terminal, through the test TLS client), and the paths a
 * libsanhe-client or a sanhe-counter needs to talk to it as a counter.
 */
#ifndef CLIENT_FIXTURE_H
#define CLIENT_FIXTURE_H

#include <jansson.h>
#include <stdio.h>

#include "sandbox.h"
#include "sanhe/client.h"

/* A failed check is printed and counted; the test goes on and fails at the
 * end when any did. Each test defines `static int failures`. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

struct client_fixture {
    struct sandbox sb;
    json_t *doc; /* the case file */
    char ca[4096];
};

/* Starts the engine with an admin terminal and one counter terminal
 * "counter-HOSPITAL" per hospital of the case, and loads its reference data.
 * Returns 0, or -1 (printed). */
int fixture_start(struct client_fixture *f, const char *case_path);

/* Stops and starts the engine again (same data; a new port). */
int fixture_stop(struct client_fixture *f);
int fixture_restart(struct client_fixture *f);

/* Makes the engine listen on its current port after a restart too (the
 * sandbox's config says port 0), for clients started before the restart. */
int fixture_pin_port(struct client_fixture *f);

/* "127.0.0.1:PORT" of the running engine, into buf (64 bytes). */
const char *fixture_engine(const struct client_fixture *f, char *buf);

/* Options of counter-HOSPITAL (paths into bufs, 3 x 4096 bytes). */
void fixture_options(struct client_fixture *f, const char *hospital, const char *engines,
                     struct sanhe_client_options *o, char bufs[3][4096]);

/* Stops the engine, runs `sanhe-engine check` on its data (0: clean), and
 * removes the directory. */
int fixture_finish(struct client_fixture *f);

#endif
