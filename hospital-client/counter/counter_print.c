/* Printing replies: receipts for people, JSON for machines. Both read the
 * last reply's bytes (sanhe_last_reply), so every field the engine sent is
 * available, as the receipt printer and the JSON adapter expect. */
#include <stdio.h>
#include <stdlib.h>

#include "counter.h"
#include "sh_json_out.h"

static Sanhe__Response *last_response(sanhe_client *c)
{
    size_t len = 0;
    const void *bytes = sanhe_last_reply(c, &len);
    return bytes != NULL ? sanhe__response__unpack(NULL, len, bytes) : NULL;
}

static int print_response_json(Sanhe__Response *r)
{
    json_t *j = r != NULL ? sh_json_from_response(r, 0) : NULL;
    int rc = j != NULL && json_dumpf(j, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) == 0;
    fputc('\n', stdout);
    json_decref(j);
    if (r != NULL)
        sanhe__response__free_unpacked(r, NULL);
    return rc ? EXIT_OK : EXIT_LOCAL;
}

int print_reply_json(sanhe_client *c) { return print_response_json(last_response(c)); }

int print_claim_reply(const struct counter_opts *o, sanhe_client *c, const struct bill *b,
                      const char *patient_name)
{
    size_t len = 0;
    const void *bytes = sanhe_last_reply(c, &len);
    return bytes != NULL ? print_claim_bytes(o, bytes, len, b, patient_name) : EXIT_LOCAL;
}

int print_claim_bytes(const struct counter_opts *o, const void *reply, size_t len,
                      const struct bill *b, const char *patient_name)
{
    Sanhe__Response *r = sanhe__response__unpack(NULL, len, reply);
    if (o->json)
        return print_response_json(r);
    if (r == NULL)
        return EXIT_LOCAL;
    const Sanhe__SettleReply *s =
        r->result_case == SANHE__RESPONSE__RESULT_SETTLE ? r->settle : NULL;
    struct sh_receipt rec = {
        .hospital_code = b->hospital,
        .hospital_name = o->hospital_name[0] ? o->hospital_name : NULL,
        .person_id = b->person,
        .person_name = patient_name,
        .visit = b->visit,
        .date = b->date,
        .settlement_id = s != NULL ? s->settlement_id : 0,
        .business_day = s != NULL ? s->business_day : NULL,
        .breakdown = s != NULL                                             ? s->breakdown
                     : r->result_case == SANHE__RESPONSE__RESULT_PRESETTLE ? r->presettle->breakdown
                                                                           : NULL,
    };
    int rc = EXIT_LOCAL;
    if (rec.breakdown != NULL) {
        sh_receipt_print(stdout, &rec, o->lang);
        rc = EXIT_OK;
    }
    sanhe__response__free_unpacked(r, NULL);
    return rc;
}

/* The exit code for a library result, with the reason on stderr. */
int exit_of(sanhe_client *c, int rc, const char *what)
{
    switch (rc) {
    case SANHE_OK:
        return EXIT_OK;
    case SANHE_E_REFUSED:
        fprintf(stderr, "sanhe-counter: %s refused: %s: %s\n", what, sanhe_refusal_name(c),
                sanhe_last_message(c));
        return EXIT_REFUSED;
    case SANHE_E_UNREACHABLE:
    case SANHE_E_TIMEOUT:
    case SANHE_E_OUTCOME_UNKNOWN:
        fprintf(stderr, "sanhe-counter: %s: %s (%s)\n", what, sanhe_strerror(rc),
                sanhe_last_message(c));
        if (rc == SANHE_E_OUTCOME_UNKNOWN)
            fprintf(stderr,
                    "sanhe-counter: request id %s: run `sanhe-counter cancel %s`, or "
                    "settle the same file again with --request-id %s\n",
                    sanhe_last_request_id(c), sanhe_last_request_id(c), sanhe_last_request_id(c));
        return EXIT_UNREACHABLE;
    case SANHE_E_INVAL:
        fprintf(stderr, "sanhe-counter: %s: %s\n", what, sanhe_strerror(rc));
        return EXIT_USAGE;
    default:
        fprintf(stderr, "sanhe-counter: %s: %s %s\n", what, sanhe_strerror(rc),
                sanhe_last_message(c));
        return EXIT_LOCAL;
    }
}

/* A settlement as JSON (the JSON adapter has no query shape):
 * {settlement_id, hospital, request_id, state, business_day, settled_at_ms,
 *  reversal_request_id?, reversal_day?, breakdown}. The claim is left out: it
 * carries the resident ID in clear. */
static json_t *settlement_json(const Sanhe__Settlement *s)
{
    json_t *j = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:I}", "settlement_id", (json_int_t)s->settlement_id, "hospital",
        s->hospital ? s->hospital : "", "request_id", s->request_id ? s->request_id : "", "state",
        s->state == SANHE__SETTLEMENT_STATE__REVERSED ? "reversed" : "settled", "business_day",
        s->business_day ? s->business_day : "", "settled_at_ms", (json_int_t)s->settled_at_ms);
    if (j != NULL && s->reversal_request_id != NULL) {
        json_object_set_new(j, "reversal_request_id", json_string(s->reversal_request_id));
        json_object_set_new(j, "reversal_day", json_string(s->reversal_day ? s->reversal_day : ""));
    }
    if (j != NULL && s->breakdown != NULL)
        json_object_set_new(j, "breakdown", sh_json_from_breakdown(s->breakdown));
    return j;
}

int print_query_json(sanhe_client *c)
{
    Sanhe__Response *r = last_response(c);
    if (r == NULL || r->result_case != SANHE__RESPONSE__RESULT_QUERY ||
        r->query->settlement == NULL) {
        if (r != NULL)
            sanhe__response__free_unpacked(r, NULL);
        return EXIT_LOCAL;
    }
    json_t *j = settlement_json(r->query->settlement);
    int rc = j != NULL && json_dumpf(j, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) == 0;
    fputc('\n', stdout);
    json_decref(j);
    sanhe__response__free_unpacked(r, NULL);
    return rc ? EXIT_OK : EXIT_LOCAL;
}
