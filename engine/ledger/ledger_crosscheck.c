/*
 * The monthly cross-check (docs/rosters.md): four lists over the committed
 * state, for people to act on. It changes nothing.
 *
 * For month M with last day D, each person is judged under the policy of
 * their region in force on D (a person with none is left out):
 *   died_in_category       died <= D and a span of a category fund of that
 *                          policy still valid after the death (to open or
 *                          to > died); one row per span, in the record's order;
 *   paid_after_death       a settlement dated after the person's death;
 *   paid_outside_category  a category fund paid > 0 on a settlement although
 *                          on its date the person holds no valid category of
 *                          that fund (the policy in force on the settlement's
 *                          date, else D's, says which funds are category funds);
 *   oop_warning            the policy has oop_warning, the person holds no
 *                          valid category of any category fund on D, and the
 *                          patient_pays of their settlements dated from the
 *                          policy's effective_from to D sum to at least it.
 * "Settlement" means one not reversed, dated by its claim's date; "valid
 * category" is what the rules would pay under (a span valid on the date
 * whose category the fund lists). Rows are sorted by person, then
 * settlement id (then the funds in the order the settlement lists them).
 *
 * Two passes, no write: every settlement not reversed, in id order, into a
 * compact entry (person, date, amounts, what the funds paid), sorted by
 * (person, date, id); then every person in key order, merged with their
 * entries. Memory is bounded by CROSSCHECK_SETTLEMENTS_MAX entries.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile_names.h"
#include "refdata.h"
#include "roster.h"
#include "settlement.h"
#include "sh_date.h"
#include "sh_person_id.h"
#include "sh_rules.h"

/* ---- The month ------------------------------------------------------------------------- */

uint32_t roster_month_last_day(const char *month)
{
    if (month == NULL || strlen(month) != 7 || month[4] != '-')
        return 0;
    for (int day = 31; day >= 28; day--) {
        char s[SH_DATE_STR_LEN];
        snprintf(s, sizeof s, "%.7s-%02d", month, day);
        uint32_t d = sh_date_parse(s);
        if (d != 0)
            return d;
    }
    return 0;
}

/* ---- Entries: the settlements ---------------------------------------------------------------- */

struct xc_paid {
    char fund[SH_ID_MAX];
    sh_fen pay;
};

struct xc_entry {
    char person[SH_PERSON_ID_LEN + 1];
    uint32_t date;
    uint64_t id;
    sh_fen patient_pays;
    sh_fen fund_total;
    uint32_t paid_first; /* into xc.paid */
    uint32_t paid_count;
};

enum xc_kind { XC_DIED = 0, XC_AFTER_DEATH, XC_OUTSIDE, XC_OOP, XC_KINDS };

struct xc_row {
    enum xc_kind kind;
    char person[SH_PERSON_ID_LEN + 1];
    uint64_t settlement_id;
    uint32_t seq; /* insertion order: keeps a settlement's funds in its order */
    char fund[SH_ID_MAX];
    char category[SH_ID_MAX];
    uint32_t from, to, died, date, crossed, count;
    sh_fen amount, fund_total;
    /* Filled when the reply is built. */
    char hospital[SH_CODE_MAX];
    char request_id[SH_CODE_MAX];
    char s_from[SH_DATE_STR_LEN], s_to[SH_DATE_STR_LEN], s_died[SH_DATE_STR_LEN],
        s_date[SH_DATE_STR_LEN];
};

struct xc {
    struct ledger_op *op;
    uint32_t last_day;
    struct xc_entry *entries;
    size_t n, cap;
    struct xc_paid *paid;
    size_t paid_n, paid_cap;
    size_t cur; /* the merge's position in entries */
    struct xc_row *rows;
    size_t rows_n, rows_cap;
    size_t kind_count[XC_KINDS];
    struct sh_person person; /* the one being judged */
};

static bool grow(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap < 64 ? 64 : *cap * 2;
    while (n < need)
        n *= 2;
    void *p = realloc(*items, n * size);
    if (p == NULL)
        return false;
    *items = p;
    *cap = n;
    return true;
}

static void copy_id(char *out, size_t cap, const char *s)
{
    size_t n = s != NULL ? strnlen(s, cap - 1) : 0;
    memcpy(out, s != NULL ? s : "", n);
    out[n] = '\0';
}

static int xc_entry_add(struct xc *x, const Sanhe__Settlement *s)
{
    const Sanhe__Breakdown *b = s->breakdown;
    if (x->n >= CROSSCHECK_SETTLEMENTS_MAX)
        return sh_error_set(&x->op->err, SH_E_LIMIT_EXCEEDED,
                            "crosscheck: more than %u settlements", CROSSCHECK_SETTLEMENTS_MAX);
    if (!grow((void **)&x->entries, &x->cap, x->n + 1, sizeof *x->entries) ||
        !grow((void **)&x->paid, &x->paid_cap, x->paid_n + b->n_funds, sizeof *x->paid))
        return sh_error_set(&x->op->err, SH_E_INTERNAL, "out of memory");
    struct xc_entry *e = &x->entries[x->n++];
    memset(e, 0, sizeof *e);
    copy_id(e->person, sizeof e->person, s->claim->person);
    e->date = sh_date_parse(s->claim->date);
    e->id = s->settlement_id;
    e->patient_pays = b->patient_pays;
    e->fund_total = b->fund_total;
    e->paid_first = (uint32_t)x->paid_n;
    for (size_t i = 0; i < b->n_funds; i++) {
        const Sanhe__FundShare *f = b->funds[i];
        if (f->fund == NULL || f->pay <= 0)
            continue;
        struct xc_paid *p = &x->paid[x->paid_n++];
        copy_id(p->fund, sizeof p->fund, f->fund);
        p->pay = f->pay;
        e->paid_count++;
    }
    return 0;
}

static int xc_settlement_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    struct xc *x = ctx;
    Sanhe__SettlementRecord *rec =
        sanhe__settlement_record__unpack(NULL, val->mv_size, val->mv_data);
    int rc = 0;
    if (rec == NULL || rec->settlement == NULL || rec->settlement->claim == NULL ||
        rec->settlement->breakdown == NULL)
        rc = sh_error_set(&x->op->err, SH_E_INTERNAL, "crosscheck: a settlement does not decode");
    else if (rec->settlement->state != SANHE__SETTLEMENT_STATE__REVERSED)
        rc = xc_entry_add(x, rec->settlement);
    if (rec != NULL)
        sanhe__settlement_record__free_unpacked(rec, NULL);
    return rc;
}

static int xc_entry_cmp(const void *a, const void *b)
{
    const struct xc_entry *x = a, *y = b;
    int c = strcmp(x->person, y->person);
    if (c != 0)
        return c;
    if (x->date != y->date)
        return x->date < y->date ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* ---- Rows -------------------------------------------------------------------------------- */

static struct xc_row *xc_row_add(struct xc *x, enum xc_kind kind)
{
    if (!grow((void **)&x->rows, &x->rows_cap, x->rows_n + 1, sizeof *x->rows))
        return NULL;
    struct xc_row *r = &x->rows[x->rows_n];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->seq = (uint32_t)x->rows_n++;
    memcpy(r->person, x->person.id, sizeof r->person);
    x->kind_count[kind]++;
    return r;
}

static const struct sh_fund *xc_fund(const struct sh_policy *policy, const char *id)
{
    for (uint32_t i = 0; policy != NULL && i < policy->fund_count; i++)
        if (strcmp(policy->funds[i].id, id) == 0)
            return &policy->funds[i];
    return NULL;
}

static int xc_died(struct xc *x, const struct sh_policy *policy)
{
    const struct sh_person *p = &x->person;
    if (p->died == 0 || p->died > x->last_day)
        return 0;
    for (uint32_t i = 0; i < p->category_count; i++) {
        const struct sh_person_category *c = &p->categories[i];
        const struct sh_fund *f = xc_fund(policy, c->fund);
        if (f == NULL || f->kind != SH_FUND_CATEGORY || (c->to != 0 && c->to <= p->died))
            continue;
        struct xc_row *r = xc_row_add(x, XC_DIED);
        if (r == NULL)
            return SH_E_INTERNAL;
        memcpy(r->fund, c->fund, sizeof r->fund);
        memcpy(r->category, c->category, sizeof r->category);
        r->from = c->from;
        r->to = c->to;
        r->died = p->died;
    }
    return 0;
}

static int xc_settlements(struct xc *x, const struct sh_policy *policy, size_t first, size_t end)
{
    const struct sh_person *p = &x->person;
    for (size_t i = first; i < end; i++) {
        const struct xc_entry *e = &x->entries[i];
        if (p->died != 0 && e->date > p->died) {
            struct xc_row *r = xc_row_add(x, XC_AFTER_DEATH);
            if (r == NULL)
                return SH_E_INTERNAL;
            r->settlement_id = e->id;
            r->date = e->date;
            r->died = p->died;
            r->fund_total = e->fund_total;
        }
        const struct sh_policy *then = policy_set_find(x->op->policies, p->region, e->date);
        if (then == NULL)
            then = policy;
        for (uint32_t k = 0; k < e->paid_count; k++) {
            const struct xc_paid *paid = &x->paid[e->paid_first + k];
            const struct sh_fund *f = xc_fund(then, paid->fund);
            if (f == NULL || f->kind != SH_FUND_CATEGORY ||
                sh_fund_ruleset_for(then, f, p, e->date) != NULL)
                continue;
            struct xc_row *r = xc_row_add(x, XC_OUTSIDE);
            if (r == NULL)
                return SH_E_INTERNAL;
            r->settlement_id = e->id;
            memcpy(r->fund, paid->fund, sizeof r->fund);
            r->amount = paid->pay;
            r->date = e->date;
        }
    }
    return 0;
}

static int xc_oop(struct xc *x, const struct sh_policy *policy, size_t first, size_t end)
{
    const struct sh_person *p = &x->person;
    if (policy->oop_warning <= 0)
        return 0;
    for (uint32_t i = 0; i < policy->fund_count; i++) {
        const struct sh_fund *f = &policy->funds[i];
        if (f->kind == SH_FUND_CATEGORY && sh_fund_ruleset_for(policy, f, p, x->last_day) != NULL)
            return 0;
    }
    sh_fen sum = 0, fund_sum = 0;
    uint32_t count = 0, crossed = 0;
    for (size_t i = first; i < end; i++) { /* in date order, then settlement id */
        const struct xc_entry *e = &x->entries[i];
        if (e->date < policy->effective_from || e->date > x->last_day)
            continue;
        sum += e->patient_pays;
        fund_sum += e->fund_total;
        count++;
        if (crossed == 0 && sum >= policy->oop_warning)
            crossed = e->date;
    }
    if (crossed == 0)
        return 0;
    struct xc_row *r = xc_row_add(x, XC_OOP);
    if (r == NULL)
        return SH_E_INTERNAL;
    r->amount = sum;
    r->fund_total = fund_sum;
    r->count = count;
    r->crossed = crossed;
    return 0;
}

static int xc_person_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct xc *x = ctx;
    struct sh_person *p = &x->person;
    if (!refdata_person_decode(x->op->txn, key, val, p))
        return SH_E_INTERNAL;
    while (x->cur < x->n && strcmp(x->entries[x->cur].person, p->id) < 0)
        x->cur++; /* settlements of a person no longer in reference data */
    size_t first = x->cur;
    while (x->cur < x->n && strcmp(x->entries[x->cur].person, p->id) == 0)
        x->cur++;
    const struct sh_policy *policy = policy_set_find(x->op->policies, p->region, x->last_day);
    if (policy == NULL)
        return 0;
    int rc = xc_died(x, policy);
    if (rc == 0)
        rc = xc_settlements(x, policy, first, x->cur);
    if (rc == 0)
        rc = xc_oop(x, policy, first, x->cur);
    if (rc != 0)
        return sh_error_set(&x->op->err, rc, "out of memory");
    return 0;
}

/* Person, then settlement id, then insertion order. */
static int xc_row_cmp(const void *a, const void *b)
{
    const struct xc_row *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    int c = strcmp(x->person, y->person);
    if (c != 0)
        return c;
    if (x->settlement_id != y->settlement_id)
        return x->settlement_id < y->settlement_id ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- The reply ---------------------------------------------------------------------------- */

static void xc_date(uint32_t date, char out[SH_DATE_STR_LEN])
{
    if (date != 0)
        sh_date_format(date, out);
    else
        out[0] = '\0';
}

/* The hospital and request id of a row's settlement. */
static int xc_row_names(struct xc *x, struct xc_row *r)
{
    Sanhe__SettlementRecord *rec = settlement_get(x->op->txn, r->settlement_id);
    if (rec == NULL)
        return sh_error_set(&x->op->err, SH_E_INTERNAL, "settlement %" PRIu64 " is missing",
                            r->settlement_id);
    copy_id(r->hospital, sizeof r->hospital, rec->settlement->hospital);
    copy_id(r->request_id, sizeof r->request_id, rec->settlement->request_id);
    sanhe__settlement_record__free_unpacked(rec, NULL);
    return 0;
}

struct xc_msgs {
    Sanhe__CrosscheckDied *died;
    Sanhe__CrosscheckPaidAfterDeath *after;
    Sanhe__CrosscheckOutsideCategory *outside;
    Sanhe__CrosscheckOopWarning *oop;
    void **ptrs; /* one per row: the four repeated fields' arrays, in kind order */
};

static void xc_msg_fill(struct xc_row *r, struct xc_msgs *m, size_t *k, void **ptr)
{
    xc_date(r->from, r->s_from);
    xc_date(r->to, r->s_to);
    xc_date(r->died, r->s_died);
    xc_date(r->date != 0 ? r->date : r->crossed, r->s_date);
    switch (r->kind) {
    case XC_DIED: {
        Sanhe__CrosscheckDied *d = &m->died[k[XC_DIED]++];
        sanhe__crosscheck_died__init(d);
        d->person = r->person;
        d->fund = r->fund;
        d->category = r->category;
        d->from = r->s_from;
        d->to = r->to != 0 ? r->s_to : NULL;
        d->died = r->s_died;
        *ptr = d;
        break;
    }
    case XC_AFTER_DEATH: {
        Sanhe__CrosscheckPaidAfterDeath *a = &m->after[k[XC_AFTER_DEATH]++];
        sanhe__crosscheck_paid_after_death__init(a);
        a->has_settlement_id = a->has_fund_total = true;
        a->settlement_id = r->settlement_id;
        a->hospital = r->hospital;
        a->request_id = r->request_id;
        a->person = r->person;
        a->date = r->s_date;
        a->died = r->s_died;
        a->fund_total = r->fund_total;
        *ptr = a;
        break;
    }
    case XC_OUTSIDE: {
        Sanhe__CrosscheckOutsideCategory *o = &m->outside[k[XC_OUTSIDE]++];
        sanhe__crosscheck_outside_category__init(o);
        o->has_settlement_id = o->has_pay = true;
        o->settlement_id = r->settlement_id;
        o->hospital = r->hospital;
        o->request_id = r->request_id;
        o->person = r->person;
        o->fund = r->fund;
        o->pay = r->amount;
        o->date = r->s_date;
        *ptr = o;
        break;
    }
    default: {
        Sanhe__CrosscheckOopWarning *w = &m->oop[k[XC_OOP]++];
        sanhe__crosscheck_oop_warning__init(w);
        w->has_patient_pays = w->has_fund_total = w->has_count = true;
        w->person = r->person;
        w->patient_pays = r->amount;
        w->fund_total = r->fund_total;
        w->count = r->count;
        w->crossed = r->s_date;
        *ptr = w;
        break;
    }
    }
}

#define XC_FUNDS_MAX 32 /* funds named in one reply; a policy has far fewer */

/* The funds the rows name, each once, named by the policies. */
struct xc_funds {
    Sanhe__FundAmount items[XC_FUNDS_MAX];
    Sanhe__FundAmount *ptrs[XC_FUNDS_MAX];
    size_t n;
};

static void xc_funds_add(struct xc_funds *f, const struct xc *x, const struct xc_row *r)
{
    if ((r->kind != XC_DIED && r->kind != XC_OUTSIDE) || r->fund[0] == '\0')
        return;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i].fund, r->fund) == 0)
            return;
    if (f->n == XC_FUNDS_MAX)
        return; /* the page shows the id of a fund left unnamed */
    Sanhe__FundAmount *a = &f->items[f->n];
    sanhe__fund_amount__init(a);
    a->fund = (char *)r->fund;
    a->name = (char *)recon_fund_name(x->op->policies, x->last_day, r->fund);
    f->ptrs[f->n++] = a;
}

static int xc_reply(struct xc *x, const char *month)
{
    struct xc_msgs m = {0};
    size_t n = x->rows_n;
    m.died = calloc(x->kind_count[XC_DIED] + 1, sizeof *m.died);
    m.after = calloc(x->kind_count[XC_AFTER_DEATH] + 1, sizeof *m.after);
    m.outside = calloc(x->kind_count[XC_OUTSIDE] + 1, sizeof *m.outside);
    m.oop = calloc(x->kind_count[XC_OOP] + 1, sizeof *m.oop);
    m.ptrs = calloc(n + 1, sizeof *m.ptrs);
    int rc = 0;
    if (m.died == NULL || m.after == NULL || m.outside == NULL || m.oop == NULL || m.ptrs == NULL)
        rc = sh_error_set(&x->op->err, SH_E_INTERNAL, "out of memory");
    size_t k[XC_KINDS] = {0};
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct xc_row *r = &x->rows[i];
        if (r->kind == XC_AFTER_DEATH || r->kind == XC_OUTSIDE)
            rc = xc_row_names(x, r);
        if (rc == 0)
            xc_msg_fill(r, &m, k, &m.ptrs[i]);
    }
    struct xc_funds *funds = calloc(1, sizeof *funds);
    if (funds == NULL && rc == 0)
        rc = sh_error_set(&x->op->err, SH_E_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++)
        xc_funds_add(funds, x, &x->rows[i]);
    char last[SH_DATE_STR_LEN];
    sh_date_format(x->last_day, last);
    Sanhe__CrosscheckReply cr = SANHE__CROSSCHECK_REPLY__INIT;
    cr.month = (char *)month;
    cr.last_day = last;
    /* rows are sorted by kind, so each kind's pointers are one run of ptrs */
    size_t at = 0;
    cr.n_died_in_category = x->kind_count[XC_DIED];
    cr.died_in_category = (Sanhe__CrosscheckDied **)(m.ptrs + at);
    at += x->kind_count[XC_DIED];
    cr.n_paid_after_death = x->kind_count[XC_AFTER_DEATH];
    cr.paid_after_death = (Sanhe__CrosscheckPaidAfterDeath **)(m.ptrs + at);
    at += x->kind_count[XC_AFTER_DEATH];
    cr.n_paid_outside_category = x->kind_count[XC_OUTSIDE];
    cr.paid_outside_category = (Sanhe__CrosscheckOutsideCategory **)(m.ptrs + at);
    at += x->kind_count[XC_OUTSIDE];
    cr.n_oop_warning = x->kind_count[XC_OOP];
    cr.oop_warning = (Sanhe__CrosscheckOopWarning **)(m.ptrs + at);
    if (funds != NULL) {
        cr.n_funds = funds->n;
        cr.funds = funds->ptrs;
    }
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = x->op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_CROSSCHECK;
    resp.crosscheck = &cr;
    if (rc == 0 && ledger_reply_pack(&resp, &x->op->reply) != 0)
        rc = sh_error_set(&x->op->err, SH_E_INTERNAL, "out of memory");
    free(m.died);
    free(m.after);
    free(m.outside);
    free(m.oop);
    free(m.ptrs);
    free(funds);
    return rc;
}

int ledger_op_crosscheck(struct ledger_op *op)
{
    const Sanhe__CrosscheckRequest *q = op->request->crosscheck;
    const char *month = q != NULL ? q->month : NULL;
    struct xc x = {.op = op, .last_day = roster_month_last_day(month)};
    if (x.last_day == 0) {
        sh_error_set(&op->err, SH_E_BAD_REQUEST, "crosscheck: month is not YYYY-MM");
        return sh_error_detail(&op->err, SH_D_FIELD_INVALID, "%s", "month");
    }
    store_scan(op->txn, STORE_DB_SETTLEMENTS, NULL, 0, xc_settlement_one, &x);
    int rc = op->txn->ret;
    if (rc == 0) {
        if (x.n > 1)
            qsort(x.entries, x.n, sizeof *x.entries, xc_entry_cmp);
        store_scan(op->txn, STORE_DB_PERSONS, NULL, 0, xc_person_one, &x);
        rc = op->txn->ret;
    }
    if (rc == 0) {
        if (x.rows_n > 1)
            qsort(x.rows, x.rows_n, sizeof *x.rows, xc_row_cmp);
        rc = xc_reply(&x, month);
    }
    free(x.entries);
    free(x.paid);
    free(x.rows);
    return rc;
}
