#include "store_keys.h"

#include <assert.h>
#include <string.h>

int store_pad_put(uint8_t *out, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n >= STORE_PAD)
        return -1;
    memset(out, 0, STORE_PAD);
    if (n > 0)
        memcpy(out, s, n);
    return 0;
}

void store_pad_get(const uint8_t *in, char *out)
{
    memcpy(out, in, STORE_PAD - 1);
    out[STORE_PAD - 1] = '\0';
}

int store_key_acc(uint8_t out[STORE_ACC_KEY_MAX], const char *person, int32_t year,
                  const char *fund, const char *cap_group)
{
    size_t f = fund != NULL ? strlen(fund) : 0;
    size_t c = cap_group != NULL ? strlen(cap_group) : 0;
    if (person == NULL || strlen(person) != SH_PERSON_ID_LEN || year < 0 || f >= STORE_PAD ||
        c >= STORE_PAD)
        return -1;
    memset(out, 0, STORE_ACC_KEY_MAX);
    memcpy(out, person, SH_PERSON_ID_LEN);
    store_be32_put(out + SH_PERSON_ID_LEN, (uint32_t)year);
    uint8_t *p = out + STORE_ACC_YEAR_PREFIX_LEN;
    if (f > 0)
        memcpy(p, fund, f);
    p[f] = '\0';
    if (c > 0)
        memcpy(p + f + 1, cap_group, c);
    return (int)(STORE_ACC_YEAR_PREFIX_LEN + f + 1 + c);
}

int store_key_acc_parse(const uint8_t *key, size_t len, char *person, int32_t *year, char *fund,
                        char *cap_group)
{
    if (len <= STORE_ACC_YEAR_PREFIX_LEN || len > STORE_ACC_KEY_MAX)
        return -1;
    const uint8_t *rest = key + STORE_ACC_YEAR_PREFIX_LEN;
    size_t n = len - STORE_ACC_YEAR_PREFIX_LEN;
    const uint8_t *nul = memchr(rest, 0, n);
    size_t f = nul != NULL ? (size_t)(nul - rest) : n;
    size_t c = nul != NULL ? strnlen((const char *)nul + 1, n - f - 1) : 0;
    if (nul == NULL || f >= STORE_PAD || c >= STORE_PAD)
        return -1;
    memcpy(person, key, SH_PERSON_ID_LEN);
    person[SH_PERSON_ID_LEN] = '\0';
    *year = (int32_t)store_be32_get(key + SH_PERSON_ID_LEN);
    memcpy(fund, rest, f);
    fund[f] = '\0';
    memcpy(cap_group, nul + 1, c);
    cap_group[c] = '\0';
    return 0;
}

int store_key_request(uint8_t out[STORE_REQUEST_KEY_MAX], const char *hospital,
                      const char *request_id)
{
    size_t h = hospital != NULL ? strlen(hospital) : 0;
    size_t r = request_id != NULL ? strlen(request_id) : 0;
    if (h >= SH_CODE_MAX || r >= SH_CODE_MAX || r == 0)
        return -1;
    memcpy(out, hospital, h);
    out[h] = '\0';
    memcpy(out + h + 1, request_id, r);
    return (int)(h + 1 + r);
}

int store_key_request_parse(const uint8_t *key, size_t len, char hospital[SH_CODE_MAX],
                            char request_id[SH_CODE_MAX])
{
    const uint8_t *nul = memchr(key, '\0', len);
    if (nul == NULL)
        return -1;
    size_t h = (size_t)(nul - key);
    size_t r = len - h - 1;
    if (h >= SH_CODE_MAX || r == 0 || r >= SH_CODE_MAX || memchr(nul + 1, '\0', r) != NULL)
        return -1;
    memcpy(hospital, key, h);
    hospital[h] = '\0';
    memcpy(request_id, nul + 1, r);
    request_id[r] = '\0';
    return 0;
}

int store_key_day(uint8_t out[STORE_DAY_KEY_LEN], uint32_t day, const char *hospital, uint64_t seq)
{
    store_be32_put(out, day);
    if (store_pad_put(out + 4, hospital) != 0)
        return -1;
    store_be64_put(out + 4 + STORE_PAD, seq);
    return STORE_DAY_KEY_LEN;
}

int store_key_policy(uint8_t out[STORE_POLICY_KEY_LEN], const char *region, uint32_t from)
{
    if (store_pad_put(out, region) != 0)
        return -1;
    store_be32_put(out + STORE_PAD, from);
    return STORE_POLICY_KEY_LEN;
}

void store_key_u64(uint8_t out[8], uint64_t v) { store_be64_put(out, v); }
