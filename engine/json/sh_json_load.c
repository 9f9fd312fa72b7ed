#include "sh_json_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sh_json.h"

void sh_json_load_free(Sanhe__LoadRequest *m)
{
    for (size_t i = 0; i < m->n_persons; i++)
        sanhe__person__free_unpacked(m->persons[i], NULL);
    for (size_t i = 0; i < m->n_hospitals; i++)
        sanhe__hospital__free_unpacked(m->hospitals[i], NULL);
    for (size_t i = 0; i < m->n_items; i++)
        sanhe__catalog_item__free_unpacked(m->items[i], NULL);
    for (size_t i = 0; i < m->n_policies_json; i++)
        free(m->policies_json[i]);
    for (size_t i = 0; i < m->n_terminals; i++) {
        free(m->terminals[i]->name);
        free(m->terminals[i]->hospital);
        free(m->terminals[i]->role);
        free(m->terminals[i]);
    }
    free(m->persons);
    free(m->hospitals);
    free(m->items);
    free(m->policies_json);
    free(m->terminals);
    sanhe__load_request__init(m);
}

typedef int (*convert_fn)(const json_t *in, void **out, struct sh_error *err);

/* Converts each element of doc[key] with fn into a freshly allocated array. */
static int convert_array(const json_t *doc, const char *key, convert_fn fn, void ***out,
                         size_t *count, struct sh_error *err)
{
    const json_t *arr = json_object_get(doc, key);
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA, "%s: not an array", key);
    *out = calloc(json_array_size(arr) + 1, sizeof **out);
    if (*out == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        int rc = fn(json_array_get(arr, i), &(*out)[*count], err);
        if (rc < 0) {
            char msg[SH_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return sh_error_set(err, rc, "%s[%zu]: %s", key, i, msg);
        }
        (*count)++;
    }
    return 0;
}

static int policy_to_text(const json_t *policy, void **out, struct sh_error *err)
{
    if (!json_is_object(policy))
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA, "not an object");
    *out = json_dumps(policy, JSON_COMPACT | JSON_PRESERVE_ORDER);
    return *out != NULL ? 0 : sh_error_set(err, SH_E_INTERNAL, "out of memory");
}

static char *dup_field(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    char *copy = s != NULL ? malloc(strlen(s) + 1) : NULL;
    if (copy != NULL)
        memcpy(copy, s, strlen(s) + 1);
    return copy;
}

static int terminal_from_json(const json_t *t, void **out, struct sh_error *err)
{
    Sanhe__Terminal *m = calloc(1, sizeof *m);
    if (m == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    sanhe__terminal__init(m);
    m->name = dup_field(t, "name");
    m->hospital = dup_field(t, "hospital");
    m->role = dup_field(t, "role");
    const json_t *rate = json_object_get(t, "lookups_per_minute");
    if (rate != NULL && (!json_is_integer(rate) || json_integer_value(rate) < 0 ||
                         json_integer_value(rate) > (1 << 24))) {
        free(m->name);
        free(m->hospital);
        free(m->role);
        free(m);
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA,
                            "a terminal's lookups_per_minute is an integer in [0, 16777216]");
    }
    m->has_lookups_per_minute = rate != NULL;
    m->lookups_per_minute = rate != NULL ? (uint32_t)json_integer_value(rate) : 0;
    if (m->name == NULL || m->role == NULL) {
        /* Not counted in the array (convert_array), so not freed with it. */
        free(m->name);
        free(m->hospital);
        free(m->role);
        free(m);
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA, "a terminal needs a name and a role");
    }
    *out = m;
    return 0;
}

int sh_json_to_load(const json_t *doc, Sanhe__LoadRequest *m, struct sh_error *err)
{
    sanhe__load_request__init(m);
    if (!json_is_object(doc))
        return sh_error_set(err, SH_E_BAD_REFERENCE_DATA, "the document is not an object");
    int rc = convert_array(doc, "policies", policy_to_text, (void ***)&m->policies_json,
                           &m->n_policies_json, err);
    if (rc == 0)
        rc = convert_array(doc, "hospitals", (convert_fn)sh_json_to_hospital,
                           (void ***)&m->hospitals, &m->n_hospitals, err);
    if (rc == 0)
        rc = convert_array(doc, "catalog", (convert_fn)sh_json_to_item, (void ***)&m->items,
                           &m->n_items, err);
    if (rc == 0)
        rc = convert_array(doc, "persons", (convert_fn)sh_json_to_person, (void ***)&m->persons,
                           &m->n_persons, err);
    if (rc == 0)
        rc = convert_array(doc, "terminals", terminal_from_json, (void ***)&m->terminals,
                           &m->n_terminals, err);
    return rc;
}
