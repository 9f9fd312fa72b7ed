/*
 * Person updates, roster imports and the monthly cross-check
 * (docs/rosters.md): what they share inside the ledger.
 *
 *   ledger_person.c      the admin person update (one record replaced whole)
 *   ledger_crosscheck.c  the monthly cross-check (a read)
 */
#ifndef ROSTER_H
#define ROSTER_H

#include "ledger_internal.h"

/* Limits. */
#define CROSSCHECK_SETTLEMENTS_MAX 8000000u /* settlements one cross-check may hold */

/* True when the two records are equal field by field. */
bool roster_person_same(const struct sh_person *a, const struct sh_person *b);

/* The last day (yyyymmdd) of month "YYYY-MM", or 0 when it is not one. */
uint32_t roster_month_last_day(const char *month);

#endif
