/*
 * An import's commit (docs/rosters.md): the diff of its staged rows against
 * reference data, applied, or with dry_run only counted and shown.
 *
 *   enrolment  every row's person is enrolled in the row's year (a person
 *              not in reference data is added); only adds. Applied in
 *              slices of max_rows rows, one commit request each, so that a
 *              file of millions of rows passes through the write batch
 *              without holding it: each slice deletes the rows it applied
 *              and keeps the running counts in the session, in the same
 *              transaction. Once the first slice is committed the session
 *              is APPLYING and a begin of the same file resumes it: a crash
 *              in the middle leaves a prefix of the file applied, never a
 *              mixture, and the file is finished by committing again.
 *   category   for fund F on effective date E: a row whose from is that of
 *              a span of F corrects it (category, to); otherwise a new span,
 *              and a span of F open on from that began earlier ends the day
 *              before from. Then every span of F with from <= E that is open
 *              on E (to open or after E), of a person the file does not list,
 *              ends on E: the exit. Refused when the exits pass the session's
 *              share of F's open spans, unless forced.
 *   deaths     each row sets died; a different date is replaced (and counted).
 *   hospitals, catalog   each row added or replacing the one of its code.
 * These four are applied in one request, all or nothing (the request runs in
 * a child transaction of the batch).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "item_cache.h"
#include "refdata.h"
#include "roster.h"
#include "sh_date.h"
#include "sh_person_id.h"
#include "store_keys.h"

enum ex_kind {
    EX_ADDED = 0,
    EX_ENROLLED,
    EX_BEGUN,
    EX_ENDED,
    EX_CHANGED,
    EX_EXIT,
    EX_DIED,
    EX_DIED_CHANGED,
    EX_HOSPITAL,
    EX_ITEM,
    EX_KINDS
};

static const char *const ex_names[EX_KINDS] = {
    "person_added", "enrolled",       "category_begun", "category_ended", "category_changed",
    "exit",         "death_recorded", "death_changed",  "hospital",       "item"};

struct ra_change {
    enum ex_kind kind;
    uint32_t line;
    int32_t year;
    char person[19]; /* masked */
    char fund[SH_ID_MAX], category[SH_ID_MAX], code[SH_ID_MAX], previous[SH_ID_MAX];
    char from[SH_DATE_STR_LEN], to[SH_DATE_STR_LEN], died[SH_DATE_STR_LEN];
};

struct ra {
    struct ledger_op *op;
    Sanhe__ImportRecord *s;
    const Sanhe__ImportCommitRequest *q;
    bool dry;
    uint32_t max_rows, examples;
    struct roster_counts c;
    struct ra_change *ex;
    size_t ex_n, ex_count[EX_KINDS];
    int rc; /* a refusal met inside a scan */
    /* enrolment */
    size_t processed;
    uint8_t (*keys)[ROSTER_STAGE_KEY_MAX];
    size_t *key_lens;
    uint8_t last[ROSTER_STAGE_KEY_MAX];
    size_t last_len;
    char prev_person[SH_PERSON_ID_LEN + 1];
    bool prev_added;
    /* category */
    uint32_t effective;
    bool have;               /* person below is loaded */
    bool person_new;         /* and not yet in reference data */
    struct sh_person person; /* as the rows leave it */
    struct sh_person orig;   /* as it was */
    char (*exits)[SH_PERSON_ID_LEN + 1];
    size_t exits_n, exits_cap;
    uint64_t open_spans, exit_spans;
    char refusal[SH_ERROR_MSG_MAX];
};

/* ---- Examples -------------------------------------------------------------------------- */

static void date_str(uint32_t d, char out[SH_DATE_STR_LEN])
{
    if (d != 0)
        sh_date_format(d, out);
    else
        out[0] = '\0';
}

static void copy_cut(char *out, size_t cap, const char *s)
{
    size_t n = s != NULL ? strnlen(s, cap - 1) : 0;
    memcpy(out, s != NULL ? s : "", n);
    out[n] = '\0';
}

/* A slot for an example of that kind, or NULL when the kind has enough. */
static struct ra_change *ra_example(struct ra *a, enum ex_kind kind, uint32_t line,
                                    const char *person)
{
    if (a->ex_count[kind] >= a->examples || a->ex == NULL)
        return NULL;
    a->ex_count[kind]++;
    struct ra_change *x = &a->ex[a->ex_n++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->line = line;
    if (person != NULL)
        sh_person_id_mask(person, x->person);
    return x;
}

static void ra_span_example(struct ra *a, enum ex_kind kind, uint32_t line,
                            const struct sh_person_category *c, const char *previous)
{
    struct ra_change *x = ra_example(a, kind, line, a->person.id);
    if (x == NULL)
        return;
    copy_cut(x->fund, sizeof x->fund, c->fund);
    copy_cut(x->category, sizeof x->category, c->category);
    date_str(c->from, x->from);
    date_str(c->to, x->to);
    copy_cut(x->previous, sizeof x->previous, previous);
}

static int ra_refuse(struct ra *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ra_refuse(struct ra *a, int code, const char *fmt, ...)
{
    char msg[SH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    a->rc = sh_error_set(&a->op->err, code, "%s; nothing was changed", msg);
    return a->rc;
}

/* ---- Staged rows ------------------------------------------------------------------------ */

typedef int (*ra_row_fn)(struct ra *a, const Sanhe__ImportRow *row, const MDB_val *key);

struct ra_walk {
    struct ra *a;
    ra_row_fn fn;
    size_t limit; /* rows, 0: all */
};

static int ra_walk_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct ra_walk *w = ctx;
    struct ra *a = w->a;
    uint8_t prefix[8];
    store_key_u64(prefix, a->s->import_id);
    if (key->mv_size < 8 || memcmp(key->mv_data, prefix, 8) != 0)
        return 1; /* past the session's rows */
    if (a->last_len > 0 && key->mv_size == a->last_len &&
        memcmp(key->mv_data, a->last, a->last_len) == 0)
        return 0; /* the dry run's "after" row itself */
    if (w->limit != 0 && a->processed >= w->limit)
        return 1;
    Sanhe__ImportRow *row = sanhe__import_row__unpack(NULL, val->mv_size, val->mv_data);
    if (row == NULL)
        return SH_E_INTERNAL;
    int rc = w->fn(a, row, key);
    sanhe__import_row__free_unpacked(row, NULL);
    if (rc == 0 && key->mv_size <= ROSTER_STAGE_KEY_MAX) {
        if (a->keys != NULL) {
            memcpy(a->keys[a->processed], key->mv_data, key->mv_size);
            a->key_lens[a->processed] = key->mv_size;
        }
        if (a->dry) { /* where the next slice of a dry run starts */
            memcpy(a->last, key->mv_data, key->mv_size);
            a->last_len = key->mv_size;
        }
        a->processed++;
        a->c.rows++;
    }
    return rc < 0 ? (a->rc != 0 ? 1 : rc) : 0;
}

/* Walks the session's staged rows in key order, from after a->last. */
static int ra_walk(struct ra *a, ra_row_fn fn, size_t limit)
{
    struct ra_walk w = {.a = a, .fn = fn, .limit = limit};
    uint8_t from[ROSTER_STAGE_KEY_MAX];
    size_t from_len = 8;
    store_key_u64(from, a->s->import_id);
    if (a->last_len > 0) {
        memcpy(from, a->last, a->last_len);
        from_len = a->last_len;
    }
    store_scan_from(a->op->txn, STORE_DB_IMPORT_STAGE, from, from_len, ra_walk_one, &w);
    return a->rc != 0 ? a->rc : a->op->txn->ret;
}

/* ---- Enrolment ------------------------------------------------------------------------------- */

static bool enrolled_in(const struct sh_person *p, int32_t year)
{
    for (uint32_t i = 0; i < p->enrolled_count; i++)
        if (p->enrolled[i] == year)
            return true;
    return false;
}

/* Adds a year; a person already holding SH_ENROLLED_MAX years loses the oldest. */
static void enrol_add(struct sh_person *p, int32_t year)
{
    if (p->enrolled_count == SH_ENROLLED_MAX) {
        uint32_t oldest = 0;
        for (uint32_t i = 1; i < p->enrolled_count; i++)
            if (p->enrolled[i] < p->enrolled[oldest])
                oldest = i;
        p->enrolled[oldest] = p->enrolled[--p->enrolled_count];
    }
    p->enrolled[p->enrolled_count++] = year;
}

static int ra_enrol_row(struct ra *a, const Sanhe__ImportRow *row, const MDB_val *key)
{
    (void)key;
    struct sh_person *p = &a->person;
    bool had = refdata_person_get(a->op->txn, row->person, p);
    if (a->op->txn->ret != 0)
        return a->op->txn->ret;
    /* a dry run does not write the person it would add: its next row sees it added */
    bool added_before = a->dry && !had && a->prev_added && strcmp(a->prev_person, row->person) == 0;
    bool changed = true;
    if (!had && !added_before) {
        memset(p, 0, sizeof *p);
        copy_cut(p->id, sizeof p->id, row->person);
        copy_cut(p->name, sizeof p->name, row->name);
        copy_cut(p->region, sizeof p->region, row->region);
        enrol_add(p, row->year);
        a->c.persons_added++;
        a->c.enrolled++;
        struct ra_change *x = ra_example(a, EX_ADDED, row->line, row->person);
        if (x != NULL)
            x->year = row->year;
        a->prev_added = true;
    } else if (had && enrolled_in(p, row->year)) {
        a->c.unchanged++;
        changed = false;
        a->prev_added = false;
    } else {
        if (had)
            enrol_add(p, row->year);
        a->c.enrolled++;
        struct ra_change *x = ra_example(a, EX_ENROLLED, row->line, row->person);
        if (x != NULL)
            x->year = row->year;
        a->prev_added = added_before;
    }
    copy_cut(a->prev_person, sizeof a->prev_person, row->person);
    if (changed && !a->dry)
        refdata_person_put(a->op->txn, p);
    return a->op->txn->ret;
}

/* ---- Category rosters -------------------------------------------------------------------- */

static bool span_open_on(const struct sh_person_category *c, uint32_t date)
{
    return c->from <= date && (c->to == 0 || c->to > date);
}

static int listed_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    (void)val;
    *(bool *)ctx = true;
    return 1;
}

static bool ra_listed(struct ra *a, const char *person)
{
    uint8_t prefix[8 + SH_PERSON_ID_LEN];
    store_key_u64(prefix, a->s->import_id);
    memcpy(prefix + 8, person, SH_PERSON_ID_LEN);
    bool listed = false;
    store_scan(a->op->txn, STORE_DB_IMPORT_STAGE, prefix, sizeof prefix, listed_one, &listed);
    return listed;
}

/* Every person's spans of F open on E: counted, and those of persons the
 * file does not list kept for their exit. */
static int ra_exit_scan_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct ra *a = ctx;
    struct sh_person *p = &a->orig;
    if (!refdata_person_decode(a->op->txn, key, val, p))
        return SH_E_INTERNAL;
    uint64_t open = 0;
    for (uint32_t i = 0; i < p->category_count; i++)
        if (strcmp(p->categories[i].fund, a->s->fund) == 0 &&
            span_open_on(&p->categories[i], a->effective))
            open++;
    if (open == 0)
        return 0;
    a->open_spans += open;
    if (p->id[0] == '\0' || ra_listed(a, p->id))
        return 0;
    if (a->exits_n == a->exits_cap) {
        size_t cap = a->exits_cap > 0 ? a->exits_cap * 2 : 256;
        void *n = realloc(a->exits, cap * sizeof *a->exits);
        if (n == NULL)
            return SH_E_INTERNAL;
        a->exits = n;
        a->exits_cap = cap;
    }
    memcpy(a->exits[a->exits_n++], p->id, sizeof *a->exits);
    a->exit_spans += open;
    return 0;
}

static int ra_person_flush(struct ra *a)
{
    if (!a->have)
        return 0;
    a->have = false;
    if (a->person_new)
        a->c.persons_added++;
    if (!a->dry && (a->person_new || !roster_person_same(&a->person, &a->orig)))
        refdata_person_put(a->op->txn, &a->person);
    return a->op->txn->ret;
}

static int ra_person_load(struct ra *a, const Sanhe__ImportRow *row)
{
    if (a->have && strcmp(a->person.id, row->person) == 0)
        return 0;
    int rc = ra_person_flush(a);
    if (rc != 0)
        return rc;
    bool had = refdata_person_get(a->op->txn, row->person, &a->orig);
    if (a->op->txn->ret != 0)
        return a->op->txn->ret;
    if (!had) {
        if (row->region == NULL || row->region[0] == '\0') {
            char masked[19];
            sh_person_id_mask(row->person, masked);
            ra_refuse(a, SH_E_IMPORT_REFUSED, "line %u (%s): unknown person", row->line, masked);
            return sh_error_detail(&a->op->err, SH_D_IMPORT_LINE_PERSON_UNKNOWN,
                                   "%u" SH_DETAIL_SEP "%s", row->line, masked);
        }
        memset(&a->orig, 0, sizeof a->orig);
        copy_cut(a->orig.id, sizeof a->orig.id, row->person);
        copy_cut(a->orig.name, sizeof a->orig.name, row->name);
        copy_cut(a->orig.region, sizeof a->orig.region, row->region);
        struct ra_change *x = ra_example(a, EX_ADDED, row->line, row->person);
        (void)x;
    }
    a->person = a->orig;
    a->person_new = !had;
    a->have = true;
    return 0;
}

static void to_text(uint32_t to, char out[SH_ID_MAX])
{
    if (to == 0)
        snprintf(out, SH_ID_MAX, "open");
    else
        sh_date_format(to, out);
}

static int ra_category_row(struct ra *a, const Sanhe__ImportRow *row, const MDB_val *key)
{
    (void)key;
    int rc = ra_person_load(a, row);
    if (rc != 0)
        return rc;
    struct sh_person *p = &a->person;
    uint32_t from = sh_date_parse(row->from), to = sh_date_parse(row->to);
    const char *fund = a->s->fund;
    char prev[SH_ID_MAX];
    for (uint32_t i = 0; i < p->category_count; i++) {
        struct sh_person_category *c = &p->categories[i];
        if (strcmp(c->fund, fund) != 0 || c->from != from)
            continue;
        if (strcmp(c->category, row->category) == 0 && c->to == to) {
            a->c.unchanged++;
            return 0;
        }
        if (strcmp(c->category, row->category) != 0)
            copy_cut(prev, sizeof prev, c->category);
        else
            to_text(c->to, prev);
        copy_cut(c->category, sizeof c->category, row->category);
        c->to = to;
        a->c.changed++;
        ra_span_example(a, EX_CHANGED, row->line, c, prev);
        return 0;
    }
    if (p->category_count >= SH_PERSON_CATS_MAX) {
        char masked[19];
        sh_person_id_mask(p->id, masked);
        ra_refuse(a, SH_E_IMPORT_REFUSED, "line %u (%s): more than %d category spans", row->line,
                  masked, SH_PERSON_CATS_MAX);
        return sh_error_detail(&a->op->err, SH_D_IMPORT_LINE_SPANS,
                               "%u" SH_DETAIL_SEP "%s" SH_DETAIL_SEP "%d", row->line, masked,
                               SH_PERSON_CATS_MAX);
    }
    for (uint32_t i = 0; i < p->category_count; i++) {
        struct sh_person_category *c = &p->categories[i];
        if (strcmp(c->fund, fund) != 0 || c->from >= from || (c->to != 0 && c->to < from))
            continue;
        to_text(c->to, prev);
        c->to = roster_day_before(from);
        a->c.ended++;
        ra_span_example(a, EX_ENDED, row->line, c, prev);
    }
    struct sh_person_category *n = &p->categories[p->category_count++];
    memset(n, 0, sizeof *n);
    copy_cut(n->fund, sizeof n->fund, fund);
    copy_cut(n->category, sizeof n->category, row->category);
    n->from = from;
    n->to = to;
    a->c.begun++;
    ra_span_example(a, EX_BEGUN, row->line, n, NULL);
    return 0;
}

static int ra_exits_apply(struct ra *a)
{
    for (size_t i = 0; i < a->exits_n; i++) {
        struct sh_person *p = &a->person;
        if (!refdata_person_get(a->op->txn, a->exits[i], p))
            return a->op->txn->ret != 0 ? a->op->txn->ret : SH_E_INTERNAL;
        for (uint32_t k = 0; k < p->category_count; k++) {
            struct sh_person_category *c = &p->categories[k];
            if (strcmp(c->fund, a->s->fund) != 0 || !span_open_on(c, a->effective))
                continue;
            char prev[SH_ID_MAX];
            to_text(c->to, prev);
            c->to = a->effective;
            a->c.exits++;
            ra_span_example(a, EX_EXIT, 0, c, prev);
        }
        if (!a->dry)
            refdata_person_put(a->op->txn, p);
        if (a->op->txn->ret != 0)
            return a->op->txn->ret;
    }
    return 0;
}

static int ra_category(struct ra *a)
{
    a->effective = sh_date_parse(a->s->effective);
    store_scan(a->op->txn, STORE_DB_PERSONS, NULL, 0, ra_exit_scan_one, a);
    int rc = a->op->txn->ret;
    if (rc != 0)
        return rc;
    uint64_t share = a->s->exit_share_max_bp;
    if (a->exit_spans * 10000 > share * a->open_spans && !a->s->force) {
        snprintf(a->refusal, sizeof a->refusal,
                 "the roster would end %" PRIu64 " of %" PRIu64 " open spans of %s on %s, more "
                 "than %" PRIu64 ".%02" PRIu64 " %%; check the file, or force it",
                 a->exit_spans, a->open_spans, a->s->fund, a->s->effective, share / 100,
                 share % 100);
        if (!a->dry) {
            ra_refuse(a, SH_E_IMPORT_TOO_MANY_EXITS, "%s", a->refusal);
            return sh_error_detail(&a->op->err, SH_D_IMPORT_TOO_MANY_EXITS,
                                   "%" PRIu64 SH_DETAIL_SEP "%" PRIu64 SH_DETAIL_SEP
                                   "%s" SH_DETAIL_SEP "%" PRIu64 ".%02" PRIu64,
                                   a->exit_spans, a->open_spans, a->s->fund, share / 100,
                                   share % 100);
        }
    }
    rc = ra_walk(a, ra_category_row, 0);
    if (rc == 0)
        rc = ra_person_flush(a);
    if (rc == 0)
        rc = ra_exits_apply(a);
    return rc;
}

/* ---- Deaths, hospitals, catalog ----------------------------------------------------------------
 */

static int ra_death_row(struct ra *a, const Sanhe__ImportRow *row, const MDB_val *key)
{
    (void)key;
    struct sh_person *p = &a->person;
    if (!refdata_person_get(a->op->txn, row->person, p)) {
        if (a->op->txn->ret != 0)
            return a->op->txn->ret;
        char masked[19];
        sh_person_id_mask(row->person, masked);
        ra_refuse(a, SH_E_IMPORT_REFUSED, "line %u (%s): unknown person", row->line, masked);
        return sh_error_detail(&a->op->err, SH_D_IMPORT_LINE_PERSON_UNKNOWN,
                               "%u" SH_DETAIL_SEP "%s", row->line, masked);
    }
    uint32_t died = sh_date_parse(row->died);
    if (p->died == died) {
        a->c.unchanged++;
        return 0;
    }
    enum ex_kind kind = p->died == 0 ? EX_DIED : EX_DIED_CHANGED;
    struct ra_change *x = ra_example(a, kind, row->line, row->person);
    if (x != NULL) {
        date_str(died, x->died);
        date_str(p->died, x->previous);
    }
    if (p->died == 0)
        a->c.deaths_recorded++;
    else
        a->c.deaths_changed++;
    p->died = died;
    if (!a->dry)
        refdata_person_put(a->op->txn, p);
    return a->op->txn->ret;
}

static bool same_hospital(const struct sh_hospital *x, const struct sh_hospital *y)
{
    if (strcmp(x->name, y->name) != 0 || strcmp(x->region, y->region) != 0 ||
        x->level != y->level || x->fund_count != y->fund_count)
        return false;
    for (uint32_t i = 0; i < x->fund_count; i++)
        if (strcmp(x->funds[i], y->funds[i]) != 0)
            return false;
    return true;
}

static int ra_hospital_row(struct ra *a, const Sanhe__ImportRow *row, const MDB_val *key)
{
    (void)key;
    struct sh_hospital h, old;
    struct sh_error err = {0};
    if (convert_hospital(row->hospital, 0, &h, &err) != 0) {
        ra_refuse(a, SH_E_IMPORT_REFUSED, "line %u: %s", row->line, err.msg);
        return sh_error_detail(&a->op->err, SH_D_IMPORT_LINE_INVALID, "%u", row->line);
    }
    bool had = refdata_hospital_get(a->op->txn, h.code, &old);
    if (had && same_hospital(&h, &old)) {
        a->c.unchanged++;
        return a->op->txn->ret;
    }
    a->c.hospitals++;
    struct ra_change *x = ra_example(a, EX_HOSPITAL, row->line, NULL);
    if (x != NULL) {
        copy_cut(x->code, sizeof x->code, h.code);
        snprintf(x->previous, sizeof x->previous, "%s", had ? "replaced" : "added");
    }
    if (!a->dry)
        refdata_hospital_put(a->op->txn, &h);
    return a->op->txn->ret;
}

static int ra_item_row(struct ra *a, const Sanhe__ImportRow *row, const MDB_val *key)
{
    (void)key;
    struct sh_item item, old;
    struct sh_error err = {0};
    if (convert_item(row->item, 0, &item, &err) != 0) {
        ra_refuse(a, SH_E_IMPORT_REFUSED, "line %u: %s", row->line, err.msg);
        return sh_error_detail(&a->op->err, SH_D_IMPORT_LINE_INVALID, "%u", row->line);
    }
    bool had = refdata_item_get(a->op->txn, item.code, &old);
    if (had && old.cls == item.cls && old.selfpay_bp == item.selfpay_bp &&
        old.price_cap == item.price_cap && strcmp(old.name, item.name) == 0) {
        a->c.unchanged++;
        return a->op->txn->ret;
    }
    a->c.items++;
    struct ra_change *x = ra_example(a, EX_ITEM, row->line, NULL);
    if (x != NULL) {
        copy_cut(x->code, sizeof x->code, item.code);
        snprintf(x->previous, sizeof x->previous, "%s", had ? "replaced" : "added");
    }
    if (!a->dry) {
        if (a->op->items != NULL)
            item_cache_clear(a->op->items); /* any item may change */
        refdata_item_put(a->op->txn, &item);
    }
    return a->op->txn->ret;
}

/* ---- The commit -------------------------------------------------------------------------------
 */

static void ra_change_msg(const struct ra_change *x, Sanhe__ImportChange *m)
{
    sanhe__import_change__init(m);
    m->kind = (char *)ex_names[x->kind];
    m->has_line = true;
    m->line = x->line;
#define OPT(field)                                                                                 \
    if (x->field[0] != '\0')                                                                       \
        m->field = (char *)x->field;
    OPT(person)
    OPT(fund)
    OPT(category)
    OPT(from)
    OPT(to)
    OPT(died)
    OPT(previous)
    OPT(code)
#undef OPT
    if (x->year != 0) {
        m->has_year = true;
        m->year = x->year;
    }
}

static int ra_reply(struct ra *a, bool done, const struct roster_counts *counts,
                    const Sanhe__ImportRecord *record)
{
    Sanhe__ImportCounts cm;
    roster_counts_to_msg(counts, &cm);
    Sanhe__ImportChange *changes = calloc(a->ex_n + 1, sizeof *changes);
    Sanhe__ImportChange **ptrs = calloc(a->ex_n + 1, sizeof *ptrs);
    int rc = 0;
    if (changes == NULL || ptrs == NULL)
        rc = sh_error_set(&a->op->err, SH_E_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < a->ex_n; i++) {
        ra_change_msg(&a->ex[i], &changes[i]);
        ptrs[i] = &changes[i];
    }
    Sanhe__ImportCommitReply cr = SANHE__IMPORT_COMMIT_REPLY__INIT;
    cr.has_done = true;
    cr.done = done;
    cr.counts = &cm;
    cr.n_examples = a->ex_n;
    cr.examples = ptrs;
    cr.record = (Sanhe__ImportRecord *)record;
    if (a->dry && !done && a->last_len > 8) {
        cr.has_next = true;
        cr.next.data = a->last + 8;
        cr.next.len = a->last_len - 8;
    }
    if (a->refusal[0] != '\0')
        cr.refusal = a->refusal;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = a->op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_IMPORT_COMMIT;
    resp.import_commit = &cr;
    if (rc == 0 && ledger_reply_pack(&resp, &a->op->reply) != 0)
        rc = sh_error_set(&a->op->err, SH_E_INTERNAL, "out of memory");
    free(changes);
    free(ptrs);
    return rc;
}

/* The session becomes an import record: its counts, COMMITTED. */
static int ra_finish(struct ra *a, const struct roster_counts *total)
{
    Sanhe__ImportRecord *s = a->s;
    Sanhe__ImportCounts cm;
    roster_counts_to_msg(total, &cm);
    Sanhe__ImportCounts *saved = s->counts;
    s->counts = &cm;
    s->has_state = s->has_committed_ms = true;
    s->state = SANHE__IMPORT_STATE__IMPORT_COMMITTED;
    s->committed_ms = a->op->now_ms;
    s->has_cursor = false;
    roster_record_put(a->op->txn, STORE_DB_IMPORTS, s->import_id, s);
    uint8_t key[8];
    store_key_u64(key, s->import_id);
    store_del(a->op->txn, STORE_DB_IMPORT_SESSIONS, key, sizeof key);
    int rc = a->op->txn->ret;
    if (rc == 0)
        rc = ra_reply(a, true, total, s);
    s->counts = saved; /* cm is on the stack; the record is freed with its own */
    return rc;
}

/* One slice of an enrolment: applied (and its rows deleted), or counted. */
static int ra_enrolment(struct ra *a)
{
    if (a->dry && a->q->has_after && a->q->after.len > 0) {
        if (a->q->after.len + 8 > ROSTER_STAGE_KEY_MAX)
            return sh_error_set(&a->op->err, SH_E_BAD_REQUEST, "import commit: bad after");
        store_key_u64(a->last, a->s->import_id);
        memcpy(a->last + 8, a->q->after.data, a->q->after.len);
        a->last_len = 8 + a->q->after.len;
    }
    if (!a->dry) {
        a->keys = malloc(a->max_rows * sizeof *a->keys);
        a->key_lens = malloc(a->max_rows * sizeof *a->key_lens);
        if (a->keys == NULL || a->key_lens == NULL)
            return sh_error_set(&a->op->err, SH_E_INTERNAL, "out of memory");
    }
    int rc = ra_walk(a, ra_enrol_row, a->max_rows);
    if (rc != 0)
        return rc;
    bool done = a->processed < a->max_rows;
    if (a->dry)
        return ra_reply(a, done, &a->c, NULL);
    for (size_t i = 0; i < a->processed; i++)
        store_del(a->op->txn, STORE_DB_IMPORT_STAGE, a->keys[i], a->key_lens[i]);
    struct roster_counts total;
    roster_counts_from_msg(a->s->counts, &total);
    roster_counts_add(&total, &a->c);
    if (done)
        return ra_finish(a, &total);
    Sanhe__ImportCounts cm;
    roster_counts_to_msg(&total, &cm);
    Sanhe__ImportCounts *saved = a->s->counts;
    a->s->counts = &cm;
    a->s->has_state = true;
    a->s->state = SANHE__IMPORT_STATE__IMPORT_APPLYING;
    roster_record_put(a->op->txn, STORE_DB_IMPORT_SESSIONS, a->s->import_id, a->s);
    a->s->counts = saved;
    rc = a->op->txn->ret;
    return rc != 0 ? rc : ra_reply(a, false, &total, NULL);
}

static int ra_single(struct ra *a)
{
    if (a->s->rows_staged > ROSTER_SINGLE_ROWS_MAX) {
        sh_error_set(&a->op->err, SH_E_LIMIT_EXCEEDED,
                     "import commit: more than %u rows in one file of this kind",
                     ROSTER_SINGLE_ROWS_MAX);
        return sh_error_detail(&a->op->err, SH_D_IMPORT_TOO_MANY_ROWS, "%u",
                               (unsigned)ROSTER_SINGLE_ROWS_MAX);
    }
    int rc;
    switch (a->s->source) {
    case SANHE__IMPORT_SOURCE__IMPORT_CATEGORY:
        rc = ra_category(a);
        break;
    case SANHE__IMPORT_SOURCE__IMPORT_DEATHS:
        rc = ra_walk(a, ra_death_row, 0);
        break;
    case SANHE__IMPORT_SOURCE__IMPORT_HOSPITALS:
        rc = ra_walk(a, ra_hospital_row, 0);
        break;
    default:
        rc = ra_walk(a, ra_item_row, 0);
        break;
    }
    if (rc != 0)
        return rc;
    if (a->dry)
        return ra_reply(a, true, &a->c, NULL);
    roster_stage_drop(a->op->txn, a->s->import_id, a->s->rows_staged + 1);
    return ra_finish(a, &a->c);
}

static int ra_check(struct ra *a)
{
    const Sanhe__ImportRecord *s = a->s;
    struct sh_error *err = &a->op->err;
    if (s->errors > 0) {
        sh_error_set(err, SH_E_IMPORT_REFUSED,
                     "import %" PRIu64 ": %" PRIu64 " rows were refused; nothing was changed",
                     s->import_id, s->errors);
        return sh_error_detail(err, SH_D_IMPORT_ROWS_REFUSED, "%" PRIu64 SH_DETAIL_SEP "%" PRIu64,
                               s->import_id, s->errors);
    }
    if (s->state == SANHE__IMPORT_STATE__IMPORT_STAGING && s->rows_expected != 0 &&
        s->rows_staged != s->rows_expected) {
        sh_error_set(err, SH_E_IMPORT_REFUSED,
                     "import %" PRIu64 ": the file holds %" PRIu64 " rows, %" PRIu64
                     " arrived; nothing was changed",
                     s->import_id, s->rows_expected, s->rows_staged);
        return sh_error_detail(err, SH_D_IMPORT_ROWS_MISSING,
                               "%" PRIu64 SH_DETAIL_SEP "%" PRIu64 SH_DETAIL_SEP "%" PRIu64,
                               s->import_id, s->rows_expected, s->rows_staged);
    }
    if (a->dry && s->state == SANHE__IMPORT_STATE__IMPORT_APPLYING) {
        sh_error_set(err, SH_E_BAD_REQUEST,
                     "import %" PRIu64 " is half applied: commit it to finish", s->import_id);
        return sh_error_detail(err, SH_D_IMPORT_HALF_APPLIED, "%" PRIu64, s->import_id);
    }
    return 0;
}

int ledger_op_import_commit(struct ledger_op *op)
{
    const Sanhe__ImportCommitRequest *q = op->request->import_commit;
    if (q == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "import commit: empty");
    struct ra a = {.op = op, .q = q, .dry = q->dry_run};
    a.s = roster_session_get(op->txn, q->session_id);
    if (op->txn->ret != 0)
        return op->txn->ret;
    if (a.s == NULL) {
        sh_error_set(&op->err, SH_E_IMPORT_NO_SESSION, "no import session %" PRIu64, q->session_id);
        return sh_error_detail(&op->err, SH_D_IMPORT_NO_SESSION, "%" PRIu64, q->session_id);
    }
    a.max_rows = q->max_rows != 0 ? q->max_rows : ROSTER_APPLY_ROWS_DEFAULT;
    if (a.max_rows > ROSTER_APPLY_ROWS_MAX)
        a.max_rows = ROSTER_APPLY_ROWS_MAX;
    a.examples = q->examples != 0 ? q->examples : ROSTER_EXAMPLES_DEFAULT;
    if (a.examples > ROSTER_EXAMPLES_MAX)
        a.examples = ROSTER_EXAMPLES_MAX;
    a.ex = calloc((size_t)a.examples * EX_KINDS, sizeof *a.ex);
    int rc = a.ex == NULL ? sh_error_set(&op->err, SH_E_INTERNAL, "out of memory") : ra_check(&a);
    if (rc == 0)
        rc = a.s->source == SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT ? ra_enrolment(&a)
                                                                   : ra_single(&a);
    free(a.ex);
    free(a.keys);
    free(a.key_lens);
    free(a.exits);
    sanhe__import_record__free_unpacked(a.s, NULL);
    return rc;
}
