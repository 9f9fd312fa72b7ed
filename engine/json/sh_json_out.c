#include "sh_json_out.h"

#include "sh_error.h"

static int set_int(json_t *obj, const char *key, int64_t value)
{
    return json_object_set_new(obj, key, json_integer((json_int_t)value));
}

static json_t *fund_share_json(const Sanhe__FundShare *f)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    set_int(o, "pay", f->pay);
    set_int(o, "deductible", f->deductible);
    json_object_set_new(o, "reason", f->reason != NULL ? json_string(f->reason) : json_null());
    if (f->category != NULL)
        json_object_set_new(o, "category", json_string(f->category));
    if (f->cap_group != NULL)
        json_object_set_new(o, "cap_group", json_string(f->cap_group));
    if (f->has_payable)
        set_int(o, "payable", f->payable);
    if (f->name != NULL)
        json_object_set_new(o, "name", json_string(f->name));
    return o;
}

json_t *sh_json_from_breakdown(const Sanhe__Breakdown *b)
{
    json_t *o = json_object();
    json_t *funds = json_object();
    if (o == NULL || funds == NULL) {
        json_decref(o);
        json_decref(funds);
        return NULL;
    }
    set_int(o, "total", b->total);
    set_int(o, "out_of_scope", b->out_of_scope);
    set_int(o, "over_limit", b->over_limit);
    set_int(o, "pre_selfpay", b->pre_selfpay);
    set_int(o, "in_scope", b->in_scope);
    for (size_t i = 0; i < b->n_funds; i++)
        if (b->funds[i]->fund != NULL)
            json_object_set_new(funds, b->funds[i]->fund, fund_share_json(b->funds[i]));
    json_object_set_new(o, "funds", funds);
    set_int(o, "fund_total", b->fund_total);
    set_int(o, "patient_pays", b->patient_pays);
    json_object_set_new(o, "trial", json_boolean(b->trial));
    if (b->policy_region != NULL)
        json_object_set_new(o, "policy_region", json_string(b->policy_region));
    if (b->has_policy_year)
        set_int(o, "policy_year", b->policy_year);
    /* Absent from settlements recorded before the engine reported them;
     * the case files do not name them, and the runner ignores extra keys. */
    if (b->has_class_a_total && b->has_class_b_total && b->has_class_c_total) {
        set_int(o, "class_a_total", b->class_a_total);
        set_int(o, "class_b_total", b->class_b_total);
        set_int(o, "class_c_total", b->class_c_total);
    }
    return o;
}

static json_t *accumulators_json(const Sanhe__EligibilityReply *e, int nonzero_only)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < e->n_accumulators; i++) {
        const Sanhe__Accumulator *a = e->accumulators[i];
        if (nonzero_only && a->paid == 0)
            continue;
        json_array_append_new(list,
                              json_pack("{s:i, s:s, s:s, s:I, s:I, s:I}", "year", (int)a->year,
                                        "fund", a->fund != NULL ? a->fund : "", "cap_group",
                                        a->cap_group != NULL ? a->cap_group : "", "paid",
                                        (json_int_t)a->paid, "payable", (json_int_t)a->payable,
                                        "deductible_met", (json_int_t)a->deductible_met));
    }
    return list;
}

/* An optional amount: the number, or null when absent (no cap). */
static json_t *int_or_null(protobuf_c_boolean has, int64_t value)
{
    return has ? json_integer((json_int_t)value) : json_null();
}

static json_t *deductible_levels_json(const Sanhe__FundLimit *l)
{
    static const char *const levels[] = {"village", "township", "county", "municipal",
                                         "provincial"};
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < l->n_deductible_by_level && i < 5; i++)
        set_int(o, levels[i], l->deductible_by_level[i]);
    return o;
}

/* {visit, cap_group, year, annual_cap, paid, remaining, claim_cap,
 *  deductible_scope, deductible_by_level, deductible?, deductible_met};
 * caps are null when the rule has none. */
static json_t *fund_limit_json(const Sanhe__FundLimit *l)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "visit", json_string(l->visit != NULL ? l->visit : ""));
    json_object_set_new(o, "cap_group", json_string(l->cap_group != NULL ? l->cap_group : ""));
    set_int(o, "year", l->year);
    json_object_set_new(o, "annual_cap", int_or_null(l->has_annual_cap, l->annual_cap));
    set_int(o, "paid", l->paid);
    json_object_set_new(o, "remaining",
                        int_or_null(l->has_annual_cap && l->has_remaining, l->remaining));
    json_object_set_new(o, "claim_cap", int_or_null(l->has_claim_cap, l->claim_cap));
    json_object_set_new(o, "deductible_scope",
                        json_string(l->deductible_scope != NULL ? l->deductible_scope : ""));
    json_object_set_new(o, "deductible_by_level", deductible_levels_json(l));
    if (l->has_deductible)
        set_int(o, "deductible", l->deductible);
    set_int(o, "deductible_met", l->deductible_met);
    return o;
}

static json_t *fund_status_json(const Sanhe__FundStatus *f)
{
    json_t *fo = json_pack("{s:b}", "applies", f->applies);
    if (fo != NULL && f->category != NULL)
        json_object_set_new(fo, "category", json_string(f->category));
    if (fo != NULL && f->reason != NULL)
        json_object_set_new(fo, "reason", json_string(f->reason));
    if (fo != NULL && f->n_limits > 0) {
        json_t *limits = json_array();
        for (size_t i = 0; limits != NULL && i < f->n_limits; i++)
            json_array_append_new(limits, fund_limit_json(f->limits[i]));
        json_object_set_new(fo, "limits", limits);
    }
    return fo;
}

static json_t *eligibility_json(const Sanhe__EligibilityReply *e, int nonzero_only)
{
    json_t *o = json_object();
    json_t *funds = json_object();
    for (size_t i = 0; funds != NULL && i < e->n_funds; i++) {
        const Sanhe__FundStatus *f = e->funds[i];
        json_t *fo = fund_status_json(f);
        if (f->fund != NULL)
            json_object_set_new(funds, f->fund, fo);
        else
            json_decref(fo);
    }
    json_object_set_new(o, "funds", funds);
    json_object_set_new(o, "deceased", json_boolean(e->deceased));
    if (e->policy_name != NULL)
        json_object_set_new(o, "policy", json_string(e->policy_name));
    json_object_set_new(o, "accumulators", accumulators_json(e, nonzero_only));
    return o;
}

static json_t *settle_json(const Sanhe__Breakdown *b, uint64_t settlement_id, const char *day)
{
    json_t *o = b != NULL ? sh_json_from_breakdown(b) : json_object();
    if (o != NULL && settlement_id != 0)
        set_int(o, "settlement_id", (int64_t)settlement_id);
    if (o != NULL && day != NULL)
        json_object_set_new(o, "business_day", json_string(day));
    return o;
}

static json_t *str_or_null(const char *s) { return s != NULL ? json_string(s) : json_null(); }

/* The monthly cross-check's four lists (docs/rosters.md). */
static json_t *crosscheck_json(const Sanhe__CrosscheckReply *c)
{
    json_t *o = json_object();
    json_t *died = json_array(), *after = json_array(), *outside = json_array(),
           *oop = json_array();
    for (size_t i = 0; died != NULL && i < c->n_died_in_category; i++) {
        const Sanhe__CrosscheckDied *d = c->died_in_category[i];
        json_array_append_new(died, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "person",
                                              str_or_null(d->person), "fund", str_or_null(d->fund),
                                              "category", str_or_null(d->category), "from",
                                              str_or_null(d->from), "to", str_or_null(d->to),
                                              "died", str_or_null(d->died)));
    }
    for (size_t i = 0; after != NULL && i < c->n_paid_after_death; i++) {
        const Sanhe__CrosscheckPaidAfterDeath *a = c->paid_after_death[i];
        json_array_append_new(
            after, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:I}", "settlement_id",
                             (json_int_t)a->settlement_id, "hospital", str_or_null(a->hospital),
                             "request_id", str_or_null(a->request_id), "person",
                             str_or_null(a->person), "date", str_or_null(a->date), "died",
                             str_or_null(a->died), "fund_total", (json_int_t)a->fund_total));
    }
    for (size_t i = 0; outside != NULL && i < c->n_paid_outside_category; i++) {
        const Sanhe__CrosscheckOutsideCategory *x = c->paid_outside_category[i];
        json_array_append_new(
            outside, json_pack("{s:I, s:o, s:o, s:o, s:o, s:I, s:o}", "settlement_id",
                               (json_int_t)x->settlement_id, "hospital", str_or_null(x->hospital),
                               "request_id", str_or_null(x->request_id), "person",
                               str_or_null(x->person), "fund", str_or_null(x->fund), "pay",
                               (json_int_t)x->pay, "date", str_or_null(x->date)));
    }
    for (size_t i = 0; oop != NULL && i < c->n_oop_warning; i++) {
        const Sanhe__CrosscheckOopWarning *w = c->oop_warning[i];
        json_array_append_new(
            oop,
            json_pack("{s:o, s:I, s:I, s:I, s:o}", "person", str_or_null(w->person), "patient_pays",
                      (json_int_t)w->patient_pays, "fund_total", (json_int_t)w->fund_total, "count",
                      (json_int_t)w->count, "crossed", str_or_null(w->crossed)));
    }
    if (o != NULL) {
        json_object_set_new(o, "month", str_or_null(c->month));
        json_object_set_new(o, "last_day", str_or_null(c->last_day));
    }
    json_object_set_new(o, "died_in_category", died);
    json_object_set_new(o, "paid_after_death", after);
    json_object_set_new(o, "paid_outside_category", outside);
    json_object_set_new(o, "oop_warning", oop);
    return o;
}

static json_t *error_json(const Sanhe__Error *e)
{
    int code = -(int)e->code;
    return json_pack("{s:s, s:s}", "error", sh_error_name(code), "message",
                     e->message != NULL ? e->message : "");
}

json_t *sh_json_from_response(const Sanhe__Response *r, int nonzero_only)
{
    if (r->error != NULL)
        return error_json(r->error);
    switch (r->result_case) {
    case SANHE__RESPONSE__RESULT_SETTLE:
        return settle_json(r->settle->breakdown, r->settle->settlement_id, r->settle->business_day);
    case SANHE__RESPONSE__RESULT_PRESETTLE:
        return settle_json(r->presettle->breakdown, 0, NULL);
    case SANHE__RESPONSE__RESULT_REVERSE:
        return json_pack("{s:b, s:b, s:I}", "ok", 1, "reversed", r->reverse->reversed,
                         "settlement_id", (json_int_t)r->reverse->settlement_id);
    case SANHE__RESPONSE__RESULT_CANCEL:
        return json_pack("{s:b, s:b, s:I}", "ok", 1, "reversed", r->cancel->reversed,
                         "settlement_id", (json_int_t)r->cancel->settlement_id);
    case SANHE__RESPONSE__RESULT_ELIGIBILITY:
        return eligibility_json(r->eligibility, nonzero_only);
    case SANHE__RESPONSE__RESULT_LOAD:
        return json_pack("{s:b}", "ok", 1);
    case SANHE__RESPONSE__RESULT_PERSON_UPDATE:
        return json_pack("{s:b, s:b, s:b}", "ok", 1, "created", r->person_update->created,
                         "changed", r->person_update->changed);
    case SANHE__RESPONSE__RESULT_CROSSCHECK:
        return crosscheck_json(r->crosscheck);
    default:
        return json_pack("{s:s}", "error", "EMPTY_RESPONSE");
    }
}
