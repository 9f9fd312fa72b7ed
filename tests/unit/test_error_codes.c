/*
 * The engine's error codes (engine/core/sh_error.h) against the protocol's
 * (sanhe.ErrorCode in proto/sanhe.proto, as protoc-c generated it): every
 * value of the wire enum has the engine code of its negation with the same
 * name, and every code the engine can name is a value of the wire enum. So
 * adding a code to one side only, renumbering one, or misspelling one in
 * sh_error.c's table fails here (docs/errors.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "sanhe.pb-c.h"
#include "sh_error.h"

/* The same at build time for the codes whose numbers callers spell out. */
_Static_assert(SH_OK == -SANHE__ERROR_CODE__OK, "OK");
_Static_assert(SH_E_BAD_CLAIM == -SANHE__ERROR_CODE__BAD_CLAIM, "BAD_CLAIM");
_Static_assert(SH_E_REQUEST_ID_REUSED == -SANHE__ERROR_CODE__REQUEST_ID_REUSED,
               "REQUEST_ID_REUSED");
_Static_assert(SH_E_BAD_REQUEST == -SANHE__ERROR_CODE__BAD_REQUEST, "BAD_REQUEST");
_Static_assert(SH_E_INTERNAL == -SANHE__ERROR_CODE__INTERNAL, "INTERNAL");
_Static_assert(SH_E_TIMEOUT == -SANHE__ERROR_CODE__TIMEOUT, "TIMEOUT");

/* The codes sh_error.h can name lie in this range. */
#define CODE_SCAN_MIN (-1000)

static const ProtobufCEnumDescriptor *wire(void) { return &sanhe__error_code__descriptor; }

/* Every wire value, by name and number, is the engine's code. */
static void each_wire_code_is_the_engines(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *d = wire();
    assert_true(d->n_values > 20); /* the enum was found and is the whole list */
    for (unsigned i = 0; i < d->n_values; i++) {
        const ProtobufCEnumValue *v = &d->values[i];
        int code = -v->value;
        if (strcmp(sh_error_name(code), v->name) != 0)
            fail_msg("wire %s = %d: the engine names code %d \"%s\"", v->name, v->value, code,
                     sh_error_name(code));
        if (v->value != 0 && sh_error_from_name(v->name) != code)
            fail_msg("wire %s = %d: the engine parses the name as %d", v->name, v->value,
                     sh_error_from_name(v->name));
        assert_int_equal(sh_error_wire(code), v->value);
    }
}

/* Every code the engine can name is on the wire, under that name. */
static void each_engine_code_is_on_the_wire(void **state)
{
    (void)state;
    unsigned named = 0;
    for (int code = 0; code >= CODE_SCAN_MIN; code--) {
        const char *name = sh_error_name(code);
        if (strcmp(name, "UNKNOWN_ERROR") == 0)
            continue;
        named++;
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(wire(), -code);
        if (v == NULL)
            fail_msg("engine code %d (%s) is not a value of sanhe.ErrorCode", code, name);
        if (strcmp(v->name, name) != 0)
            fail_msg("engine code %d is \"%s\", the wire calls %d \"%s\"", code, name, -code,
                     v->name);
    }
    assert_int_equal(named, wire()->n_values);
}

/* A positive number or an unknown one is never taken for a code. */
static void unknown_codes_are_named_so(void **state)
{
    (void)state;
    assert_string_equal(sh_error_name(1), "UNKNOWN_ERROR");
    assert_string_equal(sh_error_name(-999), "UNKNOWN_ERROR");
    assert_int_equal(sh_error_from_name("NO_SUCH_CODE"), 0);
    assert_int_equal(sh_error_from_name("OK"), 0);
}

/* The refusal details (enum sh_detail, sanhe.ErrorDetail): the same
 * names and numbers, both ways. */
static void details_match_the_wire(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *d = &sanhe__error_detail__descriptor;
    assert_int_equal(d->n_values, SH_D_COUNT);
    for (unsigned i = 0; i < d->n_values; i++) {
        const ProtobufCEnumValue *v = &d->values[i];
        const char *name = sh_detail_name(v->value);
        if (name == NULL || strcmp(name, v->name) != 0)
            fail_msg("wire %s = %d: the engine names detail %d \"%s\"", v->name, v->value, v->value,
                     name != NULL ? name : "(none)");
    }
    for (int detail = 0; detail < SH_D_COUNT; detail++) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, detail);
        assert_non_null(sh_detail_name(detail));
        if (v == NULL || strcmp(v->name, sh_detail_name(detail)) != 0)
            fail_msg("engine detail %d (%s) is not that value of sanhe.ErrorDetail", detail,
                     sh_detail_name(detail));
    }
    assert_null(sh_detail_name(SH_D_COUNT));
    assert_null(sh_detail_name(-1));
}

/* A detail's arguments: split at the separator, cut to fit, at most
 * SH_DETAIL_ARGS_MAX; none for an empty format; sh_error_set clears it. */
static void detail_arguments(void **state)
{
    (void)state;
    struct sh_error e;
    sh_error_set(&e, SH_E_BAD_CLAIM, "line %u", 3u);
    assert_int_equal(sh_error_detail(&e, SH_D_LINE_UNKNOWN_ITEM, "%u" SH_DETAIL_SEP "%s", 3u, "Z9"),
                     SH_E_BAD_CLAIM);
    assert_int_equal(e.detail, SH_D_LINE_UNKNOWN_ITEM);
    assert_int_equal(e.argc, 2);
    assert_string_equal(e.args[0], "3");
    assert_string_equal(e.args[1], "Z9");
    char longer[200];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    sh_error_detail(&e, SH_D_PERSON_UNKNOWN, "%s", longer);
    assert_int_equal(e.argc, 1);
    assert_int_equal(strlen(e.args[0]), SH_DETAIL_ARG_MAX - 1);
    sh_error_detail(&e, SH_D_CLAIM_NO_LINES, "%s", "");
    assert_int_equal(e.argc, 0);
    sh_error_detail(&e, SH_D_NO_POLICY,
                    "a" SH_DETAIL_SEP "b" SH_DETAIL_SEP "c" SH_DETAIL_SEP "d" SH_DETAIL_SEP "e");
    assert_int_equal(e.argc, SH_DETAIL_ARGS_MAX);
    assert_string_equal(e.args[3], "d");
    sh_error_set(&e, SH_E_NOT_FOUND, "no settlement");
    assert_int_equal(e.detail, SH_D_NONE);
    assert_int_equal(e.argc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_wire_code_is_the_engines),
        cmocka_unit_test(each_engine_code_is_on_the_wire),
        cmocka_unit_test(unknown_codes_are_named_so),
        cmocka_unit_test(details_match_the_wire),
        cmocka_unit_test(detail_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
