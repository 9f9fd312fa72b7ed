/* Money and numbers of the national interface, exactly (adapters/gateway/gw_num.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw.h"
#include "gw_num.h"

static int64_t fen_of(const char *text)
{
    int64_t v = -424242;
    return gw_yuan_to_fen(text, &v) == 0 ? v : -424242;
}

static void test_yuan_accepted(void **state)
{
    (void)state;
    assert_int_equal(fen_of("12.30"), 1230);
    assert_int_equal(fen_of("12.3"), 1230);
    assert_int_equal(fen_of("12"), 1200);
    assert_int_equal(fen_of("0"), 0);
    assert_int_equal(fen_of("0.01"), 1);
    assert_int_equal(fen_of("0.10"), 10);
    assert_int_equal(fen_of("-0.05"), -5);
    assert_int_equal(fen_of("100000000.01"), 10000000001LL);
    /* The largest accepted: GW_FEN_MAX fen exactly. */
    assert_int_equal(fen_of("1000000000000.00"), GW_FEN_MAX);
    /* 0.1 + 0.2 in binary floating point is not 0.3; here it is exact. */
    assert_int_equal(fen_of("0.1") + fen_of("0.2"), fen_of("0.3"));
    /* A value no double holds exactly is still exact in fen. */
    assert_int_equal(fen_of("9007199254740.99"), -424242); /* above the maximum */
    assert_int_equal(fen_of("999999999999.99"), 99999999999999LL);
}

static void test_yuan_refused(void **state)
{
    (void)state;
    const char *bad[] = {"12.301",
                         "12.300",
                         "1.005",
                         "1e2",
                         "1E2",
                         "1.2e1",
                         "12.",
                         ".5",
                         "+1",
                         "01",
                         "00.10",
                         "-",
                         "",
                         "1,00",
                         "1 ",
                         "0x10",
                         "NaN",
                         "Infinity",
                         "1000000000000.01",
                         "--1",
                         "1.-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 7;
        if (gw_yuan_to_fen(bad[i], &v) == 0)
            fail_msg("\"%s\" was accepted as %lld fen", bad[i], (long long)v);
        assert_int_equal(v, 7); /* untouched */
    }
    assert_int_not_equal(gw_yuan_to_fen(NULL, &(int64_t){0}), 0);
}

static void test_fen_to_yuan(void **state)
{
    (void)state;
    char buf[32];
    struct {
        int64_t fen;
        const char *text;
    } cases[] = {{0, "0.00"},
                 {1, "0.01"},
                 {10, "0.10"},
                 {1230, "12.30"},
                 {-5, "-0.05"},
                 {-1230, "-12.30"},
                 {GW_FEN_MAX, "1000000000000.00"},
                 {INT64_MAX, "92233720368547758.07"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_fen_to_yuan(cases[i].fen, buf, sizeof buf);
        assert_string_equal(buf, cases[i].text);
    }
    /* Round trip over a range that crosses every fen pattern. */
    for (int64_t f = -1000; f <= 100000; f += 7) {
        gw_fen_to_yuan(f, buf, sizeof buf);
        assert_int_equal(fen_of(buf), f);
    }
}

static void test_qty(void **state)
{
    (void)state;
    int64_t m = 0;
    assert_int_equal(gw_qty_to_milli("1.5", &m), 0);
    assert_int_equal(m, 1500);
    assert_int_equal(gw_qty_to_milli("0.001", &m), 0);
    assert_int_equal(m, 1);
    assert_int_equal(gw_qty_to_milli("12", &m), 0);
    assert_int_equal(m, 12000);
    assert_int_not_equal(gw_qty_to_milli("0", &m), 0);
    assert_int_not_equal(gw_qty_to_milli("1.0005", &m), 0);
    assert_int_not_equal(gw_qty_to_milli("-1", &m), 0);
    assert_int_not_equal(gw_qty_to_milli("1e3", &m), 0);
    assert_int_not_equal(gw_num_int("1.0", &m), 0);
    assert_int_equal(gw_num_int("-3", &m), 0);
    assert_int_equal(m, -3);
}

/* Numbers keep their text through the JSON decoder; strings stay strings. */
static void test_json_load(void **state)
{
    (void)state;
    char why[128];
    const char *body = "{\"a\": 12.30, \"b\": \"12.30\", \"c\": 1.005, \"d\": [1e2, -0.05],"
                       " \"e\": \"x\\\"12\", \"f\": true, \"g\": null, \"h\": 0.300}";
    json_t *doc = gw_json_load(body, strlen(body), why, sizeof why);
    assert_non_null(doc);
    assert_string_equal(gw_num_text(json_object_get(doc, "a")), "12.30");
    assert_null(gw_num_text(json_object_get(doc, "b"))); /* a string is not money */
    assert_string_equal(json_string_value(json_object_get(doc, "b")), "12.30");
    assert_string_equal(gw_num_text(json_object_get(doc, "c")), "1.005");
    assert_string_equal(gw_num_text(json_array_get(json_object_get(doc, "d"), 0)), "1e2");
    assert_string_equal(gw_num_text(json_array_get(json_object_get(doc, "d"), 1)), "-0.05");
    assert_string_equal(json_string_value(json_object_get(doc, "e")), "x\"12");
    assert_true(json_is_true(json_object_get(doc, "f")));
    assert_true(json_is_null(json_object_get(doc, "g")));
    assert_string_equal(gw_num_text(json_object_get(doc, "h")), "0.300");
    int64_t fen = 0;
    assert_int_not_equal(gw_yuan_to_fen(gw_num_text(json_object_get(doc, "c")), &fen), 0);
    assert_int_not_equal(gw_yuan_to_fen(gw_num_text(json_object_get(doc, "h")), &fen), 0);
    json_decref(doc);
    /* A NUL escape could forge a number: refused. Bad JSON: refused. */
    const char *nul = "{\"a\": \"\\u0000N12.30\"}";
    assert_null(gw_json_load(nul, strlen(nul), why, sizeof why));
    assert_null(gw_json_load("{\"a\": 1", 7, why, sizeof why));
    const char *malformed[] = {"[-]", "[01]", "[1.]", "[.5]", "[1e]", "[1e+]", "[--1]", "[1.2.3]"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_null(gw_json_load(malformed[i], strlen(malformed[i]), why, sizeof why));
    assert_null(gw_json_load("{\"a\": 1, \"a\": 2}", 16, why, sizeof why));
}

static void test_json_dump(void **state)
{
    (void)state;
    json_t *doc =
        json_pack("{s:o, s:o, s:o, s:s, s:o}", "m", gw_json_money(1230), "n", gw_json_money(-5),
                  "r", gw_json_bp(1000), "s", "12.30", "q", gw_json_milli(1500));
    size_t len = 0;
    char *out = gw_json_dump(doc, &len);
    assert_non_null(out);
    assert_string_equal(out, "{\"m\":12.30,\"n\":-0.05,\"r\":0.1000,\"s\":\"12.30\",\"q\":1.500}");
    assert_int_equal(len, strlen(out));
    free(out);
    json_decref(doc);
}

/* Every refusal the engine gives a counter's call has its own Chinese text:
 * "系统错误" is kept for the codes after which the counter reverses (2601). */
static void test_refusal_texts(void **state)
{
    (void)state;
    const char *system = gw_refusal_text(SANHE__ERROR_CODE__INTERNAL);
    assert_string_equal(system, "系统错误");
    for (size_t i = 0; i < sanhe__error_code__descriptor.n_values; i++) {
        int code = sanhe__error_code__descriptor.values[i].value;
        switch (code) {
        case SANHE__ERROR_CODE__OK:
        case SANHE__ERROR_CODE__BAD_FRAME:
        case SANHE__ERROR_CODE__FRAME_TOO_LARGE:
        case SANHE__ERROR_CODE__BAD_REFERENCE_DATA:
        case SANHE__ERROR_CODE__STORAGE_FULL:
        case SANHE__ERROR_CODE__UNAVAILABLE:
        case SANHE__ERROR_CODE__INTERNAL:
        case SANHE__ERROR_CODE__TIMEOUT:
        case SANHE__ERROR_CODE__IMPORT_REFUSED:
        case SANHE__ERROR_CODE__IMPORT_TOO_MANY_EXITS:
        case SANHE__ERROR_CODE__IMPORT_NO_SESSION:
            continue; /* not a business refusal of a counter's call */
        default:
            break;
        }
        const char *text = gw_refusal_text(code);
        assert_non_null(text);
        if (strcmp(text, system) == 0)
            fail_msg("ErrorCode %s (%d) has no text of its own",
                     sanhe__error_code__descriptor.values[i].name, code);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yuan_accepted), cmocka_unit_test(test_yuan_refused),
        cmocka_unit_test(test_fen_to_yuan),   cmocka_unit_test(test_qty),
        cmocka_unit_test(test_json_load),     cmocka_unit_test(test_json_dump),
        cmocka_unit_test(test_refusal_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
