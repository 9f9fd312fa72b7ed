/*
 * Replies: the pipe matches each to its request by request_id (TAG-SEQ)
 * and calls back with the request's seq; timed from the request's
 * scheduled send, counted by error code. A settle's
 * settlement joins its terminal's ring, for later reverse, cancel and query.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_util.h"
#include "run_internal.h"

#define RING_CAP 65536u

/* ---- Request ids ------------------------------------------------------------- */

static const char base36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* One per request (and per target): copies, no snprintf. */
void request_id_format(const struct lg_run *r, uint64_t seq, char *out, size_t cap)
{
    char digits[16];
    size_t n = 0;
    do {
        digits[n++] = base36[seq % 36];
        seq /= 36;
    } while (seq > 0 && n < sizeof digits);
    size_t used = strnlen(r->tag, sizeof r->tag);
    if (used + 1 >= cap)
        used = cap > 1 ? cap - 1 : 0;
    memcpy(out, r->tag, used);
    if (used + 1 < cap)
        out[used++] = '-';
    while (n > 0 && used + 1 < cap)
        out[used++] = digits[--n];
    out[used < cap ? used : cap - 1] = '\0';
}

static int base36_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 10;
    return -1;
}

bool request_id_parse(const struct lg_run *r, const char *id, uint64_t *seq)
{
    size_t tag_len = strlen(r->tag);
    if (id == NULL || strncmp(id, r->tag, tag_len) != 0 || id[tag_len] != '-')
        return false;
    const char *p = id + tag_len + 1;
    uint64_t v = 0;
    if (*p == '\0')
        return false;
    for (; *p != '\0'; p++) {
        int d = base36_value(*p);
        if (d < 0 || v > UINT64_MAX / 36)
            return false;
        v = v * 36 + (uint64_t)d;
    }
    *seq = v;
    return true;
}

/* ---- The ring of settlements ---------------------------------------------------- */

void ring_push(struct lg_ring *ring, uint64_t settlement_id, uint64_t seq)
{
    if (ring->e == NULL) {
        ring->e = calloc(RING_CAP, sizeof *ring->e);
        ring->cap = ring->e != NULL ? RING_CAP : 0;
    }
    if (ring->cap == 0)
        return;
    if (ring->len == ring->cap) { /* full: the oldest is forgotten */
        ring->head = (ring->head + 1) % ring->cap;
        ring->len--;
    }
    ring->e[(ring->head + ring->len) % ring->cap] = (struct lg_settled){settlement_id, seq};
    ring->len++;
}

bool ring_pop(struct lg_ring *ring, struct lg_settled *out)
{
    if (ring->len == 0)
        return false;
    *out = ring->e[ring->head];
    ring->head = (ring->head + 1) % ring->cap;
    ring->len--;
    return true;
}

bool ring_peek_random(const struct lg_ring *ring, uint64_t *rng, struct lg_settled *out)
{
    if (ring->len == 0)
        return false;
    *out = ring->e[(ring->head + lg_rng_below(rng, ring->len)) % ring->cap];
    return true;
}

/* ---- Replies ----------------------------------------------------------------------- */

static void reply_measure(struct lg_run *r, const struct lg_pending *p, int code, int64_t now)
{
    struct lg_result *res = r->res;
    struct lg_op_stats *op = &res->ops[p->op];
    res->answered++;
    if (code != 0) {
        res->errors[code <= LG_ERR_WIRE_MAX ? code : LG_ERR_UNMATCHED]++;
        op->errors++;
        return;
    }
    res->ok++;
    op->ok++;
    res->last_ok_ns = now;
    lg_hist_record(&res->latency, (uint64_t)(now - p->sched_ns));
    lg_hist_record(&res->service, (uint64_t)(now - p->sent_ns));
    lg_hist_record(&op->hist, (uint64_t)(now - p->sched_ns));
}

/* A reply is decoded into one arena, emptied after the reply: no malloc and
 * free for each of its strings and submessages (a few per cent of the
 * generator's CPU at 10k/s). What does not fit (a huge reply) is malloc'd. */
#define REPLY_ARENA_BYTES (256u * 1024u)

struct reply_arena {
    size_t used;
    size_t spilled; /* blocks malloc'd since the arena was last emptied */
    _Alignas(max_align_t) uint8_t mem[REPLY_ARENA_BYTES];
};

static struct reply_arena reply_arena; /* one thread: the loop's */

static void *arena_alloc(void *data, size_t size)
{
    struct reply_arena *a = data;
    size_t align = _Alignof(max_align_t);
    size_t need = (size + align - 1) & ~(align - 1);
    if (need >= size && need <= sizeof a->mem - a->used) {
        void *p = a->mem + a->used;
        a->used += need;
        return p;
    }
    a->spilled++;
    return malloc(size);
}

static void arena_free(void *data, void *p)
{
    struct reply_arena *a = data;
    uintptr_t at = (uintptr_t)p, lo = (uintptr_t)a->mem;
    if (at - lo < sizeof a->mem)
        return; /* the arena's: emptied at once */
    free(p);
}

static ProtobufCAllocator reply_alloc = {arena_alloc, arena_free, &reply_arena};

/* Frees what the arena could not hold, then empties it. */
static void reply_release(Sanhe__Response *resp)
{
    if (reply_arena.spilled > 0)
        sanhe__response__free_unpacked(resp, &reply_alloc);
    reply_arena.used = 0;
    reply_arena.spilled = 0;
}

/* The reply's error code and, for a settle, its settlement; only a refusal
 * and a settle are decoded (the pipe already matched the request id). */
static int reply_decode(struct lg_run *r, struct lg_conn *c, const struct lg_pending *p, int status,
                        const void *reply, size_t len)
{
    if (status == 0 && p->op != LG_OP_SETTLE)
        return 0;
    Sanhe__Response *resp = sanhe__response__unpack(&reply_alloc, len, reply);
    int code = resp == NULL ? LG_ERR_UNMATCHED : resp->error != NULL ? (int)resp->error->code : 0;
    if (code == 0 && p->op == LG_OP_SETTLE && resp->settle != NULL)
        ring_push(&run_terminal(r, c)->settled, resp->settle->settlement_id, p->seq);
    reply_release(resp);
    return code;
}

/* Nothing came: the pipe's deadline passed (it is past the drain, so only
 * when the run overran), or no connection could be made. */
static void reply_lost(struct lg_run *r, const struct lg_pending *p, int status)
{
    if (!p->measured)
        return;
    r->res->errors[status == SANHE_E_UNREACHABLE ? LG_ERR_DISCONNECTED : LG_ERR_TIMEOUT]++;
    r->res->ops[p->op].errors++;
}

void replies_on_reply(int status, const void *reply, size_t len, void *arg)
{
    int64_t now_ns = lg_now_ns(); /* before any decoding: the reply's arrival */
    struct lg_call *call = arg;
    struct lg_conn *c = call->conn;
    struct lg_run *r = c->owner;
    struct lg_pending *p = lg_inflight_get(&r->inflight, call->seq);
    free(call);
    bool answered = status == 0 || status == SANHE_E_REFUSED;
    if (r->phase == LG_CLOSING)
        return; /* the pipe being freed, or a reply after the window's end */
    if (p == NULL) {
        if (answered) /* after its request expired at the drain's end */
            r->res->errors[LG_ERR_UNMATCHED]++;
        return;
    }
    if (answered && p->measured)
        reply_measure(r, p, reply_decode(r, c, p, status, reply, len), now_ns);
    else if (answered)
        (void)reply_decode(r, c, p, status, reply, len);
    else
        reply_lost(r, p, status);
    lg_inflight_del(&r->inflight, p);
    run_check_drained(r);
}

/* Pending requests that will never be answered, at the end of the drain:
 * TIMEOUT. (A lost connection is the pipe's to repair: it reconnects and
 * writes the unanswered requests again, with the same request ids.) */
void replies_expire_all(struct lg_run *r)
{
    struct lg_inflight *t = &r->inflight;
    for (size_t i = 0; i <= t->mask && t->count > 0; i++) {
        struct lg_pending *p = &t->slots[i];
        if (!p->used)
            continue;
        if (p->measured) {
            r->res->errors[LG_ERR_TIMEOUT]++;
            r->res->ops[p->op].errors++;
        }
        lg_inflight_del(t, p);
    }
}
