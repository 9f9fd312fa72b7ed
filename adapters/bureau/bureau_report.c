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

static int64_t fund_of(const Sanhe__Totals *t, const char *fund)
{
    for (size_t i = 0; t != NULL && i < t->n_funds; i++)
        if (strcmp(t->funds[i]->fund, fund) == 0)
            return t->funds[i]->amount;
    return 0;
}

/* A hospital's reconciliation against its books: -1 none given, 0 balanced, 1 not. */
struct book_result {
    int state;
    Sanhe__Response *resp; /* the reply with the differences */
};

static void book_of(const struct bureau_config *c, const char *books, const char *day,
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
        fprintf(stderr, "sanhe-bureau: report: %s: %s\n", hospital, err.msg);
    bureau_free_figures(q.figures);
}

static void status_cell(FILE *out, const struct book_result *b, enum sh_lang lang)
{
    bool zh = lang == SH_LANG_ZH;
    if (b->state < 0) {
        fprintf(out, "<td class=\"status\">%s</td>", zh ? "未对账" : "not reconciled");
        return;
    }
    if (b->state == 0) {
        fprintf(out, "<td class=\"status ok\">%s</td>", zh ? "平" : "balanced");
        return;
    }
    fprintf(out, "<td class=\"status bad\"><strong>%s</strong>", zh ? "不平" : "NOT balanced");
    const Sanhe__ReconcileReply *rr = b->resp->reconcile;
    for (size_t i = 0; i < rr->n_differences; i++) {
        char e[32], h[32];
        bool count = strcmp(rr->differences[i]->figure, "count") == 0;
        sh_yuan_format(rr->differences[i]->engine, e);
        sh_yuan_format(rr->differences[i]->hospital, h);
        fputs("<br>", out);
        bureau_html_text(out, rr->differences[i]->figure);
        if (count)
            fprintf(out, ": %lld / %lld", (long long)rr->differences[i]->engine,
                    (long long)rr->differences[i]->hospital);
        else
            fprintf(out, ": %s / %s", e, h);
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
        fputs("<th>", out);
        bureau_html_text(out, net->funds[f]->fund);
        fputs("</th>", out);
    }
    fprintf(out, "<th>%s</th><th>%s</th><th>%s</th></tr></thead>\n", label(lang, L_FUND_TOTAL),
            label(lang, L_PATIENT), lang == SH_LANG_ZH ? "对账" : "Reconciliation");
}

static void hospital_row(FILE *out, const Sanhe__ReconcileReply *h, const Sanhe__Totals *day_net,
                         const struct book_result *b, enum sh_lang lang)
{
    fprintf(out, "<tr data-hospital=\"");
    bureau_html_text(out, h->hospital);
    fprintf(out, "\"%s><td>", b->state == 1 ? " class=\"unbalanced\"" : "");
    bureau_html_text(out, h->hospital);
    fputs("</td><td>", out);
    bureau_html_text(out, h->hospital_name);
    fprintf(out, "</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td>",
            (unsigned long long)h->settlements->count, (unsigned long long)h->reversals->count);
    cell_fen(out, "total", h->net->total);
    for (size_t f = 0; f < day_net->n_funds; f++) {
        char figure[64];
        snprintf(figure, sizeof figure, "fund:%s", day_net->funds[f]->fund);
        cell_fen(out, figure, fund_of(h->net, day_net->funds[f]->fund));
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
    "tfoot td{font-weight:bold;background:#f6f6f6}h2{margin-top:28px}";

static void page(FILE *out, const Sanhe__ReconcileReply *day, const struct book_result *books,
                 enum sh_lang lang)
{
    bool zh = lang == SH_LANG_ZH;
    fprintf(out,
            "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
            "<title>%s %s</title><style>%s</style></head><body>\n",
            zh ? "zh-CN" : "en", day->day, label(lang, L_DAY_TITLE), STYLE);
    fprintf(out, "<h1>%s %s</h1><p>%s</p>\n", day->day, label(lang, L_DAY_TITLE),
            label(lang, L_AMOUNTS_IN_YUAN));
    fputs("<table id=\"hospitals\">", out);
    head_row(out, day->net, lang);
    fputs("<tbody>\n", out);
    for (size_t i = 0; i < day->n_hospitals; i++)
        hospital_row(out, day->hospitals[i], day->net, &books[i], lang);
    fputs("</tbody>", out);
    totals_row(out, day, lang);
    fputs("</table>\n", out);
    const char *by_hour = zh ? "按小时的基金支付（净额）" : "Fund payments by hour (net)";
    const char *by_fund = zh ? "按基金的支付（净额）" : "Payments by fund (net)";
    fprintf(out, "<h2>%s</h2>\n", by_hour);
    bureau_svg_by_hour(out, day, by_hour);
    fprintf(out, "<h2>%s</h2>\n", by_fund);
    bureau_svg_by_fund(out, day, by_fund);
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
        fprintf(stderr, "sanhe-bureau: report %s: %s\n", day, err.msg);
        return 1;
    }
    const Sanhe__ReconcileReply *rr = resp->reconcile;
    struct book_result *books = calloc(rr->n_hospitals + 1, sizeof *books);
    int unbalanced = 0, rc = books == NULL ? 1 : 0;
    for (size_t i = 0; rc == 0 && i < rr->n_hospitals; i++) {
        book_of(c, books_dir, day, rr->hospitals[i]->hospital, &books[i]);
        unbalanced += books[i].state == 1;
    }
    FILE *out = rc == 0 ? fopen(path, "w") : NULL;
    if (out != NULL) {
        page(out, rr, books, c->lang);
        rc = fclose(out) != 0;
    } else {
        rc = 1;
    }
    if (rc != 0)
        fprintf(stderr, "sanhe-bureau: report: cannot write %s\n", path);
    else
        printf("%s (%zu hospitals, %d not balanced)\n", path, rr->n_hospitals, unbalanced);
    for (size_t i = 0; books != NULL && i < rr->n_hospitals; i++)
        if (books[i].resp != NULL)
            sanhe__response__free_unpacked(books[i].resp, NULL);
    free(books);
    sanhe__response__free_unpacked(resp, NULL);
    return rc;
}
