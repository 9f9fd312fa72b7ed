/*
 * Person lookups (docs/limits.md): eligibility, query and presettle read a
 * person's data. Eligibility and presettle are held to the terminal's rate
 * (rate.c); every one of the three is recorded in the audit (engine/ledger/audit.c): terminal,
 * masked resident id, operation, time, outcome. A lookup is answered on the loop thread as any
 * read, but its reply waits in the group-commit queue until the batch that carries its audit record
 * is committed and synced: no person's data leaves the engine before the record of who asked is on
 * disk. A refusal for the rate is audited the same way. Settles are audited by the batch that
 * applies them (lookup_settle_audit).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "net_internal.h"
#include "net_log.h"
#include "sh_person_id.h"

#define LOOKUP_LOG_EVERY 1000 /* past the first refusal, one line per this many */

static int64_t lookup_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool lookup_audited(const Sanhe__Request *request)
{
    return request->op_case == SANHE__REQUEST__OP_ELIGIBILITY ||
           request->op_case == SANHE__REQUEST__OP_QUERY ||
           request->op_case == SANHE__REQUEST__OP_PRESETTLE;
}

/* Eligibility and presettle name any person; a query reaches only the
 * settlements of the caller's own hospital (the bureau's: any), so it is
 * audited and counted but not held to the rate. */
static bool lookup_rated(const Sanhe__Request *request)
{
    return request->op_case == SANHE__REQUEST__OP_ELIGIBILITY ||
           request->op_case == SANHE__REQUEST__OP_PRESETTLE;
}

static const char *claim_person(const Sanhe__Claim *claim)
{
    return claim != NULL ? claim->person : NULL;
}

/* The resident id the request names; a query names a settlement, whose
 * person is in the reply. person_buf holds a copy from the reply. */
static const char *lookup_person(const Sanhe__Request *request, const struct sh_reply *reply,
                                 char *person_buf, size_t cap)
{
    switch (request->op_case) {
    case SANHE__REQUEST__OP_ELIGIBILITY:
        return request->eligibility != NULL ? request->eligibility->person : NULL;
    case SANHE__REQUEST__OP_PRESETTLE:
        return request->presettle != NULL ? claim_person(request->presettle->claim) : NULL;
    case SANHE__REQUEST__OP_QUERY:
        break;
    default:
        return NULL;
    }
    person_buf[0] = '\0';
    if (reply == NULL || reply->data == NULL)
        return person_buf;
    Sanhe__Response *resp = sanhe__response__unpack(NULL, reply->len, reply->data);
    if (resp == NULL)
        return person_buf;
    if (resp->result_case == SANHE__RESPONSE__RESULT_QUERY && resp->query->settlement != NULL) {
        const char *p = claim_person(resp->query->settlement->claim);
        size_t n = p != NULL ? strnlen(p, cap - 1) : 0;
        if (n > 0)
            memcpy(person_buf, p, n);
        person_buf[n] = '\0';
    }
    sanhe__response__free_unpacked(resp, NULL);
    return person_buf;
}

static void lookup_log_refusal(const struct conn *c, const Sanhe__Request *request,
                               const char *person, uint64_t refused)
{
    if (refused != 1 && refused % LOOKUP_LOG_EVERY != 0)
        return;
    char masked[19];
    sh_person_id_mask(person != NULL ? person : "", masked);
    net_log(NET_LOG_WARN,
            "conn %llu %s: LOOKUP_RATE_EXCEEDED: terminal %s (hospital %s) %s of %s refused; "
            "%llu of its lookups refused so far (lookups_per_minute %u)",
            (unsigned long long)c->id, c->peer, c->caller.terminal,
            c->caller.hospital[0] ? c->caller.hospital : "-", frame_op_name(request), masked,
            (unsigned long long)refused, c->server->limits.lookups_per_minute);
}

void lookup_dispatch(struct conn *c, Sanhe__Request *request)
{
    assert(c->has_caller && lookup_audited(request));
    struct net_server *server = c->server;
    int64_t now_ms = lookup_now_ms();
    uint64_t begin_us = uv_hrtime() / 1000;
    struct sh_reply reply = {0};
    uint64_t refused = 0;
    char person_buf[64];
    const char *person = NULL;
    if (!lookup_rated(request))
        rate_lookup_note(server, &c->caller, uv_now(server->loop));
    if (lookup_rated(request) &&
        !rate_lookup_admit(server, &c->caller, uv_now(server->loop), &refused)) {
        person = lookup_person(request, NULL, person_buf, sizeof person_buf);
        lookup_log_refusal(c, request, person, refused);
        char msg[160];
        snprintf(msg, sizeof msg,
                 "terminal %s is past its person-lookup rate (%u a minute); retry later",
                 c->caller.terminal, server->limits.lookups_per_minute);
        if (frame_error_reply(request->request_id, SH_E_LOOKUP_RATE_EXCEEDED, msg, &reply) != 0)
            reply = (struct sh_reply){0};
    } else {
        server->stats.reads++;
        if (ledger_read(server->ledger, &c->caller, request, &reply) != 0) {
            free(reply.data);
            reply = (struct sh_reply){0};
            frame_error_reply(request->request_id, SH_E_INTERNAL, "the engine could not answer",
                              &reply);
        }
        person = lookup_person(request, &reply, person_buf, sizeof person_buf);
    }
    if (reply.data == NULL) { /* out of memory */
        sanhe__request__free_unpacked(request, NULL);
        conn_abort(c, "out of memory");
        return;
    }
    int outcome = frame_reply_error(reply.data, reply.len);
    if (outcome == SH_E_FORBIDDEN)
        conn_log_forbidden(c, request);
    struct ledger_audit_record rec;
    ledger_audit_fill(&rec, &c->caller, frame_op_name(request), person, outcome, now_ms);
    if (server->limits.lookup_answer_after_audit == 0) {
        durable_audit_pending(server->durable, &rec); /* a loss is counted and logged there */
        net_stats_record_op(&server->stats, frame_op_name(request), uv_hrtime() / 1000 - begin_us);
        conn_queue_reply(c, &reply);
        free(reply.data);
        sanhe__request__free_unpacked(request, NULL);
        return;
    }
    if (handoff_submit_answered(server, c, request, &reply, &rec) != 0) {
        free(reply.data);
        sanhe__request__free_unpacked(request, NULL);
        conn_abort(c, "out of memory");
    }
}

void lookup_settle_audit(struct durable_item *item, int64_t now_ms)
{
    if (item->request->op_case != SANHE__REQUEST__OP_SETTLE || item->reply.data == NULL)
        return;
    const Sanhe__SettleRequest *s = item->request->settle;
    int outcome = frame_reply_error(item->reply.data, item->reply.len);
    ledger_audit_fill(&item->audit, &item->caller, "settle",
                      s != NULL ? claim_person(s->claim) : NULL, outcome, now_ms);
    item->audited = true;
}
