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
    return o;
}

static json_t *accumulators_json(const Sanhe__EligibilityReply *e, int nonzero_only)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < e->n_accumulators; i++) {
        const Sanhe__Accumulator *a = e->accumulators[i];
        if (nonzero_only && a->paid == 0)
            continue;
        json_array_append_new(
            list, json_pack("{s:i, s:s, s:s, s:I, s:I, s:I}", "year", (int)a->year, "fund",
                            a->fund != NULL ? a->fund : "", "cap_group",
                            a->cap_group != NULL ? a->cap_group : "", "paid", (json_int_t)a->paid,
                            "payable", (json_int_t)a->payable, "deductible_met",
                            (json_int_t)a->deductible_met));
    }
    return list;
}

static json_t *eligibility_json(const Sanhe__EligibilityReply *e, int nonzero_only)
{
    json_t *o = json_object();
    json_t *funds = json_object();
    for (size_t i = 0; funds != NULL && i < e->n_funds; i++) {
        const Sanhe__FundStatus *f = e->funds[i];
        json_t *fo = json_pack("{s:b}", "applies", f->applies);
        if (fo != NULL && f->category != NULL)
            json_object_set_new(fo, "category", json_string(f->category));
        if (fo != NULL && f->reason != NULL)
            json_object_set_new(fo, "reason", json_string(f->reason));
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
        return settle_json(r->settle->breakdown, r->settle->settlement_id,
                           r->settle->business_day);
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
    default:
        return json_pack("{s:s}", "error", "EMPTY_RESPONSE");
    }
}
