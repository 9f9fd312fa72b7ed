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
 * Unknown keys are refused at every level (a typo must not fall back to a
 * default silently); from_text also refuses a key given twice. On failure
 * *out is unspecified. Category priority is the key order of the document.
 */
int sh_policy_from_json(const json_t *doc, struct sh_policy *out, struct sh_error *err);
int sh_policy_from_text(const char *text, size_t len, struct sh_policy *out, struct sh_error *err);

/*
 * Case-file JSON to protobuf. Each returns 0 and sets *out to a new message,
 * or SH_E_BAD_REFERENCE_DATA / SH_E_BAD_CLAIM (SH_E_INTERNAL when out of
 * memory) with a message naming the field ("categories[0].from: ...") and
 * *out = NULL, nothing left allocated.
 *
 * Freeing: a message is allocated exactly as protobuf-c's unpacker with the
 * default allocator would allocate it (malloc'ed message, strings, arrays
 * and sub-messages), so free it with the generated function and a NULL
 * allocator: sanhe__claim__free_unpacked(msg, NULL),
 * sanhe__person__free_unpacked(msg, NULL), sanhe__hospital__free_unpacked,
 * sanhe__catalog_item__free_unpacked.
 *
 * Reference data is checked for shape: unknown keys (a typo), wrong types,
 * strings longer than the buffers of sh_types.h, more entries than its
 * limits, invalid dates (sh_date_parse), an invalid resident ID, an unknown
 * level or class. Optional: a person's enrolled, categories and died (null or
 * absent: alive), a category's to (null or absent: open), a hospital's funds,
 * an item's selfpay_bp and price_cap (null or absent: none).
 *
 * A claim that is not an object is refused with SH_E_BAD_CLAIM; otherwise
 * hospital, person, visit and date are passed as given, and left absent when
 * missing or not a string. qty: an integer, or a real whose shortest
 * round-tripping decimal text has at most 3 decimals (20.5 -> 20500);
 * amount: an integer, or a real of integral value (100.0 -> 100).
 *
 * A claim is converted even when malformed where the protocol can carry the
 * fault (an unknown visit, a bad date, no lines: the engine refuses those);
 * a line the protocol cannot represent (amount not an integer, qty with more
 * than 3 decimals, not a number) is sent with its defect set so that the
 * engine refuses it in the order docs/rules.md gives.
 */
int sh_json_to_claim(const json_t *claim, Sanhe__Claim **out, struct sh_error *err);
int sh_json_to_person(const json_t *person, Sanhe__Person **out, struct sh_error *err);
/* The same without the resident ID's check digit (the id must still be a
 * string of at most 18 bytes): for a caller that lets the engine judge it,
 * as the person update does (BAD_PERSON_ID). */
int sh_json_to_person_unchecked(const json_t *person, Sanhe__Person **out, struct sh_error *err);
int sh_json_to_hospital(const json_t *hospital, Sanhe__Hospital **out, struct sh_error *err);
int sh_json_to_item(const json_t *item, Sanhe__CatalogItem **out, struct sh_error *err);

#endif
