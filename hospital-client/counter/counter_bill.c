/*
 * Bills from files. JSON: a claim object as in the case files
 * ({hospital, person, visit, date, lines: [{code, qty, amount}]}), or an
 * object holding one under "claim". CSV: one fee line a row, with a header
 * naming the columns hospital, person, visit, date, code, qty, amount (any
 * order); qty is a decimal with at most 3 decimals, amount is integer fen;
 * every row must repeat the same hospital, person, visit and date.
 */
#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
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

/* ---- CSV ---- */

enum csv_col { COL_HOSPITAL, COL_PERSON, COL_VISIT, COL_DATE, COL_CODE, COL_QTY, COL_AMOUNT, COLS };
static const char *const col_names[COLS] = {"hospital", "person", "visit", "date",
                                            "code",     "qty",    "amount"};

struct csv_state {
    struct bill *b;
    int index[16]; /* column number -> enum csv_col, or -1 */
    char row[COLS][64];
    size_t field, rows;
    int error;
    char *msg;
    size_t msg_size;
};

static void on_field(void *data, size_t len, void *user)
{
    struct csv_state *s = user;
    if (s->field < 16) {
        char text[64];
        snprintf(text, sizeof text, "%.*s", (int)(len < 63 ? len : 63), (const char *)data);
        if (s->rows == 0) {
            s->index[s->field] = -1;
            for (int c = 0; c < COLS; c++)
                if (strcmp(text, col_names[c]) == 0)
                    s->index[s->field] = c;
        } else if (s->index[s->field] >= 0)
            memcpy(s->row[s->index[s->field]], text, sizeof text);
    }
    s->field++;
}

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

static int csv_row_add(struct csv_state *s)
{
    struct bill *b = s->b;
    char(*r)[64] = s->row;
    if (b->count == 0) {
        snprintf(b->hospital, sizeof b->hospital, "%s", r[COL_HOSPITAL]);
        snprintf(b->person, sizeof b->person, "%s", r[COL_PERSON]);
        snprintf(b->visit, sizeof b->visit, "%s", r[COL_VISIT]);
        snprintf(b->date, sizeof b->date, "%s", r[COL_DATE]);
    } else if (strcmp(b->hospital, r[COL_HOSPITAL]) || strcmp(b->person, r[COL_PERSON]) ||
               strcmp(b->visit, r[COL_VISIT]) || strcmp(b->date, r[COL_DATE])) {
        snprintf(s->msg, s->msg_size, _("row %zu: another hospital, person, visit or date"),
                 s->rows);
        return -1;
    }
    long long qty = parse_milli(r[COL_QTY]);
    char *end;
    errno = 0;
    long long amount = strtoll(r[COL_AMOUNT], &end, 10);
    if (qty <= 0 || end == r[COL_AMOUNT] || *end != '\0' || errno != 0 || amount <= 0) {
        snprintf(s->msg, s->msg_size,
                 _("row %zu: qty or amount is not a positive exact number (qty: up to 3 decimals; "
                   "amount: integer fen)"),
                 s->rows);
        return -1;
    }
    return bill_add_line(b, r[COL_CODE], qty, amount);
}

static void on_row(int c, void *user)
{
    (void)c;
    struct csv_state *s = user;
    if (s->error == 0 && s->rows == 0) {
        bool seen[COLS] = {false};
        for (size_t i = 0; i < s->field && i < 16; i++)
            if (s->index[i] >= 0)
                seen[s->index[i]] = true;
        for (int k = 0; k < COLS && s->error == 0; k++)
            if (!seen[k]) {
                snprintf(s->msg, s->msg_size, _("the header has no column %s"), col_names[k]);
                s->error = -1;
            }
    } else if (s->error == 0 && s->field > 0)
        s->error = csv_row_add(s);
    memset(s->row, 0, sizeof s->row);
    s->field = 0;
    s->rows++;
}

static int bill_from_csv(const char *text, size_t len, struct bill *b, char *msg, size_t size)
{
    struct csv_parser p;
    struct csv_state s = {.b = b, .msg = msg, .msg_size = size};
    if (csv_init(&p, CSV_APPEND_NULL) != 0)
        return -1;
    if (csv_parse(&p, text, len, on_field, on_row, &s) != len) {
        snprintf(msg, size, _("CSV: %s"), csv_strerror(csv_error(&p)));
        s.error = -1;
    }
    csv_fini(&p, on_field, on_row, &s);
    csv_free(&p);
    if (s.error == 0 && b->count == 0) {
        snprintf(msg, size, _("no fee lines"));
        s.error = -1;
    }
    return s.error;
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
