/*
 * The write quotas (docs/limits.md#write-quotas), in the ledger: each daily
 * ceiling refuses past it and not before, with QUOTA_EXCEEDED, and the
 * refusal writes nothing; another hospital is not affected; the counts
 * survive a reopen and roll over at the business day; a claim past its
 * visit type's lines is CLAIM_TOO_LARGE, settle and presettle alike.
 *
 * On the ledger before the quotas every one of these fails: nothing is
 * ever refused and nothing counted, which is what a zeroed quota gives
 * today (no_quota_refuses_nothing: five settles of H1 all taken).
 */
#include "sh_date.h"
#include "test_ledger_fixture.h"

#define DAY_MS (24LL * 3600 * 1000)
#define FX_DAY 20260301u

struct observed {
    int calls;
    enum ledger_quota_kind kind;
    uint64_t used, limit;
    char hospital[SH_CODE_MAX];
};

static struct observed seen;

static void observe(void *ctx, const struct ledger_quota_event *e)
{
    assert_ptr_equal(ctx, &seen);
    seen.calls++;
    seen.kind = e->kind;
    seen.used = e->used;
    seen.limit = e->limit;
    snprintf(seen.hospital, sizeof seen.hospital, "%s", e->caller->hospital);
}

/* The default reference data; then the ledger reopened with quota. */
static struct fx *fx_quota(const struct ledger_quota *quota)
{
    struct fx *f = fx_new_loaded(0, 0);
    f->cfg.quota = *quota;
    fx_reopen(f);
    memset(&seen, 0, sizeof seen);
    ledger_quota_observe(f->ledger, observe, &seen);
    return f;
}

static int settle_code(struct fx *f, const char *hospital, const char *rid)
{
    struct sh_caller c = fx_counter(hospital);
    return fx_code(f, &c, rq_settle_std(rid, hospital, P_PLAIN, "2026-03-01", 10000));
}

static uint64_t used_of(struct fx *f, const char *hospital, enum ledger_quota_kind kind)
{
    uint64_t used[LEDGER_QUOTA_DAILY_KINDS];
    uint32_t day = sh_date_from_unix_ms(f->now_ms, 480);
    assert_int_equal(ledger_quota_used(f->ledger, hospital, day, used), 0);
    return used[kind];
}

static struct ledger_quota county_settlements(uint64_t n)
{
    struct ledger_quota q;
    memset(&q, 0, sizeof q);
    q.per_day[LEDGER_QUOTA_SETTLEMENTS][SH_LEVEL_COUNTY] = n;
    q.per_day[LEDGER_QUOTA_SETTLEMENTS][SH_LEVEL_TOWNSHIP] = 100;
    return q;
}

/* 3 a day for a county hospital: the fourth is refused, H2 still gets its 3. */
static void settlements_refused_past_the_ceiling(void **state)
{
    (void)state;
    struct ledger_quota q = county_settlements(3);
    struct fx *f = fx_quota(&q);
    char rid[32];
    for (int i = 0; i < 3; i++) {
        snprintf(rid, sizeof rid, "h1-%d", i);
        assert_int_equal(settle_code(f, H1, rid), 0);
    }
    assert_int_equal(seen.calls, 0); /* not before */
    assert_int_equal(used_of(f, H1, LEDGER_QUOTA_SETTLEMENTS), 3);
    assert_int_equal(settle_code(f, H1, "h1-3"), SH_E_QUOTA_EXCEEDED);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.kind, LEDGER_QUOTA_SETTLEMENTS);
    assert_int_equal(seen.limit, 3);
    assert_string_equal(seen.hospital, H1);
    /* A retry of a settle answered already is answered again. */
    assert_int_equal(settle_code(f, H1, "h1-0"), 0);
    /* Another hospital of the same level, and one of another level. */
    for (int i = 0; i < 3; i++) {
        snprintf(rid, sizeof rid, "h2-%d", i);
        assert_int_equal(settle_code(f, H2, rid), 0);
        snprintf(rid, sizeof rid, "h3-%d", i);
        assert_int_equal(settle_code(f, H3, rid), 0);
    }
    assert_int_equal(settle_code(f, H2, "h2-3"), SH_E_QUOTA_EXCEEDED);
    assert_int_equal(settle_code(f, H3, "h3-3"), 0); /* township: 100 */
    struct ledger_quota_refusals r[8];
    assert_int_equal(ledger_quota_refusals(f->ledger, r, 8), 2);
    assert_string_equal(r[0].hospital, H1);
    assert_int_equal(r[0].refused[LEDGER_QUOTA_SETTLEMENTS], 1);
    assert_string_equal(r[1].hospital, H2);
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

/* The refused settle left nothing: no settlement, no idempotency record,
 * no count; the next day the same request id settles. */
static void refusal_writes_nothing(void **state)
{
    (void)state;
    struct ledger_quota q = county_settlements(1);
    struct fx *f = fx_quota(&q);
    assert_int_equal(settle_code(f, H1, "first"), 0);
    struct ledger_info before, after;
    assert_int_equal(ledger_info(f->ledger, &before), 0);
    uint64_t bytes = used_of(f, H1, LEDGER_QUOTA_STORED_BYTES);
    assert_true(bytes > 0);
    assert_int_equal(settle_code(f, H1, "refused"), SH_E_QUOTA_EXCEEDED);
    assert_int_equal(ledger_info(f->ledger, &after), 0);
    assert_int_equal(after.settlements, before.settlements);
    assert_int_equal(after.journal_entries, before.journal_entries);
    assert_int_equal(used_of(f, H1, LEDGER_QUOTA_STORED_BYTES), bytes);
    assert_int_equal(used_of(f, H1, LEDGER_QUOTA_SETTLEMENTS), 1);
    struct sh_caller c = fx_counter(H1);
    assert_int_equal(fx_code(f, &c, rq_query_rid("refused", H1)), SH_E_NOT_FOUND);
    f->now_ms += DAY_MS;
    assert_int_equal(settle_code(f, H1, "refused"), 0);
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

/* The counts are in the store: a reopen keeps them. */
static void restart_keeps_the_count(void **state)
{
    (void)state;
    struct ledger_quota q = county_settlements(3);
    struct fx *f = fx_quota(&q);
    assert_int_equal(settle_code(f, H1, "a"), 0);
    assert_int_equal(settle_code(f, H1, "b"), 0);
    fx_reopen(f);
    assert_int_equal(used_of(f, H1, LEDGER_QUOTA_SETTLEMENTS), 2);
    assert_int_equal(settle_code(f, H1, "c"), 0);
    assert_int_equal(settle_code(f, H1, "d"), SH_E_QUOTA_EXCEEDED);
    fx_free(f);
}

/* The business day is the +08:00 one: 23:59 is still the day, 00:00 the next. */
static void counts_roll_over_at_the_business_day(void **state)
{
    (void)state;
    struct ledger_quota q = county_settlements(1);
    struct fx *f = fx_quota(&q);
    f->now_ms = FX_NOW_MS + 15 * 3600 * 1000LL + 59 * 60 * 1000LL; /* 2026-03-01 23:59 +08 */
    assert_int_equal(sh_date_from_unix_ms(f->now_ms, 480), FX_DAY);
    assert_int_equal(settle_code(f, H1, "late"), 0);
    assert_int_equal(settle_code(f, H1, "later"), SH_E_QUOTA_EXCEEDED);
    f->now_ms += 60 * 1000LL; /* 2026-03-02 00:00 +08, still 03-01 in UTC */
    assert_int_equal(sh_date_from_unix_ms(f->now_ms, 0), FX_DAY);
    assert_int_equal(settle_code(f, H1, "later"), 0);
    assert_int_equal(used_of(f, H1, LEDGER_QUOTA_SETTLEMENTS), 1);
    assert_int_equal(settle_code(f, H1, "latest"), SH_E_QUOTA_EXCEEDED);
    fx_free(f);
}

/* A claim of n class-C lines. */
static Sanhe__Request *settle_lines(const char *rid, const char *hospital, const char *visit, int n)
{
    Sanhe__Claim *c = claim_new(hospital, P_PLAIN, visit, "2026-03-01");
    for (int i = 0; i < n; i++)
        claim_line(c, "C001", 1000, 100);
    return rq_settle(rid, c);
}

/* Stored bytes: settles are taken while the day's bytes are under the
 * ceiling (the last one may pass it), then refused. */
static void stored_bytes_refused_past_the_ceiling(void **state)
{
    (void)state;
    struct ledger_quota q;
    memset(&q, 0, sizeof q);
    q.per_day[LEDGER_QUOTA_STORED_BYTES][SH_LEVEL_COUNTY] = 64 * 1024;
    struct fx *f = fx_quota(&q);
    struct sh_caller c = fx_counter(H1);
    int taken = 0;
    for (int i = 0; i < 1000; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "big-%d", i);
        uint64_t before = used_of(f, H1, LEDGER_QUOTA_STORED_BYTES);
        int code = fx_code(f, &c, settle_lines(rid, H1, "inpatient", 200));
        if (before < 64 * 1024) {
            assert_int_equal(code, 0); /* not before */
            assert_true(used_of(f, H1, LEDGER_QUOTA_STORED_BYTES) > before);
            taken++;
            continue;
        }
        assert_int_equal(code, SH_E_QUOTA_EXCEEDED);
        assert_int_equal(used_of(f, H1, LEDGER_QUOTA_STORED_BYTES), before);
        break;
    }
    print_message("stored bytes: %d settles of 200 lines taken under 64 KiB, %llu bytes\n", taken,
                  (unsigned long long)used_of(f, H1, LEDGER_QUOTA_STORED_BYTES));
    assert_true(taken >= 2 && taken < 1000);
    assert_int_equal(seen.kind, LEDGER_QUOTA_STORED_BYTES);
    /* H2 is not held to H1's bytes. */
    struct sh_caller c2 = fx_counter(H2);
    assert_int_equal(fx_code(f, &c2, settle_lines("h2-big", H2, "inpatient", 200)), 0);
    /* Reversing is never refused, and counts. */
    uint64_t before = used_of(f, H1, LEDGER_QUOTA_STORED_BYTES);
    assert_int_equal(fx_code(f, &c, rq_reverse_rid("rev-0", "big-0")), 0);
    assert_true(used_of(f, H1, LEDGER_QUOTA_STORED_BYTES) > before);
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

/* Cancels of ids nothing settled under: 2 a day; one that reverses a
 * settle is not one of them and is still taken. */
static void unknown_cancels_refused_past_the_ceiling(void **state)
{
    (void)state;
    struct ledger_quota q;
    memset(&q, 0, sizeof q);
    q.per_day[LEDGER_QUOTA_UNKNOWN_CANCELS][SH_LEVEL_COUNTY] = 2;
    struct fx *f = fx_quota(&q);
    struct sh_caller c = fx_counter(H1);
    assert_int_equal(settle_code(f, H1, "real"), 0);
    assert_int_equal(fx_code(f, &c, rq_cancel("c1", "never-1")), 0);
    assert_int_equal(fx_code(f, &c, rq_cancel("c2", "never-2")), 0);
    assert_int_equal(used_of(f, H1, LEDGER_QUOTA_UNKNOWN_CANCELS), 2);
    assert_int_equal(fx_code(f, &c, rq_cancel("c3", "never-3")), SH_E_QUOTA_EXCEEDED);
    /* A second cancel of an id already marked reverses nothing either. */
    assert_int_equal(fx_code(f, &c, rq_cancel("c4", "never-1")), SH_E_QUOTA_EXCEEDED);
    assert_int_equal(seen.kind, LEDGER_QUOTA_UNKNOWN_CANCELS);
    assert_int_equal(fx_code(f, &c, rq_cancel("c5", "real")), 0);
    assert_int_equal(used_of(f, H1, LEDGER_QUOTA_UNKNOWN_CANCELS), 2);
    /* The refused cancel left no marker: a settle under never-3 lands. */
    assert_int_equal(settle_code(f, H1, "never-3"), 0);
    struct sh_caller c2 = fx_counter(H2);
    assert_int_equal(fx_code(f, &c2, rq_cancel("c1", "never-1")), 0);
    assert_int_equal(fx_check(f), 0);
    fx_free(f);
}

/* Lines by visit type, settle and presettle. */
static void claim_lines_by_visit_type(void **state)
{
    (void)state;
    struct ledger_quota q;
    memset(&q, 0, sizeof q);
    q.claim_lines_max[SH_VISIT_OUTPATIENT] = 5;
    q.claim_lines_max[SH_VISIT_INPATIENT] = 10;
    struct fx *f = fx_quota(&q);
    struct sh_caller c = fx_counter(H1);
    assert_int_equal(fx_code(f, &c, settle_lines("o5", H1, "outpatient", 5)), 0);
    assert_int_equal(fx_code(f, &c, settle_lines("o6", H1, "outpatient", 6)), SH_E_CLAIM_TOO_LARGE);
    assert_int_equal(seen.kind, LEDGER_QUOTA_CLAIM_LINES);
    assert_int_equal(seen.used, 6);
    assert_int_equal(seen.limit, 5);
    assert_int_equal(fx_code(f, &c, settle_lines("i10", H1, "inpatient", 10)), 0);
    assert_int_equal(fx_code(f, &c, settle_lines("i11", H1, "inpatient", 11)),
                     SH_E_CLAIM_TOO_LARGE);
    assert_int_equal(fx_code(f, &c, settle_lines("c50", H1, "chronic", 50)), 0); /* no limit */
    Sanhe__Claim *claim = claim_new(H1, P_PLAIN, "outpatient", "2026-03-01");
    for (int i = 0; i < 6; i++)
        claim_line(claim, "C001", 1000, 100);
    Sanhe__Response *r = fx_call(f, &c, rq_presettle("p6", claim));
    assert_non_null(r->error);
    assert_int_equal(r->error->code, SANHE__ERROR_CODE__CLAIM_TOO_LARGE);
    assert_non_null(strstr(r->error->message, "claim_lines_max_outpatient"));
    sanhe__response__free_unpacked(r, NULL);
    assert_int_equal(fx_code(f, &c, rq_query_rid("o6", H1)), SH_E_NOT_FOUND);
    struct ledger_quota_refusals rf[2];
    assert_int_equal(ledger_quota_refusals(f->ledger, rf, 2), 1);
    assert_int_equal(rf[0].refused[LEDGER_QUOTA_CLAIM_LINES], 3);
    fx_free(f);
}

/* Without a quota (a zeroed config) nothing is refused: the old behaviour. */
static void no_quota_refuses_nothing(void **state)
{
    (void)state;
    struct fx *f = fx_new_loaded(0, 0);
    char rid[32];
    for (int i = 0; i < 5; i++) {
        snprintf(rid, sizeof rid, "free-%d", i);
        assert_int_equal(settle_code(f, H1, rid), 0);
    }
    uint64_t used[LEDGER_QUOTA_DAILY_KINDS];
    assert_int_equal(ledger_quota_used(f->ledger, H1, FX_DAY, used), 0);
    assert_int_equal(used[LEDGER_QUOTA_SETTLEMENTS], 0); /* nothing counted either */
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(settlements_refused_past_the_ceiling),
        cmocka_unit_test(refusal_writes_nothing),
        cmocka_unit_test(restart_keeps_the_count),
        cmocka_unit_test(counts_roll_over_at_the_business_day),
        cmocka_unit_test(stored_bytes_refused_past_the_ceiling),
        cmocka_unit_test(unknown_cancels_refused_past_the_ceiling),
        cmocka_unit_test(claim_lines_by_visit_type),
        cmocka_unit_test(no_quota_refuses_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
