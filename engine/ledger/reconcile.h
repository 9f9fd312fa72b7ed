/*
 * Reconciliation's working parts (the operation is ledger_reconcile.c):
 *
 *   reconcile_sum.c      a hospital-day's journal entries, summed through the
 *                        journal_day index: settlements, reversals, net, and
 *                        the day's settle entries as items
 *   reconcile_compare.c  the engine's figures against the hospital's
 *                        (FigureDiff) and the engine's items against the
 *                        hospital's list (only one side, or differing)
 *   reconcile_reply.c    the heap-built ReconcileReply
 *
 * The sums are plain int64 fen; an overflow (it would take 10^5 claims of
 * the largest allowed size on one hospital-day) refuses the reconcile with
 * LIMIT_EXCEEDED rather than give a wrong figure.
 */
#ifndef RECONCILE_H
#define RECONCILE_H

#include "journal.h"

/* Funds named on one hospital-day, all policies together. */
#define RECON_FUNDS_MAX 32
/* "fund:" and a fund id. */
#define RECON_FIGURE_MAX (SH_ID_MAX + 8)

struct recon_totals {
    uint64_t count;
    sh_fen total, fund_total, patient_pays;
    uint32_t fund_count;
    struct journal_fund funds[RECON_FUNDS_MAX]; /* sorted by fund id */
};

/* A settlement of the day: the engine's figures, and the hospital's when
 * the two differ (compare) or when only the hospital has it (total and
 * fund_total are then the hospital's). */
struct recon_item {
    uint64_t id;
    sh_fen total, fund_total;
    sh_fen hospital_total, hospital_fund_total;
};

struct recon_items {
    size_t count, cap;
    struct recon_item *items;
};

#define RECON_HOURS 24

/* What a scan collects besides the totals. */
struct recon_want {
    bool items;
    bool hours;
    int32_t utc_offset_min; /* the business day's zone, for the hours */
};

struct recon_hospital {
    char hospital[SH_CODE_MAX];
    struct recon_totals settle, reversal, net;
    struct recon_items items;   /* the settle entries, when asked for */
    struct recon_totals *hours; /* RECON_HOURS net totals, when asked for */
};

/* The hospitals of a day (the whole-day reconcile), in code order. */
struct recon_day {
    size_t count, cap;
    struct recon_hospital *hospitals;
    struct recon_totals settle, reversal, net; /* over all of them */
    struct recon_totals *hours;                /* over all of them, when asked for */
};

struct recon_diff {
    char figure[RECON_FIGURE_MAX];
    sh_fen engine, hospital;
};

struct recon_result {
    bool balanced;
    size_t diff_count;
    struct recon_diff diffs[4 + 2 * RECON_FUNDS_MAX];
    struct recon_items only_engine, only_hospital, differing;
};

/* ---- reconcile_sum.c ---- */

/* Adds one entry; SH_E_LIMIT_EXCEEDED on overflow or too many funds. */
int recon_totals_add(struct recon_totals *t, const struct journal_entry *e);
/* into += from; the same codes. */
int recon_totals_merge(struct recon_totals *into, const struct recon_totals *from);
int recon_items_push(struct recon_items *list, const struct recon_item *item);
void recon_items_free(struct recon_items *list);

/* Sums one hospital-day into *out (zeroed first; items collected when
 * with_items). Returns 0 or the failure (also in txn->ret for storage). */
int recon_scan_hospital(struct store_txn *txn, uint32_t day, const char *hospital,
                        const struct recon_want *want, struct recon_hospital *out);
/* Every hospital with entries on day, and the sums over them (items are
 * never collected here). */
int recon_scan_day(struct store_txn *txn, uint32_t day, const struct recon_want *want,
                   struct recon_day *out);
void recon_hospital_free(struct recon_hospital *h);
void recon_day_free(struct recon_day *d);

/* ---- reconcile_compare.c ---- */

/* The hospital's net figures against the engine's: result->diffs, in the
 * order count, total, fund_total, patient_pays, then funds by id.
 * BAD_REQUEST (message in err) for figures that cannot be compared. */
int recon_compare_figures(const struct recon_totals *engine, const Sanhe__Totals *figures,
                          struct recon_result *result, struct sh_error *err);
/* The engine's items (sorted here) against the hospital's list. */
int recon_compare_items(struct recon_items *engine, Sanhe__ReconcileItem *const *items,
                        size_t n_items, struct recon_result *result, struct sh_error *err);
void recon_result_free(struct recon_result *result);

/* ---- reconcile_reply.c ---- */

/* A heap-built reply (free with sanhe__reconcile_reply__free_unpacked);
 * NULL when out of memory. name may be NULL; result may be NULL (no
 * comparison asked for). The hours are added when h->hours is set. */
Sanhe__ReconcileReply *recon_reply_hospital(const struct recon_hospital *h, const char *day,
                                            const char *name, const struct recon_result *result);
/* The whole-day reply: the sums (and d->hours), no hospital, and
 * hospitals[] filled by the caller. */
Sanhe__ReconcileReply *recon_reply_day(const struct recon_day *d, const char *day);

#endif
