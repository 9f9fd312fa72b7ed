/*
 * Reference data of the case-file format (persons, hospitals, catalog items)
 * into protobuf messages for an admin Load.
 *
 * Messages are built with malloc and strdup exactly as protobuf-c's unpacker
 * with the default allocator would build them, so a caller frees one with
 * sanhe__person__free_unpacked(msg, NULL) (and the like), and so does this
 * file on every failure path, after a partial build.
 *
 * The shapes are checked here, where the JSON path can still be named: an
 * unknown key (a typo would otherwise be silently ignored), a wrong type, a
 * string too long for the engine's fixed buffers, an invalid date or resident
 * ID, an unknown level or class, more entries than the limits.
 */
#include <stdlib.h>
#include <string.h>

#include "sh_date.h"
#include "sh_json.h"
#include "sh_json_internal.h"
#include "sh_person_id.h"

static const char *const person_keys[] = {"id",         "name", "region", "enrolled",
                                          "categories", "died", NULL};
static const char *const category_keys[] = {"fund", "category", "from", "to", NULL};
static const char *const hospital_keys[] = {"code", "name", "region", "level", "funds", NULL};
static const char *const item_keys[] = {"code", "name", "class", "selfpay_bp", "price_cap", NULL};
static const char *const level_names[] = {"village",   "township",   "county",
                                          "municipal", "provincial", NULL};
static const char *const class_names[] = {"A", "B", "C", NULL};

/* Reads a required string at key (checked to fit cap, and non-empty when
 * nonempty) and stores a malloc'ed copy in *dst. */
static int take_string(struct sh_jctx *c, const json_t *obj, const char *key, size_t cap,
                       bool nonempty, char **dst)
{
    char buf[SH_NAME_MAX];
    int rc =
        sh_jx_get_string(c, obj, key, SH_JX_REQUIRED, buf, cap < sizeof buf ? cap : sizeof buf);
    if (rc < 0)
        return rc;
    if (nonempty && buf[0] == '\0') {
        size_t mark = sh_jctx_key(c, key);
        rc = sh_jx_fail(c, "empty");
        sh_jctx_pop(c, mark);
        return rc;
    }
    return sh_jx_strdup(c, buf, dst);
}

/* Reads an optional date at key (null = absent) into a malloc'ed string. */
static int take_date(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                     uint32_t *date, char **dst)
{
    int rc = sh_jx_get_date(c, obj, key, flags, date);
    if (rc <= 0)
        return rc;
    char text[SH_DATE_STR_LEN];
    sh_date_format(*date, text);
    return sh_jx_strdup(c, text, dst);
}

/* ---- Person ------------------------------------------------------------------- */

static int person_id(struct sh_jctx *c, const json_t *v, Sanhe__Person *m, bool check)
{
    int rc = take_string(c, v, "id", SH_PERSON_ID_LEN + 1, true, &m->id);
    if (rc < 0)
        return rc;
    if (check && !sh_person_id_valid(m->id)) {
        size_t mark = sh_jctx_key(c, "id");
        rc = sh_jx_fail(c, "\"%s\" is not a valid resident ID (GB 11643 check digit)", m->id);
        sh_jctx_pop(c, mark);
    }
    return rc;
}

static int person_enrolled(struct sh_jctx *c, const json_t *v, Sanhe__Person *m)
{
    const json_t *arr = NULL;
    int rc = sh_jx_get(c, v, "enrolled", 0, &arr);
    if (rc <= 0)
        return rc;
    size_t mark = sh_jctx_key(c, "enrolled");
    if ((rc = sh_jx_array(c, arr, SH_ENROLLED_MAX)) < 0)
        return rc;
    size_t n = json_array_size(arr);
    if (n > 0 && (m->enrolled = calloc(n, sizeof *m->enrolled)) == NULL)
        return sh_jx_oom(c);
    for (size_t i = 0; i < n; i++) {
        int64_t year = 0;
        size_t m2 = sh_jctx_index(c, i);
        /* The years a date can have (sh_date_parse). */
        if ((rc = sh_jx_int(c, json_array_get(arr, i), 1900, 9999, &year)) < 0)
            return rc;
        sh_jctx_pop(c, m2);
        m->enrolled[i] = (int32_t)year;
        m->n_enrolled = i + 1;
    }
    sh_jctx_pop(c, mark);
    return 0;
}

static int person_category(struct sh_jctx *c, const json_t *v, Sanhe__PersonCategory *pc)
{
    uint32_t from = 0, to = 0;
    int rc = sh_jx_object(c, v);
    if (rc == 0)
        rc = sh_jx_check_keys(c, v, category_keys);
    if (rc < 0 || (rc = take_string(c, v, "fund", SH_ID_MAX, true, &pc->fund)) < 0 ||
        (rc = take_string(c, v, "category", SH_ID_MAX, true, &pc->category)) < 0 ||
        (rc = take_date(c, v, "from", SH_JX_REQUIRED, &from, &pc->from)) < 0 ||
        (rc = take_date(c, v, "to", SH_JX_NULLABLE, &to, &pc->to)) < 0)
        return rc;
    if (to != 0 && to < from)
        return sh_jx_fail(c, "to %s is before from %s", pc->to, pc->from);
    return 0;
}

static int person_categories(struct sh_jctx *c, const json_t *v, Sanhe__Person *m)
{
    const json_t *arr = NULL;
    int rc = sh_jx_get(c, v, "categories", 0, &arr);
    if (rc <= 0)
        return rc;
    size_t mark = sh_jctx_key(c, "categories");
    if ((rc = sh_jx_array(c, arr, SH_PERSON_CATS_MAX)) < 0)
        return rc;
    size_t n = json_array_size(arr);
    if (n > 0 && (m->categories = calloc(n, sizeof *m->categories)) == NULL)
        return sh_jx_oom(c);
    for (size_t i = 0; i < n; i++) {
        Sanhe__PersonCategory *pc = malloc(sizeof *pc);
        if (pc == NULL)
            return sh_jx_oom(c);
        sanhe__person_category__init(pc);
        /* Counted at once, so that a failure below frees it with the rest. */
        m->categories[m->n_categories++] = pc;
        size_t m2 = sh_jctx_index(c, i);
        if ((rc = person_category(c, json_array_get(arr, i), pc)) < 0)
            return rc;
        sh_jctx_pop(c, m2);
    }
    sh_jctx_pop(c, mark);
    return 0;
}

static int person_fill(struct sh_jctx *c, const json_t *v, Sanhe__Person *m, bool check)
{
    uint32_t died = 0;
    int rc = sh_jx_object(c, v);
    if (rc == 0)
        rc = sh_jx_check_keys(c, v, person_keys);
    if (rc < 0 || (rc = person_id(c, v, m, check)) < 0 ||
        (rc = take_string(c, v, "name", SH_NAME_MAX, false, &m->name)) < 0 ||
        (rc = take_string(c, v, "region", SH_CODE_MAX, true, &m->region)) < 0 ||
        (rc = person_enrolled(c, v, m)) < 0 || (rc = person_categories(c, v, m)) < 0 ||
        (rc = take_date(c, v, "died", SH_JX_NULLABLE, &died, &m->died)) < 0)
        return rc;
    return 0;
}

static int person_from_json(const json_t *person, Sanhe__Person **out, struct sh_error *err,
                            bool check)
{
    struct sh_jctx c;
    sh_jctx_init(&c, err, SH_E_BAD_REFERENCE_DATA);
    *out = NULL;
    Sanhe__Person *m = malloc(sizeof *m);
    if (m == NULL)
        return sh_jx_oom(&c);
    sanhe__person__init(m);
    int rc = person_fill(&c, person, m, check);
    if (rc < 0) {
        sanhe__person__free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return 0;
}

int sh_json_to_person(const json_t *person, Sanhe__Person **out, struct sh_error *err)
{
    return person_from_json(person, out, err, true);
}

int sh_json_to_person_unchecked(const json_t *person, Sanhe__Person **out, struct sh_error *err)
{
    return person_from_json(person, out, err, false);
}

/* ---- Hospital ------------------------------------------------------------------ */

static int hospital_funds(struct sh_jctx *c, const json_t *v, Sanhe__Hospital *m)
{
    const json_t *arr = NULL;
    int rc = sh_jx_get(c, v, "funds", 0, &arr);
    if (rc <= 0)
        return rc;
    size_t mark = sh_jctx_key(c, "funds");
    if ((rc = sh_jx_array(c, arr, SH_FUNDS_MAX)) < 0)
        return rc;
    size_t n = json_array_size(arr);
    if (n > 0 && (m->funds = calloc(n, sizeof *m->funds)) == NULL)
        return sh_jx_oom(c);
    for (size_t i = 0; i < n; i++) {
        char id[SH_ID_MAX];
        size_t m2 = sh_jctx_index(c, i);
        if ((rc = sh_jx_string(c, json_array_get(arr, i), id, sizeof id)) < 0)
            return rc;
        if (id[0] == '\0')
            return sh_jx_fail(c, "empty fund id");
        if ((rc = sh_jx_strdup(c, id, &m->funds[i])) < 0)
            return rc;
        m->n_funds = i + 1;
        sh_jctx_pop(c, m2);
    }
    sh_jctx_pop(c, mark);
    return 0;
}

static int hospital_fill(struct sh_jctx *c, const json_t *v, Sanhe__Hospital *m)
{
    int level = 0;
    int rc = sh_jx_object(c, v);
    if (rc == 0)
        rc = sh_jx_check_keys(c, v, hospital_keys);
    if (rc < 0 || (rc = take_string(c, v, "code", SH_CODE_MAX, true, &m->code)) < 0 ||
        (rc = take_string(c, v, "name", SH_NAME_MAX, false, &m->name)) < 0 ||
        (rc = take_string(c, v, "region", SH_CODE_MAX, true, &m->region)) < 0 ||
        (rc = sh_jx_get_enum(c, v, "level", SH_JX_REQUIRED, level_names, &level)) < 0 ||
        (rc = sh_jx_strdup(c, level_names[level], &m->level)) < 0)
        return rc;
    return hospital_funds(c, v, m);
}

int sh_json_to_hospital(const json_t *hospital, Sanhe__Hospital **out, struct sh_error *err)
{
    struct sh_jctx c;
    sh_jctx_init(&c, err, SH_E_BAD_REFERENCE_DATA);
    *out = NULL;
    Sanhe__Hospital *m = malloc(sizeof *m);
    if (m == NULL)
        return sh_jx_oom(&c);
    sanhe__hospital__init(m);
    int rc = hospital_fill(&c, hospital, m);
    if (rc < 0) {
        sanhe__hospital__free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return 0;
}

/* ---- Catalog item ------------------------------------------------------------------ */

static int item_fill(struct sh_jctx *c, const json_t *v, Sanhe__CatalogItem *m)
{
    int cls = 0;
    int64_t selfpay = 0, cap = 0;
    int rc = sh_jx_object(c, v);
    if (rc == 0)
        rc = sh_jx_check_keys(c, v, item_keys);
    if (rc < 0 || (rc = take_string(c, v, "code", SH_ID_MAX, true, &m->code)) < 0 ||
        (rc = take_string(c, v, "name", SH_NAME_MAX, false, &m->name)) < 0 ||
        (rc = sh_jx_get_enum(c, v, "class", SH_JX_REQUIRED, class_names, &cls)) < 0 ||
        (rc = sh_jx_strdup(c, class_names[cls], &m->class_)) < 0)
        return rc;
    /* Optional; null or absent: the policy's share, no cap. */
    if ((rc = sh_jx_get_int(c, v, "selfpay_bp", SH_JX_NULLABLE, 0, 10000, &selfpay)) < 0)
        return rc;
    m->has_selfpay_bp = rc == 1;
    m->selfpay_bp = (int32_t)selfpay;
    if ((rc = sh_jx_get_int(c, v, "price_cap", SH_JX_NULLABLE, 0, SH_MONEY_MAX, &cap)) < 0)
        return rc;
    m->has_price_cap = rc == 1;
    m->price_cap = cap;
    return 0;
}

int sh_json_to_item(const json_t *item, Sanhe__CatalogItem **out, struct sh_error *err)
{
    struct sh_jctx c;
    sh_jctx_init(&c, err, SH_E_BAD_REFERENCE_DATA);
    *out = NULL;
    Sanhe__CatalogItem *m = malloc(sizeof *m);
    if (m == NULL)
        return sh_jx_oom(&c);
    sanhe__catalog_item__init(m);
    int rc = item_fill(&c, item, m);
    if (rc < 0) {
        sanhe__catalog_item__free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return 0;
}
