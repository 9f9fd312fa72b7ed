#include "requests.h"

#include <assert.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "index_flush.h"
#include "settlement.h"
#include "sh_date.h"
#include "sh_rules.h"
#include "store_codec.h"
#include "store_keys.h"

/* ---- The log and its index ---------------------------------------------------------- */

#define REQUEST_LOG_VERSION 1
#define REQUEST_LOG_HEAD_MAX (1 + 2 * (2 + SH_CODE_MAX))

bool request_log_decode(const MDB_val *val, struct request_log_entry *out)
{
    struct store_r r;
    store_r_init(&r, val->mv_data, val->mv_size);
    r.bad = store_r_u8(&r) != REQUEST_LOG_VERSION;
    store_r_str(&r, out->hospital, sizeof out->hospital);
    store_r_str(&r, out->request_id, sizeof out->request_id);
    if (r.bad)
        return false;
    out->record = (const uint8_t *)val->mv_data + r.pos;
    out->record_len = val->mv_size - r.pos;
    return true;
}

/* The index's entry for the key: a log sequence, or 0. */
static uint64_t request_index_get(struct store_txn *txn, const char *hospital,
                                  const char *request_id)
{
    uint8_t key[STORE_REQUEST_KEY_MAX];
    int len = store_key_request(key, hospital, request_id);
    MDB_val v;
    if (len < 0 || !store_get(txn, STORE_DB_REQUESTS, key, (size_t)len, &v))
        return 0; /* an id too long to be a key was never used */
    if (v.mv_size != 8) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return 0;
    }
    return store_be64_get(v.mv_data);
}

void request_index_put(struct store_txn *txn, const char *hospital, const char *request_id,
                       uint64_t seq)
{
    uint8_t key[STORE_REQUEST_KEY_MAX];
    int len = store_key_request(key, hospital, request_id);
    uint8_t val[8];
    store_be64_put(val, seq);
    if (len < 0) {
        store_txn_fail_code(txn, SH_E_INTERNAL); /* the log holds only usable keys */
        return;
    }
    store_put(txn, STORE_DB_REQUESTS, key, (size_t)len, val, sizeof val);
}

struct tail_walk {
    const char *hospital;
    const char *request_id;
    struct request_tail *tail; /* reloading: every entry goes here */
    uint64_t found;            /* looking up: the last entry of the key */
};

static int tail_walk_one(void *ctx, const MDB_val *key, const MDB_val *val)
{
    struct tail_walk *w = ctx;
    struct request_log_entry e;
    if (key->mv_size != 8 || !request_log_decode(val, &e))
        return SH_E_INTERNAL;
    uint64_t seq = store_be64_get(key->mv_data);
    if (w->tail != NULL)
        return request_tail_put(w->tail, e.hospital, e.request_id, seq);
    if (strcmp(e.hospital, w->hospital) == 0 && strcmp(e.request_id, w->request_id) == 0)
        w->found = seq;
    return 0;
}

void request_tail_reload(struct store_txn *txn, struct request_tail *tail)
{
    if (txn->ret != 0)
        return;
    request_tail_clear(tail);
    struct tail_walk w = {.tail = tail};
    index_scan_tail(txn, STORE_DB_REQUEST_LOG, tail_walk_one, &w);
    request_tail_set_stale(tail, txn->ret != 0);
}

/* The writer's map, reloaded first when a dropped transaction left it stale. */
static struct request_tail *tail_ready(struct store_txn *txn, struct request_tail *tail)
{
    if (tail != NULL && request_tail_stale(tail))
        request_tail_reload(txn, tail);
    return tail;
}

/* The log entry of the key: the writer's map, else the index, else (a
 * reader, no map) the log above the mark. 0 when there is none. */
uint64_t request_seq_of(struct store_txn *txn, struct request_tail *tail, const char *hospital,
                        const char *request_id)
{
    uint64_t seq = tail_ready(txn, tail) != NULL && txn->ret == 0
                       ? request_tail_find(tail, hospital, request_id)
                       : 0;
    if (seq == 0)
        seq = request_index_get(txn, hospital, request_id);
    if (seq == 0 && tail == NULL && txn->ret == 0) {
        struct tail_walk w = {.hospital = hospital, .request_id = request_id};
        index_scan_tail(txn, STORE_DB_REQUEST_LOG, tail_walk_one, &w);
        seq = w.found;
    }
    return txn->ret == 0 ? seq : 0;
}

Sanhe__RequestRecord *request_get(struct store_txn *txn, struct request_tail *tail,
                                  const char *hospital, const char *request_id)
{
    uint64_t seq = request_seq_of(txn, tail, hospital, request_id);
    if (seq == 0)
        return NULL;
    uint8_t key[8];
    store_key_u64(key, seq);
    MDB_val v;
    struct request_log_entry e;
    Sanhe__RequestRecord *rec = NULL;
    if (store_get(txn, STORE_DB_REQUEST_LOG, key, sizeof key, &v) && request_log_decode(&v, &e) &&
        strcmp(e.hospital, hospital) == 0 && strcmp(e.request_id, request_id) == 0)
        rec = sanhe__request_record__unpack(NULL, e.record_len, e.record);
    if (rec == NULL || !rec->has_kind)
        store_txn_fail_code(txn, SH_E_INTERNAL); /* an index entry without its record */
    if (rec != NULL && !rec->has_kind) {
        sanhe__request_record__free_unpacked(rec, NULL);
        rec = NULL;
    }
    return rec;
}

/* The log entry's value: the head, then the packed record. */
static uint8_t *request_log_value(const char *hospital, const char *request_id,
                                  const Sanhe__RequestRecord *rec, size_t *len)
{
    size_t packed = sanhe__request_record__get_packed_size(rec);
    uint8_t *buf = malloc(REQUEST_LOG_HEAD_MAX + packed);
    if (buf == NULL)
        return NULL;
    struct store_w w;
    store_w_init(&w, buf, REQUEST_LOG_HEAD_MAX);
    store_w_u8(&w, REQUEST_LOG_VERSION);
    store_w_str(&w, hospital);
    store_w_str(&w, request_id);
    if (w.bad || strlen(hospital) >= SH_CODE_MAX || strlen(request_id) >= SH_CODE_MAX) {
        free(buf);
        return NULL;
    }
    size_t written = sanhe__request_record__pack(rec, buf + w.len);
    assert(written == packed && w.len <= REQUEST_LOG_HEAD_MAX);
    *len = w.len + packed;
    return buf;
}

void request_put(struct store_txn *txn, struct request_tail *tail, const char *hospital,
                 const char *request_id, const Sanhe__RequestRecord *rec)
{
    if (tail_ready(txn, tail) == NULL || txn->ret != 0) {
        store_txn_fail_code(txn, SH_E_INTERNAL); /* only the writer writes */
        return;
    }
    uint64_t seq = meta_take(txn, STORE_META_NEXT_REQUEST);
    assert(seq != 0 || txn->ret != 0);
    size_t len = 0;
    uint8_t *value = txn->ret == 0 ? request_log_value(hospital, request_id, rec, &len) : NULL;
    if (value == NULL) {
        store_txn_fail_code(txn, SH_E_INTERNAL);
        return;
    }
    uint8_t key[8];
    store_key_u64(key, seq);
    store_put(txn, STORE_DB_REQUEST_LOG, key, sizeof key, value, len);
    free(value);
    if (txn->ret == 0 && request_tail_put(tail, hospital, request_id, seq) != 0)
        store_txn_fail_code(txn, SH_E_INTERNAL);
    assert(txn->ret != 0 || request_tail_find(tail, hospital, request_id) == seq);
    /* Every journal entry comes with a record, so this bounds both tails
     * (the journal_day index trails by at most 2 * INDEX_LAG_FLUSH_MAX). */
    if (txn->ret == 0 && request_tail_count(tail) >= INDEX_LAG_MAX / 2)
        index_flush(txn, tail);
}

/* ---- Payload hashes ------------------------------------------------------------------- */

/* The canonical payload is gathered in buf and digested in few large
 * updates: one update per small field costs more than the hashing. */
struct hasher {
    EVP_MD_CTX *ctx;
    bool ok;
    size_t len;
    uint8_t buf[1024];
};

static void hasher_flush(struct hasher *h)
{
    h->ok = h->ok && (h->len == 0 || EVP_DigestUpdate(h->ctx, h->buf, h->len) == 1);
    h->len = 0;
}

static void hash_bytes(struct hasher *h, const void *p, size_t n)
{
    if (n == 0)
        return; /* p may be NULL (an absent string): memcpy must not see it */
    if (h->len + n > sizeof h->buf)
        hasher_flush(h);
    if (n > sizeof h->buf) {
        h->ok = h->ok && EVP_DigestUpdate(h->ctx, p, n) == 1;
        return;
    }
    memcpy(h->buf + h->len, p, n);
    h->len += n;
}

static void hasher_begin(struct hasher *h, Sanhe__RequestKind kind)
{
    h->ctx = EVP_MD_CTX_new();
    h->ok = h->ctx != NULL && EVP_DigestInit_ex(h->ctx, ledger_sha256(), NULL) == 1;
    h->len = 0;
    uint8_t k = (uint8_t)kind;
    hash_bytes(h, &k, 1);
}

static void hash_u64(struct hasher *h, uint64_t v)
{
    uint8_t b[8];
    store_be64_put(b, v);
    hash_bytes(h, b, sizeof b);
}

static void hash_u32(struct hasher *h, uint32_t v)
{
    uint8_t b[4];
    store_be32_put(b, v);
    hash_bytes(h, b, sizeof b);
}

static void hash_str(struct hasher *h, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    hash_u32(h, (uint32_t)n);
    hash_bytes(h, s, n);
}

static int hasher_end(struct hasher *h, uint8_t out[LEDGER_HASH_LEN])
{
    unsigned int n = 0;
    hasher_flush(h);
    h->ok = h->ok && EVP_DigestFinal_ex(h->ctx, out, &n) == 1 && n == LEDGER_HASH_LEN;
    EVP_MD_CTX_free(h->ctx);
    return h->ok ? 0 : SH_E_INTERNAL;
}

int request_hash_settle(const Sanhe__Claim *claim, uint8_t out[LEDGER_HASH_LEN])
{
    struct hasher h;
    hasher_begin(&h, SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE);
    hash_str(&h, claim->hospital);
    hash_str(&h, claim->person);
    hash_u32(&h, (uint32_t)(claim->visit != NULL ? sh_visit_parse(claim->visit) : -1));
    hash_u32(&h, sh_date_parse(claim->date));
    hash_u32(&h, (uint32_t)claim->n_lines);
    for (size_t i = 0; i < claim->n_lines; i++) {
        const Sanhe__Line *l = claim->lines[i];
        hash_str(&h, l->code);
        hash_u64(&h, (uint64_t)(l->has_qty_milli ? l->qty_milli : 0));
        hash_u64(&h, (uint64_t)(l->has_amount ? l->amount : 0));
        uint8_t defect = (uint8_t)(l->has_defect ? l->defect : 0);
        hash_bytes(&h, &defect, 1);
    }
    return hasher_end(&h, out);
}

int request_hash_reverse(const Sanhe__ReverseRequest *reverse, uint8_t out[LEDGER_HASH_LEN])
{
    struct hasher h;
    hasher_begin(&h, SANHE__REQUEST_KIND__REQUEST_KIND_REVERSE);
    uint8_t target = (uint8_t)reverse->target_case;
    hash_bytes(&h, &target, 1);
    if (reverse->target_case == SANHE__REVERSE_REQUEST__TARGET_SETTLEMENT_ID)
        hash_u64(&h, reverse->settlement_id);
    else
        hash_str(&h, reverse->settlement_request_id);
    return hasher_end(&h, out);
}

int request_hash_cancel(const char *cancel_of, uint8_t out[LEDGER_HASH_LEN])
{
    struct hasher h;
    hasher_begin(&h, SANHE__REQUEST_KIND__REQUEST_KIND_CANCEL);
    hash_str(&h, cancel_of);
    return hasher_end(&h, out);
}

/* ---- Checks 1 and 2 ----------------------------------------------------------------------- */

/* The kind as a detail's argument: the operation's name, for the client to word. */
static const char *kind_token(Sanhe__RequestKind kind)
{
    switch (kind) {
    case SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE:
        return "settle";
    case SANHE__REQUEST_KIND__REQUEST_KIND_REVERSE:
        return "reverse";
    case SANHE__REQUEST_KIND__REQUEST_KIND_CANCEL:
        return "cancel";
    default:
        return "other";
    }
}

static const char *kind_name(Sanhe__RequestKind kind)
{
    switch (kind) {
    case SANHE__REQUEST_KIND__REQUEST_KIND_SETTLE:
        return "a settle";
    case SANHE__REQUEST_KIND__REQUEST_KIND_REVERSE:
        return "a reverse";
    case SANHE__REQUEST_KIND__REQUEST_KIND_CANCEL:
        return "a cancel";
    default:
        return "another request";
    }
}

int request_check_own(struct ledger_op *op, Sanhe__RequestKind kind,
                      const uint8_t hash[LEDGER_HASH_LEN], bool *replayed)
{
    const char *rid = op->request->request_id;
    *replayed = false;
    Sanhe__RequestRecord *rec = request_get(op->txn, op->tail, op->caller->hospital, rid);
    if (rec == NULL)
        return op->txn->ret;
    int rc = 0;
    if (rec->kind == SANHE__REQUEST_KIND__REQUEST_KIND_CANCELLED) {
        sh_error_set(&op->err, SH_E_ALREADY_REVERSED,
                     "request id \"%s\" was cancelled before it arrived", rid);
        rc = sh_error_detail(&op->err, SH_D_REQUEST_CANCELLED, "%s", rid);
    } else if (rec->kind == kind && rec->payload_hash.len == LEDGER_HASH_LEN &&
               memcmp(rec->payload_hash.data, hash, LEDGER_HASH_LEN) == 0 && rec->reply.len > 0) {
        rc = ledger_reply_copy(rec->reply.data, rec->reply.len, &op->reply);
        *replayed = rc == 0;
        assert(!*replayed || op->reply.len == rec->reply.len); /* byte for byte */
    } else {
        sh_error_set(&op->err, SH_E_REQUEST_ID_REUSED, "request id \"%s\" was already used by %s%s",
                     rid, kind_name(rec->kind), rec->kind == kind ? " with another payload" : "");
        rc = sh_error_detail(&op->err, SH_D_REQUEST_ID_REUSED, "%s" SH_DETAIL_SEP "%s", rid,
                             kind_token(rec->kind));
    }
    sanhe__request_record__free_unpacked(rec, NULL);
    return rc;
}

void request_put_own(struct ledger_op *op, Sanhe__RequestKind kind,
                     const uint8_t hash[LEDGER_HASH_LEN], uint64_t settlement_id,
                     const char *target)
{
    assert(op->reply.data != NULL && op->reply.len > 0);
    assert(kind != SANHE__REQUEST_KIND__REQUEST_KIND_CANCELLED);
    assert(hash != NULL && op->request->request_id != NULL && op->request->request_id[0] != '\0');
    Sanhe__RequestRecord rec = SANHE__REQUEST_RECORD__INIT;
    rec.has_kind = true;
    rec.kind = kind;
    rec.has_payload_hash = true;
    rec.payload_hash.data = (uint8_t *)hash;
    rec.payload_hash.len = LEDGER_HASH_LEN;
    rec.has_settlement_id = settlement_id != 0;
    rec.settlement_id = settlement_id;
    rec.has_reply = true;
    rec.reply.data = op->reply.data;
    rec.reply.len = op->reply.len;
    rec.target = (char *)target;
    request_put(op->txn, op->tail, op->caller->hospital, op->request->request_id, &rec);
}
