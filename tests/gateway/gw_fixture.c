#include "gw_fixture.h"

#include <assert.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gw_num.h"
#include "sh_json_load.h"

#define PATH_LEN 4096
#define REPLY_MAX (16 << 20)

const char *gwfx_path(const struct gwfx *f, const char *rel, char *buf)
{
    return sandbox_path(&f->sb[0], rel, buf);
}

/* ---- Engines ---- */

static int load(struct sandbox *sb, const json_t *doc)
{
    struct sh_error err = {0};
    Sanhe__LoadRequest msg;
    int rc = sh_json_to_load(doc, &msg, &err);
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "gwfx-load";
    req.op_case = SANHE__REQUEST__OP_LOAD;
    req.load = &msg;
    struct tc *tc = NULL;
    Sanhe__Response *resp = NULL;
    if (rc == 0)
        rc = sandbox_connect(sb, "admin", &tc, &err);
    if (rc == 0)
        rc = tc_call(tc, &req, &resp, SANDBOX_TIMEOUT_MS);
    if (rc == 0 && resp->error != NULL)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "gwfx: load failed: %s\n", err.msg);
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    tc_close(tc);
    sh_json_load_free(&msg);
    return rc;
}

/* The first sandbox's CA and engine certificate into sb's certs. */
static int share_ca(const struct gwfx *f, const struct sandbox *sb)
{
    static const char *const files[] = {"ca.crt", "ca.key", "engine.crt", "engine.key"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char from[PATH_LEN], to[PATH_LEN], rel[64];
        snprintf(rel, sizeof rel, "certs/%s", files[i]);
        const char *const argv[] = {"/bin/cp", sandbox_path(&f->sb[0], rel, from),
                                    sandbox_path(sb, rel, to), NULL};
        if (proc_run(argv, NULL, NULL) != 0)
            return -1;
    }
    return 0;
}

int gwfx_engine(struct gwfx *f, const char *case_path)
{
    assert(f->engine_count < GWFX_ENGINES_MAX);
    if (f->engine_count == 0)
        f->gw.pid = -1;
    struct sandbox *sb = &f->sb[f->engine_count];
    json_error_t jerr;
    json_t *doc = json_load_file(case_path, 0, &jerr);
    if (doc == NULL) {
        fprintf(stderr, "gwfx: %s: %s\n", case_path, jerr.text);
        return -1;
    }
    struct sh_error err = {0};
    int rc = sandbox_create(sb, "sanhe-gw-test", SANHE_ENGINE_PATH, SANHE_CERTS_SCRIPT, &err);
    f->engine_count++;
    if (rc == 0 && f->engine_count > 1)
        rc = share_ca(f, sb);
    if (rc == 0)
        rc = sandbox_add_terminal(sb, "admin", NULL, "admin", &err);
    const json_t *hs = json_object_get(doc, "hospitals");
    for (size_t i = 0; rc == 0 && i < json_array_size(hs); i++) {
        const char *code = json_string_value(json_object_get(json_array_get(hs, i), "code"));
        char name[64];
        snprintf(name, sizeof name, "counter-%s", code);
        rc = sandbox_add_terminal(sb, name, code, "counter", &err);
    }
    if (rc == 0)
        rc = sandbox_start(sb, NULL, &err);
    if (rc != 0)
        fprintf(stderr, "gwfx: %s\n", err.msg);
    if (rc == 0)
        rc = load(sb, doc);
    if (f->engine_count == 1)
        sandbox_path(sb, "certs/ca.crt", f->ca);
    json_decref(doc);
    return rc == 0 ? 0 : -1;
}

int gwfx_his(struct gwfx *f, const char *name, const char *hospital)
{
    char dir[PATH_LEN];
    const char *argv[] = {
        SANHE_CERTS_SCRIPT, "terminal", gwfx_path(f, "certs", dir), name, hospital,
        "counter",          NULL};
    return proc_run(argv, NULL, NULL) == 0 ? 0 : -1;
}

/* ---- The gateway ---- */

static int write_regions(const struct gwfx *f, FILE *out, const char *regions)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", regions);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            return -1;
        *eq = '\0';
        long i = strtol(eq + 1, NULL, 10);
        if (i < 0 || (size_t)i >= f->engine_count)
            return -1;
        fprintf(out, "[region %s]\nengine = 127.0.0.1:%d\n", tok, f->sb[i].engine.port);
    }
    return 0;
}

int gwfx_gateway(struct gwfx *f, const char *extra_gateway, const char *regions, const char *extra)
{
    const char *d = f->sb[0].dir;
    char conf[PATH_LEN], port[PATH_LEN], out[PATH_LEN], err[PATH_LEN];
    FILE *c = fopen(gwfx_path(f, "gateway.conf", conf), "w");
    if (c == NULL)
        return -1;
    fprintf(c,
            "[gateway]\nlisten = 127.0.0.1:0\nport_file = %s/gateway.port\nca = %s/certs/ca.crt\n"
            "cert = %s/certs/engine.crt\nkey = %s/certs/engine.key\ndata_dir = %s/gateway-data\n"
            "engine_timeout_ms = 20000\n%s\n"
            "[engine]\nca = %s/certs/ca.crt\nterminal_dir = %s/certs\nterminal_prefix = counter-\n",
            d, d, d, d, d, extra_gateway != NULL ? extra_gateway : "", d, d);
    int rc = write_regions(f, c, regions);
    fprintf(c, "%s\n", extra != NULL ? extra : "");
    if (fclose(c) != 0 || rc != 0)
        return -1;
    if (engine_proc_start(&f->gw, SANHE_GATEWAY_PATH, conf, gwfx_path(f, "gateway.port", port),
                          gwfx_path(f, "gateway.out", out), gwfx_path(f, "gateway.err", err),
                          SANDBOX_TIMEOUT_MS) != 0) {
        fprintf(stderr, "gwfx: the gateway did not start: see %s\n", err);
        return -1;
    }
    return 0;
}

/* ---- curl ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        return NULL;
    char *buf = malloc(REPLY_MAX + 1);
    size_t n = buf != NULL ? fread(buf, 1, REPLY_MAX, in) : 0;
    fclose(in);
    if (buf != NULL)
        buf[n] = '\0';
    *len = n;
    return buf;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int gwfx_post(struct gwfx *f, const char *his, const char *path, const char *body, size_t len,
              const char *const extra[], struct gwfx_reply *r)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    char req[PATH_LEN], out[PATH_LEN], code[PATH_LEN], err[PATH_LEN], cert[PATH_LEN], key[PATH_LEN],
        rel[128], url[128], data[PATH_LEN + 1];
    FILE *w = fopen(gwfx_path(f, "curl-request", req), "wb");
    if (w == NULL || fwrite(body, 1, len, w) != len) {
        if (w != NULL)
            fclose(w);
        return -1;
    }
    if (fclose(w) != 0)
        return -1;
    gwfx_path(f, "curl-reply", out);
    gwfx_path(f, "curl-code", code);
    gwfx_path(f, "curl-stderr", err);
    unlink(out);
    unlink(code);
    unlink(err);
    snprintf(rel, sizeof rel, "certs/%s.crt", his);
    gwfx_path(f, rel, cert);
    snprintf(rel, sizeof rel, "certs/%s.key", his);
    gwfx_path(f, rel, key);
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", f->gw.port, path);
    snprintf(data, sizeof data, "@%s", req);
    const char *argv[64] = {
        SANHE_CURL_PATH, "-sS", "--max-time", "60", "--cacert", f->ca,
        "--cert",        cert,  "--key",      key,  "-H",       "Content-Type: application/json",
        "--data-binary", data,  "-o",         out,  "-w",       "%{http_code}"};
    size_t n = 18;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 60; i++)
        argv[n++] = extra[i];
    argv[n++] = url;
    argv[n] = NULL;
    double t0 = now_s();
    r->curl_rc = proc_run(argv, code, err);
    r->seconds = now_s() - t0;
    size_t clen = 0;
    char *ctext = slurp(code, &clen);
    r->status = ctext != NULL ? (int)strtol(ctext, NULL, 10) : -1;
    free(ctext);
    r->body = slurp(out, &r->len);
    if (r->body == NULL)
        r->body = calloc(1, 1);
    char why[64];
    r->doc = r->len > 0 ? gw_json_load(r->body, r->len, why, sizeof why) : NULL;
    if (r->curl_rc != 0) {
        size_t elen = 0;
        char *etext = slurp(err, &elen);
        fprintf(stderr, "gwfx: curl %s: exit %d: %s", path, r->curl_rc, etext ? etext : "");
        free(etext);
    }
    return r->curl_rc == 0 ? 0 : -1;
}

void gwfx_msgid(struct gwfx *f, const char *hospital, char out[40])
{
    snprintf(out, 40, "%s20261207100000%04u", hospital, ++f->seq % 10000);
}

char *gwfx_envelope(const char *infno, const char *msgid, const char *hospital, const char *region,
                    const char *inf_time, const char *input)
{
#define ENVELOPE                                                                                   \
    "{\"infno\":\"%s\",\"msgid\":\"%s\",\"mdtrtarea_admvs\":\"330424\","                           \
    "\"insuplc_admdvs\":\"%s\",\"recer_sys_code\":\"HIS\",\"dev_no\":\"\","                        \
    "\"dev_safe_info\":\"\",\"cainfo\":\"\",\"signtype\":\"\",\"infver\":\"V1.0\","                \
    "\"opter_type\":\"1\",\"opter\":\"T01\",\"opter_name\":\"test\",\"inf_time\":\"%s\","          \
    "\"fixmedins_code\":\"%s\",\"fixmedins_name\":\"test\",\"sign_no\":\"\",\"input\":%s}"
    int n = snprintf(NULL, 0, ENVELOPE, infno, msgid, region, inf_time, hospital, input);
    char *out = malloc((size_t)n + 1);
    assert(out != NULL);
    snprintf(out, (size_t)n + 1, ENVELOPE, infno, msgid, region, inf_time, hospital, input);
    return out;
}

int gwfx_txn(struct gwfx *f, const char *hospital, const char *infno, const char *msgid,
             const char *region, const char *inf_time, const char *input, struct gwfx_reply *r)
{
    char mid[40], his[64], path[16];
    if (msgid == NULL)
        gwfx_msgid(f, hospital, mid);
    else
        snprintf(mid, sizeof mid, "%s", msgid);
    snprintf(his, sizeof his, "his-%s", hospital);
    snprintf(path, sizeof path, "/%s", infno);
    char *body = gwfx_envelope(infno, mid, hospital, region, inf_time, input);
    int rc = gwfx_post(f, his, path, body, strlen(body), NULL, r);
    snprintf(r->msgid, sizeof r->msgid, "%s", mid);
    free(body);
    return rc;
}

void gwfx_reply_free(struct gwfx_reply *r)
{
    free(r->body);
    json_decref(r->doc);
    memset(r, 0, sizeof *r);
}

int gwfx_infcode(const struct gwfx_reply *r)
{
    const char *t = gw_num_text(json_object_get(r->doc, "infcode"));
    char *end = NULL;
    long v = t != NULL ? strtol(t, &end, 10) : 0;
    return t != NULL && *end == '\0' ? (int)v : -9999;
}

const json_t *gwfx_get(const json_t *doc, ...)
{
    va_list ap;
    va_start(ap, doc);
    const json_t *v = doc;
    for (const char *k = va_arg(ap, const char *); k != NULL && v != NULL;
         k = va_arg(ap, const char *))
        v = json_object_get(v, k);
    va_end(ap);
    return v;
}

/* Exactly "-?D+.DD": the interface's yuan, parsed here on its own (not
 * with the gateway's parser, which this checks). */
long long gwfx_fen(const json_t *obj, const char *key)
{
    const char *t = gw_num_text(json_object_get(obj, key));
    if (t == NULL)
        return INT64_MIN;
    bool neg = t[0] == '-';
    const char *p = t + neg;
    long long v = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        v = v * 10 + (*p - '0');
    if (digits == 0 || p[0] != '.' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
        p[3] != '\0')
        return INT64_MIN;
    v = v * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    return neg ? -v : v;
}

const char *gwfx_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) && gw_num_text(v) == NULL ? json_string_value(v) : "";
}

int gwfx_engine_call(struct gwfx *f, size_t i, const char *hospital, const Sanhe__Request *req,
                     Sanhe__Response **resp)
{
    assert(i < f->engine_count);
    char name[64];
    snprintf(name, sizeof name, "counter-%s", hospital);
    struct tc *tc = NULL;
    struct sh_error err = {0};
    int rc = sandbox_connect(&f->sb[i], name, &tc, &err);
    if (rc == 0)
        rc = tc_call(tc, req, resp, SANDBOX_TIMEOUT_MS);
    tc_close(tc);
    return rc;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_word(char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool gwfx_file_has_id(const char *path)
{
    size_t len = 0;
    char *text = slurp(path, &len);
    bool found = false;
    for (size_t i = 0; text != NULL && !found && i + 18 <= len; i++) {
        if (i > 0 && is_word(text[i - 1]))
            continue;
        size_t k = 0;
        while (k < 17 && is_digit(text[i + k]))
            k++;
        found = k == 17 && (is_digit(text[i + 17]) || text[i + 17] == 'X') &&
                (i + 18 == len || !is_word(text[i + 18]));
    }
    free(text);
    return found;
}

int gwfx_finish(struct gwfx *f)
{
    int rc = 0;
    if (f->gw.pid > 0 && engine_proc_stop(&f->gw, SANDBOX_TIMEOUT_MS) != 0) {
        fprintf(stderr, "gwfx: the gateway did not stop cleanly\n");
        rc = -1;
    }
    for (size_t i = f->engine_count; i-- > 0;) {
        struct sandbox *sb = &f->sb[i];
        char data[PATH_LEN], log[PATH_LEN];
        int stop = sb->engine.pid > 0 ? engine_proc_stop(&sb->engine, SANDBOX_TIMEOUT_MS) : 0;
        const char *const argv[] = {sb->engine_path, "check", "--data",
                                    sandbox_path(sb, "data", data), NULL};
        int check = proc_run(argv, sandbox_path(sb, "check.log", log), log);
        if (stop != 0 || check != 0) {
            fprintf(stderr, "gwfx: engine %zu: stop %d, check %d (see %s)\n", i, stop, check, log);
            rc = -1;
        }
        sandbox_destroy(sb, rc != 0);
    }
    return rc;
}
