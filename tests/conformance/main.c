/*
 * sanhe-conformance [--server | --gateway] [--engine PATH] [--certs PATH] [--keep] FILE...
 *
 * Runs each case file on a fresh engine state, prints every failing step
 * with the fields that differ, then a last line "N passed, N failed"
 * counting steps. Exit status 0 only when no step failed and every file
 * could be run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "sh_json.h"
#include "sh_json_load.h"
#include "sh_json_out.h"

struct server_options server_options;
const char case_admin[] = "(admin)";

struct tally {
    long passed;
    long failed;
};

/* ---- Identities ------------------------------------------------------------------ */

/* Every hospital a step acts as, and every hospital of the reference data. */
static void identities_build(const json_t *doc, struct case_identities *ids)
{
    const json_t *hospitals = json_object_get(doc, "hospitals");
    const json_t *steps = json_object_get(doc, "steps");
    size_t cap = json_array_size(hospitals) + json_array_size(steps);
    ids->hospitals = calloc(cap + 1, sizeof(char *));
    ids->hospital_count = 0;
    for (size_t i = 0; i < cap && ids->hospitals != NULL; i++) {
        const json_t *src =
            i < json_array_size(hospitals)
                ? json_object_get(json_array_get(hospitals, i), "code")
                : json_object_get(json_array_get(steps, i - json_array_size(hospitals)),
                                  "hospital");
        const char *code = json_string_value(src);
        bool seen = code == NULL;
        for (size_t j = 0; !seen && j < ids->hospital_count; j++)
            seen = strcmp(ids->hospitals[j], code) == 0;
        if (!seen)
            ids->hospitals[ids->hospital_count++] = code;
    }
}

/* ---- Steps ------------------------------------------------------------------------------ */

struct step_request {
    Sanhe__Request req;
    union {
        Sanhe__SettleRequest settle;
        Sanhe__PresettleRequest presettle;
        Sanhe__ReverseRequest reverse;
        Sanhe__CancelRequest cancel;
        Sanhe__EligibilityRequest eligibility;
        Sanhe__PersonUpdateRequest person_update;
        Sanhe__CrosscheckRequest crosscheck;
    } op;
    Sanhe__Claim *claim;
    Sanhe__Person *person;
};

static char *string_field(const json_t *step, const char *key)
{
    return (char *)json_string_value(json_object_get(step, key));
}

static int step_claim(const json_t *step, struct step_request *s, struct sh_error *err)
{
    return sh_json_to_claim(json_object_get(step, "claim"), &s->claim, err);
}

/* Builds the request of a step; on a claim the protocol cannot carry at all,
 * returns the client-side refusal (a real terminal could not send it either). */
static int step_build(const json_t *step, const char *op, struct step_request *s,
                      struct sh_error *err)
{
    memset(s, 0, sizeof *s);
    sanhe__request__init(&s->req);
    s->req.request_id = string_field(step, "request_id");
    if (strcmp(op, "settle") == 0 || strcmp(op, "presettle") == 0) {
        int rc = step_claim(step, s, err);
        if (rc < 0)
            return rc;
        if (op[0] == 's') {
            sanhe__settle_request__init(&s->op.settle);
            s->op.settle.claim = s->claim;
            s->req.op_case = SANHE__REQUEST__OP_SETTLE;
            s->req.settle = &s->op.settle;
        } else {
            sanhe__presettle_request__init(&s->op.presettle);
            s->op.presettle.claim = s->claim;
            s->req.op_case = SANHE__REQUEST__OP_PRESETTLE;
            s->req.presettle = &s->op.presettle;
        }
    } else if (strcmp(op, "reverse") == 0) {
        sanhe__reverse_request__init(&s->op.reverse);
        s->op.reverse.target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
        s->op.reverse.settlement_request_id = string_field(step, "settlement_of");
        s->req.op_case = SANHE__REQUEST__OP_REVERSE;
        s->req.reverse = &s->op.reverse;
    } else if (strcmp(op, "cancel") == 0) {
        sanhe__cancel_request__init(&s->op.cancel);
        s->op.cancel.cancel_of = string_field(step, "cancel_of");
        s->req.op_case = SANHE__REQUEST__OP_CANCEL;
        s->req.cancel = &s->op.cancel;
    } else if (strcmp(op, "eligibility") == 0) {
        sanhe__eligibility_request__init(&s->op.eligibility);
        s->op.eligibility.person = string_field(step, "person");
        s->op.eligibility.date = string_field(step, "date");
        s->req.op_case = SANHE__REQUEST__OP_ELIGIBILITY;
        s->req.eligibility = &s->op.eligibility;
    } else if (strcmp(op, "person") == 0) {
        /* The engine judges the resident ID (BAD_PERSON_ID), not the runner. */
        int rc = sh_json_to_person_unchecked(json_object_get(step, "person"), &s->person, err);
        if (rc < 0)
            return rc;
        sanhe__person_update_request__init(&s->op.person_update);
        s->op.person_update.person = s->person;
        s->req.op_case = SANHE__REQUEST__OP_PERSON_UPDATE;
        s->req.person_update = &s->op.person_update;
    } else if (strcmp(op, "crosscheck") == 0) {
        sanhe__crosscheck_request__init(&s->op.crosscheck);
        s->op.crosscheck.month = string_field(step, "month");
        s->req.op_case = SANHE__REQUEST__OP_CROSSCHECK;
        s->req.crosscheck = &s->op.crosscheck;
    } else {
        return sh_error_set(err, SH_E_BAD_REQUEST, "unknown op \"%s\"", op);
    }
    return 0;
}

/* Who a step runs as: its hospital's counter, the admin (person updates)
 * or the bureau (NULL: eligibility and crosscheck name no hospital). */
static const char *step_identity(const json_t *step, const char *op)
{
    if (strcmp(op, "person") == 0)
        return case_admin;
    if (strcmp(op, "eligibility") == 0 || strcmp(op, "crosscheck") == 0)
        return NULL;
    return string_field(step, "hospital");
}

/* Runs one step; returns the reply rendered in the case-file shape. */
static json_t *step_run(struct driver *drv, const struct driver_ops *ops, const json_t *step,
                        const char *op, struct sh_error *err)
{
    struct step_request s;
    int rc = step_build(step, op, &s, err);
    if (rc == SH_E_BAD_CLAIM)
        return json_pack("{s:s, s:s, s:b}", "error", "BAD_CLAIM", "message", err->msg,
                         "client_side", 1);
    json_t *actual = NULL;
    if (rc == 0) {
        const char *hospital = step_identity(step, op);
        Sanhe__Response *resp = NULL;
        rc = ops->call(drv, hospital, &s.req, &resp, err);
        if (rc == 0) {
            actual = sh_json_from_response(resp, 1);
            sanhe__response__free_unpacked(resp, NULL);
        }
    }
    if (s.claim != NULL)
        sanhe__claim__free_unpacked(s.claim, NULL);
    if (s.person != NULL)
        sanhe__person__free_unpacked(s.person, NULL);
    return actual;
}

static void step_check(struct driver *drv, const struct driver_ops *ops, const char *file,
                       size_t index, const json_t *step, struct tally *t)
{
    const char *op = json_string_value(json_object_get(step, "op"));
    const char *rid = json_string_value(json_object_get(step, "request_id"));
    const json_t *expect = json_object_get(step, "expect");
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s: step %zu (%s%s%s)", file, index + 1, op ? op : "?",
             rid ? " " : "", rid ? rid : "");
    struct sh_error err = {0};
    json_t *actual = op != NULL ? step_run(drv, ops, step, op, &err) : NULL;
    int diffs;
    if (actual == NULL) {
        printf("%s: FAILED: %s\n", prefix, err.msg[0] ? err.msg : "step has no op");
        diffs = 1;
    } else if (!json_is_object(expect)) {
        printf("%s: FAILED: step has no expect object\n", prefix);
        diffs = 1;
    } else {
        char line[600];
        snprintf(line, sizeof line, "%s: FAILED:", prefix);
        diffs = compare_expect(expect, actual, "", line);
    }
    json_decref(actual);
    if (diffs == 0)
        t->passed++;
    else
        t->failed++;
}

/* ---- Files ----------------------------------------------------------------------------------- */

static int file_open(const char *path, json_t **doc, struct sh_error *err)
{
    json_error_t jerr;
    *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (*doc == NULL)
        return sh_error_set(err, SH_E_BAD_REQUEST, "line %d: %s", jerr.line, jerr.text);
    const char *schema = json_string_value(json_object_get(*doc, "schema"));
    if (schema == NULL || strcmp(schema, "sanhe.case/1") != 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, "schema is not \"sanhe.case/1\"");
    if (!json_is_array(json_object_get(*doc, "steps")))
        return sh_error_set(err, SH_E_BAD_REQUEST, "steps: not an array");
    return 0;
}

/* Returns false when the file could not be run at all. */
static bool file_run(const char *path, const struct driver_ops *ops, struct tally *t)
{
    struct sh_error err = {0};
    json_t *doc = NULL;
    Sanhe__LoadRequest load = SANHE__LOAD_REQUEST__INIT;
    struct case_identities ids = {0};
    struct driver *drv = NULL;
    int rc = file_open(path, &doc, &err);
    if (rc == 0)
        rc = sh_json_to_load(doc, &load, &err);
    if (rc == 0) {
        identities_build(doc, &ids);
        rc = ops->open(&drv, &load, &ids, &err);
    }
    if (rc == 0) {
        const json_t *steps = json_object_get(doc, "steps");
        for (size_t i = 0; i < json_array_size(steps); i++)
            step_check(drv, ops, path, i, json_array_get(steps, i), t);
        ops->close(drv);
    } else {
        /* Every step of a file that cannot run counts as failed, so the
         * last line never looks better than the run was. */
        size_t steps = doc != NULL ? json_array_size(json_object_get(doc, "steps")) : 0;
        t->failed += steps > 0 ? (long)steps : 1;
        printf("%s: cannot run: %s (%s)\n", path, err.msg, sh_error_name(rc));
    }
    free(ids.hospitals);
    sh_json_load_free(&load);
    json_decref(doc);
    return rc == 0;
}

/* The engine and certs.sh beside this binary's build, unless named. */
static void server_defaults(const char *argv0)
{
    static char engine[4096];
    if (server_options.engine_path == NULL) {
        const char *slash = strrchr(argv0, '/');
        snprintf(engine, sizeof engine, "%.*ssanhe-engine", slash ? (int)(slash - argv0 + 1) : 0,
                 argv0);
        server_options.engine_path = engine;
    }
    static char gateway[4096];
    if (server_options.gateway_path == NULL) {
        const char *slash = strrchr(argv0, '/');
        snprintf(gateway, sizeof gateway, "%.*ssanhe-gateway", slash ? (int)(slash - argv0 + 1) : 0,
                 argv0);
        server_options.gateway_path = gateway;
    }
    if (server_options.certs_script == NULL)
        server_options.certs_script = SANHE_SOURCE_DIR "/ops/certs.sh";
}

static void usage(FILE *f)
{
    fputs("usage: sanhe-conformance [--server | --gateway] [--engine PATH] [--certs PATH]\n"
          "                         [--gateway-binary PATH] [--keep] FILE...\n"
          "Runs conformance case files (format: tests/cases/README.md), each on a fresh\n"
          "engine state: in process (default), or with --server over TLS against a\n"
          "sanhe-engine it starts itself, or with --gateway through a sanhe-gateway it\n"
          "starts in front of that engine: settle = 2201 + 2204 + 2207, presettle = 2201 +\n"
          "2204 + 2206, reverse = 2208 by setl_id, cancel = 2601 (oinfno 2207), over HTTPS\n"
          "as the step's hospital. Eligibility steps (accumulators, which no interface\n"
          "transaction reports) and the reference data go to the engine directly.\n"
          "Prints each failing step and the fields that\n"
          "differ, then 'N passed, N failed' counting steps. Exit status: 0 when no step\n"
          "failed, 1 when a step failed or a file could not be run, 2 on bad usage.\n",
          f);
}

int main(int argc, char **argv)
{
    const struct driver_ops *ops = &driver_local;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        const char *a = argv[first];
        if (strcmp(a, "--server") == 0)
            ops = &driver_server;
        else if (strcmp(a, "--gateway") == 0)
            ops = &driver_gateway;
        else if (strcmp(a, "--gateway-binary") == 0 && first + 1 < argc)
            server_options.gateway_path = argv[++first];
        else if (strcmp(a, "--keep") == 0)
            server_options.keep = true;
        else if (strcmp(a, "--engine") == 0 && first + 1 < argc)
            server_options.engine_path = argv[++first];
        else if (strcmp(a, "--certs") == 0 && first + 1 < argc)
            server_options.certs_script = argv[++first];
        else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    server_defaults(argv[0]);
    struct tally t = {0, 0};
    bool all_ran = true;
    for (int i = first; i < argc; i++)
        all_ran &= file_run(argv[i], ops, &t);
    printf("%ld passed, %ld failed\n", t.passed, t.failed);
    return t.failed == 0 && all_ran ? 0 : 1;
}
