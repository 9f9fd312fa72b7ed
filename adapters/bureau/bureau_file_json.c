/*
 * The exported day as JSON (schema "sanhe.reconcile/1"): a ReconcileReply
 * as data. Amounts are integer fen, as on the wire, so that the file says
 * exactly what the journal says:
 *
 *   {"schema": "sanhe.reconcile/1", "day": "2026-03-02",
 *    "hospital": "H330424001", "hospital_name": "...",      (a hospital's file)
 *    "settlements": T, "reversals": T, "net": T,
 *    "items": [{"settlement_id": 1, "total": 2500000, "fund_total": 2043000}],
 *    "hospitals": [{...one hospital, no items...}]}         (the summary)
 *   T = {"count": 2, "total": ..., "fund_total": ..., "patient_pays": ...,
 *        "funds": {"assist": ..., "coop": ..., "youfu": ...}}
 */
#include <stdlib.h>
#include <string.h>

#include "bureau.h"

#define SCHEMA "sanhe.reconcile/1"

static json_t *totals_json(const Sanhe__Totals *t)
{
    json_t *funds = json_object();
    for (size_t i = 0; t != NULL && i < t->n_funds; i++)
        json_object_set_new(funds, t->funds[i]->fund, json_integer(t->funds[i]->amount));
    return json_pack("{s:I, s:I, s:I, s:I, s:o}", "count", (json_int_t)(t ? t->count : 0), "total",
                     (json_int_t)(t ? t->total : 0), "fund_total",
                     (json_int_t)(t ? t->fund_total : 0), "patient_pays",
                     (json_int_t)(t ? t->patient_pays : 0), "funds", funds);
}

static json_t *items_json(Sanhe__ReconcileItem *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:I, s:I, s:I}", "settlement_id",
                                             (json_int_t)items[i]->settlement_id, "total",
                                             (json_int_t)items[i]->total, "fund_total",
                                             (json_int_t)items[i]->fund_total));
    return arr;
}

json_t *bureau_reply_to_json(const Sanhe__ReconcileReply *rr, bool with_items)
{
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_string(SCHEMA));
    json_object_set_new(o, "day", json_string(rr->day != NULL ? rr->day : ""));
    if (rr->hospital != NULL && rr->hospital[0] != '\0') {
        json_object_set_new(o, "hospital", json_string(rr->hospital));
        if (rr->hospital_name != NULL)
            json_object_set_new(o, "hospital_name", json_string(rr->hospital_name));
    }
    json_object_set_new(o, "settlements", totals_json(rr->settlements));
    json_object_set_new(o, "reversals", totals_json(rr->reversals));
    json_object_set_new(o, "net", totals_json(rr->net));
    if (with_items)
        json_object_set_new(o, "items", items_json(rr->only_engine, rr->n_only_engine));
    if (rr->hospital == NULL || rr->hospital[0] == '\0') {
        json_t *hs = json_array();
        for (size_t i = 0; i < rr->n_hospitals; i++) {
            json_t *h = bureau_reply_to_json(rr->hospitals[i], false);
            json_object_del(h, "schema");
            json_array_append_new(hs, h);
        }
        json_object_set_new(o, "hospitals", hs);
    }
    return o;
}

/* ---- Reading it back ---------------------------------------------------------------------- */

static bool get_int(const json_t *o, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return true;
}

static Sanhe__Totals *totals_of(const json_t *o, bool *bad)
{
    Sanhe__Totals *t = calloc(1, sizeof *t);
    if (t == NULL) {
        *bad = true;
        return NULL;
    }
    sanhe__totals__init(t);
    int64_t count = 0;
    t->has_count = t->has_total = t->has_fund_total = t->has_patient_pays = true;
    *bad |= !get_int(o, "count", &count) || count < 0 || !get_int(o, "total", &t->total) ||
            !get_int(o, "fund_total", &t->fund_total) ||
            !get_int(o, "patient_pays", &t->patient_pays);
    t->count = (uint64_t)count;
    const json_t *funds = json_object_get(o, "funds");
    *bad |= !json_is_object(funds);
    t->funds = calloc(json_object_size(funds) + 1, sizeof *t->funds);
    *bad |= t->funds == NULL;
    const char *id;
    const json_t *v;
    json_object_foreach((json_t *)funds, id, v)
    {
        if (t->funds == NULL)
            break;
        Sanhe__FundAmount *f = calloc(1, sizeof *f);
        if (f == NULL) {
            *bad = true;
            break;
        }
        sanhe__fund_amount__init(f);
        t->funds[t->n_funds++] = f;
        f->fund = strdup(id);
        f->has_amount = true;
        *bad |= f->fund == NULL || !json_is_integer(v);
        f->amount = json_integer_value(v);
    }
    return t;
}

static Sanhe__ReconcileItem **items_of(const json_t *arr, size_t *n, bool *bad)
{
    *n = 0;
    Sanhe__ReconcileItem **items = calloc(json_array_size(arr) + 1, sizeof *items);
    *bad |= items == NULL;
    for (size_t i = 0; items != NULL && i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        Sanhe__ReconcileItem *it = calloc(1, sizeof *it);
        if (it == NULL) {
            *bad = true;
            break;
        }
        sanhe__reconcile_item__init(it);
        items[(*n)++] = it;
        int64_t id = 0;
        it->has_settlement_id = it->has_total = it->has_fund_total = true;
        *bad |= !get_int(o, "settlement_id", &id) || id < 0 || !get_int(o, "total", &it->total) ||
                !get_int(o, "fund_total", &it->fund_total);
        it->settlement_id = (uint64_t)id;
    }
    return items;
}

static char *str_of(const json_t *o, const char *key, bool required, bool *bad)
{
    const char *s = json_string_value(json_object_get(o, key));
    *bad |= required && s == NULL;
    char *d = s != NULL ? strdup(s) : NULL;
    *bad |= s != NULL && d == NULL;
    return d;
}

static Sanhe__ReconcileReply *reply_of(const json_t *o, bool *bad)
{
    Sanhe__ReconcileReply *rr = calloc(1, sizeof *rr);
    if (rr == NULL) {
        *bad = true;
        return NULL;
    }
    sanhe__reconcile_reply__init(rr);
    rr->day = str_of(o, "day", true, bad);
    rr->hospital = str_of(o, "hospital", false, bad);
    rr->hospital_name = str_of(o, "hospital_name", false, bad);
    rr->settlements = totals_of(json_object_get(o, "settlements"), bad);
    rr->reversals = totals_of(json_object_get(o, "reversals"), bad);
    rr->net = totals_of(json_object_get(o, "net"), bad);
    const json_t *items = json_object_get(o, "items");
    if (items != NULL)
        rr->only_engine = items_of(items, &rr->n_only_engine, bad);
    *bad |= items != NULL && !json_is_array(items);
    const json_t *hs = json_object_get(o, "hospitals");
    rr->hospitals = calloc(json_array_size(hs) + 1, sizeof *rr->hospitals);
    *bad |= rr->hospitals == NULL;
    for (size_t i = 0; rr->hospitals != NULL && i < json_array_size(hs); i++) {
        Sanhe__ReconcileReply *h = reply_of(json_array_get(hs, i), bad);
        if (h == NULL)
            break;
        rr->hospitals[rr->n_hospitals++] = h;
    }
    return rr;
}

int bureau_reply_from_json(const char *path, Sanhe__ReconcileReply **out, bool *has_items,
                           struct sh_error *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return sh_error_set(err, SH_E_BAD_REQUEST, "%s:%d: %s", path, jerr.line, jerr.text);
    const char *schema = json_string_value(json_object_get(doc, "schema"));
    bool bad = schema == NULL || strcmp(schema, SCHEMA) != 0;
    Sanhe__ReconcileReply *rr = bad ? NULL : reply_of(doc, &bad);
    *has_items = json_object_get(doc, "items") != NULL;
    json_decref(doc);
    if (bad) {
        if (rr != NULL)
            sanhe__reconcile_reply__free_unpacked(rr, NULL);
        return sh_error_set(err, SH_E_BAD_REQUEST, _("%s: not a %s file"), path, SCHEMA);
    }
    *out = rr;
    return 0;
}
