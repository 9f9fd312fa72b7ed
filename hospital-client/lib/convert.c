/* Public structs <-> protobuf messages. Every string of an output is a
 * malloc'ed copy ("" for an absent field), so a result outlives the reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A copy of s, or of "" for NULL; NULL only when out of memory. */
static char *dup_or_empty(const char *s) { return strdup(s != NULL ? s : ""); }

void sanhe_day_copy(char out[16], const char *day) { snprintf(out, 16, "%s", day ? day : ""); }

int sanhe_claim_to_pb(const struct sanhe_claim *claim, Sanhe__Claim *pb, Sanhe__Line **lines,
                      Sanhe__Line ***line_ptrs)
{
    *lines = NULL;
    *line_ptrs = NULL;
    if (claim == NULL || claim->line_count == 0 || claim->lines == NULL)
        return SANHE_E_INVAL;
    *lines = calloc(claim->line_count, sizeof **lines);
    *line_ptrs = calloc(claim->line_count, sizeof **line_ptrs);
    if (*lines == NULL || *line_ptrs == NULL)
        return SANHE_E_NOMEM;
    sanhe__claim__init(pb);
    /* The request only borrows the caller's strings: packing copies them. */
    pb->hospital = (char *)claim->hospital;
    pb->person = (char *)claim->person;
    pb->visit = (char *)claim->visit;
    pb->date = (char *)claim->date;
    for (size_t i = 0; i < claim->line_count; i++) {
        Sanhe__Line *l = &(*lines)[i];
        sanhe__line__init(l);
        l->code = (char *)claim->lines[i].code;
        l->has_qty_milli = l->has_amount = 1;
        l->qty_milli = claim->lines[i].qty_milli;
        l->amount = claim->lines[i].amount;
        (*line_ptrs)[i] = l;
    }
    pb->n_lines = claim->line_count;
    pb->lines = *line_ptrs;
    return 0;
}

static int fund_from_pb(const Sanhe__FundShare *f, struct sanhe_fund_share *o)
{
    o->pay = f->pay;
    o->deductible = f->deductible;
    o->payable = f->payable;
    o->fund = dup_or_empty(f->fund);
    o->name = dup_or_empty(f->name);
    o->reason = dup_or_empty(f->reason);
    o->category = dup_or_empty(f->category);
    o->cap_group = dup_or_empty(f->cap_group);
    return o->fund && o->name && o->reason && o->category && o->cap_group ? 0 : SANHE_E_NOMEM;
}

void sanhe_breakdown_free(struct sanhe_breakdown *b)
{
    for (size_t i = 0; b->funds != NULL && i < b->fund_count; i++) {
        struct sanhe_fund_share *f = &b->funds[i];
        free(f->fund), free(f->name), free(f->reason), free(f->category), free(f->cap_group);
    }
    free(b->funds);
    free(b->policy_region);
    memset(b, 0, sizeof *b);
}

int sanhe_breakdown_from_pb(const Sanhe__Breakdown *pb, struct sanhe_breakdown *o)
{
    memset(o, 0, sizeof *o);
    if (pb == NULL)
        return SANHE_E_PROTOCOL;
    o->total = pb->total, o->out_of_scope = pb->out_of_scope, o->over_limit = pb->over_limit;
    o->pre_selfpay = pb->pre_selfpay, o->in_scope = pb->in_scope;
    o->fund_total = pb->fund_total, o->patient_pays = pb->patient_pays;
    o->trial = pb->trial ? 1 : 0;
    o->policy_year = pb->policy_year;
    o->has_class_totals = pb->has_class_a_total && pb->has_class_b_total && pb->has_class_c_total;
    if (o->has_class_totals) {
        o->class_a_total = pb->class_a_total;
        o->class_b_total = pb->class_b_total;
        o->class_c_total = pb->class_c_total;
    }
    o->policy_region = dup_or_empty(pb->policy_region);
    o->funds = calloc(pb->n_funds + 1, sizeof *o->funds);
    int rc = o->policy_region != NULL && o->funds != NULL ? 0 : SANHE_E_NOMEM;
    for (size_t i = 0; rc == 0 && i < pb->n_funds; i++) {
        o->fund_count = i + 1; /* so that a partial copy frees */
        rc = fund_from_pb(pb->funds[i], &o->funds[i]);
    }
    o->fund_count = pb->n_funds;
    if (rc != 0)
        sanhe_breakdown_free(o);
    return rc;
}

void sanhe_settle_result_free(struct sanhe_settle_result *r)
{
    if (r == NULL)
        return;
    sanhe_breakdown_free(&r->breakdown);
    memset(r, 0, sizeof *r);
}

void sanhe_settlement_free(struct sanhe_settlement *s)
{
    if (s == NULL)
        return;
    free(s->hospital), free(s->request_id), free(s->person), free(s->visit), free(s->date);
    free(s->reversal_request_id);
    sanhe_breakdown_free(&s->breakdown);
    memset(s, 0, sizeof *s);
}

int sanhe_settlement_from_pb(const Sanhe__Settlement *pb, struct sanhe_settlement *o)
{
    memset(o, 0, sizeof *o);
    if (pb == NULL)
        return SANHE_E_PROTOCOL;
    const Sanhe__Claim *cl = pb->claim;
    o->settlement_id = pb->settlement_id;
    o->state = pb->state == SANHE__SETTLEMENT_STATE__REVERSED ? SANHE_REVERSED : SANHE_SETTLED;
    o->settled_at_ms = pb->settled_at_ms;
    o->reversed_at_ms = pb->reversed_at_ms;
    sanhe_day_copy(o->business_day, pb->business_day);
    sanhe_day_copy(o->reversal_day, pb->reversal_day);
    o->hospital = dup_or_empty(pb->hospital);
    o->request_id = dup_or_empty(pb->request_id);
    o->reversal_request_id = dup_or_empty(pb->reversal_request_id);
    o->person = dup_or_empty(cl ? cl->person : NULL);
    o->visit = dup_or_empty(cl ? cl->visit : NULL);
    o->date = dup_or_empty(cl ? cl->date : NULL);
    int rc =
        o->hospital && o->request_id && o->reversal_request_id && o->person && o->visit && o->date
            ? sanhe_breakdown_from_pb(pb->breakdown, &o->breakdown)
            : SANHE_E_NOMEM;
    if (rc != 0)
        sanhe_settlement_free(o);
    return rc;
}

void sanhe_eligibility_free(struct sanhe_eligibility *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; e->funds != NULL && i < e->fund_count; i++) {
        struct sanhe_fund_status *f = &e->funds[i];
        free(f->fund), free(f->name), free(f->kind), free(f->category), free(f->reason);
        for (size_t k = 0; f->limits != NULL && k < f->limit_count; k++)
            free(f->limits[k].visit), free(f->limits[k].cap_group),
                free(f->limits[k].deductible_scope);
        free(f->limits);
    }
    for (size_t i = 0; e->accumulators != NULL && i < e->accumulator_count; i++)
        free(e->accumulators[i].fund), free(e->accumulators[i].cap_group);
    free(e->funds), free(e->accumulators);
    free(e->person), free(e->name), free(e->region), free(e->policy_name);
    memset(e, 0, sizeof *e);
}

/* Absent optional amounts stay 0, with their has_ flag 0. */
static int fund_limit_from_pb(const Sanhe__FundLimit *l, struct sanhe_fund_limit *o)
{
    o->year = l->year;
    o->has_annual_cap = l->has_annual_cap ? 1 : 0;
    o->annual_cap = l->has_annual_cap ? l->annual_cap : 0;
    o->remaining = l->has_annual_cap && l->has_remaining ? l->remaining : 0;
    o->paid = l->paid;
    o->has_claim_cap = l->has_claim_cap ? 1 : 0;
    o->claim_cap = l->has_claim_cap ? l->claim_cap : 0;
    for (size_t i = 0; i < l->n_deductible_by_level && i < 5; i++)
        o->deductible_by_level[i] = l->deductible_by_level[i];
    o->has_deductible = l->has_deductible ? 1 : 0;
    o->deductible = l->deductible;
    o->deductible_met = l->deductible_met;
    o->visit = dup_or_empty(l->visit);
    o->cap_group = dup_or_empty(l->cap_group);
    o->deductible_scope = dup_or_empty(l->deductible_scope);
    return o->visit && o->cap_group && o->deductible_scope ? 0 : SANHE_E_NOMEM;
}

static int fund_status_from_pb(const Sanhe__FundStatus *f, struct sanhe_fund_status *o)
{
    o->applies = f->applies ? 1 : 0;
    o->fund = dup_or_empty(f->fund);
    o->name = dup_or_empty(f->name);
    o->kind = dup_or_empty(f->kind);
    o->category = dup_or_empty(f->category);
    o->reason = dup_or_empty(f->reason);
    o->limits = calloc(f->n_limits + 1, sizeof *o->limits);
    int rc =
        o->fund && o->name && o->kind && o->category && o->reason && o->limits ? 0 : SANHE_E_NOMEM;
    for (size_t i = 0; rc == 0 && i < f->n_limits; i++) {
        o->limit_count = i + 1; /* so that a partial copy frees */
        rc = fund_limit_from_pb(f->limits[i], &o->limits[i]);
    }
    return rc;
}

static int accumulator_from_pb(const Sanhe__Accumulator *a, struct sanhe_accumulator *o)
{
    o->year = a->year;
    o->paid = a->paid, o->payable = a->payable, o->deductible_met = a->deductible_met;
    o->fund = dup_or_empty(a->fund);
    o->cap_group = dup_or_empty(a->cap_group);
    return o->fund && o->cap_group ? 0 : SANHE_E_NOMEM;
}

int sanhe_eligibility_from_pb(const Sanhe__EligibilityReply *pb, struct sanhe_eligibility *o)
{
    memset(o, 0, sizeof *o);
    if (pb == NULL)
        return SANHE_E_PROTOCOL;
    o->deceased = pb->deceased ? 1 : 0;
    o->person = dup_or_empty(pb->person);
    o->name = dup_or_empty(pb->name);
    o->region = dup_or_empty(pb->region);
    o->policy_name = dup_or_empty(pb->policy_name);
    o->funds = calloc(pb->n_funds + 1, sizeof *o->funds);
    o->accumulators = calloc(pb->n_accumulators + 1, sizeof *o->accumulators);
    int rc = o->person && o->name && o->region && o->policy_name && o->funds && o->accumulators
                 ? 0
                 : SANHE_E_NOMEM;
    for (size_t i = 0; rc == 0 && i < pb->n_funds; i++) {
        o->fund_count = i + 1;
        rc = fund_status_from_pb(pb->funds[i], &o->funds[i]);
    }
    for (size_t i = 0; rc == 0 && i < pb->n_accumulators; i++) {
        o->accumulator_count = i + 1;
        rc = accumulator_from_pb(pb->accumulators[i], &o->accumulators[i]);
    }
    if (rc != 0)
        sanhe_eligibility_free(o);
    return rc;
}
