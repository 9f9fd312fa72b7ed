/*
 * sanhe.policy/1 documents into struct sh_policy, exactly as docs/rules.md
 * describes them. This file checks the shape (types, known keys, lengths,
 * limits) and names the JSON path of a fault; sh_policy_validate then checks
 * the meaning (bands ascending, ratios in range, ...).
 *
 * Category priority is the order of the keys of a fund's "rules" object.
 * jansson (2.14, and since 2.8) keeps object keys in insertion order, which
 * for a parsed document is document order, and json_object_iter walks them in
 * that order; tests/unit/test_policy_json.c checks it on the assist fund.
 */
#include <stdint.h>
#include <string.h>

#include "sh_json.h"
#include "sh_json_internal.h"
#include "sh_policy.h"

#define SH_POLICY_SCHEMA "sanhe.policy/1"

static const char *const policy_keys[] = {"schema",
                                          "region",
                                          "name",
                                          "year",
                                          "effective_from",
                                          "effective_to",
                                          "class_b_selfpay_bp",
                                          "rounding",
                                          "funds",
                                          "oop_warning",
                                          NULL};
static const char *const fund_keys[] = {"id", "name", "kind", "rules", NULL};
static const char *const rule_keys[] = {"deductible", "deductible_scope", "bands",
                                        "band_mode",  "band_scope",       "claim_cap",
                                        "annual_cap", "cap_group",        NULL};
static const char *const band_keys[] = {"upto", "ratio_bp", NULL};

/* In the order of the enums of sh_types.h. */
static const char *const visit_names[] = {"outpatient", "chronic", "inpatient", NULL};
static const char *const level_names[] = {"village",   "township",   "county",
                                          "municipal", "provincial", NULL};
static const char *const kind_names[] = {"insurance", "category", NULL};
static const char *const rounding_names[] = {"fen", "jiao", "yuan", NULL};
static const sh_fen rounding_units[] = {1, 10, 100};
static const char *const scope_names[] = {"claim", "annual", NULL};
static const char *const mode_names[] = {"tiered", "whole", NULL};

/* Money is range-checked here only so that it fits and cannot be mistaken
 * for a sentinel (SH_UNBOUNDED, SH_NO_CAP); its sign is the validator's. */
#define MONEY_MIN (-SH_MONEY_MAX)
#define MONEY_MAX SH_MONEY_MAX

/* "By level": one integer for every level, or {level: integer, "*": rest};
 * a level neither named nor covered by "*" gets 0. */
static int parse_by_level(struct sh_jctx *c, const json_t *v, int64_t min, int64_t max,
                          int64_t out[SH_LEVEL_COUNT])
{
    int64_t x = 0;
    int rc;
    if (json_is_integer(v)) {
        rc = sh_jx_int(c, v, min, max, &x);
        for (int l = 0; rc > 0 && l < SH_LEVEL_COUNT; l++)
            out[l] = x;
        return rc < 0 ? rc : 0;
    }
    if (!json_is_object(v)) {
        rc = sh_jx_int(c, v, min, max, &x); /* says what v is instead */
        return rc < 0 ? rc : sh_jx_fail(c, "neither an integer nor an object keyed by level");
    }
    static const char *const keys[] = {"village",    "township", "county", "municipal",
                                       "provincial", "*",        NULL};
    rc = sh_jx_check_keys(c, v, keys);
    if (rc < 0)
        return rc;
    int64_t rest = 0;
    if ((rc = sh_jx_get_int(c, v, "*", 0, min, max, &rest)) < 0)
        return rc;
    for (int l = 0; l < SH_LEVEL_COUNT; l++) {
        out[l] = rest;
        if ((rc = sh_jx_get_int(c, v, level_names[l], 0, min, max, &out[l])) < 0)
            return rc;
    }
    return 0;
}

static int get_by_level(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                        int64_t min, int64_t max, int64_t out[SH_LEVEL_COUNT])
{
    const json_t *v = NULL;
    int rc = sh_jx_get(c, obj, key, flags, &v);
    if (rc <= 0)
        return rc;
    size_t mark = sh_jctx_key(c, key);
    if ((rc = parse_by_level(c, v, min, max, out)) < 0)
        return rc;
    sh_jctx_pop(c, mark);
    return 0;
}

static int parse_band(struct sh_jctx *c, const json_t *v, struct sh_band *band)
{
    int64_t upto = 0, ratio[SH_LEVEL_COUNT] = {0};
    int rc = sh_jx_object(c, v);
    if (rc == 0)
        rc = sh_jx_check_keys(c, v, band_keys);
    if (rc < 0)
        return rc;
    /* upto is required but may be null: the unbounded (last) band. */
    const json_t *upto_v = NULL;
    if ((rc = sh_jx_get(c, v, "upto", SH_JX_REQUIRED, &upto_v)) < 0)
        return rc;
    if ((rc = sh_jx_get_int(c, v, "upto", SH_JX_NULLABLE, MONEY_MIN, MONEY_MAX, &upto)) < 0)
        return rc;
    band->upto = json_is_null(upto_v) ? SH_UNBOUNDED : upto;
    if ((rc = get_by_level(c, v, "ratio_bp", SH_JX_REQUIRED, INT32_MIN, INT32_MAX, ratio)) < 0)
        return rc;
    for (int l = 0; l < SH_LEVEL_COUNT; l++)
        band->ratio_bp[l] = (int32_t)ratio[l];
    return 0;
}

static int parse_bands(struct sh_jctx *c, const json_t *rule, struct sh_rule *out)
{
    const json_t *bands = NULL;
    int rc = sh_jx_get(c, rule, "bands", SH_JX_REQUIRED, &bands);
    if (rc < 0)
        return rc;
    size_t mark = sh_jctx_key(c, "bands");
    if ((rc = sh_jx_array(c, bands, SH_BANDS_MAX)) < 0)
        return rc;
    /* Zero bands parse; the validator refuses them with the rule's place. */
    for (size_t i = 0; i < json_array_size(bands); i++) {
        size_t m = sh_jctx_index(c, i);
        if ((rc = parse_band(c, json_array_get(bands, i), &out->bands[i])) < 0)
            return rc;
        sh_jctx_pop(c, m);
        out->band_count = (uint32_t)(i + 1);
    }
    sh_jctx_pop(c, mark);
    return 0;
}

/* A cap: absent or null is "none". Its sign is checked here, not left to
 * the validator, because -1 would read as SH_NO_CAP there. */
static int get_cap(struct sh_jctx *c, const json_t *rule, const char *key, sh_fen *out)
{
    int64_t x = 0;
    int rc = sh_jx_get_int(c, rule, key, SH_JX_NULLABLE, 0, MONEY_MAX, &x);
    if (rc >= 0)
        *out = rc == 1 ? x : SH_NO_CAP;
    return rc < 0 ? rc : 0;
}

static int parse_rule_scopes(struct sh_jctx *c, const json_t *v, struct sh_rule *rule)
{
    int ded = 0, mode = 0, scope = 0, rc;
    if ((rc = sh_jx_get_enum(c, v, "deductible_scope", 0, scope_names, &ded)) < 0 ||
        (rc = sh_jx_get_enum(c, v, "band_mode", 0, mode_names, &mode)) < 0 ||
        (rc = sh_jx_get_enum(c, v, "band_scope", 0, scope_names, &scope)) < 0)
        return rc;
    rule->deductible_annual = ded == 1;
    rule->band_whole = mode == 1;
    rule->band_annual = scope == 1;
    return 0;
}

static int parse_rule(struct sh_jctx *c, const json_t *v, const char *fund_id, struct sh_rule *rule)
{
    int64_t ded[SH_LEVEL_COUNT] = {0};
    int rc = sh_jx_object(c, v);
    if (rc == 0)
        rc = sh_jx_check_keys(c, v, rule_keys);
    if (rc == 0)
        rc = get_by_level(c, v, "deductible", 0, MONEY_MIN, MONEY_MAX, ded);
    if (rc == 0)
        rc = parse_rule_scopes(c, v, rule);
    if (rc == 0)
        rc = parse_bands(c, v, rule);
    if (rc == 0)
        rc = get_cap(c, v, "claim_cap", &rule->claim_cap);
    if (rc == 0)
        rc = get_cap(c, v, "annual_cap", &rule->annual_cap);
    if (rc < 0)
        return rc;
    for (int l = 0; l < SH_LEVEL_COUNT; l++)
        rule->deductible[l] = ded[l];
    /* Without a cap_group a rule accumulates under its fund's id. */
    memcpy(rule->cap_group, fund_id, strlen(fund_id) + 1);
    rc = sh_jx_get_string(c, v, "cap_group", 0, rule->cap_group, sizeof rule->cap_group);
    if (rc < 0)
        return rc;
    rule->present = true;
    return 0;
}

/* One category's (or "default"'s) rules: visit type -> rule. */
static int parse_ruleset(struct sh_jctx *c, const json_t *v, const char *fund_id,
                         struct sh_ruleset *rs)
{
    int rc = sh_jx_object(c, v);
    if (rc == 0)
        rc = sh_jx_check_keys(c, v, visit_names);
    if (rc < 0)
        return rc;
    for (int visit = 0; visit < SH_VISIT_COUNT; visit++) {
        const json_t *rule = json_object_get(v, visit_names[visit]);
        if (rule == NULL)
            continue;
        size_t mark = sh_jctx_key(c, visit_names[visit]);
        if ((rc = parse_rule(c, rule, fund_id, &rs->visit[visit])) < 0)
            return rc;
        sh_jctx_pop(c, mark);
    }
    return 0;
}

static int parse_category_name(struct sh_jctx *c, void *it, struct sh_ruleset *rs)
{
    const char *key = json_object_iter_key(it);
    size_t len = json_object_iter_key_len(it);
    if (strlen(key) != len)
        return sh_jx_fail(c, "the category name holds a NUL character");
    if (len >= sizeof rs->category)
        return sh_jx_fail(c, "category name of %zu bytes, longer than the limit of %zu", len,
                          sizeof rs->category - 1);
    memcpy(rs->category, key, len + 1);
    return 0;
}

/* Rulesets in document order: that order is the category priority. */
static int parse_rules(struct sh_jctx *c, const json_t *fund, struct sh_fund *out)
{
    const json_t *rules = NULL;
    int rc = sh_jx_get(c, fund, "rules", SH_JX_REQUIRED, &rules);
    if (rc < 0)
        return rc;
    size_t mark = sh_jctx_key(c, "rules");
    if ((rc = sh_jx_object(c, rules)) < 0)
        return rc;
    if (json_object_size(rules) > SH_FUND_RULESETS_MAX)
        return sh_jx_fail(c, "%zu categories, more than the limit of %d", json_object_size(rules),
                          SH_FUND_RULESETS_MAX);
    uint32_t n = 0;
    for (void *it = json_object_iter((json_t *)rules); it != NULL;
         it = json_object_iter_next((json_t *)rules, it)) {
        struct sh_ruleset *rs = &out->rulesets[n];
        size_t m = sh_jctx_key(c, json_object_iter_key(it));
        if ((rc = parse_category_name(c, it, rs)) < 0 ||
            (rc = parse_ruleset(c, json_object_iter_value(it), out->id, rs)) < 0)
            return rc;
        sh_jctx_pop(c, m);
        out->ruleset_count = ++n;
    }
    sh_jctx_pop(c, mark);
    return 0;
}

static int parse_fund(struct sh_jctx *c, const json_t *v, struct sh_fund *fund)
{
    int kind = 0;
    int rc = sh_jx_object(c, v);
    if (rc == 0)
        rc = sh_jx_check_keys(c, v, fund_keys);
    if (rc < 0 ||
        (rc = sh_jx_get_string(c, v, "id", SH_JX_REQUIRED, fund->id, sizeof fund->id)) < 0 ||
        (rc = sh_jx_get_string(c, v, "name", SH_JX_REQUIRED, fund->name, sizeof fund->name)) < 0 ||
        (rc = sh_jx_get_enum(c, v, "kind", SH_JX_REQUIRED, kind_names, &kind)) < 0)
        return rc;
    fund->kind = kind == 0 ? SH_FUND_INSURANCE : SH_FUND_CATEGORY;
    return parse_rules(c, v, fund);
}

static int parse_funds(struct sh_jctx *c, const json_t *doc, struct sh_policy *out)
{
    const json_t *funds = NULL;
    int rc = sh_jx_get(c, doc, "funds", SH_JX_REQUIRED, &funds);
    if (rc < 0)
        return rc;
    size_t mark = sh_jctx_key(c, "funds");
    if ((rc = sh_jx_array(c, funds, SH_FUNDS_MAX)) < 0)
        return rc;
    for (size_t i = 0; i < json_array_size(funds); i++) {
        size_t m = sh_jctx_index(c, i);
        if ((rc = parse_fund(c, json_array_get(funds, i), &out->funds[i])) < 0)
            return rc;
        sh_jctx_pop(c, m);
        out->fund_count = (uint32_t)(i + 1);
    }
    sh_jctx_pop(c, mark);
    return 0;
}

static int parse_schema(struct sh_jctx *c, const json_t *doc)
{
    char schema[32];
    int rc = sh_jx_get_string(c, doc, "schema", SH_JX_REQUIRED, schema, sizeof schema);
    if (rc < 0)
        return rc;
    if (strcmp(schema, SH_POLICY_SCHEMA) != 0) {
        size_t mark = sh_jctx_key(c, "schema");
        rc = sh_jx_fail(c, "\"%s\" is not " SH_POLICY_SCHEMA, schema);
        sh_jctx_pop(c, mark);
    }
    return rc < 0 ? rc : 0;
}

static int parse_header(struct sh_jctx *c, const json_t *doc, struct sh_policy *out)
{
    int64_t year = 0, class_b = 0, oop_warning = SH_NO_CAP;
    int rounding = 0, rc;
    if ((rc = parse_schema(c, doc)) < 0 ||
        (rc = sh_jx_get_string(c, doc, "region", SH_JX_REQUIRED, out->region, sizeof out->region)) <
            0 ||
        (rc = sh_jx_get_string(c, doc, "name", SH_JX_REQUIRED, out->name, sizeof out->name)) < 0 ||
        (rc = sh_jx_get_int(c, doc, "year", SH_JX_REQUIRED, INT32_MIN, INT32_MAX, &year)) < 0 ||
        (rc = sh_jx_get_date(c, doc, "effective_from", SH_JX_REQUIRED, &out->effective_from)) < 0 ||
        (rc = sh_jx_get_date(c, doc, "effective_to", SH_JX_REQUIRED, &out->effective_to)) < 0 ||
        (rc = sh_jx_get_int(c, doc, "class_b_selfpay_bp", SH_JX_REQUIRED, INT32_MIN, INT32_MAX,
                            &class_b)) < 0 ||
        (rc = sh_jx_get_enum(c, doc, "rounding", 0, rounding_names, &rounding)) < 0 ||
        (rc = sh_jx_get_int(c, doc, "oop_warning", SH_JX_NULLABLE, 1, MONEY_MAX, &oop_warning)) < 0)
        return rc;
    out->oop_warning = oop_warning;
    out->year = (int32_t)year;
    out->class_b_selfpay_bp = (int32_t)class_b;
    out->rounding_unit = rounding_units[rounding];
    return 0;
}

int sh_policy_from_json(const json_t *doc, struct sh_policy *out, struct sh_error *err)
{
    struct sh_jctx c;
    sh_jctx_init(&c, err, SH_E_BAD_REFERENCE_DATA);
    memset(out, 0, sizeof *out);
    int rc = sh_jx_object(&c, doc);
    if (rc == 0)
        rc = sh_jx_check_keys(&c, doc, policy_keys);
    if (rc == 0)
        rc = parse_header(&c, doc, out);
    if (rc == 0)
        rc = parse_funds(&c, doc, out);
    if (rc < 0)
        return rc;
    return sh_policy_validate(out, err);
}

int sh_policy_from_text(const char *text, size_t len, struct sh_policy *out, struct sh_error *err)
{
    json_error_t jerr;
    /* A key given twice would silently lose one of its values. */
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        /* jansson may quote the offending bytes: keep the message ASCII. */
        for (char *p = jerr.text; *p != '\0'; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        struct sh_jctx c;
        sh_jctx_init(&c, err, SH_E_BAD_REFERENCE_DATA);
        return sh_jx_fail(&c, "policy: not JSON: line %d column %d: %s", jerr.line, jerr.column,
                          jerr.text);
    }
    int rc = sh_policy_from_json(doc, out, err);
    json_decref(doc);
    return rc;
}
