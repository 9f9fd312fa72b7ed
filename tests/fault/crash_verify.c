#include "crash_verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_req.h"
#include "sh_error.h"

void crash_verdict_fail(struct crash_verdict *v, const char *fmt, ...)
{
    if (v->failure[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->failure, sizeof v->failure, fmt, ap);
    va_end(ap);
}

/* ---- the scan of every settlement ------------------------------------------------------- */

struct found {
    const Sanhe__Settlement *s; /* in resp */
    Sanhe__Response *resp;
};

struct found_list {
    struct found *items;
    size_t count, cap;
};

static bool found_add(struct found_list *l, Sanhe__Response *resp)
{
    if (l->count == l->cap) {
        size_t cap = l->cap > 0 ? l->cap * 2 : 1024;
        struct found *items = realloc(l->items, cap * sizeof *items);
        if (items == NULL)
            return false;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = (struct found){resp->query->settlement, resp};
    return true;
}

static void found_free(struct found_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        sanhe__response__free_unpacked(l->items[i].resp, NULL);
    free(l->items);
}

/* One chunk of ids from base; *hits is how many exist. */
static int scan_chunk(struct tc *tc, uint64_t base, struct found_list *l, size_t *hits,
                      struct crash_verdict *v)
{
    Sanhe__Request *reqs[CRASH_CHUNK];
    Sanhe__Response *resps[CRASH_CHUNK];
    for (size_t k = 0; k < CRASH_CHUNK; k++) {
        char rid[32];
        snprintf(rid, sizeof rid, "scan-%" PRIu64, base + k);
        reqs[k] = crash_req_query(rid, base + k, NULL, NULL);
    }
    int rc = crash_run_all(tc, reqs, resps, CRASH_CHUNK);
    *hits = 0;
    for (size_t k = 0; k < CRASH_CHUNK; k++) {
        Sanhe__Response *r = resps[k];
        bool found = rc == 0 && r->query != NULL && r->query->settlement != NULL &&
                     r->query->settlement->hospital != NULL &&
                     r->query->settlement->request_id != NULL;
        if (rc == 0 && !found &&
            (r->error == NULL || r->error->code != SANHE__ERROR_CODE__NOT_FOUND))
            crash_verdict_fail(v, "query of settlement %" PRIu64 ": neither found nor NOT_FOUND",
                               base + k);
        if (found && found_add(l, r))
            (*hits)++;
        else
            sanhe__response__free_unpacked(r, NULL);
    }
    return rc;
}

/* Settlement ids are handed out in order from 1; the scan ends at the
 * first chunk without any (a gap inside a chunk is allowed). */
static int scan_all(struct tc *tc, struct found_list *l, struct crash_verdict *v)
{
    size_t hits = 1;
    int rc = 0;
    for (uint64_t base = 1; rc == 0 && hits > 0; base += CRASH_CHUNK)
        rc = scan_chunk(tc, base, l, &hits, v);
    return rc;
}

static int found_cmp(const void *a, const void *b)
{
    const Sanhe__Settlement *x = ((const struct found *)a)->s, *y = ((const struct found *)b)->s;
    int c = strcmp(x->hospital, y->hospital);
    if (c == 0)
        c = strcmp(x->request_id, y->request_id);
    return c != 0 ? c
                  : (x->settlement_id > y->settlement_id) - (x->settlement_id < y->settlement_id);
}

/* The first settlement of (hospital, rid) in the sorted list, and how many. */
static size_t found_range(const struct found_list *l, const char *hospital, const char *rid,
                          size_t *count)
{
    size_t lo = 0, hi = l->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const Sanhe__Settlement *s = l->items[mid].s;
        int c = strcmp(s->hospital, hospital);
        if (c == 0)
            c = strcmp(s->request_id, rid);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < l->count && strcmp(l->items[end].s->hospital, hospital) == 0 &&
           strcmp(l->items[end].s->request_id, rid) == 0)
        end++;
    *count = end - lo;
    return lo;
}

/* ---- the settles of each client against the scan ----------------------------------------- */

static bool same_breakdown(const Sanhe__Breakdown *a, const Sanhe__Breakdown *b)
{
    if (a == NULL || b == NULL)
        return false;
    size_t na = sanhe__breakdown__get_packed_size(a), nb = sanhe__breakdown__get_packed_size(b);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    bool same = pa != NULL && pb != NULL && na == nb;
    if (same) {
        sanhe__breakdown__pack(a, pa);
        sanhe__breakdown__pack(b, pb);
        same = memcmp(pa, pb, na) == 0;
    }
    free(pa);
    free(pb);
    return same;
}

/* A settle the client knows landed: exactly one settlement, as told. */
static void check_landed(const struct found_list *l, const struct crash_client *c,
                         const struct crash_op *op, struct crash_verdict *v)
{
    size_t count, at = found_range(l, c->hospital, op->rid, &count);
    v->landed++;
    v->undone += op->undone;
    if (count == 0) {
        v->lost++;
        crash_verdict_fail(v, "%s %s: settlement %" PRIu64 " (%s) is not in the engine",
                           c->hospital, op->rid, op->settlement_id,
                           op->acked ? "acknowledged" : "answered after a retry");
        return;
    }
    v->duplicates += count - 1;
    if (count > 1)
        crash_verdict_fail(v, "%s %s: %zu settlements for one request id", c->hospital, op->rid,
                           count);
    const Sanhe__Settlement *s = l->items[at].s;
    bool reversed = s->state == SANHE__SETTLEMENT_STATE__REVERSED;
    const Sanhe__Breakdown *told =
        op->reply != NULL && op->reply->settle != NULL ? op->reply->settle->breakdown : NULL;
    if (s->settlement_id != op->settlement_id || reversed != op->undone ||
        !same_breakdown(s->breakdown, told)) {
        v->mismatches++;
        crash_verdict_fail(v,
                           "%s %s: the engine has settlement %" PRIu64 " (reversed %d), the "
                           "client was told %" PRIu64 " (reversed %d), amounts %s",
                           c->hospital, op->rid, s->settlement_id, reversed, op->settlement_id,
                           op->undone, same_breakdown(s->breakdown, told) ? "equal" : "differ");
    }
}

static void check_client(const struct found_list *l, const struct crash_client *c,
                         struct crash_verdict *v)
{
    uint64_t landed = 0, in_engine = 0;
    for (size_t i = 0; i < c->count; i++) {
        const struct crash_op *op = &c->ops[i];
        size_t count;
        if (op->kind != CRASH_SETTLE)
            continue;
        if (op->landed) {
            landed++;
            check_landed(l, c, op, v);
        } else if (op->cancelled_unlanded) {
            found_range(l, c->hospital, op->rid, &count);
            v->duplicates += count;
            if (count > 0)
                crash_verdict_fail(v, "%s %s: cancelled before it landed, yet settled", c->hospital,
                                   op->rid);
        } else {
            crash_verdict_fail(v, "%s %s: never resolved (a bug of the test)", c->hospital,
                               op->rid);
        }
    }
    for (size_t i = 0; i < l->count; i++)
        in_engine += strcmp(l->items[i].s->hospital, c->hospital) == 0;
    if (in_engine != landed)
        crash_verdict_fail(
            v, "%s: %" PRIu64 " settlements in the engine, %" PRIu64 " settle request ids landed",
            c->hospital, in_engine, landed);
}

/* ---- by request id ------------------------------------------------------------------------ */

/* Each settle request id of a client, queried by (hospital, request id). */
static void check_by_rid(struct tc *tc, const struct crash_client *c, struct crash_verdict *v)
{
    size_t n = 0, *idx = malloc((c->count + 1) * sizeof *idx);
    Sanhe__Request **reqs = malloc((c->count + 1) * sizeof *reqs);
    Sanhe__Response **resps = malloc((c->count + 1) * sizeof *resps);
    for (size_t i = 0; idx != NULL && reqs != NULL && resps != NULL && i < c->count; i++) {
        if (c->ops[i].kind != CRASH_SETTLE)
            continue;
        char rid[48];
        snprintf(rid, sizeof rid, "byrid-%s", c->ops[i].rid);
        idx[n] = i;
        reqs[n++] = crash_req_query(rid, 0, c->hospital, c->ops[i].rid);
    }
    int rc = idx != NULL && reqs != NULL && resps != NULL ? crash_run_all(tc, reqs, resps, n)
                                                          : SH_E_INTERNAL;
    if (rc != 0)
        crash_verdict_fail(v, "%s: queries by request id failed: %s", c->hospital,
                           sh_error_name(rc));
    for (size_t k = 0; k < n; k++) {
        const struct crash_op *op = &c->ops[idx[k]];
        const Sanhe__Response *r = resps[k];
        const Sanhe__Settlement *s = r != NULL && r->query != NULL ? r->query->settlement : NULL;
        bool ok = op->landed ? s != NULL && s->settlement_id == op->settlement_id
                             : r != NULL && r->error != NULL &&
                                   r->error->code == SANHE__ERROR_CODE__NOT_FOUND;
        if (rc == 0 && !ok) {
            v->mismatches++;
            crash_verdict_fail(
                v, "%s %s: the query by request id gives settlement %" PRIu64 ", expected %" PRIu64,
                c->hospital, op->rid, s != NULL ? s->settlement_id : 0, op->settlement_id);
        }
        sanhe__response__free_unpacked(resps[k], NULL);
    }
    free(idx);
    free(reqs);
    free(resps);
}

bool crash_verify(const struct crash_env *env, struct crash_client *clients, int n,
                  struct crash_verdict *v)
{
    memset(v, 0, sizeof *v);
    struct tc *tc;
    if (crash_env_connect(env, CRASH_BUREAU, 50, &tc) != 0) {
        crash_verdict_fail(v, "cannot connect as %s", CRASH_BUREAU);
        return false;
    }
    struct found_list l = {0};
    int rc = scan_all(tc, &l, v);
    if (rc != 0)
        crash_verdict_fail(v, "the scan of settlements failed: %s", sh_error_name(rc));
    v->settlements = l.count;
    if (l.count > 0)
        qsort(l.items, l.count, sizeof *l.items, found_cmp);
    for (int i = 0; i < n && rc == 0; i++) {
        check_client(&l, &clients[i], v);
        check_by_rid(tc, &clients[i], v);
    }
    found_free(&l);
    if (rc == 0)
        crash_verify_accumulators(tc, clients, n, v);
    tc_close(tc);
    return v->failure[0] == '\0';
}
