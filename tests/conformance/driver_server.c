/*
 * The server driver: for each case file, its own sanhe-engine in a sandbox
 * (fresh directory, certificates and config), the case's reference data
 * loaded over TLS by an admin terminal, and every step driven over TLS as
 * the step's hospital (a counter terminal per hospital) or, for steps that
 * name none, as the bureau.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "sandbox.h"

#define ADMIN "conformance-admin"
#define BUREAU "conformance-bureau"

struct counter {
    const char *hospital;
    char name[64];
    struct tc *tc;
};

struct driver {
    struct sandbox sb;
    struct tc *bureau;
    struct tc *admin;
    size_t counter_count;
    struct counter *counters;
};

/* A certificate name for a hospital code: the code itself when it is plain,
 * else a hash of it (certs.sh accepts letters, digits, '.', '_' and '-'). */
static void counter_name(const char *hospital, char out[64])
{
    bool plain = strlen(hospital) > 0 && strlen(hospital) < 40 && hospital[0] != '.';
    for (const char *c = hospital; plain && *c; c++)
        plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                *c == '.' || *c == '_' || *c == '-';
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = hospital; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    if (plain)
        snprintf(out, 64, "counter-%s", hospital);
    else
        snprintf(out, 64, "counter-x%016llx", (unsigned long long)h);
}

static int call_on(struct tc *tc, const Sanhe__Request *req, Sanhe__Response **out,
                   struct sh_error *err)
{
    int rc = tc_call(tc, req, out, SANDBOX_TIMEOUT_MS);
    return rc == 0 ? 0 : sh_error_set(err, rc, "over TLS: %s", tc_last_error(tc));
}

/* The case's reference data, through the admin Load operation over TLS. */
static int load_over_tls(struct driver *d, const Sanhe__LoadRequest *load, struct sh_error *err)
{
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "conformance-load";
    req.op_case = SANHE__REQUEST__OP_LOAD;
    req.load = (Sanhe__LoadRequest *)load;
    struct tc *admin = NULL;
    Sanhe__Response *resp = NULL;
    int rc = sandbox_connect(&d->sb, ADMIN, &admin, err);
    if (rc == 0)
        rc = call_on(admin, &req, &resp, err);
    if (rc == 0 && resp->error != NULL)
        rc = sh_error_set(err, -(int)resp->error->code, "load refused: %s",
                          resp->error->message ? resp->error->message : "");
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    tc_close(admin);
    return rc;
}

static void server_close(struct driver *d)
{
    for (size_t i = 0; i < d->counter_count; i++)
        tc_close(d->counters[i].tc);
    tc_close(d->bureau);
    tc_close(d->admin);
    if (sandbox_destroy(&d->sb, server_options.keep) != 0)
        fprintf(stderr, "sanhe-conformance: the engine in %s did not stop cleanly\n", d->sb.dir);
    if (server_options.keep)
        fprintf(stderr, "sanhe-conformance: kept %s\n", d->sb.dir);
    free(d->counters);
    free(d);
}

static int add_terminals(struct driver *d, struct sh_error *err)
{
    int rc = sandbox_add_terminal(&d->sb, ADMIN, NULL, "admin", err);
    if (rc == 0)
        rc = sandbox_add_terminal(&d->sb, BUREAU, NULL, "bureau", err);
    for (size_t i = 0; rc == 0 && i < d->counter_count; i++)
        rc = sandbox_add_terminal(&d->sb, d->counters[i].name, d->counters[i].hospital, "counter",
                                  err);
    return rc;
}

static int server_open(struct driver **out, const Sanhe__LoadRequest *load,
                       const struct case_identities *ids, struct sh_error *err)
{
    struct driver *d = calloc(1, sizeof *d);
    if (d == NULL || (d->counters = calloc(ids->hospital_count + 1, sizeof *d->counters)) == NULL) {
        free(d);
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    }
    d->sb.engine.pid = -1;
    d->counter_count = ids->hospital_count;
    for (size_t i = 0; i < ids->hospital_count; i++) {
        d->counters[i].hospital = ids->hospitals[i];
        counter_name(ids->hospitals[i], d->counters[i].name);
    }
    int rc = sandbox_create(&d->sb, "sanhe-conformance", server_options.engine_path,
                            server_options.certs_script, err);
    if (rc == 0)
        rc = add_terminals(d, err);
    if (rc == 0)
        rc = sandbox_start(&d->sb, NULL, err);
    if (rc == 0)
        rc = load_over_tls(d, load, err);
    if (rc < 0) {
        server_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

static struct tc **connection_for(struct driver *d, const char *hospital, const char **name)
{
    if (hospital == NULL) {
        *name = BUREAU;
        return &d->bureau;
    }
    if (hospital == case_admin) {
        *name = ADMIN;
        return &d->admin;
    }
    for (size_t i = 0; i < d->counter_count; i++)
        if (strcmp(d->counters[i].hospital, hospital) == 0) {
            *name = d->counters[i].name;
            return &d->counters[i].tc;
        }
    return NULL;
}

static int server_call(struct driver *d, const char *hospital, const Sanhe__Request *req,
                       Sanhe__Response **out, struct sh_error *err)
{
    const char *name = NULL;
    struct tc **tc = connection_for(d, hospital, &name);
    if (tc == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "no terminal for hospital %s", hospital);
    if (*tc == NULL) {
        int rc = sandbox_connect(&d->sb, name, tc, err);
        if (rc < 0)
            return rc;
    }
    int rc = call_on(*tc, req, out, err);
    if (rc < 0) { /* a broken connection is not reused */
        tc_close(*tc);
        *tc = NULL;
    }
    return rc;
}

const struct driver_ops driver_server = {
    .name = "server",
    .open = server_open,
    .call = server_call,
    .close = server_close,
};

const struct sandbox *driver_server_sandbox(const struct driver *d) { return &d->sb; }
