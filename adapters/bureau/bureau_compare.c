/*
 * verify's comparison: an exported file's figures against the journal's
 * (the same reconcile, run offline on the data directory). Every figure is
 * compared, funds by id, items as sets by settlement id; each mismatch is
 * printed with both values in fen, so nothing is hidden by rounding.
 */
#include <inttypes.h>
#include <string.h>

#include "bureau.h"

static size_t mismatch(const char *who, const char *what, const char *figure, int64_t file,
                       int64_t journal)
{
    if (file == journal)
        return 0;
    char name[256];
    bureau_figure_label(figure, NULL, SH_LANG_ZH, name, sizeof name);
    if (strcmp(figure, "count") == 0)
        printf(_("  %s %s %s: file %lld, journal %lld\n"), who, what, name, (long long)file,
               (long long)journal);
    else
        printf(_("  %s %s %s: file %lld, journal %lld (fen)\n"), who, what, name, (long long)file,
               (long long)journal);
    return 1;
}

static int64_t fund_in(const Sanhe__Totals *t, const char *fund, bool *found)
{
    for (size_t i = 0; i < t->n_funds; i++)
        if (strcmp(t->funds[i]->fund, fund) == 0) {
            *found = true;
            return t->funds[i]->amount;
        }
    *found = false;
    return 0;
}

static size_t compare_totals(const char *who, const char *what, const Sanhe__Totals *f,
                             const Sanhe__Totals *j)
{
    size_t n = mismatch(who, what, "count", (int64_t)f->count, (int64_t)j->count);
    n += mismatch(who, what, "total", f->total, j->total);
    n += mismatch(who, what, "fund_total", f->fund_total, j->fund_total);
    n += mismatch(who, what, "patient_pays", f->patient_pays, j->patient_pays);
    bool found;
    char figure[64];
    for (size_t i = 0; i < j->n_funds; i++) {
        snprintf(figure, sizeof figure, "fund:%s", j->funds[i]->fund);
        n +=
            mismatch(who, what, figure, fund_in(f, j->funds[i]->fund, &found), j->funds[i]->amount);
    }
    for (size_t i = 0; i < f->n_funds; i++) {
        int64_t v = fund_in(j, f->funds[i]->fund, &found);
        snprintf(figure, sizeof figure, "fund:%s", f->funds[i]->fund);
        if (!found)
            n += mismatch(who, what, figure, f->funds[i]->amount, v);
    }
    return n;
}

static const Sanhe__ReconcileItem *item_in(const Sanhe__ReconcileReply *rr, uint64_t id)
{
    for (size_t i = 0; i < rr->n_only_engine; i++) /* small lists: a hospital-day */
        if (rr->only_engine[i]->settlement_id == id)
            return rr->only_engine[i];
    return NULL;
}

static size_t compare_items(const char *who, const Sanhe__ReconcileReply *f,
                            const Sanhe__ReconcileReply *j)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_only_engine; i++) {
        const Sanhe__ReconcileItem *a = f->only_engine[i];
        const Sanhe__ReconcileItem *b = item_in(j, a->settlement_id);
        char what[48];
        snprintf(what, sizeof what, _("settlement %llu"), (unsigned long long)a->settlement_id);
        if (b == NULL) {
            printf(_("  %s %s: in the file, not in the journal's day\n"), who, what);
            n++;
            continue;
        }
        n += mismatch(who, what, "total", a->total, b->total);
        n += mismatch(who, what, "fund_total", a->fund_total, b->fund_total);
    }
    for (size_t i = 0; i < j->n_only_engine; i++)
        if (item_in(f, j->only_engine[i]->settlement_id) == NULL) {
            printf(_("  %s settlement %llu: in the journal's day, not in the file\n"), who,
                   (unsigned long long)j->only_engine[i]->settlement_id);
            n++;
        }
    return n;
}

static size_t compare_one(const Sanhe__ReconcileReply *f, const Sanhe__ReconcileReply *j,
                          bool items)
{
    const char *who =
        f->hospital != NULL && f->hospital[0] != '\0' ? f->hospital : label(SH_LANG_ZH, L_ALL);
    size_t n =
        compare_totals(who, label(SH_LANG_ZH, L_SETTLEMENTS), f->settlements, j->settlements);
    n += compare_totals(who, label(SH_LANG_ZH, L_REVERSALS), f->reversals, j->reversals);
    n += compare_totals(who, label(SH_LANG_ZH, L_NET), f->net, j->net);
    return n + (items ? compare_items(who, f, j) : 0);
}

size_t bureau_compare(const Sanhe__ReconcileReply *file, const Sanhe__ReconcileReply *journal,
                      bool items)
{
    size_t n = compare_one(file, journal, items);
    for (size_t i = 0; i < file->n_hospitals || i < journal->n_hospitals; i++) {
        const Sanhe__ReconcileReply *f = i < file->n_hospitals ? file->hospitals[i] : NULL;
        const Sanhe__ReconcileReply *j = i < journal->n_hospitals ? journal->hospitals[i] : NULL;
        if (f == NULL || j == NULL || strcmp(f->hospital, j->hospital) != 0) {
            if (f != NULL)
                printf(_("  hospital %s: in the file only\n"), f->hospital);
            else
                printf(_("  hospital %s: in the journal only\n"), j->hospital);
            return n + 1; /* the lists no longer line up */
        }
        n += compare_one(f, j, false);
    }
    return n;
}
