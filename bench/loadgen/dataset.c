/* The built-in dataset's ids and prices, and reading a dataset file. */
#include "dataset.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_util.h"
#include "sh_person_id.h"

#define BUILTIN_PERSONS_DEFAULT 10000u
#define BIRTH_DAYS 25000u  /* 1930-01-01 onwards, about 68 years */
#define DAYS_1930 (-14610) /* 1930-01-01, days since 1970-01-01 */
#define DAY_STEP 7919u     /* person i is born on day (i x DAY_STEP) % BIRTH_DAYS */
#define DAY_STEP_INV 17679u
#define SEQ_FIRST 100u
#define SEQ_SPAN 900u /* sequence numbers 100..999: BIRTH_DAYS x SEQ_SPAN ids */
#define DEAD_PER_MILLE 1u
#define DRAW_DEAD_SKIPS 8u /* neighbours tried for a living person to draw */

_Static_assert((uint64_t)DAY_STEP *DAY_STEP_INV % BIRTH_DAYS == 1, "DAY_STEP_INV inverts");
_Static_assert((uint64_t)BIRTH_DAYS *SEQ_SPAN >= LG_PERSONS_MAX, "ids stay distinct");

const struct lg_bench_hospital lg_bench_hospitals[LG_BENCH_HOSPITALS] = {
    {"H330424201", "bench village clinic", "village", true},
    {"H330424101", "bench township health centre", "township", true},
    {"H330424001", "bench county hospital 1", "county", true},
    {"H330424002", "bench county hospital 2", "county", true},
    {"H330400001", "bench municipal hospital", "municipal", true},
    {"H330100001", "bench provincial hospital", "provincial", false},
};

void lg_terminal_name(const char *hospital, char out[SH_CODE_MAX])
{
    snprintf(out, SH_CODE_MAX, "counter-h%s", hospital[0] == 'H' ? hospital + 1 : hospital);
}

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
    civil_from_days(DAYS_1930 + (int64_t)((index * DAY_STEP) % BIRTH_DAYS), &y, &m, &d);
    unsigned seq = SEQ_FIRST + (unsigned)(index / BIRTH_DAYS) % SEQ_SPAN;
    char digits[32]; /* room for what the compiler cannot prove: y, m, d are small */
    snprintf(digits, sizeof digits, "330424%04d%02u%02u%03u", y % 10000, m % 100, d % 100, seq);
    memcpy(out, digits, 17);
    out[17] = sh_person_id_check_char(out);
    out[18] = '\0';
}

bool lg_person_deceased(uint64_t index)
{
    return lg_hash64(index ^ 0xDEADull) % 1000u < DEAD_PER_MILLE;
}

/* Ids sort by birth day, then sequence: day d's persons are the indexes
 * s x BIRTH_DAYS + (d x DAY_STEP_INV) % BIRTH_DAYS, in order of s. */
void lg_person_order_init(struct lg_person_order *o, uint64_t n)
{
    memset(o, 0, sizeof *o);
    o->n = n < LG_PERSONS_MAX ? n : LG_PERSONS_MAX;
}

bool lg_person_order_next(struct lg_person_order *o, uint64_t *index)
{
    for (; o->day < BIRTH_DAYS; o->day++, o->seq = 0) {
        uint64_t i = (uint64_t)o->seq * BIRTH_DAYS + (uint64_t)o->day * DAY_STEP_INV % BIRTH_DAYS;
        if (o->seq < SEQ_SPAN && i < o->n) {
            o->seq++;
            *index = i;
            return true;
        }
    }
    return false;
}

const char *lg_persons_at(const struct lg_persons *p, size_t k, char out[SH_PERSON_ID_LEN + 1])
{
    if (p->ids != NULL)
        return p->ids[k];
    uint64_t at = k;
    for (unsigned skip = 0; skip < DRAW_DEAD_SKIPS && lg_person_deceased(p->gen_first + at); skip++)
        at = (at + 1) % p->n;
    lg_person_id(p->gen_first + at, out);
    return out;
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

/* A generated catalog's unit prices: 60 % up to 20 yuan (most drugs), 30 %
 * to 200, 8 % to 1000, 2 % to 5000 yuan (devices, materials). */
static int64_t gen_unit_price(uint32_t index)
{
    uint64_t h = lg_hash64((uint64_t)index ^ 0x9A1CE5ull);
    uint64_t tier = h % 100u, u = h >> 8;
    if (tier < 60)
        return 10 + (int64_t)(u % 1990u);
    if (tier < 90)
        return 2000 + (int64_t)(u % 18000u);
    if (tier < 98)
        return 20000 + (int64_t)(u % 80000u);
    return 100000 + (int64_t)(u % 400000u);
}

void lg_item_gen(uint32_t index, struct lg_item *out)
{
    static const char cls[5] = {'A', 'A', 'B', 'B', 'C'};
    static const uint32_t per_five[5] = {2, 2, 2, 2, 1}, offset[5] = {1, 2, 1, 2, 1};
    uint32_t r = index % 5u;
    uint32_t number = (index / 5u) * per_five[r] + offset[r];
    snprintf(out->code, sizeof out->code, "%c%06u", cls[r], (unsigned)(number % 1000000u));
    out->unit_price = gen_unit_price(index);
}

int lg_catalog_select(const char *spec, struct lg_catalog *c, char *err, size_t cap)
{
    uint64_t m;
    if (spec == NULL)
        return c->n > 0 ? 0 : lg_catalog_builtin(c);
    if (strncmp(spec, "gen:", 4) != 0 || !lg_parse_u64(spec + 4, 1, LG_CATALOG_GEN_MAX, &m)) {
        snprintf(err, cap, "--catalog %s: want gen:M, M 1..%u", spec, LG_CATALOG_GEN_MAX);
        return -1;
    }
    lg_catalog_free(c);
    c->items = calloc((size_t)m, sizeof *c->items);
    if (c->items == NULL)
        return -1;
    for (uint32_t i = 0; i < m; i++)
        lg_item_gen(i, &c->items[i]);
    c->n = (size_t)m;
    return 0;
}

/* Built-in persons are drawn by index (lg_persons_at), never listed. */
static void persons_builtin(uint64_t first, uint64_t n, struct lg_persons *out)
{
    lg_persons_free(out);
    out->gen_first = first;
    out->n = (size_t)n;
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
    if (p->ids == NULL) {
        persons_builtin(a, b - a + 1, p);
        return 0;
    }
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
    if (spec == NULL) {
        if (p->n == 0)
            persons_builtin(0, BUILTIN_PERSONS_DEFAULT, p);
        return 0;
    }
    if (strncmp(spec, "gen:", 4) == 0) {
        if (!lg_parse_u64(spec + 4, 1, LG_PERSONS_MAX, &a)) {
            snprintf(err, cap, "--persons %s: N must be 1..%u", spec, LG_PERSONS_MAX);
            return -1;
        }
        persons_builtin(0, a, p);
        return 0;
    }
    if (parse_range(spec, &a, &b))
        return persons_range(a, b, p, err, cap);
    lg_persons_free(p);
    return persons_from_file(spec, p, err, cap);
}
