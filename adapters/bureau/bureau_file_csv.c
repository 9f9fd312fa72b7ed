/*
 * The exported day as CSV, for spreadsheets: amounts in yuan with two
 * decimals, written from integer fen without floating point and without
 * thousands separators (a spreadsheet reads "1234.56" everywhere). One
 * table, one header row (column names Chinese or English; the funds as
 * "NAME:ID", the policy's name of the fund and its id), then rows whose
 * first field is a fixed key, in the language of the header:
 *
 *   结算 | 冲正 | 净额     settlements | reversals | net   a hospital's totals
 *                                                       ("" hospital: all of them)
 *   明细                   item                          one settlement of the day
 *
 * The net row counts net settlements (settlements less reversals: 10
 * settled and 1 reversed is 9), as its amounts are net; the engine's
 * net.count (entries, 11) is settlements plus reversals, and is read back
 * so. Read back with libcsv for `verify`, by column position: the header's
 * language does not matter, only its fund ids after the last ':'.
 */
#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bureau.h"
#include "sh_csv.h"

#define FIXED 9 /* section .. patient_pays */
#define CSV_FUNDS_MAX 16
#define CSV_FIELD_MAX 256

void bureau_fen_plain(int64_t fen, char out[32])
{
    uint64_t abs = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    snprintf(out, 32, "%s%llu.%02u", fen < 0 ? "-" : "", (unsigned long long)(abs / 100),
             (unsigned)(abs % 100));
}

/* "-1234.56" (exactly two decimals) into fen. */
bool bureau_plain_fen(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    s += neg;
    const char *dot = strchr(s, '.');
    if (dot == NULL || dot == s || strlen(dot) != 3 || dot[1] < '0' || dot[1] > '9' ||
        dot[2] < '0' || dot[2] > '9')
        return false;
    uint64_t v = 0;
    for (const char *p = s; p < dot; p++) {
        if (*p < '0' || *p > '9' || v > (uint64_t)INT64_MAX / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > ((uint64_t)INT64_MAX - 99) / 100)
        return false;
    v = v * 100 + (uint64_t)(dot[1] - '0') * 10 + (uint64_t)(dot[2] - '0');
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* ---- Writing ---------------------------------------------------------------------------- */

struct csv_out {
    FILE *f;
    enum sh_lang lang;
    const char *funds[CSV_FUNDS_MAX];
    size_t n_funds;
};

static void field(FILE *f, const char *s, bool first)
{
    if (!first)
        fputc(',', f);
    csv_fwrite(f, s, strlen(s));
}

static void fen_field(FILE *f, int64_t fen)
{
    char text[32];
    bureau_fen_plain(fen, text);
    field(f, text, false);
}

/* The rows' keys: a file format's words, in both of its languages. */
enum csv_section { CSV_SETTLEMENTS, CSV_REVERSALS, CSV_NET, CSV_ITEM, CSV_SECTIONS };
static const char *const section_keys[CSV_SECTIONS][2] = {
    [CSV_SETTLEMENTS] = {"结算", "settlements"},
    [CSV_REVERSALS] = {"冲正", "reversals"},
    [CSV_NET] = {"净额", "net"},
    [CSV_ITEM] = {"明细", "item"},
};

static int section_of(const char *key)
{
    for (int i = 0; i < CSV_SECTIONS; i++)
        if (strcmp(key, section_keys[i][0]) == 0 || strcmp(key, section_keys[i][1]) == 0)
            return i;
    return -1;
}

static void totals_row(const struct csv_out *o, enum csv_section section,
                       const Sanhe__ReconcileReply *rr, const Sanhe__Totals *t)
{
    char count[24];
    uint64_t n = t->count;
    if (section == CSV_NET) /* net settlements: entries less twice the reversals */
        n = rr->settlements->count >= rr->reversals->count
                ? rr->settlements->count - rr->reversals->count
                : 0;
    snprintf(count, sizeof count, "%llu", (unsigned long long)n);
    field(o->f, section_keys[section][o->lang == SH_LANG_ZH ? 0 : 1], true);
    field(o->f, rr->hospital != NULL ? rr->hospital : "", false);
    field(o->f, rr->hospital_name != NULL ? rr->hospital_name : "", false);
    field(o->f, rr->day, false);
    field(o->f, "", false);
    field(o->f, count, false);
    fen_field(o->f, t->total);
    fen_field(o->f, t->fund_total);
    fen_field(o->f, t->patient_pays);
    for (size_t i = 0; i < o->n_funds; i++) {
        int64_t a = 0;
        for (size_t j = 0; j < t->n_funds; j++)
            if (strcmp(t->funds[j]->fund, o->funds[i]) == 0)
                a = t->funds[j]->amount;
        fen_field(o->f, a);
    }
    fputc('\n', o->f);
}

static void item_row(const struct csv_out *o, const Sanhe__ReconcileReply *rr,
                     const Sanhe__ReconcileItem *it)
{
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)it->settlement_id);
    field(o->f, section_keys[CSV_ITEM][o->lang == SH_LANG_ZH ? 0 : 1], true);
    field(o->f, rr->hospital, false);
    field(o->f, "", false);
    field(o->f, rr->day, false);
    field(o->f, id, false);
    field(o->f, "", false);
    fen_field(o->f, it->total);
    fen_field(o->f, it->fund_total);
    field(o->f, "", false);
    for (size_t i = 0; i < o->n_funds; i++)
        field(o->f, "", false);
    fputc('\n', o->f);
}

static void reply_rows(const struct csv_out *o, const Sanhe__ReconcileReply *rr, bool items)
{
    totals_row(o, CSV_SETTLEMENTS, rr, rr->settlements);
    totals_row(o, CSV_REVERSALS, rr, rr->reversals);
    totals_row(o, CSV_NET, rr, rr->net);
    for (size_t i = 0; items && i < rr->n_only_engine; i++)
        item_row(o, rr, rr->only_engine[i]);
}

int bureau_reply_to_csv(const Sanhe__ReconcileReply *rr, bool with_items, const char *path,
                        enum sh_lang lang, struct sh_error *err)
{
    struct csv_out o = {.lang = lang};
    const Sanhe__Totals *net = rr->net; /* every fund of the day, sorted by id */
    for (size_t i = 0; i < net->n_funds && o.n_funds < CSV_FUNDS_MAX; i++)
        o.funds[o.n_funds++] = net->funds[i]->fund;
    if (net->n_funds > CSV_FUNDS_MAX)
        return sh_error_set(err, SH_E_LIMIT_EXCEEDED, _("more than %d funds"), CSV_FUNDS_MAX);
    o.f = fopen(path, "w");
    if (o.f == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "%s: %s", path, strerror(errno));
    const enum label head[FIXED] = {L_KIND,  L_HOSPITAL, L_NAME,       L_DAY,    L_SETTLEMENT_ID,
                                    L_COUNT, L_TOTAL,    L_FUND_TOTAL, L_PATIENT};
    for (size_t i = 0; i < FIXED; i++)
        field(o.f, label(lang, head[i]), i == 0);
    for (size_t i = 0; i < o.n_funds; i++) {
        char title[192], name[256];
        bureau_fund_title(net, o.funds[i], lang, title, sizeof title);
        snprintf(name, sizeof name, "%s:%s", title, o.funds[i]);
        field(o.f, name, false);
    }
    fputc('\n', o.f);
    reply_rows(&o, rr, with_items);
    for (size_t i = 0; i < rr->n_hospitals; i++)
        reply_rows(&o, rr->hospitals[i], false);
    if (fclose(o.f) != 0)
        return sh_error_set(err, SH_E_INTERNAL, "%s: %s", path, strerror(errno));
    return 0;
}

/* ---- Reading it back (verify) -------------------------------------------------------------- */

struct csv_in {
    char fields[FIXED + CSV_FUNDS_MAX][CSV_FIELD_MAX];
    size_t n; /* fields of the row so far */
    size_t row;
    char funds[CSV_FUNDS_MAX][CSV_FIELD_MAX];
    size_t n_funds;
    Sanhe__ReconcileReply *replies[BUREAU_HOSPITALS_MAX + 1];
    size_t n_replies;
    bool has_items;
    int bad_row; /* the first row that does not parse, 0: none */
};

static void in_field(struct csv_in *s, const char *data, size_t len)
{
    if (s->n < FIXED + CSV_FUNDS_MAX)
        snprintf(s->fields[s->n], CSV_FIELD_MAX, "%.*s",
                 (int)(len < CSV_FIELD_MAX - 1 ? len : CSV_FIELD_MAX - 1), data);
    s->n++;
}

/* The reply of hospital h (in file order), made when new; NULL when full. */
static Sanhe__ReconcileReply *reply_for(struct csv_in *s, const char *h, const char *name,
                                        const char *day)
{
    for (size_t i = 0; i < s->n_replies; i++)
        if (strcmp(s->replies[i]->hospital, h) == 0)
            return s->replies[i];
    if (s->n_replies == BUREAU_HOSPITALS_MAX + 1)
        return NULL;
    Sanhe__ReconcileReply *rr = calloc(1, sizeof *rr);
    if (rr == NULL)
        return NULL;
    sanhe__reconcile_reply__init(rr);
    s->replies[s->n_replies++] = rr;
    rr->hospital = strdup(h);
    rr->hospital_name = name[0] != '\0' ? strdup(name) : NULL;
    rr->day = strdup(day);
    if (rr->hospital != NULL && rr->day != NULL)
        return rr;
    s->n_replies--; /* out of memory: not kept half-made (its hospital is compared later) */
    sanhe__reconcile_reply__free_unpacked(rr, NULL);
    return NULL;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return false;
    *out = v;
    return true;
}

static Sanhe__Totals *totals_of_row(const struct csv_in *s)
{
    Sanhe__Totals *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    sanhe__totals__init(t);
    t->has_count = t->has_total = t->has_fund_total = t->has_patient_pays = true;
    t->funds = calloc(s->n_funds + 1, sizeof *t->funds);
    bool ok = t->funds != NULL && parse_u64(s->fields[5], &t->count) &&
              bureau_plain_fen(s->fields[6], &t->total) &&
              bureau_plain_fen(s->fields[7], &t->fund_total) &&
              bureau_plain_fen(s->fields[8], &t->patient_pays);
    for (size_t i = 0; ok && i < s->n_funds; i++) {
        Sanhe__FundAmount *f = calloc(1, sizeof *f);
        ok = f != NULL;
        if (!ok)
            break;
        sanhe__fund_amount__init(f);
        t->funds[t->n_funds++] = f;
        f->fund = strdup(s->funds[i]);
        f->has_amount = true;
        ok = f->fund != NULL && bureau_plain_fen(s->fields[FIXED + i], &f->amount);
    }
    if (!ok) {
        sanhe__totals__free_unpacked(t, NULL);
        t = NULL;
    }
    return t;
}

static bool item_of_row(const struct csv_in *s, Sanhe__ReconcileReply *rr)
{
    Sanhe__ReconcileItem **items =
        realloc(rr->only_engine, (rr->n_only_engine + 1) * sizeof *items);
    Sanhe__ReconcileItem *it = calloc(1, sizeof *it);
    if (items != NULL)
        rr->only_engine = items;
    if (items == NULL || it == NULL) {
        free(it);
        return false;
    }
    sanhe__reconcile_item__init(it);
    rr->only_engine[rr->n_only_engine++] = it;
    it->has_settlement_id = it->has_total = it->has_fund_total = true;
    return parse_u64(s->fields[4], &it->settlement_id) &&
           bureau_plain_fen(s->fields[6], &it->total) &&
           bureau_plain_fen(s->fields[7], &it->fund_total);
}

static bool data_row(struct csv_in *s)
{
    if (s->n != FIXED + s->n_funds)
        return false;
    Sanhe__ReconcileReply *rr = reply_for(s, s->fields[1], s->fields[2], s->fields[3]);
    if (rr == NULL || strcmp(rr->day, s->fields[3]) != 0)
        return false;
    int section = section_of(s->fields[0]);
    Sanhe__Totals **slot = section == CSV_SETTLEMENTS ? &rr->settlements
                           : section == CSV_REVERSALS ? &rr->reversals
                           : section == CSV_NET       ? &rr->net
                                                      : NULL;
    if (slot == NULL) {
        s->has_items |= section == CSV_ITEM;
        return section == CSV_ITEM && item_of_row(s, rr);
    }
    if (*slot != NULL)
        return false; /* twice */
    *slot = totals_of_row(s);
    return *slot != NULL;
}

static void in_row(struct csv_in *s)
{
    bool ok = true;
    if (s->row == 0) {
        ok = s->n >= FIXED && s->n - FIXED <= CSV_FUNDS_MAX;
        for (size_t i = FIXED; ok && i < s->n; i++) {
            const char *colon = strrchr(s->fields[i], ':');
            snprintf(s->funds[s->n_funds++], CSV_FIELD_MAX, "%s",
                     colon != NULL ? colon + 1 : s->fields[i]);
        }
    } else if (s->bad_row == 0) {
        ok = data_row(s);
    }
    s->row++;
    if (!ok && s->bad_row == 0)
        s->bad_row = (int)s->row;
    s->n = 0;
}

/* The replies read, as one: the summary (hospital "") with the others as
 * its hospitals, or the one hospital's. */
static Sanhe__ReconcileReply *compose(struct csv_in *s)
{
    Sanhe__ReconcileReply *top = NULL;
    for (size_t i = 0; i < s->n_replies; i++) {
        Sanhe__ReconcileReply *r = s->replies[i];
        if (r->settlements == NULL || r->reversals == NULL || r->net == NULL)
            return NULL;
        /* The file's net count is net settlements; the reply's, entries. */
        r->net->count += 2 * r->reversals->count;
        if (r->hospital[0] == '\0')
            top = r;
    }
    if (top == NULL)
        return s->n_replies == 1 ? s->replies[0] : NULL;
    top->hospitals = calloc(s->n_replies, sizeof *top->hospitals);
    for (size_t i = 0; top->hospitals != NULL && i < s->n_replies; i++)
        if (s->replies[i] != top)
            top->hospitals[top->n_hospitals++] = s->replies[i];
    return top->hospitals != NULL ? top : NULL;
}

/* One record from the CSV layer (hospital-client/csv). */
static int in_record(void *ctx, uint64_t line, size_t count, const char *const *fields)
{
    (void)line;
    struct csv_in *s = ctx;
    for (size_t i = 0; i < count; i++)
        in_field(s, fields[i], strlen(fields[i]));
    in_row(s);
    return 0;
}

int bureau_reply_from_csv(const char *path, Sanhe__ReconcileReply **out, bool *has_items,
                          struct sh_error *err)
{
    *out = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    if (bureau_read_all(path, &data, &len) != 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, _("%s: cannot read it"), path);
    struct csv_in *s = calloc(1, sizeof *s);
    int rc = s == NULL ? SH_E_INTERNAL : 0;
    struct sh_error cerr = {0};
    if (rc == 0 && sh_csv_read_buffer(data, len, NULL, in_record, s, NULL, &cerr) != 0)
        s->bad_row = s->bad_row != 0 ? s->bad_row : (int)s->row + 1;
    Sanhe__ReconcileReply *rr = rc == 0 && s->bad_row == 0 ? compose(s) : NULL;
    if (rr == NULL && rc == 0)
        rc = sh_error_set(err, SH_E_BAD_REQUEST, _("%s: row %d: not an exported sanhe day"), path,
                          s->bad_row);
    for (size_t i = 0; s != NULL && i < s->n_replies; i++)
        if (rr == NULL || (s->replies[i] != rr && rr->hospital[0] != '\0'))
            sanhe__reconcile_reply__free_unpacked(s->replies[i], NULL);
    if (rr != NULL)
        *has_items = s->has_items;
    *out = rr;
    free(s);
    free(data);
    return rc == SH_E_INTERNAL ? sh_error_set(err, rc, _("out of memory")) : rc;
}
