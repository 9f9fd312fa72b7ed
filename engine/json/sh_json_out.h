/*
 * Replies as JSON in the case-file shape (cases/README.md): what the
 * conformance runner compares and what `sanhe-counter --json` prints.
 */
#ifndef SH_JSON_OUT_H
#define SH_JSON_OUT_H

#include <jansson.h>

#include "sanhe.pb-c.h"

/* {total, out_of_scope, over_limit, pre_selfpay, in_scope,
 *  funds: {id: {pay, deductible, reason, category?, cap_group?, name?}},
 *  fund_total, patient_pays, trial}. New reference, or NULL on no memory. */
json_t *sh_json_from_breakdown(const Sanhe__Breakdown *breakdown);

/* A whole Response in the case-file shape: {"error": CODE, "message": ...}
 * for a refusal; the breakdown (plus settlement_id, business_day) for
 * settle and presettle; {"ok": true, "reversed": bool, ...} for reverse and
 * cancel; {"accumulators": [...], ...} for eligibility (accumulators whose
 * paid is 0 are left out when nonzero_only); {"ok": true, "created", "changed"}
 * for a person update; the four lists (and month, last_day) for a crosscheck. */
json_t *sh_json_from_response(const Sanhe__Response *response, int nonzero_only);

#endif
