/*
 * bench-ledger: sanhe's write path alone, in process: settles applied and
 * committed durably through the ledger (engine/ledger, the code the server's
 * writer thread runs), in batches of a fixed size, with no network. The
 * counterpart of bench-lmdb-commit (raw LMDB, the same write pattern): the
 * difference is what the ledger itself costs per settle.
 *
 *   bench-ledger --policy FILE [--persons N] [--batch B[,B...]] [--settles N]
 *                [--dir DIR] [--json FILE]
 *
 * Makes the loadgen's built-in dataset (N persons, default 10000; six
 * hospitals; 300 items) in a fresh store under DIR (default /tmp), then per
 * batch size B runs --settles settles (default 20000) in batches of B and
 * prints, per settle, the wall time and this process's CPU time, and the
 * commit latency percentiles of one batch (begin to durable commit). Claims
 * are drawn as sanhe-loadgen draws them (outpatient 1-5 lines, chronic 2-8,
 * inpatient 10-40; random persons, items and quantities), from a fixed seed.
 * Every reply must be a settlement: any refusal is counted and printed, and
 * makes the exit status 1.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "lg_util.h"
#include "ledger.h"
#include "sh_json_load.h"

#define BATCHES_MAX 16
#define BATCH_MAX 4096
#define SETTLES_MAX 1000000L
#define LINES_MAX 40

struct options {
    const char *policy, *dir, *json;
    long persons, settles;
    long batches[BATCHES_MAX];
    size_t n_batches;
};

/* One claim's request, with the storage its pointers point into. */
struct claim_buf {
    Sanhe__Request req;
    Sanhe__SettleRequest settle;
    Sanhe__Claim claim;
    Sanhe__Line lines[LINES_MAX];
    Sanhe__Line *line_ptrs[LINES_MAX];
    char rid[32], person[SH_PERSON_ID_LEN + 1];
    struct sh_caller caller;
};

/* The loadgen's generator, from a fixed seed: the same claims every run. */
static uint64_t rng_state = 1;

static long rng_range(long lo, long hi)
{
    return lo + (long)lg_rng_below(&rng_state, (uint64_t)(hi - lo + 1));
}

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void claim_fill(struct claim_buf *c, const struct lg_catalog *cat, long persons, long seq)
{
    Sanhe__Request r = SANHE__REQUEST__INIT;
    Sanhe__SettleRequest s = SANHE__SETTLE_REQUEST__INIT;
    Sanhe__Claim cl = SANHE__CLAIM__INIT;
    c->req = r;
    c->settle = s;
    c->claim = cl;
    long kind = rng_range(0, 99);
    long n = kind < 60 ? rng_range(1, 5) : kind < 70 ? rng_range(2, 8) : rng_range(10, 40);
    const char *hospital = lg_bench_hospitals[lg_rng_below(&rng_state, LG_BENCH_HOSPITALS)].code;
    lg_person_id((uint64_t)rng_range(0, persons - 1), c->person);
    snprintf(c->rid, sizeof c->rid, "bl-%ld", seq);
    for (long i = 0; i < n; i++) {
        const struct lg_item *item = &cat->items[lg_rng_below(&rng_state, cat->n)];
        Sanhe__Line l = SANHE__LINE__INIT;
        long qty = rng_range(1, 10);
        l.code = (char *)item->code;
        l.has_qty_milli = l.has_amount = true;
        l.qty_milli = qty * 1000;
        l.amount = qty * item->unit_price;
        c->lines[i] = l;
        c->line_ptrs[i] = &c->lines[i];
    }
    c->claim.hospital = (char *)hospital;
    c->claim.person = c->person;
    c->claim.visit = kind < 60 ? "outpatient" : kind < 70 ? "chronic" : "inpatient";
    c->claim.date = "2026-06-15";
    c->claim.n_lines = (size_t)n;
    c->claim.lines = c->line_ptrs;
    c->settle.claim = &c->claim;
    c->req.request_id = c->rid;
    c->req.op_case = SANHE__REQUEST__OP_SETTLE;
    c->req.settle = &c->settle;
    memset(&c->caller, 0, sizeof c->caller);
    snprintf(c->caller.terminal, sizeof c->caller.terminal, "bench");
    snprintf(c->caller.hospital, sizeof c->caller.hospital, "%s", hospital);
    c->caller.role = SH_ROLE_COUNTER;
}

/* 0 when the packed Response is a success, else its error code. */
static int reply_code(const struct sh_reply *reply)
{
    Sanhe__Response *r = sanhe__response__unpack(NULL, reply->len, reply->data);
    if (r == NULL)
        return SH_E_INTERNAL;
    int code = r->error != NULL ? -(int)r->error->code : 0;
    sanhe__response__free_unpacked(r, NULL);
    return code;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct result {
    long batch, settles, refused;
    double wall_us, cpu_us;        /* per settle */
    double p50_us, p99_us, max_us; /* one batch, begin to durable commit */
};

static int run_batches(struct ledger *ledger, const struct lg_catalog *cat, const struct options *o,
                       long bsize, struct result *res)
{
    static struct claim_buf claims[BATCH_MAX];
    static long seq;
    long nbatches = o->settles / bsize > 0 ? o->settles / bsize : 1;
    double *lat = calloc((size_t)nbatches, sizeof *lat);
    if (lat == NULL)
        return -1;
    memset(res, 0, sizeof *res);
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (long b = 0; b < nbatches; b++) {
        for (long i = 0; i < bsize; i++)
            claim_fill(&claims[i], cat, o->persons, seq++);
        double t0 = now_s(CLOCK_MONOTONIC);
        struct ledger_batch *batch = NULL;
        int rc = ledger_batch_begin(ledger, 1781496000000 /* 2026-06-15 */, &batch);
        for (long i = 0; i < bsize && rc == 0; i++) {
            struct sh_reply reply = {0};
            rc = ledger_batch_apply(batch, &claims[i].caller, &claims[i].req, &reply);
            int code = rc == 0 ? reply_code(&reply) : rc;
            if (code != 0 && res->refused++ < 5)
                fprintf(stderr, "bench-ledger: %s refused: %s\n", claims[i].rid,
                        sh_error_name(code));
            free(reply.data);
        }
        rc = rc == 0 ? ledger_batch_commit(batch) : (ledger_batch_abort(batch), rc);
        if (rc != 0) {
            fprintf(stderr, "bench-ledger: batch failed: %s\n", sh_error_name(rc));
            free(lat);
            return -1;
        }
        lat[b] = (now_s(CLOCK_MONOTONIC) - t0) * 1e6;
    }
    double n = (double)(nbatches * bsize);
    res->batch = bsize;
    res->settles = nbatches * bsize;
    res->wall_us = (now_s(CLOCK_MONOTONIC) - w0) * 1e6 / n;
    res->cpu_us = (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e6 / n;
    qsort(lat, (size_t)nbatches, sizeof *lat, cmp_double);
    res->p50_us = lat[nbatches / 2];
    res->p99_us = lat[(nbatches * 99) / 100];
    res->max_us = lat[nbatches - 1];
    free(lat);
    return 0;
}

static int load_dataset(struct ledger *ledger, const struct options *o, const char *dir)
{
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/dataset.json", dir);
    if (lg_dataset_make((size_t)o->persons, o->policy, path, err, sizeof err) != 0) {
        fprintf(stderr, "bench-ledger: dataset: %s\n", err);
        return -1;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    unlink(path);
    if (doc == NULL) {
        fprintf(stderr, "bench-ledger: %s: %s\n", path, jerr.text);
        return -1;
    }
    Sanhe__LoadRequest load;
    struct sh_error serr = {0};
    int rc = sh_json_to_load(doc, &load, &serr);
    json_decref(doc);
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "bench-load";
    req.op_case = SANHE__REQUEST__OP_LOAD;
    req.load = &load;
    struct sh_caller admin = {.terminal = "bench-admin", .role = SH_ROLE_ADMIN};
    struct sh_reply reply = {0};
    if (rc == 0)
        rc = ledger_handle(ledger, &admin, &req, 1781496000000, &reply);
    if (rc == 0)
        rc = reply_code(&reply);
    free(reply.data);
    sh_json_load_free(&load);
    if (rc != 0)
        fprintf(stderr, "bench-ledger: load: %s %s\n", sh_error_name(rc), serr.msg);
    return rc;
}

static void print_result(const struct result *r, json_t *runs, const struct options *o)
{
    printf("%6ld %9ld %10.1f %10.1f %12.0f %10.0f %10.0f %8ld\n", r->batch, r->settles, r->wall_us,
           r->cpu_us, 1e6 / r->wall_us, r->p50_us, r->p99_us, r->refused);
    json_array_append_new(
        runs, json_pack("{s:s, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:I}", "kind",
                        "ledger_commit", "persons", (json_int_t)o->persons, "batch",
                        (json_int_t)r->batch, "settles", (json_int_t)r->settles, "achieved_per_s",
                        1e6 / r->wall_us, "wall_us_per_settle", r->wall_us, "cpu_us_per_settle",
                        r->cpu_us, "p50_us", r->p50_us, "p99_us", r->p99_us, "max_us", r->max_us,
                        "errors", (json_int_t)r->refused));
}

/* --persons and the like: a whole decimal number in [lo, hi]. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    uint64_t v;
    if (!lg_parse_u64(s, (uint64_t)lo, (uint64_t)hi, &v))
        return -1;
    *out = (long)v;
    return 0;
}

/* --batch 1,8,32: each item a whole number in [1, BATCH_MAX]. */
static int parse_batches(const char *s, struct options *o)
{
    o->n_batches = 0;
    while (*s != '\0') {
        char item[24];
        size_t len = strcspn(s, ",");
        if (o->n_batches == BATCHES_MAX || len >= sizeof item)
            return -1;
        memcpy(item, s, len);
        item[len] = '\0';
        if (parse_long(item, 1, BATCH_MAX, &o->batches[o->n_batches++]) != 0)
            return -1;
        s += len + (s[len] == ',');
    }
    return o->n_batches > 0 ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    *o = (struct options){.dir = "/tmp",
                          .persons = 10000,
                          .settles = 20000,
                          .batches = {1, 8, 32, 128, 512},
                          .n_batches = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = v == NULL;
        if (!bad && strcmp(a, "--policy") == 0)
            o->policy = v;
        else if (!bad && strcmp(a, "--dir") == 0)
            o->dir = v;
        else if (!bad && strcmp(a, "--json") == 0)
            o->json = v;
        else if (!bad && strcmp(a, "--persons") == 0)
            bad = parse_long(v, 100, (long)LG_PERSONS_MAX, &o->persons);
        else if (!bad && strcmp(a, "--settles") == 0)
            bad = parse_long(v, 1, SETTLES_MAX, &o->settles);
        else if (!bad && strcmp(a, "--batch") == 0)
            bad = parse_batches(v, o);
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "usage: bench-ledger --policy FILE [--persons N] [--batch B,...] "
                            "[--settles N] [--dir DIR] [--json FILE]\n");
            return -1;
        }
        i++;
    }
    return o->policy != NULL ? 0 : (fprintf(stderr, "bench-ledger: --policy is needed\n"), -1);
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bench-ledger-XXXXXX", o.dir);
    if (mkdtemp(dir) == NULL) {
        perror("bench-ledger: mkdtemp");
        return 2;
    }
    struct ledger_config cfg = {
        .dir = dir, .map_size_initial = 1ull << 30, .durable = true, .utc_offset_min = 480};
    struct ledger *ledger = NULL;
    struct sh_error err = {0};
    struct lg_catalog cat = {0};
    int rc = ledger_open(&cfg, &ledger, &err) == 0 ? 0 : 1;
    if (rc == 0)
        rc = load_dataset(ledger, &o, dir) == 0 && lg_catalog_builtin(&cat) == 0 ? 0 : 1;
    json_t *runs = json_array();
    if (rc == 0)
        printf(
            " batch   settles    wall_us     cpu_us   settles/s  commit_p50 commit_p99  refused\n");
    for (size_t i = 0; i < o.n_batches && rc == 0; i++) {
        struct result r;
        rc = run_batches(ledger, &cat, &o, o.batches[i], &r) == 0 ? 0 : 1;
        if (rc == 0) {
            print_result(&r, runs, &o);
            rc = r.refused > 0;
        }
    }
    if (o.json != NULL && json_dump_file(runs, o.json, JSON_INDENT(1)) != 0)
        rc = 1;
    json_decref(runs);
    lg_catalog_free(&cat);
    ledger_close(ledger);
    char cmd[600]; /* the store is a scratch one: remove its two files and the folder */
    _Static_assert(sizeof cmd > sizeof dir + 16, "room for a file name");
    snprintf(cmd, sizeof cmd, "%s/data.mdb", dir);
    unlink(cmd);
    snprintf(cmd, sizeof cmd, "%s/lock.mdb", dir);
    unlink(cmd);
    rmdir(dir);
    if (err.code != 0)
        fprintf(stderr, "bench-ledger: %s\n", err.msg);
    return rc;
}
