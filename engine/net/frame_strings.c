/*
 * Strict strings: every string field of a request, at any depth, must be
 * valid UTF-8 without NUL or control characters and within its length
 * (docs/limits.md, "Strings").
 *
 * This looks at the frame's wire bytes, not at the decoded message:
 * protobuf-c hands a string field over as a C string and keeps no length,
 * so "nulA\0one" and "nulA\0two" both decode as "nulA" and would be one
 * idempotency key. The walk follows the message descriptors protobuf-c
 * generated (which field is a string, which a message to descend into) and
 * runs only on a frame that protobuf-c has already decoded, so the wire is
 * well formed; any surprise is still refused, never followed.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "sh_types.h"

#define STRINGS_DEPTH_MAX 12
#define STRING_DEFAULT_MAX 255
#define WALK_PATH_BYTES 160

struct string_rule {
    const char *field;
    size_t max_bytes; /* 0: no limit but the frame's */
    bool whitespace;  /* tab, LF and CR allowed (JSON documents) */
};

/* By field name: ids and codes as the ledger keeps them (SH_CODE_MAX),
 * display names (SH_NAME_MAX), policy documents as large as a frame. */
static const struct string_rule string_rules[] = {
    {"request_id", SH_CODE_MAX - 1, false},
    {"settlement_request_id", SH_CODE_MAX - 1, false},
    {"cancel_of", SH_CODE_MAX - 1, false},
    {"hospital", SH_CODE_MAX - 1, false},
    {"code", SH_CODE_MAX - 1, false},
    {"name", SH_NAME_MAX - 1, false},
    {"policies_json", 0, true},
};

static const struct string_rule *string_rule_of(const char *field)
{
    static const struct string_rule fallback = {"", STRING_DEFAULT_MAX, false};
    for (size_t i = 0; i < sizeof string_rules / sizeof string_rules[0]; i++) {
        /* The first letter tells most names apart without a call. */
        if (string_rules[i].field[0] == field[0] && strcmp(string_rules[i].field, field) == 0)
            return &string_rules[i];
    }
    return &fallback;
}

/* The length of the UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 when it is not valid UTF-8 (overlong forms, surrogates and
 * values past U+10FFFF included). */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    static const uint32_t min_of[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint8_t b = s[0];
    size_t len = b < 0x80             ? 1
                 : (b & 0xe0) == 0xc0 ? 2
                 : (b & 0xf0) == 0xe0 ? 3
                 : (b & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t v = len == 1 ? b : (uint32_t)(b & (0x7f >> len));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (uint32_t)(s[i] & 0x3f);
    }
    if (v < min_of[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static bool char_is_control(uint32_t cp, bool whitespace)
{
    if (whitespace && (cp == '\t' || cp == '\n' || cp == '\r'))
        return false;
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); /* C0, DEL, C1 */
}

/* What is wrong with a string: the detail (docs/errors.md), the byte it
 * is at and the code point (or the length and limit). */
struct string_fault {
    enum sh_detail detail; /* SH_D_NONE: the bytes are acceptable */
    size_t at;             /* byte offset; the length for FIELD_TOO_LONG */
    size_t limit;          /* FIELD_TOO_LONG */
    uint32_t cp;           /* FIELD_CONTROL */
};

static struct string_fault string_fault(const uint8_t *s, size_t n, const struct string_rule *rule)
{
    struct string_fault f = {.detail = SH_D_NONE};
    if (rule->max_bytes > 0 && n > rule->max_bytes)
        return (struct string_fault){SH_D_FIELD_TOO_LONG, n, rule->max_bytes, 0};
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t len = utf8_next(s + i, n - i, &cp);
        if (len == 0)
            return (struct string_fault){SH_D_FIELD_NOT_UTF8, i, 0, 0};
        if (cp == 0)
            return (struct string_fault){SH_D_FIELD_NUL, i, 0, 0};
        if (char_is_control(cp, rule->whitespace))
            return (struct string_fault){SH_D_FIELD_CONTROL, i, 0, cp};
        i += len;
    }
    return f;
}

/* The refusal of a string field at path: message and detail. */
static void string_refuse(struct sh_error *err, const char *path, const struct string_fault *f)
{
    switch (f->detail) {
    case SH_D_FIELD_TOO_LONG:
        sh_error_set(err, SH_E_BAD_REQUEST, "%s is %zu bytes, more than %zu", path, f->at,
                     f->limit);
        sh_error_detail(err, f->detail, "%s" SH_DETAIL_SEP "%zu", path, f->limit);
        break;
    case SH_D_FIELD_NOT_UTF8:
        sh_error_set(err, SH_E_BAD_REQUEST, "%s is not valid UTF-8 (at byte %zu)", path, f->at);
        sh_error_detail(err, f->detail, "%s" SH_DETAIL_SEP "%zu", path, f->at);
        break;
    case SH_D_FIELD_NUL:
        sh_error_set(err, SH_E_BAD_REQUEST, "%s holds a NUL byte (at byte %zu)", path, f->at);
        sh_error_detail(err, f->detail, "%s" SH_DETAIL_SEP "%zu", path, f->at);
        break;
    default:
        assert(f->detail == SH_D_FIELD_CONTROL);
        sh_error_set(err, SH_E_BAD_REQUEST, "%s holds control character U+%04X (at byte %zu)", path,
                     (unsigned)f->cp, f->at);
        sh_error_detail(err, f->detail, "%s" SH_DETAIL_SEP "U+%04X" SH_DETAIL_SEP "%zu", path,
                        (unsigned)f->cp, f->at);
        break;
    }
}

/* The fields from the top down to the one being looked at: the path of a
 * fault ("claim.lines[2].code") is written only when there is one, since
 * nearly every request has none. */
struct strings_walk {
    const ProtobufCFieldDescriptor *fields[STRINGS_DEPTH_MAX + 1];
    uint32_t indexes[STRINGS_DEPTH_MAX + 1];
    unsigned len;
    struct sh_error *err;
    bool *id_echoable;
};

static void walk_push(struct strings_walk *w, const ProtobufCFieldDescriptor *f, uint32_t index)
{
    assert(w->len <= STRINGS_DEPTH_MAX); /* walk_message stops deeper */
    w->fields[w->len] = f;
    w->indexes[w->len] = index;
    w->len++;
}

/* The path as ".name" (or "name" at the top) and, for a repeated field,
 * "[i]", one after another, cut at the buffer's end. */
static const char *walk_path(const struct strings_walk *w, char *path, size_t cap)
{
    path[0] = '\0';
    for (unsigned i = 0; i < w->len; i++) {
        size_t at = strlen(path);
        const ProtobufCFieldDescriptor *f = w->fields[i];
        const char *dot = at > 0 ? "." : "";
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            snprintf(path + at, cap - at, "%s%s[%u]", dot, f->name, w->indexes[i]);
        else
            snprintf(path + at, cap - at, "%s%s", dot, f->name);
    }
    return path;
}

static int walk_message(struct strings_walk *w, const ProtobufCMessageDescriptor *d,
                        const uint8_t *p, const uint8_t *end, unsigned depth);

/* One length-delimited field's value [v, v + n). */
static int walk_value(struct strings_walk *w, const ProtobufCFieldDescriptor *f, uint32_t index,
                      const uint8_t *v, size_t n, unsigned depth)
{
    walk_push(w, f, index);
    int rc = 0;
    char path[WALK_PATH_BYTES];
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const struct string_rule *rule = string_rule_of(f->name);
        struct string_fault fault = string_fault(v, n, rule);
        if (fault.detail != SH_D_NONE) {
            string_refuse(w->err, walk_path(w, path, sizeof path), &fault);
            /* Too long but clean, it can go back to the client as it came. */
            if (depth == 0 && strcmp(f->name, "request_id") == 0)
                *w->id_echoable =
                    fault.detail == SH_D_FIELD_TOO_LONG &&
                    string_fault(v, n, &(struct string_rule){"", 0, false}).detail == SH_D_NONE;
            rc = -1;
        }
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        rc = walk_message(w, f->descriptor, v, v + n, depth + 1);
    }
    w->len--;
    return rc;
}

static int walk_message(struct strings_walk *w, const ProtobufCMessageDescriptor *d,
                        const uint8_t *p, const uint8_t *end, unsigned depth)
{
    char path[WALK_PATH_BYTES];
    if (depth > STRINGS_DEPTH_MAX) {
        walk_path(w, path, sizeof path);
        sh_error_set(w->err, SH_E_BAD_REQUEST, "%s nests too deep", path);
        sh_error_detail(w->err, SH_D_REQUEST_NESTING, "%s", path);
        return -1;
    }
    uint32_t seen[64] = {0}; /* occurrences per field, for the index in a message */
    while (p < end) {
        uint64_t key, n;
        if (!frame_varint_read(&p, end, &key))
            goto malformed;
        unsigned type = (unsigned)(key & 7);
        if (type != 2) {
            if (!frame_field_skip(&p, end, type))
                goto malformed;
            continue;
        }
        if (!frame_varint_read(&p, end, &n) || n > (uint64_t)(end - p))
            goto malformed;
        const ProtobufCFieldDescriptor *f =
            key >> 3 <= UINT32_MAX
                ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
                : NULL;
        if (f != NULL) {
            size_t slot = (size_t)(f - d->fields);
            uint32_t index = slot < 64 ? seen[slot]++ : 0;
            if (walk_value(w, f, index, p, (size_t)n, depth) != 0)
                return -1;
        }
        p += n;
    }
    return 0;
malformed:
    walk_path(w, path, sizeof path);
    sh_error_set(w->err, SH_E_BAD_REQUEST, "%s%sdoes not decode", path, path[0] ? " " : "");
    sh_error_detail(w->err, SH_D_FIELD_INVALID, "%s", path[0] ? path : "request");
    return -1;
}

int frame_strings_check(const uint8_t *body, size_t len, struct sh_error *err, bool *id_echoable)
{
    *id_echoable = true;
    *err = (struct sh_error){0};
    struct strings_walk w = {.len = 0, .err = err, .id_echoable = id_echoable};
    int rc = walk_message(&w, &sanhe__request__descriptor, body, body + len, 0);
    assert(rc == 0 || (err->code == SH_E_BAD_REQUEST && err->detail != SH_D_NONE));
    return rc;
}
