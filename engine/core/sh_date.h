/* Dates as yyyymmdd integers: parse, validate, format, and the calendar. */
#ifndef SH_DATE_H
#define SH_DATE_H

#include <stdbool.h>
#include <stdint.h>

#define SH_DATE_STR_LEN 11 /* "YYYY-MM-DD" and NUL */

/* Parses exactly "YYYY-MM-DD" (a real calendar day, years 1900..9999).
 * Returns the yyyymmdd value, or 0 for anything else. */
uint32_t sh_date_parse(const char *s);

/* Writes "YYYY-MM-DD" into out (SH_DATE_STR_LEN bytes). */
void sh_date_format(uint32_t date, char out[SH_DATE_STR_LEN]);

bool sh_date_valid(uint32_t date);

static inline int32_t sh_date_year(uint32_t date) { return (int32_t)(date / 10000); }

/* The calendar day (yyyymmdd) of a unix time in milliseconds, seen at a
 * fixed offset from UTC in minutes (Asia/Shanghai is +480). */
uint32_t sh_date_from_unix_ms(int64_t unix_ms, int32_t utc_offset_min);

#endif
