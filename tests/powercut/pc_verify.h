/*
 * Recovery of one disk state, and what must hold after it. The store is
 * opened as sanhe-engine opens it at start (ledger_open, durable, the
 * workload's configuration), then:
 *   1. ledger_check (what `sanhe-engine check` runs) reports nothing;
 *   2. every settle acknowledged before the crash is there: a query by
 *      its settlement id gives the same hospital, request id and
 *      breakdown, and it is reversed when an acknowledged reverse or
 *      cancel undid it;
 *   3. every request acknowledged with a success, sent again with the same
 *      request id (all in one batch, as the server would), gets the same
 *      reply bytes, and no new settlement id is handed out: nothing is paid
 *      twice (ledger_check's accumulator sums say the same of the store);
 *   4. the store takes a new settle, and ledger_check is clean again.
 */
#ifndef PC_VERIFY_H
#define PC_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "pc_work.h"

struct pc_verdict {
    uint32_t violations;
    char first[512]; /* the first violation, "" when none */
};

struct pc_verify_stats {
    uint64_t opened, checks;
    uint64_t settles_found; /* acknowledged settles found with their breakdown */
    uint64_t undos_found;   /* acknowledged undos found reversed */
    uint64_t replays_same;  /* resent acknowledged requests answered byte for byte */
    uint64_t fresh_settles; /* new settles committed after recovery */
    uint64_t replayed;      /* write-ahead log records redone by the recoveries */
    uint64_t replaying;     /* recoveries that redid at least one record */
};

/* Recovers the store in dir (holding the state of a crash at event c) and
 * checks it against what w acknowledged before c. */
void pc_verify(const struct pc_work *w, size_t c, const char *dir, struct pc_verdict *v,
               struct pc_verify_stats *st);

#endif
