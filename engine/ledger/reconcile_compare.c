/*
 * The engine's figures against the hospital's. Figures: the net Totals, a
 * figure the hospital left out counting as 0 (a hospital must state every
 * figure; silence is not agreement). Items: both lists sorted by settlement
 * id and walked together, so 10,000 items cost a sort and one pass.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"

static void diff_add(struct recon_result *r, const char *figure, sh_fen engine, sh_fen hospital)
{
    if (engine == hospital || r->diff_count == sizeof r->diffs / sizeof r->diffs[0])
        return;
    struct recon_diff *d = &r->diffs[r->diff_count++];
    snprintf(d->figure, sizeof d->figure, "%s", figure);
    d->engine = engine;
    d->hospital = hospital;
}

/* The hospital's funds, checked (ids short and unique) and sorted by id. */
static int hospital_funds(const Sanhe__Totals *figures, struct recon_totals *out,
                          struct sh_error *err)
{
    if (figures->n_funds > RECON_FUNDS_MAX)
        return sh_error_set(err, SH_E_BAD_REQUEST, "reconcile: figures name more than %d funds",
                            RECON_FUNDS_MAX);
    for (size_t i = 0; i < figures->n_funds; i++) {
        const Sanhe__FundAmount *f = figures->funds[i];
        const char *id = f->fund != NULL ? f->fund : "";
        if (id[0] == '\0' || strlen(id) >= SH_ID_MAX)
            return sh_error_set(err, SH_E_BAD_REQUEST,
                                "reconcile: figures: fund %zu has no "
                                "usable id",
                                i + 1);
        struct journal_entry one = {.fund_count = 1};
        memcpy(one.funds[0].fund, id, strlen(id) + 1);
        one.funds[0].pay = f->has_amount ? f->amount : 0;
        uint32_t before = out->fund_count;
        if (recon_totals_add(out, &one) != 0 || out->fund_count == before)
            return sh_error_set(err, SH_E_BAD_REQUEST,
                                "reconcile: figures: fund \"%.32s\" "
                                "twice",
                                id);
    }
    return 0;
}

/* Both sorted fund lists walked together; a fund one side lacks is 0 there. */
static void diff_funds(struct recon_result *r, const struct recon_totals *e,
                       const struct recon_totals *h)
{
    uint32_t i = 0, j = 0;
    char figure[RECON_FIGURE_MAX];
    while (i < e->fund_count || j < h->fund_count) {
        int cmp = i == e->fund_count   ? 1
                  : j == h->fund_count ? -1
                                       : strcmp(e->funds[i].fund, h->funds[j].fund);
        const char *id = cmp <= 0 ? e->funds[i].fund : h->funds[j].fund;
        sh_fen ev = cmp <= 0 ? e->funds[i++].pay : 0;
        sh_fen hv = cmp >= 0 ? h->funds[j++].pay : 0;
        snprintf(figure, sizeof figure, "fund:%s", id);
        diff_add(r, figure, ev, hv);
    }
}

int recon_compare_figures(const struct recon_totals *engine, const Sanhe__Totals *figures,
                          struct recon_result *result, struct sh_error *err)
{
    struct recon_totals h;
    memset(&h, 0, sizeof h);
    int rc = hospital_funds(figures, &h, err);
    if (rc != 0)
        return rc;
    if (figures->has_count && figures->count > INT64_MAX)
        return sh_error_set(err, SH_E_BAD_REQUEST, "reconcile: figures: count out of range");
    diff_add(result, "count", (sh_fen)engine->count,
             figures->has_count ? (sh_fen)figures->count : 0);
    diff_add(result, "total", engine->total, figures->has_total ? figures->total : 0);
    diff_add(result, "fund_total", engine->fund_total,
             figures->has_fund_total ? figures->fund_total : 0);
    diff_add(result, "patient_pays", engine->patient_pays,
             figures->has_patient_pays ? figures->patient_pays : 0);
    diff_funds(result, engine, &h);
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    const struct recon_item *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The hospital's list as recon_items (its figures in total/fund_total), by id. */
static int hospital_items(Sanhe__ReconcileItem *const *items, size_t n, struct recon_items *out)
{
    for (size_t i = 0; i < n; i++) {
        const Sanhe__ReconcileItem *it = items[i];
        struct recon_item h = {.id = it->has_settlement_id ? it->settlement_id : 0,
                               .total = it->has_total ? it->total : 0,
                               .fund_total = it->has_fund_total ? it->fund_total : 0};
        if (recon_items_push(out, &h) != 0)
            return SH_E_INTERNAL;
    }
    if (out->count > 1)
        qsort(out->items, out->count, sizeof out->items[0], item_cmp);
    return 0;
}

/* One settlement both sides have: differing when an amount is not the same. */
static int item_match(struct recon_result *r, const struct recon_item *e,
                      const struct recon_item *h)
{
    if (e->total == h->total && e->fund_total == h->fund_total)
        return 0;
    struct recon_item d = *e;
    d.hospital_total = h->total;
    d.hospital_fund_total = h->fund_total;
    return recon_items_push(&r->differing, &d);
}

int recon_compare_items(struct recon_items *engine, Sanhe__ReconcileItem *const *items,
                        size_t n_items, struct recon_result *result, struct sh_error *err)
{
    struct recon_items h = {0};
    int rc = hospital_items(items, n_items, &h);
    if (engine->count > 1)
        qsort(engine->items, engine->count, sizeof engine->items[0], item_cmp);
    size_t i = 0, j = 0;
    /* A settlement id the hospital lists twice: the second is only the hospital's. */
    while (rc == 0 && (i < engine->count || j < h.count)) {
        const struct recon_item *e = i < engine->count ? &engine->items[i] : NULL;
        const struct recon_item *o = j < h.count ? &h.items[j] : NULL;
        if (o == NULL || (e != NULL && e->id < o->id))
            rc = recon_items_push(&result->only_engine, &engine->items[i++]);
        else if (e == NULL || o->id < e->id)
            rc = recon_items_push(&result->only_hospital, &h.items[j++]);
        else
            rc = item_match(result, &engine->items[i++], &h.items[j++]);
    }
    recon_items_free(&h);
    if (rc != 0)
        sh_error_set(err, rc, "reconcile: out of memory");
    return rc;
}

void recon_result_free(struct recon_result *result)
{
    recon_items_free(&result->only_engine);
    recon_items_free(&result->only_hospital);
    recon_items_free(&result->differing);
}
