#include "crash_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_env.h"
#include "sh_error.h"

void crash_client_init(struct crash_client *c, int index, const char *prefix, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->index = index;
    crash_terminal(index, c->terminal);
    c->hospital = crash_hospitals[index];
    c->rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)index + 1;
    snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
}

void crash_client_free(struct crash_client *c)
{
    for (size_t i = 0; i < c->count; i++) {
        sanhe__request__free_unpacked(c->ops[i].request, NULL);
        sanhe__response__free_unpacked(c->ops[i].reply, NULL);
    }
    free(c->ops);
    c->ops = NULL;
    c->count = c->cap = 0;
}

size_t crash_op_new(struct crash_client *c, enum crash_kind kind, size_t target)
{
    if (c->count == c->cap) {
        size_t cap = c->cap > 0 ? c->cap * 2 : 256;
        struct crash_op *ops = realloc(c->ops, cap * sizeof *ops);
        if (ops == NULL)
            return CRASH_NO_TARGET;
        c->ops = ops;
        c->cap = cap;
    }
    struct crash_op *op = &c->ops[c->count];
    memset(op, 0, sizeof *op);
    static const char kinds[] = {'s', 'r', 'c'};
    snprintf(op->rid, sizeof op->rid, "%s%c%06" PRIu64, c->prefix, kinds[kind], c->next_rid++);
    op->kind = kind;
    op->target = target;
    c->stats.sent++;
    return c->count++;
}

void crash_fail(struct crash_client *c, const char *fmt, ...)
{
    if (c->failure[0] != '\0')
        return;
    int n = snprintf(c->failure, sizeof c->failure, "client %d (%s): ", c->index, c->hospital);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->failure + n, sizeof c->failure - (size_t)n, fmt, ap);
    va_end(ap);
}

const char *crash_error_text(const Sanhe__Response *resp, char *buf, size_t len)
{
    if (resp->error == NULL)
        return "no error";
    snprintf(buf, len, "%s: %s", sh_error_name(-(int)resp->error->code),
             resp->error->message != NULL ? resp->error->message : "");
    return buf;
}

static bool record_settle(struct crash_client *c, struct crash_op *op, const Sanhe__Response *r)
{
    if (r->settle == NULL || r->settle->settlement_id == 0 || r->settle->breakdown == NULL) {
        char err[300];
        crash_fail(c, "settle %s: %s", op->rid, crash_error_text(r, err, sizeof err));
        return false;
    }
    if (op->landed && r->settle->settlement_id != op->settlement_id) {
        crash_fail(c, "settle %s: settlement %" PRIu64 ", but its cancel reversed %" PRIu64,
                   op->rid, r->settle->settlement_id, op->settlement_id);
        return false;
    }
    op->landed = true;
    op->settlement_id = r->settle->settlement_id;
    return true;
}

/* A reverse or cancel of an acknowledged settle must reverse exactly it. */
static bool record_undo(struct crash_client *c, struct crash_op *op, const Sanhe__Response *r)
{
    struct crash_op *target = &c->ops[op->target];
    bool reversed = op->kind == CRASH_REVERSE ? r->reverse != NULL && r->reverse->reversed
                                              : r->cancel != NULL && r->cancel->reversed;
    uint64_t id = op->kind == CRASH_REVERSE ? (r->reverse ? r->reverse->settlement_id : 0)
                                            : (r->cancel ? r->cancel->settlement_id : 0);
    if (!reversed || id != target->settlement_id) {
        char err[300];
        crash_fail(c,
                   "%s %s of settle %s (settlement %" PRIu64 "): reversed %d, id %" PRIu64 " (%s)",
                   op->kind == CRASH_REVERSE ? "reverse" : "cancel", op->rid, target->rid,
                   target->settlement_id, reversed, id, crash_error_text(r, err, sizeof err));
        return false;
    }
    target->undone = true;
    return true;
}

bool crash_record(struct crash_client *c, size_t i, Sanhe__Response *resp)
{
    struct crash_op *op = &c->ops[i];
    bool ok = resp->error == NULL &&
              (op->kind == CRASH_SETTLE ? record_settle(c, op, resp) : record_undo(c, op, resp));
    if (resp->error != NULL) {
        char err[300];
        crash_fail(c, "%s: refused: %s", op->rid, crash_error_text(resp, err, sizeof err));
    }
    if (!ok) {
        sanhe__response__free_unpacked(resp, NULL);
        return false;
    }
    sanhe__response__free_unpacked(op->reply, NULL);
    op->reply = resp;
    return true;
}

size_t crash_find_rid(const struct crash_client *c, const size_t *idx, size_t n, const char *rid)
{
    for (size_t k = 0; k < n; k++)
        if (rid != NULL && strcmp(c->ops[idx[k]].rid, rid) == 0)
            return k;
    return n;
}
