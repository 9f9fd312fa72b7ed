/*
 * Key layouts. Fixed-width and big-endian wherever order matters, so that a
 * cursor walks time (settlement ids, journal sequence numbers, days) and
 * groups (a person's accumulators by year, fund and cap group; a
 * hospital-day's journal entries) in key order. Strings inside fixed-width
 * keys are zero-padded to STORE_PAD bytes: since every such string is
 * shorter than STORE_PAD, byte order of the padded form is strcmp order.
 *
 *   accumulators  person(18) year(u32) fund '\0' cap_group       at most 85 bytes
 *   settlements   settlement id (u64)                                  8 bytes
 *   requests      hospital '\0' request_id -> request_log seq   variable
 *   request_log   seq (u64)                                            8 bytes
 *   journal       seq (u64)                                            8 bytes
 *   journal_day   day yyyymmdd (u32) hospital(32) seq (u64)           44 bytes
 *   policies      region(32) effective_from (u32)                     36 bytes
 *   persons       resident id (18); hospitals, catalog, terminals: the code
 *   meta          a name ("next_settlement_id", ...)
 */
#ifndef STORE_KEYS_H
#define STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "sh_types.h"

#define STORE_PAD 32
#define STORE_ACC_PERSON_LEN SH_PERSON_ID_LEN
#define STORE_ACC_YEAR_PREFIX_LEN (SH_PERSON_ID_LEN + 4)
#define STORE_ACC_KEY_MAX (SH_PERSON_ID_LEN + 4 + 2 * STORE_PAD)
#define STORE_REQUEST_KEY_MAX (2 * SH_CODE_MAX)
#define STORE_DAY_KEY_LEN (4 + STORE_PAD + 8)
#define STORE_DAY_PREFIX_LEN (4 + STORE_PAD)
#define STORE_POLICY_KEY_LEN (STORE_PAD + 4)

#define STORE_META_SCHEMA "schema_version"
#define STORE_META_NEXT_SETTLEMENT "next_settlement_id"
#define STORE_META_NEXT_SEQ "next_journal_seq"
#define STORE_META_LAST_HASH "journal_last_hash"
#define STORE_META_NEXT_REQUEST "next_request_seq"
#define STORE_META_NEXT_AUDIT "next_audit_seq"
/* The last request_log / journal entry that is in the requests / journal_day
 * index (absent: none); the entries above it are the indexes' tails. */
#define STORE_META_REQUESTS_INDEXED "requests_indexed_through"
#define STORE_META_JOURNAL_DAY_INDEXED "journal_day_indexed_through"

static inline void store_be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t store_be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_be64_put(uint8_t *p, uint64_t v)
{
    store_be32_put(p, (uint32_t)(v >> 32));
    store_be32_put(p + 4, (uint32_t)v);
}

static inline uint64_t store_be64_get(const uint8_t *p)
{
    return (uint64_t)store_be32_get(p) << 32 | store_be32_get(p + 4);
}

/* s zero-padded into STORE_PAD bytes; -1 when it does not fit (with a NUL). */
int store_pad_put(uint8_t *out, const char *s);
/* The string of a padded field, NUL-terminated into out (STORE_PAD bytes). */
void store_pad_get(const uint8_t *in, char *out);

/* Each returns the key length, or -1 when a part is too long. */
/* An accumulator's key is variable: short keys keep the tree's branch pages
 * few (a random person's settle rewrites its path from the root), and the
 * NUL after the fund keeps (fund, cap_group) in strcmp order. The rest of
 * out, up to STORE_ACC_KEY_MAX, is zeroed, so that two keys built here
 * compare equal with memcmp over STORE_ACC_KEY_MAX. */
int store_key_acc(uint8_t out[STORE_ACC_KEY_MAX], const char *person, int32_t year,
                  const char *fund, const char *cap_group);
int store_key_request(uint8_t out[STORE_REQUEST_KEY_MAX], const char *hospital,
                      const char *request_id);
int store_key_day(uint8_t out[STORE_DAY_KEY_LEN], uint32_t day, const char *hospital, uint64_t seq);
int store_key_policy(uint8_t out[STORE_POLICY_KEY_LEN], const char *region, uint32_t from);
void store_key_u64(uint8_t out[8], uint64_t v);

/* The parts of an accumulator key of len bytes (or a zero-filled buffer of
 * STORE_ACC_KEY_MAX): person gets SH_PERSON_ID_LEN + 1 bytes, fund and
 * cap_group STORE_PAD bytes. -1 when it is not one. */
int store_key_acc_parse(const uint8_t *key, size_t len, char *person, int32_t *year, char *fund,
                        char *cap_group);
/* The parts of a request key; -1 when it is not one. */
int store_key_request_parse(const uint8_t *key, size_t len, char hospital[SH_CODE_MAX],
                            char request_id[SH_CODE_MAX]);

#endif
