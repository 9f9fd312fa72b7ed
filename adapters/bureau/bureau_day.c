/*
 * sanhe-bureau day DATE [--hospital H]...: the day's settlements, one row
 * per hospital, one column per fund, with a totals row. Amounts are net
 * (settlements less reversals that day), in yuan; counts are the day's
 * settle and reversal entries. Without --hospital the engine names the
 * hospitals that had activity (a reconcile with no hospital); with it, each
 * named hospital is asked for, activity or not.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bureau.h"

#define FIXED_COLS 7 /* hospital, name, settled, reversed, total, fund total, patient */
#define FUND_COLS_MAX (TABLE_COLS_MAX - FIXED_COLS)

struct day_view {
    const Sanhe__ReconcileReply **hospitals;
    size_t count;
    size_t fund_count;
    const char *funds[FUND_COLS_MAX]; /* sorted by id, as the engine sorts them */
};

static int add_fund(struct day_view *v, const char *fund)
{
    size_t i = 0;
    while (i < v->fund_count && strcmp(v->funds[i], fund) < 0)
        i++;
    if (i < v->fund_count && strcmp(v->funds[i], fund) == 0)
        return 0;
    if (v->fund_count == FUND_COLS_MAX)
        return -1;
    memmove(&v->funds[i + 1], &v->funds[i], (v->fund_count - i) * sizeof v->funds[0]);
    v->funds[i] = fund;
    v->fund_count++;
    return 0;
}

static int64_t fund_amount(const Sanhe__Totals *t, const char *fund)
{
    for (size_t i = 0; t != NULL && i < t->n_funds; i++)
        if (t->funds[i]->fund != NULL && strcmp(t->funds[i]->fund, fund) == 0)
            return t->funds[i]->amount;
    return 0;
}

/* The sums of the totals row. */
struct day_sums {
    uint64_t settled, reversed;
    int64_t total, fund_total, patient;
    int64_t funds[FUND_COLS_MAX];
};

static void fill_row(struct table *t, size_t row, const struct day_view *v,
                     const Sanhe__ReconcileReply *h, struct day_sums *sums)
{
    const Sanhe__Totals *net = h->net;
    uint64_t settled = h->settlements != NULL ? h->settlements->count : 0;
    uint64_t reversed = h->reversals != NULL ? h->reversals->count : 0;
    table_set(t, row, 0, h->hospital);
    table_set(t, row, 1, h->hospital_name);
    table_set_u64(t, row, 2, settled);
    table_set_u64(t, row, 3, reversed);
    table_set_fen(t, row, 4, net != NULL ? net->total : 0);
    for (size_t f = 0; f < v->fund_count; f++) {
        int64_t a = fund_amount(net, v->funds[f]);
        table_set_fen(t, row, 5 + f, a);
        sums->funds[f] += a;
    }
    table_set_fen(t, row, 5 + v->fund_count, net != NULL ? net->fund_total : 0);
    table_set_fen(t, row, 6 + v->fund_count, net != NULL ? net->patient_pays : 0);
    sums->settled += settled;
    sums->reversed += reversed;
    sums->total += net != NULL ? net->total : 0;
    sums->fund_total += net != NULL ? net->fund_total : 0;
    sums->patient += net != NULL ? net->patient_pays : 0;
}

static void fill_sums(struct table *t, size_t row, const struct day_view *v,
                      const struct day_sums *s, enum sh_lang lang)
{
    table_set(t, row, 0, label(lang, L_ALL));
    table_set_u64(t, row, 2, s->settled);
    table_set_u64(t, row, 3, s->reversed);
    table_set_fen(t, row, 4, s->total);
    for (size_t f = 0; f < v->fund_count; f++)
        table_set_fen(t, row, 5 + f, s->funds[f]);
    table_set_fen(t, row, 5 + v->fund_count, s->fund_total);
    table_set_fen(t, row, 6 + v->fund_count, s->patient);
}

/* The name of fund f as some hospital's reply gives it. */
static void fund_title(const struct day_view *v, size_t f, enum sh_lang lang, char *out,
                       size_t size)
{
    const Sanhe__Totals *names = NULL;
    for (size_t i = 0; i < v->count && names == NULL; i++)
        for (size_t k = 0; v->hospitals[i]->net != NULL && k < v->hospitals[i]->net->n_funds; k++)
            if (strcmp(v->hospitals[i]->net->funds[k]->fund, v->funds[f]) == 0 &&
                v->hospitals[i]->net->funds[k]->name != NULL)
                names = v->hospitals[i]->net;
    bureau_fund_title(names, v->funds[f], lang, out, size);
}

static int print_day(const struct day_view *v, const char *day, enum sh_lang lang)
{
    printf(_("%s, daily settlements\n"), day);
    printf("%s\n\n", label(lang, L_AMOUNTS_IN_YUAN));
    struct table t;
    if (table_init(&t, FIXED_COLS + v->fund_count) != 0)
        return 1;
    const enum label head[] = {L_HOSPITAL, L_NAME, L_SETTLED, L_REVERSED, L_TOTAL};
    for (size_t i = 0; i < 5; i++)
        table_set(&t, 0, i, label(lang, head[i]));
    for (size_t f = 0; f < v->fund_count; f++) {
        char title[TABLE_CELL_MAX];
        fund_title(v, f, lang, title, sizeof title);
        table_set(&t, 0, 5 + f, title);
    }
    table_set(&t, 0, 5 + v->fund_count, label(lang, L_FUND_TOTAL));
    table_set(&t, 0, 6 + v->fund_count, label(lang, L_PATIENT));
    struct day_sums sums = {0};
    for (size_t i = 0; i < v->count; i++) {
        long row = table_row(&t);
        if (row < 0)
            break;
        fill_row(&t, (size_t)row, v, v->hospitals[i], &sums);
    }
    long row = table_row(&t);
    if (row >= 0) {
        t.rule_before = (size_t)row;
        fill_sums(&t, (size_t)row, v, &sums, lang);
    }
    table_print(stdout, &t);
    if (v->count == 0)
        printf("(%s)\n", label(lang, L_NO_ACTIVITY));
    table_free(&t);
    return 0;
}

/* The replies to show: the whole day's hospitals, or one reply per name. */
static int ask(const struct bureau_config *c, const char *day, char **names, size_t n,
               Sanhe__Response **resp, struct day_view *v)
{
    struct sh_error err = {0};
    size_t asks = n > 0 ? n : 1;
    for (size_t i = 0; i < asks; i++) {
        Sanhe__ReconcileRequest q = SANHE__RECONCILE_REQUEST__INIT;
        q.day = (char *)day;
        q.hospital = n > 0 ? names[i] : "";
        if (bureau_reconcile(c, &q, &resp[i], &err) < 0) {
            if (n > 0)
                fprintf(stderr, _("sanhe-bureau: day %s, hospital %s: %s\n"), day, names[i],
                        err.msg);
            else
                fprintf(stderr, _("sanhe-bureau: day %s: %s\n"), day, err.msg);
            return 1;
        }
        Sanhe__ReconcileReply *rr = resp[i]->reconcile;
        if (n == 0 && rr->n_hospitals > BUREAU_HOSPITALS_MAX) {
            fprintf(stderr,
                    _("sanhe-bureau: day %s: %zu hospitals, more than this table shows "
                      "(%d): name them with --hospital\n"),
                    day, rr->n_hospitals, BUREAU_HOSPITALS_MAX);
            return 1;
        }
        /* A counter's certificate: the engine answers for its own hospital
         * alone (a reply of one hospital, not a day's list). */
        bool own = n == 0 && rr->n_hospitals == 0 && rr->hospital != NULL && rr->hospital[0];
        if (n > 0 || own)
            v->hospitals[v->count++] = rr;
        for (size_t h = 0; n == 0 && h < rr->n_hospitals && h < BUREAU_HOSPITALS_MAX; h++)
            v->hospitals[v->count++] = rr->hospitals[h];
    }
    return 0;
}

static int collect_funds(struct day_view *v)
{
    for (size_t i = 0; i < v->count; i++) {
        const Sanhe__Totals *net = v->hospitals[i]->net;
        for (size_t f = 0; net != NULL && f < net->n_funds; f++)
            if (net->funds[f]->fund != NULL && add_fund(v, net->funds[f]->fund) != 0) {
                fprintf(stderr, _("sanhe-bureau: more than %d funds: not shown\n"), FUND_COLS_MAX);
                return 1;
            }
    }
    return 0;
}

int bureau_day(const struct bureau_config *c, const char *day, char **names, size_t n)
{
    if (n > BUREAU_HOSPITALS_MAX) {
        fprintf(stderr, _("sanhe-bureau: at most %d hospitals\n"), BUREAU_HOSPITALS_MAX);
        return 2;
    }
    Sanhe__Response *resp[BUREAU_HOSPITALS_MAX] = {0};
    const Sanhe__ReconcileReply *hospitals[BUREAU_HOSPITALS_MAX];
    struct day_view v = {.hospitals = hospitals};
    int rc = ask(c, day, names, n, resp, &v);
    if (rc == 0)
        rc = collect_funds(&v);
    if (rc == 0)
        rc = print_day(&v, day, c->lang);
    for (size_t i = 0; i < BUREAU_HOSPITALS_MAX; i++)
        if (resp[i] != NULL)
            sanhe__response__free_unpacked(resp[i], NULL);
    return rc;
}
