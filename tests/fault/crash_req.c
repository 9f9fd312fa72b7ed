#include "crash_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const crash_persons[CRASH_PERSONS] = {
    "330424194502020026", "33042419500303003X", "330424197004040044", "330424198005050054",
    "330424199006060064", "330424195507070078", "330424196508080088", "330424197509090098",
};

/* The catalog of case 02: class A, B (one with a price cap and its own
 * self-paid share) and C, so every split of docs/rules.md step 1 occurs. */
static const char *const items[] = {"A001", "A002", "A003", "A004", "B001",
                                    "B002", "B003", "C001", "C002"};
#define ITEM_COUNT (sizeof items / sizeof items[0])

static const char *const visits[] = {"outpatient", "chronic", "inpatient"};

uint64_t crash_rng_next(uint64_t *state)
{
    uint64_t x = *state != 0 ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint32_t crash_rng_below(uint64_t *state, uint32_t n)
{
    return n > 0 ? (uint32_t)(crash_rng_next(state) % n) : 0;
}

/* Packs the stack-built request and unpacks it again, so that the result
 * owns every string and frees with sanhe__request__free_unpacked. */
static Sanhe__Request *owned(const Sanhe__Request *r)
{
    size_t len = sanhe__request__get_packed_size(r);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return NULL;
    sanhe__request__pack(r, buf);
    Sanhe__Request *copy = sanhe__request__unpack(NULL, len, buf);
    free(buf);
    return copy;
}

/* Amounts by visit type: outpatient bills are small (their annual caps
 * are reached after a few dozen), inpatient ones large (bands, deductibles). */
static int64_t random_amount(uint64_t *rng, uint32_t visit)
{
    static const uint32_t lo[] = {500, 5000, 50000}, span[] = {60000, 200000, 3000000};
    return (int64_t)lo[visit] + crash_rng_below(rng, span[visit]);
}

Sanhe__Request *crash_req_settle(uint64_t *rng, const char *rid, const char *hospital)
{
    enum { LINES_MAX = 3 };
    Sanhe__Line lines[LINES_MAX], *line_ptrs[LINES_MAX];
    uint32_t visit = crash_rng_below(rng, 3);
    size_t n = 1 + crash_rng_below(rng, LINES_MAX);
    for (size_t i = 0; i < n; i++) {
        sanhe__line__init(&lines[i]);
        lines[i].code = (char *)items[crash_rng_below(rng, ITEM_COUNT)];
        lines[i].has_qty_milli = lines[i].has_amount = 1;
        lines[i].qty_milli = 1000 * (1 + crash_rng_below(rng, 4)) + 500 * crash_rng_below(rng, 2);
        lines[i].amount = random_amount(rng, visit);
        line_ptrs[i] = &lines[i];
    }
    char date[11];
    snprintf(date, sizeof date, "2026-%02u-%02u", 1 + crash_rng_below(rng, 12),
             1 + crash_rng_below(rng, 28));
    Sanhe__Claim claim = SANHE__CLAIM__INIT;
    claim.hospital = (char *)hospital;
    claim.person = (char *)crash_persons[crash_rng_below(rng, CRASH_PERSONS)];
    claim.visit = (char *)visits[visit];
    claim.date = date;
    claim.n_lines = n;
    claim.lines = line_ptrs;
    Sanhe__SettleRequest settle = SANHE__SETTLE_REQUEST__INIT;
    settle.claim = &claim;
    Sanhe__Request r = SANHE__REQUEST__INIT;
    r.request_id = (char *)rid;
    r.op_case = SANHE__REQUEST__OP_SETTLE;
    r.settle = &settle;
    return owned(&r);
}

Sanhe__Request *crash_req_reverse(const char *rid, uint64_t settlement_id, const char *by_rid)
{
    Sanhe__ReverseRequest rev = SANHE__REVERSE_REQUEST__INIT;
    if (by_rid != NULL) {
        rev.target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
        rev.settlement_request_id = (char *)by_rid;
    } else {
        rev.target_case = SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID;
        rev.settlement_id = settlement_id;
    }
    Sanhe__Request r = SANHE__REQUEST__INIT;
    r.request_id = (char *)rid;
    r.op_case = SANHE__REQUEST__OP_REVERSE;
    r.reverse = &rev;
    return owned(&r);
}

Sanhe__Request *crash_req_cancel(const char *rid, const char *cancel_of)
{
    Sanhe__CancelRequest cancel = SANHE__CANCEL_REQUEST__INIT;
    cancel.cancel_of = (char *)cancel_of;
    Sanhe__Request r = SANHE__REQUEST__INIT;
    r.request_id = (char *)rid;
    r.op_case = SANHE__REQUEST__OP_CANCEL;
    r.cancel = &cancel;
    return owned(&r);
}

Sanhe__Request *crash_req_query(const char *rid, uint64_t settlement_id, const char *hospital,
                                const char *settle_rid)
{
    Sanhe__QueryRequest q = SANHE__QUERY_REQUEST__INIT;
    if (settle_rid != NULL) {
        q.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_REQUEST_ID;
        q.settlement_request_id = (char *)settle_rid;
        q.hospital = (char *)hospital;
    } else {
        q.target_case = SANHE__QUERY_REQUEST__TARGET_SETTLEMENT_ID;
        q.settlement_id = settlement_id;
    }
    Sanhe__Request r = SANHE__REQUEST__INIT;
    r.request_id = (char *)rid;
    r.op_case = SANHE__REQUEST__OP_QUERY;
    r.query = &q;
    return owned(&r);
}

Sanhe__Request *crash_req_eligibility(const char *rid, const char *person)
{
    Sanhe__EligibilityRequest e = SANHE__ELIGIBILITY_REQUEST__INIT;
    e.person = (char *)person;
    e.date = (char *)"2026-06-30";
    Sanhe__Request r = SANHE__REQUEST__INIT;
    r.request_id = (char *)rid;
    r.op_case = SANHE__REQUEST__OP_ELIGIBILITY;
    r.eligibility = &e;
    return owned(&r);
}

uint8_t *crash_pack_response(const Sanhe__Response *resp, size_t *len)
{
    *len = sanhe__response__get_packed_size(resp);
    uint8_t *buf = malloc(*len > 0 ? *len : 1);
    if (buf != NULL)
        sanhe__response__pack(resp, buf);
    return buf;
}

bool crash_same_response(const Sanhe__Response *a, const Sanhe__Response *b)
{
    size_t na, nb;
    uint8_t *pa = crash_pack_response(a, &na), *pb = crash_pack_response(b, &nb);
    bool same = pa != NULL && pb != NULL && na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}
