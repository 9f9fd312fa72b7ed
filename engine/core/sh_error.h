/*
 * Error codes. Functions return 0 or a negative SH_E_* code; the wire code
 * (sanhe.ErrorCode in proto/sanhe.proto) is its negation:
 * sh_error_wire(SH_E_BAD_CLAIM) == SANHE__ERROR_CODE__BAD_CLAIM. The two
 * lists are kept in step by tests/unit/test_error_codes.c, which compares
 * every name and value of the generated enum with this table, both ways: a
 * code added on one side only fails it. Meanings: docs/errors.md.
 */
#ifndef SH_ERROR_H
#define SH_ERROR_H

#include <stdarg.h>
#include <stddef.h>

/* The project's assertions are always on (CMakeLists.txt takes NDEBUG out of
 * every build type): an assert() that failed in service must stop the engine
 * before it writes a wrong figure. Every engine source includes this header,
 * so a build that defines NDEBUG anyway stops here rather than silently
 * dropping them. */
#ifdef NDEBUG
#error "sanhe keeps assert() on in every build: do not define NDEBUG"
#endif

enum sh_err {
    SH_OK = 0,
    SH_E_BAD_CLAIM = -1,
    SH_E_BAD_PERSON_ID = -2,
    SH_E_UNKNOWN_HOSPITAL = -3,
    SH_E_UNKNOWN_PERSON = -4,
    SH_E_PERSON_DECEASED = -5,
    SH_E_NO_POLICY = -6,
    SH_E_UNKNOWN_ITEM = -7,
    SH_E_NOT_FOUND = -8,
    SH_E_ALREADY_REVERSED = -9,
    SH_E_FORBIDDEN = -10,
    SH_E_REQUEST_ID_REUSED = -11,
    SH_E_BAD_REQUEST = -20,
    SH_E_BAD_FRAME = -21,
    SH_E_FRAME_TOO_LARGE = -22,
    SH_E_LIMIT_EXCEEDED = -23,
    SH_E_BAD_REFERENCE_DATA = -24,
    SH_E_STORAGE_FULL = -25,
    SH_E_UNAVAILABLE = -26,
    SH_E_INTERNAL = -27,
    SH_E_TIMEOUT = -28,
    /* Roster imports (docs/rosters.md). */
    SH_E_IMPORT_REFUSED = -30,
    SH_E_IMPORT_TOO_MANY_EXITS = -31,
    SH_E_IMPORT_NO_SESSION = -32,
    /* A terminal past its person-lookup rate (docs/limits.md). */
    SH_E_LOOKUP_RATE_EXCEEDED = -35,
};

#define SH_ERROR_MSG_MAX 256

/* A code and a message that names the offending line, field or value. */
struct sh_error {
    int code;
    char msg[SH_ERROR_MSG_MAX];
};

/* The code's name as in docs/rules.md ("BAD_CLAIM"); "UNKNOWN_ERROR" for others. */
const char *sh_error_name(int code);

/* The code for a name, or 0 when the name is unknown. */
int sh_error_from_name(const char *name);

/* Sets err (when not NULL) and returns code, so callers can write
 * `return sh_error_set(err, SH_E_BAD_CLAIM, "line %u: ...", i);`. */
int sh_error_set(struct sh_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int sh_error_wire(int code) { return -code; }

#endif
