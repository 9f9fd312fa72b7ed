/*
 * The person-lookup audit (docs/limits.md, docs/storage.md).
 *
 *   audit   day (u32 BE yyyymmdd) || seq (u64 BE, from 1, across days) -> record
 *   meta    next_audit_seq
 *
 * The record: u8 version (1), i64 time (unix ms), str op, u32 outcome (the
 * SH_E_* code negated: 0 for OK), 8 bytes of SHA-256(resident id), 18 bytes
 * of the masked id, str terminal, str hospital. The id is never stored in
 * clear here: the masked form is what the bureau reads, the digest is how
 * `sanhe-bureau audit --person` finds a person's records.
 *
 * Records are written by the group commit (ledger_batch_audit), in the
 * batch's transaction, after its requests: so an audited read is answered
 * only once its record is as durable as a settlement.
 */
#include <assert.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger_internal.h"
#include "settlement.h"
#include "sh_person_id.h"
#include "store_codec.h"
#include "store_keys.h"

#define AUDIT_VERSION 1
#define AUDIT_VALUE_MAX 256
#define AUDIT_KEY_LEN 12
#define AUDIT_LIMIT_DEFAULT 1000
#define AUDIT_LIMIT_MAX 10000
#define AUDIT_TERMINALS_MAX 1024 /* per listing; more are counted under the last */
#define AUDIT_FLAG_RATIO_DEFAULT 20
#define AUDIT_FLAG_MIN_DEFAULT 100

static void audit_digest(const char *person, uint8_t out[LEDGER_AUDIT_DIGEST_LEN])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    memset(out, 0, LEDGER_AUDIT_DIGEST_LEN);
    if (EVP_Digest(person, strlen(person), md, &md_len, ledger_sha256(), NULL) == 1 &&
        md_len >= LEDGER_AUDIT_DIGEST_LEN)
        memcpy(out, md, LEDGER_AUDIT_DIGEST_LEN);
}

static void audit_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strnlen(src, cap - 1) : 0;
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void ledger_audit_fill(struct ledger_audit_record *r, const struct sh_caller *caller,
                       const char *op, const char *person, int outcome, int64_t time_ms)
{
    assert(r != NULL && caller != NULL && op != NULL);
    memset(r, 0, sizeof *r);
    r->time_ms = time_ms;
    audit_copy(r->terminal, sizeof r->terminal, caller->terminal);
    audit_copy(r->hospital, sizeof r->hospital, caller->hospital);
    audit_copy(r->op, sizeof r->op, op);
    const char *id = person != NULL ? person : "";
    sh_person_id_mask(id, r->person_masked);
    audit_digest(id, r->person_digest);
    r->outcome = outcome;
}

void ledger_audit_flag_set(struct ledger *ledger, uint32_t ratio, uint32_t min)
{
    ledger->audit_flag_ratio = ratio;
    ledger->audit_flag_min = min;
}

void ledger_batch_audit(struct ledger_batch *b, const struct ledger_audit_record *recs, size_t n)
{
    assert(b != NULL && (n == 0 || recs != NULL));
    b->audit = recs;
    b->audit_len = n;
}

static size_t audit_encode(const struct ledger_audit_record *r, uint8_t *buf, size_t cap)
{
    struct store_w w;
    store_w_init(&w, buf, cap);
    store_w_u8(&w, AUDIT_VERSION);
    store_w_i64(&w, r->time_ms);
    store_w_str(&w, r->op);
    store_w_u32(&w, (uint32_t)(r->outcome <= 0 ? -r->outcome : 0));
    store_w_bytes(&w, r->person_digest, LEDGER_AUDIT_DIGEST_LEN);
    store_w_bytes(&w, r->person_masked, 18);
    store_w_str(&w, r->terminal);
    store_w_str(&w, r->hospital);
    return w.bad ? 0 : w.len;
}

static bool audit_decode(const void *data, size_t len, struct ledger_audit_record *r)
{
    struct store_r rd;
    store_r_init(&rd, data, len);
    memset(r, 0, sizeof *r);
    if (store_r_u8(&rd) != AUDIT_VERSION)
        return false;
    r->time_ms = store_r_i64(&rd);
    store_r_str(&rd, r->op, sizeof r->op);
    r->outcome = -(int)store_r_u32(&rd);
    store_r_bytes(&rd, r->person_digest, LEDGER_AUDIT_DIGEST_LEN);
    store_r_bytes(&rd, r->person_masked, 18);
    r->person_masked[18] = '\0';
    store_r_str(&rd, r->terminal, sizeof r->terminal);
    store_r_str(&rd, r->hospital, sizeof r->hospital);
    return store_r_done(&rd);
}

static void audit_prune(struct store_txn *txn, const struct ledger_batch *b);

/* In the batch's transaction at commit (ledger_batch.c): every record of
 * the batch, each under the business day of its own time. */
void audit_write(struct store_txn *txn, const struct ledger_batch *b)
{
    for (size_t i = 0; i < b->audit_len && txn->ret == 0; i++) {
        const struct ledger_audit_record *r = &b->audit[i];
        uint8_t val[AUDIT_VALUE_MAX];
        size_t len = audit_encode(r, val, sizeof val);
        assert(len > 0); /* every field is bounded */
        uint64_t seq = meta_take(txn, STORE_META_NEXT_AUDIT);
        uint8_t key[AUDIT_KEY_LEN];
        store_be32_put(key, sh_date_from_unix_ms(r->time_ms, b->ledger->utc_offset_min));
        store_be64_put(key + 4, seq);
        store_put(txn, STORE_DB_AUDIT, key, sizeof key, val, len);
    }
    audit_prune(txn, b);
}

/* ---- Retention ---------------------------------------------------------------------------- */

struct audit_prune_scan {
    uint32_t before; /* days below this go */
    size_t n;
    uint8_t keys[LEDGER_AUDIT_PRUNE_PER_BATCH][AUDIT_KEY_LEN];
};

static int audit_prune_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    struct audit_prune_scan *s = ctx;
    if (key->mv_size != AUDIT_KEY_LEN || store_be32_get(key->mv_data) >= s->before)
        return 1; /* keys are in day order: the rest is kept */
    memcpy(s->keys[s->n++], key->mv_data, AUDIT_KEY_LEN);
    return s->n == LEDGER_AUDIT_PRUNE_PER_BATCH ? 1 : 0;
}

/* Deletes at most LEDGER_AUDIT_PRUNE_PER_BATCH records older than the
 * retention, oldest first, in the batch's transaction: the cost of a
 * retention is spread over the batches, never a long delete at once. Once a
 * scan finds nothing older, later batches of the same cutoff skip it. */
static void audit_prune(struct store_txn *txn, const struct ledger_batch *b)
{
    struct ledger *ledger = b->ledger;
    if (ledger->audit_retention_days == 0)
        return;
    int64_t cutoff_ms = b->now_ms - (int64_t)ledger->audit_retention_days * 86400000LL;
    uint32_t before = sh_date_from_unix_ms(cutoff_ms, ledger->utc_offset_min);
    if (before <= ledger->audit_clean_before)
        return;
    static _Thread_local struct audit_prune_scan s; /* the writer's; 3 KB */
    s.before = before;
    s.n = 0;
    store_scan(txn, STORE_DB_AUDIT, NULL, 0, audit_prune_one, &s);
    for (size_t i = 0; i < s.n; i++)
        store_del(txn, STORE_DB_AUDIT, s.keys[i], AUDIT_KEY_LEN);
    if (s.n == 0 && txn->ret == 0)
        ledger->audit_clean_before = before;
}

/* ---- The listing (bureau, admin) ----------------------------------------------------------- */

struct audit_count {
    char terminal[64];
    uint64_t lookups, settles;
};

struct audit_scan {
    const char *terminal; /* NULL: any */
    bool by_person;
    uint8_t digest[LEDGER_AUDIT_DIGEST_LEN];
    uint32_t limit;
    size_t n;
    bool truncated;
    struct ledger_audit_record *recs; /* limit of them */
    struct audit_count *counts;       /* AUDIT_TERMINALS_MAX of them */
    size_t count_len;
};

static struct audit_count *audit_count_of(struct audit_scan *s, const char *terminal)
{
    for (size_t i = 0; i < s->count_len; i++)
        if (strcmp(s->counts[i].terminal, terminal) == 0)
            return &s->counts[i];
    if (s->count_len == AUDIT_TERMINALS_MAX)
        return &s->counts[AUDIT_TERMINALS_MAX - 1];
    struct audit_count *c = &s->counts[s->count_len++];
    audit_copy(c->terminal, sizeof c->terminal, terminal);
    return c;
}

static int audit_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct audit_scan *s = ctx;
    struct ledger_audit_record r;
    if (key->mv_size != AUDIT_KEY_LEN || !audit_decode(val->mv_data, val->mv_size, &r))
        return SH_E_INTERNAL;
    struct audit_count *c = audit_count_of(s, r.terminal);
    if (strcmp(r.op, "settle") == 0)
        c->settles += r.outcome == 0 ? 1 : 0;
    else
        c->lookups++;
    if (s->terminal != NULL && strcmp(s->terminal, r.terminal) != 0)
        return 0;
    if (s->by_person && memcmp(s->digest, r.person_digest, LEDGER_AUDIT_DIGEST_LEN) != 0)
        return 0;
    if (s->n == s->limit) {
        s->truncated = true;
        return 0;
    }
    s->recs[s->n++] = r;
    return 0;
}

static uint32_t audit_today(const struct ledger *ledger)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return sh_date_from_unix_ms(now_ms, ledger->utc_offset_min);
}

static bool audit_flagged(const struct ledger *ledger, const struct audit_count *c)
{
    uint32_t ratio = ledger->audit_flag_ratio ? ledger->audit_flag_ratio : AUDIT_FLAG_RATIO_DEFAULT;
    uint32_t min = ledger->audit_flag_min ? ledger->audit_flag_min : AUDIT_FLAG_MIN_DEFAULT;
    return c->lookups >= min && c->lookups > (uint64_t)ratio * c->settles;
}

static int audit_reply(struct ledger_op *op, const struct audit_scan *s)
{
    Sanhe__AuditEntry *entries = calloc(s->n + 1, sizeof *entries);
    Sanhe__AuditEntry **entry_ptrs = calloc(s->n + 1, sizeof *entry_ptrs);
    Sanhe__AuditTerminal *terms = calloc(s->count_len + 1, sizeof *terms);
    Sanhe__AuditTerminal **term_ptrs = calloc(s->count_len + 1, sizeof *term_ptrs);
    int rc = 0;
    if (entries == NULL || entry_ptrs == NULL || terms == NULL || term_ptrs == NULL) {
        rc = sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        Sanhe__AuditEntry *e = &entries[i];
        const struct ledger_audit_record *r = &s->recs[i];
        sanhe__audit_entry__init(e);
        e->has_time_ms = true;
        e->time_ms = r->time_ms;
        e->terminal = (char *)r->terminal;
        e->hospital = (char *)r->hospital;
        e->person = (char *)r->person_masked;
        e->op = (char *)r->op;
        e->has_outcome = true;
        e->outcome = (Sanhe__ErrorCode)(-r->outcome);
        entry_ptrs[i] = e;
    }
    for (size_t i = 0; i < s->count_len; i++) {
        Sanhe__AuditTerminal *t = &terms[i];
        sanhe__audit_terminal__init(t);
        t->terminal = (char *)s->counts[i].terminal;
        t->has_lookups = t->has_settles = t->has_flagged = true;
        t->lookups = s->counts[i].lookups;
        t->settles = s->counts[i].settles;
        t->flagged = audit_flagged(op->ledger, &s->counts[i]);
        term_ptrs[i] = t;
    }
    Sanhe__AuditReply ar = SANHE__AUDIT_REPLY__INIT;
    ar.n_entries = s->n;
    ar.entries = entry_ptrs;
    ar.n_terminals = s->count_len;
    ar.terminals = term_ptrs;
    ar.has_truncated = true;
    ar.truncated = s->truncated;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_AUDIT;
    resp.audit = &ar;
    if (ledger_reply_pack(&resp, &op->reply) != 0)
        rc = sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
out:
    free(entries);
    free(entry_ptrs);
    free(terms);
    free(term_ptrs);
    return rc;
}

int ledger_op_audit(struct ledger_op *op)
{
    const Sanhe__AuditRequest *q = op->request->audit;
    if (q == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "audit: no request");
    uint32_t day = audit_today(op->ledger);
    if (q->day != NULL && q->day[0] != '\0' && (day = sh_date_parse(q->day)) == 0) {
        sh_error_set(&op->err, SH_E_BAD_REQUEST, "audit: day is not a yyyy-mm-dd date");
        return sh_error_detail(&op->err, SH_D_FIELD_INVALID, "%s", "day");
    }
    struct audit_scan s = {.limit = q->has_limit && q->limit != 0 ? q->limit : AUDIT_LIMIT_DEFAULT};
    if (s.limit > AUDIT_LIMIT_MAX)
        s.limit = AUDIT_LIMIT_MAX;
    if (q->terminal != NULL && q->terminal[0] != '\0')
        s.terminal = q->terminal;
    if (q->person != NULL && q->person[0] != '\0') {
        if (!sh_person_id_valid(q->person)) {
            sh_error_set(&op->err, SH_E_BAD_PERSON_ID, "audit: person is not a resident id");
            return sh_error_detail(&op->err, SH_D_FIELD_INVALID, "%s", "person");
        }
        s.by_person = true;
        audit_digest(q->person, s.digest);
    }
    s.recs = calloc(s.limit, sizeof *s.recs);
    s.counts = calloc(AUDIT_TERMINALS_MAX, sizeof *s.counts);
    int rc = 0;
    if (s.recs == NULL || s.counts == NULL) {
        rc = sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    } else {
        uint8_t prefix[4];
        store_be32_put(prefix, day);
        store_scan(op->txn, STORE_DB_AUDIT, prefix, sizeof prefix, audit_one, &s);
        rc = op->txn->ret;
        if (rc == 0)
            rc = audit_reply(op, &s);
    }
    free(s.recs);
    free(s.counts);
    return rc;
}
