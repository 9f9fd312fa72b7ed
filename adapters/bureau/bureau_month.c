/*
 * sanhe-bureau report YYYY-MM [--out FILE.html] [--books DIR]: the month
 * page. One whole-day reconcile per day of the month; a table of the days
 * (settlements, reversals, net amounts per fund), a trend chart of each
 * fund's net payments by day, and, with --books DIR (DIR/YYYY-MM-DD/
 * HOSPITAL.json, the day's books as for report DATE), every hospital-day
 * that did not balance, each linked to its day page. The day pages of the
 * days with activity are written beside the month page (sanhe-DAY.html), so
 * that the links open from the same folder.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bureau.h"
#include "sh_date.h"

#define MONTH_DAYS_MAX 31
#define MONTH_FUNDS_MAX 16
#define MONTH_UNBALANCED_MAX 1024
#define TREND_W 960
#define TREND_H 220
#define TREND_LEFT 96
#define TREND_TOP 40
#define TREND_BOTTOM 44

struct month_day {
    char day[16];
    Sanhe__Response *resp; /* the whole-day reply (NULL: no such day) */
    bool active;           /* some hospital had activity */
};

struct unbalanced {
    char day[16];
    char hospital[64];
    char name[128];
    char what[512]; /* the figures that differ */
};

struct month {
    const struct bureau_config *c;
    struct month_day days[MONTH_DAYS_MAX];
    size_t n_days;
    const char *funds[MONTH_FUNDS_MAX];          /* every fund of the month, by id */
    const Sanhe__Totals *names[MONTH_FUNDS_MAX]; /* a totals naming each */
    size_t n_funds;
    struct unbalanced *bad; /* MONTH_UNBALANCED_MAX */
    size_t n_bad;
};

static const Sanhe__ReconcileReply *reply_of(const struct month_day *d)
{
    return d->resp != NULL ? d->resp->reconcile : NULL;
}

static void add_funds(struct month *m, const Sanhe__Totals *net)
{
    for (size_t i = 0; net != NULL && i < net->n_funds; i++) {
        size_t k = 0;
        while (k < m->n_funds && strcmp(m->funds[k], net->funds[i]->fund) != 0)
            k++;
        if (k == m->n_funds && m->n_funds < MONTH_FUNDS_MAX) {
            m->funds[m->n_funds] = net->funds[i]->fund;
            m->names[m->n_funds++] = net;
        }
    }
}

static int ask_days(struct month *m, const char *month)
{
    for (int d = 1; d <= MONTH_DAYS_MAX; d++) {
        char day[16];
        snprintf(day, sizeof day, "%.7s-%02d", month, d);
        if (sh_date_parse(day) == 0)
            break; /* past the month's last day */
        struct month_day *md = &m->days[m->n_days++];
        snprintf(md->day, sizeof md->day, "%s", day);
        struct sh_error err = {0};
        Sanhe__ReconcileRequest q = SANHE__RECONCILE_REQUEST__INIT;
        q.day = day;
        q.hospital = "";
        if (bureau_reconcile(m->c, &q, &md->resp, &err) != 0) {
            fprintf(stderr, _("sanhe-bureau: report %s: %s\n"), day, err.msg);
            return 1;
        }
        md->active = md->resp->reconcile->n_hospitals > 0;
        add_funds(m, md->resp->reconcile->net);
    }
    return m->n_days > 0 ? 0 : 1;
}

/* "Entries 3 / 2, coop 1.00 / 1.01" from a reconcile's differences. */
static void differences(const Sanhe__ReconcileReply *rr, enum sh_lang lang, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < rr->n_differences && n + 1 < size; i++) {
        const Sanhe__FigureDiff *d = rr->differences[i];
        char figure[256], e[32], h[32];
        bureau_figure_label(d->figure, rr->net, lang, figure, sizeof figure);
        bool count = strcmp(d->figure, "count") == 0;
        if (count)
            snprintf(e, sizeof e, "%lld", (long long)d->engine),
                snprintf(h, sizeof h, "%lld", (long long)d->hospital);
        else
            sh_yuan_format(d->engine, e), sh_yuan_format(d->hospital, h);
        int k = snprintf(out + n, size - n, _("%s%s: engine %s, books %s"), i > 0 ? _("; ") : "",
                         figure, e, h);
        n = k > 0 && (size_t)k < size - n ? n + (size_t)k : size - 1;
    }
}

/* Each active day's hospitals against DIR/DAY/HOSPITAL.json. */
static void check_books(struct month *m, const char *books_dir)
{
    for (size_t d = 0; books_dir != NULL && d < m->n_days; d++) {
        const Sanhe__ReconcileReply *rr = reply_of(&m->days[d]);
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.4000s/%s", books_dir, m->days[d].day);
        for (size_t h = 0; rr != NULL && h < rr->n_hospitals; h++) {
            struct book_result b;
            bureau_book_of(m->c, dir, m->days[d].day, rr->hospitals[h]->hospital, &b);
            if (b.state == 1 && m->n_bad < MONTH_UNBALANCED_MAX) {
                struct unbalanced *u = &m->bad[m->n_bad++];
                snprintf(u->day, sizeof u->day, "%s", m->days[d].day);
                snprintf(u->hospital, sizeof u->hospital, "%s", rr->hospitals[h]->hospital);
                snprintf(u->name, sizeof u->name, "%s",
                         rr->hospitals[h]->hospital_name ? rr->hospitals[h]->hospital_name : "");
                differences(b.resp->reconcile, m->c->lang, u->what, sizeof u->what);
            }
            if (b.resp != NULL)
                sanhe__response__free_unpacked(b.resp, NULL);
        }
    }
}

static void cell_fen(FILE *out, const char *figure, int64_t fen)
{
    char yuan[32];
    sh_yuan_format(fen, yuan);
    fputs("<td class=\"num\" data-figure=\"", out);
    bureau_html_text(out, figure);
    fprintf(out, "\" data-fen=\"%lld\">%s</td>", (long long)fen, yuan);
}

static void day_row(FILE *out, const struct month *m, const struct month_day *d, int64_t *sums)
{
    const Sanhe__ReconcileReply *rr = reply_of(d);
    uint64_t settled = rr->settlements->count, reversed = rr->reversals->count;
    fprintf(out, "<tr data-day=\"%s\"%s><td>", d->day, d->active ? "" : " class=\"quiet\"");
    if (d->active)
        fprintf(out, "<a href=\"sanhe-%s.html\">%s</a>", d->day, d->day);
    else
        fputs(d->day, out);
    fprintf(out, "</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td>",
            (unsigned long long)settled, (unsigned long long)reversed);
    cell_fen(out, "total", rr->net->total);
    for (size_t f = 0; f < m->n_funds; f++) {
        char figure[64];
        int64_t a = bureau_fund_in(rr->net, m->funds[f]);
        snprintf(figure, sizeof figure, "fund:%s", m->funds[f]);
        cell_fen(out, figure, a);
        sums[3 + f] += a;
    }
    cell_fen(out, "fund_total", rr->net->fund_total);
    cell_fen(out, "patient_pays", rr->net->patient_pays);
    fputs("</tr>\n", out);
    sums[0] += (int64_t)settled, sums[1] += (int64_t)reversed, sums[2] += rr->net->total;
    sums[3 + MONTH_FUNDS_MAX] += rr->net->fund_total;
    sums[4 + MONTH_FUNDS_MAX] += rr->net->patient_pays;
}

static void section_days(FILE *out, const struct month *m)
{
    enum sh_lang lang = m->c->lang;
    fprintf(out, "<table id=\"days\"><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th>",
            label(lang, L_DAY), label(lang, L_SETTLED), label(lang, L_REVERSED),
            label(lang, L_TOTAL));
    for (size_t f = 0; f < m->n_funds; f++) {
        char title[256];
        bureau_fund_title(m->names[f], m->funds[f], lang, title, sizeof title);
        fputs("<th>", out);
        bureau_html_text(out, title);
        fputs("</th>", out);
    }
    fprintf(out, "<th>%s</th><th>%s</th></tr></thead><tbody>\n", label(lang, L_FUND_TOTAL),
            label(lang, L_PATIENT));
    int64_t sums[5 + MONTH_FUNDS_MAX] = {0};
    for (size_t d = 0; d < m->n_days; d++)
        day_row(out, m, &m->days[d], sums);
    fprintf(out,
            "</tbody><tfoot><tr data-day=\"\"><td>%s</td><td class=\"num\">%lld</td>"
            "<td class=\"num\">%lld</td>",
            _("Month"), (long long)sums[0], (long long)sums[1]);
    cell_fen(out, "total", sums[2]);
    for (size_t f = 0; f < m->n_funds; f++) {
        char figure[64];
        snprintf(figure, sizeof figure, "fund:%s", m->funds[f]);
        cell_fen(out, figure, sums[3 + f]);
    }
    cell_fen(out, "fund_total", sums[3 + MONTH_FUNDS_MAX]);
    cell_fen(out, "patient_pays", sums[4 + MONTH_FUNDS_MAX]);
    fputs("</tr></tfoot></table>\n", out);
}

/* One chart of fund f: its net payment each day (a net negative day at
 * 0) as a line with a point per day that paid, on its own y axis in yuan
 * (funds differ by orders of magnitude), the day of the month below. */
static void trend_chart(FILE *out, const struct month *m, size_t f)
{
    enum sh_lang lang = m->c->lang;
    int64_t max = 1;
    for (size_t d = 0; d < m->n_days; d++) {
        int64_t a = bureau_fund_in(reply_of(&m->days[d])->net, m->funds[f]);
        max = a > max ? a : max;
    }
    int64_t axis = bureau_axis_max(max);
    int plot_h = TREND_H - TREND_TOP - TREND_BOTTOM, plot_w = TREND_W - TREND_LEFT - 24;
    int step = m->n_days > 1 ? plot_w / (int)(m->n_days - 1) : plot_w;
    char title[256];
    bureau_fund_title(m->names[f], m->funds[f], lang, title, sizeof title);
    fputs("<svg class=\"trend-fund\" data-fund=\"", out);
    bureau_html_text(out, m->funds[f]);
    fprintf(out, "\" width=\"%d\" height=\"%d\" role=\"img\"><title>", TREND_W, TREND_H);
    bureau_html_text(out, title);
    fputs("</title>\n", out);
    fprintf(out, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", TREND_LEFT);
    bureau_html_text(out, title);
    fputs("</text>\n", out);
    bureau_svg_y_axis(out, axis, TREND_LEFT, TREND_W - 24, TREND_TOP, plot_h);
    for (size_t d = 0; d < m->n_days; d++)
        fprintf(out,
                "<text class=\"tick\" x=\"%d\" y=\"%d\" font-size=\"11\" "
                "text-anchor=\"middle\">%zu</text>\n",
                TREND_LEFT + (int)d * step, TREND_TOP + plot_h + 14, d + 1);
    fprintf(out,
            "<polyline class=\"trend\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
            "points=\"",
            bureau_svg_colour(f));
    for (size_t d = 0; d < m->n_days; d++) {
        int64_t a = bureau_fund_in(reply_of(&m->days[d])->net, m->funds[f]);
        fprintf(out, "%s%d,%d", d > 0 ? " " : "", TREND_LEFT + (int)d * step,
                TREND_TOP + plot_h - (int)((a > 0 ? a : 0) * plot_h / axis));
    }
    fputs("\"/>\n", out);
    for (size_t d = 0; d < m->n_days; d++) {
        int64_t a = bureau_fund_in(reply_of(&m->days[d])->net, m->funds[f]);
        if (a <= 0)
            continue;
        char yuan[32];
        sh_yuan_format(a, yuan);
        int x = TREND_LEFT + (int)d * step, y = TREND_TOP + plot_h - (int)(a * plot_h / axis);
        fprintf(out,
                "<circle class=\"point\" data-day=\"%s\" data-fen=\"%lld\" cx=\"%d\" "
                "cy=\"%d\" r=\"3\" fill=\"%s\"/><text class=\"value\" x=\"%d\" y=\"%d\" "
                "font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
                m->days[d].day, (long long)a, x, y, bureau_svg_colour(f), x, y - 6, yuan);
    }
    fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n",
            TREND_LEFT + plot_w / 2, TREND_H - 8, label(lang, L_DAY));
    fprintf(out, "<text x=\"4\" y=\"%d\" font-size=\"12\">%s</text>\n", TREND_TOP - 8, _("yuan"));
    fputs("</svg>\n", out);
}

static void section_trend(FILE *out, const struct month *m)
{
    fprintf(out, "<h2>%s</h2>\n<div id=\"chart-trend\">\n", label(m->c->lang, L_TREND));
    for (size_t f = 0; f < m->n_funds; f++)
        trend_chart(out, m, f);
    fputs("</div>\n", out);
}

static void section_unbalanced(FILE *out, const struct month *m, bool books)
{
    enum sh_lang lang = m->c->lang;
    fprintf(out, "<h2>%s</h2>\n", label(lang, L_UNBALANCED_DAYS));
    if (!books) {
        fprintf(out, "<p>%s</p>\n", _("No books given (--books DIR): nothing was reconciled."));
        return;
    }
    if (m->n_bad == 0) {
        fprintf(out, "<p class=\"ok\">%s</p>\n", label(lang, L_ALL_BALANCED));
        return;
    }
    fputs("<ul id=\"unbalanced\">\n", out);
    for (size_t i = 0; i < m->n_bad; i++) {
        const struct unbalanced *u = &m->bad[i];
        fprintf(out, "<li data-day=\"%s\" data-hospital=\"", u->day);
        bureau_html_text(out, u->hospital);
        fprintf(out, "\"><a href=\"sanhe-%s.html#hospital-", u->day);
        bureau_html_text(out, u->hospital);
        fprintf(out, "\">%s ", u->day);
        bureau_html_text(out, u->hospital);
        fputs(" ", out);
        bureau_html_text(out, u->name);
        fputs("</a>: ", out);
        bureau_html_text(out, u->what);
        fputs("</li>\n", out);
    }
    fputs("</ul>\n", out);
}

/* 1 when the cross-check could not be had (the page says so). */
static int month_page(FILE *out, const struct month *m, const char *month, bool books)
{
    char title[256];
    snprintf(title, sizeof title, _("%s, monthly settlements"), month);
    bureau_html_head(out, title, m->c->lang);
    fputs("<h1>", out);
    bureau_html_text(out, title);
    fprintf(out, "</h1><p>%s</p>\n", label(m->c->lang, L_AMOUNTS_IN_YUAN));
    /* What needs the officer first: what did not balance, then the month's
     * cross-check (docs/rosters.md), then the trend, then the days one by one. */
    section_unbalanced(out, m, books);
    int rc = bureau_report_crosscheck(out, m->c, month);
    section_trend(out, m);
    fprintf(out, "<h2>%s</h2>\n", _("Day by day"));
    section_days(out, m);
    fputs("</body></html>\n", out);
    return rc;
}

/* The day pages, beside the month page. */
static int day_pages(const struct month *m, const char *path, const char *books_dir)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    for (size_t d = 0; d < m->n_days; d++) {
        if (!m->days[d].active)
            continue;
        char page[PATH_MAX], books[PATH_MAX];
        snprintf(page, sizeof page, "%.4000s/sanhe-%s.html", dir, m->days[d].day);
        snprintf(books, sizeof books, "%.4000s/%s", books_dir != NULL ? books_dir : "",
                 m->days[d].day);
        struct stat st;
        bool has_books = books_dir != NULL && stat(books, &st) == 0;
        /* Its exit status is the month's too: a day not balanced is listed
         * on the month page, a failure was said on stderr. */
        if (bureau_report(m->c, m->days[d].day, page, has_books ? books : NULL) != 0 && !has_books)
            return 1;
    }
    return 0;
}

int bureau_report_month(const struct bureau_config *c, const char *month, const char *path,
                        const char *books_dir)
{
    struct month *m = calloc(1, sizeof *m);
    int rc = m != NULL ? 0 : 1;
    if (m != NULL) {
        m->c = c;
        m->bad = calloc(MONTH_UNBALANCED_MAX, sizeof *m->bad);
        rc = m->bad != NULL ? ask_days(m, month) : 1;
    }
    if (rc == 0)
        check_books(m, books_dir);
    if (rc == 0)
        rc = day_pages(m, path, books_dir);
    FILE *out = rc == 0 ? fopen(path, "w") : NULL;
    if (rc == 0 && out == NULL)
        fprintf(stderr, _("sanhe-bureau: report: cannot write %s: %s\n"), path, strerror(errno));
    if (out != NULL) {
        int xc = month_page(out, m, month, books_dir != NULL);
        rc = fclose(out) != 0 || xc != 0;
        if (rc == 0)
            printf(_("%s (%zu days, %zu hospital-days not balanced)\n"), path, m->n_days, m->n_bad);
        if (rc == 0 && m->n_bad > 0)
            rc = 1; /* as reconcile and the day report */
    } else {
        rc = 1;
    }
    for (size_t d = 0; m != NULL && d < m->n_days; d++)
        if (m->days[d].resp != NULL)
            sanhe__response__free_unpacked(m->days[d].resp, NULL);
    if (m != NULL)
        free(m->bad);
    free(m);
    return rc;
}
