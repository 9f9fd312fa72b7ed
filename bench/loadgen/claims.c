#include "claims.h"

#include "lg_util.h"

void lg_claim_shape_default_lines(struct lg_claim_shape *shape)
{
    static const uint32_t lo[LG_VISIT_COUNT] = {1, 2, 10}, hi[LG_VISIT_COUNT] = {5, 8, 40};
    for (int v = 0; v < LG_VISIT_COUNT; v++) {
        shape->lines_min[v] = lo[v];
        shape->lines_max[v] = hi[v];
    }
}

/* protobuf-c's fields are char *; packing only reads them. */
static char *str(const char *s) { return (char *)(uintptr_t)s; }

static void build_claim(struct lg_builder *b, const struct lg_request_in *in,
                        const struct lg_catalog *catalog, const struct lg_claim_shape *shape,
                        uint64_t *rng)
{
    size_t visit = lg_weights_pick(&shape->visits, rng);
    uint32_t lo = shape->lines_min[visit], hi = shape->lines_max[visit];
    uint32_t n = lo + (uint32_t)lg_rng_below(rng, (uint64_t)(hi - lo) + 1);
    sanhe__claim__init(&b->claim);
    b->claim.hospital = str(in->hospital);
    b->claim.person = str(in->person);
    b->claim.visit = str(lg_visit_names[visit]);
    b->claim.date = str(in->date);
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_item *it = &catalog->items[lg_rng_below(rng, catalog->n)];
        int64_t qty = 1 + (int64_t)lg_rng_below(rng, 10);
        Sanhe__Line *line = &b->lines[i];
        sanhe__line__init(line);
        line->code = str(it->code);
        line->has_qty_milli = line->has_amount = 1;
        line->qty_milli = qty * 1000;
        line->amount = qty * it->unit_price;
        b->line_ptrs[i] = line;
    }
    b->claim.n_lines = n;
    b->claim.lines = b->line_ptrs;
    b->last_lines = n;
}

const Sanhe__Request *lg_request_build(struct lg_builder *b, const struct lg_request_in *in,
                                       const struct lg_catalog *catalog,
                                       const struct lg_claim_shape *shape, uint64_t *rng)
{
    Sanhe__Request *r = &b->request;
    sanhe__request__init(r);
    r->request_id = str(in->request_id);
    b->last_lines = 0;
    switch (in->op) {
    case LG_OP_SETTLE:
        build_claim(b, in, catalog, shape, rng);
        sanhe__settle_request__init(&b->settle);
        b->settle.claim = &b->claim;
        r->op_case = SANHE__REQUEST__OP_SETTLE;
        r->settle = &b->settle;
        break;
    case LG_OP_PRESETTLE:
        build_claim(b, in, catalog, shape, rng);
        sanhe__presettle_request__init(&b->presettle);
        b->presettle.claim = &b->claim;
        r->op_case = SANHE__REQUEST__OP_PRESETTLE;
        r->presettle = &b->presettle;
        break;
    case LG_OP_REVERSE:
        sanhe__reverse_request__init(&b->reverse);
        b->reverse.target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID;
        b->reverse.settlement_id = in->settlement_id;
        r->op_case = SANHE__REQUEST__OP_REVERSE;
        r->reverse = &b->reverse;
        break;
    case LG_OP_CANCEL:
        sanhe__cancel_request__init(&b->cancel);
        b->cancel.cancel_of = str(in->target_request_id);
        r->op_case = SANHE__REQUEST__OP_CANCEL;
        r->cancel = &b->cancel;
        break;
    case LG_OP_QUERY:
        sanhe__query_request__init(&b->query);
        b->query.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_ID;
        b->query.settlement_id = in->settlement_id;
        r->op_case = SANHE__REQUEST__OP_QUERY;
        r->query = &b->query;
        break;
    case LG_OP_ELIGIBILITY:
    default:
        sanhe__eligibility_request__init(&b->eligibility);
        b->eligibility.person = str(in->person);
        b->eligibility.date = str(in->date);
        r->op_case = SANHE__REQUEST__OP_ELIGIBILITY;
        r->eligibility = &b->eligibility;
        break;
    }
    return r;
}
