/*
 * Audit retention (docs/limits.md#person-lookups): records of a day more
 * than audit_retention_days before a batch's are deleted by the batches
 * themselves, at most LEDGER_AUDIT_PRUNE_PER_BATCH per batch, oldest
 * first; younger days are kept; with 0 nothing is deleted. On the ledger
 * before the retention every old record stays (the first count after a
 * batch at day 0 would still be OLD).
 */
#include "sh_date.h"
#include "test_ledger_fixture.h"

#define DAY_MS (24LL * 3600 * 1000)
#define OLD 600 /* records 20 days back: more than two batches' deletes */

/* Commits a batch at now_ms holding n audit records dated at time_ms. */
static void audit_batch(struct fx *f, int64_t now_ms, int64_t time_ms, size_t n)
{
    struct ledger_audit_record *recs = calloc(n, sizeof *recs);
    assert_non_null(recs);
    struct sh_caller c = fx_counter(H1);
    for (size_t i = 0; i < n; i++)
        ledger_audit_fill(&recs[i], &c, "eligibility", P_PLAIN, 0, time_ms + (int64_t)i);
    struct ledger_batch *b = NULL;
    assert_int_equal(ledger_batch_begin(f->ledger, now_ms, &b), 0);
    ledger_batch_audit(b, recs, n);
    assert_int_equal(ledger_batch_commit(b), 0);
    free(recs);
}

/* The records of the business day of time_ms, as the bureau lists them. */
static size_t audit_count(struct fx *f, int64_t time_ms)
{
    char day[16];
    sh_date_format(sh_date_from_unix_ms(time_ms, 480), day);
    Sanhe__Request *r = rq_new("audit");
    r->audit = malloc(sizeof *r->audit);
    assert_non_null(r->audit);
    sanhe__audit_request__init(r->audit);
    r->audit->day = fx_strdup(day);
    r->audit->has_limit = true;
    r->audit->limit = 10000;
    r->op_case = SANHE__REQUEST__OP_AUDIT;
    struct sh_caller bureau = fx_role(SH_ROLE_BUREAU);
    Sanhe__Response *resp = fx_call(f, &bureau, r);
    assert_null(resp->error);
    size_t n = resp->audit->n_entries;
    sanhe__response__free_unpacked(resp, NULL);
    return n;
}

static struct fx *fx_retention(uint32_t days)
{
    struct fx *f = fx_new_loaded(0, 0);
    f->cfg.audit_retention_days = days;
    fx_reopen(f);
    return f;
}

static void old_days_deleted_a_bounded_number_per_batch(void **state)
{
    (void)state;
    struct fx *f = fx_retention(10);
    int64_t now = FX_NOW_MS, old = now - 20 * DAY_MS, recent = now - 5 * DAY_MS;
    audit_batch(f, old, old, OLD);
    audit_batch(f, old, recent, 5); /* a batch dated later would delete already */
    assert_int_equal(audit_count(f, old), OLD);
    size_t left = OLD;
    for (int batch = 0; batch < 5 && left > 0; batch++) {
        audit_batch(f, now, now, 1);
        size_t n = audit_count(f, old);
        size_t expect =
            left > LEDGER_AUDIT_PRUNE_PER_BATCH ? left - LEDGER_AUDIT_PRUNE_PER_BATCH : 0;
        assert_int_equal(n, expect);
        left = n;
    }
    assert_int_equal(left, 0);
    assert_int_equal(audit_count(f, recent), 5);
    assert_true(audit_count(f, now) >= 3);
    /* A day past the retention later goes too, after a reopen as well. */
    fx_reopen(f);
    audit_batch(f, now + 6 * DAY_MS, now + 6 * DAY_MS, 1);
    assert_int_equal(audit_count(f, recent), 0);
    assert_true(audit_count(f, now) >= 3); /* 6 days old: kept */
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

static void no_retention_keeps_everything(void **state)
{
    (void)state;
    struct fx *f = fx_retention(0);
    int64_t now = FX_NOW_MS, old = now - 2000 * DAY_MS;
    audit_batch(f, old, old, 10);
    audit_batch(f, now, now, 1);
    audit_batch(f, now, now, 1);
    assert_int_equal(audit_count(f, old), 10);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_days_deleted_a_bounded_number_per_batch),
        cmocka_unit_test(no_retention_keeps_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
