/* Recovery and its checks (pc_verify.h). */
#include "pc_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_req.h"
#include "ledger_test.h"

static void fail(struct pc_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct pc_verdict *v, const char *fmt, ...)
{
    if (v->violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->first, sizeof v->first, fmt, ap);
        va_end(ap);
    }
}

static bool acked_before(const struct pc_request *r, size_t c)
{
    return r->acked && r->ack_event < c;
}

struct check_ctx {
    struct pc_verdict *v;
    uint32_t lines;
};

static void check_line(void *ctx, const char *line)
{
    struct check_ctx *k = ctx;
    if (k->lines++ == 0)
        fail(k->v, "sanhe-engine check: %s", line);
}

static void run_check(struct ledger *ledger, const char *when, struct pc_verdict *v,
                      struct pc_verify_stats *st)
{
    struct check_ctx k = {.v = v};
    int rc = ledger_check(ledger, check_line, &k);
    st->checks++;
    if (rc < 0)
        fail(v, "sanhe-engine check could not run %s: %d", when, rc);
    else if (rc > 0 && k.lines == 0)
        fail(v, "sanhe-engine check %s: %d problems", when, rc);
}

/* Whether an acknowledged undo before c reversed settlement id. */
static bool undone_acked(const struct pc_work *w, size_t c, uint64_t id)
{
    for (size_t i = 0; i < w->n; i++) {
        const struct pc_request *r = &w->reqs[i];
        if (acked_before(r, c) && r->ok && r->undid && r->settlement_id == id)
            return true;
    }
    return false;
}

static bool same_breakdown(const Sanhe__Breakdown *a, const Sanhe__Breakdown *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    size_t la = sanhe__breakdown__get_packed_size(a), lb = sanhe__breakdown__get_packed_size(b);
    if (la != lb)
        return false;
    uint8_t *pa = malloc(la + 1), *pb = malloc(lb + 1);
    bool same = pa != NULL && pb != NULL;
    if (same) {
        sanhe__breakdown__pack(a, pa);
        sanhe__breakdown__pack(b, pb);
        same = memcmp(pa, pb, la) == 0;
    }
    free(pa);
    free(pb);
    return same;
}

/* Check 2 for one acknowledged settle. */
static void check_settle(struct ledger *ledger, const struct pc_work *w, size_t c,
                         const struct pc_request *r, struct pc_verdict *v,
                         struct pc_verify_stats *st)
{
    Sanhe__Response *acked = pc_unpack(r->reply, r->reply_len);
    Sanhe__Request *q = crash_req_query("pc-query", r->settlement_id, NULL, NULL);
    struct sh_reply reply = {0};
    int rc = q != NULL ? ledger_read(ledger, &r->caller, q, &reply) : -1;
    Sanhe__Response *got = rc == 0 ? pc_unpack(reply.data, reply.len) : NULL;
    const Sanhe__Settlement *s = got != NULL && got->error == NULL &&
                                         got->result_case == SANHE__RESPONSE__RESULT_QUERY &&
                                         got->query != NULL
                                     ? got->query->settlement
                                     : NULL;
    const char *rid = r->request->request_id;
    if (s == NULL)
        fail(v, "acknowledged settle %s (settlement %llu) is lost: %s", rid,
             (unsigned long long)r->settlement_id,
             got != NULL && got->error != NULL ? got->error->message : "no settlement");
    else if (strcmp(s->request_id, rid) != 0 || strcmp(s->hospital, r->caller.hospital) != 0)
        fail(v, "settlement %llu is not acknowledged settle %s of %s",
             (unsigned long long)r->settlement_id, rid, r->caller.hospital);
    else if (acked == NULL || !same_breakdown(s->breakdown, acked->settle->breakdown))
        fail(v, "settlement %llu (%s) has another breakdown than acknowledged",
             (unsigned long long)r->settlement_id, rid);
    else if (undone_acked(w, c, r->settlement_id) && s->state != SANHE__SETTLEMENT_STATE__REVERSED)
        fail(v, "settlement %llu (%s): its acknowledged reversal is lost",
             (unsigned long long)r->settlement_id, rid);
    else {
        st->settles_found++;
        if (undone_acked(w, c, r->settlement_id))
            st->undos_found++;
    }
    if (got != NULL)
        sanhe__response__free_unpacked(got, NULL);
    if (acked != NULL)
        sanhe__response__free_unpacked(acked, NULL);
    sanhe__request__free_unpacked(q, NULL);
    free(reply.data);
}

/* Check 3: every acknowledged success sent again, in one batch. */
static void check_replays(struct ledger *ledger, const struct pc_work *w, size_t c,
                          struct pc_verdict *v, struct pc_verify_stats *st)
{
    struct ledger_info before = {0}, after = {0};
    ledger_info(ledger, &before);
    struct ledger_batch *b = NULL;
    int rc = ledger_batch_begin(ledger, PC_NOW_MS + 10000000, &b);
    uint64_t same = 0;
    for (size_t i = 1; rc == 0 && i < w->n; i++) {
        const struct pc_request *r = &w->reqs[i];
        if (!acked_before(r, c) || !r->ok)
            continue;
        struct sh_reply reply = {0};
        rc = ledger_batch_apply(b, &r->caller, r->request, &reply);
        if (rc == 0 && (reply.len != r->reply_len || memcmp(reply.data, r->reply, reply.len) != 0))
            fail(v, "acknowledged %s %s, sent again, got other bytes than its reply",
                 r->op == SANHE__REQUEST__OP_SETTLE ? "settle" : "undo", r->request->request_id);
        else if (rc == 0)
            same++;
        free(reply.data);
    }
    if (rc == 0)
        rc = ledger_batch_commit(b);
    else
        ledger_batch_abort(b);
    if (rc != 0) {
        fail(v, "the batch of resent requests failed: %d", rc);
        return;
    }
    st->replays_same += same;
    ledger_info(ledger, &after);
    if (after.settlements != before.settlements)
        fail(v, "resent requests made %llu new settlements: paid twice",
             (unsigned long long)(after.settlements - before.settlements));
}

/* Check 4: the store still takes a write. */
static void check_fresh(struct ledger *ledger, const struct pc_work *w, struct pc_verdict *v,
                        struct pc_verify_stats *st)
{
    struct sh_reply reply = {0};
    int rc = ledger_handle(ledger, &w->fresh_caller, w->fresh, PC_NOW_MS + 20000000, &reply);
    Sanhe__Response *got = rc == 0 ? pc_unpack(reply.data, reply.len) : NULL;
    if (got == NULL || got->error != NULL)
        fail(v, "a new settle after recovery failed: %s",
             got != NULL && got->error != NULL ? got->error->message : "no reply");
    else
        st->fresh_settles++;
    if (got != NULL)
        sanhe__response__free_unpacked(got, NULL);
    free(reply.data);
}

void pc_verify(const struct pc_work *w, size_t c, const char *dir, struct pc_verdict *v,
               struct pc_verify_stats *st)
{
    memset(v, 0, sizeof *v);
    struct ledger_config cfg = w->cfg;
    cfg.dir = dir;
    cfg.wal_test_skip_restore = w->skip_restore;
    struct ledger *ledger = NULL;
    struct sh_error err = {0};
    if (ledger_open(&cfg, &ledger, &err) != 0) {
        fail(v, "the store does not open: %s", err.msg);
        return;
    }
    st->opened++;
    struct store_wal_stats ws;
    ledger_test_wal_stats(ledger, &ws);
    st->replayed += ws.replayed;
    st->replaying += ws.replayed > 0;
    run_check(ledger, "after recovery", v, st);
    for (size_t i = 1; i < w->n; i++) {
        const struct pc_request *r = &w->reqs[i];
        if (acked_before(r, c) && r->ok && r->op == SANHE__REQUEST__OP_SETTLE && !r->retry)
            check_settle(ledger, w, c, r, v, st);
    }
    if (v->violations == 0) {
        check_replays(ledger, w, c, v, st);
        check_fresh(ledger, w, v, st);
        run_check(ledger, "after the resent requests and a new settle", v, st);
    }
    ledger_close(ledger);
}
