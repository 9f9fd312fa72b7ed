/*
 * sanhe-demo [--lang zh|en] [--keep] DEMO.json: the README's demo. Starts a
 * sanhe-engine on a fresh directory with its own certificates, loads the
 * demo day's reference data over TLS as the admin terminal, settles each
 * sample bill over TLS as its hospital's counter terminal and prints the
 * receipt, shows that a retried settle is answered with the same
 * settlement, then stops the engine and verifies its data offline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receipt.h"
#include "sandbox.h"
#include "sh_json.h"
#include "sh_json_load.h"

#define DEMO_TIMEOUT_MS 10000

struct demo {
    struct sandbox sb;
    const json_t *doc;
    enum sh_lang lang;
};

static const char *find_name(const json_t *doc, const char *array, const char *key,
                             const char *value)
{
    const json_t *arr = json_object_get(doc, array);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *v = json_string_value(json_object_get(o, key));
        if (v != NULL && value != NULL && strcmp(v, value) == 0)
            return json_string_value(json_object_get(o, "name"));
    }
    return NULL;
}

/* One request over a new TLS connection as the terminal `name`. */
static Sanhe__Response *call_as(const struct demo *d, const char *name, const Sanhe__Request *req)
{
    struct sh_error err = {0};
    struct tc *tc = NULL;
    Sanhe__Response *resp = NULL;
    if (sandbox_connect(&d->sb, name, &tc, &err) < 0)
        fprintf(stderr, "sanhe-demo: %s\n", err.msg);
    else if (tc_call(tc, req, &resp, DEMO_TIMEOUT_MS) < 0)
        fprintf(stderr, "sanhe-demo: %s\n", tc_last_error(tc));
    tc_close(tc);
    return resp;
}

static void print_receipt(const struct demo *d, const Sanhe__Claim *claim,
                          const Sanhe__SettleReply *reply)
{
    struct sh_receipt r = {
        .hospital_code = claim->hospital,
        .hospital_name = find_name(d->doc, "hospitals", "code", claim->hospital),
        .person_id = claim->person,
        .person_name = find_name(d->doc, "persons", "id", claim->person),
        .visit = claim->visit,
        .date = claim->date,
        .settlement_id = reply->settlement_id,
        .business_day = reply->business_day,
        .breakdown = reply->breakdown,
    };
    sh_receipt_print(stdout, &r, d->lang);
    fputc('\n', stdout);
}

/* Settles one sample bill; returns its settlement id, or 0. */
static uint64_t settle(const struct demo *d, const json_t *step, bool print)
{
    struct sh_error err = {0};
    Sanhe__Claim *claim = NULL;
    if (sh_json_to_claim(json_object_get(step, "claim"), &claim, &err) < 0) {
        fprintf(stderr, "sanhe-demo: a sample bill is malformed: %s\n", err.msg);
        return 0;
    }
    char terminal[64];
    snprintf(terminal, sizeof terminal, "counter-%s", claim->hospital ? claim->hospital : "");
    Sanhe__SettleRequest op = SANHE__SETTLE_REQUEST__INIT;
    op.claim = claim;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = (char *)json_string_value(json_object_get(step, "request_id"));
    req.op_case = SANHE__REQUEST__OP_SETTLE;
    req.settle = &op;
    Sanhe__Response *resp = call_as(d, terminal, &req);
    uint64_t id = 0;
    if (resp != NULL && resp->error != NULL)
        fprintf(stderr, "sanhe-demo: settle %s refused: %s\n", req.request_id,
                resp->error->message ? resp->error->message : "");
    else if (resp != NULL && resp->settle != NULL) {
        id = resp->settle->settlement_id;
        if (print)
            print_receipt(d, claim, resp->settle);
    }
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    sanhe__claim__free_unpacked(claim, NULL);
    return id;
}

static int load(struct demo *d)
{
    struct sh_error err = {0};
    Sanhe__LoadRequest msg;
    int rc = sh_json_to_load(d->doc, &msg, &err);
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "demo-load";
    req.op_case = SANHE__REQUEST__OP_LOAD;
    req.load = &msg;
    Sanhe__Response *resp = rc == 0 ? call_as(d, "demo-admin", &req) : NULL;
    if (rc == 0 && (resp == NULL || resp->error != NULL))
        rc = sh_error_set(&err, SH_E_BAD_REFERENCE_DATA, "%s",
                          resp && resp->error->message ? resp->error->message : "no reply");
    if (rc < 0)
        fprintf(stderr, "sanhe-demo: reference data refused: %s\n", err.msg);
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    sh_json_load_free(&msg);
    return rc;
}

static int start(struct demo *d, const char *engine, const char *certs)
{
    struct sh_error err = {0};
    int rc = sandbox_create(&d->sb, "sanhe-demo", engine, certs, &err);
    if (rc == 0)
        rc = sandbox_add_terminal(&d->sb, "demo-admin", NULL, "admin", &err);
    const json_t *hospitals = json_object_get(d->doc, "hospitals");
    for (size_t i = 0; rc == 0 && i < json_array_size(hospitals); i++) {
        const char *code = json_string_value(json_object_get(json_array_get(hospitals, i), "code"));
        char name[64];
        snprintf(name, sizeof name, "counter-%s", code ? code : "");
        rc = sandbox_add_terminal(&d->sb, name, code, "counter", &err);
    }
    if (rc == 0)
        rc = sandbox_start(&d->sb, NULL, &err);
    if (rc < 0)
        fprintf(stderr, "sanhe-demo: cannot start the engine: %s\n", err.msg);
    else
        printf("sanhe-engine listening on 127.0.0.1:%d (data in %s)\n\n", d->sb.engine.port,
               d->sb.dir);
    return rc;
}

/* Settles every sample bill, then retries the first one as a counter whose
 * link dropped would: the same request id gets the same settlement. */
static int settle_all(const struct demo *d)
{
    const json_t *steps = json_object_get(d->doc, "steps");
    int failed = 0;
    uint64_t first = 0;
    for (size_t i = 0; i < json_array_size(steps); i++) {
        uint64_t id = settle(d, json_array_get(steps, i), true);
        failed += id == 0;
        first = i == 0 ? id : first;
    }
    if (json_array_size(steps) > 0) {
        uint64_t again = settle(d, json_array_get(steps, 0), false);
        printf("%s: settlement %llu, %s\n",
               d->lang == SH_LANG_ZH ? "重发第一笔结算（同一请求号）" : "First bill resent (same request id)",
               (unsigned long long)again,
               again == first ? (d->lang == SH_LANG_ZH ? "原结果返回，未重复支付" : "the original answer, paid once")
                              : "MISMATCH");
        failed += again != first;
    }
    return failed;
}

/* Stops the engine, then checks its data offline (sanhe-engine check). */
static int stop_and_check(struct demo *d, bool keep)
{
    char data[4096], log[4096];
    sandbox_path(&d->sb, "data", data);
    int rc = engine_proc_stop(&d->sb.engine, DEMO_TIMEOUT_MS);
    const char *const argv[] = {d->sb.engine_path, "check", "--data", data, NULL};
    int check = proc_run(argv, sandbox_path(&d->sb, "check.log", log), log);
    printf("sanhe-engine check: %s\n", check == 0 ? "clean" : "PROBLEMS (see check.log)");
    if (keep)
        printf("kept %s\n", d->sb.dir);
    sandbox_destroy(&d->sb, keep);
    return rc == 0 && check == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct demo d = {.lang = SH_LANG_ZH};
    bool keep = false;
    int argi = 1;
    for (; argi < argc && strncmp(argv[argi], "--", 2) == 0; argi++) {
        if (strcmp(argv[argi], "--keep") == 0)
            keep = true;
        else if (strcmp(argv[argi], "--lang") == 0 && argi + 1 < argc)
            d.lang = strcmp(argv[++argi], "en") == 0 ? SH_LANG_EN : SH_LANG_ZH;
        else
            break;
    }
    if (argi + 1 != argc) {
        fprintf(stderr, "usage: sanhe-demo [--lang zh|en] [--keep] DEMO.json\n");
        return 2;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(argv[argi], 0, &jerr);
    if (doc == NULL) {
        fprintf(stderr, "sanhe-demo: %s:%d: %s\n", argv[argi], jerr.line, jerr.text);
        return 1;
    }
    d.doc = doc;
    int rc = start(&d, SANHE_ENGINE_PATH, SANHE_CERTS_SCRIPT);
    if (rc == 0)
        rc = load(&d);
    int failed = rc == 0 ? settle_all(&d) : 1;
    rc = stop_and_check(&d, keep) != 0 || failed != 0;
    json_decref(doc);
    return rc;
}
