/* The built-in dataset's ids and prices, and reading a dataset file. */
#include "dataset.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_util.h"
#include "sh_person_id.h"

#define BUILTIN_PERSONS_DEFAULT 10000u
#define BIRTH_DAYS 25000u /* 1930-01-01 onwards, about 68 years */
#define DAYS_1930 (-14610) /* 1930-01-01, days since 1970-01-01 */

/* Days since 1970-01-01 to the civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

/* i -> (birth day, sequence) is one to one: 7919 is prime to BIRTH_DAYS,
 * so i % BIRTH_DAYS picks every day once, and i / BIRTH_DAYS the sequence. */
void lg_person_id(uint64_t index, char out[SH_PERSON_ID_LEN + 1])
{
    int y;
    unsigned m, d;
    civil_from_days(DAYS_1930 + (int64_t)((index * 7919u) % BIRTH_DAYS), &y, &m, &d);
    unsigned seq = 100u + (unsigned)(index / BIRTH_DAYS) % 900u;
    char digits[32]; /* room for what the compiler cannot prove: y, m, d are small */
    snprintf(digits, sizeof digits, "330424%04d%02u%02u%03u", y % 10000, m % 100, d % 100, seq);
    memcpy(out, digits, 17);
    out[17] = sh_person_id_check_char(out);
    out[18] = '\0';
}

int64_t lg_unit_price(const char *code)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = code; *p != '\0'; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return 100 + (int64_t)(lg_hash64(h) % 30000u);
}

int lg_catalog_builtin(struct lg_catalog *out)
{
    out->items = calloc(LG_CATALOG_BUILTIN, sizeof *out->items);
    if (out->items == NULL)
        return -1;
    for (unsigned i = 0; i < LG_CATALOG_BUILTIN; i++) {
        char cls = i < 120 ? 'A' : i < 240 ? 'B' : 'C';
        unsigned n = i < 120 ? i + 1 : i < 240 ? i - 119 : i - 239;
        snprintf(out->items[i].code, sizeof out->items[i].code, "%c%04u", cls, n);
        out->items[i].unit_price = lg_unit_price(out->items[i].code);
    }
    out->n = LG_CATALOG_BUILTIN;
    return 0;
}

static int persons_builtin(size_t n, struct lg_persons *out)
{
    out->ids = calloc(n > 0 ? n : 1, sizeof *out->ids);
    if (out->ids == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        lg_person_id(i, out->ids[i]);
    out->n = n;
    return 0;
}

void lg_catalog_free(struct lg_catalog *c)
{
    free(c->items);
    memset(c, 0, sizeof *c);
}

void lg_persons_free(struct lg_persons *p)
{
    free(p->ids);
    memset(p, 0, sizeof *p);
}

/* ---- A dataset file ------------------------------------------------------------ */

static int read_catalog(json_t *doc, struct lg_catalog *c)
{
    json_t *arr = json_object_get(doc, "catalog");
    size_t n = json_array_size(arr);
    c->items = calloc(n > 0 ? n : 1, sizeof *c->items);
    if (c->items == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *code = json_string_value(json_object_get(json_array_get(arr, i), "code"));
        if (code != NULL && lg_copy(c->items[c->n].code, SH_ID_MAX, code)) {
            c->items[c->n].unit_price = lg_unit_price(code);
            c->n++;
        }
    }
    return 0;
}

/* Persons with a death date are left out: claims for them would be refused
 * (PERSON_DECEASED), which is not what a load test measures. */
static int read_persons(json_t *doc, struct lg_persons *p)
{
    json_t *arr = json_object_get(doc, "persons");
    size_t n = json_array_size(arr);
    p->ids = calloc(n > 0 ? n : 1, sizeof *p->ids);
    if (p->ids == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *person = json_array_get(arr, i);
        const char *id = json_string_value(json_object_get(person, "id"));
        json_t *died = json_object_get(person, "died");
        if (id != NULL && (died == NULL || json_is_null(died)) &&
            lg_copy(p->ids[p->n], SH_PERSON_ID_LEN + 1, id))
            p->n++;
    }
    return 0;
}

int lg_dataset_read(const char *path, struct lg_catalog *catalog, struct lg_persons *persons,
                    char *err, size_t cap)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        snprintf(err, cap, "%s:%d: %s", path, jerr.line, jerr.text);
        return -1;
    }
    int rc = read_catalog(doc, catalog) == 0 && read_persons(doc, persons) == 0 ? 0 : -1;
    json_decref(doc);
    if (rc == 0 && (catalog->n == 0 || persons->n == 0)) {
        snprintf(err, cap, "%s: no catalog items or no living persons", path);
        rc = -1;
    }
    return rc;
}

/* ---- --persons ------------------------------------------------------------------- */

static int persons_from_file(const char *path, struct lg_persons *out, char *err, size_t cap)
{
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        snprintf(err, cap, "--persons %s: cannot open (want gen:N, A-B or a file)", path);
        return -1;
    }
    size_t room = 1024;
    out->ids = calloc(room, sizeof *out->ids);
    char line[128];
    while (out->ids != NULL && fgets(line, sizeof line, in) != NULL) {
        line[strcspn(line, "\r\n \t")] = '\0';
        if (strlen(line) != SH_PERSON_ID_LEN)
            continue; /* blank lines, comments */
        if (out->n == room) {
            void *grown = realloc(out->ids, 2 * room * sizeof *out->ids);
            if (grown == NULL)
                break;
            out->ids = grown;
            room *= 2;
        }
        lg_copy(out->ids[out->n++], SH_PERSON_ID_LEN + 1, line);
    }
    fclose(in);
    if (out->n == 0)
        snprintf(err, cap, "--persons %s: no resident ids in it", path);
    return out->n > 0 ? 0 : -1;
}

/* "A-B" into a, b; false when spec is not that. */
static bool parse_range(const char *spec, uint64_t *a, uint64_t *b)
{
    char first[24];
    size_t len = strcspn(spec, "-");
    if (spec[len] != '-' || len == 0 || len >= sizeof first)
        return false;
    memcpy(first, spec, len);
    first[len] = '\0';
    return lg_parse_u64(first, 0, LG_PERSONS_MAX - 1, a) &&
           lg_parse_u64(spec + len + 1, *a, LG_PERSONS_MAX - 1, b);
}

static int persons_range(uint64_t a, uint64_t b, struct lg_persons *p, char *err, size_t cap)
{
    if (p->n == 0 && persons_builtin((size_t)b + 1, p) != 0)
        return -1;
    if (b >= p->n) {
        snprintf(err, cap, "--persons %llu-%llu: the dataset has %zu persons",
                 (unsigned long long)a, (unsigned long long)b, p->n);
        return -1;
    }
    memmove(p->ids, p->ids + a, (size_t)(b - a + 1) * sizeof *p->ids);
    p->n = (size_t)(b - a + 1);
    return 0;
}

int lg_persons_select(const char *spec, struct lg_persons *p, char *err, size_t cap)
{
    uint64_t a, b;
    if (spec == NULL)
        return p->n > 0 ? 0 : persons_builtin(BUILTIN_PERSONS_DEFAULT, p);
    if (strncmp(spec, "gen:", 4) == 0) {
        if (!lg_parse_u64(spec + 4, 1, LG_PERSONS_MAX, &a)) {
            snprintf(err, cap, "--persons %s: N must be 1..%u", spec, LG_PERSONS_MAX);
            return -1;
        }
        lg_persons_free(p);
        return persons_builtin((size_t)a, p);
    }
    if (parse_range(spec, &a, &b))
        return persons_range(a, b, p, err, cap);
    lg_persons_free(p);
    return persons_from_file(spec, p, err, cap);
}
