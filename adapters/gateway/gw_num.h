/*
 * Numbers of the national interface, exactly (docs/gateway.md, "Money").
 *
 * jansson decodes a JSON real with strtod, so 12.30 and 12.300 and 1.23e1
 * all become the same double and the text the counter sent is lost. Money
 * must never pass through binary floating point, and three decimals or an
 * exponent must be refused, so the gateway keeps the text of every number:
 *
 *   gw_json_load  walks the request's bytes once (outside JSON strings
 *                 only) and rewrites every number token into a JSON string
 *                 holding a NUL byte, a 'N' and the token's exact text, then
 *                 lets jansson parse the result (JSON_ALLOW_NUL). A string
 *                 the client sent can never carry a NUL: the walk refuses
 *                 any "\u0000" escape, so a marked string is always one of
 *                 our numbers, and a client's "12.30" string stays a string
 *                 (refused where a number is due).
 *   gw_num_text   gives back a number's text (NULL for anything else).
 *   gw_yuan_to_fen / gw_qty_to_milli / gw_num_int parse that text exactly.
 *
 * On the way out, gw_json_money puts fen into a document as a marked string
 * and gw_json_dump turns each marked string into the yuan number "12.30".
 * The walk is a tokenizer of numbers and string boundaries only; JSON's
 * grammar is jansson's.
 */
#ifndef GW_NUM_H
#define GW_NUM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The largest amount in yuan the gateway accepts: 10^10 fen, the engine's
 * own largest line amount, times 10^4 (a bill of 10000 such lines). */
#define GW_FEN_MAX 100000000000000LL

/* "12.30" -> 1230: optional '-', integer digits without leading zeros, then
 * nothing, one or two decimals. Refuses exponents, three decimals or more,
 * "+", leading zeros, "1.", ".5", values above GW_FEN_MAX. 0 or -1. */
int gw_yuan_to_fen(const char *text, int64_t *fen);

/* fen -> "12.30", "-0.05" into out (at least 24 bytes). */
void gw_fen_to_yuan(int64_t fen, char *out, size_t size);

/* "1.5" -> 1500 thousandths: at most 3 decimals, > 0, at most 10^9 units. */
int gw_qty_to_milli(const char *text, int64_t *milli);

/* A plain integer number ("12", "-3"), no fraction or exponent. */
int gw_num_int(const char *text, int64_t *out);

/* Parses the request body (len bytes) as described above. NULL on bad JSON,
 * with a short reason in why (Chinese-free, for the err_msg builder). */
json_t *gw_json_load(const char *body, size_t len, char *why, size_t why_size);

/* The exact text of a number member decoded by gw_json_load, or NULL. */
const char *gw_num_text(const json_t *value);

/* A number in an output document: money in fen (printed as yuan with two
 * decimals), a ratio of bp basis points ("0.1000"), or thousandths ("1.500"). */
json_t *gw_json_money(int64_t fen);
json_t *gw_json_bp(int64_t bp);
json_t *gw_json_milli(int64_t milli);

/* Dumps doc compactly with keys in insertion order, every marked number
 * written as a JSON number. malloc'ed, NULL when out of memory. */
char *gw_json_dump(const json_t *doc, size_t *len);

#endif
