/*
 * sanhe-engine load: reference data into the data directory, offline,
 * through the ledger's Load operation as an admin. Every file is merged into
 * one Load, so that all of them land or none does. A file is
 *   - a case-format object: its policies, hospitals, catalog, persons and
 *     terminals arrays are taken (other keys, such as steps, are ignored);
 *   - one policy document (schema sanhe.policy/1);
 *   - an array of terminals [{name, hospital, role}].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "sh_json_load.h"

static const char *const load_sections[] = {"policies", "hospitals", "catalog", "persons",
                                            "terminals"};

static int load_append(json_t *merged, const char *section, json_t *items)
{
    json_t *into = json_object_get(merged, section);
    if (into == NULL) {
        into = json_array();
        json_object_set_new(merged, section, into);
    }
    return json_array_extend(into, items);
}

static int load_merge_file(json_t *merged, const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        fprintf(stderr, "sanhe-engine load: %s:%d: %s\n", path, jerr.line, jerr.text);
        return -1;
    }
    int rc = 0;
    const char *schema = json_string_value(json_object_get(doc, "schema"));
    if (json_is_array(doc)) {
        rc = load_append(merged, "terminals", doc);
    } else if (schema != NULL && strcmp(schema, "sanhe.policy/1") == 0) {
        json_t *one = json_pack("[O]", doc);
        rc = load_append(merged, "policies", one);
        json_decref(one);
    } else if (json_is_object(doc)) {
        for (size_t i = 0; i < sizeof load_sections / sizeof load_sections[0] && rc == 0; i++) {
            json_t *items = json_object_get(doc, load_sections[i]);
            if (items != NULL && !json_is_array(items)) {
                fprintf(stderr, "sanhe-engine load: %s: %s is not an array\n", path,
                        load_sections[i]);
                rc = -1;
            } else if (items != NULL) {
                rc = load_append(merged, load_sections[i], items);
            }
        }
    } else {
        fprintf(stderr, "sanhe-engine load: %s: neither an object nor an array\n", path);
        rc = -1;
    }
    json_decref(doc);
    return rc;
}

static void load_print_reply(const Sanhe__Response *response)
{
    const Sanhe__LoadReply *r = response->load;
    printf("loaded %u persons, %u hospitals, %u items, %u policies, %u terminals\n",
           r != NULL ? r->persons : 0, r != NULL ? r->hospitals : 0, r != NULL ? r->items : 0,
           r != NULL ? r->policies : 0, r != NULL ? r->terminals : 0);
}

/* Runs the Load request as an admin and reports; returns an exit code. */
static int load_run(const struct config *config, Sanhe__LoadRequest *load)
{
    struct ledger *ledger;
    int opened = app_ledger_open(config, true, "load", &ledger);
    if (opened != 0)
        return opened;
    struct sh_caller admin = {.terminal = "sanhe-engine load", .role = SH_ROLE_ADMIN};
    char request_id[SH_CODE_MAX];
    snprintf(request_id, sizeof request_id, "load-%lld-%d", (long long)time(NULL), (int)getpid());
    Sanhe__Request request = SANHE__REQUEST__INIT;
    request.request_id = request_id;
    request.op_case = SANHE__REQUEST__OP_LOAD;
    request.load = load;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct sh_reply reply = {0};
    int rc = ledger_handle(ledger, &admin, &request,
                           (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, &reply);
    ledger_close(ledger);
    Sanhe__Response *response =
        rc == 0 ? sanhe__response__unpack(NULL, reply.len, reply.data) : NULL;
    free(reply.data);
    int exit_code = APP_EXIT_FAIL;
    if (response == NULL)
        fprintf(stderr, "sanhe-engine load: the ledger failed: %s\n", sh_error_name(rc));
    else if (response->error != NULL)
        fprintf(stderr, "sanhe-engine load: refused: %s: %s\n",
                sh_error_name(-(int)response->error->code),
                response->error->message != NULL ? response->error->message : "");
    else {
        load_print_reply(response);
        exit_code = APP_EXIT_OK;
    }
    sanhe__response__free_unpacked(response, NULL);
    return exit_code;
}

int app_load(const struct config *config, char *const files[], size_t file_count)
{
    json_t *merged = json_object();
    for (size_t i = 0; i < file_count; i++) {
        if (load_merge_file(merged, files[i]) != 0) {
            json_decref(merged);
            return APP_EXIT_FAIL;
        }
    }
    Sanhe__LoadRequest load;
    struct sh_error err = {0};
    int rc = sh_json_to_load(merged, &load, &err);
    json_decref(merged);
    int exit_code = APP_EXIT_FAIL;
    if (rc != 0)
        fprintf(stderr, "sanhe-engine load: %s: %s\n", sh_error_name(err.code), err.msg);
    else
        exit_code = load_run(config, &load);
    sh_json_load_free(&load);
    return exit_code;
}
