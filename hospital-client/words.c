/*
 * The engine's refusals and the library's transport failures in the
 * reader's language, for sanhe-counter and sanhe-bureau alike. The engine's
 * Error carries, beside its English message, a detail (sanhe.ErrorDetail)
 * and its arguments: the line, item code, field, value or limit it is
 * about (docs/errors.md); libsanhe-client gives, beside its English
 * message, a sanhe_why, the address and a number (errno, TLS alert, X509
 * verify result). Each is worded here through gettext; the English text is
 * for a detail or a why this build does not know.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "sanhe/client.h"
#include "words.h"

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
    /* The frame's string check (engine/net/frame_strings.c). */
    {SANHE__ERROR_DETAIL__DETAIL_FIELD_NOT_UTF8, 2,
     N_("the request's field %s is not valid UTF-8 text (at byte %s)")},
    {SANHE__ERROR_DETAIL__DETAIL_FIELD_NUL, 2,
     N_("the request's field %s holds a NUL byte (at byte %s)")},
    {SANHE__ERROR_DETAIL__DETAIL_FIELD_CONTROL, 3,
     N_("the request's field %s holds the control character %s (at byte %s)")},
    {SANHE__ERROR_DETAIL__DETAIL_REQUEST_NESTING, 1, N_("the request nests too deep at %s")},
    /* Roster imports and the bureau's reads. */
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_NO_SESSION, 1, N_("there is no import session %s")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_LINE_PERSON_UNKNOWN, 2,
     N_("line %s of the file: person %s is not in the reference data; nothing was changed")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_LINE_SPANS, 3,
     N_("line %s of the file: person %s would have more than %s category spans; nothing was "
        "changed")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_LINE_INVALID, 1,
     N_("line %s of the file is not valid; nothing was changed")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_TOO_MANY_EXITS, 4,
     N_("the roster would end %s of %s open spans of fund %s, more than %s%%; check the file, "
        "or force it; nothing was changed")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_ROWS_REFUSED, 2,
     N_("import %s: %s rows were refused; nothing was changed")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_ROWS_MISSING, 3,
     N_("import %s: the file holds %s rows, %s arrived; nothing was changed")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_HALF_APPLIED, 1,
     N_("import %s is half applied: commit it again to finish it")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_TOO_MANY_ROWS, 1, N_("the import has more than %s rows")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_SESSIONS_LIMIT, 1,
     N_("%s import sessions are open; abort one first")},
    {SANHE__ERROR_DETAIL__DETAIL_IMPORT_CHUNK_ORDER, 2,
     N_("chunk %s of the import was expected, chunk %s was sent")},
    {SANHE__ERROR_DETAIL__DETAIL_RECONCILE_OWN_HOSPITAL, 1,
     N_("a counter terminal reconciles only its own hospital (%s)")},
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
    {"day", N_("day")},
    {"month", N_("month")},
    {"person", N_("resident ID number")},
    {"request", N_("request")},
};

static const char *arg_text(const char *arg)
{
    for (size_t i = 0; i < sizeof arg_texts / sizeof arg_texts[0]; i++)
        if (strcmp(arg_texts[i].token, arg) == 0)
            return _(arg_texts[i].text);
    return arg;
}

int sh_words_refusal(const Sanhe__Error *e, char *out, size_t size)
{
    if (e == NULL || !e->has_detail || size == 0)
        return -1;
    for (size_t i = 0; i < sizeof detail_texts / sizeof detail_texts[0]; i++) {
        if (detail_texts[i].detail != (int)e->detail)
            continue;
        if (e->n_detail_args != detail_texts[i].nargs)
            return -1;
        const char *a[SH_WORDS_ARGS_MAX] = {"", "", "", ""};
        for (size_t k = 0; k < e->n_detail_args && k < SH_WORDS_ARGS_MAX; k++)
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

/* ---- Transport failures ------------------------------------------------------------------ */

/* The numbers a why carries, worded; NULL for one without a wording. */
struct number_text {
    int number;
    const char *text;
};

static const char *number_text(const struct number_text *t, size_t n, int number)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].number == number)
            return _(t[i].text);
    return NULL;
}

/* errno of a failed connect. */
static const struct number_text errno_texts[] = {
    {ECONNREFUSED, N_("nothing listens there")},
    {ETIMEDOUT, N_("the connection timed out")},
    {EHOSTUNREACH, N_("the host cannot be reached")},
    {ENETUNREACH, N_("the network cannot be reached")},
    {ECONNRESET, N_("the connection was reset")},
    {ECONNABORTED, N_("the connection was aborted")},
    {EADDRNOTAVAIL, N_("the address is not available here")},
    {EACCES, N_("the connection is not permitted")},
    {EPERM, N_("the connection is not permitted")},
};

/* TLS alerts (RFC 8446, section 6). */
static const struct number_text alert_texts[] = {
    {40, N_("the handshake failed")},
    {42, N_("the certificate is bad")},
    {43, N_("the certificate is of a kind not supported")},
    {44, N_("the certificate was revoked")},
    {45, N_("the certificate has expired")},
    {46, N_("the certificate is not acceptable")},
    {48, N_("the certificate is not signed by a CA the engine trusts")},
    {49, N_("access denied")},
    {50, N_("a handshake message did not decode")},
    {51, N_("a handshake signature did not verify")},
    {70, N_("the TLS version is not accepted")},
    {71, N_("the security is not sufficient")},
    {80, N_("the engine failed internally")},
    {109, N_("an extension is missing")},
    {112, N_("the server name is not recognised")},
    {116, N_("the engine requires a terminal certificate")},
    {120, N_("no common application protocol")},
};

/* OpenSSL's X509_V_ERR_* (stable numbers of its public header). */
static const struct number_text verify_texts[] = {
    {2, N_("its issuer's certificate is not at hand")},
    {7, N_("its signature does not verify")},
    {9, N_("it is not valid yet")},
    {10, N_("it has expired")},
    {18, N_("it signs itself")},
    {19, N_("a certificate of its chain signs itself")},
    {20, N_("its issuer is not the CA given")},
    {21, N_("its signature cannot be checked")},
    {23, N_("it was revoked")},
    {62, N_("it does not name the host dialled")},
    {64, N_("it does not name the IP address dialled")},
};

#define COUNT(a) (sizeof(a) / sizeof(a)[0])

/* "%s" of a format, the number worded, or "(number N)" worded. */
static const char *number_or(const struct number_text *t, size_t n, int number, char *buf,
                             size_t size, const char *fallback)
{
    const char *s = number_text(t, n, number);
    if (s != NULL)
        return s;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(buf, size, _(fallback), number);
#pragma GCC diagnostic pop
    return buf;
}

int sh_words_why(int kind, const char *address, int number, char *out, size_t size)
{
    if (size == 0)
        return -1;
    const char *a = address != NULL ? address : "";
    char buf[64];
    int n = -1;
    switch (kind) {
    case SANHE_WHY_RESOLVE:
        n = snprintf(out, size, _("the engine address %s does not resolve"), a);
        break;
    case SANHE_WHY_CONNECT_REFUSED:
        n = snprintf(out, size, _("%s refused the connection: no engine is running there"), a);
        break;
    case SANHE_WHY_CONNECT:
        n = snprintf(out, size, _("cannot connect to %s: %s"), a,
                     number_or(errno_texts, COUNT(errno_texts), number, buf, sizeof buf,
                               N_("system error %d")));
        break;
    case SANHE_WHY_TLS_SETUP:
        n = snprintf(out, size, _("the TLS session with %s could not be set up"), a);
        break;
    case SANHE_WHY_TLS_ALERT:
        n = snprintf(out, size,
                     _("the engine at %s ended the TLS handshake with an alert: %s (the "
                       "engine refused this terminal's certificate)"),
                     a,
                     number_or(alert_texts, COUNT(alert_texts), number, buf, sizeof buf,
                               N_("TLS alert number %d")));
        break;
    case SANHE_WHY_CERT_VERIFY:
        n = snprintf(out, size,
                     _("the certificate of the engine at %s does not verify against the CA "
                       "file: %s"),
                     a,
                     number_or(verify_texts, COUNT(verify_texts), number, buf, sizeof buf,
                               N_("verification error %d")));
        break;
    case SANHE_WHY_HANDSHAKE_TIMEOUT:
        n = snprintf(out, size, _("the TLS handshake with %s did not finish in time"), a);
        break;
    case SANHE_WHY_HANDSHAKE_FAILED:
        n = snprintf(out, size, _("the TLS handshake with %s failed"), a);
        break;
    case SANHE_WHY_DEADLINE:
        n = snprintf(out, size, "%s", _("no reply came before the deadline"));
        break;
    case SANHE_WHY_CLOSED:
        n = snprintf(out, size, "%s", _("the connection to the engine was closed"));
        break;
    case SANHE_WHY_BUSY:
        n = snprintf(out, size,
                     _("the engine at %s is busy (shutting down, or too many connections); "
                       "try again shortly"),
                     a);
        break;
    case SANHE_WHY_BAD_REPLY:
        n = snprintf(out, size, _("a reply from %s could not be understood"), a);
        break;
    case SANHE_WHY_BAD_REQUEST:
        n = snprintf(out, size, "%s", _("the request names no operation"));
        break;
    default:
        return -1;
    }
    return n >= 0 ? 0 : -1;
}

int sh_words_last_why(const sanhe_client *c, char *out, size_t size)
{
    const char *address = "";
    int number = 0;
    int kind = sanhe_last_why(c, &address, &number);
    return kind != SANHE_WHY_NONE ? sh_words_why(kind, address, number, out, size) : -1;
}
