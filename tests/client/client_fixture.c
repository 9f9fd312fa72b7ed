#include "client_fixture.h"

#include <stdio.h>
#include <string.h>

#include "sh_json_load.h"

static int load(struct client_fixture *f)
{
    struct sh_error err = {0};
    Sanhe__LoadRequest msg;
    int rc = sh_json_to_load(f->doc, &msg, &err);
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "fixture-load";
    req.op_case = SANHE__REQUEST__OP_LOAD;
    req.load = &msg;
    struct tc *tc = NULL;
    Sanhe__Response *resp = NULL;
    if (rc == 0)
        rc = sandbox_connect(&f->sb, "admin", &tc, &err);
    if (rc == 0)
        rc = tc_call(tc, &req, &resp, SANDBOX_TIMEOUT_MS);
    if (rc == 0 && resp->error != NULL)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "fixture: load failed: %s\n", err.msg);
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    tc_close(tc);
    sh_json_load_free(&msg);
    return rc;
}

int fixture_start(struct client_fixture *f, const char *case_path)
{
    memset(f, 0, sizeof *f);
    json_error_t jerr;
    f->doc = json_load_file(case_path, 0, &jerr);
    if (f->doc == NULL) {
        fprintf(stderr, "fixture: %s: %s\n", case_path, jerr.text);
        return -1;
    }
    struct sh_error err = {0};
    int rc =
        sandbox_create(&f->sb, "sanhe-client-test", SANHE_ENGINE_PATH, SANHE_CERTS_SCRIPT, &err);
    if (rc == 0)
        rc = sandbox_add_terminal(&f->sb, "admin", NULL, "admin", &err);
    const json_t *hs = json_object_get(f->doc, "hospitals");
    for (size_t i = 0; rc == 0 && i < json_array_size(hs); i++) {
        const char *code = json_string_value(json_object_get(json_array_get(hs, i), "code"));
        char name[64];
        snprintf(name, sizeof name, "counter-%s", code);
        rc = sandbox_add_terminal(&f->sb, name, code, "counter", &err);
    }
    if (rc == 0)
        rc = sandbox_start(&f->sb, NULL, &err);
    if (rc != 0) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        return -1;
    }
    sandbox_path(&f->sb, "certs/ca.crt", f->ca);
    return load(f);
}

int fixture_stop(struct client_fixture *f) { return engine_proc_stop(&f->sb.engine, 10000); }

int fixture_restart(struct client_fixture *f)
{
    char conf[4096], port[4096], out[4096], log[4096];
    return engine_proc_start(
        &f->sb.engine, f->sb.engine_path, sandbox_path(&f->sb, "engine.conf", conf),
        sandbox_path(&f->sb, "port", port), sandbox_path(&f->sb, "engine.out", out),
        sandbox_path(&f->sb, "engine.err", log), SANDBOX_TIMEOUT_MS);
}

int fixture_pin_port(struct client_fixture *f)
{
    char path[4096], text[65536];
    FILE *in = fopen(sandbox_path(&f->sb, "engine.conf", path), "r");
    size_t n = in != NULL ? fread(text, 1, sizeof text - 1, in) : 0;
    if (in != NULL)
        fclose(in);
    text[n] = '\0';
    const char *at = strstr(text, "listen = 127.0.0.1:0\n");
    FILE *out = at != NULL ? fopen(path, "w") : NULL;
    if (out == NULL)
        return -1;
    fprintf(out, "%.*slisten = 127.0.0.1:%d\n%s", (int)(at - text), text, f->sb.engine.port,
            at + strlen("listen = 127.0.0.1:0\n"));
    return fclose(out) == 0 ? 0 : -1;
}

const char *fixture_engine(const struct client_fixture *f, char *buf)
{
    snprintf(buf, 64, "127.0.0.1:%d", f->sb.engine.port);
    return buf;
}

void fixture_options(struct client_fixture *f, const char *hospital, const char *engines,
                     struct sanhe_client_options *o, char bufs[3][4096])
{
    char rel[128];
    snprintf(rel, sizeof rel, "certs/counter-%s.crt", hospital);
    sandbox_path(&f->sb, rel, bufs[0]);
    snprintf(rel, sizeof rel, "certs/counter-%s.key", hospital);
    sandbox_path(&f->sb, rel, bufs[1]);
    snprintf(bufs[2], 4096, "%s", f->ca);
    memset(o, 0, sizeof *o);
    o->engines = engines;
    o->ca_file = bufs[2];
    o->cert_file = bufs[0];
    o->key_file = bufs[1];
    o->terminal = hospital;
}

int fixture_finish(struct client_fixture *f)
{
    char data[4096], log[4096];
    sandbox_path(&f->sb, "data", data);
    int rc = f->sb.engine.pid > 0 ? engine_proc_stop(&f->sb.engine, 10000) : 0;
    const char *const argv[] = {f->sb.engine_path, "check", "--data", data, NULL};
    int check = proc_run(argv, sandbox_path(&f->sb, "check.log", log), log);
    if (check != 0)
        fprintf(stderr, "fixture: sanhe-engine check failed: see %s\n", log);
    sandbox_destroy(&f->sb, check != 0);
    json_decref(f->doc);
    return rc == 0 && check == 0 ? 0 : -1;
}
