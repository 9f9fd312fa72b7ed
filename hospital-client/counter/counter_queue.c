/*
 * The store-and-forward outbox of a village clinic: a local LMDB
 * environment in --queue DIR, one record a settle, keyed by a sequence
 * number (u64 big-endian, so key order is queue order). Each record is a
 * JSON text: {request_id, state: waiting|answered|refused, queued_at, claim,
 * reply?}. Every state change is one LMDB commit, synced before it returns
 * (no MDB_NOSYNC), so the outbox survives kill -9 and a power cut.
 *
 * A settle is written to the outbox, with its request id, BEFORE it is
 * sent: if the process dies mid-call, flush resends the same request id and
 * the engine's idempotency answers with what landed (or settles it then).
 * Entries are sent strictly in order, because a claim's funds depend on the
 * accumulators that the earlier claims of the year left.
 */
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "counter.h"
#include "sh_json_out.h"
#include "sh_person_id.h"

#define QUEUE_MAP_SIZE (256u * 1024u * 1024u)

static int q_fail(const char *what, int rc)
{
    fprintf(stderr, _("sanhe-counter: queue: %s: %s\n"), what, mdb_strerror(rc));
    return EXIT_LOCAL;
}

int q_open(struct queue *q, const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, _("sanhe-counter: queue: cannot create %s: %s\n"), dir, strerror(errno));
        return EXIT_LOCAL;
    }
    MDB_txn *txn;
    int rc = mdb_env_create(&q->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(q->env, QUEUE_MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_open(q->env, dir, 0, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(q->env, NULL, 0, &txn);
    if (rc == 0 && (rc = mdb_dbi_open(txn, NULL, 0, &q->dbi)) != 0)
        mdb_txn_abort(txn);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    if (rc != 0) {
        mdb_env_close(q->env);
        q->env = NULL;
        return q_fail(dir, rc);
    }
    return 0;
}

static void key_encode(uint64_t seq, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(seq >> (56 - 8 * i));
}

static uint64_t key_decode(const MDB_val *k)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8 && i < k->mv_size; i++)
        v = v << 8 | ((const uint8_t *)k->mv_data)[i];
    return v;
}

/* Writes rec under seq (0: append after the last) in one synced commit. */
static int q_put(struct queue *q, uint64_t *seq, const json_t *rec)
{
    char *text = json_dumps(rec, JSON_COMPACT);
    MDB_txn *txn;
    int rc = text != NULL ? mdb_txn_begin(q->env, NULL, 0, &txn) : ENOMEM;
    if (rc == 0 && *seq == 0) {
        MDB_cursor *cur;
        MDB_val k, v;
        rc = mdb_cursor_open(txn, q->dbi, &cur);
        if (rc == 0) {
            int g = mdb_cursor_get(cur, &k, &v, MDB_LAST);
            *seq = g == 0 ? key_decode(&k) + 1 : 1;
            mdb_cursor_close(cur);
        }
    }
    uint8_t kb[8];
    key_encode(*seq, kb);
    MDB_val k = {8, kb}, v = {text != NULL ? strlen(text) : 0, text};
    if (rc == 0 && (rc = mdb_put(txn, q->dbi, &k, &v, 0)) != 0)
        mdb_txn_abort(txn);
    else if (rc == 0)
        rc = mdb_txn_commit(txn);
    free(text);
    return rc == 0 ? 0 : q_fail("write", rc);
}

/* Every record in order: keys and parsed JSON (the caller frees both). */
static int q_read_all(struct queue *q, uint64_t **keys, json_t ***recs, size_t *n)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    *keys = NULL, *recs = NULL, *n = 0;
    int rc = mdb_txn_begin(q->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return q_fail("read", rc);
    rc = mdb_cursor_open(txn, q->dbi, &cur);
    size_t cap = 0;
    for (int op = MDB_FIRST; rc == 0 && mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *nk = realloc(*keys, cap * sizeof **keys);
            *keys = nk ? nk : *keys;
            json_t **nr = realloc(*recs, cap * sizeof **recs);
            *recs = nr ? nr : *recs;
            if (nk == NULL || nr == NULL)
                rc = ENOMEM;
        }
        if (rc == 0) {
            (*keys)[*n] = key_decode(&k);
            (*recs)[(*n)++] = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        }
    }
    if (rc == 0)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc == 0 ? 0 : q_fail("read", rc);
}

static void q_free_all(uint64_t *keys, json_t **recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(recs[i]);
    free(keys);
    free(recs);
}

json_t *claim_json(const struct bill *b)
{
    json_t *lines = json_array();
    for (size_t i = 0; i < b->count; i++)
        json_array_append_new(lines, json_pack("{s:s, s:I, s:I}", "code", b->codes[i], "qty_milli",
                                               (json_int_t)b->lines[i].qty_milli, "amount",
                                               (json_int_t)b->lines[i].amount));
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "hospital", b->hospital, "person", b->person,
                     "visit", b->visit, "date", b->date, "lines", lines);
}

static int bill_of_json(const json_t *j, struct bill *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->hospital, sizeof b->hospital, "%s",
             json_string_value(json_object_get(j, "hospital")));
    snprintf(b->person, sizeof b->person, "%s", json_string_value(json_object_get(j, "person")));
    snprintf(b->visit, sizeof b->visit, "%s", json_string_value(json_object_get(j, "visit")));
    snprintf(b->date, sizeof b->date, "%s", json_string_value(json_object_get(j, "date")));
    const json_t *lines = json_object_get(j, "lines");
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const json_t *l = json_array_get(lines, i);
        if (bill_add_line(b, json_string_value(json_object_get(l, "code")),
                          json_integer_value(json_object_get(l, "qty_milli")),
                          json_integer_value(json_object_get(l, "amount"))) != 0)
            return -1;
    }
    return b->count > 0 ? 0 : -1;
}

/* Sends one waiting entry and records the answer. Returns the library's
 * result; a transport failure leaves the entry waiting. */
static int send_entry(struct queue *q, sanhe_client *c, uint64_t seq, json_t *rec)
{
    struct bill b;
    if (bill_of_json(json_object_get(rec, "claim"), &b) != 0) {
        bill_free(&b);
        return SANHE_E_INVAL;
    }
    struct sanhe_claim claim;
    bill_claim(&b, &claim);
    struct sanhe_settle_result r;
    int rc = sanhe_settle(c, &claim, json_string_value(json_object_get(rec, "request_id")), 0, &r);
    bill_free(&b);
    if (rc == 0 || rc == SANHE_E_REFUSED) {
        size_t len;
        const void *bytes = sanhe_last_reply(c, &len);
        Sanhe__Response *resp = bytes ? sanhe__response__unpack(NULL, len, bytes) : NULL;
        json_object_set_new(rec, "state", json_string(rc == 0 ? "answered" : "refused"));
        json_object_set_new(rec, "answered_at", json_integer((json_int_t)time(NULL)));
        if (resp != NULL)
            json_object_set_new(rec, "reply", sh_json_from_response(resp, 0));
        if (resp != NULL && resp->error != NULL)
            refusal_detail_keep(rec, resp->error);
        if (resp != NULL)
            sanhe__response__free_unpacked(resp, NULL);
        if (q_put(q, &seq, rec) != 0)
            rc = SANHE_E_NOMEM;
    }
    sanhe_settle_result_free(&r);
    return rc;
}

static bool is_waiting(const json_t *rec)
{
    const char *s = json_string_value(json_object_get(rec, "state"));
    return s != NULL && strcmp(s, "waiting") == 0;
}

/* Sends every waiting entry in order, up to and including `until` (0: all),
 * stopping at the first that cannot be delivered. *last_rc is the result of
 * the last entry tried. Returns how many are still waiting, or -1. */
/* What a flush sent, for the cashier; report: print each entry answered. */
struct flush_report {
    bool print;
    bool as_json;
    long sent, settled, refused;
};

static void print_entry(uint64_t seq, const json_t *rec, bool as_json);

static long flush_entries(struct queue *q, sanhe_client *c, uint64_t until, int *last_rc,
                          struct flush_report *report)
{
    uint64_t *keys;
    json_t **recs;
    size_t n;
    if (q_read_all(q, &keys, &recs, &n) != 0)
        return -1;
    long waiting = 0;
    bool stopped = false;
    *last_rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i] == NULL || !is_waiting(recs[i]) || (until != 0 && keys[i] > until))
            continue;
        int rc = stopped ? SANHE_E_UNREACHABLE : send_entry(q, c, keys[i], recs[i]);
        if (!stopped)
            *last_rc = rc;
        if (rc != 0 && rc != SANHE_E_REFUSED) {
            stopped = true; /* keep the order: nothing after it goes first */
            waiting++;
        } else if (report != NULL) {
            report->sent++;
            if (rc == 0)
                report->settled++;
            else
                report->refused++;
            if (report->print)
                print_entry(keys[i], recs[i], report->as_json);
        }
    }
    q_free_all(keys, recs, n);
    return waiting;
}

/* A queued settle shows the presettle of the same bill, if one was kept. */
static void print_estimate(const struct counter_opts *o, const struct bill *b)
{
    void *reply = NULL;
    size_t len = 0;
    char *name = NULL;
    if (estimate_load(o, b, &reply, &len, &name) != 0)
        return;
    if (!o->json)
        printf("%s\n", _("ESTIMATE from an earlier presettle (the settle, once sent, may "
                         "differ):"));
    print_claim_bytes(o, reply, len, b, name);
    free(name);
    free(reply);
}

/* The outbox entry of request id, if any: *seq (0: none) and its record
 * (the caller decrefs). The outbox knows its own request ids, so that a
 * resend of one adds no second entry. */
static int q_find(struct queue *q, const char *id, uint64_t *seq, json_t **rec)
{
    uint64_t *keys;
    json_t **recs;
    size_t n;
    *seq = 0, *rec = NULL;
    if (q_read_all(q, &keys, &recs, &n) != 0)
        return EXIT_LOCAL;
    for (size_t i = 0; i < n && *seq == 0; i++) {
        const char *rid = json_string_value(json_object_get(recs[i], "request_id"));
        if (rid != NULL && strcmp(rid, id) == 0) {
            *seq = keys[i];
            *rec = json_incref(recs[i]);
        }
    }
    q_free_all(keys, recs, n);
    return 0;
}

/* A resend of a request id the outbox holds: the same bill, or a refusal
 * (the engine would refuse it as REQUEST_ID_REUSED). */
static int q_resend_check(const json_t *rec, const struct bill *b, const char *id)
{
    json_t *claim = claim_json(b);
    bool same = json_equal(claim, json_object_get(rec, "claim"));
    json_decref(claim);
    if (same)
        return 0;
    fprintf(stderr, _("sanhe-counter: request id %s is in the outbox with another bill\n"), id);
    return EXIT_USAGE;
}

/* A settle whose entry was answered already: resent directly, the engine
 * replays its reply. */
static int settle_answered(const struct counter_opts *o, sanhe_client *c, const struct bill *b,
                           const char *id)
{
    struct sanhe_claim claim;
    bill_claim(b, &claim);
    struct sanhe_settle_result r;
    int rc = exit_of(c, sanhe_settle(c, &claim, id, 0, &r), _("settle"));
    if (rc == EXIT_OK)
        rc = print_claim_reply(o, c, b, NULL);
    sanhe_settle_result_free(&r);
    return rc;
}

/* Appends the settle to the outbox, or finds the entry of its request id. */
static int q_enqueue(struct queue *q, const struct bill *b, const char *id, uint64_t *seq,
                     bool *waiting)
{
    json_t *old = NULL;
    int rc = q_find(q, id, seq, &old);
    if (rc == 0 && old != NULL) {
        rc = q_resend_check(old, b, id);
        *waiting = is_waiting(old);
        json_decref(old);
        return rc;
    }
    *waiting = true;
    json_t *rec = rc == 0 ? json_pack("{s:s, s:s, s:I, s:o}", "request_id", id, "state", "waiting",
                                      "queued_at", (json_int_t)time(NULL), "claim", claim_json(b))
                          : NULL;
    rc = rc != 0 ? rc : rec != NULL ? q_put(q, seq, rec) : EXIT_LOCAL;
    json_decref(rec);
    return rc;
}

int cmd_settle_queued(const struct counter_opts *o, const struct bill *b)
{
    struct queue q;
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    if ((rc = q_open(&q, o->queue)) != 0) {
        sanhe_client_free(c);
        return rc;
    }
    char id[SANHE_REQUEST_ID_MAX];
    if (o->request_id[0])
        snprintf(id, sizeof id, "%s", o->request_id);
    else
        sanhe_request_id_new(c, id);
    uint64_t seq = 0;
    bool in_wait = true;
    rc = q_enqueue(&q, b, id, &seq, &in_wait);
    if (rc == 0 && !in_wait) {
        rc = settle_answered(o, c, b, id);
        fprintf(stderr, _("request id %s\n"), id);
        mdb_env_close(q.env);
        sanhe_client_free(c);
        return rc;
    }
    int last = 0;
    long waiting = rc == 0 ? flush_entries(&q, c, seq, &last, NULL) : -1;
    if (rc == 0 && waiting < 0)
        rc = EXIT_LOCAL;
    else if (rc == 0 && waiting > 0) {
        printf(_("QUEUED: request id %s waits in %s (%ld waiting); `sanhe-counter flush` sends "
                 "it\n"),
               id, o->queue, waiting);
        fprintf(stderr, _("sanhe-counter: %s\n"), counter_strerror(last));
        print_transport(c);
        print_estimate(o, b);
        rc = EXIT_QUEUED;
    } else if (rc == 0) {
        rc = exit_of(c, last, _("settle"));
        if (rc == EXIT_OK)
            rc = print_claim_reply(o, c, b, NULL);
        fprintf(stderr, _("request id %s\n"), id);
    }
    mdb_env_close(q.env);
    sanhe_client_free(c);
    return rc;
}

int cmd_flush(const struct counter_opts *o)
{
    if (o->queue[0] == '\0') {
        fprintf(stderr, _("sanhe-counter: flush needs --queue DIR\n"));
        return EXIT_USAGE;
    }
    struct queue q;
    sanhe_client *c;
    int rc = counter_client(o, &c);
    if (rc != 0)
        return rc;
    if ((rc = q_open(&q, o->queue)) != 0) {
        sanhe_client_free(c);
        return rc;
    }
    int last = 0;
    struct flush_report report = {.print = true, .as_json = o->json};
    long waiting = flush_entries(&q, c, 0, &last, &report);
    /* --daemon: a clinic's link returns by itself; keep trying. */
    while (o->daemon && waiting >= 0) {
        struct timespec ts = {.tv_sec = (o->interval_ms > 0 ? o->interval_ms : 30000) / 1000,
                              .tv_nsec = (o->interval_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        waiting = flush_entries(&q, c, 0, &last, &report);
    }
    if (waiting < 0)
        rc = EXIT_LOCAL;
    else if (waiting > 0) {
        fprintf(stderr, _("sanhe-counter: flush stopped, %ld still waiting: %s\n"), waiting,
                counter_strerror(last));
        print_transport(c);
        rc = EXIT_UNREACHABLE;
    } else if (!o->json)
        printf(_("queue flushed: %ld sent (%ld settled, %ld refused); nothing waits\n"),
               report.sent, report.settled, report.refused);
    mdb_env_close(q.env);
    sanhe_client_free(c);
    return rc;
}

/* One line per entry: sequence, state, request id, and the answer. */
static void print_entry(uint64_t seq, const json_t *rec, bool as_json)
{
    if (as_json) {
        json_t *copy = json_deep_copy(rec);
        json_object_set_new(copy, "seq", json_integer((json_int_t)seq));
        /* A listing is a log: the resident ID only masked. */
        json_t *claim = json_object_get(copy, "claim");
        char masked[19];
        sh_person_id_mask(json_string_value(json_object_get(claim, "person")), masked);
        json_object_set_new(claim, "person", json_string(masked));
        json_dumpf(copy, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(copy);
        return;
    }
    const json_t *reply = json_object_get(rec, "reply");
    const char *state = json_string_value(json_object_get(rec, "state"));
    const char *shown = state == NULL                    ? "?"
                        : strcmp(state, "waiting") == 0  ? _("waiting")
                        : strcmp(state, "answered") == 0 ? _("answered")
                        : strcmp(state, "refused") == 0  ? _("refused")
                                                         : state;
    printf("%6llu  %-8s  %s", (unsigned long long)seq, shown,
           json_string_value(json_object_get(rec, "request_id")));
    char reason[1024];
    if (json_object_get(reply, "error") != NULL && refusal_detail_kept(rec, reason, sizeof reason))
        printf("  %s  %s", json_string_value(json_object_get(reply, "error")), reason);
    else if (json_object_get(reply, "error") != NULL)
        printf("  %s", json_string_value(json_object_get(reply, "error")));
    else if (reply != NULL) {
        char total[32], patient[32];
        sh_yuan_format(json_integer_value(json_object_get(reply, "total")), total);
        sh_yuan_format(json_integer_value(json_object_get(reply, "patient_pays")), patient);
        printf(_("  settlement %lld  total %s  patient %s"),
               (long long)json_integer_value(json_object_get(reply, "settlement_id")), total,
               patient);
    }
    fputc('\n', stdout);
}

int cmd_queue_list(const struct counter_opts *o)
{
    if (o->queue[0] == '\0') {
        fprintf(stderr, _("sanhe-counter: queue needs --queue DIR\n"));
        return EXIT_USAGE;
    }
    struct queue q;
    int rc = q_open(&q, o->queue);
    if (rc != 0)
        return rc;
    uint64_t *keys;
    json_t **recs;
    size_t n;
    rc = q_read_all(&q, &keys, &recs, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (recs[i] != NULL)
            print_entry(keys[i], recs[i], o->json);
    if (rc == 0)
        q_free_all(keys, recs, n);
    mdb_env_close(q.env);
    return rc;
}
