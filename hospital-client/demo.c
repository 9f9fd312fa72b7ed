/*
 * sanhe-demo [--lang zh|en] FILE: settles the sample claims of a demo day
 * (case-file format) on a fresh in-process ledger and prints a receipt for
 * each. The README's demo command runs it on ops/demo/demo-day.json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "receipt.h"
#include "sh_json.h"
#include "sh_json_load.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static Sanhe__Response *call(struct ledger *ledger, const struct sh_caller *caller,
                             const Sanhe__Request *req)
{
    struct sh_reply reply = {0};
    if (ledger_handle(ledger, caller, req, now_ms(), &reply) < 0)
        return NULL;
    Sanhe__Response *resp = sanhe__response__unpack(NULL, reply.len, reply.data);
    free(reply.data);
    return resp;
}

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

static void settle_step(struct ledger *ledger, const json_t *doc, const json_t *step,
                        enum sh_lang lang)
{
    struct sh_error err = {0};
    Sanhe__Claim *claim = NULL;
    if (sh_json_to_claim(json_object_get(step, "claim"), &claim, &err) < 0) {
        fprintf(stderr, "sanhe-demo: a claim is malformed: %s\n", err.msg);
        return;
    }
    struct sh_caller counter = {.terminal = "demo-counter", .role = SH_ROLE_COUNTER};
    snprintf(counter.hospital, sizeof counter.hospital, "%s", claim->hospital ? claim->hospital : "");
    Sanhe__SettleRequest settle = SANHE__SETTLE_REQUEST__INIT;
    settle.claim = claim;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = (char *)json_string_value(json_object_get(step, "request_id"));
    req.op_case = SANHE__REQUEST__OP_SETTLE;
    req.settle = &settle;
    Sanhe__Response *resp = call(ledger, &counter, &req);
    if (resp == NULL || resp->error != NULL) {
        fprintf(stderr, "sanhe-demo: settle %s refused: %s\n", req.request_id,
                resp && resp->error->message ? resp->error->message : "no reply");
    } else {
        struct sh_receipt r = {
            .hospital_code = claim->hospital,
            .hospital_name = find_name(doc, "hospitals", "code", claim->hospital),
            .person_id = claim->person,
            .person_name = find_name(doc, "persons", "id", claim->person),
            .visit = claim->visit,
            .date = claim->date,
            .settlement_id = resp->settle->settlement_id,
            .business_day = resp->settle->business_day,
            .breakdown = resp->settle->breakdown,
        };
        sh_receipt_print(stdout, &r, lang);
        fputc('\n', stdout);
    }
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    sanhe__claim__free_unpacked(claim, NULL);
}

static int load(struct ledger *ledger, const json_t *doc)
{
    struct sh_error err = {0};
    Sanhe__LoadRequest msg;
    int rc = sh_json_to_load(doc, &msg, &err);
    if (rc == 0) {
        struct sh_caller admin = {.terminal = "demo-admin", .role = SH_ROLE_ADMIN};
        Sanhe__Request req = SANHE__REQUEST__INIT;
        req.request_id = "demo-load";
        req.op_case = SANHE__REQUEST__OP_LOAD;
        req.load = &msg;
        Sanhe__Response *resp = call(ledger, &admin, &req);
        if (resp == NULL || resp->error != NULL)
            rc = sh_error_set(&err, SH_E_BAD_REFERENCE_DATA, "%s",
                              resp && resp->error->message ? resp->error->message : "no reply");
        if (resp != NULL)
            sanhe__response__free_unpacked(resp, NULL);
    }
    if (rc < 0)
        fprintf(stderr, "sanhe-demo: reference data refused: %s\n", err.msg);
    sh_json_load_free(&msg);
    return rc;
}

int main(int argc, char **argv)
{
    enum sh_lang lang = SH_LANG_ZH;
    int argi = 1;
    if (argi + 1 < argc && strcmp(argv[argi], "--lang") == 0) {
        lang = strcmp(argv[argi + 1], "en") == 0 ? SH_LANG_EN : SH_LANG_ZH;
        argi += 2;
    }
    if (argi >= argc) {
        fprintf(stderr, "usage: sanhe-demo [--lang zh|en] DEMO.json\n");
        return 2;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(argv[argi], 0, &jerr);
    if (doc == NULL) {
        fprintf(stderr, "sanhe-demo: %s:%d: %s\n", argv[argi], jerr.line, jerr.text);
        return 1;
    }
    char dir[] = "/tmp/sanhe-demo-XXXXXX";
    struct ledger *ledger = NULL;
    struct sh_error err = {0};
    struct ledger_config cfg = {.dir = mkdtemp(dir), .durable = true, .utc_offset_min = 480};
    if (cfg.dir == NULL || ledger_open(&cfg, &ledger, &err) < 0) {
        fprintf(stderr, "sanhe-demo: cannot open a ledger: %s\n", err.msg);
        return 1;
    }
    int rc = load(ledger, doc);
    const json_t *steps = json_object_get(doc, "steps");
    for (size_t i = 0; rc == 0 && i < json_array_size(steps); i++)
        settle_step(ledger, doc, json_array_get(steps, i), lang);
    ledger_close(ledger);
    json_decref(doc);
    printf("ledger kept in %s\n", dir);
    return rc == 0 ? 0 : 1;
}
