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
    /* A hospital past a daily write quota; a claim over its visit type's
     * line limit (docs/limits.md#write-quotas). */
    SH_E_QUOTA_EXCEEDED = -36,
    SH_E_CLAIM_TOO_LARGE = -37,
};

#define SH_ERROR_MSG_MAX 256

/* What a refusal is about, for a client to word it in its own language
 * (sanhe.ErrorDetail in proto/sanhe.proto, the same names and numbers; kept
 * in step by tests/unit/test_error_codes.c). Each takes the arguments
 * listed, in that order, each a short string (docs/errors.md). */
enum sh_detail {
    SH_D_NONE = 0,
    SH_D_LINE_AMOUNT_FRACTION = 1,        /* line number, item code */
    SH_D_LINE_QTY_PRECISION = 2,          /* line number, item code */
    SH_D_LINE_NOT_A_NUMBER = 3,           /* line number, item code */
    SH_D_LINE_AMOUNT_NOT_POSITIVE = 4,    /* line number, item code, amount (fen) */
    SH_D_LINE_AMOUNT_OVER_LIMIT = 5,      /* line number, item code, amount, limit (fen) */
    SH_D_LINE_QTY_NOT_POSITIVE = 6,       /* line number, item code, qty */
    SH_D_LINE_UNKNOWN_ITEM = 7,           /* line number, item code */
    SH_D_CLAIM_NO_LINES = 8,              /* (none) */
    SH_D_CLAIM_TOO_MANY_LINES = 9,        /* line count, limit */
    SH_D_CLAIM_VISIT = 10,                /* (none) */
    SH_D_CLAIM_DATE = 11,                 /* (none) */
    SH_D_PERSON_ID_LENGTH = 12,           /* length */
    SH_D_PERSON_ID_CHECK = 13,            /* masked resident ID */
    SH_D_HOSPITAL_UNKNOWN = 14,           /* hospital code */
    SH_D_PERSON_UNKNOWN = 15,             /* masked resident ID */
    SH_D_PERSON_DIED = 16,                /* masked resident ID, date of death, claim date */
    SH_D_NO_POLICY = 17,                  /* region, date */
    SH_D_OTHER_HOSPITAL = 18,             /* the claim's hospital, the terminal's */
    SH_D_ROLE = 19,                       /* operation, role */
    SH_D_FIELD_MISSING = 20,              /* field */
    SH_D_FIELD_TOO_LONG = 21,             /* field, limit (bytes) */
    SH_D_FIELD_INVALID = 22,              /* field */
    SH_D_REQUEST_ID_REUSED = 23,          /* request id, first use (settle, reverse, cancel) */
    SH_D_REQUEST_CANCELLED = 24,          /* request id */
    SH_D_ALREADY_REVERSED = 25,           /* settlement id, reversal's request id */
    SH_D_SETTLEMENT_NOT_FOUND = 26,       /* settlement id */
    SH_D_REQUEST_NOT_FOUND = 27,          /* request id, hospital */
    SH_D_SETTLEMENT_OTHER_HOSPITAL = 28,  /* settlement id, the terminal's hospital */
    SH_D_ACCUMULATORS_LIMIT = 29,         /* limit */
    SH_D_REQUEST_TOO_LARGE = 30,          /* (none) */
    SH_D_STORAGE_FULL = 31,               /* limit (MiB) */
    SH_D_FIELD_NOT_UTF8 = 32,             /* field, byte offset */
    SH_D_FIELD_NUL = 33,                  /* field, byte offset */
    SH_D_FIELD_CONTROL = 34,              /* field, code point (U+0007), byte offset */
    SH_D_REQUEST_NESTING = 35,            /* field path */
    SH_D_IMPORT_NO_SESSION = 36,          /* session id */
    SH_D_IMPORT_LINE_PERSON_UNKNOWN = 37, /* line, masked resident ID */
    SH_D_IMPORT_LINE_SPANS = 38,          /* line, masked resident ID, limit */
    SH_D_IMPORT_LINE_INVALID = 39,        /* line */
    SH_D_IMPORT_TOO_MANY_EXITS = 40,      /* spans ended, open spans, fund, limit (percent) */
    SH_D_IMPORT_ROWS_REFUSED = 41,        /* import id, rows refused */
    SH_D_IMPORT_ROWS_MISSING = 42,        /* import id, rows in the file, rows arrived */
    SH_D_IMPORT_HALF_APPLIED = 43,        /* import id */
    SH_D_IMPORT_TOO_MANY_ROWS = 44,       /* limit */
    SH_D_IMPORT_SESSIONS_LIMIT = 45,      /* limit */
    SH_D_IMPORT_CHUNK_ORDER = 46,         /* chunk expected, chunk sent */
    SH_D_RECONCILE_OWN_HOSPITAL = 47,     /* the terminal's hospital */
    SH_D_COUNT
};

#define SH_DETAIL_ARGS_MAX 4 /* arguments of one detail */
#define SH_DETAIL_ARG_MAX 64 /* bytes of one, NUL included; longer ones are cut */
#define SH_DETAIL_SEP "\037" /* between arguments in sh_error_detail's format */

/* A code and a message that names the offending line, field or value; for
 * the refusals a terminal meets, also a detail and its arguments. */
struct sh_error {
    int code;
    char msg[SH_ERROR_MSG_MAX];
    int detail; /* enum sh_detail; SH_D_NONE when there is none */
    unsigned argc;
    char args[SH_DETAIL_ARGS_MAX][SH_DETAIL_ARG_MAX];
};

/* The code's name as in docs/rules.md ("BAD_CLAIM"); "UNKNOWN_ERROR" for others. */
const char *sh_error_name(int code);

/* The code for a name, or 0 when the name is unknown. */
int sh_error_from_name(const char *name);

/* Sets err (when not NULL), with no detail, and returns code, so callers
 * can write `return sh_error_set(err, SH_E_BAD_CLAIM, "line %u: ...", i);`. */
int sh_error_set(struct sh_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a detail to the error sh_error_set just set (when err is not NULL),
 * and returns its code: the arguments are fmt's output, split at
 * SH_DETAIL_SEP, as in
 * `sh_error_detail(err, SH_D_LINE_UNKNOWN_ITEM, "%u" SH_DETAIL_SEP "%s", n, code)`. */
int sh_error_detail(struct sh_error *err, enum sh_detail detail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The detail's wire name ("DETAIL_NO_POLICY"); NULL for others. */
const char *sh_detail_name(int detail);

static inline int sh_error_wire(int code) { return -code; }

#endif
