/*
 * The fuzz targets' shared parts: a real ledger on a temporary directory
 * (fuzz_ledger.c) and the invariants every reply must keep (fuzz_check.c).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "sanhe.pb-c.h"

/* 2026-06-15 10:00 +08:00: every batch is dated so, so that a crash found
 * on one day reproduces on any other. */
#define FUZZ_NOW_MS 1781488800000LL

/* The terminals: counters of a hospital of each loaded region, then a
 * bureau and an admin terminal. An input is sent over the connections of
 * one of the counters (fuzz_frame.c chooses which), the bureau and the
 * admin: every request is tried as each of the three. */
#define FUZZ_COUNTERS 3
#define FUZZ_CALLERS (FUZZ_COUNTERS + 2)
#define FUZZ_BUREAU (FUZZ_CALLERS - 2)
#define FUZZ_ADMIN (FUZZ_CALLERS - 1)
extern const struct sh_caller fuzz_callers[FUZZ_CALLERS];

/* libFuzzer's entry points (declared for -Wmissing-prototypes). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* ---- fuzz_ledger.c ------------------------------------------------------------------ */

/* The ledger, opened on first use: a fresh directory, durable = false, a
 * small map (so that growth, and STORAGE_FULL, happen: fuzz_ledger.c), the
 * reference data of tests/cases/02, 07 and 09. */
struct ledger *fuzz_ledger(void);

/* Asks for a fresh ledger before the next input (after STORAGE_FULL). */
void fuzz_ledger_reset_soon(void);

/* Called once per input: after SANHE_FUZZ_RESET_EVERY inputs (default 1024)
 * or a reset_soon, checks the store (ledger_check must find nothing) and
 * starts over on a fresh one, so that the store stays small and fast. */
void fuzz_ledger_next_input(void);

/* ---- fuzz_check.c ----------------------------------------------------------------- */

/* Prints the reason and aborts: libFuzzer keeps the input as a crash. */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* The role table of docs/rules.md and docs/protocol.md, written out again independently. */
bool fuzz_role_allows(Sanhe__Request__OpCase op, enum sh_role role);

/*
 * Checks one reply of the ledger to request from caller: it decodes as a
 * Response, carries the request id back, and either an error (a code the
 * ledger may give, FORBIDDEN when the role may not, a message) or the
 * result of the request's operation (a breakdown that adds up), never both
 * nor neither. Returns the error as a negative SH_E_* code, 0 for a result.
 */
int fuzz_check_reply(const Sanhe__Request *request, const struct sh_caller *caller,
                     const struct sh_reply *reply);

/* How many replies carried each code so far, printed at exit (one line,
 * "fuzz: replies: ok N, BAD_CLAIM N, ..."), with the ledgers' growth. */
void fuzz_stats_print(unsigned ledgers, unsigned map_growths);

/* The server's answer to a frame it refuses (frame_error_reply) decodes,
 * carries that code, and frame_reply_error reads it back. */
void fuzz_check_refusal(int code);

#endif
