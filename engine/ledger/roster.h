/*
 * Person updates, roster imports and the monthly cross-check
 * (docs/rosters.md): what they share inside the ledger.
 *
 *   ledger_person.c      the admin person update (one record replaced whole)
 *   ledger_crosscheck.c  the monthly cross-check (a read)
 *   ledger_roster.c      import sessions: begin, staged chunks, abort, the log
 *   roster_apply.c       an import's commit: the diff, applied or only reported
 */
#ifndef ROSTER_H
#define ROSTER_H

#include "ledger_internal.h"

/* Limits. */
#define CROSSCHECK_SETTLEMENTS_MAX 8000000u /* settlements one cross-check may hold */
#define ROSTER_SESSIONS_MAX 16              /* import sessions open at once */
#define ROSTER_CHUNK_ROWS_MAX 50000         /* rows of one ImportChunk */
#define ROSTER_ROWS_MAX 20000000u           /* rows of one file */
/* Category, death, hospital and catalog files are applied in one request
 * (a category roster's exits need the whole list at once). */
#define ROSTER_SINGLE_ROWS_MAX 1000000u
#define ROSTER_APPLY_ROWS_DEFAULT 5000 /* enrolment rows applied per commit request */
#define ROSTER_APPLY_ROWS_MAX 50000
#define ROSTER_EXAMPLES_DEFAULT 5
#define ROSTER_EXAMPLES_MAX 100
#define ROSTER_EXIT_SHARE_DEFAULT_BP 1000 /* 10 %: a category roster may end this share */
#define ROSTER_LOG_DEFAULT 100
#define ROSTER_LOG_MAX 10000
/* A staged row's key: the session id (u64 BE), then the row's own key
 * (person and year, person and from, person, or a code). */
#define ROSTER_STAGE_KEY_MAX (8 + SH_PERSON_ID_LEN + 4 + SH_ID_MAX)

struct roster_counts {
    uint64_t rows, persons_added, enrolled, begun, ended, changed, exits, deaths_recorded,
        deaths_changed, hospitals, items, unchanged;
};

void roster_counts_to_msg(const struct roster_counts *c, Sanhe__ImportCounts *m);
void roster_counts_from_msg(const Sanhe__ImportCounts *m, struct roster_counts *c);
void roster_counts_add(struct roster_counts *sum, const struct roster_counts *c);

/* Sessions and records (ledger_roster.c). NULL when absent or failed
 * (txn->ret). Free with sanhe__import_record__free_unpacked(rec, NULL). */
Sanhe__ImportRecord *roster_session_get(struct store_txn *txn, uint64_t id);
void roster_record_put(struct store_txn *txn, enum store_db db, uint64_t id,
                       const Sanhe__ImportRecord *rec);

/* A staged row's key for the session's source; 0 when the row has none. */
size_t roster_stage_key(uint64_t session, Sanhe__ImportSource source, const Sanhe__ImportRow *row,
                        uint8_t out[ROSTER_STAGE_KEY_MAX]);
/* Deletes up to max staged rows of a session; returns how many. */
size_t roster_stage_drop(struct store_txn *txn, uint64_t session, size_t max);

/* The day before a yyyymmdd date. */
uint32_t roster_day_before(uint32_t date);

/* The policies' fund of that id that is a category fund, in any policy. */
bool roster_category_fund(const struct policy_set *set, const char *fund);
/* Whether some policy's fund of that id lists the category. */
bool roster_category_known(const struct policy_set *set, const char *fund, const char *category);

/* The operations. */
int ledger_op_import_begin(struct ledger_op *op);
int ledger_op_import_chunk(struct ledger_op *op);
int ledger_op_import_commit(struct ledger_op *op);
int ledger_op_import_abort(struct ledger_op *op);
int ledger_op_import_log(struct ledger_op *op);

/* True when the two records are equal field by field. */
bool roster_person_same(const struct sh_person *a, const struct sh_person *b);

/* The last day (yyyymmdd) of month "YYYY-MM", or 0 when it is not one. */
uint32_t roster_month_last_day(const char *month);

#endif
