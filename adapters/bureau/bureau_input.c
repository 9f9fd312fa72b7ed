/*
 * The hospital's side of a reconcile, from files. Amounts are integer fen,
 * as on the wire: a hospital system exports what it booked, and a decimal
 * yuan figure would need rounding rules nobody agreed on.
 *
 *   figures.json  {"count": 5, "total": 3473456, "fund_total": 2811000,
 *                  "patient_pays": 662456, "funds": {"coop": 2500000, ...}}
 *   items.csv     settlement_id,total,fund_total   (the CSV layer; an optional header)
 *   items.json    [{"settlement_id": 1, "total": 2500000, "fund_total": 2043000}, ...]
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bureau.h"
#include "sh_csv.h"

#define ITEMS_MAX 1000000

static bool json_fen(const json_t *o, const char *key, int64_t *out, bool *has)
{
    const json_t *v = json_object_get(o, key);
    *has = v != NULL;
    if (v == NULL)
        return true;
    if (!json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return true;
}

static int figures_funds(const json_t *funds, Sanhe__Totals *t, const char *path,
                         struct sh_error *err)
{
    if (funds == NULL)
        return 0;
    if (!json_is_object(funds))
        return sh_error_set(err, SH_E_BAD_REQUEST, _("%s: \"funds\" is not an object"), path);
    t->funds = calloc(json_object_size(funds) + 1, sizeof *t->funds);
    if (t->funds == NULL)
        return sh_error_set(err, SH_E_INTERNAL, _("out of memory"));
    const char *id;
    const json_t *amount;
    json_object_foreach((json_t *)funds, id, amount)
    {
        if (!json_is_integer(amount))
            return sh_error_set(err, SH_E_BAD_REQUEST, _("%s: funds.%s: not an integer (fen)"),
                                path, id);
        Sanhe__FundAmount *f = malloc(sizeof *f);
        if (f == NULL)
            return sh_error_set(err, SH_E_INTERNAL, _("out of memory"));
        sanhe__fund_amount__init(f);
        t->funds[t->n_funds++] = f;
        f->fund = strdup(id);
        f->has_amount = true;
        f->amount = json_integer_value(amount);
        if (f->fund == NULL)
            return sh_error_set(err, SH_E_INTERNAL, _("out of memory"));
    }
    return 0;
}

static int figures_of(const json_t *doc, Sanhe__Totals *t, const char *path, struct sh_error *err)
{
    if (!json_is_object(doc))
        return sh_error_set(err, SH_E_BAD_REQUEST, _("%s: not a JSON object"), path);
    int64_t count = 0;
    bool has[4] = {false};
    bool ok = json_fen(doc, "count", &count, &has[0]) &&
              json_fen(doc, "total", &t->total, &has[1]) &&
              json_fen(doc, "fund_total", &t->fund_total, &has[2]) &&
              json_fen(doc, "patient_pays", &t->patient_pays, &has[3]);
    if (!ok || count < 0)
        return sh_error_set(err, SH_E_BAD_REQUEST,
                            _("%s: count, total, fund_total and "
                              "patient_pays must be integers (amounts in fen)"),
                            path);
    /* A figure left out is sent as absent: the engine counts it as 0. */
    t->has_count = has[0];
    t->has_total = has[1];
    t->has_fund_total = has[2];
    t->has_patient_pays = has[3];
    t->count = (uint64_t)count;
    return figures_funds(json_object_get(doc, "funds"), t, path, err);
}

int bureau_read_figures(const char *path, Sanhe__Totals **out, struct sh_error *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return sh_error_set(err, SH_E_BAD_REQUEST, "%s:%d: %s", path, jerr.line, jerr.text);
    Sanhe__Totals *t = malloc(sizeof *t);
    int rc = t == NULL ? sh_error_set(err, SH_E_INTERNAL, _("out of memory")) : 0;
    if (t != NULL) {
        sanhe__totals__init(t);
        rc = figures_of(doc, t, path, err);
    }
    json_decref(doc);
    if (rc != 0)
        bureau_free_figures(t);
    else
        *out = t;
    return rc;
}

void bureau_free_figures(Sanhe__Totals *t)
{
    if (t != NULL)
        sanhe__totals__free_unpacked(t, NULL);
}

/* ---- Items ------------------------------------------------------------------------------ */

struct item_list {
    Sanhe__ReconcileItem **items;
    size_t n, cap;
};

static int item_push(struct item_list *l, uint64_t id, int64_t total, int64_t fund_total)
{
    if (l->n == ITEMS_MAX)
        return SH_E_LIMIT_EXCEEDED;
    if (l->n == l->cap) {
        size_t cap = l->cap > 0 ? l->cap * 2 : 256;
        Sanhe__ReconcileItem **items = realloc(l->items, cap * sizeof *items);
        if (items == NULL)
            return SH_E_INTERNAL;
        l->items = items;
        l->cap = cap;
    }
    Sanhe__ReconcileItem *it = malloc(sizeof *it);
    if (it == NULL)
        return SH_E_INTERNAL;
    sanhe__reconcile_item__init(it);
    it->has_settlement_id = it->has_total = it->has_fund_total = true;
    it->settlement_id = id;
    it->total = total;
    it->fund_total = fund_total;
    l->items[l->n++] = it;
    return 0;
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    while (end != NULL && (*end == ' ' || *end == '\r'))
        end++;
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* The CSV parse in progress: one row's fields, then the row. */
struct csv_state {
    struct item_list *list;
    char fields[3][32];
    size_t nfields;
    size_t row;
    int rc;
    char why[128];
};

static void csv_field(struct csv_state *s, const char *data, size_t len)
{
    if (s->nfields < 3)
        snprintf(s->fields[s->nfields], sizeof s->fields[0], "%.*s", (int)(len < 31 ? len : 31),
                 data);
    s->nfields++;
}

static void csv_row(struct csv_state *s)
{
    int64_t v[3];
    bool ok = s->nfields == 3;
    for (size_t i = 0; ok && i < 3; i++)
        ok = parse_i64(s->fields[i], &v[i]);
    s->row++;
    if (ok && v[0] >= 0 && s->rc == 0) {
        s->rc = item_push(s->list, (uint64_t)v[0], v[1], v[2]);
        if (s->rc != 0)
            snprintf(s->why, sizeof s->why, "row %zu: out of memory or more than %d items", s->row,
                     ITEMS_MAX);
    } else if (s->rc == 0 && !(s->row == 1 && s->nfields == 3)) /* not the header */
        s->rc = SH_E_BAD_REQUEST, snprintf(s->why, sizeof s->why,
                                           "row %zu: want "
                                           "settlement_id,total,fund_total in fen",
                                           s->row);
    s->nfields = 0;
}

/* One record from the CSV layer (hospital-client/csv). */
static int csv_record(void *ctx, uint64_t line, size_t count, const char *const *fields)
{
    (void)line;
    struct csv_state *s = ctx;
    for (size_t i = 0; i < count; i++)
        csv_field(s, fields[i], strlen(fields[i]));
    csv_row(s);
    return s->rc != 0 ? 1 : 0;
}

static int read_csv(const char *path, struct item_list *l, struct sh_error *err)
{
    struct csv_state s = {.list = l};
    struct sh_error cerr = {0};
    int rc = sh_csv_read_file(path, NULL, csv_record, &s, NULL, &cerr);
    if (rc != 0 && s.rc == 0) {
        s.rc = rc == SH_E_INTERNAL ? SH_E_BAD_REQUEST : rc;
        snprintf(s.why, sizeof s.why, "%.120s", cerr.msg);
    }
    return s.rc == 0 ? 0 : sh_error_set(err, s.rc, "%s: %s", path, s.why[0] ? s.why : "failed");
}

static int read_json(const char *path, struct item_list *l, struct sh_error *err)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL)
        return sh_error_set(err, SH_E_BAD_REQUEST, "%s:%d: %s", path, jerr.line, jerr.text);
    int rc =
        json_is_array(doc) ? 0 : sh_error_set(err, SH_E_BAD_REQUEST, _("%s: not an array"), path);
    for (size_t i = 0; rc == 0 && i < json_array_size(doc); i++) {
        const json_t *o = json_array_get(doc, i);
        int64_t id = 0, total = 0, fund_total = 0;
        bool h1 = false, h2 = false, h3 = false;
        bool ok = json_fen(o, "settlement_id", &id, &h1) && json_fen(o, "total", &total, &h2) &&
                  json_fen(o, "fund_total", &fund_total, &h3) && h1 && h2 && h3 && id >= 0;
        rc = ok ? item_push(l, (uint64_t)id, total, fund_total)
                : sh_error_set(err, SH_E_BAD_REQUEST,
                               _("%s: item %zu: want settlement_id, total "
                                 "and fund_total (integers, fen)"),
                               path, i + 1);
    }
    json_decref(doc);
    return rc;
}

int bureau_read_items(const char *path, Sanhe__ReconcileItem ***items, size_t *n,
                      struct sh_error *err)
{
    struct item_list l = {0};
    size_t len = strlen(path);
    bool json = len > 5 && strcmp(path + len - 5, ".json") == 0;
    int rc = json ? read_json(path, &l, err) : read_csv(path, &l, err);
    if (rc != 0 && err->code == 0)
        sh_error_set(err, rc, _("%s: out of memory or too many items"), path);
    if (rc != 0) {
        bureau_free_items(l.items, l.n);
        l.items = NULL, l.n = 0;
    }
    *items = l.items;
    *n = l.n;
    return rc;
}

void bureau_free_items(Sanhe__ReconcileItem **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sanhe__reconcile_item__free_unpacked(items[i], NULL);
    free(items);
}
