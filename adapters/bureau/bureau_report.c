/*
 * sanhe-bureau report DATE [--out FILE.html] [--books DIR]: the day as a
 * static HTML page the bureau opens in a browser. No server, no script, no
 * outside resource (fonts, styles and the SVG chart are inline), so it opens
 * from a file and prints as it shows. Per hospital and fund the day's net
 * figures; with --books DIR, each hospital's own figures (DIR/HOSPITAL.json,
 * as for reconcile --figures) are reconciled and an unbalanced hospital is
 * marked, with the figures that differ. Amounts in yuan; every amount cell
 * also carries its fen (data-fen) so a test can read the page exactly.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bureau.h"

void bureau_html_text(FILE *out, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static void cell_fen(FILE *out, const char *figure, int64_t fen)
{
    char yuan[32];
    sh_yuan_format(fen, yuan);
    fprintf(out, "<td class=\"num\" data-figure=\"");
    bureau_html_text(out, figure);
    fprintf(out, "\" data-fen=\"%lld\">%s</td>", (long long)fen, yuan);
}

void bureau_book_of(const struct bureau_config *c, const char *books, const char *day,
                    const char *hospital, struct book_result *b)
{
    b->state = -1;
    b->resp = NULL;
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%.3000s/%.200s.json", books != NULL ? books : "", hospital);
    if (books == NULL || stat(path, &st) != 0)
        return;
    struct sh_error err = {0};
    Sanhe__ReconcileRequest q = SANHE__RECONCILE_REQUEST__INIT;
    q.day = (char *)day;
    q.hospital = (char *)hospital;
    if (bureau_read_figures(path, &q.figures, &err) == 0 &&
        bureau_reconcile(c, &q, &b->resp, &err) == 0)
        b->state = b->resp->reconcile->balanced ? 0 : 1;
    else
        fprintf(stderr, _("sanhe-bureau: report: %s: %s\n"), hospital, err.msg);
    bureau_free_figures(q.figures);
}

static void status_cell(FILE *out, const struct book_result *b, enum sh_lang lang)
{
    if (b->state < 0) {
        fprintf(out, "<td class=\"status\">%s</td>", label(lang, L_NOT_RECONCILED));
        return;
    }
    if (b->state == 0) {
        fprintf(out, "<td class=\"status ok\">%s</td>", label(lang, L_BALANCED_SHORT));
        return;
    }
    fprintf(out, "<td class=\"status bad\"><strong>%s</strong>", label(lang, L_UNBALANCED_SHORT));
    const Sanhe__ReconcileReply *rr = b->resp->reconcile;
    for (size_t i = 0; i < rr->n_differences; i++) {
        char e[32], h[32], figure[TABLE_CELL_MAX];
        bool count = strcmp(rr->differences[i]->figure, "count") == 0;
        sh_yuan_format(rr->differences[i]->engine, e);
        sh_yuan_format(rr->differences[i]->hospital, h);
        bureau_figure_label(rr->differences[i]->figure, rr->net, lang, figure, sizeof figure);
        fprintf(out, "<br><span class=\"diff\" data-figure=\"");
        bureau_html_text(out, rr->differences[i]->figure);
        fputs("\">", out);
        bureau_html_text(out, figure);
        if (count)
            fprintf(out, ": %lld / %lld", (long long)rr->differences[i]->engine,
                    (long long)rr->differences[i]->hospital);
        else
            fprintf(out, ": %s / %s", e, h);
        fputs("</span>", out);
    }
    fputs("</td>", out);
}

static void head_row(FILE *out, const Sanhe__Totals *net, enum sh_lang lang)
{
    const enum label head[] = {L_HOSPITAL, L_NAME, L_SETTLED, L_REVERSED, L_TOTAL};
    fputs("<thead><tr>", out);
    for (size_t i = 0; i < 5; i++)
        fprintf(out, "<th>%s</th>", label(lang, head[i]));
    for (size_t f = 0; f < net->n_funds; f++) {
        char title[TABLE_CELL_MAX];
        bureau_fund_title(net, net->funds[f]->fund, lang, title, sizeof title);
        fputs("<th data-fund=\"", out);
        bureau_html_text(out, net->funds[f]->fund);
        fputs("\">", out);
        bureau_html_text(out, title);
        fputs("</th>", out);
    }
    fprintf(out, "<th>%s</th><th>%s</th><th>%s</th></tr></thead>\n", label(lang, L_FUND_TOTAL),
            label(lang, L_PATIENT), label(lang, L_RECONCILIATION));
}

static void hospital_row(FILE *out, const Sanhe__ReconcileReply *h, const Sanhe__Totals *day_net,
                         const struct book_result *b, enum sh_lang lang)
{
    fprintf(out, "<tr id=\"hospital-");
    bureau_html_text(out, h->hospital);
    fprintf(out, "\" data-hospital=\"");
    bureau_html_text(out, h->hospital);
    fprintf(out, "\"%s><td>", b->state == 1 ? " class=\"unbalanced\"" : "");
    bureau_html_text(out, h->hospital);
    fputs("</td><td class=\"name\">", out);
    bureau_html_text(out, h->hospital_name);
    fprintf(out, "</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td>",
            (unsigned long long)h->settlements->count, (unsigned long long)h->reversals->count);
    cell_fen(out, "total", h->net->total);
    for (size_t f = 0; f < day_net->n_funds; f++) {
        char figure[64];
        snprintf(figure, sizeof figure, "fund:%s", day_net->funds[f]->fund);
        cell_fen(out, figure, bureau_fund_in(h->net, day_net->funds[f]->fund));
    }
    cell_fen(out, "fund_total", h->net->fund_total);
    cell_fen(out, "patient_pays", h->net->patient_pays);
    status_cell(out, b, lang);
    fputs("</tr>\n", out);
}

static void totals_row(FILE *out, const Sanhe__ReconcileReply *day, enum sh_lang lang)
{
    fprintf(out,
            "<tfoot><tr data-hospital=\"\"><td colspan=\"2\">%s</td>"
            "<td class=\"num\">%llu</td><td class=\"num\">%llu</td>",
            label(lang, L_ALL), (unsigned long long)day->settlements->count,
            (unsigned long long)day->reversals->count);
    cell_fen(out, "total", day->net->total);
    for (size_t f = 0; f < day->net->n_funds; f++) {
        char figure[64];
        snprintf(figure, sizeof figure, "fund:%s", day->net->funds[f]->fund);
        cell_fen(out, figure, day->net->funds[f]->amount);
    }
    cell_fen(out, "fund_total", day->net->fund_total);
    cell_fen(out, "patient_pays", day->net->patient_pays);
    fputs("<td></td></tr></tfoot>\n", out);
}

static const char STYLE[] =
    "body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;margin:24px;"
    "color:#222}table{border-collapse:collapse;margin:16px 0}th,td{border:1px solid #bbb;"
    "padding:4px 8px}th{background:#eef2f7}td.num{text-align:right;font-variant-numeric:"
    "tabular-nums}tr.unbalanced td{background:#fde8e8}td.bad{color:#a00}td.ok{color:#176d2c}"
    "tfoot td{font-weight:bold;background:#f6f6f6}h2{margin-top:28px}"
    /* A hospital's name on one line, whatever the column's width. */
    "td.name,th{white-space:nowrap}td.status{min-width:12em}"
    "svg text{font-family:inherit}tr.quiet td{color:#999}ul#unbalanced li{margin:4px 0}"
    "a{color:#1a4f9c}";

/* The page is a list of sections, each a function of the same inputs, so
 * that a section (a monthly cross-check, say) is one more entry. */
struct report_view {
    const Sanhe__ReconcileReply *day;
    const struct book_result *books;
    enum sh_lang lang;
};
typedef void (*report_section)(FILE *out, const struct report_view *v);

static void section_hospitals(FILE *out, const struct report_view *v)
{
    const Sanhe__ReconcileReply *day = v->day;
    fputs("<table id=\"hospitals\">", out);
    head_row(out, day->net, v->lang);
    fputs("<tbody>\n", out);
    for (size_t i = 0; i < day->n_hospitals; i++)
        hospital_row(out, day->hospitals[i], day->net, &v->books[i], v->lang);
    fputs("</tbody>", out);
    totals_row(out, day, v->lang);
    fputs("</table>\n", out);
}

static void section_by_hour(FILE *out, const struct report_view *v)
{
    fprintf(out, "<h2>%s</h2>\n", label(v->lang, L_BY_HOUR));
    bureau_svg_by_hour(out, v->day, label(v->lang, L_BY_HOUR), v->lang);
}

static void section_by_fund(FILE *out, const struct report_view *v)
{
    fprintf(out, "<h2>%s</h2>\n", label(v->lang, L_BY_FUND));
    bureau_svg_by_fund(out, v->day, label(v->lang, L_BY_FUND), v->lang);
}

static const report_section day_sections[] = {section_hospitals, section_by_hour, section_by_fund};

void bureau_html_head(FILE *out, const char *title, enum sh_lang lang)
{
    fprintf(out,
            "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
            "<title>",
            lang == SH_LANG_ZH ? "zh-CN" : "en");
    bureau_html_text(out, title);
    fprintf(out, "</title><style>%s</style></head><body>\n", STYLE);
}

static void page(FILE *out, const struct report_view *v)
{
    char title[256];
    snprintf(title, sizeof title, _("%s, daily settlements"), v->day->day);
    bureau_html_head(out, title, v->lang);
    fputs("<h1>", out);
    bureau_html_text(out, title);
    fprintf(out, "</h1><p>%s</p>\n", label(v->lang, L_AMOUNTS_IN_YUAN));
    for (size_t i = 0; i < sizeof day_sections / sizeof day_sections[0]; i++)
        day_sections[i](out, v);
    fputs("</body></html>\n", out);
}

int bureau_report(const struct bureau_config *c, const char *day, const char *path,
                  const char *books_dir)
{
    struct sh_error err = {0};
    Sanhe__ReconcileRequest q = SANHE__RECONCILE_REQUEST__INIT;
    q.day = (char *)day;
    q.hospital = "";
    q.has_with_hours = q.with_hours = true;
    Sanhe__Response *resp = NULL;
    if (bureau_reconcile(c, &q, &resp, &err) != 0) {
        fprintf(stderr, _("sanhe-bureau: report %s: %s\n"), day, err.msg);
        return 1;
    }
    const Sanhe__ReconcileReply *rr = resp->reconcile;
    struct book_result *books = calloc(rr->n_hospitals + 1, sizeof *books);
    int unbalanced = 0, rc = books == NULL ? 1 : 0;
    for (size_t i = 0; rc == 0 && i < rr->n_hospitals; i++) {
        bureau_book_of(c, books_dir, day, rr->hospitals[i]->hospital, &books[i]);
        unbalanced += books[i].state == 1;
    }
    FILE *out = rc == 0 ? fopen(path, "w") : NULL;
    if (out != NULL) {
        struct report_view v = {.day = rr, .books = books, .lang = c->lang};
        page(out, &v);
        rc = fclose(out) != 0;
    } else {
        rc = 1;
    }
    if (rc != 0)
        fprintf(stderr, _("sanhe-bureau: report: cannot write %s\n"), path);
    else
        printf(_("%s (%zu hospitals, %d not balanced)\n"), path, rr->n_hospitals, unbalanced);
    /* As reconcile: a hospital that does not balance is a failure. */
    if (rc == 0 && unbalanced > 0)
        rc = 1;
    for (size_t i = 0; books != NULL && i < rr->n_hospitals; i++)
        if (books[i].resp != NULL)
            sanhe__response__free_unpacked(books[i].resp, NULL);
    free(books);
    sanhe__response__free_unpacked(resp, NULL);
    return rc;
}
