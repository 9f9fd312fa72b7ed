/*
 * fuzz_gw_num: text through sanhe-gateway's exact numbers (gw_num.c).
 *
 *   - gw_yuan_to_fen, gw_qty_to_milli and gw_num_int against a reference
 *     written here again from docs/gateway.md's rules (optional '-', no
 *     leading zeros, at most 2 / 3 / 0 decimals, no exponent, the limits);
 *     fen printed back by gw_fen_to_yuan must read back to the same fen;
 *   - gw_json_load against jansson on the same bytes: each accepts what the
 *     other does (but for \u0000 and numbers jansson cannot hold or the
 *     gateway refuses as too long), and every number's kept text means
 *     what jansson read; gw_json_dump then gw_json_load again gives the
 *     same dump (a number's text survives the round trip unchanged).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 64

static bool has_nul_escape(const char *t, size_t n)
{
    for (size_t i = 0; i + 6 <= n; i++)
        if (memcmp(t + i, "\\u0000", 6) == 0)
            return true;
    return false;
}

static void fail(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_gw_num: %s: \"%s\"\n", what, text);
    abort();
}

/* The reference: 0 and *v when text is a plain decimal with at most places
 * decimals and at most max in units of 10^-places. */
static int ref_decimal(const char *t, int places, bool sign_ok, int64_t max, int64_t *v)
{
    bool neg = *t == '-';
    if (neg && !sign_ok)
        return -1;
    t += neg;
    size_t i = 0;
    while (t[i] >= '0' && t[i] <= '9')
        i++;
    if (i == 0 || (i > 1 && t[0] == '0') || i > 15)
        return -1;
    __int128 x = 0;
    for (size_t k = 0; k < i; k++)
        x = x * 10 + (t[k] - '0');
    int dec = 0;
    if (t[i] == '.') {
        i++;
        while (t[i] >= '0' && t[i] <= '9') {
            if (++dec > places)
                return -1;
            x = x * 10 + (t[i++] - '0');
        }
        if (dec == 0)
            return -1;
    }
    if (t[i] != '\0')
        return -1;
    for (; dec < places; dec++)
        x *= 10;
    if (x > max)
        return -1;
    *v = neg ? -(int64_t)x : (int64_t)x;
    return 0;
}

static void check_scalars(const char *text)
{
    int64_t got = 0, want = 0;
    int g = gw_yuan_to_fen(text, &got), w = ref_decimal(text, 2, true, GW_FEN_MAX, &want);
    if (g != w || (g == 0 && got != want))
        fail("gw_yuan_to_fen disagrees with the reference", text);
    if (g == 0) {
        char back[32];
        int64_t again = 0;
        gw_fen_to_yuan(got, back, sizeof back);
        if (gw_yuan_to_fen(back, &again) != 0 || again != got)
            fail("gw_fen_to_yuan does not read back", text);
    }
    g = gw_qty_to_milli(text, &got);
    w = ref_decimal(text, 3, false, 1000000000000LL, &want);
    if (w == 0 && want <= 0)
        w = -1;
    if (g != w || (g == 0 && got != want))
        fail("gw_qty_to_milli disagrees with the reference", text);
    g = gw_num_int(text, &got);
    w = ref_decimal(text, 0, true, 999999999999999LL, &want);
    if (g != w || (g == 0 && got != want))
        fail("gw_num_int disagrees with the reference", text);
}

/* The same tree, numbers aside: a kept text means jansson's value. */
static void same_tree(const json_t *a, const json_t *b, const char *text)
{
    const char *num = gw_num_text(b);
    if (json_is_integer(a)) {
        int64_t v = 0;
        if (num == NULL || strchr(num, '.') || strchr(num, 'e') || strchr(num, 'E'))
            fail("an integer not kept as its text", text);
        if (gw_num_int(num, &v) == 0 && v != json_integer_value(a))
            fail("an integer's text means another value", text);
    } else if (json_is_real(a)) {
        if (num == NULL || strtod(num, NULL) != json_real_value(a))
            fail("a real's text means another value", text);
    } else if (json_typeof(a) != json_typeof(b) || num != NULL) {
        fail("another shape", text);
    } else if (json_is_string(a)) {
        if (json_string_length(a) != json_string_length(b) ||
            memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) != 0)
            fail("another string", text);
    } else if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            fail("another array size", text);
        for (size_t i = 0; i < json_array_size(a); i++)
            same_tree(json_array_get(a, i), json_array_get(b, i), text);
    } else if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            fail("another object size", text);
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)a, k, v) same_tree(v, json_object_get(b, k), text);
    }
}

static void check_json(const char *text, size_t len)
{
    char why[128];
    json_error_t jerr;
    json_t *ours = gw_json_load(text, len, why, sizeof why);
    json_t *theirs = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    bool nul = has_nul_escape(text, len);
    bool big = theirs == NULL && (strstr(jerr.text, "too big") || strstr(jerr.text, "overflow"));
    bool long_num = ours == NULL && strstr(why, "more than") != NULL;
    if (ours != NULL && theirs == NULL && !big)
        fail("the gateway accepts what jansson refuses", text);
    /* jansson reads a raw NUL byte in some places as the end of its
     * input; the gateway refuses every raw NUL (the safe side). */
    bool raw_nul = strlen(text) != len;
    if (ours == NULL && theirs != NULL && !nul && !long_num && !raw_nul)
        fail("the gateway refuses what jansson accepts", text);
    if (ours != NULL && theirs != NULL)
        same_tree(theirs, ours, text);
    if (ours != NULL) {
        size_t n1 = 0, n2 = 0;
        char *d1 = gw_json_dump(ours, &n1);
        json_t *again = d1 != NULL ? gw_json_load(d1, n1, why, sizeof why) : NULL;
        char *d2 = again != NULL ? gw_json_dump(again, &n2) : NULL;
        if (d1 == NULL || d2 == NULL || n1 != n2 || memcmp(d1, d2, n1) != 0) {
            fprintf(stderr, "dump: %s\nagain: %s\n", d1 ? d1 : "(null)", d2 ? d2 : "(null)");
            fail("gw_json_dump does not read back to itself", text);
        }
        free(d1);
        free(d2);
        json_decref(again);
    }
    json_decref(ours);
    json_decref(theirs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (size <= TEXT_MAX && strlen(text) == size)
        check_scalars(text);
    check_json(text, size);
    free(text);
    return 0;
}
