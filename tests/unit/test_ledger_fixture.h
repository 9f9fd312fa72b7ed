/*
 * Shared by the test_ledger*.c programs: a ledger on a fresh temporary
 * directory, reference data (the Haiyan 2026 policy of tests/policies, and
 * a 2025 copy of it), and builders for requests. Requests are built on the
 * heap exactly as protobuf-c's unpacker would build them, so
 * sanhe__request__free_unpacked frees them.
 *
 * Everything is static inline: each test program uses a different part.
 */
#ifndef TEST_LEDGER_FIXTURE_H
#define TEST_LEDGER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "ledger_test.h"

#define H1 "H330424001"               /* county */
#define H2 "H330424002"               /* county */
#define H3 "H330424101"               /* township */
#define P_LOWINC "330424196201120129" /* low_income (assist), enrolled 2025 and 2026 */
#define P_DEAD "330424193001130134"   /* tekun (assist), died 2026-04-30 */
#define P_PLAIN "330424196001010013"  /* enrolled 2026, no category */
#define P_NOTENR "330424198801140149" /* enrolled 2025 only */
#define FX_NOW_MS 1772323200000LL     /* 2026-03-01 08:00 +08:00 */

struct fx {
    char dir[256];
    struct ledger_config cfg;
    struct ledger *ledger;
    int64_t now_ms;
};

/* ---- Files and directories ---------------------------------------------------------- */

static inline int fx_remove_entry(const char *path, const struct stat *sb, int flag,
                                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void fx_remove_tree(const char *dir)
{
    nftw(dir, fx_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *fx_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (text != NULL && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    if (text != NULL)
        text[n] = '\0';
    fclose(f);
    return text;
}

/* The Haiyan 2026 policy document, from SANHE_TEST_DATA (ctest) or next
 * to this file. */
static inline char *fx_policy_2026(void)
{
    char path[512];
    const char *data = getenv("SANHE_TEST_DATA");
    if (data != NULL) {
        snprintf(path, sizeof path, "%s/policies/haiyan-2026.json", data);
    } else {
        snprintf(path, sizeof path, "%s", __FILE__);
        char *slash = strrchr(path, '/');
        snprintf(slash != NULL ? slash + 1 : path, sizeof path - (size_t)(slash - path + 1),
                 "../policies/haiyan-2026.json");
    }
    char *text = fx_read_file(path);
    assert_non_null(text);
    return text;
}

/* Replaces every occurrence of from (same length as to) in s. */
static inline void fx_replace_all(char *s, const char *from, const char *to)
{
    size_t n = strlen(from);
    assert_int_equal(n, strlen(to));
    for (char *at = strstr(s, from); at != NULL; at = strstr(at + n, from))
        memcpy(at, to, n);
}

/* The same policy for 2025. */
static inline char *fx_policy_2025(void)
{
    char *text = fx_policy_2026();
    fx_replace_all(text, "\"year\": 2026", "\"year\": 2025");
    fx_replace_all(text, "2026-01-01", "2025-01-01");
    fx_replace_all(text, "2026-12-31", "2025-12-31");
    return text;
}

/* ---- Callers --------------------------------------------------------------------------- */

static inline struct sh_caller fx_counter(const char *hospital)
{
    struct sh_caller c;
    memset(&c, 0, sizeof c);
    snprintf(c.terminal, sizeof c.terminal, "counter-%s", hospital);
    snprintf(c.hospital, sizeof c.hospital, "%s", hospital);
    c.role = SH_ROLE_COUNTER;
    return c;
}

static inline struct sh_caller fx_role(enum sh_role role)
{
    struct sh_caller c;
    memset(&c, 0, sizeof c);
    snprintf(c.terminal, sizeof c.terminal, "%s", role == SH_ROLE_ADMIN ? "admin" : "bureau");
    c.role = role;
    return c;
}

/* ---- Requests --------------------------------------------------------------------------- */

static inline char *fx_strdup(const char *s) { return s != NULL ? strdup(s) : NULL; }

static inline Sanhe__Request *rq_new(const char *rid)
{
    Sanhe__Request *r = malloc(sizeof *r);
    assert_non_null(r);
    sanhe__request__init(r);
    r->request_id = fx_strdup(rid);
    return r;
}

static inline Sanhe__Claim *claim_new(const char *hospital, const char *person, const char *visit,
                                      const char *date)
{
    Sanhe__Claim *c = malloc(sizeof *c);
    assert_non_null(c);
    sanhe__claim__init(c);
    c->hospital = fx_strdup(hospital);
    c->person = fx_strdup(person);
    c->visit = fx_strdup(visit);
    c->date = fx_strdup(date);
    return c;
}

static inline void claim_line(Sanhe__Claim *c, const char *code, int64_t qty_milli, int64_t amount)
{
    c->lines = realloc(c->lines, (c->n_lines + 1) * sizeof *c->lines);
    Sanhe__Line *l = malloc(sizeof *l);
    assert_non_null(c->lines);
    assert_non_null(l);
    sanhe__line__init(l);
    l->code = fx_strdup(code);
    l->has_qty_milli = l->has_amount = 1;
    l->qty_milli = qty_milli;
    l->amount = amount;
    c->lines[c->n_lines++] = l;
}

/* One line, one claim: the usual shape in these tests. */
static inline Sanhe__Claim *claim_one(const char *hospital, const char *person, const char *visit,
                                      const char *date, const char *code, int64_t amount)
{
    Sanhe__Claim *c = claim_new(hospital, person, visit, date);
    claim_line(c, code, 1000, amount);
    return c;
}

static inline Sanhe__Request *rq_settle(const char *rid, Sanhe__Claim *claim)
{
    Sanhe__Request *r = rq_new(rid);
    r->settle = malloc(sizeof *r->settle);
    assert_non_null(r->settle);
    sanhe__settle_request__init(r->settle);
    r->settle->claim = claim;
    r->op_case = SANHE__REQUEST__OP_SETTLE;
    return r;
}

static inline Sanhe__Request *rq_presettle(const char *rid, Sanhe__Claim *claim)
{
    Sanhe__Request *r = rq_new(rid);
    r->presettle = malloc(sizeof *r->presettle);
    assert_non_null(r->presettle);
    sanhe__presettle_request__init(r->presettle);
    r->presettle->claim = claim;
    r->op_case = SANHE__REQUEST__OP_PRESETTLE;
    return r;
}

/* The usual claim: inpatient appendectomy (A003) at a county hospital. */
static inline Sanhe__Request *rq_settle_std(const char *rid, const char *hospital,
                                            const char *person, const char *date, int64_t amount)
{
    return rq_settle(rid, claim_one(hospital, person, "inpatient", date, "A003", amount));
}

static inline Sanhe__Request *rq_reverse_rid(const char *rid, const char *target)
{
    Sanhe__Request *r = rq_new(rid);
    r->reverse = malloc(sizeof *r->reverse);
    assert_non_null(r->reverse);
    sanhe__reverse_request__init(r->reverse);
    r->reverse->target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
    r->reverse->settlement_request_id = fx_strdup(target);
    r->op_case = SANHE__REQUEST__OP_REVERSE;
    return r;
}

static inline Sanhe__Request *rq_reverse_id(const char *rid, uint64_t id)
{
    Sanhe__Request *r = rq_new(rid);
    r->reverse = malloc(sizeof *r->reverse);
    assert_non_null(r->reverse);
    sanhe__reverse_request__init(r->reverse);
    r->reverse->target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID;
    r->reverse->settlement_id = id;
    r->op_case = SANHE__REQUEST__OP_REVERSE;
    return r;
}

static inline Sanhe__Request *rq_cancel(const char *rid, const char *cancel_of)
{
    Sanhe__Request *r = rq_new(rid);
    r->cancel = malloc(sizeof *r->cancel);
    assert_non_null(r->cancel);
    sanhe__cancel_request__init(r->cancel);
    r->cancel->cancel_of = fx_strdup(cancel_of);
    r->op_case = SANHE__REQUEST__OP_CANCEL;
    return r;
}

static inline Sanhe__Request *rq_query_id(uint64_t id)
{
    Sanhe__Request *r = rq_new("q");
    r->query = malloc(sizeof *r->query);
    assert_non_null(r->query);
    sanhe__query_request__init(r->query);
    r->query->target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_ID;
    r->query->settlement_id = id;
    r->op_case = SANHE__REQUEST__OP_QUERY;
    return r;
}

static inline Sanhe__Request *rq_query_rid(const char *target, const char *hospital)
{
    Sanhe__Request *r = rq_new("q");
    r->query = malloc(sizeof *r->query);
    assert_non_null(r->query);
    sanhe__query_request__init(r->query);
    r->query->target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
    r->query->settlement_request_id = fx_strdup(target);
    r->query->hospital = fx_strdup(hospital);
    r->op_case = SANHE__REQUEST__OP_QUERY;
    return r;
}

/* hospital NULL or "": the whole day (a bureau's). */
static inline Sanhe__Request *rq_reconcile(const char *hospital, const char *day)
{
    Sanhe__Request *r = rq_new("rc");
    r->reconcile = malloc(sizeof *r->reconcile);
    assert_non_null(r->reconcile);
    sanhe__reconcile_request__init(r->reconcile);
    r->reconcile->hospital = fx_strdup(hospital);
    r->reconcile->day = fx_strdup(day);
    r->op_case = SANHE__REQUEST__OP_RECONCILE;
    return r;
}

static inline Sanhe__Request *rq_eligibility(const char *person, const char *date)
{
    Sanhe__Request *r = rq_new("e");
    r->eligibility = malloc(sizeof *r->eligibility);
    assert_non_null(r->eligibility);
    sanhe__eligibility_request__init(r->eligibility);
    r->eligibility->person = fx_strdup(person);
    r->eligibility->date = fx_strdup(date);
    r->op_case = SANHE__REQUEST__OP_ELIGIBILITY;
    return r;
}

/* ---- Reference data ------------------------------------------------------------------------ */

static inline Sanhe__Request *rq_load_empty(void)
{
    Sanhe__Request *r = rq_new("load");
    r->load = malloc(sizeof *r->load);
    assert_non_null(r->load);
    sanhe__load_request__init(r->load);
    r->op_case = SANHE__REQUEST__OP_LOAD;
    return r;
}

#define FX_APPEND(arr, n, item)                                                                    \
    do {                                                                                           \
        (arr) = realloc((arr), ((n) + 1) * sizeof *(arr));                                         \
        assert_non_null(arr);                                                                      \
        (arr)[(n)++] = (item);                                                                     \
    } while (0)

static inline Sanhe__Person *fx_person(Sanhe__LoadRequest *l, const char *id, const char *region,
                                       int32_t year1, int32_t year2, const char *died)
{
    Sanhe__Person *p = malloc(sizeof *p);
    assert_non_null(p);
    sanhe__person__init(p);
    p->id = fx_strdup(id);
    p->name = fx_strdup("患者");
    p->region = fx_strdup(region);
    if (year1 != 0)
        FX_APPEND(p->enrolled, p->n_enrolled, year1);
    if (year2 != 0)
        FX_APPEND(p->enrolled, p->n_enrolled, year2);
    p->died = fx_strdup(died);
    FX_APPEND(l->persons, l->n_persons, p);
    return p;
}

static inline void fx_person_category(Sanhe__Person *p, const char *fund, const char *category,
                                      const char *from, const char *to)
{
    Sanhe__PersonCategory *c = malloc(sizeof *c);
    assert_non_null(c);
    sanhe__person_category__init(c);
    c->fund = fx_strdup(fund);
    c->category = fx_strdup(category);
    c->from = fx_strdup(from);
    c->to = fx_strdup(to);
    FX_APPEND(p->categories, p->n_categories, c);
}

static inline void fx_hospital(Sanhe__LoadRequest *l, const char *code, const char *level)
{
    Sanhe__Hospital *h = malloc(sizeof *h);
    assert_non_null(h);
    sanhe__hospital__init(h);
    h->code = fx_strdup(code);
    h->name = fx_strdup("医院");
    h->region = fx_strdup("330424");
    h->level = fx_strdup(level);
    const char *funds[] = {"coop", "youfu", "assist"};
    for (size_t i = 0; i < 3; i++)
        FX_APPEND(h->funds, h->n_funds, fx_strdup(funds[i]));
    FX_APPEND(l->hospitals, l->n_hospitals, h);
}

static inline void fx_item(Sanhe__LoadRequest *l, const char *code, const char *cls,
                           int64_t price_cap)
{
    Sanhe__CatalogItem *it = malloc(sizeof *it);
    assert_non_null(it);
    sanhe__catalog_item__init(it);
    it->code = fx_strdup(code);
    it->name = fx_strdup("item");
    it->class_ = fx_strdup(cls);
    it->has_price_cap = price_cap >= 0;
    it->price_cap = price_cap >= 0 ? price_cap : 0;
    FX_APPEND(l->items, l->n_items, it);
}

static inline void fx_terminal(Sanhe__LoadRequest *l, const char *name, const char *hospital,
                               const char *role)
{
    Sanhe__Terminal *t = malloc(sizeof *t);
    assert_non_null(t);
    sanhe__terminal__init(t);
    t->name = fx_strdup(name);
    t->hospital = fx_strdup(hospital);
    t->role = fx_strdup(role);
    FX_APPEND(l->terminals, l->n_terminals, t);
}

/* The reference data every test starts from. */
static inline Sanhe__Request *rq_load_default(void)
{
    Sanhe__Request *r = rq_load_empty();
    Sanhe__LoadRequest *l = r->load;
    FX_APPEND(l->policies_json, l->n_policies_json, fx_policy_2026());
    FX_APPEND(l->policies_json, l->n_policies_json, fx_policy_2025());
    fx_hospital(l, H1, "county");
    fx_hospital(l, H2, "county");
    fx_hospital(l, H3, "township");
    fx_item(l, "A001", "A", 1200);
    fx_item(l, "A002", "A", -1);
    fx_item(l, "A003", "A", -1);
    fx_item(l, "B001", "B", -1);
    fx_item(l, "C001", "C", -1);
    Sanhe__Person *p = fx_person(l, P_LOWINC, "330424", 2025, 2026, NULL);
    fx_person_category(p, "assist", "low_income", "2025-01-01", NULL);
    p = fx_person(l, P_DEAD, "330424", 2026, 0, "2026-04-30");
    fx_person_category(p, "assist", "tekun", "2020-01-01", NULL);
    fx_person(l, P_PLAIN, "330424", 2026, 0, NULL);
    fx_person(l, P_NOTENR, "330424", 2025, 0, NULL);
    fx_terminal(l, "t-h1", H1, "counter");
    fx_terminal(l, "t-bureau", NULL, "bureau");
    fx_terminal(l, "t-admin", NULL, "admin");
    return r;
}

/* ---- Calls -------------------------------------------------------------------------------- */

/* Runs the request in a batch of its own (or as a read), frees it, and
 * returns the packed reply. */
static inline struct sh_reply fx_call_raw(struct fx *f, const struct sh_caller *caller,
                                          Sanhe__Request *req)
{
    struct sh_reply reply = {0};
    assert_int_equal(ledger_handle(f->ledger, caller, req, f->now_ms, &reply), 0);
    assert_non_null(reply.data);
    sanhe__request__free_unpacked(req, NULL);
    return reply;
}

static inline Sanhe__Response *fx_unpack(struct sh_reply reply)
{
    Sanhe__Response *resp = sanhe__response__unpack(NULL, reply.len, reply.data);
    free(reply.data);
    assert_non_null(resp);
    return resp;
}

static inline Sanhe__Response *fx_call(struct fx *f, const struct sh_caller *caller,
                                       Sanhe__Request *req)
{
    return fx_unpack(fx_call_raw(f, caller, req));
}

/* The refusal code of a reply (0 when it succeeded), the reply freed. */
static inline int fx_code_of(Sanhe__Response *resp)
{
    int code = resp->error != NULL ? -(int)resp->error->code : 0;
    sanhe__response__free_unpacked(resp, NULL);
    return code;
}

static inline int fx_code(struct fx *f, const struct sh_caller *caller, Sanhe__Request *req)
{
    return fx_code_of(fx_call(f, caller, req));
}

/* A settle that must succeed; returns its settlement id. */
static inline uint64_t fx_settle_ok(struct fx *f, const struct sh_caller *caller,
                                    Sanhe__Request *req)
{
    Sanhe__Response *resp = fx_call(f, caller, req);
    if (resp->error != NULL)
        fail_msg("settle refused: %s", resp->error->message);
    assert_int_equal(resp->result_case, SANHE__RESPONSE__RESULT_SETTLE);
    uint64_t id = resp->settle->settlement_id;
    sanhe__response__free_unpacked(resp, NULL);
    return id;
}

static inline void fx_report(void *ctx, const char *line)
{
    (void)ctx;
    print_message("check: %s\n", line);
}

static inline int fx_check(struct fx *f) { return ledger_check(f->ledger, fx_report, NULL); }

/* ---- Setup and teardown --------------------------------------------------------------------- */

static inline void fx_open_ledger(struct fx *f)
{
    struct sh_error err = {0};
    int rc = ledger_open(&f->cfg, &f->ledger, &err);
    if (rc != 0)
        fail_msg("ledger_open: %s", err.msg);
}

static inline struct fx *fx_new(uint64_t map_initial, uint64_t map_max, bool durable)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/sanhe-test-XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    f->cfg.dir = f->dir;
    f->cfg.map_size_initial = map_initial;
    f->cfg.map_size_max = map_max;
    f->cfg.durable = durable;
    f->cfg.utc_offset_min = 480;
    /* ctest runs each ledger test a second time with a tiny lag, so that
     * the indexes are brought up to date every few requests. */
    const char *lag = getenv("SANHE_TEST_INDEX_LAG");
    f->cfg.index_lag_flush = lag != NULL ? (uint32_t)strtoul(lag, NULL, 10) : 0;
    f->now_ms = FX_NOW_MS;
    fx_open_ledger(f);
    return f;
}

/* A ledger with the default reference data loaded. */
static inline struct fx *fx_new_loaded(uint64_t map_initial, uint64_t map_max)
{
    struct fx *f = fx_new(map_initial, map_max, false);
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    Sanhe__Response *resp = fx_call(f, &admin, rq_load_default());
    if (resp->error != NULL)
        fail_msg("load refused: %s", resp->error->message);
    sanhe__response__free_unpacked(resp, NULL);
    return f;
}

static inline void fx_reopen(struct fx *f)
{
    ledger_close(f->ledger);
    f->ledger = NULL;
    fx_open_ledger(f);
}

static inline void fx_free(struct fx *f)
{
    if (f == NULL)
        return;
    ledger_close(f->ledger);
    fx_remove_tree(f->dir);
    free(f);
}

static inline int fx_setup(void **state)
{
    *state = fx_new_loaded(0, 0);
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx_free(*state);
    return 0;
}

#endif
