/* JSON paths and strict typed readers shared by the adapters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sh_date.h"
#include "sh_json_internal.h"

/* Path segments taken from the document are clipped to this many bytes. */
#define SH_JPATH_KEY_MAX 40

void sh_jctx_init(struct sh_jctx *c, struct sh_error *err, int code)
{
    c->err = err;
    c->code = code;
    c->len = 0;
    c->path[0] = '\0';
}

/* A UTF-8 continuation byte (10xxxxxx): never cut just before one. */
static bool utf8_cont(unsigned char b) { return (b & 0xC0) == 0x80; }

void sh_jx_clip(const char *s, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = strlen(s);
    if (n < cap) {
        memcpy(out, s, n + 1);
        return;
    }
    /* Room for the text and "..." when it can hold both. */
    size_t keep = cap >= 4 ? cap - 4 : cap - 1;
    while (keep > 0 && utf8_cont((unsigned char)s[keep]))
        keep--;
    memcpy(out, s, keep);
    if (cap >= 4)
        memcpy(out + keep, "...", 3), keep += 3;
    out[keep] = '\0';
}

/* Appends text to the path; a path that would overflow ends in "..." once. */
static void path_append(struct sh_jctx *c, const char *text)
{
    size_t room = sizeof c->path - c->len;
    if (room <= 1)
        return;
    sh_jx_clip(text, c->path + c->len, room);
    c->len += strlen(c->path + c->len);
}

size_t sh_jctx_key(struct sh_jctx *c, const char *key)
{
    size_t mark = c->len;
    char seg[SH_JPATH_KEY_MAX + 2];
    seg[0] = '.';
    sh_jx_clip(key, seg + 1, sizeof seg - 1);
    path_append(c, c->len == 0 ? seg + 1 : seg);
    return mark;
}

size_t sh_jctx_index(struct sh_jctx *c, size_t i)
{
    size_t mark = c->len;
    char seg[32];
    snprintf(seg, sizeof seg, "[%zu]", i);
    path_append(c, seg);
    return mark;
}

void sh_jctx_pop(struct sh_jctx *c, size_t mark)
{
    if (mark <= c->len) {
        c->len = mark;
        c->path[mark] = '\0';
    }
}

int sh_jx_fail(struct sh_jctx *c, const char *fmt, ...)
{
    char detail[SH_ERROR_MSG_MAX];
    char full[SH_JPATH_MAX + SH_ERROR_MSG_MAX + 2];
    char msg[SH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (c->len > 0)
        snprintf(full, sizeof full, "%s: %s", c->path, detail);
    else
        snprintf(full, sizeof full, "%s", detail);
    /* The message may travel as a protobuf or JSON string: keep it UTF-8. */
    sh_jx_clip(full, msg, sizeof msg);
    return sh_error_set(c->err, c->code, "%s", msg);
}

int sh_jx_oom(struct sh_jctx *c) { return sh_error_set(c->err, SH_E_INTERNAL, "out of memory"); }

const char *sh_jx_cstr(const json_t *v)
{
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) != json_string_length(v))
        return NULL;
    return s;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

int sh_jx_check_keys(struct sh_jctx *c, const json_t *obj, const char *const *allowed)
{
    for (void *it = json_object_iter((json_t *)obj); it != NULL;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        if (strlen(key) != json_object_iter_key_len(it) || !in_list(key, allowed)) {
            char shown[SH_JPATH_KEY_MAX];
            sh_jx_clip(key, shown, sizeof shown);
            return sh_jx_fail(c, "unknown key \"%s\"", shown);
        }
    }
    return 0;
}

int sh_jx_object(struct sh_jctx *c, const json_t *v)
{
    if (!json_is_object(v))
        return sh_jx_fail(c, "%s where an object is expected", json_type_name(v));
    return 0;
}

int sh_jx_array(struct sh_jctx *c, const json_t *v, size_t max)
{
    if (!json_is_array(v))
        return sh_jx_fail(c, "%s where an array is expected", json_type_name(v));
    if (json_array_size(v) > max)
        return sh_jx_fail(c, "%zu entries, more than the limit of %zu", json_array_size(v), max);
    return 0;
}

int sh_jx_string(struct sh_jctx *c, const json_t *v, char *out, size_t cap)
{
    if (!json_is_string(v))
        return sh_jx_fail(c, "%s where a string is expected", json_type_name(v));
    const char *s = sh_jx_cstr(v);
    if (s == NULL)
        return sh_jx_fail(c, "the string holds a NUL character");
    size_t n = strlen(s);
    if (n >= cap)
        return sh_jx_fail(c, "%zu bytes, longer than the limit of %zu", n, cap - 1);
    memcpy(out, s, n + 1);
    return 1;
}

int sh_jx_int(struct sh_jctx *c, const json_t *v, int64_t min, int64_t max, int64_t *out)
{
    if (!json_is_integer(v))
        return sh_jx_fail(c, "%s where an integer is expected", json_type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return sh_jx_fail(c, "%lld out of range %lld..%lld", (long long)x, (long long)min,
                          (long long)max);
    *out = (int64_t)x;
    return 1;
}

int sh_jx_enum(struct sh_jctx *c, const json_t *v, const char *const *names, int *out)
{
    if (!json_is_string(v))
        return sh_jx_fail(c, "%s where a string is expected", json_type_name(v));
    const char *s = sh_jx_cstr(v);
    for (int i = 0; s != NULL && names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 1;
        }
    }
    char shown[SH_JPATH_KEY_MAX];
    sh_jx_clip(s != NULL ? s : "", shown, sizeof shown);
    return sh_jx_fail(c, "unknown value \"%s\"", shown);
}

int sh_jx_date(struct sh_jctx *c, const json_t *v, uint32_t *out)
{
    if (!json_is_string(v))
        return sh_jx_fail(c, "%s where a date is expected", json_type_name(v));
    uint32_t d = sh_date_parse(sh_jx_cstr(v));
    if (d == 0) {
        char shown[SH_JPATH_KEY_MAX];
        sh_jx_clip(sh_jx_cstr(v) != NULL ? sh_jx_cstr(v) : "", shown, sizeof shown);
        return sh_jx_fail(c, "\"%s\" is not a valid YYYY-MM-DD date", shown);
    }
    *out = d;
    return 1;
}

int sh_jx_get(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
              const json_t **out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || (json_is_null(v) && (flags & SH_JX_NULLABLE))) {
        if (v == NULL && (flags & SH_JX_REQUIRED)) {
            size_t mark = sh_jctx_key(c, key);
            int rc = sh_jx_fail(c, "missing");
            sh_jctx_pop(c, mark);
            return rc;
        }
        return 0;
    }
    *out = v;
    return 1;
}

int sh_jx_get_string(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                     char *out, size_t cap)
{
    const json_t *v = NULL;
    int rc = sh_jx_get(c, obj, key, flags, &v);
    if (rc <= 0)
        return rc;
    size_t mark = sh_jctx_key(c, key);
    rc = sh_jx_string(c, v, out, cap);
    if (rc >= 0)
        sh_jctx_pop(c, mark);
    return rc;
}

int sh_jx_get_int(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                  int64_t min, int64_t max, int64_t *out)
{
    const json_t *v = NULL;
    int rc = sh_jx_get(c, obj, key, flags, &v);
    if (rc <= 0)
        return rc;
    size_t mark = sh_jctx_key(c, key);
    rc = sh_jx_int(c, v, min, max, out);
    if (rc >= 0)
        sh_jctx_pop(c, mark);
    return rc;
}

int sh_jx_get_enum(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                   const char *const *names, int *out)
{
    const json_t *v = NULL;
    int rc = sh_jx_get(c, obj, key, flags, &v);
    if (rc <= 0)
        return rc;
    size_t mark = sh_jctx_key(c, key);
    rc = sh_jx_enum(c, v, names, out);
    if (rc >= 0)
        sh_jctx_pop(c, mark);
    return rc;
}

int sh_jx_get_date(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                   uint32_t *out)
{
    const json_t *v = NULL;
    int rc = sh_jx_get(c, obj, key, flags, &v);
    if (rc <= 0)
        return rc;
    size_t mark = sh_jctx_key(c, key);
    rc = sh_jx_date(c, v, out);
    if (rc >= 0)
        sh_jctx_pop(c, mark);
    return rc;
}

int sh_jx_strdup(struct sh_jctx *c, const char *s, char **out)
{
    *out = strdup(s);
    return *out != NULL ? 0 : sh_jx_oom(c);
}
