/*
 * Text tables for the terminal. Widths are counted in terminal columns, not
 * bytes: a Chinese character takes two, so hospital names and Chinese
 * column names line up with the digits under them.
 */
#include <stdlib.h>
#include <string.h>

#include "bureau.h"

/* Code points drawn two columns wide: Hangul Jamo, CJK, Hangul, full-width forms. */
static bool wide(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
           (cp >= 0xFFE0 && cp <= 0xFFE6);
}

int text_width(const char *s)
{
    int width = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        uint32_t cp = *p;
        int len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : 4;
        if (len > 1)
            cp = *p & (0x7F >> len);
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) { /* not UTF-8: count the byte */
                len = 1;
                break;
            }
            cp = cp << 6 | (p[i] & 0x3F);
        }
        width += wide(cp) ? 2 : 1;
        p += len;
    }
    return width;
}

int table_init(struct table *t, size_t cols)
{
    memset(t, 0, sizeof *t);
    t->cols = cols < TABLE_COLS_MAX ? cols : TABLE_COLS_MAX;
    return table_row(t) < 0 ? SH_E_INTERNAL : 0; /* the header */
}

long table_row(struct table *t)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap > 0 ? t->cap * 2 : 16;
        void *cells = realloc(t->cells, cap * sizeof *t->cells);
        if (cells == NULL)
            return -1;
        t->cells = cells;
        t->cap = cap;
    }
    memset(t->cells[t->rows], 0, sizeof t->cells[t->rows]);
    return (long)t->rows++;
}

void table_set(struct table *t, size_t row, size_t col, const char *text)
{
    if (row < t->rows && col < t->cols)
        snprintf(t->cells[row][col], TABLE_CELL_MAX, "%s", text != NULL ? text : "");
}

void table_set_fen(struct table *t, size_t row, size_t col, int64_t fen)
{
    char yuan[32];
    sh_yuan_format(fen, yuan);
    table_set(t, row, col, yuan);
    if (col < t->cols)
        t->right[col] = true;
}

void table_set_u64(struct table *t, size_t row, size_t col, uint64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    table_set(t, row, col, text);
    if (col < t->cols)
        t->right[col] = true;
}

static void print_rule(FILE *out, const int *width, size_t cols)
{
    for (size_t c = 0; c < cols; c++)
        for (int i = 0; i < width[c] + (c > 0 ? 2 : 0); i++)
            fputc('-', out);
    fputc('\n', out);
}

void table_print(FILE *out, const struct table *t)
{
    int width[TABLE_COLS_MAX] = {0};
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->cols; c++) {
            int w = text_width(t->cells[r][c]);
            width[c] = w > width[c] ? w : width[c];
        }
    for (size_t r = 0; r < t->rows; r++) {
        if (r == 1 || (t->rule_before > 0 && r == t->rule_before))
            print_rule(out, width, t->cols);
        for (size_t c = 0; c < t->cols; c++) {
            const char *cell = t->cells[r][c];
            int pad = width[c] - text_width(cell);
            bool last = c + 1 == t->cols;
            fprintf(out, "%s", c > 0 ? "  " : "");
            if (t->right[c])
                fprintf(out, "%*s%s", pad, "", cell);
            else
                fprintf(out, "%s%*s", cell, last ? 0 : pad, "");
        }
        fputc('\n', out);
    }
}

void table_free(struct table *t)
{
    free(t->cells);
    memset(t, 0, sizeof *t);
}
