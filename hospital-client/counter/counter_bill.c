/*
 * Bills from files. JSON: a claim object as in the case files
 * ({hospital, person, visit, date, lines: [{code, qty, amount}]}), or an
 * object holding one under "claim". CSV: one fee line a row, with a header
 * naming the columns hospital, person, visit, date, code, qty, amount (any
 * order); qty is a decimal with at most 3 decimals, amount is integer fen;
 * every row must repeat the same hospital, person, visit and date.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "sh_csv.h"
#include "sh_json.h"

int bill_add_line(struct bill *b, const char *code, long long qty_milli, long long amount)
{
    if (b->count == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        void *l = realloc(b->lines, cap * sizeof *b->lines);
        if (l != NULL)
            b->lines = l;
        void *c = realloc(b->codes, cap * sizeof *b->codes);
        if (c != NULL)
            b->codes = c;
        if (l == NULL || c == NULL)
            return -1;
        b->cap = cap;
    }
    snprintf(b->codes[b->count], sizeof b->codes[0], "%s", code);
    b->lines[b->count] = (struct sanhe_line){NULL, qty_milli, amount};
    b->count++;
    return 0;
}

void bill_free(struct bill *b)
{
    free(b->lines);
    free(b->codes);
    memset(b, 0, sizeof *b);
}

/* The codes live in b->codes, which realloc may move: point at them last. */
void bill_claim(const struct bill *b, struct sanhe_claim *out)
{
    for (size_t i = 0; i < b->count; i++)
        b->lines[i].code = b->codes[i];
    *out = (struct sanhe_claim){b->hospital, b->person, b->visit, b->date, b->lines, b->count};
}

static int bill_from_json(const json_t *doc, struct bill *b, char *msg, size_t size)
{
    const json_t *claim = json_object_get(doc, "claim") ? json_object_get(doc, "claim") : doc;
    Sanhe__Claim *pb;
    struct sh_error err = {0};
    if (sh_json_to_claim(claim, &pb, &err) != 0) {
        snprintf(msg, size, "%s", err.msg);
        return -1;
    }
    snprintf(b->hospital, sizeof b->hospital, "%s", pb->hospital ? pb->hospital : "");
    snprintf(b->person, sizeof b->person, "%s", pb->person ? pb->person : "");
    snprintf(b->visit, sizeof b->visit, "%s", pb->visit ? pb->visit : "");
    snprintf(b->date, sizeof b->date, "%s", pb->date ? pb->date : "");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < pb->n_lines; i++) {
        const Sanhe__Line *l = pb->lines[i];
        /* The public API carries exact values only: refuse here what the
         * engine would refuse as BAD_CLAIM anyway. */
        if (l->has_defect && l->defect != SANHE__LINE_DEFECT__LINE_OK) {
            snprintf(msg, size, _("lines[%zu]: qty or amount is not an exact number"), i);
            rc = -1;
        } else if (bill_add_line(b, l->code ? l->code : "", l->qty_milli, l->amount) != 0) {
            snprintf(msg, size, _("out of memory"));
            rc = -1;
        }
    }
    sanhe__claim__free_unpacked(pb, NULL);
    return rc;
}

/* ---- CSV (through the project's CSV layer, hospital-client/csv) ---- */

enum csv_col { COL_HOSPITAL, COL_PERSON, COL_VISIT, COL_DATE, COL_CODE, COL_QTY, COL_AMOUNT, COLS };
static const char *const col_names[COLS] = {"hospital", "person", "visit", "date",
                                            "code",     "qty",    "amount"};

struct csv_state {
    struct bill *b;
    int index[COLS]; /* enum csv_col -> column number */
    bool header;
    char *msg;
    size_t msg_size;
};

/* "1.5" -> 1500; -1 when not a number with at most 3 decimals. */
static long long parse_milli(const char *s)
{
    char *end;
    errno = 0;
    long long whole = strtoll(s, &end, 10);
    if (end == s || errno != 0 || whole < 0 || whole > 1000000000LL)
        return -1;
    long long frac = 0;
    int digits = 0;
    if (*end == '.')
        for (end++; *end >= '0' && *end <= '9' && digits < 4; end++, digits++)
            frac = frac * 10 + (*end - '0');
    if (*end != '\0' || digits > 3)
        return -1;
    for (; digits < 3; digits++)
        frac *= 10;
    return whole * 1000 + frac;
}

static int csv_row_add(struct csv_state *s, uint64_t line, size_t count, const char *const *fields)
{
    struct bill *b = s->b;
    const char *r[COLS];
    for (int c = 0; c < COLS; c++)
        r[c] = (size_t)s->index[c] < count ? fields[s->index[c]] : "";
    if (b->count == 0) {
        snprintf(b->hospital, sizeof b->hospital, "%s", r[COL_HOSPITAL]);
        snprintf(b->person, sizeof b->person, "%s", r[COL_PERSON]);
        snprintf(b->visit, sizeof b->visit, "%s", r[COL_VISIT]);
        snprintf(b->date, sizeof b->date, "%s", r[COL_DATE]);
    } else if (strcmp(b->hospital, r[COL_HOSPITAL]) || strcmp(b->person, r[COL_PERSON]) ||
               strcmp(b->visit, r[COL_VISIT]) || strcmp(b->date, r[COL_DATE])) {
        snprintf(s->msg, s->msg_size, _("line %llu: another hospital, person, visit or date"),
                 (unsigned long long)line);
        return -1;
    }
    long long qty = parse_milli(r[COL_QTY]);
    char *end;
    errno = 0;
    long long amount = strtoll(r[COL_AMOUNT], &end, 10);
    if (qty <= 0 || end == r[COL_AMOUNT] || *end != '\0' || errno != 0 || amount <= 0) {
        snprintf(s->msg, s->msg_size,
                 _("line %llu: qty or amount is not a positive exact number (qty: up to 3 "
                   "decimals; amount: integer fen)"),
                 (unsigned long long)line);
        return -1;
    }
    return bill_add_line(b, r[COL_CODE], qty, amount);
}

static int on_record(void *user, uint64_t line, size_t count, const char *const *fields)
{
    struct csv_state *s = user;
    if (s->header)
        return csv_row_add(s, line, count, fields) == 0 ? 0 : SH_E_BAD_CLAIM;
    s->header = true;
    for (int c = 0; c < COLS; c++) {
        s->index[c] = sh_csv_column(count, fields, col_names[c]);
        if (s->index[c] < 0) {
            snprintf(s->msg, s->msg_size, _("the header has no column %s"), col_names[c]);
            return SH_E_BAD_CLAIM;
        }
    }
    return 0;
}

static int bill_from_csv(const char *text, size_t len, struct bill *b, char *msg, size_t size)
{
    struct csv_state s = {.b = b, .msg = msg, .msg_size = size};
    struct sh_error err = {0};
    int rc = sh_csv_read_buffer(text, len, NULL, on_record, &s, NULL, &err);
    if (rc == SH_E_BAD_REQUEST || rc == SH_E_INTERNAL)
        snprintf(msg, size, _("CSV: %s"), err.msg);
    if (rc == 0 && b->count == 0) {
        snprintf(msg, size, _("no fee lines"));
        rc = -1;
    }
    return rc == 0 ? 0 : -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *more = realloc(buf, cap * 2 + 1);
        if (more == NULL)
            free(buf);
        buf = more;
        cap *= 2;
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    *len = n;
    return buf;
}

int bill_read(const char *path, struct bill *b, char *msg, size_t size)
{
    memset(b, 0, sizeof *b);
    size_t len = 0;
    char *text = slurp(path, &len);
    if (text == NULL) {
        snprintf(msg, size, _("cannot read %s"), path);
        return -1;
    }
    size_t skip = strspn(text, " \t\r\n");
    int rc;
    if (text[skip] == '{') {
        json_error_t jerr;
        json_t *doc = json_loadb(text, len, 0, &jerr);
        rc = doc != NULL ? bill_from_json(doc, b, msg, size) : -1;
        if (doc == NULL)
            snprintf(msg, size, _("line %d: %s"), jerr.line, jerr.text);
        json_decref(doc);
    } else
        rc = bill_from_csv(text, len, b, msg, size);
    free(text);
    if (rc != 0)
        bill_free(b);
    return rc;
}
