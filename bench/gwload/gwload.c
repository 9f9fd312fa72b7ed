/*
 * sanhe-gwload: 2207 settles through sanhe-gateway at an open-loop rate,
 * for bench/gateway.sh (the same claims as sanhe-loadgen sends the engine
 * directly: built-in persons and catalog, bench/loadgen/dataset.h).
 *
 *   sanhe-gwload --port P --ca CA --cert CRT --key KEY --hospital H
 *                --rate R --duration-s S [--warmup-s W] [--connections C]
 *                [--lines N] [--persons N] [--first K] [--label L] [--json OUT]
 *
 * First, not timed: each settle's visit is registered (2201) and its N lines
 * uploaded (2204), over C keep-alive HTTPS connections. Then the settles
 * (2207 over the same connections): settle i is due at start + i/R; a
 * connection takes the next one due, waits for its time, sends, and reads
 * the reply. Latency is from the due time (a late send counts against the
 * gateway, as sanhe-loadgen counts it), the first W seconds aside. Prints
 * one line and writes {label, rate, sent, ok, errors, achieved_rate,
 * p50_us, p90_us, p99_us, max_us, service_p50_us, service_p99_us} to OUT.
 * Loopback only; every call under a 10 s deadline.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataset.h"
#include "gw_client.h"

#define CONNS_MAX 64
#define CALL_TIMEOUT_MS 10000
#define SETTLES_MAX 200000
#define LINES_MAX 20

struct opts {
    int port, rate, duration_s, warmup_s, conns, lines;
    uint64_t persons, first;
    const char *ca, *cert, *key, *hospital, *label, *json;
};

struct visit {
    char mdtrt_id[40], psn[SH_PERSON_ID_LEN + 1];
    int64_t due_ns, sent_ns, done_ns;
    int ok;
};

static struct opts o = {.warmup_s = 2, .conns = 16, .lines = 3, .persons = 10000, .label = "gw"};
static struct visit *visits;
static size_t visit_count;
static atomic_size_t next_visit;
static atomic_ullong msg_seq;
static int64_t start_ns;
static struct lg_catalog catalog;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = {.tv_sec = t / 1000000000LL, .tv_nsec = t % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void msgid(char out[40])
{
    unsigned long long n = atomic_fetch_add(&msg_seq, 1);
    snprintf(out, 40, "%s%010llu%08llu", o.hospital, 2026061510ULL, n % 100000000ULL);
}

/* One call: 0 when the reply's infcode is 0 (its output kept in *out). */
static int call(struct gwc *c, const char *infno, json_t *input, json_t **out)
{
    char id[40], path[16];
    msgid(id);
    snprintf(path, sizeof path, "/%s", infno);
    json_t *env = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "infno", infno,
                            "msgid", id, "insuplc_admdvs", "330424", "infver", "V1.0", "opter_type",
                            "1", "inf_time", "2026-06-15 10:00:00", "fixmedins_code", o.hospital,
                            "fixmedins_name", o.hospital, "input", input);
    char *body = env != NULL ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (body == NULL)
        return -1;
    /* Amounts go as JSON numbers: json_dumps quoted the marked ones. */
    for (char *p = strstr(body, "\"#"); p != NULL; p = strstr(p, "\"#")) {
        char *end = strchr(p + 2, '"');
        if (end == NULL)
            break;
        memmove(p, p + 2, (size_t)(end - p - 2));
        memmove(end - 2, end + 1, strlen(end + 1) + 1);
        p = end - 2;
    }
    int status = 0;
    char *reply = NULL;
    int rc = gwc_post(c, path, body, &status, &reply, CALL_TIMEOUT_MS);
    free(body);
    json_t *doc = rc == 0 ? json_loads(reply, 0, NULL) : NULL;
    json_t *code = json_object_get(doc, "infcode");
    rc = json_is_integer(code) && json_integer_value(code) == 0 ? 0 : -1;
    if (rc != 0 && reply != NULL)
        fprintf(stderr, "sanhe-gwload: %s: %.300s\n", infno, reply);
    if (out != NULL && rc == 0)
        *out = json_incref(json_object_get(doc, "output"));
    json_decref(doc);
    free(reply);
    return rc;
}

static json_t *money(int64_t fen)
{
    char text[40];
    snprintf(text, sizeof text, "#%lld.%02lld", (long long)(fen / 100), (long long)(fen % 100));
    return json_string(text);
}

/* 2201 and 2204 for visit i: its mdtrt_id. */
static int prepare(struct gwc *c, size_t i, uint64_t *rng)
{
    struct visit *v = &visits[i];
    struct lg_persons all = {.ids = NULL, .n = o.persons, .gen_first = 0};
    lg_persons_at(&all, (o.first + i) % o.persons, v->psn);
    json_t *out = NULL;
    if (call(c, "2201",
             json_pack("{s:{s:s, s:s, s:s}}", "data", "psn_no", v->psn, "med_type", "11",
                       "begntime", "2026-06-15 10:00:00"),
             &out) != 0)
        return -1;
    const char *id = json_string_value(json_object_get(json_object_get(out, "data"), "mdtrt_id"));
    snprintf(v->mdtrt_id, sizeof v->mdtrt_id, "%s", id != NULL ? id : "");
    json_decref(out);
    json_t *rows = json_array();
    for (int k = 0; k < o.lines; k++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        const struct lg_item *it = &catalog.items[(*rng >> 33) % catalog.n];
        int64_t qty = 1 + (int64_t)((*rng >> 20) % 10);
        char sn[16], cnt[16];
        snprintf(sn, sizeof sn, "%d", k + 1);
        snprintf(cnt, sizeof cnt, "#%lld", (long long)qty);
        json_array_append_new(rows,
                              json_pack("{s:s, s:s, s:s, s:s, s:o}", "feedetl_sn", sn, "mdtrt_id",
                                        v->mdtrt_id, "med_list_codg", it->code, "cnt", cnt,
                                        "det_item_fee_sumamt", money(qty * it->unit_price)));
    }
    return call(c, "2204", json_pack("{s:o}", "feedetail", rows), NULL);
}

static struct gwc *open_conn(void)
{
    struct gwc *c = NULL;
    if (gwc_open(&c, o.port, o.ca, o.cert, o.key, CALL_TIMEOUT_MS) != 0)
        return NULL;
    return c;
}

static void *prepare_thread(void *arg)
{
    uint64_t rng = (uintptr_t)arg * 7919 + 1;
    struct gwc *c = open_conn();
    for (size_t i; c != NULL && (i = atomic_fetch_add(&next_visit, 1)) < visit_count;)
        visits[i].ok = prepare(c, i, &rng) == 0 ? 1 : -1;
    gwc_close(c);
    return NULL;
}

static void *settle_thread(void *arg)
{
    (void)arg;
    struct gwc *c = open_conn();
    for (size_t i; c != NULL && (i = atomic_fetch_add(&next_visit, 1)) < visit_count;) {
        struct visit *v = &visits[i];
        if (v->ok != 1)
            continue;
        sleep_until(v->due_ns);
        v->sent_ns = now_ns();
        int rc = call(
            c, "2207",
            json_pack("{s:{s:s, s:s}}", "data", "psn_no", v->psn, "mdtrt_id", v->mdtrt_id), NULL);
        v->done_ns = now_ns();
        v->ok = rc == 0 ? 2 : -2;
    }
    gwc_close(c);
    return NULL;
}

static int run(void *(*fn)(void *))
{
    pthread_t t[CONNS_MAX];
    atomic_store(&next_visit, 0);
    for (int i = 0; i < o.conns; i++)
        if (pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i) != 0)
            return -1;
    for (int i = 0; i < o.conns; i++)
        pthread_join(t[i], NULL);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(const int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[k] / 1000.0;
}

static int parse(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        long n = strtol(v, NULL, 10);
        if (strcmp(k, "--port") == 0)
            o.port = (int)n;
        else if (strcmp(k, "--rate") == 0)
            o.rate = (int)n;
        else if (strcmp(k, "--duration-s") == 0)
            o.duration_s = (int)n;
        else if (strcmp(k, "--warmup-s") == 0)
            o.warmup_s = (int)n;
        else if (strcmp(k, "--connections") == 0)
            o.conns = (int)n;
        else if (strcmp(k, "--lines") == 0)
            o.lines = (int)n;
        else if (strcmp(k, "--persons") == 0)
            o.persons = (uint64_t)n;
        else if (strcmp(k, "--first") == 0)
            o.first = (uint64_t)n;
        else if (strcmp(k, "--ca") == 0)
            o.ca = v;
        else if (strcmp(k, "--cert") == 0)
            o.cert = v;
        else if (strcmp(k, "--key") == 0)
            o.key = v;
        else if (strcmp(k, "--hospital") == 0)
            o.hospital = v;
        else if (strcmp(k, "--label") == 0)
            o.label = v;
        else if (strcmp(k, "--json") == 0)
            o.json = v;
        else
            return -1;
    }
    bool ok = o.port > 0 && o.ca && o.cert && o.key && o.hospital && o.rate > 0 &&
              o.rate <= 20000 && o.duration_s > 0 && o.duration_s <= 600 && o.conns > 0 &&
              o.conns <= CONNS_MAX && o.lines > 0 && o.lines <= LINES_MAX && o.persons > 0 &&
              o.warmup_s >= 0 && (size_t)o.rate * (size_t)o.duration_s <= SETTLES_MAX;
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (parse(argc, argv) != 0) {
        fprintf(stderr, "usage: see bench/gwload/gwload.c\n");
        return 2;
    }
    if (lg_catalog_builtin(&catalog) != 0)
        return 1;
    visit_count = (size_t)o.rate * (size_t)o.duration_s;
    visits = calloc(visit_count, sizeof *visits);
    if (visits == NULL)
        return 1;
    atomic_store(&msg_seq, (unsigned long long)o.first * 4);
    int64_t t0 = now_ns();
    run(prepare_thread);
    size_t prepared = 0;
    for (size_t i = 0; i < visit_count; i++)
        prepared += visits[i].ok == 1;
    double prep_s = (double)(now_ns() - t0) / 1e9;
    start_ns = now_ns() + 200000000LL;
    for (size_t i = 0; i < visit_count; i++)
        visits[i].due_ns = start_ns + (int64_t)(i * 1000000000ULL / (uint64_t)o.rate);
    run(settle_thread);
    int64_t end_ns = 0;
    int64_t *lat = calloc(visit_count + 1, sizeof *lat),
            *svc = calloc(visit_count + 1, sizeof *svc);
    if (lat == NULL || svc == NULL)
        return 1;
    size_t n = 0, ok = 0, errors = 0;
    int64_t warm_ns = start_ns + (int64_t)o.warmup_s * 1000000000LL;
    for (size_t i = 0; i < visit_count; i++) {
        struct visit *v = &visits[i];
        errors += v->ok < 0;
        if (v->ok != 2)
            continue;
        ok++;
        end_ns = v->done_ns > end_ns ? v->done_ns : end_ns;
        if (v->due_ns < warm_ns)
            continue;
        lat[n] = v->done_ns - v->due_ns;
        svc[n++] = v->done_ns - v->sent_ns;
    }
    qsort(lat, n, sizeof *lat, cmp_i64);
    qsort(svc, n, sizeof *svc, cmp_i64);
    double achieved = end_ns > start_ns ? (double)ok / ((double)(end_ns - start_ns) / 1e9) : 0;
    printf("%s: %d/s offered, %.0f/s achieved, %zu ok, %zu errors; 2207 latency us "
           "p50 %.0f p90 %.0f p99 %.0f max %.0f (service p50 %.0f p99 %.0f); "
           "%zu visits prepared in %.1f s\n",
           o.label, o.rate, achieved, ok, errors, pct_us(lat, n, 0.5), pct_us(lat, n, 0.9),
           pct_us(lat, n, 0.99), n ? (double)lat[n - 1] / 1000.0 : 0, pct_us(svc, n, 0.5),
           pct_us(svc, n, 0.99), prepared, prep_s);
    if (o.json != NULL) {
        json_t *j =
            json_pack("{s:s, s:i, s:i, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:i, s:i}",
                      "label", o.label, "rate", o.rate, "duration_s", o.duration_s, "ok",
                      (json_int_t)ok, "errors", (json_int_t)errors, "achieved_rate", achieved,
                      "p50_us", pct_us(lat, n, 0.5), "p90_us", pct_us(lat, n, 0.9), "p99_us",
                      pct_us(lat, n, 0.99), "max_us", n ? (double)lat[n - 1] / 1000.0 : 0.0,
                      "service_p50_us", pct_us(svc, n, 0.5), "service_p99_us", pct_us(svc, n, 0.99),
                      "measured", (json_int_t)n, "connections", o.conns, "lines", o.lines);
        if (j == NULL || json_dump_file(j, o.json, JSON_INDENT(2)) != 0)
            return 1;
        json_decref(j);
    }
    free(lat);
    free(svc);
    free(visits);
    lg_catalog_free(&catalog);
    return errors * 100 > visit_count ? 3 : 0;
}
