/*
 * JSON adapters (jansson): policy documents into the core's struct, and
 * reference data and claims in the case-file format into protobuf messages,
 * which is how they travel to the engine, in process or over the wire.
 */
#ifndef SH_JSON_H
#define SH_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "sanhe.pb-c.h"
#include "sh_error.h"
#include "sh_types.h"

/*
 * Parses a sanhe.policy/1 document and validates it (sh_policy_validate).
 * Refuses, with SH_E_BAD_REFERENCE_DATA and a message that gives the path of
 * the offending value ("funds[1].rules.dibao.inpatient.bands[0].upto: ..."):
 * a wrong schema, unknown keys' types, an unknown fund kind, visit type or
 * level name, bands not ascending or a bounded last band, a ratio over
 * 10000 bp, negative money, reversed or invalid dates, duplicate fund ids,
 * an over-long string, more entries than the limits of sh_types.h.
 */
int sh_policy_from_json(const json_t *doc, struct sh_policy *out, struct sh_error *err);
int sh_policy_from_text(const char *text, size_t len, struct sh_policy *out,
                        struct sh_error *err);

/*
 * Case-file JSON to protobuf. Each returns 0 and fills *out (strings are
 * allocated with malloc; free the message with the matching
 * sh_pb_*_free), or SH_E_BAD_REFERENCE_DATA / SH_E_BAD_CLAIM with a message.
 *
 * A claim is converted even when malformed where the protocol can carry the
 * fault (an unknown visit, a bad date, no lines: the engine refuses those);
 * a line the protocol cannot represent (amount not an integer, qty with more
 * than 3 decimals, not a number) is sent with its defect set so that the
 * engine refuses it in the order RULES.md gives.
 */
int sh_json_to_claim(const json_t *claim, Sanhe__Claim **out, struct sh_error *err);
int sh_json_to_person(const json_t *person, Sanhe__Person **out, struct sh_error *err);
int sh_json_to_hospital(const json_t *hospital, Sanhe__Hospital **out, struct sh_error *err);
int sh_json_to_item(const json_t *item, Sanhe__CatalogItem **out, struct sh_error *err);

#endif
