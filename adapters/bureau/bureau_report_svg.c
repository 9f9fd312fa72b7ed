/*
 * The daily report's chart: the day's net fund payments by hour, one
 * stacked bar per hour (a segment per fund), and by fund, one bar per fund.
 * Inline SVG, no script, no outside resource: the page must open from a
 * file on an office PC with no network. Heights are integer arithmetic on
 * fen (bars scaled to the largest); a net negative hour (more reversed than
 * settled) draws nothing, its figure is in the table.
 */
#include <string.h>

#include "bureau.h"

#define CHART_W 960
#define CHART_H 240
#define MARGIN 40
#define HOURS 24

static const char *const colours[] = {"#2f6db5", "#e08a1e", "#3a9a4a", "#b53a3a",
                                      "#7b52ab", "#8c6d3f", "#d04e9c", "#5f6b73"};

static int64_t fund_in(const Sanhe__Totals *t, const char *fund)
{
    for (size_t i = 0; t != NULL && i < t->n_funds; i++)
        if (strcmp(t->funds[i]->fund, fund) == 0)
            return t->funds[i]->amount > 0 ? t->funds[i]->amount : 0;
    return 0;
}

static void legend(FILE *out, const Sanhe__Totals *net, int y)
{
    for (size_t f = 0; f < net->n_funds; f++) {
        int x = MARGIN + (int)f * 140;
        fprintf(out,
                "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                "<text x=\"%d\" y=\"%d\" font-size=\"12\">",
                x, y, colours[f % 8], x + 16, y + 11);
        bureau_html_text(out, net->funds[f]->fund);
        fputs("</text>\n", out);
    }
}

void bureau_svg_by_hour(FILE *out, const Sanhe__ReconcileReply *day, const char *title)
{
    const Sanhe__Totals *net = day->net;
    int64_t max = 1;
    for (size_t h = 0; h < day->n_by_hour && h < HOURS; h++) {
        int64_t sum = 0;
        for (size_t f = 0; f < net->n_funds; f++)
            sum += fund_in(day->by_hour[h], net->funds[f]->fund);
        max = sum > max ? sum : max;
    }
    int plot_h = CHART_H - 2 * MARGIN, bar_w = (CHART_W - 2 * MARGIN) / HOURS;
    fprintf(out,
            "<svg id=\"chart-hours\" width=\"%d\" "
            "height=\"%d\" role=\"img\"><title>",
            CHART_W, CHART_H + 20);
    bureau_html_text(out, title);
    fputs("</title>\n", out);
    for (size_t h = 0; h < day->n_by_hour && h < HOURS; h++) {
        int x = MARGIN + (int)h * bar_w, y = MARGIN + plot_h;
        for (size_t f = 0; f < net->n_funds; f++) {
            int64_t a = fund_in(day->by_hour[h], net->funds[f]->fund);
            int height = (int)(a * plot_h / max);
            if (height <= 0)
                continue;
            y -= height;
            fprintf(out, "<rect class=\"bar\" data-hour=\"%zu\" data-fund=\"", h);
            bureau_html_text(out, net->funds[f]->fund);
            fprintf(out,
                    "\" data-fen=\"%lld\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                    "fill=\"%s\"/>\n",
                    (long long)a, x + 2, y, bar_w - 4, height, colours[f % 8]);
        }
        fprintf(out,
                "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%zu"
                "</text>\n",
                x + bar_w / 2, MARGIN + plot_h + 14, h);
    }
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", MARGIN,
            MARGIN + plot_h, CHART_W - MARGIN, MARGIN + plot_h);
    legend(out, net, 8);
    fputs("</svg>\n", out);
}

void bureau_svg_by_fund(FILE *out, const Sanhe__ReconcileReply *day, const char *title)
{
    const Sanhe__Totals *net = day->net;
    int64_t max = 1;
    for (size_t f = 0; f < net->n_funds; f++)
        max = fund_in(net, net->funds[f]->fund) > max ? fund_in(net, net->funds[f]->fund) : max;
    int row_h = 28, plot_w = CHART_W - 2 * MARGIN - 160;
    int height = MARGIN + (int)net->n_funds * row_h;
    fprintf(out,
            "<svg id=\"chart-funds\" width=\"%d\" "
            "height=\"%d\" role=\"img\"><title>",
            CHART_W, height);
    bureau_html_text(out, title);
    fputs("</title>\n", out);
    for (size_t f = 0; f < net->n_funds; f++) {
        int64_t a = fund_in(net, net->funds[f]->fund);
        int y = 10 + (int)f * row_h, w = (int)(a * plot_w / max);
        char yuan[32];
        sh_yuan_format(net->funds[f]->amount, yuan);
        fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\">", MARGIN, y + 15);
        bureau_html_text(out, net->funds[f]->fund);
        fputs("</text><rect class=\"bar\" data-fund=\"", out);
        bureau_html_text(out, net->funds[f]->fund);
        fprintf(out,
                "\" data-fen=\"%lld\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"20\" "
                "fill=\"%s\"/><text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>\n",
                (long long)net->funds[f]->amount, MARGIN + 80, y, w > 0 ? w : 0, colours[f % 8],
                MARGIN + 86 + (w > 0 ? w : 0), y + 15, yuan);
    }
    fputs("</svg>\n", out);
}
