#include "sh_error.h"

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
    }
    return code;
}
