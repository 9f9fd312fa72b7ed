/*
 * An engine refusal in the cashier's language. The engine's Error carries,
 * beside its English message, a detail (sanhe.ErrorDetail) and its
 * arguments: the line, item code, field, value or limit it is about
 * (docs/errors.md). The counter words each detail through gettext; the
 * English message is shown only when the engine sent no detail (an older
 * engine) or one this counter does not know.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "i18n.h"
#include "sanhe.pb-c.h"

/* How each detail reads, its arguments in the wire order (the Chinese
 * catalog may reorder them: %2$s). nargs is what the engine sends; a reply
 * with another count is from another version and shows the English text. */
static const struct {
    int detail;
    unsigned nargs;
    const char *text;
} detail_texts[] = {
    {SANHE__ERROR_DETAIL__DETAIL_LINE_AMOUNT_FRACTION, 2,
     N_("line %s (item %s): the amount is not a whole number of fen")},
    {SANHE__ERROR_DETAIL__DETAIL_LINE_QTY_PRECISION, 2,
     N_("line %s (item %s): the quantity has more than 3 decimals")},
    {SANHE__ERROR_DETAIL__DETAIL_LINE_NOT_A_NUMBER, 2,
     N_("line %s (item %s): the quantity or the amount is missing, not a number or out of "
        "range")},
    {SANHE__ERROR_DETAIL__DETAIL_LINE_AMOUNT_NOT_POSITIVE, 3,
     N_("line %s (item %s): the amount %s fen must be more than 0")},
    {SANHE__ERROR_DETAIL__DETAIL_LINE_AMOUNT_OVER_LIMIT, 4,
     N_("line %s (item %s): the amount %s fen is over the limit of %s fen")},
    {SANHE__ERROR_DETAIL__DETAIL_LINE_QTY_NOT_POSITIVE, 3,
     N_("line %s (item %s): the quantity %s must be more than 0")},
    {SANHE__ERROR_DETAIL__DETAIL_LINE_UNKNOWN_ITEM, 2,
     N_("line %s: item %s is not in the catalog")},
    {SANHE__ERROR_DETAIL__DETAIL_CLAIM_NO_LINES, 0, N_("the bill has no line")},
    {SANHE__ERROR_DETAIL__DETAIL_CLAIM_TOO_MANY_LINES, 2,
     N_("the bill has %s lines, more than the limit of %s")},
    {SANHE__ERROR_DETAIL__DETAIL_CLAIM_VISIT, 0,
     N_("the visit type is not outpatient, chronic or inpatient")},
    {SANHE__ERROR_DETAIL__DETAIL_CLAIM_DATE, 0,
     N_("the date is missing or not a valid YYYY-MM-DD day")},
    {SANHE__ERROR_DETAIL__DETAIL_PERSON_ID_LENGTH, 1,
     N_("the resident ID number has %s characters, not 18")},
    {SANHE__ERROR_DETAIL__DETAIL_PERSON_ID_CHECK, 1,
     N_("resident ID number %s: not 17 digits and a check digit, or the check digit is wrong")},
    {SANHE__ERROR_DETAIL__DETAIL_HOSPITAL_UNKNOWN, 1,
     N_("hospital %s is not in the reference data")},
    {SANHE__ERROR_DETAIL__DETAIL_PERSON_UNKNOWN, 1, N_("person %s is not in the reference data")},
    {SANHE__ERROR_DETAIL__DETAIL_PERSON_DIED, 3, N_("person %s died on %s; the bill is dated %s")},
    {SANHE__ERROR_DETAIL__DETAIL_NO_POLICY, 2, N_("no policy of region %s is in force on %s")},
    {SANHE__ERROR_DETAIL__DETAIL_OTHER_HOSPITAL, 2,
     N_("the bill is of hospital %s; this terminal is of hospital %s")},
    {SANHE__ERROR_DETAIL__DETAIL_ROLE, 2, N_("%s is not allowed to a %s")},
    {SANHE__ERROR_DETAIL__DETAIL_FIELD_MISSING, 1, N_("the request has no %s")},
    {SANHE__ERROR_DETAIL__DETAIL_FIELD_TOO_LONG, 2, N_("the request's %s is longer than %s bytes")},
    {SANHE__ERROR_DETAIL__DETAIL_FIELD_INVALID, 1, N_("the request's %s is not valid")},
    {SANHE__ERROR_DETAIL__DETAIL_REQUEST_ID_REUSED, 2, N_("request id %s was already used by %s")},
    {SANHE__ERROR_DETAIL__DETAIL_REQUEST_CANCELLED, 1,
     N_("request id %s was cancelled before it arrived; settle with a new request id")},
    {SANHE__ERROR_DETAIL__DETAIL_ALREADY_REVERSED, 2,
     N_("settlement %s was already reversed (by request %s)")},
    {SANHE__ERROR_DETAIL__DETAIL_SETTLEMENT_NOT_FOUND, 1, N_("there is no settlement %s")},
    {SANHE__ERROR_DETAIL__DETAIL_REQUEST_NOT_FOUND, 2,
     N_("request %s settled nothing at hospital %s")},
    {SANHE__ERROR_DETAIL__DETAIL_SETTLEMENT_OTHER_HOSPITAL, 2,
     N_("settlement %s is not of hospital %s")},
    {SANHE__ERROR_DETAIL__DETAIL_ACCUMULATORS_LIMIT, 1,
     N_("the person has more than %s accumulators in the year")},
    {SANHE__ERROR_DETAIL__DETAIL_REQUEST_TOO_LARGE, 0,
     N_("the request is too large for one transaction; nothing was recorded")},
    {SANHE__ERROR_DETAIL__DETAIL_STORAGE_FULL, 1,
     N_("the engine's store reached its size limit of %s MiB; nothing was recorded")},
};

/* Words the engine sends as arguments (operations, roles, kinds of
 * request), worded too; anything else (codes, ids, dates) is data. */
static const struct {
    const char *token;
    const char *text;
} arg_texts[] = {
    {"request_id", N_("request id")},
    {"date", N_("date")},
    {"claim", N_("bill")},
    {"settle", N_("a settlement")},
    {"presettle", N_("an estimate")},
    {"reverse", N_("a reversal")},
    {"cancel", N_("a cancel")},
    {"other", N_("another request")},
    {"query", N_("a query")},
    {"eligibility", N_("an eligibility look-up")},
    {"counter", N_("counter terminal")},
    {"bureau", N_("bureau terminal")},
    {"admin", N_("admin terminal")},
};

static const char *arg_text(const char *arg)
{
    for (size_t i = 0; i < sizeof arg_texts / sizeof arg_texts[0]; i++)
        if (strcmp(arg_texts[i].token, arg) == 0)
            return _(arg_texts[i].text);
    return arg;
}

int refusal_detail_format(const Sanhe__Error *e, char *out, size_t size)
{
    if (e == NULL || !e->has_detail || size == 0)
        return -1;
    for (size_t i = 0; i < sizeof detail_texts / sizeof detail_texts[0]; i++) {
        if (detail_texts[i].detail != (int)e->detail)
            continue;
        if (e->n_detail_args != detail_texts[i].nargs)
            return -1;
        const char *a[SH_DETAIL_ARGS_COUNTER] = {"", "", "", ""};
        for (size_t k = 0; k < e->n_detail_args && k < SH_DETAIL_ARGS_COUNTER; k++)
            a[k] = arg_text(e->detail_args[k] != NULL ? e->detail_args[k] : "");
            /* The format is a msgid of the table above, or its translation,
             * which msgfmt --check (c-format) holds to the msgid's directives:
             * at most four strings, and four are always passed. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        int n = snprintf(out, size, _(detail_texts[i].text), a[0], a[1], a[2], a[3]);
#pragma GCC diagnostic pop
        return n >= 0 ? 0 : -1;
    }
    return -1;
}

void print_refusal_detail(sanhe_client *c)
{
    size_t len = 0;
    const void *bytes = sanhe_last_reply(c, &len);
    Sanhe__Response *r = bytes != NULL ? sanhe__response__unpack(NULL, len, bytes) : NULL;
    char text[1024];
    if (r != NULL && refusal_detail_format(r->error, text, sizeof text) == 0)
        fprintf(stderr, _("  reason: %s\n"), text);
    else
        print_detail(sanhe_last_message(c));
    if (r != NULL)
        sanhe__response__free_unpacked(r, NULL);
}

void refusal_detail_keep(json_t *rec, const Sanhe__Error *e)
{
    if (!e->has_detail)
        return;
    json_t *args = json_array();
    for (size_t i = 0; i < e->n_detail_args; i++)
        json_array_append_new(args,
                              json_string(e->detail_args[i] != NULL ? e->detail_args[i] : ""));
    json_object_set_new(rec, "detail", json_integer((json_int_t)e->detail));
    json_object_set_new(rec, "detail_args", args);
}

bool refusal_detail_kept(const json_t *rec, char *out, size_t size)
{
    const json_t *args = json_object_get(rec, "detail_args");
    if (!json_is_integer(json_object_get(rec, "detail")) || !json_is_array(args) ||
        json_array_size(args) > SH_DETAIL_ARGS_COUNTER)
        return false;
    char *strs[SH_DETAIL_ARGS_COUNTER];
    Sanhe__Error e = SANHE__ERROR__INIT;
    e.has_detail = true;
    e.detail = (Sanhe__ErrorDetail)json_integer_value(json_object_get(rec, "detail"));
    e.n_detail_args = json_array_size(args);
    e.detail_args = strs;
    for (size_t i = 0; i < e.n_detail_args; i++) {
        const char *a = json_string_value(json_array_get(args, i));
        strs[i] = (char *)(a != NULL ? a : "");
    }
    return refusal_detail_format(&e, out, size) == 0;
}
