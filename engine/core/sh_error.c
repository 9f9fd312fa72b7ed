#include "sh_error.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *name;
} error_names[] = {
    {SH_OK, "OK"},
    {SH_E_BAD_CLAIM, "BAD_CLAIM"},
    {SH_E_BAD_PERSON_ID, "BAD_PERSON_ID"},
    {SH_E_UNKNOWN_HOSPITAL, "UNKNOWN_HOSPITAL"},
    {SH_E_UNKNOWN_PERSON, "UNKNOWN_PERSON"},
    {SH_E_PERSON_DECEASED, "PERSON_DECEASED"},
    {SH_E_NO_POLICY, "NO_POLICY"},
    {SH_E_UNKNOWN_ITEM, "UNKNOWN_ITEM"},
    {SH_E_NOT_FOUND, "NOT_FOUND"},
    {SH_E_ALREADY_REVERSED, "ALREADY_REVERSED"},
    {SH_E_FORBIDDEN, "FORBIDDEN"},
    {SH_E_REQUEST_ID_REUSED, "REQUEST_ID_REUSED"},
    {SH_E_BAD_REQUEST, "BAD_REQUEST"},
    {SH_E_BAD_FRAME, "BAD_FRAME"},
    {SH_E_FRAME_TOO_LARGE, "FRAME_TOO_LARGE"},
    {SH_E_LIMIT_EXCEEDED, "LIMIT_EXCEEDED"},
    {SH_E_BAD_REFERENCE_DATA, "BAD_REFERENCE_DATA"},
    {SH_E_STORAGE_FULL, "STORAGE_FULL"},
    {SH_E_UNAVAILABLE, "UNAVAILABLE"},
    {SH_E_INTERNAL, "INTERNAL"},
    {SH_E_TIMEOUT, "TIMEOUT"},
    {SH_E_IMPORT_REFUSED, "IMPORT_REFUSED"},
    {SH_E_IMPORT_TOO_MANY_EXITS, "IMPORT_TOO_MANY_EXITS"},
    {SH_E_IMPORT_NO_SESSION, "IMPORT_NO_SESSION"},
    {SH_E_LOOKUP_RATE_EXCEEDED, "LOOKUP_RATE_EXCEEDED"},
    {SH_E_QUOTA_EXCEEDED, "QUOTA_EXCEEDED"},
    {SH_E_CLAIM_TOO_LARGE, "CLAIM_TOO_LARGE"},
};

#define ERROR_NAME_COUNT (sizeof error_names / sizeof error_names[0])

const char *sh_error_name(int code)
{
    for (size_t i = 0; i < ERROR_NAME_COUNT; i++)
        if (error_names[i].code == code)
            return error_names[i].name;
    return "UNKNOWN_ERROR";
}

int sh_error_from_name(const char *name)
{
    for (size_t i = 1; i < ERROR_NAME_COUNT; i++)
        if (strcmp(error_names[i].name, name) == 0)
            return error_names[i].code;
    return 0;
}

int sh_error_set(struct sh_error *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->detail = SH_D_NONE;
        err->argc = 0;
    }
    return code;
}

int sh_error_detail(struct sh_error *err, enum sh_detail detail, const char *fmt, ...)
{
    if (err == NULL)
        return 0;
    assert(err->code < 0 && detail > SH_D_NONE && detail < SH_D_COUNT);
    char all[SH_DETAIL_ARGS_MAX * SH_DETAIL_ARG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(all, sizeof all, fmt, ap);
    va_end(ap);
    err->detail = detail;
    err->argc = 0;
    if (n < 0)
        return err->code;
    /* An empty format means no argument; otherwise one more than the separators. */
    for (const char *a = all; all[0] != '\0' && err->argc < SH_DETAIL_ARGS_MAX;) {
        size_t len = strcspn(a, SH_DETAIL_SEP);
        snprintf(err->args[err->argc++], SH_DETAIL_ARG_MAX, "%.*s", (int)len, a);
        if (a[len] == '\0')
            break;
        a += len + 1;
    }
    return err->code;
}

static const char *const detail_names[SH_D_COUNT] = {
    [SH_D_NONE] = "DETAIL_NONE",
    [SH_D_LINE_AMOUNT_FRACTION] = "DETAIL_LINE_AMOUNT_FRACTION",
    [SH_D_LINE_QTY_PRECISION] = "DETAIL_LINE_QTY_PRECISION",
    [SH_D_LINE_NOT_A_NUMBER] = "DETAIL_LINE_NOT_A_NUMBER",
    [SH_D_LINE_AMOUNT_NOT_POSITIVE] = "DETAIL_LINE_AMOUNT_NOT_POSITIVE",
    [SH_D_LINE_AMOUNT_OVER_LIMIT] = "DETAIL_LINE_AMOUNT_OVER_LIMIT",
    [SH_D_LINE_QTY_NOT_POSITIVE] = "DETAIL_LINE_QTY_NOT_POSITIVE",
    [SH_D_LINE_UNKNOWN_ITEM] = "DETAIL_LINE_UNKNOWN_ITEM",
    [SH_D_CLAIM_NO_LINES] = "DETAIL_CLAIM_NO_LINES",
    [SH_D_CLAIM_TOO_MANY_LINES] = "DETAIL_CLAIM_TOO_MANY_LINES",
    [SH_D_CLAIM_VISIT] = "DETAIL_CLAIM_VISIT",
    [SH_D_CLAIM_DATE] = "DETAIL_CLAIM_DATE",
    [SH_D_PERSON_ID_LENGTH] = "DETAIL_PERSON_ID_LENGTH",
    [SH_D_PERSON_ID_CHECK] = "DETAIL_PERSON_ID_CHECK",
    [SH_D_HOSPITAL_UNKNOWN] = "DETAIL_HOSPITAL_UNKNOWN",
    [SH_D_PERSON_UNKNOWN] = "DETAIL_PERSON_UNKNOWN",
    [SH_D_PERSON_DIED] = "DETAIL_PERSON_DIED",
    [SH_D_NO_POLICY] = "DETAIL_NO_POLICY",
    [SH_D_OTHER_HOSPITAL] = "DETAIL_OTHER_HOSPITAL",
    [SH_D_ROLE] = "DETAIL_ROLE",
    [SH_D_FIELD_MISSING] = "DETAIL_FIELD_MISSING",
    [SH_D_FIELD_TOO_LONG] = "DETAIL_FIELD_TOO_LONG",
    [SH_D_FIELD_INVALID] = "DETAIL_FIELD_INVALID",
    [SH_D_REQUEST_ID_REUSED] = "DETAIL_REQUEST_ID_REUSED",
    [SH_D_REQUEST_CANCELLED] = "DETAIL_REQUEST_CANCELLED",
    [SH_D_ALREADY_REVERSED] = "DETAIL_ALREADY_REVERSED",
    [SH_D_SETTLEMENT_NOT_FOUND] = "DETAIL_SETTLEMENT_NOT_FOUND",
    [SH_D_REQUEST_NOT_FOUND] = "DETAIL_REQUEST_NOT_FOUND",
    [SH_D_SETTLEMENT_OTHER_HOSPITAL] = "DETAIL_SETTLEMENT_OTHER_HOSPITAL",
    [SH_D_ACCUMULATORS_LIMIT] = "DETAIL_ACCUMULATORS_LIMIT",
    [SH_D_REQUEST_TOO_LARGE] = "DETAIL_REQUEST_TOO_LARGE",
    [SH_D_STORAGE_FULL] = "DETAIL_STORAGE_FULL",
    [SH_D_FIELD_NOT_UTF8] = "DETAIL_FIELD_NOT_UTF8",
    [SH_D_FIELD_NUL] = "DETAIL_FIELD_NUL",
    [SH_D_FIELD_CONTROL] = "DETAIL_FIELD_CONTROL",
    [SH_D_REQUEST_NESTING] = "DETAIL_REQUEST_NESTING",
    [SH_D_IMPORT_NO_SESSION] = "DETAIL_IMPORT_NO_SESSION",
    [SH_D_IMPORT_LINE_PERSON_UNKNOWN] = "DETAIL_IMPORT_LINE_PERSON_UNKNOWN",
    [SH_D_IMPORT_LINE_SPANS] = "DETAIL_IMPORT_LINE_SPANS",
    [SH_D_IMPORT_LINE_INVALID] = "DETAIL_IMPORT_LINE_INVALID",
    [SH_D_IMPORT_TOO_MANY_EXITS] = "DETAIL_IMPORT_TOO_MANY_EXITS",
    [SH_D_IMPORT_ROWS_REFUSED] = "DETAIL_IMPORT_ROWS_REFUSED",
    [SH_D_IMPORT_ROWS_MISSING] = "DETAIL_IMPORT_ROWS_MISSING",
    [SH_D_IMPORT_HALF_APPLIED] = "DETAIL_IMPORT_HALF_APPLIED",
    [SH_D_IMPORT_TOO_MANY_ROWS] = "DETAIL_IMPORT_TOO_MANY_ROWS",
    [SH_D_IMPORT_SESSIONS_LIMIT] = "DETAIL_IMPORT_SESSIONS_LIMIT",
    [SH_D_IMPORT_CHUNK_ORDER] = "DETAIL_IMPORT_CHUNK_ORDER",
    [SH_D_RECONCILE_OWN_HOSPITAL] = "DETAIL_RECONCILE_OWN_HOSPITAL",
};

const char *sh_detail_name(int detail)
{
    return detail >= 0 && detail < SH_D_COUNT ? detail_names[detail] : NULL;
}
