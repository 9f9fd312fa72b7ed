/*
 * sanhe-bureau reconcile --hospital H --day D [--figures F.json] [--items F.csv|F.json]:
 * the engine's settlements, reversals and net for the hospital-day, then,
 * with the hospital's books, balanced or exactly what differs: each figure
 * (engine and hospital values) and each settlement only one side has or
 * whose amounts differ. Exit status 1 when not balanced, so a script can
 * tell.
 */
#include <string.h>

#include "bureau.h"

static void totals_row(struct table *t, size_t row, enum label kind, const Sanhe__Totals *x,
                       uint64_t count, const char *const *funds, size_t n_funds, enum sh_lang lang)
{
    table_set(t, row, 0, label(lang, kind));
    table_set_u64(t, row, 1, count);
    table_set_fen(t, row, 2, x->total);
    for (size_t f = 0; f < n_funds; f++) {
        int64_t a = 0;
        for (size_t i = 0; i < x->n_funds; i++)
            if (strcmp(x->funds[i]->fund, funds[f]) == 0)
                a = x->funds[i]->amount;
        table_set_fen(t, row, 3 + f, a);
    }
    table_set_fen(t, row, 3 + n_funds, x->fund_total);
    table_set_fen(t, row, 4 + n_funds, x->patient_pays);
}

/* Settlements, reversals and net; the funds are the net's (every fund of the day). */
static void print_totals(const Sanhe__ReconcileReply *rr, enum sh_lang lang)
{
    const Sanhe__Totals *net = rr->net;
    size_t n_funds = net->n_funds < TABLE_COLS_MAX - 5 ? net->n_funds : TABLE_COLS_MAX - 5;
    const char *funds[TABLE_COLS_MAX];
    for (size_t f = 0; f < n_funds; f++)
        funds[f] = net->funds[f]->fund;
    struct table t;
    if (table_init(&t, 5 + n_funds) != 0)
        return;
    table_set(&t, 0, 0, label(lang, L_KIND));
    table_set(&t, 0, 1, label(lang, L_COUNT));
    table_set(&t, 0, 2, label(lang, L_TOTAL));
    for (size_t f = 0; f < n_funds; f++) {
        char title[TABLE_CELL_MAX];
        bureau_fund_title(net, funds[f], lang, title, sizeof title);
        table_set(&t, 0, 3 + f, title);
    }
    table_set(&t, 0, 3 + n_funds, label(lang, L_FUND_TOTAL));
    table_set(&t, 0, 4 + n_funds, label(lang, L_PATIENT));
    const Sanhe__Totals *rows[] = {rr->settlements, rr->reversals, rr->net};
    const enum label kinds[] = {L_SETTLEMENTS, L_REVERSALS, L_NET};
    /* The net row counts settlements less reversals (10 settled, 1
     * reversed: 9), not the day's entries the engine's net.count holds. */
    uint64_t settled = rr->settlements != NULL ? rr->settlements->count : 0;
    uint64_t reversed = rr->reversals != NULL ? rr->reversals->count : 0;
    const uint64_t counts[] = {settled, reversed, settled >= reversed ? settled - reversed : 0};
    for (size_t i = 0; i < 3; i++) {
        long row = table_row(&t);
        if (row >= 0 && rows[i] != NULL)
            totals_row(&t, (size_t)row, kinds[i], rows[i], counts[i], funds, n_funds, lang);
        if (i == 2 && row >= 0)
            t.rule_before = (size_t)row;
    }
    table_print(stdout, &t);
    table_free(&t);
}

/* A figure: counts as numbers, amounts in yuan. */
static void set_figure(struct table *t, size_t row, size_t col, const char *figure, int64_t v)
{
    if (strcmp(figure, "count") == 0)
        table_set_u64(t, row, col, (uint64_t)v);
    else
        table_set_fen(t, row, col, v);
}

static void print_diffs(const Sanhe__ReconcileReply *rr, enum sh_lang lang)
{
    if (rr->n_differences == 0)
        return;
    struct table t;
    if (table_init(&t, 3) != 0)
        return;
    table_set(&t, 0, 0, label(lang, L_FIGURE));
    table_set(&t, 0, 1, label(lang, L_ENGINE));
    table_set(&t, 0, 2, label(lang, L_HOSPITAL_SIDE));
    for (size_t i = 0; i < rr->n_differences; i++) {
        const Sanhe__FigureDiff *d = rr->differences[i];
        long row = table_row(&t);
        if (row < 0)
            break;
        char figure[TABLE_CELL_MAX];
        bureau_figure_label(d->figure, rr->net, lang, figure, sizeof figure);
        table_set(&t, (size_t)row, 0, figure);
        set_figure(&t, (size_t)row, 1, d->figure, d->engine);
        set_figure(&t, (size_t)row, 2, d->figure, d->hospital);
    }
    table_print(stdout, &t);
    table_free(&t);
}

/* A list of settlements; differing ones show both sides. */
static void print_items(enum label title, Sanhe__ReconcileItem *const *items, size_t n, bool both,
                        enum sh_lang lang)
{
    if (n == 0)
        return;
    printf("\n%s (%zu):\n", label(lang, title), n);
    struct table t;
    if (table_init(&t, both ? 5 : 3) != 0)
        return;
    table_set(&t, 0, 0, label(lang, L_SETTLEMENT_ID));
    table_set(&t, 0, 1, label(lang, L_TOTAL));
    table_set(&t, 0, 2, label(lang, L_FUND_TOTAL));
    if (both) {
        char head[TABLE_CELL_MAX];
        snprintf(head, sizeof head, "%s %s", label(lang, L_HOSPITAL_SIDE), label(lang, L_TOTAL));
        table_set(&t, 0, 3, head);
        snprintf(head, sizeof head, "%s %s", label(lang, L_HOSPITAL_SIDE),
                 label(lang, L_FUND_TOTAL));
        table_set(&t, 0, 4, head);
    }
    for (size_t i = 0; i < n; i++) {
        long row = table_row(&t);
        if (row < 0)
            break;
        table_set_u64(&t, (size_t)row, 0, items[i]->settlement_id);
        table_set_fen(&t, (size_t)row, 1, items[i]->total);
        table_set_fen(&t, (size_t)row, 2, items[i]->fund_total);
        if (both) {
            table_set_fen(&t, (size_t)row, 3, items[i]->hospital_total);
            table_set_fen(&t, (size_t)row, 4, items[i]->hospital_fund_total);
        }
    }
    table_print(stdout, &t);
    table_free(&t);
}

static int print_reply(const Sanhe__ReconcileReply *rr, enum sh_lang lang)
{
    printf("%s %s", rr->hospital, rr->hospital_name != NULL ? rr->hospital_name : "");
    printf("  %s\n%s\n\n", rr->day, label(lang, L_AMOUNTS_IN_YUAN));
    print_totals(rr, lang);
    if (!rr->has_balanced)
        return 0;
    printf("\n%s\n", label(lang, rr->balanced ? L_BALANCED : L_UNBALANCED));
    print_diffs(rr, lang);
    print_items(L_ONLY_ENGINE, rr->only_engine, rr->n_only_engine, false, lang);
    print_items(L_ONLY_HOSPITAL, rr->only_hospital, rr->n_only_hospital, false, lang);
    print_items(L_DIFFERING, rr->differing, rr->n_differing, true, lang);
    return rr->balanced ? 0 : 1;
}

int bureau_reconcile_cmd(const struct bureau_config *c, const struct reconcile_args *a)
{
    struct sh_error err = {0};
    Sanhe__ReconcileRequest q = SANHE__RECONCILE_REQUEST__INIT;
    q.hospital = (char *)a->hospital;
    q.day = (char *)a->day;
    int rc = 0;
    if (a->figures != NULL)
        rc = bureau_read_figures(a->figures, &q.figures, &err);
    if (rc == 0 && a->items != NULL) {
        rc = bureau_read_items(a->items, &q.items, &q.n_items, &err);
        q.has_with_items = q.with_items = true;
    }
    Sanhe__Response *resp = NULL;
    if (rc == 0)
        rc = bureau_reconcile(c, &q, &resp, &err);
    if (rc == 0)
        rc = print_reply(resp->reconcile, c->lang);
    else
        fprintf(stderr, _("sanhe-bureau: reconcile: %s\n"), err.msg);
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    bureau_free_figures(q.figures);
    bureau_free_items(q.items, q.n_items);
    return rc == 0 ? 0 : 1;
}
