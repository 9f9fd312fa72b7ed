#include "lg_util.h"

#include <errno.h>
#include <stdlib.h>

bool lg_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false; /* no sign, no space: strtoull would accept "-1" */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = (uint64_t)v;
    return true;
}
