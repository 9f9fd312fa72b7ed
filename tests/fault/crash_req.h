/*
 * Requests for the crash test: random but valid claims over the persons,
 * items and policy of tests/cases/02-three-funds-in-order.json, and the
 * reverse, cancel, query and eligibility requests that undo and inspect
 * them. Every builder returns a heap Request that
 * sanhe__request__free_unpacked releases (it is packed and unpacked once,
 * so it owns all its strings).
 */
#ifndef CRASH_REQ_H
#define CRASH_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sanhe.pb-c.h"

/* The persons of case 02 (all insured in 2026, most with categories, so
 * that the subsidy and assistance funds and their annual caps are hit). */
#define CRASH_PERSONS 8
extern const char *const crash_persons[CRASH_PERSONS];

/* A small deterministic generator per client (xorshift64*), so that a
 * failing run can be repeated with SANHE_CRASH_SEED. */
uint64_t crash_rng_next(uint64_t *state);
uint32_t crash_rng_below(uint64_t *state, uint32_t n);

/* A settle of a random valid claim of hospital. */
Sanhe__Request *crash_req_settle(uint64_t *rng, const char *rid, const char *hospital);

/* A reverse by settlement id, or by the settle's request id when by_rid is
 * not NULL. */
Sanhe__Request *crash_req_reverse(const char *rid, uint64_t settlement_id, const char *by_rid);

Sanhe__Request *crash_req_cancel(const char *rid, const char *cancel_of);

/* A query by settlement id (hospital NULL) or by (hospital, settle_rid). */
Sanhe__Request *crash_req_query(const char *rid, uint64_t settlement_id, const char *hospital,
                                const char *settle_rid);

Sanhe__Request *crash_req_eligibility(const char *rid, const char *person);

/* The packed bytes of a response (malloc'd), to compare replies byte for
 * byte; NULL when out of memory. */
uint8_t *crash_pack_response(const Sanhe__Response *resp, size_t *len);

/* True when both responses pack to the same bytes. */
bool crash_same_response(const Sanhe__Response *a, const Sanhe__Response *b);

#endif
