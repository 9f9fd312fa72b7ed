/*
 * What every reply must be, whatever the request. The checks are written
 * from docs/rules.md and the proto, not from the ledger's code, so that they can
 * disagree with it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"

#define CODES 64 /* -SH_E_* codes are below it */

static unsigned long long replies_by_code[CODES];

void fuzz_stats_print(unsigned ledgers, unsigned map_growths)
{
    char line[1024];
    int at = snprintf(line, sizeof line, "fuzz: replies:");
    for (int c = 0; c < CODES && at > 0 && (size_t)at < sizeof line; c++)
        if (replies_by_code[c] > 0)
            at += snprintf(line + at, sizeof line - (size_t)at, " %s %llu,",
                           c == 0 ? "ok" : sh_error_name(-c), replies_by_code[c]);
    fprintf(stderr, "%s ledgers %u, map growths %u\n", line, ledgers, map_growths);
}

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

bool fuzz_role_allows(Sanhe__Request__OpCase op, enum sh_role role)
{
    switch (op) {
    case SANHE__REQUEST__OP_SETTLE:
    case SANHE__REQUEST__OP_PRESETTLE:
    case SANHE__REQUEST__OP_REVERSE:
    case SANHE__REQUEST__OP_CANCEL:
        return role == SH_ROLE_COUNTER;
    case SANHE__REQUEST__OP_QUERY:
    case SANHE__REQUEST__OP_ELIGIBILITY:
        return true;
    case SANHE__REQUEST__OP_RECONCILE: /* a counter: its own hospital's day only */
        return role == SH_ROLE_BUREAU || role == SH_ROLE_COUNTER;
    case SANHE__REQUEST__OP_LOAD:
    case SANHE__REQUEST__OP_PERSON_UPDATE:
    case SANHE__REQUEST__OP_IMPORT_BEGIN:
    case SANHE__REQUEST__OP_IMPORT_CHUNK:
    case SANHE__REQUEST__OP_IMPORT_COMMIT:
    case SANHE__REQUEST__OP_IMPORT_ABORT:
        return role == SH_ROLE_ADMIN;
    case SANHE__REQUEST__OP_CROSSCHECK:
    case SANHE__REQUEST__OP_IMPORT_LOG:
    case SANHE__REQUEST__OP_AUDIT: /* the person-lookup records (engine/ledger/audit.c) */
        return role == SH_ROLE_BUREAU || role == SH_ROLE_ADMIN;
    default:
        return false;
    }
}

static bool same_str(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* Codes of the transport or of failures: the ledger must never answer a
 * well-formed frame with one of them (INTERNAL would be a bug). */
static bool code_ledger_may_give(int code)
{
    switch (code) {
    case SH_E_INTERNAL:
    case SH_E_BAD_FRAME:
    case SH_E_FRAME_TOO_LARGE:
    case SH_E_UNAVAILABLE:
    case SH_E_TIMEOUT:
        return false;
    default:
        return strcmp(sh_error_name(code), "UNKNOWN_ERROR") != 0;
    }
}

/* docs/rules.md's invariants over one breakdown. */
static void check_breakdown(const Sanhe__Breakdown *b, bool trial)
{
    if (b == NULL)
        fuzz_fail("a settle or presettle result without a breakdown");
    if (b->out_of_scope < 0 || b->over_limit < 0 || b->pre_selfpay < 0 || b->in_scope < 0)
        fuzz_fail("a negative part of the total");
    if (b->total != b->out_of_scope + b->over_limit + b->pre_selfpay + b->in_scope)
        fuzz_fail("total %lld is not the sum of its parts", (long long)b->total);
    if (b->total != b->fund_total + b->patient_pays)
        fuzz_fail("total != fund_total + patient_pays");
    if (b->patient_pays < b->out_of_scope + b->over_limit + b->pre_selfpay)
        fuzz_fail("patient_pays %lld is less than what is outside the funds' scope",
                  (long long)b->patient_pays);
    int64_t sum = 0;
    for (size_t i = 0; i < b->n_funds; i++) {
        if (b->funds[i]->pay < 0 || b->funds[i]->deductible < 0)
            fuzz_fail("fund %zu pays or deducts a negative amount", i);
        sum += b->funds[i]->pay;
    }
    if (sum != b->fund_total)
        fuzz_fail("the funds' pay adds up to %lld, fund_total is %lld", (long long)sum,
                  (long long)b->fund_total);
    if (!b->has_trial || b->trial != trial)
        fuzz_fail("trial is not %d", trial);
}

static void check_result(const Sanhe__Request *request, const Sanhe__Response *r)
{
    /* The two oneofs number their members alike: settle = 10 ... load = 17. */
    if ((int)r->result_case != (int)request->op_case)
        fuzz_fail("a %s request got result %d", frame_op_name(request), (int)r->result_case);
    if (r->result_case == SANHE__RESPONSE__RESULT_SETTLE) {
        check_breakdown(r->settle->breakdown, false);
        if (r->settle->settlement_id == 0 || r->settle->business_day == NULL)
            fuzz_fail("a settlement without an id or a business day");
    } else if (r->result_case == SANHE__RESPONSE__RESULT_PRESETTLE) {
        check_breakdown(r->presettle->breakdown, true);
    }
}

static int check_error(const Sanhe__Request *request, const struct sh_caller *caller,
                       const Sanhe__Error *e)
{
    int code = -(int)e->code;
    if (!e->has_code || e->code == SANHE__ERROR_CODE__OK)
        fuzz_fail("an error without a code");
    if (!code_ledger_may_give(code))
        fuzz_fail("the ledger answered %s: %s", sh_error_name(code),
                  e->message != NULL ? e->message : "");
    if (e->message == NULL || e->message[0] == '\0')
        fuzz_fail("%s without a message", sh_error_name(code));
    if (request->op_case == SANHE__REQUEST__OP__NOT_SET && code != SH_E_BAD_REQUEST &&
        code != SH_E_STORAGE_FULL)
        fuzz_fail("a request naming no operation got %s", sh_error_name(code));
    /* A batch that cannot commit answers each of its requests STORAGE_FULL,
     * whatever they were (engine/durable/durable.c does the same). */
    if (code == SH_E_STORAGE_FULL)
        return code;
    if (request->op_case != SANHE__REQUEST__OP__NOT_SET &&
        !fuzz_role_allows(request->op_case, caller->role) && code != SH_E_FORBIDDEN)
        fuzz_fail("%s by role %d got %s, not FORBIDDEN", frame_op_name(request), (int)caller->role,
                  sh_error_name(code));
    return code;
}

int fuzz_check_reply(const Sanhe__Request *request, const struct sh_caller *caller,
                     const struct sh_reply *reply)
{
    if (reply->data == NULL || reply->len == 0)
        fuzz_fail("no reply to %s", frame_op_name(request));
    Sanhe__Response *r = sanhe__response__unpack(NULL, reply->len, reply->data);
    if (r == NULL)
        fuzz_fail("the reply to %s does not decode", frame_op_name(request));
    if (!same_str(r->request_id, request->request_id))
        fuzz_fail("the reply does not carry the request id back");
    if ((r->error != NULL) == (r->result_case != SANHE__RESPONSE__RESULT__NOT_SET))
        fuzz_fail("a reply with %s",
                  r->error != NULL ? "an error and a result" : "neither error nor result");
    int code = r->error != NULL ? check_error(request, caller, r->error) : 0;
    if (code == 0 && !fuzz_role_allows(request->op_case, caller->role))
        fuzz_fail("%s succeeded for role %d", frame_op_name(request), (int)caller->role);
    if (code == 0)
        check_result(request, r);
    replies_by_code[-code < CODES ? -code : 0]++;
    /* The server reads the code without unpacking (to log FORBIDDEN). */
    if (frame_reply_error(reply->data, reply->len) != code)
        fuzz_fail("frame_reply_error read %d, the reply has %d",
                  frame_reply_error(reply->data, reply->len), code);
    sanhe__response__free_unpacked(r, NULL);
    return code;
}

void fuzz_check_refusal(int code)
{
    struct sh_reply reply = {0};
    if (frame_error_reply(NULL, code, "refused", &reply) != 0)
        fuzz_fail("frame_error_reply failed");
    Sanhe__Response *r = sanhe__response__unpack(NULL, reply.len, reply.data);
    if (r == NULL || r->error == NULL || -(int)r->error->code != code ||
        r->result_case != SANHE__RESPONSE__RESULT__NOT_SET)
        fuzz_fail("the refusal of a frame does not say %s", sh_error_name(code));
    if (frame_reply_error(reply.data, reply.len) != code)
        fuzz_fail("frame_reply_error misreads a refusal");
    sanhe__response__free_unpacked(r, NULL);
    free(reply.data);
}
