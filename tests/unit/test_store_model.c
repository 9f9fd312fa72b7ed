/*
 * The store (engine/store/store.h) against a plain in-memory model, under
 * random operations: write transactions nested up to 3 deep, committed or
 * aborted; puts and deletes over a small key space (shared prefixes,
 * 8-byte big-endian keys, values of 0 bytes to several KiB) in three
 * databases; every read store.h offers (get, scan, scan_from, count,
 * last_u64) checked inside the transaction against its own pending
 * writes and, after it ends, against the committed state. Then own read
 * transactions that keep their snapshot across commits and checkpoints,
 * readers on other threads beside the writer, a reopen and a crash, and
 * a map that fills and grows by store.h's protocol.
 *
 * The model: for each database and key, present or not, and the value's
 * length and tag (val_fill makes the bytes from them). A write
 * transaction level is a whole copy of the model: nested begin copies
 * its parent's, commit copies it back, abort drops it.
 *
 * Every failure prints its seed and step; SANHE_SEED=n runs that seed
 * alone (in every test), SANHE_TEST_FILTER=name one test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define NDB 3
#define NK_MAX 48
#define KEY_MAX 160
#define VAL_MAX 12288
#define DEPTH_MAX 3
#define PLAN_MAX 96
#define READERS_OWN 4
#define SEQ_TAG 0x80000000u      /* the tags of "seq" values (test 3); random puts stay below */
#define SCAN_CODE SH_E_NOT_FOUND /* what a failing scan callback returns */

static const enum store_db dbs[NDB] = {STORE_DB_META, STORE_DB_ACCUMULATORS, STORE_DB_SETTLEMENTS};

/* ---- Failures ------------------------------------------------------------------------------- */

static _Thread_local char why[512];
static char where[160]; /* the seed and step of the main thread */
static bool in_child;   /* a forked child: a failure is its exit code */
static bool fail_abort; /* threads are running: a failure ends the process */

static bool whyf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return false;
}

/* Puts a context in front of why: "context: why". */
static bool why_in(const char *fmt, ...)
{
    char ctx[256], tmp[sizeof ctx + sizeof why + 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    snprintf(tmp, sizeof tmp, "%s: %s", ctx, why);
    memcpy(why, tmp, sizeof why - 1); /* cut short if need be */
    why[sizeof why - 1] = '\0';
    return false;
}

static void failx(void)
{
    fprintf(stderr, "store model: %s (%s)\n", why, where);
    fflush(stderr);
    if (in_child)
        _exit(9);
    if (fail_abort)
        abort();
    fail_msg("%s (%s)", why, where);
}

#define MUST(e)                                                                                    \
    do {                                                                                           \
        if (!(e))                                                                                  \
            failx();                                                                               \
    } while (0)
#define EXPECT(c, ...)                                                                             \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            whyf(__VA_ARGS__);                                                                     \
            failx();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- Random numbers ------------------------------------------------------------------------- */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t x = r->s; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static struct rng rng_of(uint64_t seed) { return (struct rng){seed * 0x9e3779b97f4a7c15ull + 1}; }

static uint32_t rnd(struct rng *r, uint32_t n)
{
    if (n == 0) /* a bug of the test; also on the readers' threads, where cmocka is not */
        abort();
    return (uint32_t)(rng_next(r) % n);
}

/* The seeds of a test, or SANHE_SEED alone. */
static size_t seeds_of(const uint64_t *fixed, size_t n, uint64_t *out)
{
    const char *env = getenv("SANHE_SEED");
    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        out[0] = strtoull(env, &end, 10);
        assert_true(end != NULL && *end == '\0');
        return 1;
    }
    memcpy(out, fixed, n * sizeof *fixed);
    return n;
}

/* ---- Keys and values ------------------------------------------------------------------------ */

struct mkey {
    size_t len;
    uint8_t b[KEY_MAX];
};

static struct mkey keys[NK_MAX]; /* in LMDB's order */
static size_t nkeys;
static size_t key_seq; /* "seq" */

/* LMDB's default order: memcmp over the shorter, then the shorter first. */
static int key_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return (al > bl) - (al < bl);
}

static int mkey_qcmp(const void *a, const void *b)
{
    const struct mkey *x = a, *y = b;
    return key_cmp(x->b, x->len, y->b, y->len);
}

static void key_add(const void *b, size_t len)
{
    assert_true(nkeys < NK_MAX && len > 0 && len <= KEY_MAX);
    keys[nkeys].len = len;
    memcpy(keys[nkeys].b, b, len);
    nkeys++;
}

static void key_add_u64(uint64_t n)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(n >> (56 - 8 * i));
    key_add(b, 8);
}

static void keys_init(void)
{
    if (nkeys > 0)
        return;
    static const char *const s[] = {"a",   "b",   "aa",  "ab",  "ba",      "bb",
                                    "aaa", "aab", "aba", "abb", "baa",     "bab",
                                    "bba", "bbb", "se",  "seq", "sequence"};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        key_add(s[i], strlen(s[i]));
    key_add("a\0", 2);
    key_add("a\xff", 2);
    key_add("ab\0b", 4);
    key_add("\0", 1);
    key_add("\xff", 1);
    uint8_t b[151];
    memset(b, 0, 7);
    key_add(b, 7); /* a prefix of the small numbers' keys */
    memset(b, 0xff, 9);
    key_add(b, 9); /* after 0xff..ff: the last key, not 8 bytes long */
    memset(b, 'a', 150);
    key_add(b, 150);
    b[150] = 'z';
    key_add(b, 151);
    static const uint64_t nums[] = {1,
                                    2,
                                    255,
                                    256,
                                    65535,
                                    1ull << 32,
                                    0x6100000000000000ull /* "a" then zeros */,
                                    0x6162000000000001ull /* "ab".. */,
                                    0xfffffffffffffffeull,
                                    0xffffffffffffffffull};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        key_add_u64(nums[i]);
    qsort(keys, nkeys, sizeof keys[0], mkey_qcmp);
    for (size_t i = 0; i < nkeys; i++) {
        if (i > 0)
            assert_true(mkey_qcmp(&keys[i - 1], &keys[i]) < 0);
        if (keys[i].len == 3 && memcmp(keys[i].b, "seq", 3) == 0)
            key_seq = i;
    }
}

static const char *hex(const void *p, size_t len)
{
    static _Thread_local char buf[4][2 * 24 + 8]; /* up to 4 in one message */
    static _Thread_local int which;
    which = (which + 1) % 4;
    char *out = buf[which];
    size_t n = len < 24 ? len : 24, o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, sizeof buf[0] - o, "%02x", ((const uint8_t *)p)[i]);
    snprintf(out + o, sizeof buf[0] - o, "%s/%zu", len > n ? ".." : "", len);
    return out;
}

/* A value's bytes: its tag big-endian, then a stream drawn from the tag. */
static void val_fill(uint32_t tag, uint32_t len, uint8_t *out)
{
    uint32_t x = (tag * 2654435761u) ^ 0x5bd1e995u;
    if (x == 0)
        x = 1;
    for (uint32_t i = 0; i < len; i++) {
        if (i < 4) {
            out[i] = (uint8_t)(tag >> (24 - 8 * i));
            continue;
        }
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (uint8_t)x;
    }
}

/* ---- The model ------------------------------------------------------------------------------ */

struct slot {
    uint32_t tag, len;
    bool present;
};

struct mstate {
    struct slot s[NDB][NK_MAX];
};

static size_t model_count(const struct mstate *m, int d)
{
    size_t n = 0;
    for (size_t i = 0; i < nkeys; i++)
        n += m->s[d][i].present;
    return n;
}

static uint64_t model_last_u64(const struct mstate *m, int d)
{
    for (size_t i = nkeys; i-- > 0;) {
        if (!m->s[d][i].present)
            continue;
        if (keys[i].len != 8)
            return 0;
        uint64_t n = 0;
        for (int j = 0; j < 8; j++)
            n = n << 8 | keys[i].b[j];
        return n;
    }
    return 0;
}

static uint64_t model_bytes(const struct mstate *m)
{
    uint64_t n = 0;
    for (int d = 0; d < NDB; d++)
        for (size_t i = 0; i < nkeys; i++)
            n += m->s[d][i].present ? m->s[d][i].len + keys[i].len : 0;
    return n;
}

/* ---- Checks of a transaction against a model state ------------------------------------------ */

static bool val_ok(const struct slot *s, const MDB_val *v, int d, size_t k)
{
    uint8_t want[VAL_MAX];
    if (v->mv_size != s->len)
        return whyf("db %d key %s: value of %zu bytes, model %u", d, hex(keys[k].b, keys[k].len),
                    v->mv_size, s->len);
    val_fill(s->tag, s->len, want);
    if (s->len > 0 && memcmp(v->mv_data, want, s->len) != 0)
        return whyf("db %d key %s: value %s, model %s", d, hex(keys[k].b, keys[k].len),
                    hex(v->mv_data, v->mv_size), hex(want, s->len));
    return true;
}

static bool check_get(struct store_txn *t, const struct mstate *m, int d, size_t k)
{
    MDB_val v = {0};
    bool found = store_get(t, dbs[d], keys[k].b, keys[k].len, &v);
    if (t->ret != 0)
        return whyf("get: the transaction failed (%d)", t->ret);
    const struct slot *s = &m->s[d][k];
    if (found != s->present)
        return whyf("get db %d key %s: found %d, model %d", d, hex(keys[k].b, keys[k].len), found,
                    s->present);
    return !found || val_ok(s, &v, d, k);
}

/* A get's value stays valid until the transaction ends or writes: a
 * second get (of k2) leaves the first one's bytes as they were. */
static bool check_get_kept(struct store_txn *t, const struct mstate *m, int d, size_t k, size_t k2)
{
    MDB_val v = {0};
    if (!store_get(t, dbs[d], keys[k].b, keys[k].len, &v))
        return check_get(t, m, d, k);
    if (!val_ok(&m->s[d][k], &v, d, k) || !check_get(t, m, (d + 1) % NDB, k2) ||
        !check_get(t, m, d, k2))
        return false;
    if (!val_ok(&m->s[d][k], &v, d, k))
        return why_in("the first of two gets");
    return true;
}

struct scan_ctx {
    const struct mstate *m;
    int d;
    size_t exp[NK_MAX], nexp; /* the model's keys, in order */
    size_t pos;               /* calls so far */
    size_t stop_at;           /* the call that returns stop_code (0: none) */
    int stop_code;
    bool bad;
    uint8_t prev[KEY_MAX];
    size_t prev_len;
};

static int scan_cb(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct scan_ctx *c = ctx;
    if (c->pos > 0 && key_cmp(c->prev, c->prev_len, k->mv_data, k->mv_size) >= 0) {
        c->bad = !whyf("scan db %d: key %s after %s", c->d, hex(k->mv_data, k->mv_size),
                       hex(c->prev, c->prev_len));
        return 1;
    }
    if (k->mv_size == 0 || k->mv_size > KEY_MAX || c->pos >= c->nexp) {
        c->bad = !whyf("scan db %d: key %s beyond the model's %zu", c->d,
                       hex(k->mv_data, k->mv_size), c->nexp);
        return 1;
    }
    c->prev_len = k->mv_size;
    memcpy(c->prev, k->mv_data, k->mv_size);
    size_t i = c->exp[c->pos];
    if (key_cmp(keys[i].b, keys[i].len, k->mv_data, k->mv_size) != 0) {
        c->bad = !whyf("scan db %d: key %zu is %s, model %s", c->d, c->pos,
                       hex(k->mv_data, k->mv_size), hex(keys[i].b, keys[i].len));
        return 1;
    }
    if (!val_ok(&c->m->s[c->d][i], v, c->d, i)) {
        c->bad = true;
        return 1;
    }
    c->pos++;
    return c->stop_at != 0 && c->pos == c->stop_at ? c->stop_code : 0;
}

static void expect_prefix(struct scan_ctx *c, const uint8_t *p, size_t pl)
{
    c->nexp = 0;
    for (size_t i = 0; i < nkeys; i++)
        if (c->m->s[c->d][i].present && keys[i].len >= pl &&
            (pl == 0 || memcmp(keys[i].b, p, pl) == 0))
            c->exp[c->nexp++] = i;
}

static void expect_from(struct scan_ctx *c, const uint8_t *from, size_t fl)
{
    c->nexp = 0;
    for (size_t i = 0; i < nkeys; i++)
        if (c->m->s[c->d][i].present && key_cmp(keys[i].b, keys[i].len, from, fl) >= 0)
            c->exp[c->nexp++] = i;
}

/* After a scan that returned 0 or 1 from every call: all of the model's
 * keys, or exactly stop_at of them. */
static bool scan_done(struct store_txn *t, struct scan_ctx *c, const char *what)
{
    if (c->bad)
        return false;
    if (t->ret != 0)
        return whyf("%s db %d: the transaction failed (%d)", what, c->d, t->ret);
    size_t want = c->stop_at != 0 && c->stop_at < c->nexp ? c->stop_at : c->nexp;
    if (c->pos != want)
        return whyf("%s db %d: %zu keys, model %zu (stop at %zu)", what, c->d, c->pos, want,
                    c->stop_at);
    return true;
}

static bool check_scan(struct store_txn *t, const struct mstate *m, int d, const uint8_t *p,
                       size_t pl, size_t stop_at)
{
    struct scan_ctx c = {.m = m, .d = d, .stop_at = stop_at, .stop_code = 1};
    expect_prefix(&c, p, pl);
    store_scan(t, dbs[d], pl > 0 ? p : NULL, pl, scan_cb, &c);
    if (!scan_done(t, &c, "scan"))
        return why_in("prefix %s", hex(p, pl));
    return true;
}

static bool check_scan_from(struct store_txn *t, const struct mstate *m, int d, const uint8_t *from,
                            size_t fl, size_t stop_at)
{
    struct scan_ctx c = {.m = m, .d = d, .stop_at = stop_at, .stop_code = 1};
    expect_from(&c, from, fl);
    store_scan_from(t, dbs[d], from, fl, scan_cb, &c);
    if (!scan_done(t, &c, "scan_from"))
        return why_in("from %s", hex(from, fl));
    return true;
}

static bool check_count(struct store_txn *t, const struct mstate *m, int d)
{
    uint64_t n = store_count(t, dbs[d]);
    if (t->ret != 0 || n != model_count(m, d))
        return whyf("count db %d: %llu (ret %d), model %zu", d, (unsigned long long)n, t->ret,
                    model_count(m, d));
    return true;
}

static bool check_last(struct store_txn *t, const struct mstate *m, int d)
{
    uint64_t n = store_last_u64(t, dbs[d]);
    if (t->ret != 0 || n != model_last_u64(m, d))
        return whyf("last_u64 db %d: %llx (ret %d), model %llx", d, (unsigned long long)n, t->ret,
                    (unsigned long long)model_last_u64(m, d));
    return true;
}

/* Everything: each key's get, the whole scan, the count and the last key. */
static bool check_all(struct store_txn *t, const struct mstate *m)
{
    for (int d = 0; d < NDB; d++) {
        for (size_t k = 0; k < nkeys; k++)
            if (!check_get(t, m, d, k))
                return false;
        if (!check_scan(t, m, d, NULL, 0, 0) || !check_count(t, m, d) || !check_last(t, m, d))
            return false;
    }
    return true;
}

/* A scan whose callback returns SCAN_CODE at its at-th call: the
 * transaction's error is that code (not LMDB's: mdb_rc stays 0). *failed:
 * whether it was called at all (an empty database calls nothing). */
static bool fail_scan(struct store_txn *t, const struct mstate *m, int d, uint32_t at, bool *failed)
{
    struct scan_ctx c = {.m = m, .d = d, .stop_code = SCAN_CODE};
    expect_prefix(&c, NULL, 0);
    *failed = c.nexp > 0;
    c.stop_at = c.nexp > 0 ? 1 + at % c.nexp : 0;
    store_scan(t, dbs[d], NULL, 0, scan_cb, &c);
    if (c.bad)
        return false;
    if (c.pos != c.stop_at)
        return whyf("failing scan db %d: %zu calls, want %zu", d, c.pos, c.stop_at);
    int want = *failed ? SCAN_CODE : 0;
    if (t->ret != want || t->mdb_rc != 0)
        return whyf("failing scan db %d: ret %d mdb_rc %d, want %d, 0", d, t->ret, t->mdb_rc, want);
    return true;
}

/* ---- Plans: one outermost write transaction's operations ------------------------------------ */

enum op_kind {
    OP_BEGIN, /* nested */
    OP_COMMIT,
    OP_ABORT,
    OP_PUT,
    OP_DEL,
    OP_GET,
    OP_SCAN,      /* prefix: key k's first a bytes (0: all); b: stop after b keys (0: none) */
    OP_SCAN_FROM, /* from key k's first a bytes, then byte extra when >= 0 */
    OP_COUNT,
    OP_LAST,
    OP_FAIL_SCAN, /* always followed by a put and the end of its level */
    OP_OWN_CHECK, /* own readers, against their snapshots (the committed state for a new one) */
};

struct op {
    uint8_t kind, d;
    uint16_t k;
    uint32_t a, b;
    int extra;
};

struct opts {
    bool durable;
    bool own_check; /* OP_OWN_CHECK in plans */
    bool sync_each; /* store_sync after every commit (else one in four) */
    bool big;       /* mostly values of several KiB (a map that fills) */
    bool may_grow;  /* MDB_MAP_FULL is expected: grow and retry */
    unsigned plan_ops;
};

static uint32_t gen_len(struct rng *r, bool big)
{
    uint32_t p = rnd(r, 100);
    if (big && p < 70)
        return 3000 + rnd(r, VAL_MAX - 3000);
    if (p < 10)
        return 0;
    if (p < 55)
        return 1 + rnd(r, 16);
    if (p < 85)
        return 17 + rnd(r, 284);
    if (p < 96)
        return 301 + rnd(r, 1200);
    return 2000 + rnd(r, 4500);
}

static void gen_end(struct rng *r, struct op *op, int depth)
{
    memset(op, 0, sizeof *op);
    op->kind = (depth > 1 ? rnd(r, 3) != 0 : rnd(r, 100) < 85) ? OP_COMMIT : OP_ABORT;
}

static size_t plan_gen(struct rng *r, const struct opts *o, uint32_t *tag, struct op *plan)
{
    size_t n = 0;
    int depth = 1;
    unsigned left = 1 + rnd(r, o->plan_ops);
    while (depth > 0) {
        assert_true(n + 4 <= PLAN_MAX);
        struct op *op = &plan[n++];
        if (left == 0 || n + 8 > PLAN_MAX) {
            gen_end(r, op, depth--);
            continue;
        }
        left--;
        memset(op, 0, sizeof *op);
        op->d = (uint8_t)rnd(r, NDB);
        op->k = (uint16_t)rnd(r, (uint32_t)nkeys);
        uint32_t p = rnd(r, 100), klen = (uint32_t)keys[op->k].len;
        if (p < 5 && depth < DEPTH_MAX) {
            op->kind = OP_BEGIN;
            depth++;
        } else if (p >= 5 && p < 10 && depth > 1) {
            gen_end(r, op, depth--);
        } else if (p == 10 && rnd(r, 2) == 0) {
            op->kind = OP_FAIL_SCAN;
            op->a = rnd(r, 1000);
            struct op *put = &plan[n++];
            *put = (struct op){.kind = OP_PUT, .d = op->d, .k = op->k, .a = (*tag)++, .b = 1};
            gen_end(r, &plan[n++], depth--);
        } else if (p < 48) { /* and the begins and ends that could not be */
            op->kind = OP_PUT;
            op->a = (*tag)++;
            op->b = gen_len(r, o->big);
        } else if (p < 62) {
            op->kind = OP_DEL;
        } else if (p < 72) {
            op->kind = OP_GET;
            op->a = rnd(r, (uint32_t)nkeys); /* and then this one */
        } else if (p < 82) {
            op->kind = OP_SCAN;
            op->a = rnd(r, 3) == 0 ? 0 : 1 + rnd(r, klen);
            op->b = rnd(r, 4) == 0 ? 1 + rnd(r, 4) : 0;
        } else if (p < 90) {
            op->kind = OP_SCAN_FROM;
            op->a = 1 + rnd(r, klen);
            op->b = rnd(r, 4) == 0 ? 1 + rnd(r, 4) : 0;
            op->extra = rnd(r, 3) == 0 ? (int)rnd(r, 256) : -1;
        } else if (p < 94) {
            op->kind = OP_COUNT;
        } else if (p < 97 || !o->own_check) {
            op->kind = OP_LAST;
        } else {
            op->kind = OP_OWN_CHECK;
        }
    }
    assert_true(*tag < SEQ_TAG);
    return n;
}

/* ---- Running plans on a store and the model at once ----------------------------------------- */

struct own_reader {
    struct store_txn t;
    struct mstate snap; /* the committed state at its begin */
    bool open;
};

struct run {
    struct store *s;
    const struct opts *o;
    struct rng r;
    uint64_t seed;
    uint32_t tag;
    unsigned ops, plans, commits, aborts, map_full, map_full_commit, grows;
    struct mstate S; /* committed */
    /* The open levels: [0] the outermost. */
    int depth;
    struct store_txn txn[DEPTH_MAX];
    struct mstate lvl[DEPTH_MAX];
    bool failed[DEPTH_MAX]; /* by OP_FAIL_SCAN: ret is SCAN_CODE */
    struct own_reader *own; /* READERS_OWN of them, or NULL */
};

enum { EXEC_DONE = 0, EXEC_RETRY = 1 };

static void unwind(struct run *x)
{
    while (x->depth > 0) {
        x->depth--;
        store_write_abort(&x->txn[x->depth]);
    }
}

/* A begin or commit (already ended) or put that failed: only MDB_MAP_FULL,
 * and only where the test expects a full map. Every open level ends; the
 * caller grows the map and runs the plan again. */
static int pressure(struct run *x, const struct store_txn *t, int rc, const char *what)
{
    EXPECT(x->o->may_grow && rc == SH_E_STORAGE_FULL && t->mdb_rc == MDB_MAP_FULL,
           "%s: %d (mdb_rc %d)", what, rc, t->mdb_rc);
    x->map_full++;
    x->map_full_commit += strstr(what, "commit") != NULL;
    unwind(x);
    return EXEC_RETRY;
}

static void own_check_all(struct run *x)
{
    struct store_txn t;
    EXPECT(store_read_begin_own(x->s, &t) == 0, "store_read_begin_own: %d", t.ret);
    bool ok = check_all(&t, &x->S);
    store_read_end(&t);
    if (!ok) {
        why_in("a new own reader, inside a write transaction");
        failx();
    }
    for (int i = 0; x->own != NULL && i < READERS_OWN; i++) {
        if (x->own[i].open && !check_all(&x->own[i].t, &x->own[i].snap)) {
            why_in("own reader %d, against its snapshot", i);
            failx();
        }
    }
}

static int exec_write(struct run *x, const struct op *op, int top)
{
    struct store_txn *t = &x->txn[top];
    struct slot *sl = &x->lvl[top].s[op->d][op->k];
    const struct mkey *key = &keys[op->k];
    if (op->kind == OP_PUT) {
        static uint8_t val[VAL_MAX];
        val_fill(op->a, op->b, val);
        store_put(t, dbs[op->d], key->b, key->len, val, op->b);
    } else {
        store_del(t, dbs[op->d], key->b, key->len);
    }
    if (x->failed[top]) { /* sticky: a no-op */
        EXPECT(t->ret == SCAN_CODE, "a write after a failure: ret %d", t->ret);
        return EXEC_DONE;
    }
    if (t->ret != 0)
        return pressure(x, t, t->ret, op->kind == OP_PUT ? "put" : "del");
    if (op->kind == OP_PUT)
        *sl = (struct slot){.tag = op->a, .len = op->b, .present = true};
    else
        sl->present = false;
    return EXEC_DONE;
}

static int exec_end(struct run *x, const struct op *op, int top)
{
    struct store_txn *t = &x->txn[top];
    x->depth--;
    if (op->kind == OP_ABORT) {
        store_write_abort(t);
        x->aborts += top == 0;
        return EXEC_DONE;
    }
    int rc = store_write_commit(t);
    if (x->failed[top]) { /* commit aborts it and says why */
        EXPECT(rc == SCAN_CODE, "commit after a failure: %d, want %d", rc, SCAN_CODE);
        x->aborts += top == 0;
        return EXEC_DONE;
    }
    if (rc != 0)
        return pressure(x, t, rc, top == 0 ? "commit" : "nested commit");
    if (top > 0) {
        x->lvl[top - 1] = x->lvl[top];
    } else {
        x->S = x->lvl[0];
        x->commits++;
    }
    return EXEC_DONE;
}

static int exec_op(struct run *x, const struct op *op)
{
    int top = x->depth - 1;
    assert_true(top >= 0);
    struct store_txn *t = &x->txn[top];
    const struct mstate *m = &x->lvl[top];
    const struct mkey *key = &keys[op->k];
    x->ops++;
    snprintf(where, sizeof where, "seed %llu, plan %u, op %u, kind %d, depth %d",
             (unsigned long long)x->seed, x->plans, x->ops, op->kind, x->depth);
    assert_true(!x->failed[top] || op->kind == OP_PUT || op->kind == OP_COMMIT ||
                op->kind == OP_ABORT);
    switch (op->kind) {
    case OP_BEGIN: {
        int rc = store_write_begin(x->s, t, &x->txn[top + 1]);
        if (rc != 0)
            return pressure(x, &x->txn[top + 1], rc, "nested begin");
        x->lvl[top + 1] = *m;
        x->failed[top + 1] = false;
        x->depth++;
        return EXEC_DONE;
    }
    case OP_COMMIT:
    case OP_ABORT:
        return exec_end(x, op, top);
    case OP_PUT:
    case OP_DEL:
        return exec_write(x, op, top);
    case OP_GET:
        MUST(check_get_kept(t, m, op->d, op->k, op->a % nkeys));
        break;
    case OP_SCAN:
        MUST(check_scan(t, m, op->d, key->b, op->a, op->b));
        break;
    case OP_SCAN_FROM: {
        uint8_t from[KEY_MAX + 1];
        memcpy(from, key->b, op->a);
        size_t fl = op->a;
        if (op->extra >= 0)
            from[fl++] = (uint8_t)op->extra;
        MUST(check_scan_from(t, m, op->d, from, fl, op->b));
        break;
    }
    case OP_COUNT:
        MUST(check_count(t, m, op->d));
        break;
    case OP_LAST:
        MUST(check_last(t, m, op->d));
        break;
    case OP_FAIL_SCAN:
        MUST(fail_scan(t, m, op->d, op->a, &x->failed[top]));
        break;
    case OP_OWN_CHECK:
        own_check_all(x);
        break;
    default:
        fail();
    }
    return EXEC_DONE;
}

static int exec_plan(struct run *x, const struct op *plan, size_t n)
{
    int rc = store_write_begin(x->s, NULL, &x->txn[0]);
    if (rc != 0)
        return pressure(x, &x->txn[0], rc, "begin");
    x->lvl[0] = x->S;
    x->failed[0] = false;
    x->depth = 1;
    for (size_t i = 0; i < n; i++)
        if (exec_op(x, &plan[i]) == EXEC_RETRY)
            return EXEC_RETRY;
    assert_int_equal(x->depth, 0);
    return EXEC_DONE;
}

/* The reused read transaction sees exactly the committed state. */
static void check_read(struct run *x)
{
    struct store_txn t;
    EXPECT(store_read_begin(x->s, &t) == 0, "store_read_begin: %d", t.ret);
    bool ok = check_all(&t, &x->S);
    for (int i = 0; ok && i < 4; i++) {
        size_t k = rnd(&x->r, (uint32_t)nkeys);
        int d = (int)rnd(&x->r, NDB);
        ok = check_scan(&t, &x->S, d, keys[k].b, 1 + rnd(&x->r, (uint32_t)keys[k].len), 0) &&
             check_scan_from(&t, &x->S, d, keys[k].b, keys[k].len, 0);
    }
    store_read_end(&t);
    if (!ok) {
        why_in("the committed state");
        failx();
    }
}

/* One plan, again after each full map until it fits; then the committed
 * state is checked and sometimes synced. */
static void run_plan(struct run *x, struct op *plan, size_t n)
{
    for (int tries = 0; exec_plan(x, plan, n) == EXEC_RETRY; tries++) {
        EXPECT(tries < 16, "the map is still full after %d grows", tries);
        check_read(x); /* nothing of the attempt is kept */
        int rc = store_grow(x->s);
        EXPECT(rc == 0, "store_grow: %d", rc);
        x->grows++;
    }
    snprintf(where, sizeof where, "seed %llu, after plan %u (ops %u)", (unsigned long long)x->seed,
             x->plans, x->ops);
    x->plans++;
    check_read(x);
    if (x->o->sync_each || rnd(&x->r, 4) == 0) {
        int rc = store_sync(x->s);
        EXPECT(rc == 0, "store_sync: %d", rc);
    }
}

static void run_init(struct run *x, struct store *s, const struct opts *o, uint64_t seed)
{
    keys_init();
    memset(x, 0, sizeof *x);
    x->s = s;
    x->o = o;
    x->seed = seed;
    x->r = rng_of(seed);
    x->tag = 1;
}

/* The own readers of test 2, between plans: opened (a snapshot of the
 * committed state), checked, closed; and sometimes a pause, so that the
 * checkpoint thread runs (wal_checkpoint_ms is 1). */
static void own_step(struct run *x)
{
    uint32_t p = rnd(&x->r, 10), i = rnd(&x->r, READERS_OWN);
    struct own_reader *rd = &x->own[i];
    if (p < 3 && !rd->open) {
        EXPECT(store_read_begin_own(x->s, &rd->t) == 0, "store_read_begin_own: %d", rd->t.ret);
        rd->snap = x->S;
        rd->open = true;
    } else if (p < 7 && rd->open) {
        if (!check_all(&rd->t, &rd->snap)) {
            why_in("own reader %u, against its snapshot", i);
            failx();
        }
        if (p >= 5) {
            store_read_end(&rd->t);
            rd->open = false;
        }
    } else if (p == 9) {
        usleep(2000);
    }
}

static void own_close_all(struct run *x)
{
    for (int i = 0; i < READERS_OWN; i++) {
        if (!x->own[i].open)
            continue;
        if (!check_all(&x->own[i].t, &x->own[i].snap)) {
            why_in("own reader %d, against its snapshot", i);
            failx();
        }
        store_read_end(&x->own[i].t);
        x->own[i].open = false;
    }
}

/* Plans until ops operations have run. */
static void workload(struct run *x, unsigned ops)
{
    struct op plan[PLAN_MAX];
    unsigned end = x->ops + ops;
    while (x->ops < end) {
        size_t n = plan_gen(&x->r, x->o, &x->tag, plan);
        run_plan(x, plan, n);
        if (x->own != NULL)
            own_step(x);
        /* Growth ahead of need between transactions, as the ledger does
         * (ledger_batch.c), some of the time: a full map the rest. */
        if (x->o->may_grow && rnd(&x->r, 8) == 0 && store_grow_due(x->s)) {
            int rc = store_grow(x->s);
            EXPECT(rc == 0, "store_grow: %d", rc);
            x->grows++;
        }
    }
}

/* ---- Fixture -------------------------------------------------------------------------------- */

struct fx {
    char top[256], db[300], model[300];
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->top, sizeof f->top, "%s/sanhe-model-XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->top));
    snprintf(f->db, sizeof f->db, "%s/db", f->top);
    snprintf(f->model, sizeof f->model, "%s/model", f->top);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->top, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A fresh store directory (each seed its own). */
static void fx_fresh(struct fx *f)
{
    nftw(f->db, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    assert_int_equal(mkdir(f->db, 0700), 0);
}

static struct store_config cfg_of(const struct fx *f, bool durable)
{
    return (struct store_config){.dir = f->db,
                                 .durable = durable,
                                 .wal_segment_bytes = 64u << 10,
                                 .wal_checkpoint_bytes = 32u << 10,
                                 .wal_checkpoint_ms = 1};
}

static void open_store(struct store *s, const struct store_config *c)
{
    struct sh_error err = {0};
    int rc = store_open(s, c, &err);
    EXPECT(rc == 0, "store_open: %d %s", rc, err.msg);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a run did (the log's counts for information only: store.h
 * promises none of them). */
static void report(const char *name, const struct run *x, double t0)
{
    struct store_wal_stats ws = {0};
    if (x->s != NULL)
        store_wal_stats(x->s, &ws);
    printf("%s seed %llu: %u ops, %u plans, %u commits, %u aborts, %u map full (%u in a "
           "commit), %u grows, %llu checkpoints (%llu on the writer), %.2f s\n",
           name, (unsigned long long)x->seed, x->ops, x->plans, x->commits, x->aborts, x->map_full,
           x->map_full_commit, x->grows, (unsigned long long)ws.checkpoints_async,
           (unsigned long long)ws.checkpoints_sync, now_s() - t0);
}

/* ---- 1. Random transactions, durable and not ------------------------------------------------ */

static const uint64_t seeds_main[] = {1, 2, 3, 20261207, 0xdeadbeef};

static void random_transactions(struct fx *f, bool durable, const char *name)
{
    uint64_t seeds[8];
    size_t ns = seeds_of(seeds_main, sizeof seeds_main / sizeof seeds_main[0], seeds);
    struct opts o = {.durable = durable, .plan_ops = 30};
    for (size_t i = 0; i < ns; i++) {
        double t0 = now_s();
        fx_fresh(f);
        struct store s;
        struct store_config c = cfg_of(f, durable);
        open_store(&s, &c);
        struct run *x = malloc(sizeof *x);
        run_init(x, &s, &o, seeds[i]);
        workload(x, 3000);
        assert_true(x->commits > 10 && x->aborts > 0);
        report(name, x, t0);
        store_close(&s);
        free(x);
    }
}

static void random_transactions_durable(void **state)
{
    random_transactions(*state, true, "durable");
}

static void random_transactions_not_durable(void **state)
{
    random_transactions(*state, false, "not durable");
}

/* ---- 2. Own readers keep their snapshot ----------------------------------------------------- */

static void own_readers_keep_their_snapshot(void **state)
{
    struct fx *f = *state;
    uint64_t seeds[8];
    static const uint64_t fixed[] = {7, 8, 9};
    size_t ns = seeds_of(fixed, sizeof fixed / sizeof fixed[0], seeds);
    struct opts o = {.durable = true, .own_check = true, .plan_ops = 20};
    for (size_t i = 0; i < ns; i++) {
        double t0 = now_s();
        fx_fresh(f);
        struct store s;
        struct store_config c = cfg_of(f, true);
        open_store(&s, &c);
        struct run *x = malloc(sizeof *x);
        struct own_reader *own = calloc(READERS_OWN, sizeof *own);
        run_init(x, &s, &o, seeds[i]);
        x->own = own;
        workload(x, 2000);
        own_close_all(x);
        assert_true(x->commits > 10);
        report("own readers", x, t0);
        store_close(&s);
        free(own);
        free(x);
    }
}

/* ---- 3. Readers on other threads beside the writer ------------------------------------------ */

#define HIST 401 /* commits (and the empty state before them) */
#define CONC_S 3.0

struct conc {
    struct store *s;
    struct mstate *hist;        /* hist[n]: the state after commit n */
    _Atomic uint32_t published; /* hist[0..published] are written */
    _Atomic bool done;
};

struct reader {
    struct conc *c;
    int id;
    uint64_t seed;
    unsigned reads, states;
};

/* Which commit a read transaction sees: its "seq" (0: none yet). */
static bool read_seq(struct store_txn *t, uint32_t *n)
{
    MDB_val v;
    *n = 0;
    if (!store_get(t, STORE_DB_META, "seq", 3, &v))
        return t->ret == 0 || whyf("get seq: %d", t->ret);
    if (v.mv_size != 8)
        return whyf("seq: %zu bytes", v.mv_size);
    const uint8_t *b = v.mv_data;
    uint32_t tag = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if ((tag & SEQ_TAG) == 0 || (tag & ~SEQ_TAG) == 0 || (tag & ~SEQ_TAG) >= HIST)
        return whyf("seq: tag %x", tag);
    *n = tag & ~SEQ_TAG;
    return true;
}

/* One read: the commit it sees by its seq, then some or all of the
 * state, all of which must be that commit's. */
static bool reader_once(struct reader *rd, struct rng *r, uint32_t *seen)
{
    struct store_txn t;
    if (store_read_begin_own(rd->c->s, &t) != 0)
        return whyf("store_read_begin_own: %d", t.ret);
    uint32_t n;
    bool ok = read_seq(&t, &n);
    if (ok && n < *seen)
        ok = whyf("saw commit %u after commit %u", n, *seen);
    /* Commit n returned before the writer published it: wait for it. */
    while (ok && atomic_load_explicit(&rd->c->published, memory_order_acquire) < n)
        sched_yield();
    const struct mstate *m = &rd->c->hist[n];
    if (ok && rnd(r, 4) == 0) {
        ok = check_all(&t, m);
    } else {
        for (int i = 0; ok && i < 8; i++) {
            int d = (int)rnd(r, NDB);
            size_t k = rnd(r, (uint32_t)nkeys);
            ok = check_get(&t, m, d, k) &&
                 check_scan(&t, m, d, keys[k].b, rnd(r, (uint32_t)keys[k].len + 1), 0) &&
                 check_scan_from(&t, m, d, keys[k].b, keys[k].len, 0);
        }
    }
    uint32_t again;
    if (ok && read_seq(&t, &again) && again != n)
        ok = whyf("seq %u, then %u in the same transaction", n, again);
    store_read_end(&t);
    if (!ok)
        why_in("reader %d, commit %u", rd->id, n);
    rd->states += ok && n != *seen;
    *seen = n;
    return ok;
}

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    struct rng r = rng_of(rd->seed);
    uint32_t seen = 0;
    while (!atomic_load(&rd->c->done)) {
        if (!reader_once(rd, &r, &seen)) {
            fprintf(stderr, "store model: %s (reader seed %llu)\n", why,
                    (unsigned long long)rd->seed);
            abort();
        }
        rd->reads++;
        /* store_sync may run on another thread beside the writer. */
        if (rd->id == 0 && rd->reads % 16 == 0 && store_sync(rd->c->s) != 0) {
            fprintf(stderr, "store model: store_sync on a reader's thread failed\n");
            abort();
        }
    }
    return NULL;
}

static void readers_beside_the_writer(void **state)
{
    struct fx *f = *state;
    uint64_t seeds[8];
    static const uint64_t fixed[] = {11};
    assert_int_equal(seeds_of(fixed, 1, seeds), 1);
    keys_init();
    fx_fresh(f);
    struct store s;
    struct store_config cfg = cfg_of(f, true);
    open_store(&s, &cfg);
    struct conc c = {.s = &s, .hist = calloc(HIST, sizeof(struct mstate))};
    assert_non_null(c.hist);
    struct opts o = {.durable = true, .plan_ops = 12};
    struct run *x = malloc(sizeof *x);
    run_init(x, &s, &o, seeds[0]);
    fail_abort = true;
    struct reader rd[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        rd[i] = (struct reader){.c = &c, .id = i, .seed = seeds[0] * 100 + (uint64_t)i};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    double t0 = now_s();
    struct op plan[PLAN_MAX + 1];
    while (x->commits + 1 < HIST && now_s() - t0 < CONC_S) {
        size_t n = plan_gen(&x->r, &o, &x->tag, plan);
        /* Before the outermost end: "seq" names the commit. */
        plan[n] = plan[n - 1];
        plan[n - 1] = (struct op){.kind = OP_PUT,
                                  .d = 0,
                                  .k = (uint16_t)key_seq,
                                  .a = SEQ_TAG | (x->commits + 1),
                                  .b = 8};
        unsigned before = x->commits;
        run_plan(x, plan, n + 1);
        if (x->commits != before) {
            c.hist[x->commits] = x->S;
            atomic_store_explicit(&c.published, x->commits, memory_order_release);
        }
        if (rnd(&x->r, 2) == 0) /* time for the readers and the checkpoints */
            usleep(rnd(&x->r, 6000));
    }
    atomic_store(&c.done, true);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    fail_abort = false;
    report("threads", x, t0);
    for (int i = 0; i < 2; i++) {
        printf("reader %d: %u reads, %u states\n", i, rd[i].reads, rd[i].states);
        assert_true(rd[i].reads > 0);
    }
    assert_true(x->commits > 10);
    store_close(&s);
    free(x);
    free(c.hist);
}

/* ---- 4. Reopen, and a crash ----------------------------------------------------------------- */

static void reopen_keeps_everything(void **state)
{
    struct fx *f = *state;
    uint64_t seeds[8];
    static const uint64_t fixed[] = {21, 22};
    size_t ns = seeds_of(fixed, sizeof fixed / sizeof fixed[0], seeds);
    for (size_t i = 0; i < ns; i++) {
        for (int durable = 0; durable < 2; durable++) {
            double t0 = now_s();
            fx_fresh(f);
            struct opts o = {.durable = durable, .plan_ops = 30};
            struct store s;
            struct store_config c = cfg_of(f, durable);
            open_store(&s, &c);
            struct run *x = malloc(sizeof *x);
            run_init(x, &s, &o, seeds[i]);
            for (int round = 0; round < 3; round++) {
                workload(x, 800);
                store_close(&s);
                open_store(&s, &c);
                snprintf(where, sizeof where, "seed %llu, reopen %d", (unsigned long long)x->seed,
                         round);
                check_read(x);
            }
            report(durable ? "reopen durable" : "reopen not durable", x, t0);
            store_close(&s);
            free(x);
        }
    }
}

/* The child: the workload, each commit synced, then a write transaction
 * left open with writes in it; the model goes to a file; no close. */
static void crash_child(struct fx *f, struct run *x)
{
    in_child = true;
    struct store s;
    struct store_config c = cfg_of(f, true);
    open_store(&s, &c);
    x->s = &s;
    workload(x, 600);
    FILE *out = fopen(f->model, "wb");
    if (out == NULL || fwrite(&x->S, sizeof x->S, 1, out) != 1 || fclose(out) != 0)
        _exit(8);
    struct store_txn t;
    if (store_write_begin(&s, NULL, &t) != 0)
        _exit(7);
    for (size_t k = 0; k < nkeys; k++)
        store_put(&t, dbs[k % NDB], keys[k].b, keys[k].len, "torn", 4);
    _exit(0);
}

static void a_crash_keeps_every_synced_commit(void **state)
{
    struct fx *f = *state;
    uint64_t seeds[8];
    static const uint64_t fixed[] = {31, 32};
    size_t ns = seeds_of(fixed, sizeof fixed / sizeof fixed[0], seeds);
    struct opts o = {.durable = true, .sync_each = true, .plan_ops = 30};
    for (size_t i = 0; i < ns; i++) {
        double t0 = now_s();
        fx_fresh(f);
        struct run *x = malloc(sizeof *x);
        run_init(x, NULL, &o, seeds[i]);
        for (int round = 0; round < 3; round++) {
            /* The child goes on from the model the parent holds. */
            x->seed = seeds[i] * 10 + (uint64_t)round;
            x->r = rng_of(x->seed);
            x->tag = 1 + (uint32_t)round * 1000000u; /* values unlike the last round's */
            pid_t pid = fork();
            assert_true(pid >= 0);
            if (pid == 0)
                crash_child(f, x);
            int status = 0;
            assert_int_equal(waitpid(pid, &status, 0), pid);
            EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                   "the child (seed %llu) ended with status %x", (unsigned long long)x->seed,
                   status);
            FILE *in = fopen(f->model, "rb");
            assert_non_null(in);
            assert_int_equal(fread(&x->S, sizeof x->S, 1, in), 1);
            fclose(in);
            struct store s;
            struct store_config c = cfg_of(f, true);
            open_store(&s, &c);
            x->s = &s;
            snprintf(where, sizeof where, "seed %llu, after the crash",
                     (unsigned long long)x->seed);
            check_read(x);
            store_close(&s);
            x->s = NULL;
        }
        report("crash (the parent's checks)", x, t0);
        free(x);
    }
}

/* ---- 5. A map that fills -------------------------------------------------------------------- */

static void a_full_map_grows_and_keeps_everything(void **state)
{
    struct fx *f = *state;
    uint64_t seeds[8];
    static const uint64_t fixed[] = {41, 42};
    size_t ns = seeds_of(fixed, sizeof fixed / sizeof fixed[0], seeds);
    struct opts o = {.durable = true, .big = true, .may_grow = true, .plan_ops = 16};
    for (size_t i = 0; i < ns; i++) {
        double t0 = now_s();
        fx_fresh(f);
        struct store s;
        struct store_config c = cfg_of(f, true);
        c.map_size_initial = STORE_MAP_MIN;
        c.map_size_max = 64ull << 20;
        open_store(&s, &c);
        struct run *x = malloc(sizeof *x);
        run_init(x, &s, &o, seeds[i]);
        uint64_t bytes_max = 0;
        for (int round = 0; round < 3; round++) {
            workload(x, 500);
            uint64_t b = model_bytes(&x->S);
            bytes_max = b > bytes_max ? b : bytes_max;
            store_close(&s);
            open_store(&s, &c); /* the same small initial map, and the file is larger */
            snprintf(where, sizeof where, "seed %llu, reopen %d", (unsigned long long)x->seed,
                     round);
            check_read(x);
        }
        /* The test's own premise: the map had to grow. */
        assert_true(x->grows > 0);
        report("full map", x, t0);
        printf("full map: %llu bytes of keys and values at most, map %llu at the end\n",
               (unsigned long long)bytes_max, (unsigned long long)s.map_size);
        store_close(&s);
        free(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(random_transactions_durable, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(random_transactions_not_durable, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(own_readers_keep_their_snapshot, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(readers_beside_the_writer, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reopen_keeps_everything, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_crash_keeps_every_synced_commit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_full_map_grows_and_keeps_everything, fx_setup,
                                        fx_teardown),
    };
    /* SANHE_TEST_FILTER=name runs the tests that match it alone (cmocka's pattern). */
    const char *only = getenv("SANHE_TEST_FILTER");
    if (only != NULL && only[0] != '\0')
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
