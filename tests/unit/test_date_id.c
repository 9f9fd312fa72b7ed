/* Dates, resident ID check digits and masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sh_date.h"
#include "sh_person_id.h"

static void date_parse_accepts_real_days(void **state)
{
    (void)state;
    assert_int_equal(sh_date_parse("2026-03-10"), 20260310);
    assert_int_equal(sh_date_parse("2024-02-29"), 20240229);
    assert_int_equal(sh_date_parse("2000-02-29"), 20000229);
    assert_int_equal(sh_date_parse("2026-12-31"), 20261231);
}

static void date_parse_refuses_the_rest(void **state)
{
    (void)state;
    const char *bad[] = {"2026-02-30", "2026-02-29", "1900-02-29",  "2026-13-01",  "2026-00-10",
                         "2026-01-32", "2026-1-10",  "2026/01/10",  "2026-01-10x", "",
                         "20260110",   "1899-12-31", " 2026-01-10", "2026-04-31"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sh_date_parse(bad[i]), 0);
    assert_int_equal(sh_date_parse(NULL), 0);
}

static void date_format_round_trips(void **state)
{
    (void)state;
    char s[SH_DATE_STR_LEN];
    sh_date_format(20260301, s);
    assert_string_equal(s, "2026-03-01");
    assert_int_equal(sh_date_parse(s), 20260301);
}

static void date_from_unix_ms_uses_the_offset(void **state)
{
    (void)state;
    /* 2026-03-09T16:30:00Z is 2026-03-10 00:30 in Shanghai. */
    int64_t ms = 1773073800000LL;
    assert_int_equal(sh_date_from_unix_ms(ms, 0), 20260309);
    assert_int_equal(sh_date_from_unix_ms(ms, 480), 20260310);
    assert_int_equal(sh_date_from_unix_ms(0, 0), 19700101);
    assert_int_equal(sh_date_from_unix_ms(951782400000LL, 0), 20000229);
}

static void person_id_check_digit(void **state)
{
    (void)state;
    assert_true(sh_person_id_valid("330424196001010013"));
    assert_true(sh_person_id_valid("33042419880114318X"));
    assert_false(sh_person_id_valid("33042419880114318x")); /* lowercase x */
    assert_false(sh_person_id_valid("330424193001130130")); /* wrong check digit */
    assert_false(sh_person_id_valid("33042419600101001"));  /* 17 characters */
    assert_false(sh_person_id_valid("3304241960010100130"));
    assert_false(sh_person_id_valid("33042419600101A013"));
    assert_false(sh_person_id_valid(NULL));
    assert_int_equal(sh_person_id_check_char("33042419880114318"), 'X');
}

static void person_id_mask_hides_the_middle(void **state)
{
    (void)state;
    char out[19];
    sh_person_id_mask("330424196001010013", out);
    assert_string_equal(out, "330424********0013");
    sh_person_id_mask("12345", out);
    assert_string_equal(out, "******************");
    assert_null(strstr(out, "12345"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(date_parse_accepts_real_days),
        cmocka_unit_test(date_parse_refuses_the_rest),
        cmocka_unit_test(date_format_round_trips),
        cmocka_unit_test(date_from_unix_ms_uses_the_offset),
        cmocka_unit_test(person_id_check_digit),
        cmocka_unit_test(person_id_mask_hides_the_middle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
