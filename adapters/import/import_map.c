/*
 * A source's mapping file (INI, inih): what the county's export calls its
 * columns, and how its local codes map to the policy's.
 *
 *   [source]
 *   kind = category         enrolment | category | veterans | deaths | hospitals | catalog
 *   fund = assist           category and veterans rosters: the policy's fund
 *   year = 2026             enrolment: the year when the file has no year column
 *   exit_share_max = 10%    category rosters: most exits allowed without --force
 *   encoding = auto         auto | utf-8 | gb18030
 *   [columns]
 *   person = 身份证号         (and name, region, year, category, from, to, died,
 *   name = 姓名                code, level, funds, class, selfpay, price_cap)
 *   [categories]            (or [levels], [classes]): local = policy's
 *   低保 = dibao
 *
 * A key it does not know is refused with its line: a typo must not leave a
 * column silently unread.
 */
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "import.h"

static const char *const col_names[COL_COUNT] = {
    "person", "name", "region", "year",  "category", "from",    "to",
    "died",   "code", "level",  "funds", "class",    "selfpay", "price_cap"};

const char *import_col_name(enum import_col col) { return col_names[col]; }

struct map_parse {
    struct import_map *m;
    char why[200];
    int line;
};

static bool copy(char *out, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap)
        return false;
    memcpy(out, v, n + 1);
    return true;
}

static const char *source_key(struct import_map *m, const char *name, const char *v)
{
    if (strcmp(name, "kind") == 0) {
        static const struct {
            const char *name;
            Sanhe__ImportSource source;
        } kinds[] = {{"enrolment", SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT},
                     {"category", SANHE__IMPORT_SOURCE__IMPORT_CATEGORY},
                     {"veterans", SANHE__IMPORT_SOURCE__IMPORT_CATEGORY},
                     {"deaths", SANHE__IMPORT_SOURCE__IMPORT_DEATHS},
                     {"hospitals", SANHE__IMPORT_SOURCE__IMPORT_HOSPITALS},
                     {"catalog", SANHE__IMPORT_SOURCE__IMPORT_CATALOG}};
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (strcmp(v, kinds[i].name) == 0) {
                m->source = kinds[i].source;
                copy(m->kind, sizeof m->kind, v);
                return NULL;
            }
        return "kind: not enrolment, category, veterans, deaths, hospitals or catalog";
    }
    if (strcmp(name, "fund") == 0)
        return copy(m->fund, sizeof m->fund, v) && v[0] != '\0' ? NULL : "fund: empty or too long";
    if (strcmp(name, "year") == 0) {
        char *end = NULL;
        long y = strtol(v, &end, 10);
        if (end == v || *end != '\0' || y < 1900 || y > 9999)
            return "year: not a year";
        m->year = (int32_t)y;
        return NULL;
    }
    if (strcmp(name, "exit_share_max") == 0) {
        char *end = NULL;
        long p = strtol(v, &end, 10);
        if (end == v || strcmp(end, "%") != 0 || p < 0 || p > 100)
            return "exit_share_max: not a percentage (10%)";
        m->exit_share_bp = (uint32_t)(p * 100);
        return NULL;
    }
    if (strcmp(name, "encoding") == 0) {
        if (strcmp(v, "auto") == 0)
            m->encoding = SH_CSV_AUTO;
        else if (strcasecmp(v, "utf-8") == 0 || strcasecmp(v, "utf8") == 0)
            m->encoding = SH_CSV_UTF8;
        else if (strcasecmp(v, "gb18030") == 0 || strcasecmp(v, "gbk") == 0)
            m->encoding = SH_CSV_GB18030;
        else
            return "encoding: not auto, utf-8 or gb18030";
        return NULL;
    }
    return "unknown key in [source]";
}

static int on_key(void *ctx, const char *section, const char *name, const char *value)
{
    struct map_parse *p = ctx;
    struct import_map *m = p->m;
    const char *why = NULL;
    if (strcmp(section, "source") == 0) {
        why = source_key(m, name, value);
    } else if (strcmp(section, "columns") == 0) {
        why = "unknown column key";
        for (int c = 0; c < COL_COUNT; c++)
            if (strcmp(name, col_names[c]) == 0)
                why = copy(m->columns[c], sizeof m->columns[c], value) ? NULL
                                                                       : "column name too long";
    } else if (strcmp(section, "categories") == 0 || strcmp(section, "levels") == 0 ||
               strcmp(section, "classes") == 0) {
        if (m->code_count >= IMPORT_CODES_MAX)
            why = "too many codes";
        else if (!copy(m->codes[m->code_count].local, sizeof m->codes[0].local, name) ||
                 !copy(m->codes[m->code_count].mapped, sizeof m->codes[0].mapped, value))
            why = "code too long";
        else
            m->code_count++;
    } else {
        why = "unknown section";
    }
    if (why != NULL && p->why[0] == '\0')
        snprintf(p->why, sizeof p->why, "[%.20s] %.40s: %s", section, name, why);
    return why == NULL;
}

static int map_check(const char *path, struct import_map *out, struct sh_error *err);

int import_map_load(const char *path, struct import_map *out, struct sh_error *err)
{
    memset(out, 0, sizeof *out);
    copy(out->path, sizeof out->path, path);
    struct map_parse p = {.m = out};
    int rc = ini_parse(path, on_key, &p);
    if (rc < 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, "%s: cannot be read", path);
    if (rc > 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, "%s: line %d: %s", path, rc,
                            p.why[0] ? p.why : "not INI");
    return map_check(path, out, err);
}

int import_map_load_string(const char *text, struct import_map *out, struct sh_error *err)
{
    memset(out, 0, sizeof *out);
    copy(out->path, sizeof out->path, "(mapping)");
    struct map_parse p = {.m = out};
    int rc = ini_parse_string(text, on_key, &p);
    if (rc != 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, "(mapping): line %d: %s", rc,
                            p.why[0] ? p.why : "not INI");
    return map_check("(mapping)", out, err);
}

static int map_check(const char *path, struct import_map *out, struct sh_error *err)
{
    const char *why = NULL;
    Sanhe__ImportSource s = out->source;
    if (s == SANHE__IMPORT_SOURCE__IMPORT_SOURCE_NONE)
        why = "[source] kind is missing";
    else if (s == SANHE__IMPORT_SOURCE__IMPORT_CATEGORY && out->fund[0] == '\0')
        why = "[source] fund is missing (a category roster is for one fund)";
    else if (s == SANHE__IMPORT_SOURCE__IMPORT_HOSPITALS ||
             s == SANHE__IMPORT_SOURCE__IMPORT_CATALOG)
        why = out->columns[COL_CODE][0] == '\0' ? "[columns] code is missing" : NULL;
    else if (out->columns[COL_PERSON][0] == '\0')
        why = "[columns] person is missing";
    else if (s == SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT && out->year == 0 &&
             out->columns[COL_YEAR][0] == '\0')
        why = "an enrolment needs [columns] year or [source] year";
    else if (s == SANHE__IMPORT_SOURCE__IMPORT_CATEGORY &&
             (out->columns[COL_CATEGORY][0] == '\0' || out->columns[COL_FROM][0] == '\0'))
        why = "a category roster needs [columns] category and from";
    else if (s == SANHE__IMPORT_SOURCE__IMPORT_DEATHS && out->columns[COL_DIED][0] == '\0')
        why = "death records need [columns] died";
    if (why != NULL)
        return sh_error_set(err, SH_E_BAD_REQUEST, "%s: %s", path, why);
    return 0;
}

const char *import_map_code(const struct import_map *map, const char *local)
{
    for (size_t i = 0; i < map->code_count; i++)
        if (strcmp(map->codes[i].local, local) == 0)
            return map->codes[i].mapped;
    return local;
}
