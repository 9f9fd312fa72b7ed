/*
 * fuzz_refdata: arbitrary bytes as a reference-data document (the case-file
 * shape `sanhe-engine load` reads: policies, hospitals, catalog, persons,
 * terminals) through jansson and sh_json_to_load (engine/json), then, when
 * the loader accepts it, as an admin's Load through a real ledger.
 *
 * What must hold: a refused document says why, with BAD_REFERENCE_DATA (or
 * INTERNAL, out of memory) and a message; an accepted one is a LoadRequest
 * that packs, unpacks and packs again to the same bytes (nothing the loader
 * builds is lost on the wire), every string of it within the buffers of
 * sh_types.h the loader promises; the ledger then answers the Load with a
 * reply fuzz_check_reply accepts (a result, or an error and a message,
 * never both), and every SANHE_FUZZ_RESET_EVERY inputs the store it loaded
 * into must pass ledger_check (fuzz_ledger.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sh_json_load.h"
#include "sh_types.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_string(const char *what, size_t i, const char *s, size_t cap)
{
    if (s != NULL && strlen(s) >= cap)
        fuzz_fail("%s[%zu]: %zu bytes, past the loader's limit %zu", what, i, strlen(s), cap);
}

/* The shape sh_json.h promises for what it accepts. */
static void check_shape(const Sanhe__LoadRequest *m)
{
    for (size_t i = 0; i < m->n_persons; i++) {
        if (m->persons[i]->id == NULL || strlen(m->persons[i]->id) != SH_PERSON_ID_LEN)
            fuzz_fail("persons[%zu]: an accepted id that is not %d bytes", i, SH_PERSON_ID_LEN);
        check_string("persons.name", i, m->persons[i]->name, SH_NAME_MAX);
    }
    for (size_t i = 0; i < m->n_hospitals; i++) {
        if (m->hospitals[i]->code == NULL)
            fuzz_fail("hospitals[%zu]: accepted without a code", i);
        check_string("hospitals.code", i, m->hospitals[i]->code, SH_CODE_MAX);
    }
    for (size_t i = 0; i < m->n_items; i++) {
        if (m->items[i]->code == NULL)
            fuzz_fail("catalog[%zu]: accepted without a code", i);
        check_string("catalog.code", i, m->items[i]->code, SH_CODE_MAX);
    }
    for (size_t i = 0; i < m->n_terminals; i++)
        if (m->terminals[i]->name == NULL || m->terminals[i]->role == NULL)
            fuzz_fail("terminals[%zu]: accepted without a name or role", i);
}

/* pack -> unpack -> pack gives the same bytes. */
static void check_round_trip(const Sanhe__LoadRequest *m)
{
    size_t len = sanhe__load_request__get_packed_size(m);
    uint8_t *a = malloc(len + 1), *b = malloc(len + 1);
    if (a == NULL || b == NULL)
        fuzz_fail("out of memory for %zu bytes", len);
    if (sanhe__load_request__pack(m, a) != len)
        fuzz_fail("the packed size changed");
    Sanhe__LoadRequest *back = sanhe__load_request__unpack(NULL, len, a);
    if (back == NULL)
        fuzz_fail("an accepted load does not unpack (%zu bytes)", len);
    if (sanhe__load_request__get_packed_size(back) != len ||
        sanhe__load_request__pack(back, b) != len || memcmp(a, b, len) != 0)
        fuzz_fail("an accepted load does not survive the wire");
    sanhe__load_request__free_unpacked(back, NULL);
    free(a);
    free(b);
}

static void load_into_ledger(Sanhe__LoadRequest *m)
{
    Sanhe__Request request = SANHE__REQUEST__INIT;
    request.request_id = "fuzz-refdata";
    request.op_case = SANHE__REQUEST__OP_LOAD;
    request.load = m;
    struct sh_reply reply = {0};
    const struct sh_caller *admin = &fuzz_callers[FUZZ_ADMIN];
    int rc = ledger_handle(fuzz_ledger(), admin, &request, FUZZ_NOW_MS, &reply);
    if (rc != 0)
        fuzz_fail("the ledger failed the load: %d", rc);
    int code = fuzz_check_reply(&request, admin, &reply);
    free(reply.data);
    if (code == SH_E_STORAGE_FULL)
        fuzz_ledger_reset_soon();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, 0, &jerr);
    if (doc == NULL)
        return 0; /* jansson's own: not the loader's concern */
    Sanhe__LoadRequest load;
    struct sh_error err = {0};
    int rc = sh_json_to_load(doc, &load, &err);
    json_decref(doc);
    if (getenv("SANHE_FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "refdata: %s\n", rc == 0 ? "accepted" : err.msg);
    if (rc != 0) {
        if (err.code != SH_E_BAD_REFERENCE_DATA && err.code != SH_E_INTERNAL)
            fuzz_fail("a refused document says %s", sh_error_name(err.code));
        if (err.msg[0] == '\0')
            fuzz_fail("a refused document without a reason");
        sh_json_load_free(&load);
        return 0;
    }
    check_shape(&load);
    check_round_trip(&load);
    load_into_ledger(&load);
    sh_json_load_free(&load);
    fuzz_ledger_next_input();
    return 0;
}
