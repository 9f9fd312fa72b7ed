/*
 * protobuf <-> the core's structs. Incoming reference data is validated here
 * (BAD_REFERENCE_DATA naming the record: "persons[3] (330424********0129):
 * categories[0].from: not a date"); resident IDs in messages are masked.
 */
#ifndef CONVERT_H
#define CONVERT_H

#include "ledger.h"
#include "sh_types.h"

/* A claim as the rules core takes it. lines is malloc'd (free it).
 * visit -1 when unknown, date 0 when invalid, person copied with the spare
 * byte (an over-long id stays refusable). More than SH_CLAIM_LINES_MAX lines
 * is BAD_CLAIM here already (the rules core would say the same first). */
int convert_claim(const Sanhe__Claim *in, struct sh_claim *out, struct sh_line **lines,
                  struct sh_error *err);

int convert_person(const Sanhe__Person *in, size_t index, struct sh_person *out,
                   struct sh_error *err);
int convert_hospital(const Sanhe__Hospital *in, size_t index, struct sh_hospital *out,
                     struct sh_error *err);
int convert_item(const Sanhe__CatalogItem *in, size_t index, struct sh_item *out,
                 struct sh_error *err);

/* A Breakdown message over a core breakdown: no allocation, the strings
 * point into b and policy, which must outlive it. */
struct convert_breakdown {
    Sanhe__Breakdown msg;
    Sanhe__FundShare shares[SH_FUNDS_MAX];
    Sanhe__FundShare *share_ptrs[SH_FUNDS_MAX];
};
void convert_breakdown(const struct sh_breakdown *b, const struct sh_policy *policy, bool trial,
                       struct convert_breakdown *out);

#endif
