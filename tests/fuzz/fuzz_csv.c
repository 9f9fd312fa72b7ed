/*
 * fuzz_csv: arbitrary bytes through the CSV layer (hospital-client/csv) and
 * sanhe-import's mapping and row readers (adapters/import). The input is a
 * mapping file and a CSV file separated by the first "\n%%\n"; without one,
 * all of it is the CSV, read with a fixed category-roster mapping. Whatever
 * the bytes (binary junk, mixed encodings, CR-only line ends, a missing
 * header, an endless line), every refusal must name a line ("line N: ..."),
 * every record must hold at most the limit's fields, each NUL-terminated
 * and no longer than the field limit, and every row the readers accept must
 * carry a valid resident id and ISO dates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "sh_date.h"
#include "sh_person_id.h"

#define FIELD_MAX 512
#define FIELDS_MAX 32

static const char default_map[] = "[source]\nkind = category\nfund = assist\n"
                                  "[columns]\nperson = 身份证号\nname = 姓名\ncategory = 类别\n"
                                  "from = 起始\nto = 终止\n[categories]\n低保 = dibao\n";

struct ctx {
    struct import_map map;
    struct import_header header;
    bool have_header;
    struct sh_error err;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_date(const char *s)
{
    if (s != NULL && sh_date_parse(s) == 0)
        abort(); /* an accepted row with a date that is not ISO */
}

static int on_record(void *arg, uint64_t line, size_t count, const char *const *fields)
{
    struct ctx *c = arg;
    if (count > FIELDS_MAX || line == 0)
        abort();
    for (size_t i = 0; i < count; i++)
        if (strlen(fields[i]) > FIELD_MAX)
            abort();
    if (!c->have_header) {
        c->have_header = true;
        return import_header_parse(&c->map, count, fields, &c->header, &c->err) == 0 ? 0 : 1;
    }
    struct import_row *row = malloc(sizeof *row);
    if (row == NULL)
        return 1;
    char why[SH_ERROR_MSG_MAX];
    const char *fault =
        import_row_parse(&c->map, &c->header, count, fields, (uint32_t)line, row, why, sizeof why);
    if (fault == NULL && c->map.source != SANHE__IMPORT_SOURCE__IMPORT_HOSPITALS &&
        c->map.source != SANHE__IMPORT_SOURCE__IMPORT_CATALOG) {
        if (!sh_person_id_valid(row->msg.person))
            abort();
        check_date(row->msg.from);
        check_date(row->msg.to);
        check_date(row->msg.died);
    }
    free(row);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return 0;
    const uint8_t *csv = data;
    size_t csv_len = size;
    const uint8_t *sep = memmem(data, size, "\n%%\n", 4);
    int rc;
    if (sep != NULL) {
        size_t n = (size_t)(sep - data);
        char *text = malloc(n + 1);
        if (text == NULL) {
            free(c);
            return 0;
        }
        memcpy(text, data, n);
        text[n] = '\0';
        rc = import_map_load_string(text, &c->map, &c->err);
        free(text);
        csv = sep + 4;
        csv_len = size - n - 4;
    } else {
        rc = import_map_load_string(default_map, &c->map, &c->err);
        if (rc != 0)
            abort(); /* the fixed mapping must load */
    }
    if (rc == 0) {
        struct sh_csv_options o = {.field_max = FIELD_MAX,
                                   .fields_max = FIELDS_MAX,
                                   .record_max = 4096,
                                   .encoding = c->map.encoding};
        struct sh_error err = {0};
        rc = sh_csv_read_buffer(csv, csv_len, &o, on_record, c, NULL, &err);
        if (rc == SH_E_BAD_REQUEST && strncmp(err.msg, "line ", 5) != 0)
            abort(); /* a refusal that names no line */
    }
    free(c);
    return 0;
}
