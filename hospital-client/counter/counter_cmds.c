/* The commands that talk to the engine directly (no queue). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "counter.h"

/* The patient's name for the receipt: an eligibility look-up, after the
 * settle, in what is left of the command's deadline (the cashier was
 * promised the deadline for the whole command). A failure only leaves the
 * name off the receipt. */
static char *name_of(sanhe_client *c, const char *person, const char *date, int64_t deadline_ms)
{
    struct sanhe_eligibility e;
    int64_t left = deadline_ms - counter_now_ms();
    if (left < 1 || sanhe_eligibility(c, person, date, (int)left, &e) != 0)
        return NULL;
    char *name = e.name[0] ? strdup(e.name) : NULL;
    sanhe_eligibility_free(&e);
    return name;
}

static char *patient_name(sanhe_client *c, const struct bill *b, int64_t deadline_ms)
{
    return name_of(c, b->person, b->date, deadline_ms);
}

int cmd_settle(const struct counter_opts *o, const char *file, bool trial)
{
    struct bill b;
    char msg[256];
    if (bill_read(file, &b, msg, sizeof msg) != 0) {
        fprintf(stderr, _("sanhe-counter: %s: %s\n"), file, msg);
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
    int64_t deadline = counter_deadline_ms(o);
    struct sanhe_claim claim;
    bill_claim(&b, &claim);
    struct sanhe_settle_result r;
    int lrc = trial ? sanhe_presettle(c, &claim, counter_left_ms(deadline), &r)
                    : sanhe_settle(c, &claim, o->request_id[0] ? o->request_id : NULL,
                                   counter_left_ms(deadline), &r);
    rc = exit_of(c, lrc, trial ? _("presettle") : _("settle"));
    /* The reply's bytes, kept: the name look-up below is a call too. */
    size_t len = 0;
    const void *last = rc == EXIT_OK ? sanhe_last_reply(c, &len) : NULL;
    void *reply = last != NULL ? malloc(len) : NULL;
    if (reply != NULL)
        memcpy(reply, last, len);
    char rid[SANHE_REQUEST_ID_MAX];
    snprintf(rid, sizeof rid, "%s", sanhe_last_request_id(c));
    bool want_name = !o->json || (trial && o->queue[0] != '\0'); /* estimates keep it */
    char *name = rc == EXIT_OK && want_name ? patient_name(c, &b, deadline) : NULL;
    if (rc == EXIT_OK && reply == NULL)
        rc = EXIT_LOCAL;
    if (rc == EXIT_OK && trial && o->queue[0] != '\0')
        estimate_save(o, &b, reply, len, name); /* shown if this bill is queued later */
    if (rc == EXIT_OK) {
        rc = print_claim_bytes(o, reply, len, &b, name);
        if (!trial)
            fprintf(stderr, _("request id %s\n"), rid);
    }
    sanhe_settle_result_free(&r);
    free(reply);
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

/* The reversal receipt: the settlement as the engine now holds it (a
 * query), in what is left of the deadline. The reversal itself is done
 * whatever happens here; without the query only the one line prints. */
static int print_reversal(const struct counter_opts *o, sanhe_client *c,
                          const struct sanhe_reverse_result *r, const char *rid, int64_t deadline)
{
    int64_t left = deadline - counter_now_ms();
    struct sanhe_settlement s;
    Sanhe__Response *resp = NULL;
    if (left >= 1 && sanhe_query(c, r->settlement_id, NULL, (int)left, &s) == 0) {
        size_t len = 0;
        const void *bytes = sanhe_last_reply(c, &len);
        resp = bytes != NULL ? sanhe__response__unpack(NULL, len, bytes) : NULL;
        sanhe_settlement_free(&s);
    }
    const Sanhe__Settlement *st = resp != NULL && resp->result_case == SANHE__RESPONSE__RESULT_QUERY
                                      ? resp->query->settlement
                                      : NULL;
    if (st == NULL || st->claim == NULL || st->breakdown == NULL) {
        printf(_("settlement %llu reversed on %s (request id %s)\n"),
               (unsigned long long)r->settlement_id, r->business_day, rid);
        if (resp != NULL)
            sanhe__response__free_unpacked(resp, NULL);
        return EXIT_OK;
    }
    char *name = name_of(c, st->claim->person, st->claim->date, deadline);
    struct sh_receipt rec = {
        .hospital_code = st->hospital,
        .hospital_name = o->hospital_name[0] ? o->hospital_name : NULL,
        .person_id = st->claim->person,
        .person_name = name,
        .visit = st->claim->visit,
        .date = st->claim->date,
        .settlement_id = st->settlement_id,
        .business_day = st->business_day,
        .breakdown = st->breakdown,
        .reversal = 1,
        .reversal_day = r->business_day[0] != '\0' ? r->business_day : st->reversal_day,
        .reversal_request_id = rid,
    };
    sh_receipt_print(stdout, &rec, o->lang);
    free(name);
    sanhe__response__free_unpacked(resp, NULL);
    return EXIT_OK;
}

int cmd_reverse(const struct counter_opts *o, const char *id)
{
    uint64_t sid;
    if (parse_id(id, &sid) != 0) {
        fprintf(stderr, _("sanhe-counter: reverse: %s is not a settlement id\n"), id);
        return EXIT_USAGE;
    }
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    int64_t deadline = counter_deadline_ms(o);
    struct sanhe_reverse_result r;
    rc = exit_of(c,
                 sanhe_reverse(c, sid, o->request_id[0] ? o->request_id : NULL,
                               counter_left_ms(deadline), &r),
                 _("reverse"));
    char rid[SANHE_REQUEST_ID_MAX];
    snprintf(rid, sizeof rid, "%s", sanhe_last_request_id(c));
    if (rc == EXIT_OK && o->json)
        print_reply_json(c);
    else if (rc == EXIT_OK)
        rc = print_reversal(o, c, &r, rid, deadline);
    sanhe_client_free(c);
    return rc;
}

int cmd_cancel(const struct counter_opts *o, const char *request_id)
{
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    int64_t deadline = counter_deadline_ms(o);
    struct sanhe_cancel_result r;
    rc = exit_of(c, sanhe_cancel(c, request_id, NULL, counter_left_ms(deadline), &r), _("cancel"));
    char rid[SANHE_REQUEST_ID_MAX];
    snprintf(rid, sizeof rid, "%s", sanhe_last_request_id(c));
    if (rc == EXIT_OK && o->json)
        print_reply_json(c);
    else if (rc == EXIT_OK && r.reversed) {
        /* The patient is given money back: the reversal receipt. */
        printf(_("request %s had settled (settlement %llu): now reversed\n"), request_id,
               (unsigned long long)r.settlement_id);
        struct sanhe_reverse_result rev = {.settlement_id = r.settlement_id, .reversed = 1};
        rc = print_reversal(o, c, &rev, rid, deadline);
    } else if (rc == EXIT_OK)
        printf(_("request %s had not settled: it is cancelled and never will\n"), request_id);
    sanhe_client_free(c);
    return rc;
}

int cmd_query(const struct counter_opts *o, const char *id, const char *request_id)
{
    uint64_t sid = 0;
    if (request_id == NULL && (id == NULL || parse_id(id, &sid) != 0)) {
        fprintf(stderr, _("sanhe-counter: query: give a settlement id or --request-id R\n"));
        return EXIT_USAGE;
    }
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    struct sanhe_settlement s;
    rc = exit_of(c, sanhe_query(c, sid, request_id, 0, &s), _("query"));
    if (rc == EXIT_OK && o->json)
        rc = print_query_json(c);
    else if (rc == EXIT_OK) {
        char total[32], fund[32], patient[32];
        sh_yuan_format(s.breakdown.total, total);
        sh_yuan_format(s.breakdown.fund_total, fund);
        sh_yuan_format(s.breakdown.patient_pays, patient);
        printf(_("settlement %llu request %s %s %s day %s\n"), (unsigned long long)s.settlement_id,
               s.request_id, sh_visit_label(s.visit, o->lang), s.date, s.business_day);
        printf(_("  total %s funds %s patient %s\n"), total, fund, patient);
        if (s.state == SANHE_REVERSED)
            printf(_("  REVERSED on %s by request %s\n"), s.reversal_day, s.reversal_request_id);
        else
            printf("%s\n", _("  in force"));
    }
    sanhe_settlement_free(&s);
    sanhe_client_free(c);
    return rc;
}

/* Today's date, as the counter's clock has it: asked for and printed, so
 * that the cashier sees the date the answer is for. */
static const char *today(char out[16])
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    if (strftime(out, 16, "%Y-%m-%d", &tm) == 0)
        out[0] = '\0';
    return out;
}

int cmd_eligibility(const struct counter_opts *o, const char *person, const char *date)
{
    char day[16];
    if (date == NULL)
        date = today(day);
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    struct sanhe_eligibility e;
    rc = exit_of(c, sanhe_eligibility(c, person, date, 0, &e), _("eligibility"));
    if (rc == EXIT_OK && o->json)
        print_reply_json(c);
    else if (rc == EXIT_OK)
        print_eligibility(o, &e, date);
    sanhe_eligibility_free(&e);
    sanhe_client_free(c);
    return rc;
}
