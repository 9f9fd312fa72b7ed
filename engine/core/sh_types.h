/*
 * sanhe core types: claims, reference data, policies, accumulators and the
 * breakdown. Plain fixed-size structs with a limit on everything, so that the
 * rules core never allocates and a bad document cannot make it grow.
 *
 * Money is int64 fen. Ratios are basis points. Quantities are thousandths.
 * Dates are yyyymmdd integers (20260310), which compare in time order; 0 is
 * "no date" (an open end, no death date, an unparseable date).
 */
#ifndef SH_TYPES_H
#define SH_TYPES_H

#include <stdbool.h>
#include <stdint.h>

typedef int64_t sh_fen;

/* Limits. A document over one of these is refused, never truncated. */
#define SH_ID_MAX 32    /* fund ids, categories, cap groups, item codes (with NUL) */
#define SH_CODE_MAX 32  /* hospital codes, regions, request ids (with NUL) */
#define SH_NAME_MAX 192 /* display names, UTF-8 (with NUL) */
#define SH_PERSON_ID_LEN 18
#define SH_FUNDS_MAX 8          /* funds per policy, designations per hospital */
#define SH_FUND_RULESETS_MAX 16 /* categories (or "default") per fund */
#define SH_BANDS_MAX 8
#define SH_ENROLLED_MAX 32 /* policy years a person is insured in */
#define SH_PERSON_CATS_MAX 16
#define SH_CLAIM_LINES_MAX 10000
#define SH_AMOUNT_MAX 10000000000LL     /* 10^10 fen per line */
#define SH_MONEY_MAX 1000000000000000LL /* 10^15 fen: any configured amount */

#define SH_NO_CAP (-1)         /* claim_cap / annual_cap / price_cap: none */
#define SH_UNBOUNDED INT64_MAX /* the last band's upto */
#define SH_SELFPAY_POLICY (-1) /* item selfpay_bp: use the policy's */

enum sh_visit { SH_VISIT_OUTPATIENT = 0, SH_VISIT_CHRONIC, SH_VISIT_INPATIENT, SH_VISIT_COUNT };

enum sh_level {
    SH_LEVEL_VILLAGE = 0,
    SH_LEVEL_TOWNSHIP,
    SH_LEVEL_COUNTY,
    SH_LEVEL_MUNICIPAL,
    SH_LEVEL_PROVINCIAL,
    SH_LEVEL_COUNT
};

enum sh_item_class { SH_CLASS_A = 'A', SH_CLASS_B = 'B', SH_CLASS_C = 'C' };

enum sh_fund_kind { SH_FUND_INSURANCE = 0, SH_FUND_CATEGORY };

/* Why a fund paid less than its rule gave, or nothing. */
enum sh_reason {
    SH_REASON_NONE = 0,
    SH_REASON_NOT_DESIGNATED,
    SH_REASON_NOT_ENROLLED,
    SH_REASON_NO_CATEGORY,
    SH_REASON_NO_RULE,
    SH_REASON_CLAIM_CAP,
    SH_REASON_ANNUAL_CAP,
    SH_REASON_COUNT
};

/* ---- Reference data ------------------------------------------------------ */

struct sh_person_category {
    char fund[SH_ID_MAX];
    char category[SH_ID_MAX];
    uint32_t from; /* yyyymmdd, inclusive */
    uint32_t to;   /* yyyymmdd, inclusive; 0 = open */
};

struct sh_person {
    char id[SH_PERSON_ID_LEN + 1];
    char name[SH_NAME_MAX];
    char region[SH_CODE_MAX];
    uint32_t enrolled_count;
    int32_t enrolled[SH_ENROLLED_MAX];
    uint32_t category_count;
    struct sh_person_category categories[SH_PERSON_CATS_MAX];
    uint32_t died; /* yyyymmdd; 0 = alive */
};

struct sh_hospital {
    char code[SH_CODE_MAX];
    char name[SH_NAME_MAX];
    char region[SH_CODE_MAX];
    enum sh_level level;
    uint32_t fund_count;
    char funds[SH_FUNDS_MAX][SH_ID_MAX]; /* designations */
};

struct sh_item {
    char code[SH_ID_MAX];
    char name[SH_NAME_MAX];
    enum sh_item_class cls;
    int32_t selfpay_bp; /* SH_SELFPAY_POLICY = the policy's class-B share */
    sh_fen price_cap;   /* fen per unit; SH_NO_CAP = none */
};

/* ---- Policy ---------------------------------------------------------------- */

struct sh_band {
    sh_fen upto; /* exclusive upper bound; SH_UNBOUNDED for the last band */
    int32_t ratio_bp[SH_LEVEL_COUNT];
};

struct sh_rule {
    bool present; /* false: the fund has no rule for this visit type */
    sh_fen deductible[SH_LEVEL_COUNT];
    bool deductible_annual;    /* deductible_scope "annual" */
    bool band_whole;           /* band_mode "whole" */
    bool band_annual;          /* band_scope "annual" */
    sh_fen claim_cap;          /* SH_NO_CAP = none */
    sh_fen annual_cap;         /* SH_NO_CAP = none */
    char cap_group[SH_ID_MAX]; /* defaults to the fund id */
    uint32_t band_count;
    struct sh_band bands[SH_BANDS_MAX];
};

/* The rules of one category of a fund ("default" for an insurance fund). */
struct sh_ruleset {
    char category[SH_ID_MAX];
    struct sh_rule visit[SH_VISIT_COUNT];
};

struct sh_fund {
    char id[SH_ID_MAX];
    char name[SH_NAME_MAX];
    enum sh_fund_kind kind;
    uint32_t ruleset_count; /* in priority order */
    struct sh_ruleset rulesets[SH_FUND_RULESETS_MAX];
};

struct sh_policy {
    char region[SH_CODE_MAX];
    char name[SH_NAME_MAX];
    int32_t year;
    uint32_t effective_from; /* yyyymmdd, inclusive */
    uint32_t effective_to;   /* yyyymmdd, inclusive */
    int32_t class_b_selfpay_bp;
    sh_fen rounding_unit; /* 1 fen, 10 jiao, 100 yuan */
    /* The monthly cross-check's early-warning threshold of a year's
     * out-of-pocket sum (docs/rules.md); SH_NO_CAP = no warning list. */
    sh_fen oop_warning;
    uint32_t fund_count;
    struct sh_fund funds[SH_FUNDS_MAX];
};

/* ---- Claim ------------------------------------------------------------------ */

/* Set by a client adapter that could not represent a line of its source
 * document; the engine then refuses the claim with BAD_CLAIM, in the order
 * docs/rules.md gives, rather than the adapter refusing it early. */
enum sh_line_defect {
    SH_LINE_OK = 0,
    SH_LINE_AMOUNT_NOT_INTEGER,
    SH_LINE_QTY_TOO_PRECISE, /* more than 3 decimals */
    SH_LINE_NOT_A_NUMBER,    /* missing, or not a number, or out of range */
};

struct sh_line {
    char code[SH_ID_MAX];
    uint8_t defect;    /* enum sh_line_defect */
    int64_t qty_milli; /* > 0 */
    sh_fen amount;     /* > 0, <= SH_AMOUNT_MAX */
};

struct sh_claim {
    char hospital[SH_CODE_MAX];
    char person[SH_PERSON_ID_LEN + 2]; /* one spare byte: an over-long id is kept to be refused */
    int visit;                         /* enum sh_visit; -1 = unknown visit type */
    uint32_t date;                     /* yyyymmdd; 0 = missing or invalid */
    uint32_t line_count;
    const struct sh_line *lines; /* owned by the caller */
};

/* ---- Accumulators ---------------------------------------------------------------- */

/* One accumulator: (person, year, fund, cap_group), as committed. */
struct sh_acc {
    char fund[SH_ID_MAX];
    char cap_group[SH_ID_MAX];
    sh_fen paid;
    sh_fen payable;
    sh_fen deductible_met;
};

/* ---- Breakdown ---------------------------------------------------------------- */

struct sh_fund_result {
    char fund[SH_ID_MAX];
    sh_fen pay;
    sh_fen deductible; /* ded applied on this claim (0 when the fund did not apply) */
    enum sh_reason reason;
    bool applied;              /* a rule was found: the accumulator below changes */
    char category[SH_ID_MAX];  /* "" unless a category was used */
    char cap_group[SH_ID_MAX]; /* the accumulator touched, when applied */
    /* Accumulator deltas of this claim (all 0 when !applied). */
    sh_fen payable;        /* added to acc.payable */
    sh_fen deductible_met; /* added to acc.deductible_met (annual scope only) */
};

struct sh_breakdown {
    sh_fen total;
    sh_fen out_of_scope;
    sh_fen over_limit;
    sh_fen pre_selfpay;
    sh_fen in_scope;
    /* The bill by catalog class (Σ amount of the lines of each class):
     * class_a_total + class_b_total + class_c_total == total, and
     * class_c_total == out_of_scope. For the receipt: the cashier's bill
     * lists 甲类/乙类/丙类, which the split above does not separate. */
    sh_fen class_a_total;
    sh_fen class_b_total;
    sh_fen class_c_total;
    sh_fen fund_total;
    sh_fen patient_pays;
    int32_t year; /* the policy (accumulator) year */
    uint32_t fund_count;
    struct sh_fund_result funds[SH_FUNDS_MAX];
};

#endif
