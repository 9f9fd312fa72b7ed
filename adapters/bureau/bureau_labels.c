/* Column names and captions: English msgids, translated by the gettext
 * catalog (po/zh_CN.po) that sh_i18n_init chose. */
#include <string.h>

#include "bureau.h"

static const char *const texts[L_COUNT_LABELS] = {
    [L_HOSPITAL] = N_("Hospital"),
    [L_NAME] = N_("Name"),
    [L_SETTLED] = N_("Settled"),
    [L_REVERSED] = N_("Reversed"),
    [L_TOTAL] = N_("Total"),
    [L_FUND_TOTAL] = N_("Funds total"),
    [L_PATIENT] = N_("Patient pays"),
    [L_ALL] = N_("All hospitals"),
    [L_DAY_TITLE] = N_("daily settlements"),
    [L_NO_ACTIVITY] = N_("no settlements that day"),
    [L_KIND] = N_("Kind"),
    [L_SETTLEMENTS] = N_("Settlements"),
    [L_REVERSALS] = N_("Reversals"),
    [L_NET] = N_("Net (settlements less reversals)"),
    [L_COUNT] = N_("Count"),
    [L_BALANCED] = N_("Reconciliation: balanced"),
    [L_UNBALANCED] = N_("Reconciliation: NOT balanced"),
    [L_FIGURE] = N_("Figure"),
    [L_ENGINE] = N_("Engine"),
    [L_HOSPITAL_SIDE] = N_("Hospital's books"),
    [L_ONLY_ENGINE] = N_("Settlements only the engine has"),
    [L_ONLY_HOSPITAL] = N_("Settlements only the hospital has"),
    [L_DIFFERING] = N_("Settlements whose amounts differ"),
    [L_SETTLEMENT_ID] = N_("Settlement"),
    [L_FUND] = N_("Fund"),
    [L_AMOUNTS_IN_YUAN] =
        N_("Amounts in yuan, net of reversals; the net count is settlements less reversals"),
    [L_DAY] = N_("Day"),
    [L_RECONCILIATION] = N_("Reconciliation"),
    [L_NOT_RECONCILED] = N_("not reconciled"),
    [L_BALANCED_SHORT] = N_("balanced"),
    [L_UNBALANCED_SHORT] = N_("NOT balanced"),
    [L_BY_HOUR] = N_("Fund payments by hour (net)"),
    [L_BY_FUND] = N_("Payments by fund (net)"),
    [L_HOUR] = N_("Hour"),
    [L_MONTH_TITLE] = N_("monthly settlements"),
    [L_TREND] = N_("Net fund payments by day"),
    [L_UNBALANCED_DAYS] = N_("Hospitals that did not balance"),
    [L_ALL_BALANCED] = N_("Every hospital with books balanced on every day"),
    [L_ENTRIES] = N_("Entries (settlements + reversals)"),
};

const char *label(enum sh_lang lang, enum label which)
{
    (void)lang; /* the catalog's language */
    if ((unsigned)which >= L_COUNT_LABELS || texts[which] == NULL)
        return "?";
    return _(texts[which]);
}

/* A figure the engine compares ("count", "total", "fund:coop"), named. */
void bureau_figure_label(const char *figure, const Sanhe__Totals *names, enum sh_lang lang,
                         char *out, size_t size)
{
    static const struct {
        const char *figure;
        enum label label;
    } figures[] = {{"count", L_ENTRIES},
                   {"total", L_TOTAL},
                   {"fund_total", L_FUND_TOTAL},
                   {"patient_pays", L_PATIENT}};
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
        if (strcmp(figure, figures[i].figure) == 0) {
            snprintf(out, size, "%s", label(lang, figures[i].label));
            return;
        }
    if (strncmp(figure, "fund:", 5) == 0) {
        bureau_fund_title(names, figure + 5, lang, out, size);
        return;
    }
    snprintf(out, size, "%s", figure);
}

void bureau_fund_title(const Sanhe__Totals *names, const char *fund, enum sh_lang lang, char *out,
                       size_t size)
{
    const char *name = NULL;
    for (size_t i = 0; names != NULL && i < names->n_funds && name == NULL; i++)
        if (names->funds[i]->fund != NULL && strcmp(names->funds[i]->fund, fund) == 0)
            name = names->funds[i]->name;
    /* A fund the engine's day does not have (a hospital's own id for it, or
     * a fund with nothing that day) has no name from the policy: say so,
     * rather than show a bare id as if it were a heading. */
    if (name == NULL && names != NULL) {
        snprintf(out, size, _("fund %s (not in the engine's day)"), fund);
        return;
    }
    sh_fund_label(name, fund, lang, out, size);
}
