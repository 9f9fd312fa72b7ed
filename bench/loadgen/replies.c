/*
 * Replies: matched to their request by request_id (TAG-SEQ), timed from
 * the request's scheduled send, counted by error code. A settle's
 * settlement joins its terminal's ring, for later reverse, cancel and query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_util.h"
#include "run_internal.h"

#define RING_CAP 65536u

/* ---- Request ids ------------------------------------------------------------- */

void request_id_format(const struct lg_run *r, uint64_t seq, char *out, size_t cap)
{
    char digits[16];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[seq % 36];
        seq /= 36;
    } while (seq > 0 && n < sizeof digits);
    size_t used = (size_t)snprintf(out, cap, "%s-", r->tag);
    while (n > 0 && used + 1 < cap)
        out[used++] = digits[--n];
    out[used < cap ? used : cap - 1] = '\0';
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
        const char *d = strchr("0123456789abcdefghijklmnopqrstuvwxyz", *p);
        if (d == NULL || *p == '\0' || v > UINT64_MAX / 36)
            return false;
        v = v * 36 + (uint64_t)(d - "0123456789abcdefghijklmnopqrstuvwxyz");
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

/* The pending request a reply answers, or NULL. */
static struct lg_pending *reply_match(struct lg_run *r, const Sanhe__Response *resp)
{
    uint64_t seq;
    if (resp == NULL || !request_id_parse(r, resp->request_id, &seq))
        return NULL;
    return lg_inflight_get(&r->inflight, seq);
}

void replies_on_frame(struct lg_conn *c, const uint8_t *data, size_t len, int64_t now_ns)
{
    struct lg_run *r = c->owner;
    Sanhe__Response *resp = sanhe__response__unpack(NULL, len, data);
    struct lg_pending *p = reply_match(r, resp);
    if (p == NULL) {
        r->res->errors[LG_ERR_UNMATCHED]++;
        sanhe__response__free_unpacked(resp, NULL);
        return;
    }
    int code = resp->error != NULL ? (int)resp->error->code : 0;
    if (code == 0 && p->op == LG_OP_SETTLE && resp->settle != NULL)
        ring_push(&run_terminal(r, c)->settled, resp->settle->settlement_id, p->seq);
    if (p->measured)
        reply_measure(r, p, code, now_ns);
    lg_inflight_del(&r->inflight, p);
    sanhe__response__free_unpacked(resp, NULL);
    run_check_drained(r);
}

/* Pending requests that will never be answered: on a lost connection
 * (conn_index), or all of them at the end of the drain (conn_index < 0). */
static void replies_drop(struct lg_run *r, int64_t conn_index, int slot)
{
    struct lg_inflight *t = &r->inflight;
    for (size_t i = 0; i <= t->mask && t->count > 0; i++) {
        struct lg_pending *p = &t->slots[i];
        if (!p->used || (conn_index >= 0 && p->conn != (uint32_t)conn_index))
            continue;
        if (p->measured) {
            r->res->errors[slot]++;
            r->res->ops[p->op].errors++;
        }
        lg_inflight_del(t, p);
    }
}

void replies_fail_conn(struct lg_run *r, uint32_t conn_index)
{
    replies_drop(r, conn_index, LG_ERR_DISCONNECTED);
}

void replies_expire_all(struct lg_run *r) { replies_drop(r, -1, LG_ERR_TIMEOUT); }
