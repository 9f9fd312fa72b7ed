/*
 * A terminal's own person-lookup rate (docs/limits.md#person-lookups): the
 * terminal table's lookups_per_minute takes the place of [limits]
 * lookups_per_minute for that terminal, in the ledger's table (an admin
 * Load) as in the configuration's [terminals] line. Globally 1 a minute
 * with a burst of 10:
 *   counter-h1, loaded with lookups_per_minute 3: 3 answered, then refused
 *     (its bucket holds a minute of its own rate);
 *   counter-h2, [terminals] ... lookups_per_minute=0: never refused;
 *   bureau-1, no rate of its own: the global 10, then refused.
 * On an engine without the override, counter-h1 gets 10 and counter-h2 is
 * refused after 10.
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
#include "sanhe.pb-c.h"
#include "sh_error.h"

static struct engine_fixture fixture;

static int group_setup(void **state)
{
    (void)state;
    return fixture_start(&fixture, "lookups_per_minute = 1\n"
                                   "lookups_burst = 10\n"
                                   "[terminals]\n"
                                   "counter-h2 = " FIXTURE_H2 " counter lookups_per_minute=0\n");
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_stop(&fixture) == 0 ? 0 : -1;
}

/* How many of n eligibility lookups as name are answered before the first
 * LOOKUP_RATE_EXCEEDED (n when none is refused). */
static int answered_of(const char *name, int n)
{
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, name, false, &tc), 0);
    int answered = 0;
    for (int i = 0; i < n; i++) {
        Sanhe__EligibilityRequest e = SANHE__ELIGIBILITY_REQUEST__INIT;
        e.person = FIXTURE_PERSON;
        e.date = "2026-03-10";
        Sanhe__Request r = SANHE__REQUEST__INIT;
        char rid[32];
        snprintf(rid, sizeof rid, "%s-%d", name, i);
        r.request_id = rid;
        r.op_case = SANHE__REQUEST__OP_ELIGIBILITY;
        r.eligibility = &e;
        Sanhe__Response *resp = NULL;
        assert_int_equal(tc_call(tc, &r, &resp, FIXTURE_TIMEOUT_MS), 0);
        int code = response_error(resp);
        sanhe__response__free_unpacked(resp, NULL);
        if (code == SH_E_LOOKUP_RATE_EXCEEDED)
            break;
        assert_int_equal(code, 0);
        answered++;
    }
    tc_close(tc);
    return answered;
}

/* admin-1 loads counter-h1 again, with a rate of its own. */
static void load_counter_h1_rate(uint32_t per_minute)
{
    Sanhe__Terminal t = SANHE__TERMINAL__INIT;
    t.name = "counter-h1";
    t.hospital = FIXTURE_H1;
    t.role = "counter";
    t.has_lookups_per_minute = true;
    t.lookups_per_minute = per_minute;
    Sanhe__Terminal *terms[] = {&t};
    Sanhe__LoadRequest l = SANHE__LOAD_REQUEST__INIT;
    l.n_terminals = 1;
    l.terminals = terms;
    Sanhe__Request r = SANHE__REQUEST__INIT;
    r.request_id = "load-rate";
    r.op_case = SANHE__REQUEST__OP_LOAD;
    r.load = &l;
    struct tc *tc;
    assert_int_equal(fixture_connect(&fixture, "admin-1", false, &tc), 0);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, &r, &resp, FIXTURE_TIMEOUT_MS), 0);
    if (resp->error != NULL)
        fail_msg("load refused: %s", resp->error->message);
    sanhe__response__free_unpacked(resp, NULL);
    tc_close(tc);
}

static void test_ledger_table_rate(void **state)
{
    (void)state;
    load_counter_h1_rate(3);
    assert_int_equal(answered_of("counter-h1", 20), 3);
}

static void test_config_table_rate(void **state)
{
    (void)state;
    assert_int_equal(answered_of("counter-h2", 30), 30);
}

static void test_global_rate_otherwise(void **state)
{
    (void)state;
    assert_int_equal(answered_of("bureau-1", 20), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_table_rate),
        cmocka_unit_test(test_config_table_rate),
        cmocka_unit_test(test_global_rate_otherwise),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
