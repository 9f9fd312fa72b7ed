/*
 * The project's one CSV layer (libcsv underneath): the roster importer
 * (adapters/import), the counter's bill CSV and the bureau's CSV readers.
 * It lives beside libsanhe-client because the counter uses it and adapters
 * sit above the client, never below.
 *
 * A file is read as a stream in bounded memory, record by record:
 *   - the encoding is UTF-8 (with or without a BOM) or GB18030, told by a
 *     BOM or, without one, by whether the first 64 KiB are valid UTF-8;
 *     everything is handed over as UTF-8 (converted with iconv), and a byte
 *     sequence that is not valid in the file's encoding is an error naming
 *     its line (a file of mixed encodings);
 *   - line ends may be LF, CRLF or a lone CR;
 *   - a NUL byte, a record longer than record_max bytes, a field longer than
 *     field_max, more than fields_max fields, a malformed quote (libcsv's
 *     strict mode) or an unterminated quoted field at the end are errors
 *     naming their line.
 * A record's line is the line it ends on (1-based; a quoted field may span
 * lines). Empty lines are skipped.
 */
#ifndef SH_CSV_H
#define SH_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sh_error.h"

enum sh_csv_encoding { SH_CSV_AUTO = 0, SH_CSV_UTF8, SH_CSV_GB18030 };

#define SH_CSV_FIELD_MAX_DEFAULT 4096
#define SH_CSV_FIELDS_MAX_DEFAULT 256
#define SH_CSV_RECORD_MAX_DEFAULT (64u << 10)

struct sh_csv_options {
    enum sh_csv_encoding encoding; /* SH_CSV_AUTO: detect */
    size_t field_max;              /* bytes (UTF-8); 0: SH_CSV_FIELD_MAX_DEFAULT */
    size_t fields_max;             /* 0: SH_CSV_FIELDS_MAX_DEFAULT */
    size_t record_max;             /* bytes as read; 0: SH_CSV_RECORD_MAX_DEFAULT */
};

/* What was read. */
struct sh_csv_info {
    enum sh_csv_encoding encoding; /* as detected or given */
    bool bom;                      /* the file began with a UTF-8 BOM */
    uint64_t records;
    uint64_t lines;
    uint64_t bytes;
};

/* Called for every record: fields are NUL-terminated UTF-8, valid until the
 * call returns. Return 0 to go on, a negative SH_E_* code to stop (the read
 * then returns it; fill err yourself), or 1 to stop without an error. */
typedef int (*sh_csv_record_fn)(void *ctx, uint64_t line, size_t count, const char *const *fields);

/* Reads a whole file / buffer. Returns 0, the callback's code, or
 * SH_E_BAD_REQUEST with err naming the line ("line 7: ..."); SH_E_INTERNAL
 * when the file cannot be read or memory runs out. info may be NULL. */
int sh_csv_read_file(const char *path, const struct sh_csv_options *options, sh_csv_record_fn fn,
                     void *ctx, struct sh_csv_info *info, struct sh_error *err);
int sh_csv_read_buffer(const void *data, size_t len, const struct sh_csv_options *options,
                       sh_csv_record_fn fn, void *ctx, struct sh_csv_info *info,
                       struct sh_error *err);

/* The index of the header field named name (compared after trimming ASCII
 * spaces), or -1. */
int sh_csv_column(size_t count, const char *const *fields, const char *name);

/* "UTF-8", "GB18030" or "auto". */
const char *sh_csv_encoding_name(enum sh_csv_encoding encoding);

#endif
