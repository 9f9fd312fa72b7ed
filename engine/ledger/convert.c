#include "convert.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sh_date.h"
#include "sh_person_id.h"
#include "sh_rules.h"

/* ---- Claims ------------------------------------------------------------------ */

/* Copies s into out (cap bytes), cut to fit: the caller compares or looks
 * up with the original string, so a cut copy only ever names the value. */
static void copy_cut(char *out, size_t cap, const char *s)
{
    /* Not snprintf: this runs for every line of every claim, and the format
     * machinery cost more than the rest of the copy. */
    size_t n = s != NULL ? strnlen(s, cap - 1) : 0;
    if (n > 0)
        memcpy(out, s, n);
    out[n] = '\0';
}

static uint8_t line_defect(const Sanhe__Line *line)
{
    if (!line->has_defect || line->defect == SANHE__LINE_DEFECT__LINE_OK)
        return SH_LINE_OK;
    switch (line->defect) {
    case SANHE__LINE_DEFECT__AMOUNT_NOT_INTEGER:
        return SH_LINE_AMOUNT_NOT_INTEGER;
    case SANHE__LINE_DEFECT__QTY_TOO_PRECISE:
        return SH_LINE_QTY_TOO_PRECISE;
    default:
        return SH_LINE_NOT_A_NUMBER;
    }
}

int convert_claim(const Sanhe__Claim *in, struct sh_claim *out, struct sh_line **lines,
                  struct sh_error *err)
{
    assert(in != NULL && out != NULL && lines != NULL);
    memset(out, 0, sizeof *out);
    *lines = NULL;
    if (in->n_lines > SH_CLAIM_LINES_MAX) {
        sh_error_set(err, SH_E_BAD_CLAIM, "claim: %zu lines, more than %d", in->n_lines,
                     SH_CLAIM_LINES_MAX);
        return sh_error_detail(err, SH_D_CLAIM_TOO_MANY_LINES, "%zu" SH_DETAIL_SEP "%d",
                               in->n_lines, SH_CLAIM_LINES_MAX);
    }
    copy_cut(out->hospital, sizeof out->hospital, in->hospital);
    copy_cut(out->person, sizeof out->person, in->person);
    out->visit = in->visit != NULL ? sh_visit_parse(in->visit) : -1;
    out->date = sh_date_parse(in->date);
    if (in->n_lines > 0) {
        *lines = calloc(in->n_lines, sizeof **lines);
        if (*lines == NULL)
            return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < in->n_lines; i++) {
        const Sanhe__Line *l = in->lines[i];
        struct sh_line *o = &(*lines)[i];
        copy_cut(o->code, sizeof o->code, l->code);
        o->defect = line_defect(l);
        o->qty_milli = l->has_qty_milli ? l->qty_milli : 0;
        o->amount = l->has_amount ? l->amount : 0;
    }
    out->line_count = (uint32_t)in->n_lines;
    out->lines = *lines;
    return 0;
}

/* ---- Reference data ----------------------------------------------------------- */

/* Copies a required or optional string; -1 when it does not fit or is
 * required and empty. */
static int copy_str(char *out, size_t cap, const char *s, bool required)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n >= cap || (required && n == 0))
        return -1;
    memcpy(out, s != NULL ? s : "", n);
    out[n] = '\0';
    return 0;
}

/* NULL when the category is good, else what is wrong with it. */
static const char *person_category_fault(const Sanhe__PersonCategory *c,
                                         struct sh_person_category *o)
{
    if (copy_str(o->fund, sizeof o->fund, c->fund, true) != 0)
        return "fund: missing or too long";
    if (copy_str(o->category, sizeof o->category, c->category, true) != 0)
        return "category: missing or too long";
    o->from = sh_date_parse(c->from);
    if (o->from == 0)
        return "from: not a date";
    o->to = c->to != NULL ? sh_date_parse(c->to) : 0;
    if (c->to != NULL && o->to == 0)
        return "to: not a date";
    if (o->to != 0 && o->to < o->from)
        return "to: before from";
    return NULL;
}

int convert_person(const Sanhe__Person *in, size_t index, struct sh_person *out,
                   struct sh_error *err)
{
    memset(out, 0, sizeof *out);
    char masked[19];
    sh_person_id_mask(in->id != NULL ? in->id : "", masked);
    if (in->id == NULL || !sh_person_id_valid(in->id))
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA,
                            "persons[%zu] (%s): id: not a valid "
                            "resident ID",
                            index, masked);
    memcpy(out->id, in->id, SH_PERSON_ID_LEN);
    const char *why = NULL;
    if (copy_str(out->name, sizeof out->name, in->name, false) != 0)
        why = "name: too long";
    else if (copy_str(out->region, sizeof out->region, in->region, true) != 0)
        why = "region: missing or too long";
    else if (in->n_enrolled > SH_ENROLLED_MAX)
        why = "enrolled: too many years";
    else if (in->n_categories > SH_PERSON_CATS_MAX)
        why = "categories: too many";
    else if (in->died != NULL && (out->died = sh_date_parse(in->died)) == 0)
        why = "died: not a date";
    for (size_t i = 0; why == NULL && i < in->n_enrolled; i++) {
        if (in->enrolled[i] < 1900 || in->enrolled[i] > 9999)
            why = "enrolled: not a year";
        out->enrolled[i] = in->enrolled[i];
    }
    out->enrolled_count = (uint32_t)in->n_enrolled;
    for (size_t i = 0; why == NULL && i < in->n_categories; i++) {
        const char *fault = person_category_fault(in->categories[i], &out->categories[i]);
        if (fault != NULL)
            return sh_error_set(err, SH_E_BAD_REFERENCE_DATA,
                                "persons[%zu] (%s): categories[%zu].%s", index, masked, i, fault);
    }
    out->category_count = (uint32_t)in->n_categories;
    if (why != NULL)
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA, "persons[%zu] (%s): %s", index, masked,
                            why);
    return 0;
}

int convert_hospital(const Sanhe__Hospital *in, size_t index, struct sh_hospital *out,
                     struct sh_error *err)
{
    memset(out, 0, sizeof *out);
    const char *code = in->code != NULL ? in->code : "";
    const char *why = NULL;
    int level = in->level != NULL ? sh_level_parse(in->level) : -1;
    if (copy_str(out->code, sizeof out->code, in->code, true) != 0)
        why = "code: missing or too long";
    else if (copy_str(out->name, sizeof out->name, in->name, false) != 0)
        why = "name: too long";
    else if (copy_str(out->region, sizeof out->region, in->region, true) != 0)
        why = "region: missing or too long";
    else if (level < 0)
        why = "level: not one of village, township, county, municipal, provincial";
    else if (in->n_funds > SH_FUNDS_MAX)
        why = "funds: too many";
    for (size_t i = 0; why == NULL && i < in->n_funds; i++)
        if (copy_str(out->funds[i], sizeof out->funds[i], in->funds[i], true) != 0)
            why = "funds: an id missing or too long";
    if (why != NULL)
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA, "hospitals[%zu] (%.40s): %s", index, code,
                            why);
    out->level = (enum sh_level)level;
    out->fund_count = (uint32_t)in->n_funds;
    return 0;
}

int convert_item(const Sanhe__CatalogItem *in, size_t index, struct sh_item *out,
                 struct sh_error *err)
{
    memset(out, 0, sizeof *out);
    const char *code = in->code != NULL ? in->code : "";
    const char *cls = in->class_ != NULL ? in->class_ : "";
    const char *why = NULL;
    if (copy_str(out->code, sizeof out->code, in->code, true) != 0)
        why = "code: missing or too long";
    else if (copy_str(out->name, sizeof out->name, in->name, false) != 0)
        why = "name: too long";
    else if (strcmp(cls, "A") != 0 && strcmp(cls, "B") != 0 && strcmp(cls, "C") != 0)
        why = "class: not A, B or C";
    else if (in->has_selfpay_bp && (in->selfpay_bp < 0 || in->selfpay_bp > 10000))
        why = "selfpay_bp: not within 0..10000";
    else if (in->has_price_cap && (in->price_cap < 0 || in->price_cap > SH_MONEY_MAX))
        why = "price_cap: negative or too large";
    if (why != NULL)
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA, "items[%zu] (%.40s): %s", index, code,
                            why);
    out->cls = (enum sh_item_class)cls[0];
    out->selfpay_bp = in->has_selfpay_bp ? in->selfpay_bp : SH_SELFPAY_POLICY;
    out->price_cap = in->has_price_cap ? in->price_cap : SH_NO_CAP;
    return 0;
}

/* ---- Breakdown --------------------------------------------------------------- */

static const char *fund_name(const struct sh_policy *policy, const char *id)
{
    for (uint32_t i = 0; policy != NULL && i < policy->fund_count; i++)
        if (strcmp(policy->funds[i].id, id) == 0)
            return policy->funds[i].name;
    return NULL;
}

static void convert_share(const struct sh_fund_result *f, const struct sh_policy *policy,
                          Sanhe__FundShare *s)
{
    sanhe__fund_share__init(s);
    s->fund = (char *)f->fund;
    s->name = (char *)fund_name(policy, f->fund);
    s->has_pay = true;
    s->pay = f->pay;
    s->has_deductible = true;
    s->deductible = f->deductible;
    s->reason = (char *)sh_reason_name(f->reason); /* NULL for none: absent */
    if (f->category[0] != '\0')
        s->category = (char *)f->category;
    if (f->applied) {
        s->cap_group = (char *)f->cap_group;
        s->has_payable = true;
        s->payable = f->payable;
    }
}

void convert_breakdown(const struct sh_breakdown *b, const struct sh_policy *policy, bool trial,
                       struct convert_breakdown *out)
{
    assert(b->fund_count <= SH_FUNDS_MAX);
    Sanhe__Breakdown *m = &out->msg;
    sanhe__breakdown__init(m);
    m->has_total = m->has_out_of_scope = m->has_over_limit = true;
    m->has_pre_selfpay = m->has_in_scope = m->has_fund_total = m->has_patient_pays = true;
    m->total = b->total;
    m->out_of_scope = b->out_of_scope;
    m->over_limit = b->over_limit;
    m->pre_selfpay = b->pre_selfpay;
    m->in_scope = b->in_scope;
    m->fund_total = b->fund_total;
    m->patient_pays = b->patient_pays;
    m->has_trial = true;
    m->trial = trial;
    if (policy != NULL)
        m->policy_region = (char *)policy->region;
    m->has_policy_year = true;
    m->policy_year = b->year;
    m->has_class_a_total = m->has_class_b_total = m->has_class_c_total = true;
    m->class_a_total = b->class_a_total;
    m->class_b_total = b->class_b_total;
    m->class_c_total = b->class_c_total;
    for (uint32_t i = 0; i < b->fund_count; i++) {
        convert_share(&b->funds[i], policy, &out->shares[i]);
        out->share_ptrs[i] = &out->shares[i];
    }
    m->n_funds = b->fund_count;
    m->funds = out->share_ptrs;
}
