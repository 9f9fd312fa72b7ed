/*
 * `sanhe-counter eligibility`: the person's funds on a date and, for each
 * fund that applies, every annual limit of the rule set it would use (one
 * per visit type): the cap, what is used this year, what is left, and the
 * deductible and how much of it is met. The engine computes all of it from
 * the policy in force on the date; this file only prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "counter.h"
#include "sh_person_id.h"

#define LEVEL_COUNT 5

static const char *const level_names[LEVEL_COUNT] = {
    N_("village"), N_("township"), N_("county"), N_("municipal"), N_("provincial"),
};

/* The year of "YYYY-MM-DD", or this year for NULL (the engine's default
 * date is today too); 0 when it does not start with a year. */
static int year_of(const char *date)
{
    if (date == NULL) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        return tm.tm_year + 1900;
    }
    char *end;
    long y = strtol(date, &end, 10);
    return end != date && *end == '-' && y > 0 && y < 10000 ? (int)y : 0;
}

static void print_cap(const struct counter_opts *o, const struct sanhe_fund_limit *l)
{
    (void)o; /* the language is the catalog's */
    char cap[32], paid[32], left[32];
    sh_yuan_format(l->paid, paid);
    if (!l->has_annual_cap) {
        printf("    %s  %s %s\n", _("annual cap: none"), _("used this year"), paid);
        return;
    }
    sh_yuan_format(l->annual_cap, cap);
    sh_yuan_format(l->remaining, left);
    printf("    %s %s  %s %s  %s %s\n", _("annual cap"), cap, _("used this year"), paid, _("left"),
           left);
}

/* "county 800.00, municipal 1,500.00, ..." when the deductible depends on
 * the hospital level and the engine did not know the caller's. */
static void print_deductible_levels(const struct counter_opts *o, const struct sanhe_fund_limit *l)
{
    (void)o; /* the language is the catalog's */
    printf("    %s", _("deductible by hospital level:"));
    for (int i = 0; i < LEVEL_COUNT; i++) {
        char amount[32];
        sh_yuan_format(l->deductible_by_level[i], amount);
        printf("%s %s %s", i == 0 ? "" : ",", _(level_names[i]), amount);
    }
    printf("%s\n", strcmp(l->deductible_scope, "annual") == 0 ? _(" (once a year)")
                                                              : _(" (on every claim)"));
}

static bool levels_differ(const struct sanhe_fund_limit *l)
{
    for (int i = 1; i < LEVEL_COUNT; i++)
        if (l->deductible_by_level[i] != l->deductible_by_level[0])
            return true;
    return false;
}

static void print_deductible(const struct counter_opts *o, const struct sanhe_fund_limit *l)
{
    if (!l->has_deductible && levels_differ(l)) {
        print_deductible_levels(o, l);
        return;
    }
    /* The engine gives the calling counter's level; a bureau caller gets
     * the level list, printed above unless every level is the same. */
    int64_t d = l->has_deductible ? l->deductible : l->deductible_by_level[0];
    const char *label = l->has_deductible ? _("deductible here:") : _("deductible:");
    char ded[32], met[32], owed[32];
    sh_yuan_format(d, ded);
    if (d == 0) {
        printf("    %s %s\n", label, _("none"));
    } else if (strcmp(l->deductible_scope, "annual") != 0) {
        printf("    %s %s%s\n", label, ded, _(" (on every claim)"));
    } else {
        /* An annual deductible is paid once a year: what is met counts. */
        sh_yuan_format(l->deductible_met, met);
        sh_yuan_format(d > l->deductible_met ? d - l->deductible_met : 0, owed);
        printf("    %s %s%s  %s %s  %s %s\n", label, ded, _(" (once a year)"), _("met"), met,
               _("still to meet"), owed);
    }
}

static void print_limit(const struct counter_opts *o, const struct sanhe_fund_limit *l)
{
    printf("  %s%s %s, %d%s\n", sh_visit_label(l->visit, o->lang), _("  (cap group"), l->cap_group,
           l->year, _(")"));
    print_cap(o, l);
    if (l->has_claim_cap) {
        char cap[32];
        sh_yuan_format(l->claim_cap, cap);
        printf("    %s %s\n", _("claim cap"), cap);
    }
    print_deductible(o, l);
}

static void print_fund(const struct counter_opts *o, const struct sanhe_fund_status *f)
{
    char label[192];
    sh_fund_label(f->name[0] ? f->name : NULL, f->fund, o->lang, label, sizeof label);
    if (!f->applies) {
        printf("%s (%s): %s%s%s%s\n", label, f->fund, _("does not apply"), _(" ("),
               sh_reason_label(f->reason, o->lang), _(")"));
        return;
    }
    printf("%s (%s): %s", label, f->fund, _("applies"));
    if (f->category[0] != '\0')
        printf("%s %s", _(", category"), f->category);
    printf("\n");
    for (size_t k = 0; k < f->limit_count; k++)
        print_limit(o, &f->limits[k]);
    if (f->limit_count == 0)
        printf("  %s\n", _("(no rule for any visit type)"));
}

/* Every accumulator of the year, including cap groups of rules that no
 * longer apply (a category that ended this year). */
static void print_accumulators(const struct counter_opts *o, const struct sanhe_eligibility *e,
                               int year)
{
    (void)o;
    printf("%s %d:\n", _("Accumulators of"), year);
    size_t shown = 0;
    for (size_t i = 0; i < e->accumulator_count; i++) {
        const struct sanhe_accumulator *a = &e->accumulators[i];
        if (a->year != year)
            continue;
        char paid[32], met[32];
        sh_yuan_format(a->paid, paid);
        sh_yuan_format(a->deductible_met, met);
        printf("  %-12s %-12s %s %14s  %s %12s\n", a->fund, a->cap_group, _("paid"), paid,
               _("deductible met"), met);
        shown++;
    }
    if (shown == 0)
        printf("  %s\n", _("(none)"));
}

/* The policy year of the limits (all of one policy), else the date's. */
static int policy_year(const struct sanhe_eligibility *e, const char *date)
{
    for (size_t i = 0; i < e->fund_count; i++)
        if (e->funds[i].limit_count > 0)
            return e->funds[i].limits[0].year;
    return year_of(date);
}

void print_eligibility(const struct counter_opts *o, const struct sanhe_eligibility *e,
                       const char *date)
{
    char masked[19];
    sh_person_id_mask(e->person, masked);
    printf("%s %s  %s  %s %s%s\n", _("Person:"), e->name, masked, _("region"), e->region,
           e->deceased ? _("  DECEASED") : "");
    printf("%s %s\n", _("Date:"), date != NULL ? date : "");
    if (e->policy_name[0] == '\0')
        printf("%s\n", _("No policy in force on that date"));
    else
        printf("%s %s\n", _("Policy:"), e->policy_name);
    for (size_t i = 0; i < e->fund_count; i++)
        print_fund(o, &e->funds[i]);
    print_accumulators(o, e, policy_year(e, date));
}
