/*
 * The offline verification (ledger_check), in two files: ledger_check.c
 * (settlements, accumulators, idempotency records) and
 * ledger_check_journal.c (the journal, its chain and its day index).
 */
#ifndef LEDGER_CHECK_H
#define LEDGER_CHECK_H

#include "request_tail.h"

#include "accum.h"
#include "ledger_internal.h"
#include "store_keys.h"

/* What the settlements say, per settlement id (1..count): bits. */
enum {
    CHECK_SEEN = 1,         /* the settlement exists */
    CHECK_REVERSED = 2,     /* in state REVERSED */
    CHECK_SETTLE_ENTRY = 4, /* one settle journal entry seen */
    CHECK_REVERSAL_ENTRY = 8,
    CHECK_DUPLICATE = 16, /* a second entry of a kind */
};

struct check_acc {
    uint8_t key[STORE_ACC_KEY_MAX]; /* zero-filled past the key */
    bool used;
    bool seen; /* found in the store */
    sh_fen v[3];
};

struct check {
    struct store_txn *txn;
    void (*report)(void *ctx, const char *line);
    void *ctx;
    size_t problems;
    uint64_t settlement_count; /* next_settlement_id - 1 */
    uint64_t seq_count;        /* next_journal_seq - 1 */
    uint8_t *flags;            /* settlement_count + 1 entries */
    struct check_acc *accs;    /* open addressing */
    size_t acc_cap;
    size_t acc_used;
    struct request_tail *tail; /* the request_log above the index's mark */
    uint64_t requests_mark;    /* requests_indexed_through */
    uint64_t journal_mark;     /* journal_day_indexed_through */
};

void check_problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_journal(struct check *c);

#endif
