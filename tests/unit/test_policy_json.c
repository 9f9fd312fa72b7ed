/*
 * The policy loader (sh_policy_from_json + sh_policy_validate), the overlap
 * check, and the JSON adapters for reference data and claims.
 *
 * Each refusal is built by mutating a valid document (haiyan-2026.json) and
 * asserts both the code and that the message names the place.
 */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sh_json.h"
#include "sh_policy.h"

/* ---- Helpers --------------------------------------------------------------------- */

/* tests/ : from the environment (ctest sets it) or next to this source. */
static void data_dir(char *out, size_t cap)
{
    const char *env = getenv("SANHE_TEST_DATA");
    if (env != NULL && env[0] != '\0') {
        snprintf(out, cap, "%s", env);
        return;
    }
    /* __FILE__ is .../tests/unit/test_policy_json.c */
    snprintf(out, cap, "%s", __FILE__);
    for (int cut = 0; cut < 2; cut++) {
        char *slash = strrchr(out, '/');
        if (slash != NULL)
            *slash = '\0';
    }
}

static json_t *load_json(const char *relative)
{
    char dir[512], path[1024];
    data_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        fail_msg("%s: %s", path, jerr.text);
    return doc;
}

static json_t *haiyan(void) { return load_json("policies/haiyan-2026.json"); }

static json_t *changshun(void) { return load_json("policies/changshun-2019.json"); }

/* The policy struct is ~150 KB: one static buffer per role, not the stack. */
static struct sh_policy g_policy, g_policy2;

/* The value at a '/'-separated path: numbers index arrays, the rest are keys. */
static json_t *at(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root;
    for (char *save = NULL, *seg = strtok_r(buf, "/", &save); seg != NULL;
         seg = strtok_r(NULL, "/", &save)) {
        if (json_is_array(v))
            v = json_array_get(v, strtoul(seg, NULL, 10));
        else
            v = json_object_get(v, seg);
        if (v == NULL)
            fail_msg("no value at %s (segment %s)", path, seg);
    }
    return v;
}

/* Sets key of the object at path to value (stolen); NULL value deletes. */
static void set(json_t *root, const char *path, const char *key, json_t *value)
{
    json_t *obj = at(root, path);
    assert_true(json_is_object(obj));
    if (value == NULL)
        assert_int_equal(json_object_del(obj, key), 0);
    else
        assert_int_equal(json_object_set_new(obj, key, value), 0);
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        fail_msg("test JSON does not parse: %s: %s", text, jerr.text);
    return v;
}

/* Parses the document, expects a refusal whose message holds needle. */
static void expect_refused(json_t *doc, const char *needle)
{
    struct sh_error err = {0};
    int rc = sh_policy_from_json(doc, &g_policy, &err);
    json_decref(doc);
    if (getenv("SANHE_TEST_VERBOSE") != NULL)
        printf("  refused: %s\n", err.msg);
    if (rc != SH_E_BAD_REFERENCE_DATA || strstr(err.msg, needle) == NULL)
        fail_msg("rc %d, message \"%s\"; wanted BAD_REFERENCE_DATA naming \"%s\"", rc, err.msg,
                 needle);
}

static void expect_loads(json_t *doc)
{
    struct sh_error err = {0};
    int rc = sh_policy_from_json(doc, &g_policy, &err);
    json_decref(doc);
    if (rc != 0)
        fail_msg("refused: %s", err.msg);
}

static const struct sh_ruleset *ruleset(const struct sh_policy *p, const char *fund,
                                        const char *category)
{
    for (uint32_t i = 0; i < p->fund_count; i++)
        for (uint32_t k = 0; strcmp(p->funds[i].id, fund) == 0 && k < p->funds[i].ruleset_count;
             k++)
            if (strcmp(p->funds[i].rulesets[k].category, category) == 0)
                return &p->funds[i].rulesets[k];
    fail_msg("no ruleset %s/%s", fund, category);
    return NULL;
}

/* ---- The two policies load, as written ------------------------------------------ */

static void haiyan_loads(void **state)
{
    (void)state;
    struct sh_error err = {0};
    json_t *doc = haiyan();
    assert_int_equal(sh_policy_from_json(doc, &g_policy, &err), 0);
    json_decref(doc);
    const struct sh_policy *p = &g_policy;
    assert_string_equal(p->region, "330424");
    assert_int_equal(p->year, 2026);
    assert_int_equal(p->effective_from, 20260101);
    assert_int_equal(p->effective_to, 20261231);
    assert_int_equal(p->class_b_selfpay_bp, 1000);
    assert_int_equal(p->rounding_unit, 1);
    assert_int_equal(p->fund_count, 3);
    assert_string_equal(p->funds[0].id, "coop");
    assert_int_equal(p->funds[0].kind, SH_FUND_INSURANCE);
    assert_int_equal(p->funds[1].kind, SH_FUND_CATEGORY);
    assert_int_equal(p->funds[0].ruleset_count, 1);

    const struct sh_rule *in = &ruleset(p, "coop", "default")->visit[SH_VISIT_INPATIENT];
    assert_true(in->present);
    assert_int_equal(in->band_count, 3);
    assert_int_equal(in->bands[0].upto, 1000000);
    assert_int_equal(in->bands[1].upto, 5000000);
    assert_true(in->bands[2].upto == SH_UNBOUNDED);
    assert_int_equal(in->bands[0].ratio_bp[SH_LEVEL_COUNTY], 7500);
    assert_int_equal(in->bands[1].ratio_bp[SH_LEVEL_COUNTY], 8000);
    assert_int_equal(in->bands[2].ratio_bp[SH_LEVEL_COUNTY], 8500);
    assert_int_equal(in->bands[0].ratio_bp[SH_LEVEL_VILLAGE], 0); /* not named, no "*" */
    assert_int_equal(in->deductible[SH_LEVEL_COUNTY], 80000);
    assert_int_equal(in->deductible[SH_LEVEL_VILLAGE], 0);
    assert_int_equal(in->annual_cap, 30000000);
    assert_true(in->claim_cap == SH_NO_CAP);
    assert_string_equal(in->cap_group, "inpatient");
    assert_false(in->band_whole);
    assert_false(in->band_annual);
    assert_false(in->deductible_annual);

    const struct sh_rule *chronic = &ruleset(p, "coop", "default")->visit[SH_VISIT_CHRONIC];
    assert_true(chronic->deductible_annual);
    assert_int_equal(chronic->deductible[SH_LEVEL_PROVINCIAL], 50000); /* one integer: all */

    /* Category priority is the document's key order. */
    const char *order[] = {"tekun", "dibao", "dibao_edge", "low_income", "illness_expense"};
    const struct sh_fund *assist = &p->funds[2];
    assert_string_equal(assist->id, "assist");
    assert_int_equal(assist->ruleset_count, 5);
    for (size_t k = 0; k < 5; k++)
        assert_string_equal(assist->rulesets[k].category, order[k]);
    const struct sh_ruleset *ie = ruleset(p, "assist", "illness_expense");
    assert_false(ie->visit[SH_VISIT_OUTPATIENT].present);
    assert_null(sh_ruleset_rule(ie, SH_VISIT_OUTPATIENT));
    assert_non_null(sh_ruleset_rule(ie, SH_VISIT_INPATIENT));
    /* cap_group defaults to the fund id. */
    const struct sh_rule *mf = &ruleset(p, "youfu", "martyr_family")->visit[SH_VISIT_CHRONIC];
    assert_string_equal(mf->cap_group, "youfu");
    assert_string_equal(ruleset(p, "youfu", "martyr_family")->visit[0].cap_group, "outpatient");
}

static void changshun_loads(void **state)
{
    (void)state;
    struct sh_error err = {0};
    json_t *doc = changshun();
    assert_int_equal(sh_policy_from_json(doc, &g_policy, &err), 0);
    json_decref(doc);
    const struct sh_policy *p = &g_policy;
    assert_string_equal(p->region, "522729");
    assert_int_equal(p->rounding_unit, 10);
    assert_int_equal(p->class_b_selfpay_bp, 500);
    assert_int_equal(p->fund_count, 4);
    const struct sh_rule *crit = &ruleset(p, "critical", "default")->visit[SH_VISIT_INPATIENT];
    assert_true(crit->band_annual);
    assert_true(crit->deductible_annual);
    assert_int_equal(crit->band_count, 4);
    assert_int_equal(crit->bands[2].upto, 14000000);
    assert_string_equal(crit->cap_group, "critical");
    const struct sh_rule *dibao = &ruleset(p, "assist", "dibao")->visit[SH_VISIT_INPATIENT];
    assert_true(dibao->band_whole);
    assert_false(dibao->band_annual);
    assert_string_equal(p->funds[2].rulesets[0].category, "major_illness");
    const struct sh_rule *out = &ruleset(p, "coop", "default")->visit[SH_VISIT_OUTPATIENT];
    assert_int_equal(out->bands[0].ratio_bp[SH_LEVEL_VILLAGE], 6500);
    assert_int_equal(out->bands[0].ratio_bp[SH_LEVEL_COUNTY], 0); /* "*": 0 */
    assert_int_equal(out->claim_cap, 20000);
    assert_false(ruleset(p, "coop", "default")->visit[SH_VISIT_CHRONIC].present);
}

static void by_level_star_fills_the_rest(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/outpatient/bands/0", "ratio_bp",
        parse("{\"county\": 4000, \"*\": 1234}"));
    expect_loads(doc);
    const struct sh_rule *r = &g_policy.funds[0].rulesets[0].visit[SH_VISIT_OUTPATIENT];
    assert_int_equal(r->bands[0].ratio_bp[SH_LEVEL_COUNTY], 4000);
    assert_int_equal(r->bands[0].ratio_bp[SH_LEVEL_VILLAGE], 1234);
    assert_int_equal(r->bands[0].ratio_bp[SH_LEVEL_PROVINCIAL], 1234);
}

static void rounding_defaults_to_fen(void **state)
{
    (void)state;
    json_t *doc = changshun();
    set(doc, "", "rounding", NULL);
    expect_loads(doc);
    assert_int_equal(g_policy.rounding_unit, 1);
    doc = changshun();
    set(doc, "", "rounding", json_string("yuan"));
    expect_loads(doc);
    assert_int_equal(g_policy.rounding_unit, 100);
}

static void from_text_loads_and_refuses_duplicate_keys(void **state)
{
    (void)state;
    struct sh_error err = {0};
    json_t *doc = haiyan();
    char *text = json_dumps(doc, 0);
    json_decref(doc);
    assert_int_equal(sh_policy_from_text(text, strlen(text), &g_policy, &err), 0);
    assert_int_equal(g_policy.fund_count, 3);
    free(text);

    const char *dup = "{\"schema\": \"sanhe.policy/1\", \"schema\": \"x\"}";
    assert_int_equal(sh_policy_from_text(dup, strlen(dup), &g_policy, &err),
                     SH_E_BAD_REFERENCE_DATA);
    assert_non_null(strstr(err.msg, "duplicate"));
    const char *bad = "{\"schema\": ";
    assert_int_equal(sh_policy_from_text(bad, strlen(bad), &g_policy, &err),
                     SH_E_BAD_REFERENCE_DATA);
    assert_non_null(strstr(err.msg, "not JSON"));
}

/* ---- Refusals: validation ------------------------------------------------------------ */

static void refuses_bands_not_ascending(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/2/rules/dibao", "inpatient",
        parse("{\"bands\": [{\"upto\": 2000000, \"ratio_bp\": 7000},"
              " {\"upto\": 1000000, \"ratio_bp\": 8000}, {\"upto\": null, \"ratio_bp\": 8000}]}"));
    struct sh_error err = {0};
    assert_int_equal(sh_policy_from_json(doc, &g_policy, &err), SH_E_BAD_REFERENCE_DATA);
    json_decref(doc);
    assert_string_equal(err.msg, "funds[2] (assist).rules.dibao.inpatient.bands[1]: upto 1000000 "
                                 "not above the previous 2000000");
    doc = haiyan(); /* equal is not ascending either */
    set(doc, "funds/0/rules/default/inpatient/bands/1", "upto", json_integer(1000000));
    expect_refused(doc, "funds[0] (coop).rules.default.inpatient.bands[1]: upto 1000000 not above");
}

static void refuses_a_bounded_last_band(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient/bands/2", "upto", json_integer(9000000));
    expect_refused(doc,
                   "funds[0] (coop).rules.default.inpatient.bands[2]: the last band is bounded");
}

static void refuses_an_unbounded_band_not_last(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient/bands/1", "upto", json_null());
    expect_refused(doc, "funds[0] (coop).rules.default.inpatient.bands[1]: an unbounded band");
}

static void refuses_zero_bands(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/1/rules/veteran/chronic", "bands", json_array());
    expect_refused(doc, "funds[1] (youfu).rules.veteran.chronic.bands: no band");
}

static void refuses_ratio_out_of_range(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient/bands/0", "ratio_bp", parse("{\"county\": 10001}"));
    expect_refused(doc, "funds[0] (coop).rules.default.inpatient.bands[0].ratio_bp.county: 10001");
    doc = haiyan();
    set(doc, "funds/2/rules/tekun/chronic/bands/0", "ratio_bp", json_integer(-1));
    expect_refused(doc, "funds[2] (assist).rules.tekun.chronic.bands[0].ratio_bp.village: -1");
    doc = haiyan(); /* 10000 is the most */
    set(doc, "funds/2/rules/tekun/chronic/bands/0", "ratio_bp", json_integer(10000));
    expect_loads(doc);
}

static void refuses_negative_money(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "deductible", parse("{\"county\": -5}"));
    expect_refused(doc, "funds[0] (coop).rules.default.inpatient.deductible.county: -5");
    doc = haiyan();
    set(doc, "funds/0/rules/default/chronic", "deductible", json_integer(-1));
    expect_refused(doc, "funds[0] (coop).rules.default.chronic.deductible.village: -1");
    /* -1 must not slip through as "no cap". */
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "annual_cap", json_integer(-1));
    expect_refused(doc, "funds[0].rules.default.inpatient.annual_cap: -1 out of range");
    doc = haiyan();
    set(doc, "funds/1/rules/veteran/inpatient", "claim_cap", json_integer(-100));
    expect_refused(doc, "funds[1].rules.veteran.inpatient.claim_cap");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient/bands/0", "upto", json_integer(0));
    expect_refused(doc, "funds[0] (coop).rules.default.inpatient.bands[0]: upto 0");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient/bands/0", "upto", json_integer(-10));
    expect_refused(doc, "funds[0] (coop).rules.default.inpatient.bands[0]: upto -10");
    doc = haiyan(); /* beyond any configured amount */
    set(doc, "funds/0/rules/default/inpatient", "annual_cap", json_integer(INT64_MAX));
    expect_refused(doc, "funds[0].rules.default.inpatient.annual_cap");
}

static void null_caps_mean_none(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "annual_cap", json_null());
    set(doc, "funds/0/rules/default/inpatient", "claim_cap", json_integer(0));
    expect_loads(doc);
    const struct sh_rule *r = &g_policy.funds[0].rulesets[0].visit[SH_VISIT_INPATIENT];
    assert_true(r->annual_cap == SH_NO_CAP);
    assert_int_equal(r->claim_cap, 0); /* a zero cap is a cap: the fund pays nothing */
}

static void refuses_bad_dates(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "", "effective_from", json_string("2026-02-30"));
    expect_refused(doc, "effective_from: \"2026-02-30\" is not a valid");
    doc = haiyan();
    set(doc, "", "effective_to", json_string("2026/12/31"));
    expect_refused(doc, "effective_to");
    doc = haiyan();
    set(doc, "", "effective_to", json_string("2026-12-31T00:00"));
    expect_refused(doc, "effective_to");
    doc = haiyan();
    set(doc, "", "effective_from", json_string("2026-07-01"));
    set(doc, "", "effective_to", json_string("2026-06-30"));
    expect_refused(doc, "effective_from 2026-07-01 is after effective_to 2026-06-30");
    doc = haiyan();
    set(doc, "", "effective_from", json_integer(20260101));
    expect_refused(doc, "effective_from: an integer where a date is expected");
}

static void refuses_a_year_not_the_periods(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "", "year", json_integer(2025));
    expect_refused(doc, "year 2025");
    doc = haiyan();
    set(doc, "", "effective_to", json_string("2027-06-30"));
    expect_refused(doc, "year 2026: the period 2026-01-01..2027-06-30");
    doc = haiyan(); /* a half year is fine */
    set(doc, "", "effective_from", json_string("2026-07-01"));
    expect_loads(doc);
}

static void refuses_duplicate_fund_ids(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/2", "id", json_string("youfu"));
    expect_refused(doc, "funds[2] (youfu): id \"youfu\" is also the id of funds[1]");
}

static void refuses_empty_ids(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/1", "id", json_string(""));
    expect_refused(doc, "funds[1]: empty");
    doc = haiyan();
    set(doc, "funds/2/rules", "",
        parse("{\"inpatient\": {\"bands\": [{\"upto\": null, "
              "\"ratio_bp\": 1}]}}"));
    expect_refused(doc, "funds[2] (assist): rules: category 5 has an empty");
    doc = haiyan();
    set(doc, "funds/0/rules/default/chronic", "cap_group", json_string(""));
    expect_refused(doc, "funds[0] (coop).rules.default.chronic.cap_group: empty");
    doc = haiyan();
    set(doc, "", "region", json_string(""));
    expect_refused(doc, "region: empty");
}

static void refuses_class_b_selfpay_out_of_range(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "", "class_b_selfpay_bp", json_integer(10001));
    expect_refused(doc, "class_b_selfpay_bp: 10001");
    doc = haiyan();
    set(doc, "", "class_b_selfpay_bp", json_integer(-1));
    expect_refused(doc, "class_b_selfpay_bp: -1");
    doc = haiyan();
    set(doc, "", "class_b_selfpay_bp", NULL);
    expect_refused(doc, "class_b_selfpay_bp: missing");
}

static void refuses_an_unknown_rounding(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "", "rounding", json_string("mao"));
    expect_refused(doc, "rounding: unknown value \"mao\"");
    /* A struct built elsewhere: the validator checks the unit itself. */
    doc = haiyan();
    expect_loads(doc);
    g_policy.rounding_unit = 5;
    struct sh_error err = {0};
    assert_int_equal(sh_policy_validate(&g_policy, &err), SH_E_BAD_REFERENCE_DATA);
    assert_non_null(strstr(err.msg, "rounding: unit 5"));
}

static void refuses_insurance_without_exactly_default(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules", "extra", json_deep_copy(at(doc, "funds/0/rules/default")));
    expect_refused(doc, "funds[0] (coop): rules: an insurance fund has exactly one key");
    doc = haiyan();
    json_t *def = json_incref(at(doc, "funds/0/rules/default"));
    set(doc, "funds/0/rules", "default", NULL);
    set(doc, "funds/0/rules", "standard", def);
    expect_refused(doc, "funds[0] (coop): rules: an insurance fund has exactly one key");
}

static void refuses_duplicate_categories(void **state)
{
    (void)state;
    /* A JSON object cannot hold a key twice once parsed; the text can. */
    const char *text =
        "{\"schema\": \"sanhe.policy/1\", \"region\": \"1\", \"name\": \"n\", \"year\": 2026,"
        " \"effective_from\": \"2026-01-01\", \"effective_to\": \"2026-12-31\","
        " \"class_b_selfpay_bp\": 0, \"funds\": [{\"id\": \"f\", \"name\": \"f\", \"kind\":"
        " \"category\", \"rules\": {\"a\": {}, \"a\": {}}}]}";
    struct sh_error err = {0};
    assert_int_equal(sh_policy_from_text(text, strlen(text), &g_policy, &err),
                     SH_E_BAD_REFERENCE_DATA);
    assert_non_null(strstr(err.msg, "duplicate object key"));
    /* And the validator, for a struct built elsewhere. */
    json_t *doc = haiyan();
    expect_loads(doc);
    struct sh_fund *assist = &g_policy.funds[2];
    memcpy(assist->rulesets[3].category, "dibao", sizeof "dibao");
    assert_int_equal(sh_policy_validate(&g_policy, &err), SH_E_BAD_REFERENCE_DATA);
    assert_string_equal(err.msg, "funds[2] (assist): rules: category \"dibao\" given twice");
}

static void refuses_zero_funds(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "", "funds", json_array());
    expect_refused(doc, "funds: no fund");
    doc = haiyan();
    set(doc, "funds/1", "rules", json_object());
    expect_refused(doc, "funds[1] (youfu): rules: empty");
}

/* ---- Refusals: shape ------------------------------------------------------------------ */

static void refuses_a_wrong_schema(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "", "schema", json_string("sanhe.policy/2"));
    expect_refused(doc, "schema: \"sanhe.policy/2\" is not sanhe.policy/1");
    doc = haiyan();
    set(doc, "", "schema", NULL);
    expect_refused(doc, "schema: missing");
    expect_refused(json_array(), "an array where an object is expected");
}

static void refuses_an_unknown_fund_kind(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/1", "kind", json_string("welfare"));
    expect_refused(doc, "funds[1].kind: unknown value \"welfare\"");
}

static void refuses_an_unknown_visit_type(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/2/rules/tekun", "emergency",
        json_deep_copy(at(doc, "funds/2/rules/tekun/chronic")));
    expect_refused(doc, "funds[2].rules.tekun: unknown key \"emergency\"");
}

static void refuses_an_unknown_level(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "deductible", parse("{\"hamlet\": 5}"));
    expect_refused(doc, "funds[0].rules.default.inpatient.deductible: unknown key \"hamlet\"");
}

static void refuses_unknown_keys(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "anual_cap", json_integer(1));
    expect_refused(doc, "funds[0].rules.default.inpatient: unknown key \"anual_cap\"");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient/bands/0", "ratio", json_integer(1));
    expect_refused(doc, "funds[0].rules.default.inpatient.bands[0]: unknown key \"ratio\"");
    doc = haiyan();
    set(doc, "funds/1", "note", json_string("x"));
    expect_refused(doc, "funds[1]: unknown key \"note\"");
    doc = haiyan();
    set(doc, "", "roundng", json_string("jiao"));
    expect_refused(doc, "unknown key \"roundng\"");
}

static void refuses_unknown_enum_values(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/chronic", "deductible_scope", json_string("yearly"));
    expect_refused(doc, "funds[0].rules.default.chronic.deductible_scope: unknown value");
    doc = haiyan();
    set(doc, "funds/0/rules/default/chronic", "band_mode", json_string("flat"));
    expect_refused(doc, "funds[0].rules.default.chronic.band_mode: unknown value");
    doc = haiyan();
    set(doc, "funds/0/rules/default/chronic", "band_scope", json_integer(1));
    expect_refused(doc, "funds[0].rules.default.chronic.band_scope: an integer where a string");
}

static void refuses_wrong_types(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "annual_cap", json_string("30000000"));
    expect_refused(doc, "funds[0].rules.default.inpatient.annual_cap: a string where an integer");
    doc = haiyan();
    set(doc, "funds/0/rules/default/outpatient/bands/0", "ratio_bp", json_real(6000.0));
    expect_refused(doc, "funds[0].rules.default.outpatient.bands[0].ratio_bp: a real number");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient/bands/0/ratio_bp", "county", json_real(7500.0));
    expect_refused(doc, "bands[0].ratio_bp.county: a real number where an integer");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient/bands/0", "upto", json_real(1e6));
    expect_refused(doc, "bands[0].upto: a real number");
    doc = haiyan();
    set(doc, "", "year", json_string("2026"));
    expect_refused(doc, "year: a string where an integer");
    doc = haiyan();
    set(doc, "funds/2/rules", "tekun", json_array());
    expect_refused(doc, "funds[2].rules.tekun: an array where an object");
    doc = haiyan();
    set(doc, "funds/2/rules/tekun", "chronic", json_true());
    expect_refused(doc, "funds[2].rules.tekun.chronic: a boolean where an object");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "bands", json_object());
    expect_refused(doc, "inpatient.bands: an object where an array");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "bands", NULL);
    expect_refused(doc, "funds[0].rules.default.inpatient.bands: missing");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient/bands/0", "upto", NULL);
    expect_refused(doc, "funds[0].rules.default.inpatient.bands[0].upto: missing");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "cap_group", json_null());
    expect_refused(doc, "inpatient.cap_group: null where a string");
    doc = haiyan(); /* beyond int32 before the validator sees it */
    set(doc, "funds/0/rules/default/inpatient/bands/0", "ratio_bp", json_integer(5000000000LL));
    expect_refused(doc, "bands[0].ratio_bp: 5000000000 out of range");
}

static void refuses_overlong_strings(void **state)
{
    (void)state;
    char longer[SH_NAME_MAX + 8];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    json_t *doc = haiyan();
    set(doc, "funds/1", "id", json_string("a_fund_id_of_thirty_two_bytes_xx"));
    expect_refused(doc, "funds[1].id: 32 bytes, longer than the limit of 31");
    doc = haiyan();
    set(doc, "", "name", json_string(longer));
    expect_refused(doc, "name: 199 bytes, longer than the limit of 191");
    doc = haiyan();
    set(doc, "", "region", json_string("a-region-code-longer-than-31-bytes"));
    expect_refused(doc, "region: 34 bytes");
    doc = haiyan();
    set(doc, "funds/0/rules/default/inpatient", "cap_group",
        json_string("a_cap_group_longer_than_31_bytes"));
    expect_refused(doc, "funds[0].rules.default.inpatient.cap_group: 32 bytes");
    doc = haiyan();
    set(doc, "funds/2/rules", "a_category_name_of_thirty_two_by",
        json_deep_copy(at(doc, "funds/2/rules/tekun")));
    expect_refused(doc,
                   "funds[2].rules.a_category_name_of_thirty_two_by: category name of 32 bytes");
    doc = haiyan(); /* 31 is fine */
    set(doc, "funds/1", "id", json_string("a_fund_id_of_thirty_one_bytes_x"));
    expect_loads(doc);
}

static void refuses_more_entries_than_the_limits(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    json_t *funds = at(doc, "funds");
    for (int i = 0; i < 6; i++) {
        json_t *copy = json_deep_copy(json_array_get(funds, 1));
        char id[16];
        snprintf(id, sizeof id, "extra%d", i);
        json_object_set_new(copy, "id", json_string(id));
        json_array_append_new(funds, copy);
    }
    expect_refused(doc, "funds: 9 entries, more than the limit of 8");

    doc = haiyan();
    json_t *bands = json_array();
    for (int i = 1; i <= SH_BANDS_MAX; i++)
        json_array_append_new(bands, parse("{\"upto\": 1, \"ratio_bp\": 1}"));
    for (int i = 1; i <= SH_BANDS_MAX; i++)
        json_object_set_new(json_array_get(bands, (size_t)i - 1), "upto", json_integer(i * 100));
    json_array_append_new(bands, parse("{\"upto\": null, \"ratio_bp\": 1}"));
    set(doc, "funds/0/rules/default", "inpatient", json_pack("{s:o}", "bands", bands));
    expect_refused(doc,
                   "funds[0].rules.default.inpatient.bands: 9 entries, more than the limit of 8");

    doc = haiyan();
    json_t *rules = at(doc, "funds/2/rules");
    for (int i = 0; json_object_size(rules) <= SH_FUND_RULESETS_MAX; i++) {
        char cat[16];
        snprintf(cat, sizeof cat, "cat%d", i);
        json_object_set_new(rules, cat, json_deep_copy(at(doc, "funds/2/rules/tekun")));
    }
    expect_refused(doc, "funds[2].rules: 17 categories, more than the limit of 16");
}

/* ---- Overlaps --------------------------------------------------------------------------- */

static void load_into(struct sh_policy *p, json_t *doc)
{
    struct sh_error err = {0};
    int rc = sh_policy_from_json(doc, p, &err);
    json_decref(doc);
    if (rc != 0)
        fail_msg("refused: %s", err.msg);
}

static void overlapping_policies_are_refused(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "", "effective_to", json_string("2026-06-30"));
    load_into(&g_policy, doc);
    doc = haiyan();
    set(doc, "", "effective_from", json_string("2026-06-30"));
    load_into(&g_policy2, doc);
    const struct sh_policy *set2[] = {&g_policy, &g_policy2};
    assert_true(sh_policy_overlaps(&g_policy, &g_policy2)); /* one shared day */
    assert_true(sh_policy_overlaps(&g_policy2, &g_policy));
    struct sh_error err = {0};
    assert_int_equal(sh_policy_set_validate(set2, 2, &err), SH_E_BAD_REFERENCE_DATA);
    assert_string_equal(err.msg,
                        "policies[0] (region 330424, year 2026, 2026-01-01..2026-06-30) and "
                        "policies[1] (region 330424, year 2026, 2026-06-30..2026-12-31) overlap: "
                        "one region, one day in force");
}

static void adjacent_or_foreign_policies_are_accepted(void **state)
{
    (void)state;
    json_t *doc = haiyan();
    set(doc, "", "effective_to", json_string("2026-06-30"));
    load_into(&g_policy, doc);
    doc = haiyan();
    set(doc, "", "effective_from", json_string("2026-07-01"));
    load_into(&g_policy2, doc);
    const struct sh_policy *pair[] = {&g_policy, &g_policy2};
    struct sh_error err = {0};
    assert_false(sh_policy_overlaps(&g_policy, &g_policy2));
    assert_int_equal(sh_policy_set_validate(pair, 2, &err), 0);
    assert_true(sh_policy_find(pair, 2, "330424", 20260630) == &g_policy);
    assert_true(sh_policy_find(pair, 2, "330424", 20260701) == &g_policy2);

    /* Another region over the same days. */
    load_into(&g_policy, haiyan());
    doc = haiyan();
    set(doc, "", "region", json_string("330481"));
    load_into(&g_policy2, doc);
    assert_false(sh_policy_overlaps(&g_policy, &g_policy2));
    assert_int_equal(sh_policy_set_validate(pair, 2, &err), 0);
    assert_int_equal(sh_policy_set_validate(pair, 0, &err), 0);
}

static void set_validate_checks_each_policy(void **state)
{
    (void)state;
    load_into(&g_policy, haiyan());
    load_into(&g_policy2, changshun());
    g_policy2.funds[1].rulesets[0].visit[SH_VISIT_INPATIENT].bands[0].ratio_bp[2] = 20000;
    const struct sh_policy *pair[] = {&g_policy, &g_policy2};
    struct sh_error err = {0};
    assert_int_equal(sh_policy_set_validate(pair, 2, &err), SH_E_BAD_REFERENCE_DATA);
    assert_string_equal(err.msg, "policies[1]: funds[1] (critical).rules.default.inpatient."
                                 "bands[0].ratio_bp.county: 20000 outside 0..10000 bp");
}

/* ---- Claims ------------------------------------------------------------------------------ */

static Sanhe__Claim *claim_of(const char *text)
{
    json_t *doc = parse(text);
    Sanhe__Claim *m = NULL;
    struct sh_error err = {0};
    int rc = sh_json_to_claim(doc, &m, &err);
    json_decref(doc);
    if (rc != 0)
        fail_msg("refused: %s", err.msg);
    return m;
}

/* One line {"code": "A1", "qty": <qty>, "amount": <amount>}: its qty_milli,
 * or -defect when the line carries one. */
static int64_t line_qty(const char *qty)
{
    char text[256];
    snprintf(text, sizeof text, "{\"lines\": [{\"code\": \"A1\", \"qty\": %s, \"amount\": 100}]}",
             qty);
    Sanhe__Claim *m = claim_of(text);
    assert_int_equal(m->n_lines, 1);
    const Sanhe__Line *l = m->lines[0];
    int64_t r = l->has_defect ? -(int64_t)l->defect : l->qty_milli;
    if (!l->has_defect)
        assert_true(l->has_qty_milli);
    sanhe__claim__free_unpacked(m, NULL);
    return r;
}

static int64_t line_amount(const char *amount)
{
    char text[256];
    snprintf(text, sizeof text, "{\"lines\": [{\"code\": \"A1\", \"qty\": 1, \"amount\": %s}]}",
             amount);
    Sanhe__Claim *m = claim_of(text);
    const Sanhe__Line *l = m->lines[0];
    int64_t r = l->has_defect ? -(int64_t)l->defect : l->amount;
    if (!l->has_defect)
        assert_true(l->has_amount);
    sanhe__claim__free_unpacked(m, NULL);
    return r;
}

#define TOO_PRECISE (-(int64_t)SANHE__LINE_DEFECT__QTY_TOO_PRECISE)
#define NOT_INTEGER (-(int64_t)SANHE__LINE_DEFECT__AMOUNT_NOT_INTEGER)
#define NOT_NUMBER (-(int64_t)SANHE__LINE_DEFECT__NOT_A_NUMBER)

static void claim_qty_in_thousandths(void **state)
{
    (void)state;
    assert_int_equal(line_qty("20.5"), 20500);
    assert_int_equal(line_qty("0.001"), 1);
    assert_int_equal(line_qty("1.0"), 1000);
    assert_int_equal(line_qty("3"), 3000);
    assert_int_equal(line_qty("1.25"), 1250);
    assert_int_equal(line_qty("0.1"), 100);
    assert_int_equal(line_qty("1.1"), 1100);
    assert_int_equal(line_qty("2.675"), 2675); /* 2.67499999... as a double */
    assert_int_equal(line_qty("123456.789"), 123456789);
    assert_int_equal(line_qty("1e3"), 1000000);
    assert_int_equal(line_qty("1.5e-2"), 15);
    assert_int_equal(line_qty("0"), 0); /* the engine refuses qty <= 0 */
    assert_int_equal(line_qty("-1.5"), -1500);
    assert_int_equal(line_qty("-0.0"), 0);
}

static void claim_qty_defects(void **state)
{
    (void)state;
    assert_int_equal(line_qty("1.0005"), TOO_PRECISE);
    assert_int_equal(line_qty("0.0005"), TOO_PRECISE);
    assert_int_equal(line_qty("1e-4"), TOO_PRECISE);
    assert_int_equal(line_qty("3.14159"), TOO_PRECISE);
    assert_int_equal(line_qty("1e20"), NOT_NUMBER);               /* beyond int64 thousandths */
    assert_int_equal(line_qty("100000000000000000"), NOT_NUMBER); /* 10^17 * 1000 overflows */
    assert_int_equal(line_qty("\"1\""), NOT_NUMBER);
    assert_int_equal(line_qty("null"), NOT_NUMBER);
    assert_int_equal(line_qty("true"), NOT_NUMBER);
}

static void claim_amount_is_integer_fen(void **state)
{
    (void)state;
    assert_int_equal(line_amount("10000"), 10000);
    assert_int_equal(line_amount("100.0"), 100); /* a real of integral value is that integer */
    assert_int_equal(line_amount("1e4"), 10000);
    assert_int_equal(line_amount("-5"), -5); /* the engine refuses amount <= 0 */
    assert_int_equal(line_amount("10000000001"), 10000000001LL); /* ... and > 10^10 */
    assert_int_equal(line_amount("100.5"), NOT_INTEGER);
    assert_int_equal(line_amount("0.01"), NOT_INTEGER);
    assert_int_equal(line_amount("1e19"), NOT_NUMBER);
    /* A real from 2^53 on may not be the number written: the first reads
     * as 9007199254740992, the second is past any exact integer double. */
    assert_int_equal(line_amount("9007199254740993.0"), NOT_NUMBER);
    assert_int_equal(line_amount("9007199254740992.0"), NOT_NUMBER);
    assert_int_equal(line_amount("-9007199254740992.0"), NOT_NUMBER);
    assert_int_equal(line_amount("1e18"), NOT_NUMBER);
    assert_int_equal(line_amount("9007199254740991.0"), 9007199254740991LL); /* 2^53 - 1 */
    assert_int_equal(line_amount("-9007199254740991.0"), -9007199254740991LL);
    /* Integer spellings are exact whatever their size. */
    assert_int_equal(line_amount("9007199254740993"), 9007199254740993LL);
    assert_int_equal(line_amount("-1e19"), NOT_NUMBER);
    assert_int_equal(line_amount("\"100\""), NOT_NUMBER);
    assert_int_equal(line_amount("null"), NOT_NUMBER);
    assert_int_equal(line_amount("[]"), NOT_NUMBER);
}

static void claim_fields_pass_through(void **state)
{
    (void)state;
    Sanhe__Claim *m = claim_of(
        "{\"hospital\": \"H330424001\", \"person\": \"330424196001010013\", \"visit\": "
        "\"emergency\","
        " \"date\": \"2026-02-30\", \"lines\": [{\"code\": \"A001\", \"qty\": 2, \"amount\": 3000},"
        " {\"code\": \"C001\", \"qty\": 1.5, \"amount\": 450}]}");
    assert_string_equal(m->hospital, "H330424001");
    assert_string_equal(m->person, "330424196001010013");
    assert_string_equal(m->visit, "emergency"); /* the engine refuses it */
    assert_string_equal(m->date, "2026-02-30");
    assert_int_equal(m->n_lines, 2);
    assert_string_equal(m->lines[1]->code, "C001");
    assert_int_equal(m->lines[1]->qty_milli, 1500);
    assert_int_equal(m->lines[1]->amount, 450);
    assert_false(m->lines[1]->has_defect);

    /* The defect survives the wire. */
    sanhe__claim__free_unpacked(m, NULL);
    m = claim_of("{\"lines\": [{\"code\": \"A1\", \"qty\": 1.0005, \"amount\": 100}]}");
    size_t len = sanhe__claim__get_packed_size(m);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    sanhe__claim__pack(m, buf);
    Sanhe__Claim *back = sanhe__claim__unpack(NULL, len, buf);
    assert_non_null(back);
    assert_true(back->lines[0]->has_defect);
    assert_int_equal(back->lines[0]->defect, SANHE__LINE_DEFECT__QTY_TOO_PRECISE);
    assert_int_equal(back->lines[0]->amount, 100);
    sanhe__claim__free_unpacked(back, NULL);
    sanhe__claim__free_unpacked(m, NULL);
    free(buf);
}

static void claim_missing_fields_stay_absent(void **state)
{
    (void)state;
    Sanhe__Claim *m = claim_of("{\"hospital\": 7, \"person\": \"330424196001010013\"}");
    assert_null(m->hospital); /* not a string: absent */
    assert_null(m->visit);
    assert_null(m->date);
    assert_int_equal(m->n_lines, 0);
    sanhe__claim__free_unpacked(m, NULL);

    m = claim_of("{\"lines\": [7, {\"qty\": 1}, {\"code\": 5, \"amount\": 1}]}");
    assert_int_equal(m->n_lines, 3);
    assert_null(m->lines[0]->code);
    assert_int_equal(m->lines[0]->defect, SANHE__LINE_DEFECT__NOT_A_NUMBER);
    assert_true(m->lines[1]->has_qty_milli);
    assert_false(m->lines[1]->has_amount);
    assert_int_equal(m->lines[1]->defect, SANHE__LINE_DEFECT__NOT_A_NUMBER);
    assert_null(m->lines[2]->code);
    assert_int_equal(m->lines[2]->defect, SANHE__LINE_DEFECT__NOT_A_NUMBER);
    sanhe__claim__free_unpacked(m, NULL);

    m = claim_of("{\"lines\": {\"code\": \"A1\"}}");
    assert_int_equal(m->n_lines, 0); /* not a list: no lines, the engine's BAD_CLAIM */
    sanhe__claim__free_unpacked(m, NULL);
}

static void claim_not_an_object_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"[]", "\"claim\"", "null", "42"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *doc = parse(bad[i]);
        Sanhe__Claim *m = (Sanhe__Claim *)1;
        struct sh_error err = {0};
        assert_int_equal(sh_json_to_claim(doc, &m, &err), SH_E_BAD_CLAIM);
        assert_null(m);
        assert_non_null(strstr(err.msg, "not an object"));
        json_decref(doc);
    }
}

/* ---- Persons, hospitals, items -------------------------------------------------------------- */

static const char *const valid_person =
    "{\"id\": \"330424196001010013\", \"name\": \"患者1\", \"region\": \"330424\","
    " \"enrolled\": [2025, 2026], \"categories\": [{\"fund\": \"assist\", \"category\": \"dibao\","
    " \"from\": \"2026-03-01\", \"to\": \"2026-06-30\"}, {\"fund\": \"youfu\", \"category\":"
    " \"veteran\", \"from\": \"2020-01-01\", \"to\": null}], \"died\": null}";

static void person_converts(void **state)
{
    (void)state;
    json_t *doc = parse(valid_person);
    Sanhe__Person *m = NULL;
    struct sh_error err = {0};
    assert_int_equal(sh_json_to_person(doc, &m, &err), 0);
    json_decref(doc);
    assert_string_equal(m->id, "330424196001010013");
    assert_string_equal(m->name, "患者1");
    assert_string_equal(m->region, "330424");
    assert_int_equal(m->n_enrolled, 2);
    assert_int_equal(m->enrolled[1], 2026);
    assert_int_equal(m->n_categories, 2);
    assert_string_equal(m->categories[0]->category, "dibao");
    assert_string_equal(m->categories[0]->from, "2026-03-01");
    assert_string_equal(m->categories[0]->to, "2026-06-30");
    assert_null(m->categories[1]->to);
    assert_null(m->died);
    sanhe__person__free_unpacked(m, NULL);

    doc = parse("{\"id\": \"33042419880114318X\", \"name\": \"\", \"region\": \"330424\","
                " \"died\": \"2026-04-30\"}");
    assert_int_equal(sh_json_to_person(doc, &m, &err), 0);
    json_decref(doc);
    assert_string_equal(m->died, "2026-04-30");
    assert_int_equal(m->n_enrolled, 0);
    assert_int_equal(m->n_categories, 0);
    sanhe__person__free_unpacked(m, NULL);
}

/* valid_person with key set to value (JSON text; NULL deletes the key). */
static void expect_person_refused(const char *key, const char *value, const char *needle)
{
    json_t *doc = parse(valid_person);
    if (value == NULL)
        json_object_del(doc, key);
    else
        json_object_set_new(doc, key, parse(value));
    Sanhe__Person *m = (Sanhe__Person *)1;
    struct sh_error err = {0};
    int rc = sh_json_to_person(doc, &m, &err);
    json_decref(doc);
    if (rc != SH_E_BAD_REFERENCE_DATA || strstr(err.msg, needle) == NULL)
        fail_msg("%s: rc %d, \"%s\"; wanted \"%s\"", key, rc, err.msg, needle);
    assert_null(m);
}

static void person_refusals(void **state)
{
    (void)state;
    expect_person_refused("id", "\"330424196001010012\"",
                          "id: \"330424196001010012\" is not a valid");
    expect_person_refused("id", "\"33042419600101001\"",
                          "id: \"33042419600101001\" is not a valid");
    expect_person_refused("id", "\"3304241960010100130\"", "id: 19 bytes");
    expect_person_refused("id", NULL, "id: missing");
    expect_person_refused("dide", "null", "unknown key \"dide\"");
    expect_person_refused("died", "\"2026-02-30\"", "died: \"2026-02-30\" is not a valid");
    expect_person_refused("enrolled", "[\"2026\"]", "enrolled[0]: a string where an integer");
    expect_person_refused("enrolled", "[2026, 20260]", "enrolled[1]: 20260 out of range");
    expect_person_refused("enrolled", "2026", "enrolled: an integer where an array");
    expect_person_refused("region", "\"\"", "region: empty");
    expect_person_refused("region", "330424", "region: an integer where a string");
    expect_person_refused(
        "categories", "[{\"fund\": \"assist\", \"category\": \"dibao\", \"from\": \"2026-13-01\"}]",
        "categories[0].from: \"2026-13-01\" is not a valid");
    expect_person_refused(
        "categories",
        "[{\"fund\": \"assist\", \"category\": \"dibao\", \"from\": \"2026-03-01\","
        " \"to\": \"2026-02-01\"}]",
        "categories[0]: to 2026-02-01 is before from 2026-03-01");
    expect_person_refused("categories", "[{\"fund\": \"assist\", \"from\": \"2026-03-01\"}]",
                          "categories[0].category: missing");
    expect_person_refused(
        "categories",
        "[{\"fund\": \"assist\", \"category\": \"dibao\", \"from\": \"2026-03-01\","
        " \"until\": null}]",
        "categories[0]: unknown key \"until\"");
    expect_person_refused("categories", "[7]", "categories[0]: an integer where an object");
    char name[SH_NAME_MAX + 16];
    snprintf(name, sizeof name, "\"%0*d\"", SH_NAME_MAX, 0);
    expect_person_refused("name", name, "name: 192 bytes, longer than the limit of 191");

    /* More categories than the limit. */
    json_t *cats = json_array();
    for (int i = 0; i <= SH_PERSON_CATS_MAX; i++)
        json_array_append_new(cats, parse("{\"fund\": \"f\", \"category\": \"c\", \"from\": "
                                          "\"2026-01-01\"}"));
    char *text = json_dumps(cats, 0);
    json_decref(cats);
    expect_person_refused("categories", text, "categories: 17 entries, more than the limit of 16");
    free(text);

    json_t *doc = parse("[]");
    Sanhe__Person *m = NULL;
    struct sh_error err = {0};
    assert_int_equal(sh_json_to_person(doc, &m, &err), SH_E_BAD_REFERENCE_DATA);
    assert_string_equal(err.msg, "an array where an object is expected");
    json_decref(doc);
}

static int hospital_of(const char *text, Sanhe__Hospital **m, struct sh_error *err)
{
    json_t *doc = parse(text);
    int rc = sh_json_to_hospital(doc, m, err);
    json_decref(doc);
    return rc;
}

static void hospital_converts_and_refuses(void **state)
{
    (void)state;
    Sanhe__Hospital *m = NULL;
    struct sh_error err = {0};
    assert_int_equal(hospital_of("{\"code\": \"H330424001\", \"name\": \"县人民医院\", \"region\":"
                                 " \"330424\", \"level\": \"county\", \"funds\": [\"coop\","
                                 " \"assist\"]}",
                                 &m, &err),
                     0);
    assert_string_equal(m->code, "H330424001");
    assert_string_equal(m->level, "county");
    assert_int_equal(m->n_funds, 2);
    assert_string_equal(m->funds[1], "assist");
    sanhe__hospital__free_unpacked(m, NULL);

    struct {
        const char *text, *needle;
    } bad[] = {
        {"{\"code\": \"H1\", \"name\": \"n\", \"region\": \"1\", \"level\": \"city\"}",
         "level: unknown value \"city\""},
        {"{\"code\": \"H1\", \"name\": \"n\", \"region\": \"1\"}", "level: missing"},
        {"{\"name\": \"n\", \"region\": \"1\", \"level\": \"county\"}", "code: missing"},
        {"{\"code\": \"H1\", \"name\": \"n\", \"region\": \"1\", \"level\": \"county\","
         " \"funds\": \"coop\"}",
         "funds: a string where an array"},
        {"{\"code\": \"H1\", \"name\": \"n\", \"region\": \"1\", \"level\": \"county\","
         " \"funds\": [\"coop\", 3]}",
         "funds[1]: an integer where a string"},
        {"{\"code\": \"H1\", \"name\": \"n\", \"region\": \"1\", \"level\": \"county\","
         " \"funds\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\"]}",
         "funds: 9 entries, more than the limit of 8"},
        {"{\"code\": \"H1\", \"name\": \"n\", \"region\": \"1\", \"level\": \"county\","
         " \"funds\": [\"\"]}",
         "funds[0]: empty fund id"},
        {"{\"code\": \"H1\", \"name\": \"n\", \"region\": \"1\", \"level\": \"county\","
         " \"designated\": []}",
         "unknown key \"designated\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = (Sanhe__Hospital *)1;
        int rc = hospital_of(bad[i].text, &m, &err);
        if (rc != SH_E_BAD_REFERENCE_DATA || strstr(err.msg, bad[i].needle) == NULL)
            fail_msg("case %zu: rc %d, \"%s\"; wanted \"%s\"", i, rc, err.msg, bad[i].needle);
        assert_null(m);
    }
}

static int item_of(const char *text, Sanhe__CatalogItem **m, struct sh_error *err)
{
    json_t *doc = parse(text);
    int rc = sh_json_to_item(doc, m, err);
    json_decref(doc);
    return rc;
}

static void item_converts_and_refuses(void **state)
{
    (void)state;
    Sanhe__CatalogItem *m = NULL;
    struct sh_error err = {0};
    assert_int_equal(item_of("{\"code\": \"B001\", \"name\": \"药\", \"class\": \"B\","
                             " \"selfpay_bp\": 2000, \"price_cap\": 1500}",
                             &m, &err),
                     0);
    assert_string_equal(m->class_, "B");
    assert_true(m->has_selfpay_bp);
    assert_int_equal(m->selfpay_bp, 2000);
    assert_true(m->has_price_cap);
    assert_int_equal(m->price_cap, 1500);
    sanhe__catalog_item__free_unpacked(m, NULL);
    assert_int_equal(item_of("{\"code\": \"A001\", \"name\": \"n\", \"class\": \"A\","
                             " \"selfpay_bp\": null}",
                             &m, &err),
                     0);
    assert_false(m->has_selfpay_bp);
    assert_false(m->has_price_cap);
    sanhe__catalog_item__free_unpacked(m, NULL);

    struct {
        const char *text, *needle;
    } bad[] = {
        {"{\"code\": \"X\", \"name\": \"n\", \"class\": \"D\"}", "class: unknown value \"D\""},
        {"{\"code\": \"X\", \"name\": \"n\", \"class\": \"a\"}", "class: unknown value \"a\""},
        {"{\"code\": \"X\", \"name\": \"n\", \"class\": \"B\", \"selfpay_bp\": 10001}",
         "selfpay_bp: 10001 out of range 0..10000"},
        {"{\"code\": \"X\", \"name\": \"n\", \"class\": \"B\", \"selfpay_bp\": 10.5}",
         "selfpay_bp: a real number where an integer"},
        {"{\"code\": \"X\", \"name\": \"n\", \"class\": \"A\", \"price_cap\": -1}",
         "price_cap: -1 out of range"},
        {"{\"code\": \"\", \"name\": \"n\", \"class\": \"A\"}", "code: empty"},
        {"{\"code\": \"an_item_code_of_thirty_two_bytes\", \"name\": \"n\", \"class\": \"A\"}",
         "code: 32 bytes"},
        {"{\"code\": \"X\", \"class\": \"A\"}", "name: missing"},
        {"{\"code\": \"X\", \"name\": \"n\", \"class\": \"A\", \"pricecap\": 1}",
         "unknown key \"pricecap\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = (Sanhe__CatalogItem *)1;
        int rc = item_of(bad[i].text, &m, &err);
        if (rc != SH_E_BAD_REFERENCE_DATA || strstr(err.msg, bad[i].needle) == NULL)
            fail_msg("case %zu: rc %d, \"%s\"; wanted \"%s\"", i, rc, err.msg, bad[i].needle);
        assert_null(m);
    }
}

/* ---- Every case file converts ------------------------------------------------------------------
 */

/* Converters with one signature, each freeing what it made. */
static int try_hospital(const json_t *in, struct sh_error *err)
{
    Sanhe__Hospital *m = NULL;
    int rc = sh_json_to_hospital(in, &m, err);
    sanhe__hospital__free_unpacked(m, NULL);
    return rc;
}

static int try_item(const json_t *in, struct sh_error *err)
{
    Sanhe__CatalogItem *m = NULL;
    int rc = sh_json_to_item(in, &m, err);
    sanhe__catalog_item__free_unpacked(m, NULL);
    return rc;
}

static int try_person(const json_t *in, struct sh_error *err)
{
    Sanhe__Person *m = NULL;
    int rc = sh_json_to_person(in, &m, err);
    sanhe__person__free_unpacked(m, NULL);
    return rc;
}

static void convert_all(const json_t *arr, const char *what,
                        int (*fn)(const json_t *, struct sh_error *))
{
    assert_true(json_array_size(arr) > 0);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        struct sh_error err = {0};
        if (fn(json_array_get(arr, i), &err) != 0)
            fail_msg("%s[%zu]: %s", what, i, err.msg);
    }
}

static void check_case_file(const char *relative)
{
    json_t *doc = load_json(relative);
    const json_t *policies = json_object_get(doc, "policies");
    static struct sh_policy parsed[4];
    const struct sh_policy *ptrs[4];
    assert_true(json_array_size(policies) <= 4);
    for (size_t i = 0; i < json_array_size(policies); i++) {
        struct sh_error err = {0};
        if (sh_policy_from_json(json_array_get(policies, i), &parsed[i], &err) != 0)
            fail_msg("%s: policies[%zu]: %s", relative, i, err.msg);
        ptrs[i] = &parsed[i];
    }
    struct sh_error err = {0};
    assert_int_equal(sh_policy_set_validate(ptrs, json_array_size(policies), &err), 0);
    convert_all(json_object_get(doc, "hospitals"), "hospitals", try_hospital);
    convert_all(json_object_get(doc, "catalog"), "catalog", try_item);
    convert_all(json_object_get(doc, "persons"), "persons", try_person);
    const json_t *steps = json_object_get(doc, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const json_t *claim = json_object_get(json_array_get(steps, i), "claim");
        if (claim == NULL)
            continue;
        Sanhe__Claim *m = NULL;
        if (sh_json_to_claim(claim, &m, &err) != 0)
            fail_msg("%s: steps[%zu]: %s", relative, i, err.msg);
        sanhe__claim__free_unpacked(m, NULL);
    }
    json_decref(doc);
}

static void every_case_file_converts(void **state)
{
    (void)state;
    char dir[512];
    const char *subdirs[] = {"cases", "cases/random"};
    int files = 0;
    for (size_t s = 0; s < 2; s++) {
        char path[600];
        data_dir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/%s", dir, subdirs[s]);
        DIR *d = opendir(path);
        assert_non_null(d);
        for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
            size_t n = strlen(e->d_name);
            if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0)
                continue;
            char rel[400];
            snprintf(rel, sizeof rel, "%s/%s", subdirs[s], e->d_name);
            check_case_file(rel);
            files++;
        }
        closedir(d);
    }
    assert_true(files >= 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(haiyan_loads),
        cmocka_unit_test(changshun_loads),
        cmocka_unit_test(by_level_star_fills_the_rest),
        cmocka_unit_test(rounding_defaults_to_fen),
        cmocka_unit_test(from_text_loads_and_refuses_duplicate_keys),
        cmocka_unit_test(refuses_bands_not_ascending),
        cmocka_unit_test(refuses_a_bounded_last_band),
        cmocka_unit_test(refuses_an_unbounded_band_not_last),
        cmocka_unit_test(refuses_zero_bands),
        cmocka_unit_test(refuses_ratio_out_of_range),
        cmocka_unit_test(refuses_negative_money),
        cmocka_unit_test(null_caps_mean_none),
        cmocka_unit_test(refuses_bad_dates),
        cmocka_unit_test(refuses_a_year_not_the_periods),
        cmocka_unit_test(refuses_duplicate_fund_ids),
        cmocka_unit_test(refuses_empty_ids),
        cmocka_unit_test(refuses_class_b_selfpay_out_of_range),
        cmocka_unit_test(refuses_an_unknown_rounding),
        cmocka_unit_test(refuses_insurance_without_exactly_default),
        cmocka_unit_test(refuses_duplicate_categories),
        cmocka_unit_test(refuses_zero_funds),
        cmocka_unit_test(refuses_a_wrong_schema),
        cmocka_unit_test(refuses_an_unknown_fund_kind),
        cmocka_unit_test(refuses_an_unknown_visit_type),
        cmocka_unit_test(refuses_an_unknown_level),
        cmocka_unit_test(refuses_unknown_keys),
        cmocka_unit_test(refuses_unknown_enum_values),
        cmocka_unit_test(refuses_wrong_types),
        cmocka_unit_test(refuses_overlong_strings),
        cmocka_unit_test(refuses_more_entries_than_the_limits),
        cmocka_unit_test(overlapping_policies_are_refused),
        cmocka_unit_test(adjacent_or_foreign_policies_are_accepted),
        cmocka_unit_test(set_validate_checks_each_policy),
        cmocka_unit_test(claim_qty_in_thousandths),
        cmocka_unit_test(claim_qty_defects),
        cmocka_unit_test(claim_amount_is_integer_fen),
        cmocka_unit_test(claim_fields_pass_through),
        cmocka_unit_test(claim_missing_fields_stay_absent),
        cmocka_unit_test(claim_not_an_object_is_refused),
        cmocka_unit_test(person_converts),
        cmocka_unit_test(person_refusals),
        cmocka_unit_test(hospital_converts_and_refuses),
        cmocka_unit_test(item_converts_and_refuses),
        cmocka_unit_test(every_case_file_converts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
