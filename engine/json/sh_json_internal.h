/*
 * Internals of the JSON adapters (not installed, not for callers): a JSON
 * path that follows the walk so that every refusal names the offending
 * value ("funds[1].rules.dibao.inpatient.bands[0].upto: ..."), and strict
 * readers of typed values built on it.
 *
 * Every reader returns 1 when it stored a value, 0 when an optional value is
 * absent (or null where null is allowed), or a negative SH_E_* code with the
 * error set. On error the path is left as it was at the fault; the caller
 * just returns the code.
 */
#ifndef SH_JSON_INTERNAL_H
#define SH_JSON_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sh_error.h"

#define SH_JPATH_MAX 160

/* Flags of the sh_jx_get_* readers. */
#define SH_JX_REQUIRED 1u /* absent is an error */
#define SH_JX_NULLABLE 2u /* null is allowed and means absent */

struct sh_jctx {
    struct sh_error *err;
    int code;   /* the code every refusal carries (BAD_REFERENCE_DATA, ...) */
    size_t len; /* of path */
    char path[SH_JPATH_MAX];
};

void sh_jctx_init(struct sh_jctx *c, struct sh_error *err, int code);

/* Append ".key" (or "key" at the root) or "[i]" to the path; each returns
 * the length before, to give back to sh_jctx_pop. A long key is clipped
 * (at a UTF-8 boundary, with "...") so that the message stays readable. */
size_t sh_jctx_key(struct sh_jctx *c, const char *key);
size_t sh_jctx_index(struct sh_jctx *c, size_t i);
void sh_jctx_pop(struct sh_jctx *c, size_t mark);

/* Sets the error to "path: detail" (just "detail" at the root) and returns
 * c->code. The message is cut, if it must be, at a UTF-8 boundary. */
int sh_jx_fail(struct sh_jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sh_jx_oom(struct sh_jctx *c);

/* Copies at most cap-1 bytes of s into out, never splitting a UTF-8
 * sequence, and appends "..." when it had to cut (cap >= 4). */
void sh_jx_clip(const char *s, char *out, size_t cap);

/* The string of v when v is a string without an embedded NUL, else NULL. */
const char *sh_jx_cstr(const json_t *v);

/* Refuses a key of obj not in allowed (a NULL-terminated list). */
int sh_jx_check_keys(struct sh_jctx *c, const json_t *obj, const char *const *allowed);

/* Refuses anything but an object; the same for arrays (with at most max
 * elements: more is refused, never truncated). */
int sh_jx_object(struct sh_jctx *c, const json_t *v);
int sh_jx_array(struct sh_jctx *c, const json_t *v, size_t max);

/* Readers of a value at the current path. */
int sh_jx_string(struct sh_jctx *c, const json_t *v, char *out, size_t cap);
int sh_jx_int(struct sh_jctx *c, const json_t *v, int64_t min, int64_t max, int64_t *out);
/* One of names (NULL-terminated); *out is its index. */
int sh_jx_enum(struct sh_jctx *c, const json_t *v, const char *const *names, int *out);
/* A "YYYY-MM-DD" calendar day as yyyymmdd. */
int sh_jx_date(struct sh_jctx *c, const json_t *v, uint32_t *out);

/* The same by key of an object, with the key on the path while reading. */
int sh_jx_get_string(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                     char *out, size_t cap);
int sh_jx_get_int(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                  int64_t min, int64_t max, int64_t *out);
int sh_jx_get_enum(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                   const char *const *names, int *out);
int sh_jx_get_date(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
                   uint32_t *out);

/* The value at key: 1 and *out when present (not null, unless nullable
 * is off, in which case null is returned as a value), 0 when absent. */
int sh_jx_get(struct sh_jctx *c, const json_t *obj, const char *key, unsigned flags,
              const json_t **out);

/* A malloc'ed copy of s for a protobuf string field (SH_E_INTERNAL on no
 * memory). */
int sh_jx_strdup(struct sh_jctx *c, const char *s, char **out);

#endif
