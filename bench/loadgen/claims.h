/*
 * Requests of the real protocol, built in place (no allocation per
 * request): a builder holds the messages and the lines that the returned
 * Sanhe__Request points into, valid until the next build.
 *
 * Bill sizes (the claim's lines), by visit type, uniform in a range:
 *   outpatient 1-5 lines, chronic 2-8, inpatient 10-40
 * (--lines MIN-MAX replaces all three). A line is a catalog item drawn
 * uniformly, a quantity of 1-10 units and amount = quantity x the item's
 * unit price (integer fen: no floating point near money).
 */
#ifndef CLAIMS_H
#define CLAIMS_H

#include <stdint.h>

#include "dataset.h"
#include "mix.h"
#include "sanhe.pb-c.h"

#define LG_LINES_MAX 1000u

struct lg_claim_shape {
    struct lg_weights visits;
    uint32_t lines_min[LG_VISIT_COUNT];
    uint32_t lines_max[LG_VISIT_COUNT];
};

/* The documented per-visit line ranges. */
void lg_claim_shape_default_lines(struct lg_claim_shape *shape);

struct lg_request_in {
    enum lg_op op;
    const char *request_id;
    const char *hospital; /* the terminal's own */
    const char *person;
    const char *date;              /* "YYYY-MM-DD" */
    uint64_t settlement_id;        /* reverse, query */
    const char *target_request_id; /* cancel: the settle it cancels */
};

struct lg_builder {
    Sanhe__Request request;
    Sanhe__SettleRequest settle;
    Sanhe__PresettleRequest presettle;
    Sanhe__ReverseRequest reverse;
    Sanhe__CancelRequest cancel;
    Sanhe__QueryRequest query;
    Sanhe__EligibilityRequest eligibility;
    Sanhe__Claim claim;
    Sanhe__Line lines[LG_LINES_MAX];
    Sanhe__Line *line_ptrs[LG_LINES_MAX];
    uint32_t last_lines; /* lines of the last claim built (0: no claim) */
};

const Sanhe__Request *lg_request_build(struct lg_builder *b, const struct lg_request_in *in,
                                       const struct lg_catalog *catalog,
                                       const struct lg_claim_shape *shape, uint64_t *rng);

#endif
