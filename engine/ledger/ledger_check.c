/*
 * ledger_check: every accumulator equals the sum of the deltas of the
 * settlements not reversed (none missing, none extra, none zero); every
 * settlement has its idempotency record, and its reversal's; every
 * idempotency record points at what it answered; settlement ids are
 * 1..next-1 without a gap; the journal (ledger_check_journal.c) is
 * contiguous, chained and indexed, one entry per settlement and one per
 * reversal. Resident IDs in the report are masked.
 */
#include "ledger_check.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "requests.h"
#include "settlement.h"
#include "sh_person_id.h"

/* A damaged store can hold millions of problems (a flipped bit in a count
 * makes every id after it "missing"): the first CHECK_REPORT_LINES_MAX are
 * reported, one line says how many more there were, and all are counted. */
#define CHECK_REPORT_LINES_MAX 1000

void check_problem(struct check *c, const char *fmt, ...)
{
    char line[512];
    c->problems++;
    if (c->report == NULL || c->problems > CHECK_REPORT_LINES_MAX + 1)
        return;
    if (c->problems == CHECK_REPORT_LINES_MAX + 1) {
        snprintf(line, sizeof line, "... more problems than the %d listed; only counted from here",
                 CHECK_REPORT_LINES_MAX);
        c->report(c->ctx, line);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->report(c->ctx, line);
}

/* *sum += v, false when it would overflow: a damaged record's amounts are
 * whatever its bits say, and a sum of them must not be undefined. */
static bool check_add(sh_fen *sum, sh_fen v) { return !__builtin_add_overflow(*sum, v, sum); }

/* A record that did not decode was reported; an LMDB failure stops the check. */
static void check_recover(struct check *c)
{
    if (c->txn->mdb_rc == 0)
        c->txn->ret = 0;
}

/* ---- The expected accumulators: a hash table keyed by the accumulator key ---- */

static size_t acc_hash(const uint8_t *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < STORE_ACC_KEY_MAX; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)h;
}

static struct check_acc *acc_slot(struct check_acc *table, size_t cap, const uint8_t *key)
{
    for (size_t i = acc_hash(key) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!table[i].used || memcmp(table[i].key, key, STORE_ACC_KEY_MAX) == 0)
            return &table[i];
}

static int acc_grow(struct check *c)
{
    size_t cap = c->acc_cap > 0 ? c->acc_cap * 2 : 1024;
    struct check_acc *table = calloc(cap, sizeof *table);
    if (table == NULL)
        return SH_E_INTERNAL;
    for (size_t i = 0; i < c->acc_cap; i++)
        if (c->accs[i].used)
            *acc_slot(table, cap, c->accs[i].key) = c->accs[i];
    free(c->accs);
    c->accs = table;
    c->acc_cap = cap;
    return 0;
}

static int acc_add(struct check *c, const uint8_t *key, const sh_fen v[3])
{
    if ((c->acc_used + 1) * 10 > c->acc_cap * 7 && acc_grow(c) != 0)
        return SH_E_INTERNAL;
    struct check_acc *a = acc_slot(c->accs, c->acc_cap, key);
    if (!a->used) {
        memcpy(a->key, key, STORE_ACC_KEY_MAX);
        a->used = true;
        c->acc_used++;
    }
    for (int i = 0; i < 3; i++)
        if (__builtin_add_overflow(a->v[i], v[i], &a->v[i]))
            return SH_E_LIMIT_EXCEEDED;
    return 0;
}

static struct check_acc *acc_find(struct check *c, const uint8_t *key)
{
    if (c->acc_cap == 0)
        return NULL;
    struct check_acc *a = acc_slot(c->accs, c->acc_cap, key);
    return a->used ? a : NULL;
}

static void acc_name(const uint8_t *key, char *out, size_t cap)
{
    struct accum_entry e;
    char masked[19];
    if (store_key_acc_parse(key, STORE_ACC_KEY_MAX, e.person, &e.year, e.fund, e.cap_group) != 0) {
        snprintf(out, cap, "an accumulator with a key that does not parse");
        return;
    }
    sh_person_id_mask(e.person, masked);
    snprintf(out, cap, "accumulator (%s, %d, %s, %s)", masked, e.year, e.fund, e.cap_group);
}

/* ---- Settlements ------------------------------------------------------------------------ */

/* The request record under (hospital, rid) must be of one of the kinds
 * and point at settlement id. */
static void check_points_at(struct check *c, const char *hospital, const char *rid, uint64_t id,
                            Sanhe__RequestKind k1, Sanhe__RequestKind k2, const char *what)
{
    Sanhe__RequestRecord *r = request_get(c->txn, c->tail, hospital, rid != NULL ? rid : "");
    check_recover(c); /* an index entry without its record: reported below */
    if (r == NULL || (r->kind != k1 && r->kind != k2) || r->settlement_id != id)
        check_problem(c,
                      "settlement %" PRIu64 ": its %s request \"%s\" of %s does not point "
                      "at it",
                      id, what, rid != NULL ? rid : "", hospital);
    if (r != NULL)
        sanhe__request_record__free_unpacked(r, NULL);
}

static void check_deltas(struct check *c, uint64_t id, const Sanhe__SettlementRecord *rec,
                         bool reversed)
{
    const char *person = rec->settlement->claim->person;
    sh_fen paid = 0;
    bool summed = true;
    for (size_t i = 0; i < rec->n_deltas; i++) {
        struct accum_delta d;
        uint8_t key[STORE_ACC_KEY_MAX];
        if (!settlement_delta(rec, i, &d) ||
            store_key_acc(key, person != NULL ? person : "", d.year, d.fund, d.cap_group) < 0) {
            check_problem(c, "settlement %" PRIu64 ": delta %zu is not usable", id, i);
            continue;
        }
        summed = check_add(&paid, d.paid) && summed;
        const sh_fen v[3] = {d.paid, d.payable, d.deductible_met};
        int rc = reversed ? 0 : acc_add(c, key, v);
        if (rc == SH_E_LIMIT_EXCEEDED)
            check_problem(c, "settlement %" PRIu64 ": delta %zu overflows its accumulator", id, i);
        else if (rc != 0)
            store_txn_fail_code(c->txn, rc);
    }
    if (!summed)
        check_problem(c, "settlement %" PRIu64 ": its deltas overflow", id);
    else if (paid != rec->settlement->breakdown->fund_total)
        check_problem(c,
                      "settlement %" PRIu64 ": its deltas pay %" PRId64 ", its breakdown %" PRId64,
                      id, paid, rec->settlement->breakdown->fund_total);
}

/* docs/rules.md's sums within one breakdown, and the claim's lines adding up to
 * its total: what the journal does not carry (class totals, lines) is
 * still held to the arithmetic it must obey. */
static void check_breakdown(struct check *c, uint64_t id, const Sanhe__Settlement *s)
{
    const Sanhe__Breakdown *b = s->breakdown;
    sh_fen lines = 0, funds = 0, parts = 0, shares = 0, classes = 0;
    bool ok = true; /* every sum checked: a damaged record's amounts can be anything */
    for (size_t i = 0; s->claim != NULL && i < s->claim->n_lines; i++)
        ok = check_add(&lines, s->claim->lines[i]->amount) && ok;
    for (size_t i = 0; i < b->n_funds; i++)
        ok = check_add(&funds, b->funds[i]->pay) && ok;
    ok = ok && check_add(&parts, b->out_of_scope) && check_add(&parts, b->over_limit) &&
         check_add(&parts, b->pre_selfpay) && check_add(&parts, b->in_scope) &&
         check_add(&shares, b->fund_total) && check_add(&shares, b->patient_pays);
    ok = ok && b->total == parts && b->total == shares && funds == b->fund_total &&
         (s->claim == NULL || lines == b->total);
    if (b->has_class_a_total || b->has_class_b_total || b->has_class_c_total)
        ok = ok && check_add(&classes, b->class_a_total) && check_add(&classes, b->class_b_total) &&
             check_add(&classes, b->class_c_total) && classes == b->total &&
             b->class_c_total == b->out_of_scope && b->class_a_total >= 0 && b->class_b_total >= 0;
    if (!ok)
        check_problem(c, "settlement %" PRIu64 ": its amounts do not add up", id);
}

static void check_settlement(struct check *c, uint64_t id, const Sanhe__SettlementRecord *rec)
{
    const Sanhe__Settlement *s = rec->settlement;
    bool reversed = s->has_state && s->state == SANHE__SETTLEMENT_STATE__REVERSED;
    if (s->settlement_id != id)
        check_problem(c, "settlement %" PRIu64 ": the record says %" PRIu64, id, s->settlement_id);
    c->flags[id] |= CHECK_SEEN | (reversed ? CHECK_REVERSED : 0);
    check_breakdown(c, id, s);
    check_deltas(c, id, rec, reversed);
    check_points_at(c, s->hospital, s->request_id, id, SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE,
                    SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE, "settle");
    if (reversed)
        check_points_at(c, s->hospital, s->reversal_request_id, id,
                        SANHE__REQUEST_KIND__REQUEST_KIND_REVERSE,
                        SANHE__REQUEST_KIND__REQUEST_KIND_CANCEL, "reversal");
    if (!rec->has_journal_seq || (reversed && !rec->has_reversal_journal_seq))
        check_problem(c, "settlement %" PRIu64 ": journal sequence numbers missing", id);
}

static int check_settlement_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct check *c = ctx;
    (void)val;
    uint64_t id = key->mv_size == 8 ? store_be64_get(key->mv_data) : 0;
    if (id == 0 || id > c->settlement_count) {
        check_problem(c, "settlement key %" PRIu64 " outside 1..%" PRIu64, id, c->settlement_count);
        return 0;
    }
    Sanhe__SettlementRecord *rec = settlement_get(c->txn, id);
    if (rec == NULL) {
        check_problem(c, "settlement %" PRIu64 ": the record does not decode", id);
        check_recover(c); /* go on: report, not stop */
        return 0;
    }
    check_settlement(c, id, rec);
    sanhe__settlement_record__free_unpacked(rec, NULL);
    return c->txn->ret;
}

/* ---- Accumulators ------------------------------------------------------------------------ */

static int check_acc_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct check *c = ctx;
    struct accum_entry e;
    if (!accum_entry_decode(key, val, &e)) {
        check_problem(c, "an accumulator key or value of the wrong size");
        return 0;
    }
    /* As store_key_acc makes it: zero-filled to the table's width. */
    uint8_t padded[STORE_ACC_KEY_MAX] = {0};
    memcpy(padded, key->mv_data, key->mv_size);
    char name[160];
    acc_name(padded, name, sizeof name);
    struct check_acc *a = acc_find(c, padded);
    const sh_fen got[3] = {e.paid, e.payable, e.deductible_met};
    if (got[0] == 0 && got[1] == 0 && got[2] == 0)
        check_problem(c, "%s: all zero, should have been deleted", name);
    if (a == NULL) {
        check_problem(c, "%s: stored, but no settlement accounts for it", name);
        return 0;
    }
    a->seen = true;
    if (memcmp(a->v, got, sizeof got) != 0)
        check_problem(c,
                      "%s: paid %" PRId64 " payable %" PRId64 " deductible_met %" PRId64
                      ", the settlements sum to %" PRId64 " %" PRId64 " %" PRId64,
                      name, got[0], got[1], got[2], a->v[0], a->v[1], a->v[2]);
    return 0;
}

static void check_accs_missing(struct check *c)
{
    for (size_t i = 0; i < c->acc_cap; i++) {
        const struct check_acc *a = &c->accs[i];
        if (!a->used || a->seen || (a->v[0] == 0 && a->v[1] == 0 && a->v[2] == 0))
            continue;
        char name[160];
        acc_name(a->key, name, sizeof name);
        check_problem(c, "%s: missing; the settlements sum to paid %" PRId64, name, a->v[0]);
    }
}

/* ---- Idempotency records -------------------------------------------------------------------- */

/* The stored reply must decode and answer this request id. */
static void check_reply(struct check *c, const char *what, const Sanhe__RequestRecord *r,
                        const char *rid)
{
    Sanhe__Response *resp =
        r->reply.len > 0 ? sanhe__response__unpack(NULL, r->reply.len, r->reply.data) : NULL;
    if (resp == NULL || resp->request_id == NULL || strcmp(resp->request_id, rid) != 0 ||
        resp->error != NULL)
        check_problem(c, "request %s: its stored reply does not answer it", what);
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
}

/* A settle's record holds the hash of the claim its settlement stored. */
static void check_payload_hash(struct check *c, const char *what, const Sanhe__RequestRecord *r,
                               const Sanhe__Claim *claim)
{
    uint8_t hash[LEDGER_HASH_LEN];
    if (claim == NULL || request_hash_settle(claim, hash) != 0 || !r->has_payload_hash ||
        r->payload_hash.len != LEDGER_HASH_LEN ||
        memcmp(r->payload_hash.data, hash, LEDGER_HASH_LEN) != 0)
        check_problem(c, "request %s: its payload hash is not its settlement's claim's", what);
}

/* A reverse, or a cancel that reversed: the settlement reversed by it. */
static void check_reversal_record(struct check *c, const char *what, const char *hospital,
                                  const char *rid, const Sanhe__RequestRecord *r)
{
    Sanhe__SettlementRecord *rec = settlement_get(c->txn, r->settlement_id);
    check_recover(c);
    const Sanhe__Settlement *s = rec != NULL ? rec->settlement : NULL;
    if (s == NULL || strcmp(s->hospital, hospital) != 0 ||
        s->state != SANHE__SETTLEMENT_STATE__REVERSED || s->reversal_request_id == NULL ||
        strcmp(s->reversal_request_id, rid) != 0)
        check_problem(c, "request %s: settlement %" PRIu64 " is not reversed by it", what,
                      r->settlement_id);
    if (rec != NULL)
        sanhe__settlement_record__free_unpacked(rec, NULL);
}

/* A cancel that found nothing to reverse: its target can never settle. */
static void check_cancel_target(struct check *c, const char *what, const char *hospital,
                                const Sanhe__RequestRecord *r)
{
    Sanhe__RequestRecord *t =
        request_get(c->txn, c->tail, hospital, r->target != NULL ? r->target : "");
    check_recover(c);
    if (t == NULL || t->kind == SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE)
        check_problem(c, "request %s: reversed nothing, yet its cancel_of is %s", what,
                      t == NULL ? "absent" : "a settle");
    if (t != NULL)
        sanhe__request_record__free_unpacked(t, NULL);
}

/* A marker: written by a cancel of that hospital that names it. */
static void check_marker(struct check *c, const char *what, const char *hospital, const char *rid,
                         const Sanhe__RequestRecord *r)
{
    Sanhe__RequestRecord *by =
        request_get(c->txn, c->tail, hospital, r->target != NULL ? r->target : "");
    check_recover(c);
    if (by == NULL || by->kind != SANHE__REQUEST_KIND__REQUEST_KIND_CANCEL || by->target == NULL ||
        strcmp(by->target, rid) != 0)
        check_problem(c, "request %s: a cancelled marker no cancel accounts for", what);
    if (by != NULL)
        sanhe__request_record__free_unpacked(by, NULL);
}

static void check_request(struct check *c, const char *hospital, const char *rid,
                          const Sanhe__RequestRecord *r)
{
    char what[96];
    snprintf(what, sizeof what, "\"%s\" of %s", rid, hospital);
    switch (r->kind) {
    case SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE: {
        Sanhe__SettlementRecord *rec = settlement_get(c->txn, r->settlement_id);
        check_recover(c);
        const Sanhe__Settlement *s = rec != NULL ? rec->settlement : NULL;
        if (s == NULL || strcmp(s->hospital, hospital) != 0 || s->request_id == NULL ||
            strcmp(s->request_id, rid) != 0)
            check_problem(c, "request %s: settlement %" PRIu64 " is not its", what,
                          r->settlement_id);
        else
            check_payload_hash(c, what, r, s->claim);
        if (rec != NULL)
            sanhe__settlement_record__free_unpacked(rec, NULL);
        check_reply(c, what, r, rid);
        break;
    }
    case SANHE__REQUEST_KIND__REQUEST_KIND_REVERSE:
    case SANHE__REQUEST_KIND__REQUEST_KIND_CANCEL:
        if (r->settlement_id != 0)
            check_reversal_record(c, what, hospital, rid, r);
        else if (r->kind == SANHE__REQUEST_KIND__REQUEST_KIND_CANCEL)
            check_cancel_target(c, what, hospital, r);
        else
            check_problem(c, "request %s: a reverse that reversed nothing", what);
        check_reply(c, what, r, rid);
        break;
    case SANHE__REQUEST_KIND__REQUEST_KIND_CANCELLED:
        check_marker(c, what, hospital, rid, r);
        break;
    default:
        check_problem(c, "request %s: unknown kind %d", what, (int)r->kind);
    }
}

/* The request_log: every record checked, and findable under its key. */
static int check_request_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct check *c = ctx;
    struct request_log_entry e;
    uint64_t seq = key->mv_size == 8 ? store_be64_get(key->mv_data) : 0;
    if (seq == 0 || !request_log_decode(val, &e)) {
        check_problem(c, "request_log %" PRIu64 ": does not decode", seq);
        return 0;
    }
    uint64_t found = request_seq_of(c->txn, c->tail, e.hospital, e.request_id);
    check_recover(c);
    if (found != seq)
        check_problem(c,
                      "request_log %" PRIu64 ": \"%s\" of %s is not found there (%s %" PRIu64 ")",
                      seq, e.request_id, e.hospital,
                      seq <= c->requests_mark ? "the index says" : "the tail says", found);
    Sanhe__RequestRecord *r = sanhe__request_record__unpack(NULL, e.record_len, e.record);
    if (r == NULL || !r->has_kind)
        check_problem(c, "request \"%s\" of %s: the record does not decode", e.request_id,
                      e.hospital);
    else
        check_request(c, e.hospital, e.request_id, r);
    if (r != NULL)
        sanhe__request_record__free_unpacked(r, NULL);
    return 0;
}

/* The index: an entry for each of the log's keys up to the mark, no other. */
static void check_request_index(struct check *c)
{
    uint64_t last = meta_peek(c->txn, STORE_META_NEXT_REQUEST) - 1;
    uint64_t indexed = store_count(c->txn, STORE_DB_REQUESTS);
    if (c->txn->ret != 0)
        return;
    if (c->requests_mark > last)
        check_problem(c, "requests: indexed through %" PRIu64 ", the log ends at %" PRIu64,
                      c->requests_mark, last);
    if (indexed != c->requests_mark)
        check_problem(c, "requests: %" PRIu64 " index entries for %" PRIu64 " indexed records",
                      indexed, c->requests_mark);
}

/* The records not yet indexed, in a map: every lookup of the check goes
 * through it, as the writer's do (a scan each would be quadratic). */
static int check_load_tail(struct check *c)
{
    c->requests_mark = meta_get(c->txn, STORE_META_REQUESTS_INDEXED, 0);
    c->tail = request_tail_new();
    if (c->tail == NULL)
        return SH_E_INTERNAL;
    request_tail_reload(c->txn, c->tail);
    return c->txn->ret;
}

static void check_requests(struct check *c)
{
    store_scan(c->txn, STORE_DB_REQUEST_LOG, NULL, 0, check_request_one, c);
    check_request_index(c);
}

/* ---- The whole check ------------------------------------------------------------------------ */

static void check_settlement_ids(struct check *c)
{
    for (uint64_t id = 1; id <= c->settlement_count; id++)
        if ((c->flags[id] & CHECK_SEEN) == 0)
            check_problem(c, "settlement %" PRIu64 " is missing (ids are 1..%" PRIu64 ")", id,
                          c->settlement_count);
}

/* meta's next settlement id sizes the check's table of ids; a damaged one
 * (a bit flipped high) must not make the check allocate or walk billions of
 * ids. Past the settlements stored by CHECK_IDS_SLACK it is reported, and the
 * ids are taken as the last key stored says (a key above the count is then
 * reported as outside it, each missing id below as missing). */
#define CHECK_IDS_SLACK 1024

static void check_counts(struct check *c)
{
    uint64_t stored = store_count(c->txn, STORE_DB_SETTLEMENTS);
    if (c->txn->ret != 0 || c->settlement_count <= stored + CHECK_IDS_SLACK)
        return;
    check_problem(
        c, "meta: the next settlement id is %" PRIu64 ", with %" PRIu64 " settlements stored",
        c->settlement_count + 1, stored);
    uint64_t last = store_last_u64(c->txn, STORE_DB_SETTLEMENTS);
    c->settlement_count = last <= stored + CHECK_IDS_SLACK ? last : stored;
}

static int check_run(struct check *c)
{
    c->settlement_count = meta_peek(c->txn, STORE_META_NEXT_SETTLEMENT) - 1;
    c->seq_count = meta_peek(c->txn, STORE_META_NEXT_SEQ) - 1;
    if (c->txn->ret != 0)
        return c->txn->ret;
    check_counts(c);
    if (c->txn->ret != 0)
        return c->txn->ret;
    if (c->settlement_count >= SIZE_MAX / 2)
        return SH_E_LIMIT_EXCEEDED;
    c->flags = calloc((size_t)c->settlement_count + 1, 1);
    if (c->flags == NULL || check_load_tail(c) != 0)
        return c->txn->ret != 0 ? c->txn->ret : SH_E_INTERNAL;
    store_scan(c->txn, STORE_DB_SETTLEMENTS, NULL, 0, check_settlement_one, c);
    if (c->txn->ret == 0)
        check_settlement_ids(c);
    store_scan(c->txn, STORE_DB_ACCUMULATORS, NULL, 0, check_acc_one, c);
    if (c->txn->ret == 0)
        check_accs_missing(c);
    check_requests(c);
    if (c->txn->ret == 0)
        check_journal(c);
    return c->txn->ret;
}

int ledger_check(struct ledger *ledger, void (*report)(void *ctx, const char *line), void *ctx)
{
    if (ledger == NULL || ledger->batch != NULL)
        return SH_E_INTERNAL;
    struct store_txn txn;
    int rc = store_read_begin(&ledger->store, &txn);
    if (rc != 0)
        return rc;
    /* The store may be damaged: what LMDB hands back must lie in the file
     * before it is read (without the guard, the check's fork is the only
     * backstop: engine/app/check.c). */
    (void)store_read_guard(&txn);
    struct check c = {.txn = &txn, .report = report, .ctx = ctx};
    rc = check_run(&c);
    int mdb_rc = txn.mdb_rc;
    store_read_end(&txn);
    free(c.flags);
    free(c.accs);
    request_tail_free(c.tail);
    if (rc != 0) {
        check_problem(&c, "the check could not finish: %s%s%s", sh_error_name(rc),
                      mdb_rc != 0 ? ", LMDB: " : "", mdb_rc != 0 ? mdb_strerror(mdb_rc) : "");
        return rc;
    }
    return c.problems > INT_MAX ? INT_MAX : (int)c.problems;
}
