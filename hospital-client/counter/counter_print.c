/* Printing replies: receipts for people, JSON for machines. Both read the
 * last reply's bytes (sanhe_last_reply), so every field the engine sent is
 * available, as the receipt printer and the JSON adapter expect. */
#include <stdio.h>
#include <stdlib.h>

#include "counter.h"
#include "sh_json_out.h"
#include "words.h"

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

/* The library's results, in the catalog's words. */
const char *counter_strerror(int rc)
{
    switch (rc) {
    case SANHE_E_INVAL:
        return _("invalid argument");
    case SANHE_E_NOMEM:
        return _("out of memory");
    case SANHE_E_TLS_SETUP:
        return _("the CA, certificate or key could not be loaded");
    case SANHE_E_UNREACHABLE:
        return _("no engine could be reached; the request was not sent");
    case SANHE_E_TIMEOUT:
        return _("no reply before the deadline; nothing was changed");
    case SANHE_E_OUTCOME_UNKNOWN:
        return _("outcome unknown: sent, but no reply before the deadline");
    case SANHE_E_REFUSED:
        return _("refused by the engine");
    case SANHE_E_PROTOCOL:
        return _("the engine's reply could not be understood");
    case SANHE_E_TLS_REJECTED:
        return _("the engine refused this terminal's certificate in the TLS handshake, or its "
                 "own certificate does not verify; the request was not sent");
    default:
        return _("unknown error");
    }
}

/* What an engine's refusal code means to the cashier (proto ErrorCode);
 * the engine's own message follows as the detail. */
static const char *refusal_text(int code)
{
    static const struct {
        int code;
        const char *text;
    } texts[] = {
        {SANHE_REFUSAL_BAD_CLAIM, N_("the bill is not valid")},
        {SANHE_REFUSAL_BAD_PERSON_ID, N_("the resident ID number is not valid")},
        {SANHE_REFUSAL_UNKNOWN_HOSPITAL, N_("the hospital is not in the reference data")},
        {SANHE_REFUSAL_UNKNOWN_PERSON, N_("the person is not in the reference data")},
        {SANHE_REFUSAL_PERSON_DECEASED, N_("the person had died by that date")},
        {SANHE_REFUSAL_NO_POLICY, N_("no policy is in force on that date")},
        {SANHE_REFUSAL_UNKNOWN_ITEM, N_("a fee item is not in the catalog")},
        {SANHE_REFUSAL_NOT_FOUND, N_("no such settlement or request")},
        {SANHE_REFUSAL_ALREADY_REVERSED, N_("the settlement is already reversed")},
        {SANHE_REFUSAL_FORBIDDEN,
         N_("this terminal may not do that, or its certificate names no terminal the "
            "engine knows")},
        {SANHE_REFUSAL_REQUEST_ID_REUSED, N_("the request id was used for another request")},
        {SANHE_REFUSAL_BAD_REQUEST, N_("the request is not valid")},
        {SANHE_REFUSAL_LIMIT_EXCEEDED, N_("an engine limit was reached")},
        {SANHE_REFUSAL_STORAGE_FULL, N_("the engine's storage is full")},
        {SANHE_REFUSAL_UNAVAILABLE, N_("the engine cannot serve now")},
        {SANHE_REFUSAL_INTERNAL, N_("the engine failed internally; nothing was recorded")},
        {SANHE_REFUSAL_QUOTA_EXCEEDED,
         N_("the hospital reached a daily limit of the engine; nothing was recorded")},
        {SANHE_REFUSAL_CLAIM_TOO_LARGE,
         N_("the bill has more lines than its visit type allows; nothing was recorded")},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].code == code)
            return _(texts[i].text);
    return _("refused by the engine");
}

/* "(detail: ...)": the library's or the engine's own words, which name
 * addresses, fields and codes (not translated). */
void print_detail(const char *detail)
{
    if (detail != NULL && detail[0] != '\0')
        fprintf(stderr, _("  detail: %s\n"), detail);
}

/* Why a call did not reach the engine: worded (words.c) when the library
 * says why, and the library's own English words where English is the
 * reader's language or nothing else says why. */
void print_transport(sanhe_client *c)
{
    char text[512];
    bool worded = sh_words_last_why(c, text, sizeof text) == 0;
    if (worded)
        fprintf(stderr, _("  reason: %s\n"), text);
    if (!worded || sh_i18n_lang() == SH_LANG_EN)
        print_detail(sanhe_last_message(c));
}

/* The exit code for a library result, with the reason on stderr. what is
 * the command, already translated. */
int exit_of(sanhe_client *c, int rc, const char *what)
{
    switch (rc) {
    case SANHE_OK:
        return EXIT_OK;
    case SANHE_E_REFUSED:
        fprintf(stderr, _("sanhe-counter: %s refused: %s (%s)\n"), what,
                refusal_text(sanhe_refusal_code(c)), sanhe_refusal_name(c));
        print_refusal_detail(c);
        return EXIT_REFUSED;
    case SANHE_E_UNREACHABLE:
    case SANHE_E_TIMEOUT:
    case SANHE_E_OUTCOME_UNKNOWN:
        fprintf(stderr, _("sanhe-counter: %s: %s\n"), what, counter_strerror(rc));
        print_transport(c);
        if (rc == SANHE_E_OUTCOME_UNKNOWN)
            fprintf(stderr,
                    _("sanhe-counter: request id %s: run `sanhe-counter cancel %s`, or "
                      "settle the same file again with --request-id %s\n"),
                    sanhe_last_request_id(c), sanhe_last_request_id(c), sanhe_last_request_id(c));
        return EXIT_UNREACHABLE;
    case SANHE_E_TLS_REJECTED:
        fprintf(stderr, _("sanhe-counter: %s: %s\n"), what, counter_strerror(rc));
        print_transport(c);
        return EXIT_TLS;
    case SANHE_E_INVAL:
        fprintf(stderr, _("sanhe-counter: %s: %s\n"), what, counter_strerror(rc));
        return EXIT_USAGE;
    default:
        fprintf(stderr, _("sanhe-counter: %s: %s\n"), what, counter_strerror(rc));
        print_transport(c);
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
