/*
 * The report pages' charts, inline SVG (no script, no outside resource:
 * the page must open from a file on an office PC with no network):
 *
 *   by hour   the day's net fund payments, one stacked bar per hour (a
 *             segment per fund), a y axis in yuan with gridlines, the hour
 *             on the x axis, and each hour's sum above its bar;
 *   by fund   one bar per fund, its amount at its end;
 *   trend     (the month page) one line per fund across the days.
 *
 * Heights are integer arithmetic on fen, scaled to a round axis maximum; a
 * net negative figure (more reversed than settled) draws nothing, its
 * figure is in the table.
 */
#include <string.h>

#include "bureau.h"

#define CHART_W 960
#define CHART_H 300
#define LEFT 96 /* room for the y axis labels */
#define RIGHT 24
#define TOP 40
#define BOTTOM 44
#define HOURS 24
#define TICKS 4

static const char *const colours[] = {"#2f6db5", "#e08a1e", "#3a9a4a", "#b53a3a",
                                      "#7b52ab", "#8c6d3f", "#d04e9c", "#5f6b73"};

static int64_t positive(int64_t v) { return v > 0 ? v : 0; }

int64_t bureau_fund_in(const Sanhe__Totals *t, const char *fund)
{
    for (size_t i = 0; t != NULL && i < t->n_funds; i++)
        if (strcmp(t->funds[i]->fund, fund) == 0)
            return t->funds[i]->amount;
    return 0;
}

/* The smallest 1, 2 or 5 times a power of ten (in yuan) at least max fen,
 * so that the ticks read as round numbers. */
int64_t bureau_axis_max(int64_t max)
{
    int64_t step = 100; /* one yuan */
    for (;;) {
        static const int mult[] = {1, 2, 5};
        for (int i = 0; i < 3; i++)
            if (step * mult[i] >= max)
                return step * mult[i];
        if (step > INT64_MAX / 100)
            return max;
        step *= 10;
    }
}

void bureau_svg_legend(FILE *out, const Sanhe__Totals *net, int x0, int y, enum sh_lang lang)
{
    int x = x0;
    for (size_t f = 0; f < net->n_funds; f++) {
        char title[256];
        bureau_fund_title(net, net->funds[f]->fund, lang, title, sizeof title);
        fprintf(out,
                "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                "<text x=\"%d\" y=\"%d\" font-size=\"12\">",
                x, y, colours[f % 8], x + 16, y + 11);
        bureau_html_text(out, title);
        fputs("</text>\n", out);
        x += 32 + text_width(title) * 7;
    }
}

const char *bureau_svg_colour(size_t i) { return colours[i % 8]; }

/* The y axis: ticks, gridlines and labels in yuan, from 0 to axis. */
void bureau_svg_y_axis(FILE *out, int64_t axis, int x0, int x1, int top, int plot_h)
{
    for (int k = 0; k <= TICKS; k++) {
        int64_t v = axis * k / TICKS;
        int y = top + plot_h - (int)((int64_t)plot_h * k / TICKS);
        char yuan[32];
        sh_yuan_format(v, yuan);
        fprintf(out,
                "<line class=\"grid\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
                "<text class=\"tick\" x=\"%d\" y=\"%d\" font-size=\"11\" "
                "text-anchor=\"end\">%s</text>\n",
                x0, y, x1, y, x0 - 6, y + 4, yuan);
    }
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", x0, top, x0,
            top + plot_h);
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", x0,
            top + plot_h, x1, top + plot_h);
}

void bureau_svg_by_hour(FILE *out, const Sanhe__ReconcileReply *day, const char *title,
                        enum sh_lang lang)
{
    const Sanhe__Totals *net = day->net;
    int64_t sums[HOURS] = {0}, max = 1;
    for (size_t h = 0; h < day->n_by_hour && h < HOURS; h++) {
        for (size_t f = 0; f < net->n_funds; f++)
            sums[h] += positive(bureau_fund_in(day->by_hour[h], net->funds[f]->fund));
        max = sums[h] > max ? sums[h] : max;
    }
    int64_t axis = bureau_axis_max(max);
    int plot_h = CHART_H - TOP - BOTTOM, bar_w = (CHART_W - LEFT - RIGHT) / HOURS;
    fprintf(out, "<svg id=\"chart-hours\" width=\"%d\" height=\"%d\" role=\"img\"><title>", CHART_W,
            CHART_H);
    bureau_html_text(out, title);
    fputs("</title>\n", out);
    bureau_svg_y_axis(out, axis, LEFT, CHART_W - RIGHT, TOP, plot_h);
    for (size_t h = 0; h < HOURS; h++) {
        int x = LEFT + (int)h * bar_w, y = TOP + plot_h;
        for (size_t f = 0; h < day->n_by_hour && f < net->n_funds; f++) {
            int64_t a = positive(bureau_fund_in(day->by_hour[h], net->funds[f]->fund));
            int height = (int)(a * plot_h / axis);
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
        if (sums[h] > 0) {
            char yuan[32];
            sh_yuan_format(sums[h], yuan);
            fprintf(out,
                    "<text class=\"value\" data-hour=\"%zu\" x=\"%d\" y=\"%d\" font-size=\"10\" "
                    "text-anchor=\"middle\">%s</text>\n",
                    h, x + bar_w / 2, y - 4, yuan);
        }
        fprintf(out,
                "<text class=\"tick\" x=\"%d\" y=\"%d\" font-size=\"11\" "
                "text-anchor=\"middle\">%zu</text>\n",
                x + bar_w / 2, TOP + plot_h + 14, h);
    }
    fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n",
            LEFT + (CHART_W - LEFT - RIGHT) / 2, CHART_H - 8, label(lang, L_HOUR));
    fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>\n", 4, TOP - 12, _("yuan"));
    bureau_svg_legend(out, net, LEFT, 8, lang);
    fputs("</svg>\n", out);
}

void bureau_svg_by_fund(FILE *out, const Sanhe__ReconcileReply *day, const char *title,
                        enum sh_lang lang)
{
    const Sanhe__Totals *net = day->net;
    int64_t max = 1;
    for (size_t f = 0; f < net->n_funds; f++)
        max = net->funds[f]->amount > max ? net->funds[f]->amount : max;
    int row_h = 28, label_w = 220, plot_w = CHART_W - LEFT - label_w - 160;
    int height = 20 + (int)net->n_funds * row_h;
    fprintf(out, "<svg id=\"chart-funds\" width=\"%d\" height=\"%d\" role=\"img\"><title>", CHART_W,
            height);
    bureau_html_text(out, title);
    fputs("</title>\n", out);
    for (size_t f = 0; f < net->n_funds; f++) {
        int64_t a = positive(net->funds[f]->amount);
        int y = 10 + (int)f * row_h, w = (int)(a * plot_w / max);
        char yuan[32], name[256];
        sh_yuan_format(net->funds[f]->amount, yuan);
        bureau_fund_title(net, net->funds[f]->fund, lang, name, sizeof name);
        fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\">", 8, y + 15);
        bureau_html_text(out, name);
        fputs("</text><rect class=\"bar\" data-fund=\"", out);
        bureau_html_text(out, net->funds[f]->fund);
        fprintf(out,
                "\" data-fen=\"%lld\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"20\" "
                "fill=\"%s\"/><text class=\"value\" x=\"%d\" y=\"%d\" font-size=\"12\">%s"
                "</text>\n",
                (long long)net->funds[f]->amount, label_w, y, w, colours[f % 8], label_w + 6 + w,
                y + 15, yuan);
    }
    fputs("</svg>\n", out);
}
