#include "net_fixture.h"

#include "engine_proc.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *fixture_engine(void)
{
    const char *other = getenv("SANHE_TEST_ENGINE");
    return other != NULL && other[0] != '\0' ? other : SANHE_ENGINE_PATH;
}

long fixture_rss_kb(const struct engine_fixture *f)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)f->pid);
    FILE *in = fopen(path, "r");
    long kb = -1;
    while (in != NULL && kb < 0 && fgets(line, sizeof line, in) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    }
    if (in != NULL)
        fclose(in);
    return kb;
}

const char *fixture_path(const struct engine_fixture *f, const char *rel, char *buf)
{
    snprintf(buf, PATH_MAX, "%s/%s", f->dir, rel);
    return buf;
}

int fixture_run(const char *const argv[], const char *out_path, const char *err_path)
{
    return proc_run(argv, out_path, err_path);
}

static void print_file(const char *path)
{
    FILE *in = fopen(path, "r");
    char line[1024];
    while (in != NULL && fgets(line, sizeof line, in) != NULL)
        fprintf(stderr, "  | %s", line);
    if (in != NULL)
        fclose(in);
}

static int make_certs(const struct engine_fixture *f)
{
    char certs[PATH_MAX], other[PATH_MAX], log[PATH_MAX];
    fixture_path(f, "certs", certs);
    fixture_path(f, "other", other);
    fixture_path(f, "certs.log", log);
    const char *const cmds[][7] = {
        {SANHE_CERTS_SCRIPT, "ca", certs, NULL},
        {SANHE_CERTS_SCRIPT, "engine", certs, NULL},
        {SANHE_CERTS_SCRIPT, "terminal", certs, "counter-h1", FIXTURE_H1, "counter", NULL},
        {SANHE_CERTS_SCRIPT, "terminal", certs, "counter-h2", FIXTURE_H2, "counter", NULL},
        {SANHE_CERTS_SCRIPT, "terminal", certs, "bureau-1", "-", "bureau", NULL},
        {SANHE_CERTS_SCRIPT, "terminal", certs, "admin-1", "-", "admin", NULL},
        {SANHE_CERTS_SCRIPT, "terminal", certs, "stranger", FIXTURE_H1, "counter", NULL},
        {SANHE_CERTS_SCRIPT, "ca", other, NULL},
        {SANHE_CERTS_SCRIPT, "terminal", other, "counter-h1", FIXTURE_H1, "counter", NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (fixture_run(cmds[i], log, log) != 0) {
            fprintf(stderr, "fixture: certs.sh %s failed:\n", cmds[i][1]);
            print_file(log);
            return -1;
        }
    }
    return 0;
}

static int write_file(const char *path, const char *text)
{
    FILE *out = fopen(path, "w");
    if (out == NULL)
        return -1;
    fputs(text, out);
    return fclose(out);
}

static int write_config(const struct engine_fixture *f, const char *limits)
{
    char path[PATH_MAX], text[4096];
    snprintf(text, sizeof text,
             "; written by the test fixture\n"
             "[engine]\n"
             "data_dir = data\n"
             "listen = 127.0.0.1:0\n"
             "port_file = port\n"
             "stats_file = stats.json\n"
             "durable = true\n"
             "[tls]\n"
             "ca = certs/ca.crt\n"
             "cert = certs/engine.crt\n"
             "key = certs/engine.key\n"
             "[limits]\n"
             "%s\n"
             "[log]\n"
             "level = debug\n"
             "[terminals]\n"
             "counter-h2 = " FIXTURE_H2 " counter\n",
             limits != NULL ? limits : "");
    if (write_file(fixture_path(f, "engine.conf", path), text) != 0)
        return -1;
    return write_file(fixture_path(f, "terminals.json", path),
                      "[{\"name\": \"counter-h1\", \"hospital\": \"" FIXTURE_H1 "\", "
                      "\"role\": \"counter\"},\n"
                      " {\"name\": \"bureau-1\", \"role\": \"bureau\"},\n"
                      " {\"name\": \"admin-1\", \"role\": \"admin\"}]\n");
}

static int load_data(const struct engine_fixture *f)
{
    char conf[PATH_MAX], terminals[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
    const char *const argv[] = {fixture_engine(),
                                "load",
                                "-c",
                                fixture_path(f, "engine.conf", conf),
                                SANHE_CASES_DIR "/01-line-split-and-insurance.json",
                                fixture_path(f, "terminals.json", terminals),
                                NULL};
    if (fixture_run(argv, fixture_path(f, "load.out", out), fixture_path(f, "load.err", err)) !=
        0) {
        fprintf(stderr, "fixture: sanhe-engine load failed:\n");
        print_file(err);
        return -1;
    }
    return 0;
}

int fixture_start(struct engine_fixture *f, const char *limits)
{
    memset(f, 0, sizeof *f);
    f->pid = -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/sanhe-net-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    if (make_certs(f) != 0 || write_config(f, limits) != 0 || load_data(f) != 0)
        return -1;
    char conf[PATH_MAX], port[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
    struct engine_proc engine;
    if (engine_proc_start(&engine, fixture_engine(), fixture_path(f, "engine.conf", conf),
                          fixture_path(f, "port", port), fixture_path(f, "engine.out", out),
                          fixture_path(f, "engine.err", err), 15000) != 0) {
        fprintf(stderr, "fixture: the engine did not start:\n");
        print_file(err);
        return -1;
    }
    f->pid = engine.pid;
    f->port = engine.port;
    return 0;
}

static void remove_tree(const char *dir)
{
    if (getenv("SANHE_TEST_KEEP") != NULL) {
        fprintf(stderr, "fixture: kept %s\n", dir);
        return;
    }
    const char *const argv[] = {"/bin/rm", "-rf", dir, NULL};
    fixture_run(argv, NULL, NULL);
}

int fixture_halt(struct engine_fixture *f)
{
    if (f->halted)
        return f->exit_status;
    struct engine_proc engine = {.pid = f->pid, .port = f->port};
    int rc = engine_proc_stop(&engine, 15000);
    f->pid = -1;
    if (rc != 0) {
        char path[PATH_MAX];
        fprintf(stderr, "fixture: the engine exited with %d:\n", rc);
        print_file(fixture_path(f, "engine.err", path));
    }
    f->halted = true;
    f->exit_status = rc;
    return rc;
}

int fixture_stop(struct engine_fixture *f)
{
    if (f->stopped)
        return f->exit_status;
    int rc = fixture_halt(f);
    remove_tree(f->dir);
    f->stopped = true;
    return rc;
}

int fixture_check(struct engine_fixture *f)
{
    if (fixture_halt(f) != 0)
        return -1;
    char conf[PATH_MAX], out[PATH_MAX];
    const char *const argv[] = {fixture_engine(), "check", "-c",
                                fixture_path(f, "engine.conf", conf), NULL};
    fixture_path(f, "check.out", out);
    int rc = fixture_run(argv, out, out);
    if (rc != 0) {
        fprintf(stderr, "fixture: sanhe-engine check exited with %d:\n", rc);
        print_file(out);
    }
    return rc;
}

int fixture_connect(const struct engine_fixture *f, const char *name, bool other_ca,
                    struct tc **out)
{
    char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], rel[128];
    fixture_path(f, "certs/ca.crt", ca);
    if (name != NULL) {
        snprintf(rel, sizeof rel, "%s/%s.crt", other_ca ? "other" : "certs", name);
        fixture_path(f, rel, cert);
        snprintf(rel, sizeof rel, "%s/%s.key", other_ca ? "other" : "certs", name);
        fixture_path(f, rel, key);
    }
    return tc_connect(out, "127.0.0.1", f->port, ca, name != NULL ? cert : NULL,
                      name != NULL ? key : NULL, FIXTURE_TIMEOUT_MS);
}

json_t *fixture_stats(const struct engine_fixture *f)
{
    char path[PATH_MAX];
    fixture_path(f, "stats.json", path);
    unlink(path);
    kill(f->pid, SIGUSR1);
    for (int waited = 0; waited < 5000; waited += 20) {
        json_t *doc = json_load_file(path, 0, NULL);
        if (doc != NULL)
            return doc;
        sleep_ms(20);
    }
    return NULL;
}

bool fixture_log_contains(const struct engine_fixture *f, const char *text)
{
    char path[PATH_MAX], line[2048];
    FILE *in = fopen(fixture_path(f, "engine.err", path), "r");
    bool found = false;
    while (in != NULL && !found && fgets(line, sizeof line, in) != NULL)
        found = strstr(line, text) != NULL;
    if (in != NULL)
        fclose(in);
    return found;
}

/* ---- Requests ---------------------------------------------------------- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    memcpy(copy, s, n);
    return copy;
}

Sanhe__Request *request_settle(const char *request_id, const char *hospital, bool presettle)
{
    Sanhe__Line *line = malloc(sizeof *line);
    sanhe__line__init(line);
    line->code = dup_str("A002");
    line->has_qty_milli = line->has_amount = 1;
    line->qty_milli = 1000;
    line->amount = 5000;
    Sanhe__Claim *claim = malloc(sizeof *claim);
    sanhe__claim__init(claim);
    claim->hospital = dup_str(hospital);
    claim->person = dup_str(FIXTURE_PERSON);
    claim->visit = dup_str("outpatient");
    claim->date = dup_str("2026-03-10");
    claim->n_lines = 1;
    claim->lines = malloc(sizeof *claim->lines);
    claim->lines[0] = line;
    Sanhe__Request *r = malloc(sizeof *r);
    sanhe__request__init(r);
    r->request_id = dup_str(request_id);
    if (presettle) {
        r->op_case = SANHE__REQUEST__OP_PRESETTLE;
        r->presettle = malloc(sizeof *r->presettle);
        sanhe__presettle_request__init(r->presettle);
        r->presettle->claim = claim;
    } else {
        r->op_case = SANHE__REQUEST__OP_SETTLE;
        r->settle = malloc(sizeof *r->settle);
        sanhe__settle_request__init(r->settle);
        r->settle->claim = claim;
    }
    return r;
}

Sanhe__Request *request_query(const char *request_id, uint64_t settlement_id)
{
    Sanhe__Request *r = malloc(sizeof *r);
    sanhe__request__init(r);
    r->request_id = dup_str(request_id);
    r->op_case = SANHE__REQUEST__OP_QUERY;
    r->query = malloc(sizeof *r->query);
    sanhe__query_request__init(r->query);
    r->query->target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_ID;
    r->query->settlement_id = settlement_id;
    return r;
}

/* Built with malloc exactly as the unpacker would, so the generated free
 * function releases it. */
void request_free(Sanhe__Request *request) { sanhe__request__free_unpacked(request, NULL); }

int response_error(const Sanhe__Response *response)
{
    return response->error != NULL ? -(int)response->error->code : 0;
}

int fixture_settle_once(const struct engine_fixture *f, const char *request_id)
{
    struct tc *tc;
    int rc = fixture_connect(f, "counter-h1", false, &tc);
    if (rc != 0)
        return rc;
    Sanhe__Request *req = request_settle(request_id, FIXTURE_H1, false);
    Sanhe__Response *resp = NULL;
    rc = tc_call(tc, req, &resp, FIXTURE_TIMEOUT_MS);
    if (rc == 0 && (response_error(resp) != 0 || resp->settle == NULL))
        rc = response_error(resp) != 0 ? response_error(resp) : SH_E_INTERNAL;
    if (rc != 0)
        fprintf(stderr, "settle %s: %d (%s)\n", request_id, rc, tc_last_error(tc));
    sanhe__response__free_unpacked(resp, NULL);
    request_free(req);
    tc_close(tc);
    return rc;
}
