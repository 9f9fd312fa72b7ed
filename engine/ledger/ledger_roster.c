/*
 * Roster import sessions (docs/rosters.md): begin, staged chunks, abort and
 * the log. The commit, which computes the diff and applies it, is in
 * roster_apply.c.
 *
 * A session is a record in db import_sessions; its rows wait in db
 * import_stage under the session id and the row's own key, which is what
 * finds a duplicate or a contradicting row wherever in the file it is.
 * Staged rows change nothing a settlement reads. Every row is checked as it
 * is staged; a refused row is reported with its line and the session can
 * then no longer commit, so a file with a bad row changes nothing.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "refdata.h"
#include "roster.h"
#include "settlement.h"
#include "sh_date.h"
#include "sh_person_id.h"
#include "store_keys.h"

#define META_NEXT_IMPORT "next_import_id"
#define CHUNK_ERRORS_LISTED 1000 /* refused rows named in one chunk's reply */
#define FILE_NAME_MAX 256

/* ---- Counts --------------------------------------------------------------------------- */

void roster_counts_to_msg(const struct roster_counts *c, Sanhe__ImportCounts *m)
{
    sanhe__import_counts__init(m);
    m->has_rows = m->has_persons_added = m->has_enrolled = m->has_categories_begun = true;
    m->has_categories_ended = m->has_categories_changed = m->has_exits = true;
    m->has_deaths_recorded = m->has_deaths_changed = m->has_hospitals = m->has_items = true;
    m->has_unchanged = true;
    m->rows = c->rows;
    m->persons_added = c->persons_added;
    m->enrolled = c->enrolled;
    m->categories_begun = c->begun;
    m->categories_ended = c->ended;
    m->categories_changed = c->changed;
    m->exits = c->exits;
    m->deaths_recorded = c->deaths_recorded;
    m->deaths_changed = c->deaths_changed;
    m->hospitals = c->hospitals;
    m->items = c->items;
    m->unchanged = c->unchanged;
}

void roster_counts_from_msg(const Sanhe__ImportCounts *m, struct roster_counts *c)
{
    memset(c, 0, sizeof *c);
    if (m == NULL)
        return;
    c->rows = m->rows;
    c->persons_added = m->persons_added;
    c->enrolled = m->enrolled;
    c->begun = m->categories_begun;
    c->ended = m->categories_ended;
    c->changed = m->categories_changed;
    c->exits = m->exits;
    c->deaths_recorded = m->deaths_recorded;
    c->deaths_changed = m->deaths_changed;
    c->hospitals = m->hospitals;
    c->items = m->items;
    c->unchanged = m->unchanged;
}

void roster_counts_add(struct roster_counts *sum, const struct roster_counts *c)
{
    sum->rows += c->rows;
    sum->persons_added += c->persons_added;
    sum->enrolled += c->enrolled;
    sum->begun += c->begun;
    sum->ended += c->ended;
    sum->changed += c->changed;
    sum->exits += c->exits;
    sum->deaths_recorded += c->deaths_recorded;
    sum->deaths_changed += c->deaths_changed;
    sum->hospitals += c->hospitals;
    sum->items += c->items;
    sum->unchanged += c->unchanged;
}

/* ---- Dates and policies ---------------------------------------------------------------------- */

uint32_t roster_day_before(uint32_t date)
{
    if (date % 100 > 1)
        return date - 1;
    uint32_t y = date / 10000, m = date / 100 % 100;
    if (m == 1) {
        y--;
        m = 12;
    } else {
        m--;
    }
    for (uint32_t d = 31; d >= 28; d--)
        if (sh_date_valid(y * 10000 + m * 100 + d))
            return y * 10000 + m * 100 + d;
    return 0;
}

bool roster_category_fund(const struct policy_set *set, const char *fund)
{
    for (size_t i = 0; set != NULL && i < set->count; i++)
        for (uint32_t f = 0; f < set->items[i].fund_count; f++)
            if (set->items[i].funds[f].kind == SH_FUND_CATEGORY &&
                strcmp(set->items[i].funds[f].id, fund) == 0)
                return true;
    return false;
}

bool roster_category_known(const struct policy_set *set, const char *fund, const char *category)
{
    for (size_t i = 0; set != NULL && i < set->count; i++)
        for (uint32_t f = 0; f < set->items[i].fund_count; f++) {
            const struct sh_fund *fd = &set->items[i].funds[f];
            if (fd->kind != SH_FUND_CATEGORY || strcmp(fd->id, fund) != 0)
                continue;
            for (uint32_t r = 0; r < fd->ruleset_count; r++)
                if (strcmp(fd->rulesets[r].category, category) == 0)
                    return true;
        }
    return false;
}

/* ---- Records ------------------------------------------------------------------------------- */

Sanhe__ImportRecord *roster_session_get(struct store_txn *txn, uint64_t id)
{
    uint8_t key[8];
    store_key_u64(key, id);
    MDB_val v;
    if (id == 0 || !store_get(txn, STORE_DB_IMPORT_SESSIONS, key, sizeof key, &v))
        return NULL;
    Sanhe__ImportRecord *rec = sanhe__import_record__unpack(NULL, v.mv_size, v.mv_data);
    if (rec == NULL)
        store_txn_fail_code(txn, SH_E_INTERNAL);
    return rec;
}

void roster_record_put(struct store_txn *txn, enum store_db db, uint64_t id,
                       const Sanhe__ImportRecord *rec)
{
    if (txn->ret != 0)
        return;
    size_t len = sanhe__import_record__get_packed_size(rec);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return;
    }
    sanhe__import_record__pack(rec, buf);
    uint8_t key[8];
    store_key_u64(key, id);
    store_put(txn, db, key, sizeof key, buf, len);
    free(buf);
}

static bool same_str(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* The same file: source, fund, effective date and SHA-256. */
static bool same_file(const Sanhe__ImportRecord *r, const Sanhe__ImportBeginRequest *b)
{
    return r->source == b->source && same_str(r->fund, b->fund) &&
           same_str(r->effective, b->effective) && r->sha256.len == b->sha256.len &&
           r->sha256.len > 0 && memcmp(r->sha256.data, b->sha256.data, r->sha256.len) == 0;
}

/* ---- begin ------------------------------------------------------------------------------- */

struct begin_scan {
    const Sanhe__ImportBeginRequest *b;
    Sanhe__ImportRecord *match; /* owned */
    size_t open;                /* sessions (the sessions scan only) */
};

static int begin_scan_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    struct begin_scan *s = ctx;
    Sanhe__ImportRecord *r = sanhe__import_record__unpack(NULL, val->mv_size, val->mv_data);
    if (r == NULL)
        return SH_E_INTERNAL;
    s->open++;
    /* A session of the same file that nothing reached yet is taken again
     * (a begin retried after its reply was lost). */
    bool fresh = r->state == SANHE__IMPORT_STATE__IMPORT_STAGING && r->chunks == 0;
    bool take = s->match == NULL && same_file(r, s->b) &&
                (r->state == SANHE__IMPORT_STATE__IMPORT_COMMITTED ||
                 r->state == SANHE__IMPORT_STATE__IMPORT_APPLYING || fresh);
    if (take)
        s->match = r;
    else
        sanhe__import_record__free_unpacked(r, NULL);
    return 0;
}

static const char *begin_fault(struct ledger_op *op, const Sanhe__ImportBeginRequest *b)
{
    if (!b->has_source || b->source < SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT ||
        b->source > SANHE__IMPORT_SOURCE__IMPORT_CATALOG)
        return "source: not one of enrolment, category, deaths, hospitals, catalog";
    if (b->sha256.len != 32)
        return "sha256: not 32 bytes";
    if (b->file_name == NULL || strlen(b->file_name) >= FILE_NAME_MAX)
        return "file_name: missing or too long";
    if (b->rows > ROSTER_ROWS_MAX)
        return "rows: more than a file may hold";
    if (b->exit_share_max_bp > 10000)
        return "exit_share_max_bp: more than 10000";
    if (b->source != SANHE__IMPORT_SOURCE__IMPORT_CATEGORY)
        return b->fund != NULL || b->effective != NULL
                   ? "fund and effective are for category rosters only"
                   : NULL;
    if (b->fund == NULL || !roster_category_fund(op->policies, b->fund))
        return "fund: not a category fund of any policy";
    if (sh_date_parse(b->effective) == 0)
        return "effective: not a date (YYYY-MM-DD)";
    return NULL;
}

static int begin_reply(struct ledger_op *op, uint64_t id, Sanhe__ImportRecord *already,
                       Sanhe__ImportRecord *resumed)
{
    Sanhe__ImportBeginReply br = SANHE__IMPORT_BEGIN_REPLY__INIT;
    br.has_session_id = true;
    br.session_id = id;
    br.already = already;
    br.resumed = resumed;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_IMPORT_BEGIN;
    resp.import_begin = &br;
    return ledger_reply_pack(&resp, &op->reply) != 0
               ? sh_error_set(&op->err, SH_E_INTERNAL, "out of memory")
               : 0;
}

int ledger_op_import_begin(struct ledger_op *op)
{
    const Sanhe__ImportBeginRequest *b = op->request->import_begin;
    if (b == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "import begin: empty");
    const char *fault = begin_fault(op, b);
    if (fault != NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "import begin: %s", fault);
    struct begin_scan done = {.b = b}, open = {.b = b};
    store_scan(op->txn, STORE_DB_IMPORTS, NULL, 0, begin_scan_one, &done);
    if (op->txn->ret == 0 && done.match == NULL)
        store_scan(op->txn, STORE_DB_IMPORT_SESSIONS, NULL, 0, begin_scan_one, &open);
    int rc = op->txn->ret;
    if (rc == 0 && done.match != NULL)
        rc = begin_reply(op, 0, done.match, NULL); /* the same file again: nothing changes */
    else if (rc == 0 && open.match != NULL)
        rc = begin_reply(op, open.match->import_id, NULL,
                         open.match->state == SANHE__IMPORT_STATE__IMPORT_APPLYING ? open.match
                                                                                   : NULL);
    else if (rc == 0 && open.open >= ROSTER_SESSIONS_MAX) {
        sh_error_set(&op->err, SH_E_LIMIT_EXCEEDED,
                     "import begin: %d sessions are open; abort one (sanhe-import log)",
                     ROSTER_SESSIONS_MAX);
        rc = sh_error_detail(&op->err, SH_D_IMPORT_SESSIONS_LIMIT, "%d", ROSTER_SESSIONS_MAX);
    } else if (rc == 0) {
        uint64_t id = meta_take(op->txn, META_NEXT_IMPORT);
        Sanhe__ImportRecord rec = SANHE__IMPORT_RECORD__INIT;
        rec.has_import_id = rec.has_source = rec.has_sha256 = rec.has_at_ms = true;
        rec.has_state = rec.has_rows_expected = rec.has_rows_staged = rec.has_force = true;
        rec.has_exit_share_max_bp = rec.has_errors = rec.has_chunks = true;
        rec.import_id = id;
        rec.source = b->source;
        rec.fund = b->fund;
        rec.effective = b->effective;
        rec.file_name = b->file_name;
        rec.sha256 = b->sha256;
        rec.terminal = (char *)op->caller->terminal;
        rec.at_ms = op->now_ms;
        rec.state = SANHE__IMPORT_STATE__IMPORT_STAGING;
        rec.rows_expected = b->rows;
        rec.force = b->force;
        rec.exit_share_max_bp =
            b->exit_share_max_bp != 0 ? b->exit_share_max_bp : ROSTER_EXIT_SHARE_DEFAULT_BP;
        roster_record_put(op->txn, STORE_DB_IMPORT_SESSIONS, id, &rec);
        rc = op->txn->ret != 0 ? op->txn->ret : begin_reply(op, id, NULL, NULL);
    }
    if (done.match != NULL)
        sanhe__import_record__free_unpacked(done.match, NULL);
    if (open.match != NULL)
        sanhe__import_record__free_unpacked(open.match, NULL);
    return rc;
}

/* ---- chunk --------------------------------------------------------------------------------- */

struct chunk {
    struct ledger_op *op;
    const Sanhe__ImportRecord *session;
    Sanhe__ImportRowError *errors; /* the first CHUNK_ERRORS_LISTED */
    Sanhe__ImportRowError **error_ptrs;
    char (*reasons)[SH_ERROR_MSG_MAX];
    size_t n_errors;  /* all of them */
    uint64_t staged;  /* by this chunk */
    uint32_t overlap; /* the line of a staged span the row overlaps, 0: none */
    uint32_t from, to;
};

static void chunk_error(struct chunk *c, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void chunk_error(struct chunk *c, uint32_t line, const char *fmt, ...)
{
    size_t i = c->n_errors++;
    if (i >= CHUNK_ERRORS_LISTED)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reasons[i], sizeof c->reasons[i], fmt, ap);
    va_end(ap);
    sanhe__import_row_error__init(&c->errors[i]);
    c->errors[i].has_line = true;
    c->errors[i].line = line;
    c->errors[i].reason = c->reasons[i];
    c->error_ptrs[i] = &c->errors[i];
}

size_t roster_stage_key(uint64_t session, Sanhe__ImportSource source, const Sanhe__ImportRow *row,
                        uint8_t out[ROSTER_STAGE_KEY_MAX])
{
    memset(out, 0, ROSTER_STAGE_KEY_MAX);
    store_key_u64(out, session);
    const char *code = NULL;
    if (source == SANHE__IMPORT_SOURCE__IMPORT_HOSPITALS)
        code = row->hospital != NULL ? row->hospital->code : NULL;
    else if (source == SANHE__IMPORT_SOURCE__IMPORT_CATALOG)
        code = row->item != NULL ? row->item->code : NULL;
    if (code != NULL) {
        size_t n = strlen(code);
        if (n == 0 || n >= SH_ID_MAX)
            return 0;
        memcpy(out + 8, code, n);
        return 8 + n;
    }
    if (row->person == NULL || strlen(row->person) != SH_PERSON_ID_LEN)
        return 0;
    memcpy(out + 8, row->person, SH_PERSON_ID_LEN);
    size_t n = 8 + SH_PERSON_ID_LEN;
    if (source == SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT) {
        store_be32_put(out + n, (uint32_t)row->year);
        n += 4;
    } else if (source == SANHE__IMPORT_SOURCE__IMPORT_CATEGORY) {
        store_be32_put(out + n, sh_date_parse(row->from));
        n += 4;
    }
    return n;
}

static bool str_fits(const char *s, size_t cap, bool required)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return n < cap && (!required || n > 0);
}

/* A person row: what is wrong with it, or NULL. */
static const char *row_person_fault(struct chunk *c, const Sanhe__ImportRow *row, char *buf,
                                    size_t cap)
{
    Sanhe__ImportSource src = c->session->source;
    if (row->person == NULL || !sh_person_id_valid(row->person))
        return "bad resident id (GB 11643)";
    if (!str_fits(row->name, SH_NAME_MAX, false))
        return "name: too long";
    if (!str_fits(row->region, SH_CODE_MAX, false))
        return "region: too long";
    if (src == SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT && (row->year < 1900 || row->year > 9999))
        return "year: not a year";
    if (src == SANHE__IMPORT_SOURCE__IMPORT_DEATHS && sh_date_parse(row->died) == 0)
        return "died: not a date";
    if (src == SANHE__IMPORT_SOURCE__IMPORT_CATEGORY) {
        if (!str_fits(row->category, SH_ID_MAX, true) ||
            !roster_category_known(c->op->policies, c->session->fund, row->category)) {
            snprintf(buf, cap, "unknown category \"%.40s\" of fund %s",
                     row->category != NULL ? row->category : "", c->session->fund);
            return buf;
        }
        uint32_t from = sh_date_parse(row->from), to = sh_date_parse(row->to);
        if (from == 0)
            return "from: not a date";
        if (row->to != NULL && to == 0)
            return "to: not a date";
        if (to != 0 && to < from)
            return "to: before from";
    }
    bool creates = src == SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT ||
                   src == SANHE__IMPORT_SOURCE__IMPORT_CATEGORY;
    struct sh_person p;
    if (!refdata_person_get(c->op->txn, row->person, &p) &&
        (!creates || row->region == NULL || row->region[0] == '\0'))
        return creates ? "unknown person, and no region to add them with" : "unknown person";
    return NULL;
}

static const char *row_fault(struct chunk *c, const Sanhe__ImportRow *row, char *buf, size_t cap)
{
    struct sh_error err = {0};
    switch (c->session->source) {
    case SANHE__IMPORT_SOURCE__IMPORT_HOSPITALS: {
        struct sh_hospital h;
        if (row->hospital == NULL)
            return "no hospital";
        if (convert_hospital(row->hospital, 0, &h, &err) != 0) {
            snprintf(buf, cap, "%s", err.msg);
            return buf;
        }
        return NULL;
    }
    case SANHE__IMPORT_SOURCE__IMPORT_CATALOG: {
        struct sh_item item;
        if (row->item == NULL)
            return "no item";
        if (convert_item(row->item, 0, &item, &err) != 0) {
            snprintf(buf, cap, "%s", err.msg);
            return buf;
        }
        return NULL;
    }
    default:
        return row_person_fault(c, row, buf, cap);
    }
}

static bool same_row(const Sanhe__ImportRow *a, const Sanhe__ImportRow *b)
{
    size_t na = sanhe__import_row__get_packed_size(a);
    size_t nb = sanhe__import_row__get_packed_size(b);
    if (na != nb || na > 4096)
        return false;
    uint8_t x[4096], y[4096];
    sanhe__import_row__pack(a, x);
    sanhe__import_row__pack(b, y);
    /* the line differs, by construction: compare with both at line 0 */
    Sanhe__ImportRow *ua = sanhe__import_row__unpack(NULL, na, x);
    Sanhe__ImportRow *ub = sanhe__import_row__unpack(NULL, nb, y);
    bool same = false;
    if (ua != NULL && ub != NULL) {
        ua->line = ub->line = 0;
        size_t la = sanhe__import_row__pack(ua, x), lb = sanhe__import_row__pack(ub, y);
        same = la == lb && memcmp(x, y, la) == 0;
    }
    if (ua != NULL)
        sanhe__import_row__free_unpacked(ua, NULL);
    if (ub != NULL)
        sanhe__import_row__free_unpacked(ub, NULL);
    return same;
}

/* A category row's span against the person's other staged spans. */
static int chunk_overlap_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    struct chunk *c = ctx;
    Sanhe__ImportRow *r = sanhe__import_row__unpack(NULL, val->mv_size, val->mv_data);
    if (r == NULL)
        return SH_E_INTERNAL;
    /* An earlier open span is what a later row ends (the day before its
     * from); an earlier span whose explicit to reaches the later from says
     * the opposite of that row. */
    uint32_t from = sh_date_parse(r->from), to = sh_date_parse(r->to);
    uint32_t early_to = from < c->from ? to : c->to;
    uint32_t late_from = from < c->from ? c->from : from;
    if (early_to != 0 && early_to >= late_from && c->overlap == 0)
        c->overlap = r->line;
    sanhe__import_row__free_unpacked(r, NULL);
    return 0;
}

static int chunk_row(struct chunk *c, const Sanhe__ImportRow *row)
{
    char buf[SH_ERROR_MSG_MAX];
    uint32_t line = row->line;
    const char *fault = row_fault(c, row, buf, sizeof buf);
    if (c->op->txn->ret != 0)
        return c->op->txn->ret;
    uint8_t key[ROSTER_STAGE_KEY_MAX];
    size_t klen =
        fault == NULL ? roster_stage_key(c->session->import_id, c->session->source, row, key) : 0;
    if (fault == NULL && klen == 0)
        fault = "no key (resident id or code)";
    if (fault != NULL) {
        chunk_error(c, line, "%s", fault);
        return 0;
    }
    MDB_val v;
    if (store_get(c->op->txn, STORE_DB_IMPORT_STAGE, key, klen, &v)) {
        Sanhe__ImportRow *old = sanhe__import_row__unpack(NULL, v.mv_size, v.mv_data);
        if (old == NULL)
            return SH_E_INTERNAL;
        if (same_row(old, row))
            chunk_error(c, line, "duplicate row (the same as line %u)", old->line);
        else
            chunk_error(c, line, "contradicts line %u", old->line);
        sanhe__import_row__free_unpacked(old, NULL);
        return 0;
    }
    if (c->session->source == SANHE__IMPORT_SOURCE__IMPORT_CATEGORY) {
        c->overlap = 0;
        c->from = sh_date_parse(row->from);
        c->to = sh_date_parse(row->to);
        store_scan(c->op->txn, STORE_DB_IMPORT_STAGE, key, 8 + SH_PERSON_ID_LEN, chunk_overlap_one,
                   c);
        if (c->overlap != 0) {
            chunk_error(c, line, "contradicts line %u (the spans overlap)", c->overlap);
            return 0;
        }
    }
    size_t len = sanhe__import_row__get_packed_size(row);
    uint8_t *packed = malloc(len > 0 ? len : 1);
    if (packed == NULL)
        return SH_E_INTERNAL;
    sanhe__import_row__pack(row, packed);
    store_put(c->op->txn, STORE_DB_IMPORT_STAGE, key, klen, packed, len);
    free(packed);
    c->staged++;
    return c->op->txn->ret;
}

static int chunk_reply(struct chunk *c, uint64_t staged, bool replayed)
{
    Sanhe__ImportChunkReply cr = SANHE__IMPORT_CHUNK_REPLY__INIT;
    cr.has_staged = cr.has_replayed = true;
    cr.staged = staged;
    cr.replayed = replayed;
    cr.n_errors = c->n_errors < CHUNK_ERRORS_LISTED ? c->n_errors : CHUNK_ERRORS_LISTED;
    cr.errors = c->error_ptrs;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = c->op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_IMPORT_CHUNK;
    resp.import_chunk = &cr;
    return ledger_reply_pack(&resp, &c->op->reply) != 0
               ? sh_error_set(&c->op->err, SH_E_INTERNAL, "out of memory")
               : 0;
}

static int session_open(struct ledger_op *op, uint64_t id, Sanhe__ImportRecord **out)
{
    *out = roster_session_get(op->txn, id);
    if (op->txn->ret != 0)
        return op->txn->ret;
    if (*out == NULL) {
        sh_error_set(&op->err, SH_E_IMPORT_NO_SESSION, "no import session %" PRIu64, id);
        return sh_error_detail(&op->err, SH_D_IMPORT_NO_SESSION, "%" PRIu64, id);
    }
    return 0;
}

int ledger_op_import_chunk(struct ledger_op *op)
{
    const Sanhe__ImportChunkRequest *q = op->request->import_chunk;
    if (q == NULL || q->n_rows > ROSTER_CHUNK_ROWS_MAX)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "import chunk: empty or more than %d rows",
                            ROSTER_CHUNK_ROWS_MAX);
    Sanhe__ImportRecord *s = NULL;
    int rc = session_open(op, q->session_id, &s);
    if (rc != 0)
        return rc;
    if (s->state != SANHE__IMPORT_STATE__IMPORT_STAGING) {
        sh_error_set(&op->err, SH_E_BAD_REQUEST,
                     "import chunk: session %" PRIu64 " is committing; commit it again to finish",
                     q->session_id);
        rc = sh_error_detail(&op->err, SH_D_IMPORT_HALF_APPLIED, "%" PRIu64, q->session_id);
    } else if (q->seq + 1 == s->chunks) { /* sent again: already staged */
        struct chunk again = {.op = op, .session = s};
        rc = chunk_reply(&again, s->rows_staged, true);
        sanhe__import_record__free_unpacked(s, NULL);
        return rc;
    } else if (q->seq != s->chunks) {
        sh_error_set(&op->err, SH_E_BAD_REQUEST,
                     "import chunk: chunk %" PRIu64 " expected, %" PRIu64 " sent", s->chunks,
                     q->seq);
        rc = sh_error_detail(&op->err, SH_D_IMPORT_CHUNK_ORDER, "%" PRIu64 SH_DETAIL_SEP "%" PRIu64,
                             s->chunks, q->seq);
    } else if (s->rows_staged + s->errors + q->n_rows > ROSTER_ROWS_MAX) {
        sh_error_set(&op->err, SH_E_LIMIT_EXCEEDED, "import chunk: more than %u rows",
                     ROSTER_ROWS_MAX);
        rc = sh_error_detail(&op->err, SH_D_IMPORT_TOO_MANY_ROWS, "%u", (unsigned)ROSTER_ROWS_MAX);
    }
    struct chunk c = {.op = op, .session = s};
    if (rc == 0) {
        c.errors = calloc(CHUNK_ERRORS_LISTED, sizeof *c.errors);
        c.error_ptrs = calloc(CHUNK_ERRORS_LISTED, sizeof *c.error_ptrs);
        c.reasons = calloc(CHUNK_ERRORS_LISTED, sizeof *c.reasons);
        if (c.errors == NULL || c.error_ptrs == NULL || c.reasons == NULL)
            rc = sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < q->n_rows; i++)
        rc = chunk_row(&c, q->rows[i]);
    if (rc == 0) {
        s->rows_staged += c.staged;
        s->errors += c.n_errors;
        s->has_chunks = true;
        s->chunks++;
        roster_record_put(op->txn, STORE_DB_IMPORT_SESSIONS, s->import_id, s);
        rc = op->txn->ret != 0 ? op->txn->ret : chunk_reply(&c, s->rows_staged, false);
    }
    free(c.errors);
    free(c.error_ptrs);
    free(c.reasons);
    sanhe__import_record__free_unpacked(s, NULL);
    return rc;
}

/* ---- abort ------------------------------------------------------------------------------ */

struct drop {
    uint8_t (*keys)[ROSTER_STAGE_KEY_MAX];
    size_t *lens;
    size_t n, max;
};

static int drop_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    struct drop *d = ctx;
    if (d->n >= d->max || key->mv_size > ROSTER_STAGE_KEY_MAX)
        return 1;
    memcpy(d->keys[d->n], key->mv_data, key->mv_size);
    d->lens[d->n++] = key->mv_size;
    return 0;
}

size_t roster_stage_drop(struct store_txn *txn, uint64_t session, size_t max)
{
    struct drop d = {.max = max};
    d.keys = malloc(max * sizeof *d.keys);
    d.lens = malloc(max * sizeof *d.lens);
    if (d.keys == NULL || d.lens == NULL) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        d.n = 0;
    } else {
        uint8_t prefix[8];
        store_key_u64(prefix, session);
        store_scan(txn, STORE_DB_IMPORT_STAGE, prefix, sizeof prefix, drop_one, &d);
        for (size_t i = 0; i < d.n; i++)
            store_del(txn, STORE_DB_IMPORT_STAGE, d.keys[i], d.lens[i]);
    }
    free(d.keys);
    free(d.lens);
    return d.n;
}

int ledger_op_import_abort(struct ledger_op *op)
{
    const Sanhe__ImportAbortRequest *q = op->request->import_abort;
    Sanhe__ImportRecord *s = NULL;
    int rc = session_open(op, q != NULL ? q->session_id : 0, &s);
    if (rc != 0)
        return rc;
    if (s->state == SANHE__IMPORT_STATE__IMPORT_APPLYING) {
        sh_error_set(&op->err, SH_E_BAD_REQUEST,
                     "import abort: session %" PRIu64 " is half applied; commit it again to "
                     "finish it",
                     s->import_id);
        rc = sh_error_detail(&op->err, SH_D_IMPORT_HALF_APPLIED, "%" PRIu64, s->import_id);
    }
    size_t dropped = 0;
    if (rc == 0) {
        dropped = roster_stage_drop(op->txn, s->import_id, ROSTER_APPLY_ROWS_MAX);
        bool done = dropped < ROSTER_APPLY_ROWS_MAX;
        if (done) {
            uint8_t key[8];
            store_key_u64(key, s->import_id);
            store_del(op->txn, STORE_DB_IMPORT_SESSIONS, key, sizeof key);
        }
        Sanhe__ImportAbortReply ar = SANHE__IMPORT_ABORT_REPLY__INIT;
        ar.has_dropped = true;
        ar.dropped = dropped;
        Sanhe__Response resp = SANHE__RESPONSE__INIT;
        resp.request_id = op->request->request_id;
        resp.result_case = SANHE__RESPONSE__RESULT_IMPORT_ABORT;
        resp.import_abort = &ar;
        rc = op->txn->ret;
        if (rc == 0 && ledger_reply_pack(&resp, &op->reply) != 0)
            rc = sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    }
    sanhe__import_record__free_unpacked(s, NULL);
    return rc;
}

/* ---- log ------------------------------------------------------------------------------- */

struct log_scan {
    Sanhe__ImportRecord **recs;
    size_t n, cap, limit;
};

static int log_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    struct log_scan *l = ctx;
    Sanhe__ImportRecord *r = sanhe__import_record__unpack(NULL, val->mv_size, val->mv_data);
    if (r == NULL)
        return SH_E_INTERNAL;
    if (l->n == l->limit) { /* keep the last ones: drop the oldest */
        sanhe__import_record__free_unpacked(l->recs[0], NULL);
        memmove(l->recs, l->recs + 1, (l->n - 1) * sizeof *l->recs);
        l->n--;
    }
    l->recs[l->n++] = r;
    return 0;
}

int ledger_op_import_log(struct ledger_op *op)
{
    const Sanhe__ImportLogRequest *q = op->request->import_log;
    uint32_t limit = q != NULL && q->limit != 0 ? q->limit : ROSTER_LOG_DEFAULT;
    if (limit > ROSTER_LOG_MAX)
        limit = ROSTER_LOG_MAX;
    struct log_scan l = {.limit = limit};
    l.recs = calloc(limit + ROSTER_SESSIONS_MAX + 1, sizeof *l.recs);
    if (l.recs == NULL)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    store_scan(op->txn, STORE_DB_IMPORTS, NULL, 0, log_one, &l);
    l.limit = l.n + ROSTER_SESSIONS_MAX; /* then every open session, after them */
    store_scan(op->txn, STORE_DB_IMPORT_SESSIONS, NULL, 0, log_one, &l);
    int rc = op->txn->ret;
    if (rc == 0) {
        Sanhe__ImportLogReply lr = SANHE__IMPORT_LOG_REPLY__INIT;
        lr.n_imports = l.n;
        lr.imports = l.recs;
        Sanhe__Response resp = SANHE__RESPONSE__INIT;
        resp.request_id = op->request->request_id;
        resp.result_case = SANHE__RESPONSE__RESULT_IMPORT_LOG;
        resp.import_log = &lr;
        if (ledger_reply_pack(&resp, &op->reply) != 0)
            rc = sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < l.n; i++)
        sanhe__import_record__free_unpacked(l.recs[i], NULL);
    free(l.recs);
    return rc;
}
