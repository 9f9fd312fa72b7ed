#include "sh_date.h"

#include <stdio.h>

static bool is_leap(uint32_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static uint32_t days_in_month(uint32_t y, uint32_t m)
{
    static const uint8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

bool sh_date_valid(uint32_t date)
{
    uint32_t y = date / 10000, m = date / 100 % 100, d = date % 100;
    return y >= 1900 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static bool digits(const char *s, int n, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

uint32_t sh_date_parse(const char *s)
{
    uint32_t y, m, d;
    if (s == NULL || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || s[10] != '\0')
        return 0;
    uint32_t date = y * 10000 + m * 100 + d;
    return sh_date_valid(date) ? date : 0;
}

void sh_date_format(uint32_t date, char out[SH_DATE_STR_LEN])
{
    snprintf(out, SH_DATE_STR_LEN, "%04u-%02u-%02u", (unsigned)(date / 10000 % 10000),
             (unsigned)(date / 100 % 100), (unsigned)(date % 100));
}

/* Howard Hinnant's civil_from_days: days since 1970-01-01 to y/m/d. */
uint32_t sh_date_from_unix_ms(int64_t unix_ms, int32_t utc_offset_min)
{
    int64_t secs = unix_ms / 1000 + (int64_t)utc_offset_min * 60;
    int64_t z = (secs >= 0 ? secs : secs - 86399) / 86400 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    return (uint32_t)(y * 10000 + m * 100 + d);
}
