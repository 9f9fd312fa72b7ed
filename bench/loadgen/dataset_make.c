/*
 * --make-dataset N FILE: reference data for `sanhe-engine load`, in the
 * case-file shape (policies, hospitals, catalog, persons, terminals).
 *
 * Everything is a function of the index, so the same N gives the same file
 * and a run can regenerate the ids and codes without reading it.
 *
 * Persons (region 330424, the Haiyan policy's): 96 % enrolled in 2026; by a
 * hash of the index, 20 % hold an assistance category (6 % dibao, 3 % tekun,
 * 4 % dibao_edge, 5 % low_income, 2 % illness_expense) and 4 % an entitled-
 * person category (1.5 % veteran, 1 % martyr_family, 0.7 % disabled_1_6,
 * 0.8 % demobilized_ill), independently, so some hold both. Nobody is dead.
 */
#include <jansson.h>
#include <stdio.h>

#include "dataset.h"
#include "lg_util.h"

static json_t *make_hospitals(void)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < LG_BENCH_HOSPITALS; i++) {
        const struct lg_bench_hospital *h = &lg_bench_hospitals[i];
        json_t *funds = h->assist ? json_pack("[sss]", "coop", "youfu", "assist")
                                  : json_pack("[ss]", "coop", "youfu");
        char region[8];
        snprintf(region, sizeof region, "%.6s", h->code + 1);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:o}", "code", h->code, "name",
                                             h->name, "region", region, "level", h->level, "funds",
                                             funds));
    }
    return arr;
}

/* counter-h330424001 -> H330424001, and so on: certs.sh makes the
 * certificates by these names. */
static json_t *make_terminals(void)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < LG_BENCH_HOSPITALS; i++) {
        char name[SH_CODE_MAX];
        lg_terminal_name(lg_bench_hospitals[i].code, name);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "name", name, "hospital",
                                             lg_bench_hospitals[i].code, "role", "counter"));
    }
    return arr;
}

/* A: every fifth item has a price cap below the generator's unit price (so
 * over_limit happens); B: some with their own self-pay share; C: out of scope. */
static json_t *make_item(const struct lg_item *it, unsigned i)
{
    char cls[2] = {it->code[0], '\0'}; /* the code's first letter is its class */
    json_t *item = json_pack("{s:s, s:s, s:s}", "code", it->code, "name", it->code, "class", cls);
    if (it->code[0] == 'A' && i % 5 == 0)
        json_object_set_new(item, "price_cap", json_integer(it->unit_price * 9 / 10));
    if (it->code[0] == 'B' && i % 4 == 0)
        json_object_set_new(item, "selfpay_bp", json_integer(3000));
    if (it->code[0] == 'B' && i % 7 == 0)
        json_object_set_new(item, "selfpay_bp", json_integer(0));
    return item;
}

static json_t *make_catalog(void)
{
    struct lg_catalog c;
    if (lg_catalog_builtin(&c) != 0)
        return NULL;
    json_t *arr = json_array();
    for (unsigned i = 0; i < c.n; i++)
        json_array_append_new(arr, make_item(&c.items[i], i));
    lg_catalog_free(&c);
    return arr;
}

static const char *assist_category(unsigned r)
{
    return r < 60    ? "dibao"
           : r < 90  ? "tekun"
           : r < 130 ? "dibao_edge"
           : r < 180 ? "low_income"
           : r < 200 ? "illness_expense"
                     : NULL;
}

static const char *youfu_category(unsigned r)
{
    return r < 15   ? "veteran"
           : r < 25 ? "martyr_family"
           : r < 32 ? "disabled_1_6"
           : r < 40 ? "demobilized_ill"
                    : NULL;
}

static json_t *make_person(uint64_t i)
{
    char id[SH_PERSON_ID_LEN + 1], name[40];
    lg_person_id(i, id);
    snprintf(name, sizeof name, "bench person %llu", (unsigned long long)i);
    uint64_t h = lg_hash64(i ^ 0x5A17E5ull);
    json_t *cats = json_array();
    const char *a = assist_category((unsigned)(h % 1000));
    const char *y = youfu_category((unsigned)((h >> 20) % 1000));
    if (a != NULL)
        json_array_append_new(cats, json_pack("{s:s, s:s, s:s, s:n}", "fund", "assist", "category",
                                              a, "from", "2020-01-01", "to"));
    if (y != NULL)
        json_array_append_new(cats, json_pack("{s:s, s:s, s:s, s:n}", "fund", "youfu", "category",
                                              y, "from", "2015-01-01", "to"));
    json_t *enrolled =
        (h >> 40) % 100 < 96 ? json_pack("[ii]", 2025, 2026) : json_pack("[i]", 2025);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:n}", "id", id, "name", name, "region", "330424",
                     "enrolled", enrolled, "categories", cats, "died");
}

int lg_dataset_make(size_t n, const char *policy_path, const char *out_path, char *err, size_t cap)
{
    json_error_t jerr;
    json_t *policy = json_load_file(policy_path, JSON_PRESERVE_ORDER, &jerr);
    if (policy == NULL) {
        snprintf(err, cap, "--policy %s:%d: %s", policy_path, jerr.line, jerr.text);
        return -1;
    }
    json_t *persons = json_array();
    for (uint64_t i = 0; i < n; i++)
        json_array_append_new(persons, make_person(i));
    json_t *doc =
        json_pack("{s:s, s:s, s:[o], s:o, s:o, s:o, s:o}", "name", "sanhe-loadgen dataset", "about",
                  "generated by sanhe-loadgen --make-dataset; see bench/loadgen", "policies",
                  policy, "hospitals", make_hospitals(), "catalog", make_catalog(), "persons",
                  persons, "terminals", make_terminals());
    int rc = doc != NULL ? json_dump_file(doc, out_path, JSON_COMPACT | JSON_PRESERVE_ORDER) : -1;
    json_decref(doc);
    if (rc != 0)
        snprintf(err, cap, "cannot write %s", out_path);
    return rc;
}
