/*
 * A case-file claim {hospital, person, visit, date, lines[{code, qty, amount}]}
 * into a Sanhe__Claim.
 *
 * The adapter decides nothing the engine decides: strings travel as given (an
 * unknown visit or a bad date is the engine's BAD_CLAIM, an odd person id its
 * BAD_PERSON_ID), a field that is absent or not a string is left absent (the
 * engine then refuses the claim as it would a missing field). What the
 * protocol cannot carry, a number that is not an integer count of fen or of
 * thousandths, travels as the line's defect, so that the engine refuses it in
 * the order docs/rules.md gives (after FORBIDDEN and idempotency), not the client.
 *
 * Floating point appears only here, to decide what number text a JSON real
 * stood for; no money is ever computed in it.
 */
#include <math.h> /* isfinite, a macro: no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sh_json.h"
#include "sh_json_internal.h"

/* The defect travels as the proto enum and is read back as the core's. */
_Static_assert((int)SANHE__LINE_DEFECT__AMOUNT_NOT_INTEGER == SH_LINE_AMOUNT_NOT_INTEGER &&
                   (int)SANHE__LINE_DEFECT__QTY_TOO_PRECISE == SH_LINE_QTY_TOO_PRECISE &&
                   (int)SANHE__LINE_DEFECT__NOT_A_NUMBER == SH_LINE_NOT_A_NUMBER,
               "enum LineDefect of sanhe.proto mirrors enum sh_line_defect");

/* 2^53 as a double, exactly: from there on not every integer is a double,
 * so a real that large may not be the number its text spelled
 * (9007199254740993.0 reads as ...992). */
#define TWO_POW_53 9007199254740992.0

/* A string field as given, or absent when missing or not a clean string. */
static int take_text(struct sh_jctx *c, const json_t *obj, const char *key, char **dst)
{
    const char *s = sh_jx_cstr(json_object_get(obj, key));
    return s == NULL ? 0 : sh_jx_strdup(c, s, dst);
}

/* x * 10^e into *out without overflow (e >= 0). */
static bool scale_pow10(int64_t x, int e, int64_t *out)
{
    for (; e > 0; e--)
        if (__builtin_mul_overflow(x, (int64_t)10, &x))
            return false;
    *out = x;
    return true;
}

/*
 * The shortest decimal text that reads back as d ("%.*g" at growing
 * precision): what the document most plausibly said. 1.0005 stays 1.0005,
 * 20.5 stays 20.5, 0.1 is "0.1" and not 0.1000000000000000055...
 */
static void shortest_text(double d, char *buf, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/*
 * Reads a decimal text "[-]digits[.digits][e[+-]digits]" as the integer
 * mantissa and the power of ten it is scaled by: value = mant * 10^exp10.
 */
static bool decimal_parts(const char *s, int64_t *mant, int *exp10)
{
    bool neg = *s == '-';
    int64_t m = 0;
    int frac = 0, digits = 0;
    bool dot = false;
    for (s += neg; *s != '\0' && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            dot = true;
            continue;
        }
        if (*s < '0' || *s > '9' || ++digits > 18)
            return false;
        m = m * 10 + (*s - '0');
        frac += dot;
    }
    long e = *s != '\0' ? strtol(s + 1, NULL, 10) : 0;
    if (e < -400 || e > 400)
        return false;
    *mant = neg ? -m : m;
    *exp10 = (int)e - frac;
    return true;
}

/* qty in thousandths, or the line's defect. */
static int qty_milli(const json_t *v, int64_t *out)
{
    if (json_is_integer(v))
        return scale_pow10(json_integer_value(v), 3, out) ? SH_LINE_OK : SH_LINE_NOT_A_NUMBER;
    if (!json_is_real(v))
        return SH_LINE_NOT_A_NUMBER;
    double d = json_real_value(v);
    char text[40];
    int64_t mant = 0;
    int exp10 = 0;
    shortest_text(d, text, sizeof text);
    if (!isfinite(d) || !decimal_parts(text, &mant, &exp10))
        return SH_LINE_NOT_A_NUMBER;
    if (mant == 0) {
        *out = 0;
        return SH_LINE_OK;
    }
    if (exp10 < -3)
        return SH_LINE_QTY_TOO_PRECISE;
    return scale_pow10(mant, exp10 + 3, out) ? SH_LINE_OK : SH_LINE_NOT_A_NUMBER;
}

/* amount in fen, or the line's defect. A real of integral value (100.0) is
 * that integer: JSON does not distinguish the two spellings of a number.
 * A real of magnitude 2^53 or more is not a number we can trust to be the
 * one written, so it is NOT_A_NUMBER like one out of range; an integer
 * spelling (no point, no exponent) of any int64 stays exact. */
static int amount_fen(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return SH_LINE_OK;
    }
    if (!json_is_real(v))
        return SH_LINE_NOT_A_NUMBER;
    double d = json_real_value(v);
    if (!isfinite(d) || d <= -TWO_POW_53 || d >= TWO_POW_53)
        return SH_LINE_NOT_A_NUMBER;
    /* Within +-2^53, so the conversion is defined and exact for an
     * integral value; it truncates a fraction. */
    int64_t x = (int64_t)d;
    if ((double)x != d)
        return SH_LINE_AMOUNT_NOT_INTEGER;
    *out = x;
    return SH_LINE_OK;
}

static int line_fill(struct sh_jctx *c, const json_t *v, Sanhe__Line *line)
{
    int64_t qty = 0, amount = 0;
    int defect_q = SH_LINE_NOT_A_NUMBER, defect_a = SH_LINE_NOT_A_NUMBER;
    if (json_is_object(v)) {
        int rc = take_text(c, v, "code", &line->code);
        if (rc < 0)
            return rc;
        defect_q = qty_milli(json_object_get(v, "qty"), &qty);
        defect_a = amount_fen(json_object_get(v, "amount"), &amount);
    }
    line->has_qty_milli = defect_q == SH_LINE_OK;
    line->qty_milli = defect_q == SH_LINE_OK ? qty : 0;
    line->has_amount = defect_a == SH_LINE_OK;
    line->amount = defect_a == SH_LINE_OK ? amount : 0;
    /* One defect per line: the qty's first, as the line reads left to right. */
    int defect = defect_q != SH_LINE_OK ? defect_q : defect_a;
    line->has_defect = defect != SH_LINE_OK;
    line->defect = (Sanhe__LineDefect)defect;
    return 0;
}

static int claim_lines(struct sh_jctx *c, const json_t *claim, Sanhe__Claim *m)
{
    const json_t *lines = json_object_get(claim, "lines");
    /* No lines, or lines that are not a list: zero lines, the engine's
     * BAD_CLAIM. Every line is passed, even past the limit, for the same. */
    size_t n = json_is_array(lines) ? json_array_size(lines) : 0;
    if (n > 0 && (m->lines = calloc(n, sizeof *m->lines)) == NULL)
        return sh_jx_oom(c);
    for (size_t i = 0; i < n; i++) {
        Sanhe__Line *line = malloc(sizeof *line);
        if (line == NULL)
            return sh_jx_oom(c);
        sanhe__line__init(line);
        m->lines[m->n_lines++] = line;
        int rc = line_fill(c, json_array_get(lines, i), line);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sh_json_to_claim(const json_t *claim, Sanhe__Claim **out, struct sh_error *err)
{
    struct sh_jctx c;
    sh_jctx_init(&c, err, SH_E_BAD_CLAIM);
    *out = NULL;
    if (!json_is_object(claim))
        return sh_jx_fail(&c, "the claim is not an object");
    Sanhe__Claim *m = malloc(sizeof *m);
    if (m == NULL)
        return sh_jx_oom(&c);
    sanhe__claim__init(m);
    int rc = take_text(&c, claim, "hospital", &m->hospital);
    if (rc == 0)
        rc = take_text(&c, claim, "person", &m->person);
    if (rc == 0)
        rc = take_text(&c, claim, "visit", &m->visit);
    if (rc == 0)
        rc = take_text(&c, claim, "date", &m->date);
    if (rc == 0)
        rc = claim_lines(&c, claim, m);
    if (rc < 0) {
        sanhe__claim__free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return 0;
}
