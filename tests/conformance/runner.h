/*
 * sanhe-conformance: runs case files (cases/README.md) against an engine,
 * in process or over TLS. The two modes differ only in the driver: both
 * send the same sanhe.Request messages and read sanhe.Response back.
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <jansson.h>
#include <stdbool.h>

#include "sanhe.pb-c.h"
#include "sh_error.h"

/* The identities a case needs: a counter terminal per hospital code, plus
 * an admin (loads) and a bureau (eligibility steps, which name no hospital). */
struct case_identities {
    const char **hospitals;
    size_t hospital_count;
};

struct driver;

/* The hospital argument of driver_ops.call that means the admin terminal
 * (person updates): compared by address, never by its text. */
extern const char case_admin[];

struct driver_ops {
    const char *name;
    /* A fresh engine state, with the case's reference data loaded through
     * the admin Load operation. */
    int (*open)(struct driver **out, const Sanhe__LoadRequest *load,
                const struct case_identities *ids, struct sh_error *err);
    /* Sends one request as the counter of `hospital` (NULL: the bureau;
     * case_admin: the admin) and
     * returns its response (free with sanhe__response__free_unpacked). */
    int (*call)(struct driver *driver, const char *hospital, const Sanhe__Request *request,
                Sanhe__Response **out, struct sh_error *err);
    void (*close)(struct driver *driver);
};

extern const struct driver_ops driver_local;
extern const struct driver_ops driver_server;
extern const struct driver_ops driver_gateway;

/* The server driver's sandbox (the gateway driver runs its engine). */
struct sandbox;
const struct sandbox *driver_server_sandbox(const struct driver *driver);

/* Server-mode settings, from the command line. */
struct server_options {
    const char *engine_path;  /* the sanhe-engine binary */
    const char *certs_script; /* ops/certs.sh */
    bool keep;                /* keep temporary directories for inspection */
    const char *gateway_path; /* the sanhe-gateway binary (--gateway) */
};
extern struct server_options server_options;

/* Compares only the keys that expect names, recursively. Prints one line
 * per difference, prefixed; returns the number of differences. */
int compare_expect(const json_t *expect, const json_t *actual, const char *path,
                   const char *prefix);

#endif
