/*
 * What the lookup audit costs (docs/limits.md), in both of its modes: 300
 * eligibility lookups one after the other from one terminal, with no rate
 * limit, answered at once (lookup_answer_after_audit = 0: the record goes
 * with the next group commit) or only once the record is synced (1). Each
 * mode must leave all 300 records in the audit; the latencies are printed
 * for docs/limits.md, not asserted (the machine is shared).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "net_fixture.h"
#include "sanhe.pb-c.h"
#include "sh_error.h"

#define LOOKUPS 300

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int eligibility(struct tc *tc, const char *id)
{
    Sanhe__EligibilityRequest e = SANHE__ELIGIBILITY_REQUEST__INIT;
    e.person = FIXTURE_PERSON;
    e.date = "2026-03-10";
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = (char *)id;
    req.op_case = SANHE__REQUEST__OP_ELIGIBILITY;
    req.eligibility = &e;
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, &req, &resp, FIXTURE_TIMEOUT_MS), 0);
    int code = response_error(resp);
    sanhe__response__free_unpacked(resp, NULL);
    return code;
}

/* The audit records of counter-h2 today (over the wire, as bureau-1). */
static size_t audited(const struct engine_fixture *f)
{
    Sanhe__AuditRequest q = SANHE__AUDIT_REQUEST__INIT;
    q.terminal = "counter-h2";
    q.has_limit = true;
    q.limit = 10000;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "audit";
    req.op_case = SANHE__REQUEST__OP_AUDIT;
    req.audit = &q;
    struct tc *tc;
    assert_int_equal(fixture_connect(f, "bureau-1", false, &tc), 0);
    Sanhe__Response *resp = NULL;
    assert_int_equal(tc_call(tc, &req, &resp, FIXTURE_TIMEOUT_MS), 0);
    tc_close(tc);
    assert_int_equal(response_error(resp), 0);
    assert_non_null(resp->audit);
    size_t n = resp->audit->n_entries;
    sanhe__response__free_unpacked(resp, NULL);
    return n;
}

static void run_mode(int after_audit)
{
    struct engine_fixture f;
    char limits[128];
    snprintf(limits, sizeof limits, "lookups_per_minute = 0\nlookup_answer_after_audit = %d\n",
             after_audit);
    assert_int_equal(fixture_start(&f, limits), 0);
    struct tc *tc;
    assert_int_equal(fixture_connect(&f, "counter-h2", false, &tc), 0);
    static uint64_t us[LOOKUPS];
    for (int i = 0; i < LOOKUPS; i++) {
        char id[32];
        snprintf(id, sizeof id, "cost-%d", i);
        uint64_t begin = now_us();
        assert_int_equal(eligibility(tc, id), 0);
        us[i] = now_us() - begin;
    }
    tc_close(tc);
    qsort(us, LOOKUPS, sizeof us[0], cmp_u64);
    print_message("lookup_answer_after_audit = %d: %d eligibility lookups one by one: "
                  "p50 %llu us, p99 %llu us\n",
                  after_audit, LOOKUPS, (unsigned long long)us[LOOKUPS / 2],
                  (unsigned long long)us[LOOKUPS * 99 / 100]);
    /* Answered at once, the last records may still be on their way: the
     * next group commit takes them within a loop iteration or two. */
    size_t n = 0;
    for (int attempt = 0; attempt < 50 && (n = audited(&f)) < LOOKUPS; attempt++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(n, LOOKUPS);
    assert_int_equal(fixture_stop(&f), 0);
}

static void test_answered_at_once(void **state)
{
    (void)state;
    run_mode(0);
}

static void test_answered_after_audit(void **state)
{
    (void)state;
    run_mode(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answered_at_once),
        cmocka_unit_test(test_answered_after_audit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
