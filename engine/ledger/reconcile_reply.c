/*
 * The ReconcileReply, built on the heap exactly as protobuf-c's unpacker
 * would build it (every message, array and string malloc'd), so that one
 * sanhe__reconcile_reply__free_unpacked frees it whatever stage failed.
 * A whole-day reply nests one such reply per hospital.
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"

static char *dup_str(const char *s, bool *oom)
{
    char *d = strdup(s != NULL ? s : "");
    *oom |= d == NULL;
    return d;
}

static Sanhe__Totals *totals_msg(const struct recon_totals *t, bool *oom)
{
    Sanhe__Totals *m = malloc(sizeof *m);
    if (m == NULL) {
        *oom = true;
        return NULL;
    }
    sanhe__totals__init(m);
    m->has_count = m->has_total = m->has_fund_total = m->has_patient_pays = true;
    m->count = t->count;
    m->total = t->total;
    m->fund_total = t->fund_total;
    m->patient_pays = t->patient_pays;
    m->funds = calloc(t->fund_count > 0 ? t->fund_count : 1, sizeof *m->funds);
    *oom |= m->funds == NULL;
    for (uint32_t i = 0; m->funds != NULL && i < t->fund_count; i++) {
        Sanhe__FundAmount *f = malloc(sizeof *f);
        if (f == NULL) {
            *oom = true;
            break;
        }
        sanhe__fund_amount__init(f);
        f->fund = dup_str(t->funds[i].fund, oom);
        f->has_amount = true;
        f->amount = t->funds[i].pay;
        m->funds[m->n_funds++] = f;
    }
    return m;
}

/* items as ReconcileItems; with_hospital: the hospital's figures too. */
static Sanhe__ReconcileItem **items_msg(const struct recon_items *items, bool with_hospital,
                                        size_t *n, bool *oom)
{
    *n = 0;
    Sanhe__ReconcileItem **arr = calloc(items->count > 0 ? items->count : 1, sizeof *arr);
    *oom |= arr == NULL;
    for (size_t i = 0; arr != NULL && i < items->count; i++) {
        Sanhe__ReconcileItem *m = malloc(sizeof *m);
        if (m == NULL) {
            *oom = true;
            break;
        }
        sanhe__reconcile_item__init(m);
        const struct recon_item *it = &items->items[i];
        m->has_settlement_id = m->has_total = m->has_fund_total = true;
        m->settlement_id = it->id;
        m->total = it->total;
        m->fund_total = it->fund_total;
        m->has_hospital_total = m->has_hospital_fund_total = with_hospital;
        m->hospital_total = with_hospital ? it->hospital_total : 0;
        m->hospital_fund_total = with_hospital ? it->hospital_fund_total : 0;
        arr[(*n)++] = m;
    }
    return arr;
}

static Sanhe__FigureDiff **diffs_msg(const struct recon_result *r, size_t *n, bool *oom)
{
    *n = 0;
    Sanhe__FigureDiff **arr = calloc(r->diff_count > 0 ? r->diff_count : 1, sizeof *arr);
    *oom |= arr == NULL;
    for (size_t i = 0; arr != NULL && i < r->diff_count; i++) {
        Sanhe__FigureDiff *d = malloc(sizeof *d);
        if (d == NULL) {
            *oom = true;
            break;
        }
        sanhe__figure_diff__init(d);
        d->figure = dup_str(r->diffs[i].figure, oom);
        d->has_engine = d->has_hospital = true;
        d->engine = r->diffs[i].engine;
        d->hospital = r->diffs[i].hospital;
        arr[(*n)++] = d;
    }
    return arr;
}

static void result_msg(Sanhe__ReconcileReply *m, const struct recon_result *r, bool *oom)
{
    m->has_balanced = true;
    m->balanced = r->balanced;
    m->differences = diffs_msg(r, &m->n_differences, oom);
    m->only_engine = items_msg(&r->only_engine, false, &m->n_only_engine, oom);
    m->only_hospital = items_msg(&r->only_hospital, false, &m->n_only_hospital, oom);
    m->differing = items_msg(&r->differing, true, &m->n_differing, oom);
}

static Sanhe__ReconcileReply *reply_new(const struct recon_totals *settle,
                                        const struct recon_totals *reversal,
                                        const struct recon_totals *net, const char *day, bool *oom)
{
    Sanhe__ReconcileReply *m = malloc(sizeof *m);
    if (m == NULL) {
        *oom = true;
        return NULL;
    }
    sanhe__reconcile_reply__init(m);
    m->day = dup_str(day, oom);
    m->settlements = totals_msg(settle, oom);
    m->reversals = totals_msg(reversal, oom);
    m->net = totals_msg(net, oom);
    return m;
}

/* by_hour: RECON_HOURS net totals, when the scan collected them. */
static void hours_msg(Sanhe__ReconcileReply *m, const struct recon_totals *hours, bool *oom)
{
    if (hours == NULL)
        return;
    m->by_hour = calloc(RECON_HOURS, sizeof *m->by_hour);
    *oom |= m->by_hour == NULL;
    for (size_t i = 0; m->by_hour != NULL && i < RECON_HOURS; i++) {
        Sanhe__Totals *t = totals_msg(&hours[i], oom);
        if (t == NULL)
            break;
        m->by_hour[m->n_by_hour++] = t;
    }
}

/* The reply, or NULL (freed) when anything could not be allocated. */
static Sanhe__ReconcileReply *reply_done(Sanhe__ReconcileReply *m, bool oom)
{
    if (oom && m != NULL) {
        sanhe__reconcile_reply__free_unpacked(m, NULL);
        m = NULL;
    }
    return m;
}

Sanhe__ReconcileReply *recon_reply_hospital(const struct recon_hospital *h, const char *day,
                                            const char *name, const struct recon_result *result)
{
    bool oom = false;
    Sanhe__ReconcileReply *m = reply_new(&h->settle, &h->reversal, &h->net, day, &oom);
    if (m == NULL)
        return NULL;
    m->hospital = dup_str(h->hospital, &oom);
    if (name != NULL)
        m->hospital_name = dup_str(name, &oom);
    if (result != NULL)
        result_msg(m, result, &oom);
    hours_msg(m, h->hours, &oom);
    return reply_done(m, oom);
}

Sanhe__ReconcileReply *recon_reply_day(const struct recon_day *d, const char *day)
{
    bool oom = false;
    Sanhe__ReconcileReply *m = reply_new(&d->settle, &d->reversal, &d->net, day, &oom);
    if (m == NULL)
        return NULL;
    m->hospitals = calloc(d->count > 0 ? d->count : 1, sizeof *m->hospitals);
    oom |= m->hospitals == NULL;
    hours_msg(m, d->hours, &oom);
    return reply_done(m, oom);
}
