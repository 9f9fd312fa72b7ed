/*
 * The journal's half of ledger_check: sequence numbers 1..next-1 without a
 * gap, each entry decoding and carrying its own seq, the hash chain from 32
 * zero bytes to meta's last hash, each entry up to the index's mark in the
 * journal_day index and nothing else there, each entry matching its settlement
 * (hospital, amounts, sign), one settle entry per settlement and one
 * reversal entry per reversed settlement.
 */
#include <inttypes.h>
#include <string.h>

#include "index_flush.h"
#include "journal.h"
#include "ledger_check.h"

#include "index_flush.h"
#include "settlement.h"

struct journal_walk {
    struct check *c;
    uint64_t expect_seq;
    uint8_t prev[LEDGER_HASH_LEN];
};

/* The entry's amounts must be its settlement's, negated for a reversal. */
static void check_entry_amounts(struct check *c, const struct journal_entry *e)
{
    Sanhe__SettlementRecord *rec = settlement_get(c->txn, e->settlement_id);
    if (c->txn->mdb_rc == 0)
        c->txn->ret = 0;
    if (rec == NULL) {
        check_problem(c, "journal %" PRIu64 ": settlement %" PRIu64 " does not exist", e->seq,
                      e->settlement_id);
        return;
    }
    struct journal_entry want = {0};
    int sign = e->kind == JOURNAL_SETTLE ? 1 : -1;
    bool ok = journal_entry_amounts(&want, rec->settlement->breakdown, sign);
    ok = ok && strcmp(rec->settlement->hospital, e->hospital) == 0;
    ok = ok && want.total == e->total && want.out_of_scope == e->out_of_scope &&
         want.over_limit == e->over_limit && want.pre_selfpay == e->pre_selfpay &&
         want.in_scope == e->in_scope && want.fund_total == e->fund_total &&
         want.patient_pays == e->patient_pays && want.fund_count == e->fund_count;
    for (uint32_t i = 0; ok && i < want.fund_count; i++)
        ok = strcmp(want.funds[i].fund, e->funds[i].fund) == 0 &&
             want.funds[i].pay == e->funds[i].pay;
    uint64_t seq = e->kind == JOURNAL_SETTLE ? rec->journal_seq : rec->reversal_journal_seq;
    if (!ok || seq != e->seq)
        check_problem(c, "journal %" PRIu64 ": does not match settlement %" PRIu64, e->seq,
                      e->settlement_id);
    sanhe__settlement_record__free_unpacked(rec, NULL);
}

static void check_entry_flags(struct check *c, const struct journal_entry *e)
{
    if (e->settlement_id == 0 || e->settlement_id > c->settlement_count)
        return; /* reported by check_entry_amounts */
    uint8_t bit = e->kind == JOURNAL_SETTLE ? CHECK_SETTLE_ENTRY : CHECK_REVERSAL_ENTRY;
    if (c->flags[e->settlement_id] & bit)
        c->flags[e->settlement_id] |= CHECK_DUPLICATE;
    c->flags[e->settlement_id] |= bit;
}

static void check_entry_index(struct check *c, const struct journal_entry *e)
{
    uint8_t key[STORE_DAY_KEY_LEN];
    MDB_val v;
    if (e->seq > c->journal_mark)
        return; /* not indexed yet: index_flush.h */
    if (store_key_day(key, e->day, e->hospital, e->seq) < 0 ||
        !store_get(c->txn, STORE_DB_JOURNAL_DAY, key, sizeof key, &v))
        check_problem(c, "journal %" PRIu64 ": not in the journal_day index", e->seq);
}

static int check_entry_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct journal_walk *w = ctx;
    struct check *c = w->c;
    uint64_t seq = key->mv_size == 8 ? store_be64_get(key->mv_data) : 0;
    if (seq != w->expect_seq) {
        check_problem(c, "journal: entry %" PRIu64 " where %" PRIu64 " was due", seq,
                      w->expect_seq);
        w->expect_seq = seq; /* report a gap once */
    }
    w->expect_seq++;
    struct journal_entry e;
    if (!journal_decode(val->mv_data, val->mv_size, &e) || e.seq != seq) {
        check_problem(c, "journal %" PRIu64 ": does not decode", seq);
        return 0;
    }
    uint8_t body[JOURNAL_BODY_MAX];
    uint8_t hash[LEDGER_HASH_LEN];
    size_t len = journal_body_encode(&e, body, sizeof body);
    if (memcmp(e.prev_hash, w->prev, LEDGER_HASH_LEN) != 0)
        check_problem(c, "journal %" PRIu64 ": prev_hash is not the hash of the entry before", seq);
    if (len == 0 || journal_hash(e.prev_hash, body, len, hash) != 0 ||
        memcmp(hash, e.hash, LEDGER_HASH_LEN) != 0)
        check_problem(c, "journal %" PRIu64 ": its hash does not match its contents", seq);
    memcpy(w->prev, e.hash, LEDGER_HASH_LEN);
    check_entry_index(c, &e);
    check_entry_amounts(c, &e);
    check_entry_flags(c, &e);
    return c->txn->ret;
}

static void check_chain_end(struct check *c, const struct journal_walk *w)
{
    if (w->expect_seq - 1 != c->seq_count)
        check_problem(c, "journal: ends at %" PRIu64 ", meta says %" PRIu64, w->expect_seq - 1,
                      c->seq_count);
    MDB_val v;
    const char *name = STORE_META_LAST_HASH;
    bool has = store_get(c->txn, STORE_DB_META, name, strlen(name), &v);
    static const uint8_t zero[LEDGER_HASH_LEN];
    const void *last = has && v.mv_size == LEDGER_HASH_LEN ? v.mv_data : zero;
    if ((has && v.mv_size != LEDGER_HASH_LEN) || memcmp(last, w->prev, LEDGER_HASH_LEN) != 0)
        check_problem(c, "journal: the last hash in meta is not the last entry's");
    uint64_t entries = store_count(c->txn, STORE_DB_JOURNAL);
    uint64_t indexed = store_count(c->txn, STORE_DB_JOURNAL_DAY);
    if (c->journal_mark > entries)
        check_problem(c, "journal_day: indexed through %" PRIu64 ", the journal ends at %" PRIu64,
                      c->journal_mark, entries);
    if (indexed != c->journal_mark)
        check_problem(
            c, "journal_day: %" PRIu64 " index entries for %" PRIu64 " indexed journal entries",
            indexed, c->journal_mark);
}

static void check_entry_counts(struct check *c)
{
    for (uint64_t id = 1; id <= c->settlement_count; id++) {
        uint8_t f = c->flags[id];
        if ((f & CHECK_SEEN) == 0)
            continue;
        bool reversed = (f & CHECK_REVERSED) != 0;
        if ((f & CHECK_SETTLE_ENTRY) == 0 || (f & CHECK_DUPLICATE) != 0 ||
            reversed != ((f & CHECK_REVERSAL_ENTRY) != 0))
            check_problem(c, "settlement %" PRIu64 ": expected %d journal entr%s", id,
                          reversed ? 2 : 1, reversed ? "ies" : "y");
    }
}

void check_journal(struct check *c)
{
    struct journal_walk w = {.c = c, .expect_seq = 1};
    c->journal_mark = index_journal_mark(c->txn);
    store_scan(c->txn, STORE_DB_JOURNAL, NULL, 0, check_entry_one, &w);
    if (c->txn->ret != 0)
        return;
    check_chain_end(c, &w);
    check_entry_counts(c);
}
