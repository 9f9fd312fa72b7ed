/*
 * The month page's cross-check section (sanhe-bureau report YYYY-MM): the
 * monthly cross-check of docs/rosters.md ("Monthly cross-check") as the
 * officers read it, in three parts:
 *
 *   deaths still in a category   a death record says the person died, a
 *                                category span is still valid after it;
 *   settlements to recover 追回   paid after the death, or paid by a category
 *                                fund after the category ended;
 *   因病致贫返贫 early warning     persons in no category whose year's
 *                                out-of-pocket sum passed the policy's
 *                                threshold, and the day it did.
 *
 * Funds by the names the policy gives them (CrosscheckReply.funds). Resident
 * ids are masked on the page, which is printed and passed round; the signed
 * files of `sanhe-bureau crosscheck MONTH` carry them in full. Amount cells
 * carry their fen (data-fen) and rows their list (data-list), so a test can
 * read the page exactly.
 */
#include <string.h>

#include "bureau.h"
#include "sh_person_id.h"

static void xc_cell(FILE *out, const char *s)
{
    fputs("<td>", out);
    bureau_html_text(out, s != NULL ? s : "");
    fputs("</td>", out);
}

static void xc_cell_person(FILE *out, const char *id)
{
    char masked[19];
    sh_person_id_mask(id != NULL ? id : "", masked);
    xc_cell(out, masked);
}

static void xc_cell_fen(FILE *out, int64_t fen)
{
    char yuan[32];
    sh_yuan_format(fen, yuan);
    fprintf(out, "<td class=\"num\" data-fen=\"%lld\">%s</td>", (long long)fen, yuan);
}

static void xc_cell_fund(FILE *out, const Sanhe__CrosscheckReply *x, const char *fund,
                         enum sh_lang lang)
{
    Sanhe__Totals names = SANHE__TOTALS__INIT;
    names.n_funds = x->n_funds;
    names.funds = x->funds;
    char title[TABLE_CELL_MAX];
    bureau_fund_title(&names, fund != NULL ? fund : "", lang, title, sizeof title);
    fputs("<td data-fund=\"", out);
    bureau_html_text(out, fund != NULL ? fund : "");
    fputs("\">", out);
    bureau_html_text(out, title);
    fputs("</td>", out);
}

/* The categories of the policies in use, named: a policy names its funds,
 * not its categories, which are ids ("tekun"). Another id is shown as it is. */
static void xc_cell_category(FILE *out, const char *id)
{
    static const char *const names[][2] = {
        {"tekun", N_("Destitute persons (tekun)")},
        {"dibao", N_("Minimum living allowance (dibao)")},
        {"dibao_edge", N_("On the edge of the minimum living allowance (dibao_edge)")},
        {"low_income", N_("Low-income persons (low_income)")},
        {"illness_expense", N_("Hardship from medical expenses (illness_expense)")},
        {"veteran", N_("Veterans (veteran)")},
        {"demobilized_ill", N_("Demobilized with illness (demobilized_ill)")},
        {"martyr_family", N_("Martyrs' families (martyr_family)")},
        {"disabled_1_6", N_("Disabled servicemen, grades 1 to 6 (disabled_1_6)")},
    };
    const char *name = id != NULL ? id : "";
    for (size_t i = 0; id != NULL && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(id, names[i][0]) == 0)
            name = _(names[i][1]);
    fputs("<td data-category=\"", out);
    bureau_html_text(out, id != NULL ? id : "");
    fputs("\">", out);
    bureau_html_text(out, name);
    fputs("</td>", out);
}

static void xc_head(FILE *out, const char *const *heads, size_t n)
{
    fputs("<thead><tr>", out);
    for (size_t i = 0; i < n; i++) {
        fputs("<th>", out);
        bureau_html_text(out, _(heads[i]));
        fputs("</th>", out);
    }
    fputs("</tr></thead>\n", out);
}

static void xc_none(FILE *out, const char *list)
{
    fprintf(out, "<p class=\"none\" data-list=\"%s\">%s</p>\n", list, _("None."));
}

static void xc_died(FILE *out, const Sanhe__CrosscheckReply *x, enum sh_lang lang)
{
    fprintf(out, "<h3 id=\"crosscheck-died\">%s (%zu)</h3>\n", _("Deaths still in a category"),
            x->n_died_in_category);
    if (x->n_died_in_category == 0) {
        xc_none(out, "died_in_category");
        return;
    }
    static const char *const heads[] = {N_("Resident"),   N_("Fund"),     N_("Category"),
                                        N_("Valid from"), N_("Valid to"), N_("Died")};
    fputs("<table id=\"crosscheck-died-table\">", out);
    xc_head(out, heads, sizeof heads / sizeof heads[0]);
    fputs("<tbody>\n", out);
    for (size_t i = 0; i < x->n_died_in_category; i++) {
        const Sanhe__CrosscheckDied *d = x->died_in_category[i];
        fputs("<tr data-list=\"died_in_category\">", out);
        xc_cell_person(out, d->person);
        xc_cell_fund(out, x, d->fund, lang);
        xc_cell_category(out, d->category);
        xc_cell(out, d->from);
        xc_cell(out, d->to != NULL ? d->to : _("open"));
        xc_cell(out, d->died);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

static void xc_after_death(FILE *out, const Sanhe__CrosscheckReply *x)
{
    static const char *const heads[] = {N_("Settlement"), N_("Hospital"), N_("Resident"),
                                        N_("Visit date"), N_("Died"),     N_("Funds paid")};
    fputs("<table id=\"crosscheck-after-death\">", out);
    fprintf(out, "<caption>%s</caption>", _("Paid after the death"));
    xc_head(out, heads, sizeof heads / sizeof heads[0]);
    fputs("<tbody>\n", out);
    for (size_t i = 0; i < x->n_paid_after_death; i++) {
        const Sanhe__CrosscheckPaidAfterDeath *a = x->paid_after_death[i];
        fprintf(out, "<tr data-list=\"paid_after_death\"><td class=\"num\">%llu</td>",
                (unsigned long long)a->settlement_id);
        xc_cell(out, a->hospital);
        xc_cell_person(out, a->person);
        xc_cell(out, a->date);
        xc_cell(out, a->died);
        xc_cell_fen(out, a->fund_total);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

static void xc_outside(FILE *out, const Sanhe__CrosscheckReply *x, enum sh_lang lang)
{
    static const char *const heads[] = {N_("Settlement"), N_("Hospital"), N_("Resident"),
                                        N_("Visit date"), N_("Fund"),     N_("Fund paid")};
    fputs("<table id=\"crosscheck-outside\">", out);
    fprintf(out, "<caption>%s</caption>", _("Paid by a category fund after the category ended"));
    xc_head(out, heads, sizeof heads / sizeof heads[0]);
    fputs("<tbody>\n", out);
    for (size_t i = 0; i < x->n_paid_outside_category; i++) {
        const Sanhe__CrosscheckOutsideCategory *o = x->paid_outside_category[i];
        fprintf(out, "<tr data-list=\"paid_outside_category\"><td class=\"num\">%llu</td>",
                (unsigned long long)o->settlement_id);
        xc_cell(out, o->hospital);
        xc_cell_person(out, o->person);
        xc_cell(out, o->date);
        xc_cell_fund(out, x, o->fund, lang);
        xc_cell_fen(out, o->pay);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

static void xc_recover(FILE *out, const Sanhe__CrosscheckReply *x, enum sh_lang lang)
{
    size_t n = x->n_paid_after_death + x->n_paid_outside_category;
    fprintf(out, "<h3 id=\"crosscheck-recover\">%s (%zu)</h3>\n",
            _("Settlements to recover (追回)"), n);
    if (n == 0) {
        xc_none(out, "recover");
        return;
    }
    int64_t sum = 0;
    for (size_t i = 0; i < x->n_paid_after_death; i++)
        sum += x->paid_after_death[i]->fund_total;
    for (size_t i = 0; i < x->n_paid_outside_category; i++)
        sum += x->paid_outside_category[i]->pay;
    char yuan[32];
    sh_yuan_format(sum, yuan);
    fprintf(out, "<p id=\"crosscheck-recover-total\" data-fen=\"%lld\">%s %s</p>\n", (long long)sum,
            _("To recover in total:"), yuan);
    fprintf(out, "<p>%s</p>\n",
            _("Nothing is reversed automatically: each settlement is for the fund's officers "
              "to act on."));
    if (x->n_paid_after_death > 0)
        xc_after_death(out, x);
    if (x->n_paid_outside_category > 0)
        xc_outside(out, x, lang);
}

static void xc_oop(FILE *out, const Sanhe__CrosscheckReply *x)
{
    fprintf(out, "<h3 id=\"crosscheck-oop\">%s (%zu)</h3>\n",
            _("Early warning: 因病致贫返贫 monitoring"), x->n_oop_warning);
    fprintf(out, "<p>%s</p>\n",
            _("Persons in no assistance category whose out-of-pocket sum of the year, after "
              "every fund, passed the policy's threshold: for the civil-affairs bureau to check "
              "for 支出型困难."));
    if (x->n_oop_warning == 0) {
        xc_none(out, "oop_warning");
        return;
    }
    static const char *const heads[] = {N_("Resident"), N_("Out of pocket this year"),
                                        N_("Funds paid this year"), N_("Visits"),
                                        N_("Threshold passed on")};
    fputs("<table id=\"crosscheck-oop-table\">", out);
    xc_head(out, heads, sizeof heads / sizeof heads[0]);
    fputs("<tbody>\n", out);
    for (size_t i = 0; i < x->n_oop_warning; i++) {
        const Sanhe__CrosscheckOopWarning *w = x->oop_warning[i];
        fputs("<tr data-list=\"oop_warning\">", out);
        xc_cell_person(out, w->person);
        xc_cell_fen(out, w->patient_pays);
        xc_cell_fen(out, w->fund_total);
        fprintf(out, "<td class=\"num\">%u</td>", (unsigned)w->count);
        xc_cell(out, w->crossed);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

int bureau_report_crosscheck(FILE *out, const struct bureau_config *c, const char *month)
{
    struct sh_error err = {0};
    Sanhe__Response *resp = NULL;
    int rc = bureau_crosscheck_fetch(c, month, &resp, &err);
    fprintf(out, "<section id=\"crosscheck\" data-month=\"");
    bureau_html_text(out, month);
    fprintf(out, "\"><h2>%s</h2>\n", _("Monthly cross-check"));
    if (rc != 0) {
        fprintf(out, "<p class=\"bad\" id=\"crosscheck-error\">%s ", _("Not available:"));
        bureau_html_text(out, err.msg);
        fputs("</p></section>\n", out);
        fprintf(stderr, _("sanhe-bureau: report: cross-check: %s\n"), err.msg);
        if (resp != NULL)
            sanhe__response__free_unpacked(resp, NULL);
        return 1;
    }
    const Sanhe__CrosscheckReply *x = resp->crosscheck;
    fprintf(out, "<p>%s ", _("Judged on"));
    bureau_html_text(out, x->last_day);
    fprintf(out, "; %s</p>\n",
            _("resident ids masked here, in full in the signed files of sanhe-bureau "
              "crosscheck."));
    xc_died(out, x, c->lang);
    xc_recover(out, x, c->lang);
    xc_oop(out, x);
    fputs("</section>\n", out);
    sanhe__response__free_unpacked(resp, NULL);
    return 0;
}
