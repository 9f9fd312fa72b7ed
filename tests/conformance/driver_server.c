/*
 * The server driver: for each case file, its own sanhe-engine on a fresh
 * temporary directory, with its own certificates (ops/certs.sh), reference
 * data loaded over TLS by an admin terminal, and every step driven over TLS
 * as the step's hospital (a counter terminal per hospital) or, for steps
 * that name none, as the bureau.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_proc.h"
#include "runner.h"
#include "tls_client.h"

#define SERVER_TIMEOUT_MS 10000

struct counter {
    const char *hospital;
    char name[64];
    struct tc *tc;
};

struct driver {
    char dir[256];
    struct engine_proc engine;
    struct tc *bureau;
    size_t counter_count;
    struct counter *counters;
};

static const char *path_in(const struct driver *d, const char *rel, char *buf)
{
    snprintf(buf, PATH_MAX, "%s/%s", d->dir, rel);
    return buf;
}

/* The terminals are the runner's identities, not the case's reference data,
 * so they go in the config: a step may act as a hospital that the reference
 * data does not know (to be told UNKNOWN_HOSPITAL). */
static void write_terminals(const struct driver *d, FILE *out)
{
    fprintf(out, "[terminals]\nconformance-admin = admin\nconformance-bureau = bureau\n");
    for (size_t i = 0; i < d->counter_count; i++)
        fprintf(out, "%s = %s counter\n", d->counters[i].name, d->counters[i].hospital);
}

/* A certificate name for a hospital code: the code itself when it is plain,
 * else a hash of it (certs.sh accepts letters, digits, '.', '_' and '-'). */
static void counter_name(const char *hospital, char out[64])
{
    bool plain = strlen(hospital) > 0 && strlen(hospital) < 40 && hospital[0] != '.';
    for (const char *c = hospital; plain && *c; c++)
        plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = hospital; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    if (plain)
        snprintf(out, 64, "counter-%s", hospital);
    else
        snprintf(out, 64, "counter-x%016llx", (unsigned long long)h);
}

static int certs(const struct driver *d, const char *const args[], struct sh_error *err)
{
    char dir[PATH_MAX], log[PATH_MAX];
    const char *argv[8] = {server_options.certs_script, args[0], path_in(d, "certs", dir)};
    for (int i = 1; args[i] != NULL && i < 5; i++)
        argv[i + 2] = args[i];
    if (proc_run(argv, NULL, path_in(d, "certs.log", log)) != 0)
        return sh_error_set(err, SH_E_INTERNAL, "%s %s failed: see %s", argv[0], args[0], log);
    return 0;
}

static int make_certs(struct driver *d, struct sh_error *err)
{
    const char *const fixed[][5] = {
        {"ca", NULL},
        {"engine", NULL},
        {"terminal", "conformance-admin", "-", "admin", NULL},
        {"terminal", "conformance-bureau", "-", "bureau", NULL},
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof fixed / sizeof fixed[0]; i++)
        rc = certs(d, fixed[i], err);
    for (size_t i = 0; rc == 0 && i < d->counter_count; i++) {
        const char *args[] = {"terminal", d->counters[i].name, "-", "counter", NULL};
        rc = certs(d, args, err);
    }
    return rc;
}

static int write_config(const struct driver *d, struct sh_error *err)
{
    char path[PATH_MAX];
    FILE *out = fopen(path_in(d, "engine.conf", path), "w");
    if (out == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "cannot write %s", path);
    fprintf(out,
            "; written by sanhe-conformance --server\n"
            "[engine]\ndata_dir = data\nlisten = 127.0.0.1:0\nport_file = port\n"
            "durable = true\n"
            "[tls]\nca = certs/ca.crt\ncert = certs/engine.crt\nkey = certs/engine.key\n"
            "[log]\nlevel = warn\n");
    write_terminals(d, out);
    return fclose(out) == 0 ? 0 : sh_error_set(err, SH_E_INTERNAL, "cannot write %s", path);
}

static int connect_as(const struct driver *d, const char *name, struct tc **out,
                      struct sh_error *err)
{
    char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], rel[128];
    snprintf(rel, sizeof rel, "certs/%s.crt", name);
    path_in(d, rel, cert);
    snprintf(rel, sizeof rel, "certs/%s.key", name);
    path_in(d, rel, key);
    int rc = tc_connect(out, "127.0.0.1", d->engine.port, path_in(d, "certs/ca.crt", ca), cert,
                        key, SERVER_TIMEOUT_MS);
    return rc == 0 ? 0 : sh_error_set(err, rc, "cannot connect as %s", name);
}

static int call_on(struct tc *tc, const Sanhe__Request *req, Sanhe__Response **out,
                   struct sh_error *err)
{
    int rc = tc_call(tc, req, out, SERVER_TIMEOUT_MS);
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
    int rc = connect_as(d, "conformance-admin", &admin, err);
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

static void remove_tree(const char *dir)
{
    const char *const argv[] = {"/bin/rm", "-rf", dir, NULL};
    proc_run(argv, NULL, NULL);
}

static void server_close(struct driver *d)
{
    for (size_t i = 0; i < d->counter_count; i++)
        tc_close(d->counters[i].tc);
    tc_close(d->bureau);
    if (d->engine.pid > 0 && engine_proc_stop(&d->engine, SERVER_TIMEOUT_MS) != 0)
        fprintf(stderr, "sanhe-conformance: the engine in %s did not stop cleanly\n", d->dir);
    if (!server_options.keep)
        remove_tree(d->dir);
    else
        fprintf(stderr, "sanhe-conformance: kept %s\n", d->dir);
    free(d->counters);
    free(d);
}

static int start_engine(struct driver *d, struct sh_error *err)
{
    char conf[PATH_MAX], port[PATH_MAX], out[PATH_MAX], log[PATH_MAX];
    if (engine_proc_start(&d->engine, server_options.engine_path, path_in(d, "engine.conf", conf),
                          path_in(d, "port", port), path_in(d, "engine.out", out),
                          path_in(d, "engine.err", log), SERVER_TIMEOUT_MS) != 0)
        return sh_error_set(err, SH_E_UNAVAILABLE, "%s did not start: see %s",
                            server_options.engine_path, log);
    return 0;
}

static int server_open(struct driver **out, const Sanhe__LoadRequest *load,
                       const struct case_identities *ids, struct sh_error *err)
{
    struct driver *d = calloc(1, sizeof *d);
    if (d == NULL || (d->counters = calloc(ids->hospital_count + 1, sizeof *d->counters)) == NULL) {
        free(d);
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    }
    d->engine.pid = -1;
    d->counter_count = ids->hospital_count;
    for (size_t i = 0; i < ids->hospital_count; i++) {
        d->counters[i].hospital = ids->hospitals[i];
        counter_name(ids->hospitals[i], d->counters[i].name);
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(d->dir, sizeof d->dir, "%s/sanhe-conformance-XXXXXX", tmp ? tmp : "/tmp");
    int rc = mkdtemp(d->dir) != NULL ? 0 : sh_error_set(err, SH_E_INTERNAL, "mkdtemp failed");
    if (rc == 0)
        rc = make_certs(d, err);
    if (rc == 0)
        rc = write_config(d, err);
    if (rc == 0)
        rc = start_engine(d, err);
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
        *name = "conformance-bureau";
        return &d->bureau;
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
        int rc = connect_as(d, name, tc, err);
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
