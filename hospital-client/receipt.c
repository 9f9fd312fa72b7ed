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

const char *sh_visit_label(const char *visit, enum sh_lang lang)
{
    static const char *const names[][3] = {
        {"outpatient", "门诊", "Outpatient"},
        {"chronic", "门诊慢特病", "Chronic (outpatient)"},
        {"inpatient", "住院", "Inpatient"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (visit != NULL && strcmp(visit, names[i][0]) == 0)
            return names[i][lang == SH_LANG_ZH ? 1 : 2];
    return visit != NULL ? visit : "?";
}

const char *sh_reason_label(const char *reason, enum sh_lang lang)
{
    static const char *const names[][3] = {
        {"not_designated", "非定点", "not designated"},
        {"not_enrolled", "未参保", "not enrolled"},
        {"no_category", "无资格", "no category"},
        {"no_rule", "无此待遇", "no rule for visit"},
        {"claim_cap", "达单次限额", "claim cap reached"},
        {"annual_cap", "达年度限额", "annual cap reached"},
    };
    for (size_t i = 0; reason != NULL && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(reason, names[i][0]) == 0)
            return names[i][lang == SH_LANG_ZH ? 1 : 2];
    return reason != NULL ? reason : "";
}

static void print_header(FILE *out, const struct sh_receipt *r, enum sh_lang lang)
{
    bool zh = lang == SH_LANG_ZH;
    char masked[19];
    sh_person_id_mask(r->person_id, masked);
    rule(out, '=');
    fprintf(out, "%s  %s\n", r->hospital_name ? r->hospital_name : "", r->hospital_code);
    fprintf(out, "%s\n",
            r->settlement_id != 0
                ? (zh ? "医疗费用结算单" : "Settlement receipt")
                : (zh ? "预结算（试算，未记账）" : "Presettlement estimate (nothing recorded)"));
    rule(out, '-');
    fprintf(out, "%s %s  %s\n", zh ? "患者:" : "Patient:", r->person_name ? r->person_name : "",
            masked);
    fprintf(out, "%s %s  %s\n", zh ? "就诊:" : "Visit:  ", sh_visit_label(r->visit, lang),
            r->date ? r->date : "");
    if (r->settlement_id != 0)
        fprintf(out, "%s %llu  %s %s\n",
                zh ? "结算号:" : "Settlement:", (unsigned long long)r->settlement_id,
                zh ? "业务日:" : "day", r->business_day ? r->business_day : "");
    rule(out, '-');
}

/* The bill by catalog class, as the engine summed it. Class C is exactly
 * what is out of scope, so its row stands for that one. */
static void print_classes(FILE *out, const Sanhe__Breakdown *b, bool zh)
{
    row(out, zh ? "  甲类费用" : "  Class A items", b->class_a_total);
    row(out, zh ? "  乙类费用" : "  Class B items", b->class_b_total);
    row(out, zh ? "  丙类费用（目录外）" : "  Class C items (out of scope)", b->class_c_total);
}

static void print_split(FILE *out, const Sanhe__Breakdown *b, bool zh)
{
    row(out, zh ? "医疗费用总额" : "Total bill", b->total);
    /* A reply of an engine (or a settlement recorded) before the class
     * totals existed has none: the split then names class C alone. */
    if (b->has_class_a_total && b->has_class_b_total && b->has_class_c_total)
        print_classes(out, b, zh);
    else
        row(out, zh ? "  目录外（丙类）" : "  Out of scope (class C)", b->out_of_scope);
    row(out, zh ? "  超限价部分" : "  Over price cap", b->over_limit);
    row(out, zh ? "  乙类先行自付" : "  Class B first self-pay", b->pre_selfpay);
    row(out, zh ? "  政策范围内费用" : "  In scope", b->in_scope);
    rule(out, '-');
}

static void print_funds(FILE *out, const Sanhe__Breakdown *b, enum sh_lang lang)
{
    bool zh = lang == SH_LANG_ZH;
    for (size_t i = 0; i < b->n_funds; i++) {
        const Sanhe__FundShare *f = b->funds[i];
        char label[192];
        sh_fund_label(f->name, f->fund, lang, label, sizeof label);
        row(out, label, f->pay);
        if (f->deductible != 0) {
            char yuan[32];
            sh_yuan_format(f->deductible, yuan);
            fprintf(out, "    %s %s\n", zh ? "本次起付线:" : "deductible applied:", yuan);
        }
        if (f->category != NULL)
            fprintf(out, "    %s %s\n", zh ? "资格类别:" : "category:", f->category);
        if (f->reason != NULL)
            fprintf(out, "    %s %s\n", zh ? "说明:" : "note:", sh_reason_label(f->reason, lang));
    }
    rule(out, '-');
    row(out, zh ? "基金支付合计" : "Funds pay in total", b->fund_total);
    row(out, zh ? "个人自付" : "Patient pays", b->patient_pays);
}

void sh_receipt_print(FILE *out, const struct sh_receipt *r, enum sh_lang lang)
{
    print_header(out, r, lang);
    if (r->breakdown != NULL) {
        print_split(out, r->breakdown, lang == SH_LANG_ZH);
        print_funds(out, r->breakdown, lang);
    }
    rule(out, '=');
}
