/*
 * bench-lmdb-commit: the storage ceiling of bench/run.sh. Plain LMDB (no
 * sanhe code), durable commits (no MDB_NOSYNC), the write pattern of one
 * settle, B settles per write transaction:
 *
 *   settlements   8-byte sequential key            -> 700 bytes
 *   journal       day (4) + sequence (8)           -> 200 bytes
 *   request log   8-byte sequential key            -> 500 bytes (idempotency)
 *   accumulators  person (8) + year (2) + fund (1) -> 24 bytes, read-modify-write,
 *                 x3 (three funds) for a random person among P
 *   meta          "next_settlement"                -> 8 bytes
 * and, as the engine does (engine/ledger/index_flush.h), every 2048th
 * settle writes the two hospital-keyed indexes of the last 2048 at once:
 *   day index     day (4) + hospital (2) + seq (8) -> 0 bytes
 *   requests      hospital (2) + request id (8)    -> 8 bytes (the log's key)
 * for 114 hospitals (the counter terminals of bench/run.sh).
 *
 * Accumulators are preloaded (MDB_APPEND) for min(P, 1,000,000) persons
 * spread evenly over [0, P): a sparse key space, so the tree has the size
 * of a large roster's without the minutes 3 x 10M records would take; a
 * person not preloaded gets records on first touch, as a settle's first
 * claim of a year does in the engine.
 *
 *   bench-lmdb-commit --dir DIR --persons P [--batches 1,8,...] [--seconds S]
 *                     [--json FILE]
 *
 * For each B: transactions of B settles for S seconds; per B, writes per
 * second and the latency of a whole transaction (begin to durable commit),
 * as a JSON array of objects of kind "lmdb_commit".
 */
#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define BATCHES_MAX 16
#define PRELOAD_MAX 1000000ull
#define FUNDS 3
#define DAY 20260615u
#define HOSPITALS 114  /* bench/run.sh's counter terminals */
#define INDEX_LAG 2048 /* as engine/ledger/index_flush.h's INDEX_LAG_FLUSH */

struct opts {
    const char *dir, *json;
    uint64_t persons;
    uint32_t batches[BATCHES_MAX];
    int batch_count;
    double seconds;
};

struct bench {
    MDB_env *env;
    MDB_dbi settlements, journal, reqlog, dayidx, requests, accs, meta;
    uint64_t seq, rng;
    uint64_t persons;
    uint8_t settlement[700], entry[200], record[500];
};

struct lat {
    double *us; /* one per commit */
    size_t len, cap;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: picks persons and makes the request keys random-ish. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "bench-lmdb-commit: %s: %s\n", what, mdb_strerror(rc));
    return -1;
}

/* ---- One settle's writes ----------------------------------------------------------- */

static int put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl,
               unsigned flags)
{
    MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
    return mdb_put(txn, dbi, &key, &val, flags);
}

static int acc_update(struct bench *b, MDB_txn *txn, uint64_t person, int fund)
{
    uint8_t k[11];
    put_be(k, person, 8);
    put_be(k + 8, 2026, 2);
    k[10] = (uint8_t)fund;
    int64_t v[3] = {0, 0, 0};
    MDB_val key = {sizeof k, k}, old;
    int rc = mdb_get(txn, b->accs, &key, &old);
    if (rc == 0 && old.mv_size == sizeof v)
        memcpy(v, old.mv_data, sizeof v);
    else if (rc != MDB_NOTFOUND && rc != 0)
        return rc;
    v[0] += 1234;
    v[1] += 2345;
    v[2] += 1;
    return put(txn, b->accs, k, sizeof k, v, sizeof v, 0);
}

/* The two hospital-keyed indexes of settles from .. seq - 1. */
static int index_flush(struct bench *b, MDB_txn *txn, uint64_t from, uint64_t seq)
{
    int rc = 0;
    for (uint64_t s = from; s < seq && rc == 0; s++) {
        uint8_t k8[8], kd[14], kr[10];
        put_be(k8, s, 8);
        put_be(kd, DAY, 4);
        put_be(kd + 4, s % HOSPITALS, 2);
        put_be(kd + 6, s, 8);
        put_be(kr, s % HOSPITALS, 2);
        put_be(kr + 2, s / HOSPITALS, 8); /* each terminal's ids rise */
        rc = put(txn, b->dayidx, kd, sizeof kd, "", 0, 0);
        if (rc == 0)
            rc = put(txn, b->requests, kr, sizeof kr, k8, sizeof k8, 0);
    }
    return rc;
}

static int settle_records(struct bench *b, MDB_txn *txn, uint64_t seq)
{
    uint8_t k8[8], kj[12];
    put_be(k8, seq, 8);
    put_be(kj, DAY, 4);
    put_be(kj + 4, seq, 8);
    memcpy(b->settlement, k8, sizeof k8); /* every value differs a little */
    int rc = put(txn, b->settlements, k8, 8, b->settlement, sizeof b->settlement, MDB_APPEND);
    if (rc == 0)
        rc = put(txn, b->journal, kj, sizeof kj, b->entry, sizeof b->entry, MDB_APPEND);
    if (rc == 0)
        rc = put(txn, b->reqlog, k8, 8, b->record, sizeof b->record, MDB_APPEND);
    if (rc == 0 && seq % INDEX_LAG == 0)
        rc = index_flush(b, txn, seq - INDEX_LAG + 1, seq + 1);
    return rc;
}

static int settle(struct bench *b, MDB_txn *txn)
{
    uint64_t seq = ++b->seq;
    int rc = settle_records(b, txn, seq);
    uint64_t person = mix64(b->rng++) % b->persons;
    for (int f = 0; f < FUNDS && rc == 0; f++)
        rc = acc_update(b, txn, person, f);
    uint8_t next[8];
    put_be(next, seq + 1, 8);
    return rc == 0 ? put(txn, b->meta, "next_settlement", 15, next, sizeof next, 0) : rc;
}

/* ---- The environment and the preload ----------------------------------------------- */

static int open_dbs(struct bench *b)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(b->env, NULL, 0, &txn);
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {{"settlements", &b->settlements},
               {"journal", &b->journal},
               {"request_log", &b->reqlog},
               {"day_index", &b->dayidx},
               {"requests", &b->requests},
               {"accumulators", &b->accs},
               {"meta", &b->meta}};
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0] && rc == 0; i++)
        rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi);
    return rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
}

static int env_open(struct bench *b, const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench-lmdb-commit: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = mdb_env_create(&b->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(b->env, 8);
    if (rc == 0)
        rc = mdb_env_set_mapsize(b->env, (size_t)64 << 30); /* sparse: only what is written */
    if (rc == 0)
        rc = mdb_env_open(b->env, dir, 0, 0600); /* durable: every commit is synced */
    if (rc == 0)
        rc = open_dbs(b);
    return rc == 0 ? 0 : fail("open", rc);
}

/* In key order, so MDB_APPEND applies: every (P / preloaded)-th person. */
static int preload(struct bench *b, uint64_t *count)
{
    uint64_t n = b->persons < PRELOAD_MAX ? b->persons : PRELOAD_MAX;
    uint64_t step = b->persons / n;
    MDB_txn *txn;
    int rc = mdb_txn_begin(b->env, NULL, 0, &txn);
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        for (int f = 0; f < FUNDS && rc == 0; f++) {
            uint8_t k[11];
            int64_t v[3] = {(int64_t)i, 0, 0};
            put_be(k, i * step, 8);
            put_be(k + 8, 2026, 2);
            k[10] = (uint8_t)f;
            rc = put(txn, b->accs, k, sizeof k, v, sizeof v, MDB_APPEND);
        }
    }
    rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    *count = n;
    return rc == 0 ? 0 : fail("preload", rc);
}

/* ---- Measuring ------------------------------------------------------------------------ */

static int lat_add(struct lat *l, double us)
{
    if (l->len == l->cap) {
        size_t cap = l->cap > 0 ? l->cap * 2 : 4096;
        double *p = realloc(l->us, cap * sizeof *p);
        if (p == NULL)
            return -1;
        l->us = p;
        l->cap = cap;
    }
    l->us[l->len++] = us;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank, one decimal. */
static json_t *pct(const struct lat *l, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)l->len + 0.999999);
    i = i == 0 ? 0 : i - 1;
    i = i < l->len ? i : l->len - 1;
    return json_real((double)(int64_t)(l->us[i] * 10.0 + 0.5) / 10.0);
}

static int one_txn(struct bench *b, uint32_t batch, struct lat *l)
{
    double t0 = now_s();
    MDB_txn *txn;
    int rc = mdb_txn_begin(b->env, NULL, 0, &txn);
    for (uint32_t i = 0; i < batch && rc == 0; i++)
        rc = settle(b, txn);
    rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    if (rc != 0)
        return fail("commit", rc);
    return lat_add(l, (now_s() - t0) * 1e6);
}

static json_t *run_batch(struct bench *b, const struct opts *o, uint32_t batch, uint64_t preloaded)
{
    struct lat l = {0};
    double t0 = now_s(), end = t0 + o->seconds;
    while (now_s() < end)
        if (one_txn(b, batch, &l) != 0) {
            free(l.us);
            return NULL;
        }
    double elapsed = now_s() - t0;
    qsort(l.us, l.len, sizeof *l.us, cmp_double);
    double writes = (double)l.len * batch;
    json_t *res = json_pack(
        "{s:s, s:{s:i}, s:I, s:I, s:i, s:i, s:n, s:f, s:o, s:o, s:o, s:o, s:o, s:{}, s:i, s:I, "
        "s:f}",
        "kind", "lmdb_commit", "op_mix", "settle", 100, "persons", (json_int_t)o->persons,
        "preloaded_persons", (json_int_t)preloaded, "connections", 0, "batch", (int)batch,
        "offered_per_s", "achieved_per_s", (double)(int64_t)(writes / elapsed * 10.0) / 10.0,
        "p50_us", pct(&l, 50), "p90_us", pct(&l, 90), "p99_us", pct(&l, 99), "p999_us",
        pct(&l, 99.9), "max_us", pct(&l, 100), "errors", "errors_total", 0, "commits",
        (json_int_t)l.len, "seconds", elapsed);
    fprintf(stderr, "bench-lmdb-commit: P=%llu B=%u: %.0f writes/s, %zu commits, p50 %.0f us\n",
            (unsigned long long)o->persons, batch, writes / elapsed, l.len, l.us[l.len / 2]);
    free(l.us);
    return res;
}

/* ---- The command line ----------------------------------------------------------------- */

static int parse_batches(struct opts *o, char *spec)
{
    o->batch_count = 0;
    for (char *save = NULL, *t = strtok_r(spec, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        char *end;
        unsigned long v = strtoul(t, &end, 10);
        if (*end != '\0' || v == 0 || v > 100000 || o->batch_count == BATCHES_MAX)
            return -1;
        o->batches[o->batch_count++] = (uint32_t)v;
    }
    return o->batch_count > 0 ? 0 : -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static char dflt[] = "1,8,32,128,512,1024"; /* 1024: the engine's batch_max */
    *o = (struct opts){.persons = 10000, .seconds = 3.0};
    int rc = parse_batches(o, dflt);
    for (int i = 1; i < argc && rc == 0; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (v == NULL)
            rc = -1;
        else if (strcmp(a, "--dir") == 0)
            o->dir = v;
        else if (strcmp(a, "--json") == 0)
            o->json = v;
        else if (strcmp(a, "--batches") == 0)
            rc = parse_batches(o, argv[i + 1]); /* split in place */
        else if (strcmp(a, "--persons") == 0)
            rc = (o->persons = strtoull(v, &end, 10)) > 0 && *end == '\0' ? 0 : -1;
        else if (strcmp(a, "--seconds") == 0)
            rc = (o->seconds = strtod(v, &end)) > 0 && o->seconds <= 600 && *end == '\0' ? 0 : -1;
        else
            rc = -1;
    }
    if (rc != 0 || o->dir == NULL) {
        fprintf(stderr, "usage: bench-lmdb-commit --dir DIR --persons P [--batches 1,8,...] "
                        "[--seconds S] [--json FILE]\n");
        return -1;
    }
    return 0;
}

static int run_all(struct bench *b, const struct opts *o, json_t *runs)
{
    uint64_t preloaded;
    double t0 = now_s();
    if (preload(b, &preloaded) != 0)
        return -1;
    fprintf(stderr, "bench-lmdb-commit: preloaded %llu persons x %d accumulators in %.1f s\n",
            (unsigned long long)preloaded, FUNDS, now_s() - t0);
    for (int i = 0; i < o->batch_count; i++) {
        json_t *r = run_batch(b, o, o->batches[i], preloaded);
        if (r == NULL)
            return -1;
        json_array_append_new(runs, r);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    static struct bench b;
    b.persons = o.persons;
    b.rng = 1;
    for (size_t i = 0; i < sizeof b.settlement; i++)
        b.settlement[i] = (uint8_t)mix64(i);
    for (size_t i = 0; i < sizeof b.record; i++)
        b.record[i] = (uint8_t)mix64(i + 7);
    memcpy(b.entry, b.settlement + 300, sizeof b.entry);
    if (env_open(&b, o.dir) != 0)
        return 1;
    json_t *runs = json_array();
    int rc = run_all(&b, &o, runs);
    mdb_env_close(b.env);
    if (rc == 0 && o.json != NULL &&
        json_dump_file(runs, o.json, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0)
        rc = -1;
    if (rc == 0 && o.json == NULL)
        rc = json_dumpf(runs, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(runs);
    return rc == 0 ? 0 : 1;
}
