/* The commands that talk to the engine directly (no queue). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"

/* The patient's name for the receipt: an eligibility look-up. A failure
 * only leaves the name off the receipt. */
static char *patient_name(sanhe_client *c, const struct bill *b)
{
    struct sanhe_eligibility e;
    if (sanhe_eligibility(c, b->person, b->date, 0, &e) != 0)
        return NULL;
    char *name = e.name[0] ? strdup(e.name) : NULL;
    sanhe_eligibility_free(&e);
    return name;
}

int cmd_settle(const struct counter_opts *o, const char *file, bool trial)
{
    struct bill b;
    char msg[256];
    if (bill_read(file, &b, msg, sizeof msg) != 0) {
        fprintf(stderr, "sanhe-counter: %s: %s\n", file, msg);
        return EXIT_USAGE;
    }
    if (!trial && o->queue[0] != '\0') {
        int rc = cmd_settle_queued(o, &b);
        bill_free(&b);
        return rc;
    }
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0) {
        bill_free(&b);
        return rc;
    }
    char *name = o->json ? NULL : patient_name(c, &b);
    struct sanhe_claim claim;
    bill_claim(&b, &claim);
    struct sanhe_settle_result r;
    int lrc = trial ? sanhe_presettle(c, &claim, 0, &r)
                    : sanhe_settle(c, &claim, o->request_id[0] ? o->request_id : NULL, 0, &r);
    rc = exit_of(c, lrc, trial ? "presettle" : "settle");
    if (rc == EXIT_OK && trial && o->queue[0] != '\0') {
        size_t len = 0;
        const void *reply = sanhe_last_reply(c, &len);
        if (reply != NULL)
            estimate_save(o, &b, reply, len); /* shown if this bill is queued later */
    }
    if (rc == EXIT_OK) {
        rc = print_claim_reply(o, c, &b, name);
        if (!trial)
            fprintf(stderr, "request id %s\n", sanhe_last_request_id(c));
    }
    sanhe_settle_result_free(&r);
    free(name);
    sanhe_client_free(c);
    bill_free(&b);
    return rc;
}

static int parse_id(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    *out = v;
    return *end == '\0' && end != s && v != 0 ? 0 : -1;
}

int cmd_reverse(const struct counter_opts *o, const char *id)
{
    uint64_t sid;
    if (parse_id(id, &sid) != 0) {
        fprintf(stderr, "sanhe-counter: reverse: %s is not a settlement id\n", id);
        return EXIT_USAGE;
    }
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    struct sanhe_reverse_result r;
    rc = exit_of(c, sanhe_reverse(c, sid, o->request_id[0] ? o->request_id : NULL, 0, &r),
                 "reverse");
    if (rc == EXIT_OK && o->json)
        print_reply_json(c);
    else if (rc == EXIT_OK)
        printf("settlement %" PRIu64 " reversed on %s (request id %s)\n", r.settlement_id,
               r.business_day, sanhe_last_request_id(c));
    sanhe_client_free(c);
    return rc;
}

int cmd_cancel(const struct counter_opts *o, const char *request_id)
{
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    struct sanhe_cancel_result r;
    rc = exit_of(c, sanhe_cancel(c, request_id, NULL, 0, &r), "cancel");
    if (rc == EXIT_OK && o->json)
        print_reply_json(c);
    else if (rc == EXIT_OK && r.reversed)
        printf("request %s had settled (settlement %" PRIu64 "): now reversed\n", request_id,
               r.settlement_id);
    else if (rc == EXIT_OK)
        printf("request %s had not settled: it is cancelled and never will\n", request_id);
    sanhe_client_free(c);
    return rc;
}

int cmd_query(const struct counter_opts *o, const char *id, const char *request_id)
{
    uint64_t sid = 0;
    if (request_id == NULL && (id == NULL || parse_id(id, &sid) != 0)) {
        fprintf(stderr, "sanhe-counter: query: give a settlement id or --request-id R\n");
        return EXIT_USAGE;
    }
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    struct sanhe_settlement s;
    rc = exit_of(c, sanhe_query(c, sid, request_id, 0, &s), "query");
    if (rc == EXIT_OK && o->json)
        rc = print_query_json(c);
    else if (rc == EXIT_OK) {
        char total[32], fund[32], patient[32];
        sh_yuan_format(s.breakdown.total, total);
        sh_yuan_format(s.breakdown.fund_total, fund);
        sh_yuan_format(s.breakdown.patient_pays, patient);
        printf("settlement %" PRIu64 " request %s %s %s day %s\n  total %s funds %s patient %s\n",
               s.settlement_id, s.request_id, s.visit, s.date, s.business_day, total, fund,
               patient);
        if (s.state == SANHE_REVERSED)
            printf("  REVERSED on %s by request %s\n", s.reversal_day, s.reversal_request_id);
        else
            printf("  in force\n");
    }
    sanhe_settlement_free(&s);
    sanhe_client_free(c);
    return rc;
}

int cmd_eligibility(const struct counter_opts *o, const char *person, const char *date)
{
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    struct sanhe_eligibility e;
    rc = exit_of(c, sanhe_eligibility(c, person, date, 0, &e), "eligibility");
    if (rc == EXIT_OK && o->json)
        print_reply_json(c);
    else if (rc == EXIT_OK)
        print_eligibility(o, &e, date);
    sanhe_eligibility_free(&e);
    sanhe_client_free(c);
    return rc;
}
