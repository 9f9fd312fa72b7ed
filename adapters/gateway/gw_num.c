#include "gw_num.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK_IN 'N'    /* a number of the request, its text */
#define MARK_MONEY 'M' /* fen of a reply, printed as yuan */
#define MARK_BP 'B'    /* basis points of a reply, printed as a 4-decimal ratio */
#define MARK_MILLI 'Q' /* thousandths of a reply, printed with 3 decimals */
#define NUM_TEXT_MAX 40

/* ---- Exact decimal text ---- */

/* Splits "-123.45" into sign, integer digits and fraction digits, checking
 * JSON's number grammar without an exponent. */
struct decimal {
    bool negative;
    const char *ip, *fp;
    size_t ilen, flen;
};

static int decimal_split(const char *t, struct decimal *d)
{
    memset(d, 0, sizeof *d);
    if (t == NULL)
        return -1;
    if (*t == '-') {
        d->negative = true;
        t++;
    }
    d->ip = t;
    while (*t >= '0' && *t <= '9')
        t++;
    d->ilen = (size_t)(t - d->ip);
    if (d->ilen == 0 || (d->ilen > 1 && d->ip[0] == '0'))
        return -1;
    if (*t == '.') {
        d->fp = ++t;
        while (*t >= '0' && *t <= '9')
            t++;
        d->flen = (size_t)(t - d->fp);
        if (d->flen == 0)
            return -1;
    }
    return *t == '\0' ? 0 : -1; /* an exponent or anything else is refused */
}

/* digits (at most 18) as an integer, scaled by 10^(places - flen). */
static int decimal_scaled(const struct decimal *d, size_t places, int64_t max, int64_t *out)
{
    if (d->flen > places || d->ilen > 15)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < d->ilen; i++)
        v = v * 10 + (d->ip[i] - '0');
    for (size_t i = 0; i < places; i++)
        v = v * 10 + (i < d->flen ? d->fp[i] - '0' : 0);
    if (v > max)
        return -1;
    *out = d->negative ? -v : v;
    return 0;
}

int gw_yuan_to_fen(const char *text, int64_t *fen)
{
    struct decimal d;
    if (decimal_split(text, &d) != 0)
        return -1;
    return decimal_scaled(&d, 2, GW_FEN_MAX, fen);
}

void gw_fen_to_yuan(int64_t fen, char *out, size_t size)
{
    assert(size >= 24);
    assert(fen > INT64_MIN);
    int64_t a = fen < 0 ? -fen : fen;
    snprintf(out, size, "%s%lld.%02lld", fen < 0 ? "-" : "", (long long)(a / 100),
             (long long)(a % 100));
}

int gw_qty_to_milli(const char *text, int64_t *milli)
{
    struct decimal d;
    if (decimal_split(text, &d) != 0 || d.negative)
        return -1;
    int64_t v = 0;
    if (decimal_scaled(&d, 3, 1000000000000LL, &v) != 0 || v <= 0)
        return -1;
    *milli = v;
    return 0;
}

int gw_num_int(const char *text, int64_t *out)
{
    struct decimal d;
    if (decimal_split(text, &d) != 0 || d.flen != 0)
        return -1;
    return decimal_scaled(&d, 0, 999999999999999LL, out);
}

/* ---- The walk over the request's bytes ---- */

/* JSON's number grammar, with an exponent allowed (it is refused later,
 * where a value is read, with a message naming the field). */
static size_t number_token(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                     (s[i] >= '0' && s[i] <= '9')))
        i++;
    return i;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? exactly: the token is a
 * JSON number (jansson would have refused anything else). */
static bool json_number_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return false;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

static bool append(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n >= cap)
        return false;
    memcpy(out + *len, s, n);
    *len += n;
    return true;
}

/* Rewrites body into out (cap bytes). Returns the length, or -1 (why). */
static long rewrite(const char *body, size_t len, char *out, size_t cap, char *why, size_t wsize)
{
    size_t o = 0;
    bool in_string = false;
    for (size_t i = 0; i < len;) {
        char c = body[i];
        if (in_string) {
            if (c == '\\') {
                if (i + 1 < len && body[i + 1] == 'u' && len - i >= 6 &&
                    memcmp(body + i + 2, "0000", 4) == 0) {
                    snprintf(why, wsize, "a string holds \\u0000");
                    return -1;
                }
                size_t k = i + 1 < len ? 2 : 1;
                if (!append(out, cap, &o, body + i, k))
                    return -1;
                i += k;
                continue;
            }
            in_string = c != '"';
        } else if (c == '"') {
            in_string = true;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t n = number_token(body + i, len - i);
            if (!json_number_valid(body + i, n)) {
                snprintf(why, wsize, "not JSON: a malformed number");
                return -1;
            }
            if (n > NUM_TEXT_MAX) {
                snprintf(why, wsize, "a number of more than %d characters", NUM_TEXT_MAX);
                return -1;
            }
            char marked[NUM_TEXT_MAX + 16];
            int m = snprintf(marked, sizeof marked, "\"\\u0000%c%.*s\"", MARK_IN, (int)n, body + i);
            if (!append(out, cap, &o, marked, (size_t)m))
                return -1;
            i += n;
            continue;
        }
        if (!append(out, cap, &o, body + i, 1))
            return -1;
        i++;
    }
    return (long)o;
}

json_t *gw_json_load(const char *body, size_t len, char *why, size_t why_size)
{
    snprintf(why, why_size, "not JSON");
    /* A marked number is at most 9 bytes longer than a 1-byte token. */
    size_t cap = len * 10 + 16;
    char *buf = malloc(cap);
    if (buf == NULL) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    long n = rewrite(body, len, buf, cap, why, why_size);
    json_t *doc = NULL;
    if (n >= 0) {
        json_error_t jerr;
        doc = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (doc == NULL)
            snprintf(why, why_size, "not JSON: %s", jerr.text);
    }
    free(buf);
    return doc;
}

const char *gw_num_text(const json_t *value)
{
    if (!json_is_string(value) || json_string_length(value) < 3)
        return NULL;
    const char *s = json_string_value(value);
    return s[0] == '\0' && s[1] == MARK_IN ? s + 2 : NULL;
}

/* ---- Output ---- */

static json_t *marked(char mark, int64_t v)
{
    char buf[32];
    buf[0] = '\0';
    buf[1] = mark;
    int n = snprintf(buf + 2, sizeof buf - 2, "%lld", (long long)v);
    return json_stringn(buf, (size_t)n + 2);
}

json_t *gw_json_money(int64_t fen) { return marked(MARK_MONEY, fen); }

json_t *gw_json_bp(int64_t bp) { return marked(MARK_BP, bp); }

json_t *gw_json_milli(int64_t milli) { return marked(MARK_MILLI, milli); }

/* "\u0000M1230" (after the opening quote) -> 12.30. */
static size_t print_marked(const char *s, char *out, size_t cap, size_t *o)
{
    char mark = s[7]; /* after the quote and the 6 characters of \u0000 */
    const char *digits = s + 8;
    const char *end = strchr(digits, '"');
    if (end == NULL)
        return 0;
    /* A request's number keeps up to NUM_TEXT_MAX characters: room for all
     * of them (a shorter buffer cut "1...2.30" to the invalid "1...2."). */
    char num[NUM_TEXT_MAX + 8];
    if ((size_t)(end - digits) >= sizeof num)
        return 0;
    snprintf(num, sizeof num, "%.*s", (int)(end - digits), digits);
    long long v = strtoll(num, NULL, 10);
    char text[NUM_TEXT_MAX + 8];
    if (mark == MARK_MONEY)
        gw_fen_to_yuan(v, text, sizeof text);
    else if (mark == MARK_BP)
        snprintf(text, sizeof text, "%lld.%04lld", v / 10000, v % 10000);
    else if (mark == MARK_MILLI)
        snprintf(text, sizeof text, "%lld.%03lld", v / 1000, v % 1000);
    else
        snprintf(text, sizeof text, "%s", num);
    append(out, cap, o, text, strlen(text));
    return (size_t)(end - s) + 1;
}

char *gw_json_dump(const json_t *doc, size_t *len)
{
    char *raw = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (raw == NULL)
        return NULL;
    size_t rlen = strlen(raw), cap = rlen + 64, o = 0;
    char *out = malloc(cap);
    if (out == NULL) {
        free(raw);
        return NULL;
    }
    static const char tag[] = "\"\\u0000";
    for (size_t i = 0; i < rlen;) {
        if (rlen - i > 8 && memcmp(raw + i, tag, 7) == 0) {
            size_t used = print_marked(raw + i, out, cap, &o);
            if (used > 0) {
                i += used;
                continue;
            }
        }
        out[o++] = raw[i++];
    }
    out[o] = '\0';
    free(raw);
    *len = o;
    return out;
}
