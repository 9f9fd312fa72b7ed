/*
 * The fuzz target's ledger: real LMDB on a temporary directory, not
 * durable (no fsync: tests only), with a small map limit so that growth
 * and STORAGE_FULL are reached. It is started over every few hundred
 * inputs; before that, the offline check (sanhe-engine check) must find the
 * store consistent after everything the inputs did to it.
 */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sh_json_load.h"

/* The map starts at the store's least, 256 KiB; the reference data takes
 * about 90 KiB of it. Every FUZZ_TIGHT_EVERY-th ledger (the first one
 * included) is then prefilled with FUZZ_PREFILL settlements in one batch,
 * more than the map holds: the batch meets MDB_MAP_FULL and is rebuilt in a
 * grown map (ledger_batch.c). Its limit is tight, so that the inputs that
 * follow meet STORAGE_FULL (and a fresh ledger is taken after such an
 * input); the other ledgers have room. A settlement costs milliseconds
 * under ASan (LMDB allocates 3 MiB per nested transaction), hence not every
 * ledger is prefilled. */
#define FUZZ_MAP_INITIAL (256u << 10)
#define FUZZ_MAP_MAX (1u << 20)
#define FUZZ_MAP_MAX_TIGHT (320u << 10)
#define FUZZ_TIGHT_EVERY 8
#define FUZZ_RESET_EVERY 1024
#define FUZZ_PREFILL 100

const struct sh_caller fuzz_callers[FUZZ_CALLERS] = {
    {.terminal = "counter-h1", .hospital = "H330424001", .role = SH_ROLE_COUNTER},
    {.terminal = "counter-cs", .hospital = "H522729001", .role = SH_ROLE_COUNTER},
    {.terminal = "counter-bj", .hospital = "H110101001", .role = SH_ROLE_COUNTER},
    {.terminal = "bureau-1", .role = SH_ROLE_BUREAU},
    {.terminal = "admin-1", .role = SH_ROLE_ADMIN},
};

static struct {
    char dir[256];
    struct ledger *ledger;
    unsigned inputs;      /* since the ledger was opened */
    unsigned reset_every; /* SANHE_FUZZ_RESET_EVERY */
    unsigned prefill;     /* SANHE_FUZZ_PREFILL */
    bool reset_soon;
    unsigned opened; /* ledgers opened, for the statistics */
    unsigned grown;  /* times their maps grew */
} fz;

/* ---- Reference data --------------------------------------------------------------- */

/* One case file's reference data, loaded through the ledger as an admin. */
static void load_case(const char *name)
{
    char path[512];
    const char *dir = getenv("SANHE_FUZZ_CASES");
    snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : SANHE_FUZZ_CASES_DIR, name);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL)
        fuzz_fail("%s: %s (set SANHE_FUZZ_CASES to tests/cases)", path, jerr.text);
    Sanhe__LoadRequest load;
    struct sh_error err = {0};
    if (sh_json_to_load(doc, &load, &err) != 0)
        fuzz_fail("%s: %s", path, err.msg);
    json_decref(doc);
    Sanhe__Request request = SANHE__REQUEST__INIT;
    request.request_id = "fuzz-load";
    request.op_case = SANHE__REQUEST__OP_LOAD;
    request.load = &load;
    struct sh_reply reply = {0};
    if (ledger_handle(fz.ledger, &fuzz_callers[FUZZ_ADMIN], &request, FUZZ_NOW_MS, &reply) != 0 ||
        fuzz_check_reply(&request, &fuzz_callers[FUZZ_ADMIN], &reply) != 0)
        fuzz_fail("%s: the load was refused", path);
    free(reply.data);
    sh_json_load_free(&load);
}

/* ---- Prefill -------------------------------------------------------------------------- */

/* Settles SANHE_FUZZ_PREFILL claims (request ids "fill-N") in one batch of
 * the counter of H330424001, so that every fresh ledger starts with
 * settlements to reverse and query, and its map must grow inside a batch
 * (the batch is rebuilt in a bigger map: ledger_batch.c). */
static void ledger_prefill(unsigned count)
{
    Sanhe__Line line = SANHE__LINE__INIT;
    Sanhe__Line *lines[] = {&line};
    line.code = "A003";
    line.has_qty_milli = line.has_amount = 1;
    line.qty_milli = 1000;
    line.amount = 250000;
    Sanhe__Claim claim = SANHE__CLAIM__INIT;
    claim.hospital = "H330424001";
    claim.person = "330424194502020026";
    claim.visit = "inpatient";
    claim.date = "2026-06-15";
    claim.n_lines = 1;
    claim.lines = lines;
    Sanhe__SettleRequest settle = SANHE__SETTLE_REQUEST__INIT;
    settle.claim = &claim;
    Sanhe__Request *requests = calloc(count, sizeof *requests);
    char(*ids)[16] = calloc(count, sizeof *ids);
    struct ledger_batch *batch = NULL;
    if (requests == NULL || ids == NULL || ledger_batch_begin(fz.ledger, FUZZ_NOW_MS, &batch) != 0)
        fuzz_fail("prefill: cannot begin");
    for (unsigned i = 0; i < count; i++) {
        snprintf(ids[i], sizeof ids[i], "fill-%u", i);
        sanhe__request__init(&requests[i]);
        requests[i].request_id = ids[i];
        requests[i].op_case = SANHE__REQUEST__OP_SETTLE;
        requests[i].settle = &settle;
        struct sh_reply reply = {0};
        if (ledger_batch_apply(batch, &fuzz_callers[0], &requests[i], &reply) != 0 ||
            fuzz_check_reply(&requests[i], &fuzz_callers[0], &reply) != 0)
            fuzz_fail("prefill: settle %u refused", i);
        free(reply.data);
    }
    if (ledger_batch_commit(batch) != 0)
        fuzz_fail("prefill: the batch did not commit");
    free(ids);
    free(requests);
}

/* ---- Life cycle --------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void report_problem(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "ledger_check: %s\n", line);
}

/* Checks and closes the ledger, removes its directory. */
static void ledger_finish(void)
{
    if (fz.ledger == NULL)
        return;
    struct ledger_info info;
    if (ledger_info(fz.ledger, &info) == 0)
        fz.grown += info.map_grown;
    if (ledger_check(fz.ledger, report_problem, NULL) != 0)
        fuzz_fail("ledger_check found the store inconsistent after the last %u inputs "
                  "(rerun the crash with SANHE_FUZZ_RESET_EVERY=1 to find the input)",
                  fz.inputs);
    ledger_close(fz.ledger);
    fz.ledger = NULL;
    nftw(fz.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void ledger_start(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fz.dir, sizeof fz.dir, "%s/sanhe-fuzz-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(fz.dir) == NULL)
        fuzz_fail("mkdtemp %s failed", fz.dir);
    bool tight = fz.opened % FUZZ_TIGHT_EVERY == 0;
    struct ledger_config cfg = {.dir = fz.dir,
                                .map_size_initial = FUZZ_MAP_INITIAL,
                                .map_size_max = tight ? FUZZ_MAP_MAX_TIGHT : FUZZ_MAP_MAX,
                                .durable = false,
                                .utc_offset_min = 480};
    struct sh_error err = {0};
    if (ledger_open(&cfg, &fz.ledger, &err) != 0)
        fuzz_fail("ledger_open %s: %s", fz.dir, err.msg);
    load_case("02-three-funds-in-order.json");
    load_case("07-four-layers.json");
    load_case("09-band-boundaries.json");
    if (tight)
        ledger_prefill(fz.prefill);
    struct ledger_info info;
    if (getenv("SANHE_FUZZ_VERBOSE") != NULL && ledger_info(fz.ledger, &info) == 0)
        fprintf(stderr, "ledger %s: %llu bytes used of a %llu-byte map\n", fz.dir,
                (unsigned long long)info.map_used, (unsigned long long)info.map_size);
    fz.inputs = 0;
    fz.reset_soon = false;
    fz.opened++;
}

static void at_exit(void)
{
    ledger_finish();
    fuzz_stats_print(fz.opened, fz.grown);
}

struct ledger *fuzz_ledger(void)
{
    if (fz.ledger == NULL) {
        const char *every = getenv("SANHE_FUZZ_RESET_EVERY");
        fz.reset_every = every != NULL ? (unsigned)strtoul(every, NULL, 10) : FUZZ_RESET_EVERY;
        if (fz.reset_every == 0)
            fz.reset_every = FUZZ_RESET_EVERY;
        const char *prefill = getenv("SANHE_FUZZ_PREFILL");
        fz.prefill = prefill != NULL ? (unsigned)strtoul(prefill, NULL, 10) : FUZZ_PREFILL;
        ledger_start();
        atexit(at_exit);
    }
    return fz.ledger;
}

void fuzz_ledger_reset_soon(void) { fz.reset_soon = true; }

void fuzz_ledger_next_input(void)
{
    if (fz.ledger != NULL && (fz.reset_soon || fz.inputs >= fz.reset_every)) {
        ledger_finish();
        ledger_start();
    }
    fuzz_ledger();
    fz.inputs++;
}
