/* The workload (pc_work.h). */
#include "pc_work.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_req.h"
#include "ledger_test.h"
#include "pc_record.h"
#include "sh_json_load.h"

static const char *const hospitals[] = {"H330424001", "H330424002", "H330424101", "H330424201"};
#define HOSPITALS (sizeof hospitals / sizeof hospitals[0])

struct Sanhe__Response *pc_unpack(const uint8_t *data, size_t len)
{
    return sanhe__response__unpack(NULL, len, data);
}

/* ---- The pipeline (engine/durable/durable.c's order)
 * ------------------------------------------------
 */

struct pipe {
    struct pc_work *w;
    struct ledger *ledger;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t committed; /* the last batch committed */
    uint32_t synced;    /* the last batch made durable and answered */
    bool sync_running;
    bool stop;
    int failed; /* a sync failed */
};

/* The replies of batches (from, to] are handed out. */
static void pipe_ack(struct pc_work *w, uint32_t from, uint32_t to)
{
    for (uint32_t b = from + 1; b <= to; b++) {
        size_t at = pc_record_ack(b);
        for (size_t i = w->batch_first[b]; i < w->batch_first[b + 1]; i++) {
            w->reqs[i].acked = true;
            w->reqs[i].ack_event = at;
        }
    }
}

static void *pipe_syncer(void *arg)
{
    struct pipe *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->committed == p->synced)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->committed == p->synced)
            break;                      /* stopped, nothing left */
        uint32_t covers = p->committed; /* every batch committed when it starts */
        p->sync_running = true;
        pthread_mutex_unlock(&p->lock);
        int rc = ledger_sync(p->ledger);
        pthread_mutex_lock(&p->lock);
        if (rc != 0)
            p->failed = rc;
        else if (p->w->mode != PC_MODE_ACK_EARLY)
            pipe_ack(p->w, p->synced, covers);
        p->synced = covers;
        p->sync_running = false;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- Requests ----------------------------------------------------------------------------------
 */

struct pc_request *pc_req_add(struct pc_work *w, uint32_t batch)
{
    if (w->n == w->cap)
        return NULL;
    struct pc_request *r = &w->reqs[w->n++];
    memset(r, 0, sizeof *r);
    r->batch = batch;
    return r;
}

Sanhe__Request *pc_req_copy(const Sanhe__Request *req)
{
    size_t len = sanhe__request__get_packed_size(req);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return NULL;
    sanhe__request__pack(req, buf);
    Sanhe__Request *copy = sanhe__request__unpack(NULL, len, buf);
    free(buf);
    return copy;
}

/* An earlier request of kind op that got an ok reply (NULL: none yet). */
static const struct pc_request *req_pick(const struct pc_work *w, uint64_t *rng, int op)
{
    for (int tries = 0; tries < 16 && w->n > 1; tries++) {
        const struct pc_request *r = &w->reqs[1 + crash_rng_below(rng, (uint32_t)(w->n - 1))];
        if (r->op == op && r->ok && !r->retry)
            return r;
    }
    return NULL;
}

/* The next request of the workload, in r (caller and request). */
static int req_make(struct pc_work *w, uint64_t *rng, struct pc_request *r)
{
    static uint32_t serial;
    char rid[48];
    uint32_t h = crash_rng_below(rng, HOSPITALS);
    uint32_t dice = crash_rng_below(rng, 100);
    const struct pc_request *of = NULL;
    if (dice >= 60 && dice < 72) {
        of = req_pick(w, rng, SANHE__REQUEST__OP_SETTLE);
        if (of != NULL) { /* a retry of a settle */
            r->caller = of->caller;
            r->request = pc_req_copy(of->request);
            r->retry = true;
        }
    } else if (dice >= 72 && dice < 86) {
        of = req_pick(w, rng, SANHE__REQUEST__OP_SETTLE);
        if (of != NULL) { /* a reversal, by id or by request id */
            snprintf(rid, sizeof rid, "rev-%u", serial++);
            r->caller = of->caller;
            r->request = crash_req_reverse(rid, of->settlement_id,
                                           dice % 2 ? of->request->request_id : NULL);
        }
    } else if (dice >= 86 && dice < 94) {
        of = req_pick(w, rng, SANHE__REQUEST__OP_SETTLE);
        snprintf(rid, sizeof rid, "can-%u", serial++);
        if (of != NULL) { /* a cancel of a landed settle */
            r->caller = of->caller;
            r->request = crash_req_cancel(rid, of->request->request_id);
        } else {
            of = NULL;
        }
    } else if (dice >= 94) {
        int op = dice % 2 ? SANHE__REQUEST__OP_REVERSE : SANHE__REQUEST__OP_CANCEL;
        of = req_pick(w, rng, op);
        if (of != NULL) { /* a retry of an undo */
            r->caller = of->caller;
            r->request = pc_req_copy(of->request);
            r->retry = true;
        } else { /* a cancel of a settle never sent */
            char ghost[48];
            snprintf(ghost, sizeof ghost, "ghost-%u", serial++);
            snprintf(rid, sizeof rid, "can-%u", serial++);
            r->caller = w->reqs[1 + crash_rng_below(rng, (uint32_t)(w->n - 1))].caller;
            r->request = crash_req_cancel(rid, ghost);
        }
    }
    if (r->request == NULL) { /* a new settle */
        snprintf(rid, sizeof rid, "set-%u", serial++);
        memset(&r->caller, 0, sizeof r->caller);
        snprintf(r->caller.terminal, sizeof r->caller.terminal, "counter-%u", h);
        snprintf(r->caller.hospital, sizeof r->caller.hospital, "%s", hospitals[h]);
        r->caller.role = SH_ROLE_COUNTER;
        r->request = crash_req_settle(rng, rid, hospitals[h]);
        r->retry = false;
        of = NULL;
    }
    if (r->request == NULL)
        return -1;
    r->op = (int)r->request->op_case;
    return 0;
}

/* Keeps the reply; checks a retry against the reply it repeats. */
static int req_answered(struct pc_work *w, struct pc_request *r, struct sh_reply *reply)
{
    int rc = pc_req_answered(w, r, reply->data, reply->len);
    return rc;
}

int pc_req_answered(struct pc_work *w, struct pc_request *r, const uint8_t *data, size_t len)
{
    r->reply = malloc(len > 0 ? len : 1);
    if (r->reply == NULL)
        return -1;
    if (len > 0)
        memcpy(r->reply, data, len);
    r->reply_len = len;
    Sanhe__Response *resp = pc_unpack(r->reply, r->reply_len);
    if (resp == NULL) {
        fprintf(stderr, "powercut: a reply does not decode\n");
        return -1;
    }
    r->ok = resp->error == NULL;
    if (r->ok && resp->result_case == SANHE__RESPONSE__RESULT_SETTLE)
        r->settlement_id = resp->settle->settlement_id;
    if (r->ok && resp->result_case == SANHE__RESPONSE__RESULT_REVERSE) {
        r->settlement_id = resp->reverse->settlement_id;
        r->undid = resp->reverse->reversed;
    }
    if (r->ok && resp->result_case == SANHE__RESPONSE__RESULT_CANCEL) {
        r->settlement_id = resp->cancel->settlement_id;
        r->undid = resp->cancel->reversed;
    }
    sanhe__response__free_unpacked(resp, NULL);
    if (!r->retry)
        return 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct pc_request *o = &w->reqs[i];
        if (o == r || o->reply == NULL || o->retry || !o->ok ||
            strcmp(o->request->request_id, r->request->request_id) != 0 ||
            strcmp(o->caller.hospital, r->caller.hospital) != 0)
            continue;
        if (o->reply_len != r->reply_len || memcmp(o->reply, r->reply, r->reply_len) != 0) {
            fprintf(stderr, "powercut: the retry of %s got other bytes than its first reply\n",
                    r->request->request_id);
            return -1;
        }
        w->retries_same_bytes++;
    }
    return 0;
}

/* ---- The run
 * -------------------------------------------------------------------------------------- */

static int load_reference(struct pc_work *w, struct ledger *ledger)
{
    json_error_t jerr;
    json_t *doc = json_load_file(PC_CASE, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        fprintf(stderr, "powercut: %s: line %d: %s\n", PC_CASE, jerr.line, jerr.text);
        return -1;
    }
    Sanhe__LoadRequest load = SANHE__LOAD_REQUEST__INIT;
    struct sh_error err = {0};
    int rc = sh_json_to_load(doc, &load, &err);
    struct pc_request *r = pc_req_add(w, 0);
    if (rc == 0 && r != NULL) {
        Sanhe__Request req = SANHE__REQUEST__INIT;
        req.request_id = "load";
        req.op_case = SANHE__REQUEST__OP_LOAD;
        req.load = &load;
        r->request = pc_req_copy(&req);
        r->caller.role = SH_ROLE_ADMIN;
        snprintf(r->caller.terminal, sizeof r->caller.terminal, "admin");
        r->op = SANHE__REQUEST__OP_LOAD;
        struct sh_reply reply = {0};
        rc = r->request != NULL ? ledger_handle(ledger, &r->caller, r->request, PC_NOW_MS, &reply)
                                : -1;
        if (rc == 0)
            rc = req_answered(w, r, &reply);
        free(reply.data);
    }
    sh_json_load_free(&load);
    json_decref(doc);
    if (rc != 0 || r == NULL || !r->ok) {
        fprintf(stderr, "powercut: the reference data did not load\n");
        return -1;
    }
    r->acked = true;
    r->ack_event = w->load_ack_event = pc_record_ack(0);
    return 0;
}

/* One batch: applied, then committed as the mode says. */
static int run_batch(struct pc_work *w, struct pipe *p, uint32_t b, uint64_t *rng)
{
    struct ledger_batch *batch = NULL;
    w->batch_first[b] = w->n;
    int rc = ledger_batch_begin(p->ledger, PC_NOW_MS + (int64_t)b * 1000, &batch);
    uint32_t size = 1 + crash_rng_below(rng, PC_BATCH_MAX);
    for (uint32_t i = 0; rc == 0 && i < size; i++) {
        struct pc_request *r = pc_req_add(w, b);
        if (r == NULL || req_make(w, rng, r) != 0)
            rc = -1;
        struct sh_reply reply = {0};
        if (rc == 0)
            rc = ledger_batch_apply(batch, &r->caller, r->request, &reply);
        if (rc == 0)
            rc = req_answered(w, r, &reply);
        free(reply.data);
    }
    if (rc != 0) {
        ledger_batch_abort(batch);
        fprintf(stderr, "powercut: batch %u failed: %d\n", b, rc);
        return -1;
    }
    w->batch_first[b + 1] = w->n; /* the acknowledgement's range: no longer written */
    if (w->mode == PC_MODE_SERIAL) {
        rc = ledger_batch_commit(batch);
        if (rc == 0)
            pipe_ack(w, b - 1, b);
    } else {
        pthread_mutex_lock(&p->lock); /* the commit waits for a sync in flight */
        while (p->sync_running)
            pthread_cond_wait(&p->cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
        rc = ledger_batch_commit_nosync(batch);
        pthread_mutex_lock(&p->lock);
        if (rc == 0 && w->mode == PC_MODE_ACK_EARLY)
            pipe_ack(w, b - 1, b);
        if (rc == 0)
            p->committed = b;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
    }
    if (rc != 0)
        fprintf(stderr, "powercut: the commit of batch %u failed: %d\n", b, rc);
    return rc;
}

int pc_work_run(struct pc_work *w, const char *dir, enum pc_mode mode, uint32_t batches,
                uint64_t seed)
{
    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    w->mode = mode;
    w->cap = 1 + (size_t)batches * PC_BATCH_MAX;
    w->reqs = calloc(w->cap, sizeof *w->reqs); /* never moves: the syncer reads it */
    w->batch_first = calloc((size_t)batches + 2, sizeof *w->batch_first);
    w->cfg = (struct ledger_config){
        .dir = w->dir,
        .map_size_initial = PC_MAP_INITIAL,
        .durable = true,
        .utc_offset_min = 480,
        .index_lag_flush = PC_INDEX_LAG,
        .wal_segment_bytes = PC_WAL_SEGMENT,
        .wal_checkpoint_bytes =
            mode == PC_MODE_SERIAL ? PC_WAL_CHECKPOINT_NEVER : PC_WAL_CHECKPOINT,
        .wal_checkpoint_ms = mode == PC_MODE_SERIAL ? UINT32_MAX : PC_WAL_CHECKPOINT_MS};
    if (w->reqs == NULL || w->batch_first == NULL || pc_record_start(dir) != 0)
        return -1;
    struct pipe p = {.w = w};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
    struct sh_error err = {0};
    int rc = ledger_open(&w->cfg, &p.ledger, &err);
    if (rc != 0)
        fprintf(stderr, "powercut: ledger_open: %s\n", err.msg);
    if (rc == 0)
        rc = load_reference(w, p.ledger);
    pthread_t syncer;
    bool threaded = rc == 0 && mode != PC_MODE_SERIAL;
    if (threaded && pthread_create(&syncer, NULL, pipe_syncer, &p) != 0)
        rc = -1, threaded = false;
    uint64_t fresh_rng = 42;
    w->fresh_caller = (struct sh_caller){.terminal = "counter-0", .role = SH_ROLE_COUNTER};
    snprintf(w->fresh_caller.hospital, sizeof w->fresh_caller.hospital, "%s", hospitals[0]);
    w->fresh = crash_req_settle(&fresh_rng, "pc-fresh-after-recovery", hospitals[0]);
    if (w->fresh == NULL)
        rc = -1;
    uint64_t rng = seed;
    for (uint32_t b = 1; rc == 0 && b <= batches; b++) {
        rc = run_batch(w, &p, b, &rng);
        w->batches = b;
    }
    if (threaded) {
        pthread_mutex_lock(&p.lock);
        p.stop = true;
        pthread_cond_broadcast(&p.cond);
        pthread_mutex_unlock(&p.lock);
        pthread_join(syncer, NULL);
        if (p.failed != 0)
            rc = -1;
    }
    pc_record_stop();
    if (p.ledger != NULL) {
        ledger_info(p.ledger, &w->info);
        ledger_test_wal_stats(p.ledger, &w->wal);
        ledger_close(p.ledger);
    }
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.cond);
    return rc;
}

void pc_work_free(struct pc_work *w)
{
    for (size_t i = 0; i < w->n; i++) {
        sanhe__request__free_unpacked(w->reqs[i].request, NULL);
        free(w->reqs[i].reply);
    }
    free(w->reqs);
    free(w->batch_first);
    sanhe__request__free_unpacked(w->fresh, NULL);
    memset(w, 0, sizeof *w);
}
