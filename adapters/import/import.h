/*
 * sanhe-import: a county data clerk's importer of roster files
 * (docs/rosters.md). It reads CSV through the project's CSV layer
 * (hospital-client/csv), checks every row, and sends the file to the
 * engine as an admin terminal through libsanhe-client: an import session
 * (begin, staged chunks, commit or dry run).
 *
 *   import_map.c   the mapping file of a source (INI): columns, codes
 *   import_rows.c  CSV records -> checked ImportRows (dates, ids, codes)
 *   import_send.c  the session over TLS, and the log
 *   import_main.c  the command line, the config, the reports
 */
#ifndef IMPORT_H
#define IMPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sanhe.pb-c.h"
#include "sanhe/client.h"
#include "sh_csv.h"
#include "sh_error.h"
#include "sh_types.h"

#define IMPORT_CODES_MAX 256     /* local codes mapped per mapping file */
#define IMPORT_CHUNK_ROWS 1000   /* rows per ImportChunk */
#define IMPORT_ERRORS_SHOWN 1000 /* bad rows listed in a report */
#define IMPORT_TIMEOUT_MS_DEFAULT 60000

enum import_col {
    COL_PERSON = 0,
    COL_NAME,
    COL_REGION,
    COL_YEAR,
    COL_CATEGORY,
    COL_FROM,
    COL_TO,
    COL_DIED,
    COL_CODE,
    COL_LEVEL,
    COL_FUNDS,
    COL_CLASS,
    COL_SELFPAY,
    COL_PRICE_CAP,
    COL_COUNT
};

struct import_code {
    char local[64];
    char mapped[SH_ID_MAX];
};

/* A source's mapping file. */
struct import_map {
    char path[PATH_MAX];
    Sanhe__ImportSource source;
    char kind[32];          /* as written: enrolment, category, veterans, ... */
    char fund[SH_ID_MAX];   /* category and veterans rosters */
    int32_t year;           /* enrolment: the year when no column gives it */
    uint32_t exit_share_bp; /* 0: the engine's default */
    enum sh_csv_encoding encoding;
    char columns[COL_COUNT][64];                /* header names; "" = not in the file */
    struct import_code codes[IMPORT_CODES_MAX]; /* [categories] or [levels] or [classes] */
    size_t code_count;
};

const char *import_col_name(enum import_col col);
int import_map_load(const char *path, struct import_map *out, struct sh_error *err);
/* The same from text (the fuzz target's way in). */
int import_map_load_string(const char *text, struct import_map *out, struct sh_error *err);
/* The mapped code of a local one; the local one itself when unmapped. */
const char *import_map_code(const struct import_map *map, const char *local);

/* Rows. A row's fields are checked into msg (its strings point into
 * storage, which must outlive msg); NULL, or why the row is bad. */
struct import_row {
    Sanhe__ImportRow msg;
    Sanhe__Hospital hospital;
    Sanhe__CatalogItem item;
    char *funds[SH_FUNDS_MAX];
    char storage[2048];
    size_t used;
};

struct import_header {
    int index[COL_COUNT]; /* column number of each, -1 = absent */
};

/* The header's columns; the message names a column the mapping wants and
 * the header lacks. */
int import_header_parse(const struct import_map *map, size_t count, const char *const *fields,
                        struct import_header *out, struct sh_error *err);
const char *import_row_parse(const struct import_map *map, const struct import_header *h,
                             size_t count, const char *const *fields, uint32_t line,
                             struct import_row *out, char *why, size_t why_cap);

/* Dates as 2026-03-01, 20260301 or 2026/3/1: yyyymmdd, 0 when not one. */
uint32_t import_date_parse(const char *s);
/* Yuan with at most 2 decimals ("12.3", "12.30", "12") into fen; -1 when not. */
int64_t import_yuan_parse(const char *s);

/* ---- The session over TLS ---- */
struct import_conn {
    sanhe_client *client;
    int timeout_ms;
    struct sh_error err;
};

int import_connect(struct import_conn *c, const char *engines, const char *ca, const char *cert,
                   const char *key, int timeout_ms);
void import_disconnect(struct import_conn *c);
/* Sends request; *out is its Response (free with sanhe__response__free_unpacked). A
 * refusal is 0 with (*out)->error set. */
int import_call(struct import_conn *c, const Sanhe__Request *request, Sanhe__Response **out);

#endif
