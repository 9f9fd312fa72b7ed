/*
 * Strict strings (issue 24): protobuf-c hands a string over as a C string,
 * so without a check of the wire bytes "nulA\0one" and "nulA\0two" are one
 * idempotency key and a cancel of "nulA\0x" reverses the settle "nulA".
 * Every string field, at any depth, of a read as of a write, must be valid
 * UTF-8 without NUL or control characters: BAD_REQUEST naming the field,
 * nothing changed, the connection still serving, and a refused request id
 * never echoed when it is not clean.
 *
 * Only keys older than the defence are used, so the program runs unchanged
 * against an older engine (SANHE_TEST_ENGINE=...), where it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_fixture.h"

static struct engine_fixture fixture;
static struct tc *h1, *bureau, *admin;

static int group_setup(void **state)
{
    (void)state;
    if (fixture_start(&fixture, NULL) != 0)
        return -1;
    if (fixture_connect(&fixture, "counter-h1", false, &h1) != 0 ||
        fixture_connect(&fixture, "bureau-1", false, &bureau) != 0 ||
        fixture_connect(&fixture, "admin-1", false, &admin) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tc_close(h1);
    tc_close(bureau);
    tc_close(admin);
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

static char *dup_str(const char *s) { return strdup(s); }

/*
 * Packs request and sends it with every '#' of the marked strings replaced
 * by `with` (one byte: NUL, 0xff, a control character): the length prefix
 * of each string stays right, so the frame still decodes.
 */
static Sanhe__Response *call_patched(struct tc *tc, Sanhe__Request *request, uint8_t with)
{
    size_t len = sanhe__request__get_packed_size(request);
    uint8_t *frame = malloc(4 + len);
    assert_non_null(frame);
    frame[0] = (uint8_t)(len >> 24);
    frame[1] = (uint8_t)(len >> 16);
    frame[2] = (uint8_t)(len >> 8);
    frame[3] = (uint8_t)len;
    sanhe__request__pack(request, frame + 4);
    size_t patched = 0;
    for (size_t i = 4; i < 4 + len; i++) {
        if (frame[i] == '#') {
            frame[i] = with;
            patched++;
        }
    }
    assert_int_equal(patched, 1); /* a length or a tag that is also 0x23 would show here */
    request_free(request);
    assert_int_equal(tc_send_raw(tc, frame, 4 + len), 0);
    free(frame);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_recv(tc, &resp, FIXTURE_TIMEOUT_MS), 0);
    return resp;
}

static Sanhe__Response *call(struct tc *tc, Sanhe__Request *request)
{
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, request, &resp, FIXTURE_TIMEOUT_MS), 0);
    request_free(request);
    return resp;
}

/* BAD_REQUEST whose message names field, with a detail (docs/errors.md)
 * whose first argument is the field's path and, unless detail is
 * SH_D_NONE, that detail; the request id is not echoed unless echo (then
 * it must be exactly echo). */
static void assert_refused_as(Sanhe__Response *resp, const char *field, const char *echo,
                              int detail)
{
    const char *msg = resp->error != NULL && resp->error->message ? resp->error->message : "";
    if (response_error(resp) != SH_E_BAD_REQUEST || strstr(msg, field) == NULL)
        print_error("expected BAD_REQUEST naming %s, got %s: %s\n", field,
                    sh_error_name(response_error(resp)), msg);
    assert_int_equal(response_error(resp), SH_E_BAD_REQUEST);
    assert_non_null(strstr(msg, field));
    /* A client words the refusal from the detail, not the English message. */
    assert_true(resp->error->has_detail);
    assert_true(resp->error->n_detail_args >= 2);
    assert_non_null(strstr(resp->error->detail_args[0], field));
    int got = (int)resp->error->detail;
    if (detail != SH_D_NONE)
        assert_int_equal(got, detail);
    else
        assert_true(got == SH_D_FIELD_NUL || got == SH_D_FIELD_NOT_UTF8 ||
                    got == SH_D_FIELD_CONTROL || got == SH_D_FIELD_TOO_LONG);
    if (echo == NULL)
        assert_true(resp->request_id == NULL || resp->request_id[0] == '\0');
    else
        assert_string_equal(resp->request_id, echo);
    sanhe__response__free_unpacked(resp, NULL);
}

static void assert_refused(Sanhe__Response *resp, const char *field, const char *echo)
{
    assert_refused_as(resp, field, echo, SH_D_NONE);
}

static Sanhe__Request *cancel_of(const char *rid, const char *of)
{
    Sanhe__Request *r = calloc(1, sizeof *r);
    sanhe__request__init(r);
    r->request_id = dup_str(rid);
    r->op_case = SANHE__REQUEST__OP_CANCEL;
    r->cancel = malloc(sizeof *r->cancel);
    sanhe__cancel_request__init(r->cancel);
    r->cancel->cancel_of = dup_str(of);
    return r;
}

static Sanhe__Request *query_rid(const char *rid, const char *of)
{
    Sanhe__Request *r = request_query(rid, 0);
    r->query->target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
    r->query->settlement_request_id = dup_str(of);
    return r;
}

/* The settlement the settle of request id `of` made, and its state. */
static int settled_state(const char *of)
{
    Sanhe__Response *resp = call(h1, query_rid("str-query", of));
    assert_int_equal(response_error(resp), 0);
    assert_non_null(resp->query);
    assert_non_null(resp->query->settlement);
    int state = (int)resp->query->settlement->state;
    sanhe__response__free_unpacked(resp, NULL);
    return state;
}

static void test_nul_request_ids_do_not_collide(void **state)
{
    (void)state;
    Sanhe__Response *resp = call_patched(h1, request_settle("nulB#one", FIXTURE_H1, false), '\0');
    assert_refused(resp, "request_id", NULL);
    Sanhe__Request *two = request_settle("nulB#two", FIXTURE_H1, false);
    two->settle->claim->lines[0]->amount = 7000; /* another bill */
    assert_refused(call_patched(h1, two, '\0'), "request_id", NULL);
    /* Neither landed under "nulB". */
    resp = call(h1, query_rid("str-q-nulB", "nulB"));
    assert_int_equal(response_error(resp), SH_E_NOT_FOUND);
    sanhe__response__free_unpacked(resp, NULL);
}

static void test_nul_cancel_reverses_nothing(void **state)
{
    (void)state;
    assert_int_equal(fixture_settle_once(&fixture, "nulA"), 0);
    assert_int_equal(settled_state("nulA"), SANHE__SETTLEMENT_STATE__SETTLED);
    assert_refused(call_patched(h1, cancel_of("str-cancel-1", "nulA#x"), '\0'), "cancel.cancel_of",
                   "str-cancel-1");
    assert_int_equal(settled_state("nulA"), SANHE__SETTLEMENT_STATE__SETTLED);
}

static void test_bad_bytes_in_request_ids(void **state)
{
    (void)state;
    assert_refused_as(call_patched(h1, request_settle("utf8#bad", FIXTURE_H1, false), 0xff),
                      "request_id", NULL, SH_D_FIELD_NOT_UTF8);
    Sanhe__Response *ctl = call_patched(h1, request_settle("ctl#bad", FIXTURE_H1, false), 0x01);
    /* field, code point, byte offset */
    assert_int_equal(ctl->error->n_detail_args, 3);
    assert_string_equal(ctl->error->detail_args[1], "U+0001");
    assert_string_equal(ctl->error->detail_args[2], "3");
    assert_refused_as(ctl, "request_id", NULL, SH_D_FIELD_CONTROL);
    assert_refused_as(call_patched(h1, request_settle("del#bad", FIXTURE_H1, true), 0x7f),
                      "request_id", NULL, SH_D_FIELD_CONTROL);
    Sanhe__Response *resp = call(h1, query_rid("str-q-utf8", "utf8"));
    assert_int_equal(response_error(resp), SH_E_NOT_FOUND);
    sanhe__response__free_unpacked(resp, NULL);
}

static void test_reads_are_checked_too(void **state)
{
    (void)state;
    /* A resident id with a NUL after its 18 characters: found, on an
     * engine that reads it as a C string. */
    Sanhe__Request *r = calloc(1, sizeof *r);
    sanhe__request__init(r);
    r->request_id = dup_str("str-elig");
    r->op_case = SANHE__REQUEST__OP_ELIGIBILITY;
    r->eligibility = malloc(sizeof *r->eligibility);
    sanhe__eligibility_request__init(r->eligibility);
    r->eligibility->person = dup_str(FIXTURE_PERSON "#");
    r->eligibility->date = dup_str("2026-03-10");
    assert_refused_as(call_patched(bureau, r, '\0'), "eligibility.person", "str-elig",
                      SH_D_FIELD_NUL);
    /* A claim line's code, deep in a presettle. */
    Sanhe__Request *p = request_settle("str-pre", FIXTURE_H1, true);
    free(p->presettle->claim->lines[0]->code);
    p->presettle->claim->lines[0]->code = dup_str("A00#");
    assert_refused(call_patched(h1, p, '\n'), "presettle.claim.lines[0].code", "str-pre");
}

static void test_stored_codes_are_checked(void **state)
{
    (void)state;
    /* H330424201\0junk would be stored as H330424201. */
    Sanhe__Request *r = calloc(1, sizeof *r);
    sanhe__request__init(r);
    r->request_id = dup_str("str-load");
    r->op_case = SANHE__REQUEST__OP_LOAD;
    r->load = malloc(sizeof *r->load);
    sanhe__load_request__init(r->load);
    Sanhe__Hospital *h = malloc(sizeof *h);
    sanhe__hospital__init(h);
    h->code = dup_str("H330424201#junk");
    h->name = dup_str("nul clinic");
    h->region = dup_str("330424");
    h->level = dup_str("village");
    r->load->n_hospitals = 1;
    r->load->hospitals = malloc(sizeof *r->load->hospitals);
    r->load->hospitals[0] = h;
    assert_refused(call_patched(admin, r, '\0'), "load.hospitals[0].code", "str-load");
    /* The connection still serves, and clean strings pass. */
    Sanhe__Response *resp = call(h1, request_settle("str-clean-\xe4\xb8\x89", FIXTURE_H1, true));
    assert_int_equal(response_error(resp), 0);
    assert_string_equal(resp->request_id, "str-clean-\xe4\xb8\x89");
    sanhe__response__free_unpacked(resp, NULL);
    assert_int_equal(fixture_check(&fixture), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_request_ids_do_not_collide),
        cmocka_unit_test(test_nul_cancel_reverses_nothing),
        cmocka_unit_test(test_bad_bytes_in_request_ids),
        cmocka_unit_test(test_reads_are_checked_too),
        cmocka_unit_test(test_stored_codes_are_checked),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
