/*
 * The patient's receipt: hospital, patient (ID masked), visit, the bill's
 * total by catalog class (甲类/乙类/丙类) and its split, each fund's payment
 * with the deductible applied, and what the patient pays, in yuan with two
 * decimals. Chinese labels, or English.
 */
#ifndef SH_RECEIPT_H
#define SH_RECEIPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "i18n.h"
#include "sanhe.pb-c.h"

struct sh_receipt {
    const char *hospital_code;
    const char *hospital_name; /* may be NULL */
    const char *person_id;     /* printed masked */
    const char *person_name;   /* may be NULL */
    const char *visit;         /* "outpatient", "chronic", "inpatient" */
    const char *date;
    uint64_t settlement_id;   /* 0 for a presettle */
    const char *business_day; /* may be NULL */
    const Sanhe__Breakdown *breakdown;
    /* A reversal receipt: the settlement above, undone on reversal_day. */
    int reversal;
    const char *reversal_day;        /* may be NULL */
    const char *reversal_request_id; /* may be NULL */
};

void sh_receipt_print(FILE *out, const struct sh_receipt *receipt, enum sh_lang lang);

/* "1,234.56" (or "-1,234.56") for an amount in fen; out holds 32 bytes. */
void sh_yuan_format(int64_t fen, char out[32]);

/* Labels shared with sanhe-counter's other output. A policy's fund name
 * reads "中文名 English name": the half of the language into out (the
 * whole name when it has no space; fallback, the fund id, when NULL). */
void sh_fund_label(const char *name, const char *fallback, enum sh_lang lang, char *out,
                   size_t size);
/* "门诊" / "Outpatient" for "outpatient"; the name itself when unknown. */
const char *sh_visit_label(const char *visit, enum sh_lang lang);
/* "未参保" / "not enrolled" for "not_enrolled"; the name itself when unknown. */
const char *sh_reason_label(const char *reason, enum sh_lang lang);

#endif
