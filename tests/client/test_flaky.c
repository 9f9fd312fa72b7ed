/*
 * The flaky-link test (issue 4, item 4): many clients settle thousands of
 * claims through a loopback proxy that drops, stalls and delays at random,
 * retrying with the same request id after every timeout or dropped
 * connection. Afterwards, over a calm direct link: every request id names
 * exactly the settlement its client recorded, with the same amounts; the
 * settlement ids are distinct and there are exactly as many as claims (no
 * duplicate); `sanhe-engine check` is clean.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_fixture.h"
#include "flaky_proxy.h"
#include "sh_json.h"

#define CLIENTS 8
#define CLAIMS_PER_CLIENT 250
#define TRIES_MAX 60
#define HOSPITAL "H330424201"
#define CLINIC_CLAIMS 40

static int failures;

struct record {
    char request_id[SANHE_REQUEST_ID_MAX];
    uint64_t settlement_id;
    int64_t patient_pays;
};

static struct client_fixture f;
static struct test_claim {
    Sanhe__Claim *pb;
    struct sanhe_line lines[16];
    struct sanhe_claim claim;
} claims[8];
static struct record records[CLIENTS][CLAIMS_PER_CLIENT];
static atomic_long retries, unknown, unreachable, refused, gave_up;
static int proxy_port;

static void load_claims(void)
{
    for (size_t k = 0; k < 8; k++) { /* out0..out7: the outpatient bills of case 02 */
        const json_t *s = json_array_get(json_object_get(f.doc, "steps"), 8 + k);
        struct sh_error err;
        if (sh_json_to_claim(json_object_get(s, "claim"), &claims[k].pb, &err) != 0)
            exit(1);
        Sanhe__Claim *pb = claims[k].pb;
        for (size_t i = 0; i < pb->n_lines && i < 16; i++)
            claims[k].lines[i] = (struct sanhe_line){pb->lines[i]->code, pb->lines[i]->qty_milli,
                                                     pb->lines[i]->amount};
        claims[k].claim = (struct sanhe_claim){pb->hospital, pb->person,      pb->visit,
                                               pb->date,     claims[k].lines, pb->n_lines};
    }
}

/* Settles one claim until it is answered: the same request id every time. */
static void settle_once(sanhe_client *c, const struct sanhe_claim *claim, struct record *rec)
{
    sanhe_request_id_new(c, rec->request_id);
    for (int tries = 0; tries < TRIES_MAX; tries++) {
        struct sanhe_settle_result r;
        int rc = sanhe_settle(c, claim, rec->request_id, 900, &r); /* stalls outlast it */
        if (rc == 0) {
            rec->settlement_id = r.settlement_id;
            rec->patient_pays = r.breakdown.patient_pays;
            sanhe_settle_result_free(&r);
            return;
        }
        if (rc == SANHE_E_REFUSED) {
            fprintf(stderr, "refused: %s %s\n", sanhe_refusal_name(c), sanhe_last_message(c));
            atomic_fetch_add(&refused, 1);
            return;
        }
        atomic_fetch_add(&retries, 1);
        atomic_fetch_add(rc == SANHE_E_OUTCOME_UNKNOWN ? &unknown : &unreachable, 1);
    }
    atomic_fetch_add(&gave_up, 1);
}

static void *client_main(void *arg)
{
    int t = (int)(intptr_t)arg;
    char engines[64], bufs[3][4096], name[16];
    snprintf(engines, sizeof engines, "127.0.0.1:%d", proxy_port);
    struct sanhe_client_options o;
    fixture_options(&f, HOSPITAL, engines, &o, bufs);
    snprintf(name, sizeof name, "fl%d", t);
    o.terminal = name;
    o.attempt_timeout_ms = 400;
    sanhe_client *c;
    if (sanhe_client_new(&c, &o) != 0)
        return NULL;
    for (int i = 0; i < CLAIMS_PER_CLIENT; i++)
        settle_once(c, &claims[(t + i) % 8].claim, &records[t][i]);
    sanhe_client_free(c);
    return NULL;
}

/* Runs sanhe-counter as HOSPITAL's counter through the proxy; its stdout
 * into out (may be NULL). Returns the exit status. */
static int counter(const char *args, char *out, size_t out_size)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "%s --engine 127.0.0.1:%d --ca %s/certs/ca.crt --cert %s/certs/counter-%s.crt "
             "--key %s/certs/counter-%s.key --timeout-ms 700 %s",
             SANHE_COUNTER_PATH, proxy_port, f.sb.dir, f.sb.dir, HOSPITAL, f.sb.dir, HOSPITAL,
             args);
    FILE *p = popen(cmd, "r");
    char sink[4096];
    size_t n = 0;
    while (p != NULL && (n = fread(out ? out : sink, 1, out ? out_size - 1 : sizeof sink, p)) > 0)
        if (out != NULL)
            break;
    if (out != NULL)
        out[n] = '\0';
    int status = p != NULL ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A village clinic on the same flaky link: settles through sanhe-counter
 * with its outbox, then flushes until nothing waits. Returns how many
 * settles were queued (exit 4) instead of answered at once. */
static int clinic(void)
{
    char qdir[4096], path[4096], args[16384];
    sandbox_path(&f.sb, "clinic-outbox", qdir);
    int queued = 0;
    for (int i = 0; i < CLINIC_CLAIMS; i++) {
        const json_t *s = json_array_get(json_object_get(f.doc, "steps"), 8 + (size_t)(i % 8));
        char *claim = json_dumps(json_object_get(s, "claim"), 0);
        FILE *o = fopen(sandbox_path(&f.sb, "clinic.json", path), "w");
        fputs(claim, o);
        fclose(o);
        free(claim);
        snprintf(args, sizeof args, "--queue %s --request-id clinic-%d settle %s 2>/dev/null", qdir,
                 i, path);
        int rc = counter(args, NULL, 0);
        CHECK(rc == 0 || rc == 4);
        queued += rc == 4;
    }
    snprintf(args, sizeof args, "--queue %s flush 2>/dev/null", qdir);
    int rc = 3;
    for (int tries = 0; tries < 50 && rc != 0; tries++)
        rc = counter(args, NULL, 0);
    CHECK(rc == 0);
    return queued;
}

/* Each clinic request id: answered in the outbox, once in the engine. */
static void verify_clinic(sanhe_client *c)
{
    char qdir[4096], args[8192];
    static char out[1 << 20];
    sandbox_path(&f.sb, "clinic-outbox", qdir);
    snprintf(args, sizeof args, "--json --queue %s queue", qdir);
    CHECK(counter(args, out, sizeof out) == 0);
    int answered = 0, matching = 0;
    for (const char *l = out; *l != '\0';) {
        size_t len = strcspn(l, "\n");
        json_t *rec = json_loadb(l, len, 0, NULL);
        const char *rid = json_string_value(json_object_get(rec, "request_id"));
        json_int_t sid =
            json_integer_value(json_object_get(json_object_get(rec, "reply"), "settlement_id"));
        answered += rec != NULL &&
                    strcmp(json_string_value(json_object_get(rec, "state")), "answered") == 0;
        struct sanhe_settlement st;
        if (rid != NULL && sanhe_query(c, 0, rid, 0, &st) == 0) {
            matching += (json_int_t)st.settlement_id == sid;
            sanhe_settlement_free(&st);
        }
        json_decref(rec);
        l += len + (l[len] == '\n');
    }
    CHECK(answered == CLINIC_CLAIMS && matching == CLINIC_CLAIMS);
    printf("flaky link, clinic outbox: %d settles, %d answered and matching the engine\n",
           CLINIC_CLAIMS, matching);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Over a direct link: the engine's record matches each client's. */
static void verify(void)
{
    char port[64], bufs[3][4096];
    struct sanhe_client_options o;
    fixture_options(&f, HOSPITAL, fixture_engine(&f, port), &o, bufs);
    sanhe_client *c;
    CHECK(sanhe_client_new(&c, &o) == 0);
    static uint64_t ids[CLIENTS * CLAIMS_PER_CLIENT];
    size_t n = 0, mismatches = 0;
    for (int t = 0; t < CLIENTS; t++)
        for (int i = 0; i < CLAIMS_PER_CLIENT; i++) {
            const struct record *rec = &records[t][i];
            struct sanhe_settlement s;
            int rc = sanhe_query(c, 0, rec->request_id, 0, &s);
            if (rc != 0 || s.settlement_id != rec->settlement_id ||
                s.breakdown.patient_pays != rec->patient_pays || s.state != SANHE_SETTLED)
                mismatches++;
            sanhe_settlement_free(&s);
            ids[n++] = rec->settlement_id;
        }
    qsort(ids, n, sizeof ids[0], cmp_u64);
    size_t duplicates = 0;
    for (size_t i = 1; i < n; i++)
        duplicates += ids[i] == ids[i - 1];
    verify_clinic(c);
    /* Settlement ids count up from 1: one past all the claims (the
     * clients' and the clinic's) must not exist. */
    struct sanhe_settlement extra;
    int rc = sanhe_query(c, n + CLINIC_CLAIMS + 1, NULL, 0, &extra);
    bool none_extra = rc == SANHE_E_REFUSED && sanhe_refusal_code(c) == SANHE_REFUSAL_NOT_FOUND;
    if (rc == 0)
        sanhe_settlement_free(&extra);
    CHECK(mismatches == 0 && duplicates == 0 && none_extra);
    printf("flaky link: %zu claims by %d clients; engine records matching: %zu; duplicate "
           "settlements found: %zu; settlements beyond the claims: %s\n",
           n, CLIENTS, n - mismatches, duplicates, none_extra ? "none" : "SOME");
    sanhe_client_free(c);
}

int main(int argc, char **argv)
{
    if (argc != 2 || fixture_start(&f, argv[1]) != 0)
        return 1;
    load_claims();
    struct flaky_proxy *proxy;
    CHECK(flaky_proxy_start(&proxy, f.sb.engine.port, 15, 4, 50, &proxy_port) == 0);
    pthread_t threads[CLIENTS];
    for (int t = 0; t < CLIENTS; t++)
        pthread_create(&threads[t], NULL, client_main, (void *)(intptr_t)t);
    for (int t = 0; t < CLIENTS; t++)
        pthread_join(threads[t], NULL);
    const struct flaky_stats *st = flaky_proxy_stats(proxy);
    printf("flaky link: proxy connections %ld (reconnections %ld), drops %ld, stalls %ld, "
           "delays %ld; calls retried by the caller after the deadline %ld (outcome unknown "
           "%ld, unreachable %ld), refused %ld, gave up %ld\n",
           atomic_load(&st->connections), atomic_load(&st->connections) - CLIENTS,
           atomic_load(&st->drops), atomic_load(&st->stalls), atomic_load(&st->delays),
           atomic_load(&retries), atomic_load(&unknown), atomic_load(&unreachable),
           atomic_load(&refused), atomic_load(&gave_up));
    CHECK(atomic_load(&refused) == 0 && atomic_load(&gave_up) == 0);
    CHECK(atomic_load(&st->drops) > 0 && atomic_load(&st->stalls) > 0);
    int queued = clinic();
    printf("flaky link, clinic: %d of %d settles were queued and sent by flush\n", queued,
           CLINIC_CLAIMS);
    flaky_proxy_stop(proxy);
    verify();
    for (int k = 0; k < 8; k++)
        sanhe__claim__free_unpacked(claims[k].pb, NULL);
    CHECK(fixture_finish(&f) == 0);
    printf("%s\n", failures == 0 ? "test_flaky: ok" : "test_flaky: FAILED");
    return failures != 0;
}
