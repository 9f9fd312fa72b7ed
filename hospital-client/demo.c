/*
 * sanhe-demo [--lang zh|en] [--keep] DEMO.json: the README's demo. Starts a
 * sanhe-engine on a fresh directory with its own certificates, loads the
 * demo day's reference data over TLS as the admin terminal, settles each
 * sample bill over TLS as its hospital's counter terminal and prints the
 * receipt, shows that a retried settle is answered with the same
 * settlement, then stops the engine and verifies its data offline.
 *
 * It talks to the engine through libsanhe-client, as a counter does: the
 * settles with sanhe_settle, the admin's load with sanhe_call_raw. The
 * sandbox (tests/support) only makes the directory, the certificates and
 * the config, and starts and stops the engine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receipt.h"
#include "sandbox.h"
#include "sanhe/client.h"
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

/* A libsanhe-client handle for the terminal `name` of the sandbox. One
 * attempt per connection: the engine is local, and a load may take a while. */
static int client_for(const struct demo *d, const char *name, sanhe_client **out)
{
    char engine[64], ca[4096], cert[4096], key[4096], rel[128];
    snprintf(engine, sizeof engine, "127.0.0.1:%d", d->sb.engine.port);
    snprintf(rel, sizeof rel, "certs/%s.crt", name);
    sandbox_path(&d->sb, rel, cert);
    snprintf(rel, sizeof rel, "certs/%s.key", name);
    sandbox_path(&d->sb, rel, key);
    struct sanhe_client_options o = {
        .engines = engine,
        .ca_file = sandbox_path(&d->sb, "certs/ca.crt", ca),
        .cert_file = cert,
        .key_file = key,
        .terminal = name,
        .timeout_ms = DEMO_TIMEOUT_MS,
        .attempt_timeout_ms = DEMO_TIMEOUT_MS,
    };
    int rc = sanhe_client_new(out, &o);
    if (rc != 0)
        fprintf(stderr, "sanhe-demo: %s: %s\n", name, sanhe_strerror(rc));
    return rc;
}

/* Why a call failed: the engine's refusal, or what the library saw. */
static void report(sanhe_client *c, const char *what, int rc)
{
    if (rc == SANHE_E_REFUSED)
        fprintf(stderr, "sanhe-demo: %s refused: %s\n", what, sanhe_last_message(c));
    else
        fprintf(stderr, "sanhe-demo: %s: %s (%s)\n", what, sanhe_strerror(rc),
                sanhe_last_message(c));
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

/* The claim as libsanhe-client takes it (pointing into pb); lines holds
 * pb->n_lines entries. */
static struct sanhe_claim claim_view(const Sanhe__Claim *pb, struct sanhe_line *lines)
{
    for (size_t i = 0; i < pb->n_lines; i++)
        lines[i] =
            (struct sanhe_line){pb->lines[i]->code, pb->lines[i]->qty_milli, pb->lines[i]->amount};
    return (struct sanhe_claim){pb->hospital, pb->person, pb->visit, pb->date, lines, pb->n_lines};
}

/* The receipt from the settle's reply as it came (sanhe_last_reply): the
 * printer takes the protocol's breakdown, every field of it. */
static void print_last(const struct demo *d, sanhe_client *c, const Sanhe__Claim *claim)
{
    size_t len = 0;
    const void *bytes = sanhe_last_reply(c, &len);
    Sanhe__Response *resp = bytes != NULL ? sanhe__response__unpack(NULL, len, bytes) : NULL;
    if (resp != NULL && resp->settle != NULL)
        print_receipt(d, claim, resp->settle);
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
}

/* Settles one sample bill as its hospital's counter, with the bill's
 * request id; returns its settlement id, or 0. */
static uint64_t settle(const struct demo *d, const json_t *step, bool print)
{
    struct sh_error err = {0};
    Sanhe__Claim *pb = NULL;
    if (sh_json_to_claim(json_object_get(step, "claim"), &pb, &err) < 0) {
        fprintf(stderr, "sanhe-demo: a sample bill is malformed: %s\n", err.msg);
        return 0;
    }
    char terminal[64];
    snprintf(terminal, sizeof terminal, "counter-%s", pb->hospital ? pb->hospital : "");
    const char *rid = json_string_value(json_object_get(step, "request_id"));
    struct sanhe_line *lines = calloc(pb->n_lines > 0 ? pb->n_lines : 1, sizeof *lines);
    sanhe_client *c = NULL;
    uint64_t id = 0;
    if (lines != NULL && client_for(d, terminal, &c) == 0) {
        struct sanhe_claim claim = claim_view(pb, lines);
        struct sanhe_settle_result r;
        int rc = sanhe_settle(c, &claim, rid, 0, &r);
        char what[64];
        snprintf(what, sizeof what, "settle %s", rid != NULL ? rid : "");
        if (rc != 0)
            report(c, what, rc);
        id = rc == 0 ? r.settlement_id : 0;
        if (rc == 0 && print)
            print_last(d, c, pb);
        sanhe_settle_result_free(&r);
    }
    sanhe_client_free(c);
    free(lines);
    sanhe__claim__free_unpacked(pb, NULL);
    return id;
}

/* The admin's load has no call of its own in libsanhe-client: it goes
 * through sanhe_call_raw, packed here. */
static int send_load(const struct demo *d, const Sanhe__LoadRequest *msg)
{
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "demo-load";
    req.op_case = SANHE__REQUEST__OP_LOAD;
    req.load = (Sanhe__LoadRequest *)msg;
    size_t len = sanhe__request__get_packed_size(&req);
    uint8_t *packed = malloc(len > 0 ? len : 1);
    sanhe_client *c = NULL;
    int rc = packed != NULL ? client_for(d, "demo-admin", &c) : SANHE_E_NOMEM;
    void *reply = NULL;
    size_t reply_len = 0;
    if (rc == 0) {
        sanhe__request__pack(&req, packed);
        rc = sanhe_call_raw(c, packed, len, 0, &reply, &reply_len);
    }
    if (rc != 0 && c != NULL)
        report(c, "reference data", rc);
    free(reply);
    sanhe_client_free(c);
    free(packed);
    return rc;
}

static int load(struct demo *d)
{
    struct sh_error err = {0};
    Sanhe__LoadRequest msg;
    int rc = sh_json_to_load(d->doc, &msg, &err);
    if (rc < 0) {
        fprintf(stderr, "sanhe-demo: reference data refused: %s\n", err.msg);
        return rc;
    }
    rc = send_load(d, &msg);
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
               d->lang == SH_LANG_ZH ? "重发第一笔结算（同一请求号）"
                                     : "First bill resent (same request id)",
               (unsigned long long)again,
               again == first ? (d->lang == SH_LANG_ZH ? "原结果返回，未重复支付"
                                                       : "the original answer, paid once")
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
    sh_i18n_init(d.lang); /* the receipts' catalog */
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
