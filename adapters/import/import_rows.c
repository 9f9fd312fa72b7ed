/*
 * CSV records into checked ImportRows. Every fault is named, for the
 * rejected file's report: a bad resident id, a date that does not exist,
 * a `to` before `from`, a missing field. Duplicate and contradicting rows
 * are found by the engine as the rows are staged (it holds the whole file).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "sh_date.h"
#include "sh_person_id.h"
#include "sh_rules.h"

int import_header_parse(const struct import_map *map, size_t count, const char *const *fields,
                        struct import_header *out, struct sh_error *err)
{
    for (int c = 0; c < COL_COUNT; c++) {
        out->index[c] = -1;
        if (map->columns[c][0] == '\0')
            continue;
        out->index[c] = sh_csv_column(count, fields, map->columns[c]);
        if (out->index[c] < 0)
            return sh_error_set(err, SH_E_BAD_REQUEST,
                                "line 1: no column \"%.60s\" (%s) in the header; is the header "
                                "missing, or is this another kind of file?",
                                map->columns[c], import_col_name((enum import_col)c));
    }
    return 0;
}

/* ---- Values ------------------------------------------------------------------------------ */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

uint32_t import_date_parse(const char *s)
{
    size_t n = strlen(s);
    if (n == 8 && all_digits(s, 8)) {
        uint32_t d = (uint32_t)strtoul(s, NULL, 10);
        return sh_date_valid(d) ? d : 0;
    }
    /* Y-M-D or Y/M/D, month and day with 1 or 2 digits */
    const char *p = s;
    uint32_t part[3] = {0};
    for (int i = 0; i < 3; i++) {
        size_t k = 0;
        while (isdigit((unsigned char)p[k]))
            k++;
        if (k == 0 || k > (i == 0 ? 4u : 2u) || (i == 0 && k != 4))
            return 0;
        part[i] = (uint32_t)strtoul(p, NULL, 10);
        p += k;
        if (i < 2) {
            if (*p != '-' && *p != '/')
                return 0;
            if (i == 1 && *p != s[4])
                return 0; /* one separator throughout */
            p++;
        }
    }
    if (*p != '\0')
        return 0;
    uint32_t d = part[0] * 10000 + part[1] * 100 + part[2];
    return sh_date_valid(d) ? d : 0;
}

int64_t import_yuan_parse(const char *s)
{
    const char *dot = strchr(s, '.');
    size_t whole = dot != NULL ? (size_t)(dot - s) : strlen(s);
    size_t frac = dot != NULL ? strlen(dot + 1) : 0;
    if (whole == 0 || whole > 12 || !all_digits(s, whole) || frac > 2 ||
        (dot != NULL && (frac == 0 || !all_digits(dot + 1, frac))))
        return -1;
    int64_t fen = 0;
    for (size_t i = 0; i < whole; i++)
        fen = fen * 10 + (s[i] - '0');
    fen *= 100;
    if (frac >= 1)
        fen += (dot[1] - '0') * 10;
    if (frac == 2)
        fen += dot[2] - '0';
    return fen;
}

/* ---- Rows ------------------------------------------------------------------------------- */

/* The field of a column, trimmed into the row's storage ("" when absent). */
static char *field(struct import_row *r, const struct import_header *h, size_t count,
                   const char *const *fields, enum import_col col)
{
    int i = h->index[col];
    const char *f = i >= 0 && (size_t)i < count ? fields[i] : "";
    while (*f == ' ' || *f == '\t')
        f++;
    size_t n = strlen(f);
    while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
        n--;
    if (r->used + n + 1 > sizeof r->storage)
        n = 0; /* a row this long has failed a limit already */
    char *out = r->storage + r->used;
    memcpy(out, f, n);
    out[n] = '\0';
    r->used += n + 1;
    return out;
}

static char *store_str(struct import_row *r, const char *s)
{
    size_t n = strlen(s);
    if (r->used + n + 1 > sizeof r->storage)
        return NULL;
    char *out = r->storage + r->used;
    memcpy(out, s, n + 1);
    r->used += n + 1;
    return out;
}

static const char *date_field(struct import_row *r, const char *text, const char *what,
                              uint32_t *out, char *why, size_t cap)
{
    *out = import_date_parse(text);
    if (*out == 0) {
        snprintf(why, cap, "%s: \"%.40s\" is not a date that exists", what, text);
        return why;
    }
    char iso[SH_DATE_STR_LEN];
    sh_date_format(*out, iso);
    return store_str(r, iso) == NULL ? "row too long" : NULL;
}

static const char *person_row(const struct import_map *m, struct import_row *r,
                              const struct import_header *h, size_t count,
                              const char *const *fields, char *why, size_t cap)
{
    Sanhe__ImportRow *row = &r->msg;
    char *id = field(r, h, count, fields, COL_PERSON);
    for (char *c = id; *c; c++)
        if (*c == 'x')
            *c = 'X'; /* exports write the check character in either case */
    if (!sh_person_id_valid(id)) {
        char masked[19];
        sh_person_id_mask(id, masked);
        snprintf(why, cap, "bad resident id %s (length or GB 11643 check digit)", masked);
        return why;
    }
    row->person = id;
    row->name = field(r, h, count, fields, COL_NAME);
    if (strlen(row->name) >= SH_NAME_MAX)
        return "name: too long";
    char *region = field(r, h, count, fields, COL_REGION);
    if (strlen(region) >= SH_CODE_MAX)
        return "region: too long";
    row->region = region[0] != '\0' ? region : NULL;
    uint32_t d = 0;
    switch (m->source) {
    case SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT: {
        const char *y = field(r, h, count, fields, COL_YEAR);
        long year = m->year;
        if (h->index[COL_YEAR] >= 0) {
            char *end = NULL;
            year = strtol(y, &end, 10);
            if (end == y || *end != '\0' || year < 1900 || year > 9999) {
                snprintf(why, cap, "year: \"%.20s\" is not a year", y);
                return why;
            }
        }
        row->has_year = true;
        row->year = (int32_t)year;
        return NULL;
    }
    case SANHE__IMPORT_SOURCE__IMPORT_CATEGORY: {
        const char *local = field(r, h, count, fields, COL_CATEGORY);
        const char *mapped = import_map_code(m, local);
        if (local[0] == '\0')
            return "category: empty";
        if (strlen(mapped) >= SH_ID_MAX)
            return "category: too long";
        row->category = store_str(r, mapped);
        const char *from = field(r, h, count, fields, COL_FROM);
        const char *to = field(r, h, count, fields, COL_TO);
        uint32_t f = 0, t = 0;
        const char *bad = date_field(r, from, "from", &f, why, cap);
        if (bad != NULL)
            return bad;
        row->from = r->storage + r->used - SH_DATE_STR_LEN;
        if (to[0] != '\0') {
            if ((bad = date_field(r, to, "to", &t, why, cap)) != NULL)
                return bad;
            row->to = r->storage + r->used - SH_DATE_STR_LEN;
            if (t < f) {
                snprintf(why, cap, "to %s is before from %s", row->to, row->from);
                return why;
            }
        }
        return NULL;
    }
    default: { /* deaths */
        const char *bad = date_field(r, field(r, h, count, fields, COL_DIED), "died", &d, why, cap);
        if (bad != NULL)
            return bad;
        row->died = r->storage + r->used - SH_DATE_STR_LEN;
        return NULL;
    }
    }
}

static const char *hospital_row(const struct import_map *m, struct import_row *r,
                                const struct import_header *h, size_t count,
                                const char *const *fields, char *why, size_t cap)
{
    Sanhe__Hospital *hp = &r->hospital;
    sanhe__hospital__init(hp);
    hp->code = field(r, h, count, fields, COL_CODE);
    hp->name = field(r, h, count, fields, COL_NAME);
    hp->region = field(r, h, count, fields, COL_REGION);
    const char *level = import_map_code(m, field(r, h, count, fields, COL_LEVEL));
    if (sh_level_parse(level) < 0) {
        snprintf(why, cap,
                 "level: \"%.40s\" is not village, township, county, municipal or "
                 "provincial (map it in [levels])",
                 level);
        return why;
    }
    hp->level = store_str(r, level);
    char *funds = field(r, h, count, fields, COL_FUNDS);
    char *save = NULL;
    for (char *tok = strtok_r(funds, ";|, ", &save); tok != NULL;
         tok = strtok_r(NULL, ";|, ", &save)) {
        if (hp->n_funds == SH_FUNDS_MAX)
            return "funds: too many";
        r->funds[hp->n_funds++] = tok;
    }
    hp->funds = r->funds;
    if (hp->code[0] == '\0')
        return "code: empty";
    r->msg.hospital = hp;
    return NULL;
}

static const char *item_row(const struct import_map *m, struct import_row *r,
                            const struct import_header *h, size_t count, const char *const *fields,
                            char *why, size_t cap)
{
    Sanhe__CatalogItem *it = &r->item;
    sanhe__catalog_item__init(it);
    it->code = field(r, h, count, fields, COL_CODE);
    it->name = field(r, h, count, fields, COL_NAME);
    const char *cls = import_map_code(m, field(r, h, count, fields, COL_CLASS));
    if (strcmp(cls, "A") != 0 && strcmp(cls, "B") != 0 && strcmp(cls, "C") != 0) {
        snprintf(why, cap, "class: \"%.20s\" is not A, B or C (map it in [classes])", cls);
        return why;
    }
    it->class_ = store_str(r, cls);
    const char *sp = field(r, h, count, fields, COL_SELFPAY);
    if (sp[0] != '\0') {
        char *end = NULL;
        long bp = strtol(sp, &end, 10);
        if (end == sp || *end != '\0' || bp < 0 || bp > 10000)
            return "selfpay: not basis points 0..10000";
        it->has_selfpay_bp = true;
        it->selfpay_bp = (int32_t)bp;
    }
    const char *pc = field(r, h, count, fields, COL_PRICE_CAP);
    if (pc[0] != '\0') {
        int64_t fen = import_yuan_parse(pc);
        if (fen < 0)
            return "price_cap: not yuan with at most 2 decimals";
        it->has_price_cap = true;
        it->price_cap = fen;
    }
    if (it->code[0] == '\0')
        return "code: empty";
    r->msg.item = it;
    return NULL;
}

const char *import_row_parse(const struct import_map *map, const struct import_header *h,
                             size_t count, const char *const *fields, uint32_t line,
                             struct import_row *out, char *why, size_t why_cap)
{
    memset(out, 0, sizeof *out);
    sanhe__import_row__init(&out->msg);
    out->msg.has_line = true;
    out->msg.line = line;
    switch (map->source) {
    case SANHE__IMPORT_SOURCE__IMPORT_HOSPITALS:
        return hospital_row(map, out, h, count, fields, why, why_cap);
    case SANHE__IMPORT_SOURCE__IMPORT_CATALOG:
        return item_row(map, out, h, count, fields, why, why_cap);
    default:
        return person_row(map, out, h, count, fields, why, why_cap);
    }
}
