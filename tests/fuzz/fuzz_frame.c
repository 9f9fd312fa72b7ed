/*
 * fuzz_frame: arbitrary bytes through the server's own frame decoder
 * (engine/net/frame.c: the length prefix, the limit, sanhe__request__unpack)
 * and every request decoded into a real ledger, as a counter, a bureau and
 * an admin terminal.
 *
 * An input is what one connection sends: frames one after the other, up to
 * FUZZ_FRAMES_MAX; a frame over the limit or that does not decode ends it,
 * as it ends the connection. The counter is the one of the hospital of the
 * input's first claim, when that is one of fuzz_callers' counters, else
 * one chosen by the input's length (one counter per input, as one terminal
 * per connection: three would triple the cost of every write). The
 * requests then go to the ledger one of two ways, chosen by the input's
 * length so that the mutator explores both:
 *   even: as the server does it: reads answered at once from committed
 *         state, writes applied together in one group-commit batch;
 *   odd:  one by one through ledger_handle, each its own batch.
 * Every reply must keep the invariants of fuzz_check.c, and a refused
 * request, or a read, must leave the number of settlements and journal
 * entries as it was. Every SANHE_FUZZ_RESET_EVERY inputs the store must
 * pass ledger_check (fuzz_ledger.c).
 *
 * The custom mutator mutates inside a frame and fixes its length prefix
 * (else nearly every mutation would only break the framing), duplicates
 * frames (retries: the idempotency path) and drops them; one mutation in
 * eight is libFuzzer's own over the raw bytes, for the framing itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"

#define FUZZ_FRAMES_MAX 32
#define FUZZ_FRAME_MAX_BYTES (1u << 20) /* the engine's default frame_max_bytes */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_ledger(); /* opened and loaded now: a broken setup shows before fuzzing */
    return 0;
}

/* ---- Decoding ---------------------------------------------------------------------- */

/* The frames at the front of data, decoded as conn_input.c decodes them. */
static size_t decode_frames(const uint8_t *data, size_t size, Sanhe__Request **out)
{
    size_t n = 0, pos = 0;
    while (n < FUZZ_FRAMES_MAX) {
        Sanhe__Request *request;
        size_t used;
        enum frame_status st =
            frame_decode(data + pos, size - pos, FUZZ_FRAME_MAX_BYTES, &request, &used);
        if (used > size - pos || (st != FRAME_REQUEST) != (request == NULL))
            fuzz_fail("frame_decode: status %d, consumed %zu of %zu", (int)st, used, size - pos);
        if (st == FRAME_PARTIAL)
            break;
        if (st == FRAME_OVERSIZE) {
            fuzz_check_refusal(SH_E_FRAME_TOO_LARGE);
            break;
        }
        if (st == FRAME_UNDECODABLE) {
            fuzz_check_refusal(SH_E_BAD_FRAME);
            break;
        }
        if (used != FRAME_HEADER_BYTES + frame_length_get(data + pos))
            fuzz_fail("frame_decode consumed %zu bytes of a frame that has more", used);
        pos += used;
        out[n++] = request;
    }
    return n;
}

/* ---- Running the requests -------------------------------------------------------------- */

struct counts {
    uint64_t settlements;
    uint64_t journal;
};

static struct counts counts_now(struct ledger *ledger)
{
    struct ledger_info info;
    if (ledger_info(ledger, &info) != 0)
        fuzz_fail("ledger_info failed");
    return (struct counts){info.settlements, info.journal_entries};
}

static void expect_unchanged(struct ledger *ledger, struct counts before, const char *what)
{
    struct counts after = counts_now(ledger);
    if (after.settlements != before.settlements || after.journal != before.journal)
        fuzz_fail("%s changed the store: settlements %llu -> %llu, journal %llu -> %llu", what,
                  (unsigned long long)before.settlements, (unsigned long long)after.settlements,
                  (unsigned long long)before.journal, (unsigned long long)after.journal);
}

/* Checks and frees one reply; STORAGE_FULL asks for a fresh ledger. */
static int reply_done(const Sanhe__Request *request, const struct sh_caller *caller,
                      struct sh_reply *reply)
{
    int code = fuzz_check_reply(request, caller, reply);
    static int verbose = -1; /* SANHE_FUZZ_VERBOSE=1: one line per reply */
    if (verbose < 0)
        verbose = getenv("SANHE_FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "%-12s %-11s %s\n", caller->terminal, frame_op_name(request),
                code != 0 ? sh_error_name(code) : "ok");
    if (code == SH_E_STORAGE_FULL)
        fuzz_ledger_reset_soon();
    free(reply->data);
    reply->data = NULL;
    return code;
}

/* The terminals an input is sent as: a counter, the bureau, the admin. */
struct terminals {
    const struct sh_caller *of[3];
};

static const Sanhe__Claim *request_claim(const Sanhe__Request *request)
{
    if (request->op_case == SANHE__REQUEST__OP_SETTLE)
        return request->settle->claim;
    if (request->op_case == SANHE__REQUEST__OP_PRESETTLE)
        return request->presettle->claim;
    return NULL;
}

static struct terminals terminals_for(Sanhe__Request **requests, size_t n, size_t size)
{
    size_t counter = (size / 2) % FUZZ_COUNTERS;
    for (size_t i = 0; i < n; i++) {
        const Sanhe__Claim *claim = request_claim(requests[i]);
        if (claim == NULL || claim->hospital == NULL)
            continue;
        for (size_t c = 0; c < FUZZ_COUNTERS; c++)
            if (strcmp(claim->hospital, fuzz_callers[c].hospital) == 0)
                counter = c;
        break;
    }
    return (struct terminals){
        {&fuzz_callers[counter], &fuzz_callers[FUZZ_BUREAU], &fuzz_callers[FUZZ_ADMIN]}};
}

static void run_one_by_one(struct ledger *ledger, const struct terminals *t,
                           Sanhe__Request **requests, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < 3; c++) {
            struct counts before = counts_now(ledger);
            struct sh_reply reply = {0};
            if (ledger_handle(ledger, t->of[c], requests[i], FUZZ_NOW_MS, &reply) != 0)
                fuzz_fail("ledger_handle gave no reply");
            int code = reply_done(requests[i], t->of[c], &reply);
            if (code != 0 || !ledger_request_writes(requests[i]))
                expect_unchanged(ledger, before, code != 0 ? "a refused request" : "a read");
        }
    }
}

/* A write waiting for the group commit, as engine/durable/durable.c keeps it. */
struct queued {
    const Sanhe__Request *request;
    const struct sh_caller *caller;
    struct sh_reply reply;
};

/* engine/durable/durable.c's batch_apply_all: 0, or the code that answers all. */
static int batch_apply_all(struct ledger *ledger, struct queued *q, size_t n)
{
    struct ledger_batch *batch = NULL;
    int rc = ledger_batch_begin(ledger, FUZZ_NOW_MS, &batch);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = ledger_batch_apply(batch, q[i].caller, q[i].request, &q[i].reply);
    if (rc < 0) {
        ledger_batch_abort(batch);
        return rc;
    }
    return ledger_batch_commit(batch);
}

/* A batch that could not commit: every write gets its code, as the server
 * answers them. Only a full store may do that to a healthy ledger. */
static void batch_fail_all(struct queued *q, size_t n, int rc)
{
    if (rc != SH_E_STORAGE_FULL)
        fuzz_fail("the group commit failed with %s", sh_error_name(rc));
    for (size_t i = 0; i < n; i++) {
        free(q[i].reply.data);
        memset(&q[i].reply, 0, sizeof q[i].reply);
        if (frame_error_reply(q[i].request->request_id, rc, "not committed", &q[i].reply) != 0)
            fuzz_fail("frame_error_reply failed");
    }
}

static void run_batched(struct ledger *ledger, const struct terminals *t, Sanhe__Request **requests,
                        size_t n)
{
    static struct queued q[FUZZ_FRAMES_MAX * 3];
    size_t qn = 0;
    struct counts before = counts_now(ledger);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < 3; c++) {
            if (ledger_request_writes(requests[i])) {
                q[qn++] = (struct queued){requests[i], t->of[c], {0}};
                continue;
            }
            struct sh_reply reply = {0};
            if (ledger_read(ledger, t->of[c], requests[i], &reply) != 0)
                fuzz_fail("ledger_read gave no reply");
            reply_done(requests[i], t->of[c], &reply);
        }
    }
    expect_unchanged(ledger, before, "a read");
    if (qn == 0)
        return;
    int rc = batch_apply_all(ledger, q, qn);
    if (rc < 0)
        batch_fail_all(q, qn, rc);
    bool any_taken = false;
    for (size_t i = 0; i < qn; i++)
        any_taken |= reply_done(q[i].request, q[i].caller, &q[i].reply) == 0;
    if (!any_taken)
        expect_unchanged(ledger, before, "a batch of refused requests");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Sanhe__Request *requests[FUZZ_FRAMES_MAX];
    size_t n = decode_frames(data, size, requests);
    if (n == 0)
        return 0;
    fuzz_ledger_next_input();
    struct terminals t = terminals_for(requests, n, size);
    if (size % 2 == 1)
        run_one_by_one(fuzz_ledger(), &t, requests, n);
    else
        run_batched(fuzz_ledger(), &t, requests, n);
    for (size_t i = 0; i < n; i++)
        sanhe__request__free_unpacked(requests[i], NULL);
    return 0;
}

/* ---- The mutator ------------------------------------------------------------------------ */

/* A frame of the input: its header at off, its body after it. */
struct span {
    size_t off;
    size_t len; /* of the body */
};

static size_t frames_split(const uint8_t *data, size_t size, struct span *out, size_t cap)
{
    size_t n = 0, pos = 0;
    while (n < cap && size - pos >= FRAME_HEADER_BYTES) {
        uint32_t len = frame_length_get(data + pos);
        if (len > size - pos - FRAME_HEADER_BYTES)
            break;
        out[n++] = (struct span){pos, len};
        pos += FRAME_HEADER_BYTES + len;
    }
    return n;
}

static uint8_t *scratch_get(size_t cap)
{
    static uint8_t *buf;
    static size_t buf_cap;
    if (cap > buf_cap) {
        uint8_t *grown = realloc(buf, cap);
        if (grown == NULL)
            return NULL;
        buf = grown;
        buf_cap = cap;
    }
    return buf;
}

/* libFuzzer's mutation inside frame f's body, its prefix set to the new length. */
static size_t mutate_body(uint8_t *data, size_t size, size_t max_size, struct span f)
{
    size_t body = f.off + FRAME_HEADER_BYTES, end = body + f.len;
    size_t room = max_size - (size - f.len); /* the most the body may grow to */
    uint8_t *tmp = scratch_get(room + 1);
    if (tmp == NULL || room == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    memcpy(tmp, data + body, f.len);
    size_t len = f.len;
    if (len == 0)
        tmp[len++] = 0; /* libFuzzer mutates something, not nothing */
    len = LLVMFuzzerMutate(tmp, len, room);
    memmove(data + body + len, data + end, size - end);
    memcpy(data + body, tmp, len);
    frame_length_put(data + f.off, (uint32_t)len);
    return size - f.len + len;
}

/* A copy of frame f at the frame boundary `at`: a retry, or a pipelined twin. */
static size_t duplicate_frame(uint8_t *data, size_t size, size_t max_size, struct span f, size_t at)
{
    size_t whole = FRAME_HEADER_BYTES + f.len;
    uint8_t *tmp = scratch_get(whole);
    if (tmp == NULL || size + whole > max_size)
        return size;
    memcpy(tmp, data + f.off, whole);
    memmove(data + at + whole, data + at, size - at);
    memcpy(data + at, tmp, whole);
    return size + whole;
}

static size_t drop_frame(uint8_t *data, size_t size, struct span f)
{
    size_t end = f.off + FRAME_HEADER_BYTES + f.len;
    memmove(data + f.off, data + end, size - end);
    return size - (end - f.off);
}

/* Input that is not framed yet (a fresh one, or raw-mutated): one frame of it. */
static size_t wrap_frame(uint8_t *data, size_t size, size_t max_size)
{
    if (size + FRAME_HEADER_BYTES > max_size)
        return LLVMFuzzerMutate(data, size, max_size);
    memmove(data + FRAME_HEADER_BYTES, data, size);
    frame_length_put(data, (uint32_t)size);
    return size + FRAME_HEADER_BYTES;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    struct span frames[FUZZ_FRAMES_MAX];
    size_t n = frames_split(data, size, frames, FUZZ_FRAMES_MAX);
    /* xorshift32 of libFuzzer's seed: the same seed, the same mutation. */
    unsigned pick = seed != 0 ? seed : 1;
    pick ^= pick << 13;
    pick ^= pick >> 17;
    pick ^= pick << 5;
    if (pick % 8 == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    if (n == 0)
        return wrap_frame(data, size, max_size);
    struct span f = frames[(pick / 8) % n];
    switch ((pick / 256) % 8) {
    case 0: {
        struct span to = frames[(pick / 2048) % n];
        return duplicate_frame(data, size, max_size, f, to.off + FRAME_HEADER_BYTES + to.len);
    }
    case 1:
        return n > 1 ? drop_frame(data, size, f) : mutate_body(data, size, max_size, f);
    default:
        return mutate_body(data, size, max_size, f);
    }
}
