#include "receipt.h"

#include <stdbool.h>
#include <string.h>

#include "sh_person_id.h"

#define RECEIPT_WIDTH 56

void sh_yuan_format(int64_t fen, char out[32])
{
    uint64_t abs = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)(abs / 100));
    size_t o = 0;
    if (fen < 0)
        out[o++] = '-';
    for (int i = 0; i < n; i++) {
        out[o++] = digits[i];
        if ((n - i - 1) % 3 == 0 && i != n - 1)
            out[o++] = ',';
    }
    snprintf(out + o, 32 - o, ".%02u", (unsigned)(abs % 100));
}

/* Terminal columns of a UTF-8 string: CJK and full-width forms take two. */
static int display_width(const char *s)
{
    int width = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
        uint32_t cp;
        int len;
        if (*p < 0x80) {
            cp = *p, len = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1F, len = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0F, len = 3;
        } else {
            cp = *p & 0x07, len = 4;
        }
        for (int i = 1; i < len && p[i] != '\0'; i++)
            cp = (cp << 6) | (p[i] & 0x3F);
        for (int i = 0; i < len && *p != '\0'; i++)
            p++;
        width +=
            (cp >= 0x1100 &&
             (cp <= 0x115F || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
              (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFF00 && cp <= 0xFF60)))
                ? 2
                : 1;
    }
    return width;
}

/* A label left, an amount right, padded to the receipt's width. */
static void row(FILE *out, const char *label, int64_t fen)
{
    char yuan[32];
    sh_yuan_format(fen, yuan);
    int pad = RECEIPT_WIDTH - display_width(label) - (int)strlen(yuan);
    fprintf(out, "%s%*s%s\n", label, pad > 1 ? pad : 1, "", yuan);
}

static void rule(FILE *out, char c)
{
    for (int i = 0; i < RECEIPT_WIDTH; i++)
        fputc(c, out);
    fputc('\n', out);
}

/* Policy fund names read "中文名 English name": one half per language. */
void sh_fund_label(const char *name, const char *fallback, enum sh_lang lang, char *out,
                   size_t size)
{
    const char *space = name != NULL ? strchr(name, ' ') : NULL;
    if (name == NULL)
        snprintf(out, size, "%s", fallback);
    else if (space == NULL)
        snprintf(out, size, "%s", name);
    else if (lang == SH_LANG_ZH)
        snprintf(out, size, "%.*s", (int)(space - name), name);
    else
        snprintf(out, size, "%s", space + 1);
}

/* The wire's identifiers and their messages (translated by the catalog). */
const char *sh_visit_label(const char *visit, enum sh_lang lang)
{
    static const char *const names[][2] = {
        {"outpatient", N_("Outpatient")},
        {"chronic", N_("Chronic (outpatient)")},
        {"inpatient", N_("Inpatient")},
    };
    (void)lang; /* the catalog chosen by sh_i18n_init */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (visit != NULL && strcmp(visit, names[i][0]) == 0)
            return _(names[i][1]);
    return visit != NULL ? visit : "?";
}

const char *sh_reason_label(const char *reason, enum sh_lang lang)
{
    static const char *const names[][2] = {
        {"not_designated", N_("not designated")}, {"not_enrolled", N_("not enrolled")},
        {"no_category", N_("no category")},       {"no_rule", N_("no rule for visit")},
        {"claim_cap", N_("claim cap reached")},   {"annual_cap", N_("annual cap reached")},
    };
    (void)lang;
    for (size_t i = 0; reason != NULL && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(reason, names[i][0]) == 0)
            return _(names[i][1]);
    return reason != NULL ? reason : "";
}

static void print_title(FILE *out, const struct sh_receipt *r)
{
    if (r->reversal)
        fprintf(out, "%s\n", _("Reversal receipt (the settlement is undone)"));
    else if (r->settlement_id != 0)
        fprintf(out, "%s\n", _("Settlement receipt"));
    else
        fprintf(out, "%s\n", _("Presettlement estimate (nothing recorded)"));
}

static void print_header(FILE *out, const struct sh_receipt *r, enum sh_lang lang)
{
    char masked[19];
    sh_person_id_mask(r->person_id, masked);
    rule(out, '=');
    fprintf(out, "%s  %s\n", r->hospital_name ? r->hospital_name : "", r->hospital_code);
    print_title(out, r);
    rule(out, '-');
    fprintf(out, "%s %s  %s\n", _("Patient:"), r->person_name ? r->person_name : "", masked);
    fprintf(out, "%s %s  %s\n", _("Visit:"), sh_visit_label(r->visit, lang),
            r->date ? r->date : "");
    if (r->settlement_id != 0)
        fprintf(out, "%s %llu  %s %s\n", _("Settlement:"), (unsigned long long)r->settlement_id,
                _("day"), r->business_day ? r->business_day : "");
    if (r->reversal)
        fprintf(out, "%s %s  %s %s\n", _("Reversed on:"), r->reversal_day ? r->reversal_day : "",
                _("request"), r->reversal_request_id ? r->reversal_request_id : "");
    rule(out, '-');
}

/* A row indented by two columns (a part of the row above). */
static void sub_row(FILE *out, const char *label, int64_t fen)
{
    char text[256];
    snprintf(text, sizeof text, "  %s", label);
    row(out, text, fen);
}

/* The bill by catalog class, as the engine summed it. Class C is exactly
 * what is out of scope, so its row stands for that one. */
static void print_classes(FILE *out, const Sanhe__Breakdown *b)
{
    sub_row(out, _("Class A items"), b->class_a_total);
    sub_row(out, _("Class B items"), b->class_b_total);
    sub_row(out, _("Class C items (out of scope)"), b->class_c_total);
}

static void print_split(FILE *out, const Sanhe__Breakdown *b)
{
    row(out, _("Total bill"), b->total);
    /* A reply of an engine (or a settlement recorded) before the class
     * totals existed has none: the split then names class C alone. */
    if (b->has_class_a_total && b->has_class_b_total && b->has_class_c_total)
        print_classes(out, b);
    else
        sub_row(out, _("Out of scope (class C)"), b->out_of_scope);
    sub_row(out, _("Over price cap"), b->over_limit);
    sub_row(out, _("Class B first self-pay"), b->pre_selfpay);
    sub_row(out, _("In scope"), b->in_scope);
    rule(out, '-');
}

static void print_funds(FILE *out, const Sanhe__Breakdown *b, enum sh_lang lang)
{
    for (size_t i = 0; i < b->n_funds; i++) {
        const Sanhe__FundShare *f = b->funds[i];
        char label[192];
        sh_fund_label(f->name, f->fund, lang, label, sizeof label);
        row(out, label, f->pay);
        if (f->deductible != 0) {
            char yuan[32];
            sh_yuan_format(f->deductible, yuan);
            fprintf(out, "    %s %s\n", _("deductible applied:"), yuan);
        }
        if (f->category != NULL)
            fprintf(out, "    %s %s\n", _("category:"), f->category);
        if (f->reason != NULL)
            fprintf(out, "    %s %s\n", _("note:"), sh_reason_label(f->reason, lang));
    }
    rule(out, '-');
    row(out, _("Funds pay in total"), b->fund_total);
    row(out, _("Patient pays"), b->patient_pays);
}

void sh_receipt_print(FILE *out, const struct sh_receipt *r, enum sh_lang lang)
{
    print_header(out, r, lang);
    if (r->breakdown != NULL) {
        print_split(out, r->breakdown);
        print_funds(out, r->breakdown, lang);
        /* Undoing it: each fund takes its payment back, and the patient is
         * given back what they paid. */
        if (r->reversal) {
            rule(out, '-');
            row(out, _("Funds take back in total"), r->breakdown->fund_total);
            row(out, _("Refund to the patient"), r->breakdown->patient_pays);
        }
    }
    rule(out, '=');
}
