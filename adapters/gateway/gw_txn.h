/* The transaction layer's internals (gw_txn.c: the common part; gw_ops.c:
 * each infno). */
#ifndef GW_TXN_H
#define GW_TXN_H

#include "gw.h"

enum txn_keep {
    KEEP_NONE,   /* read-only: nothing is stored (1101, 2206, 3201, 3202) */
    KEEP_INPUT,  /* the gateway's own state: reply kept with the input's hash */
    KEEP_ENGINE, /* the engine's state: reply kept with the engine reply's hash */
};

struct txn_line {
    char sn[32];
    char code[64];
    int64_t qty_milli, amount;
};

struct txn {
    struct gw_request *r; /* NULL once answered */
    struct gw_server *srv;
    const struct gw_config *cfg;
    json_t *doc;         /* the request */
    const json_t *input; /* in doc */
    char infno[8], msgid[40], hospital[GW_HOSPITAL_MAX + 1], region[GW_CODE_MAX], date[16];
    char refmsg_time[20];
    enum txn_keep keep;
    uint8_t input_hash[32], engine_hash[32];
    void *stored; /* a reply kept for this msgid before */
    size_t stored_len;
    int infcode;
    char err[GW_MSG_MAX], warn[128];
    json_t *output;
    int pending; /* engine calls in flight */
    /* The visit a transaction works on, written with the reply when dirty. */
    json_t *visit;
    char mdtrt_id[40];
    bool visit_dirty;
    /* Scratch of multi-call transactions (2204's lines, 1101's answers, 3201's days). */
    json_t *scratch;
    struct txn_line *lines;
    size_t line_count;
    int best_code, system_status;
    int64_t sums[8];
    /* Keys held until the reply is sent (gw_lock.c), and the one another
     * call holds that this call must wait for (it is then parked). */
    struct gw_lock *lock_msgid, *lock_visit, *park;
    /* The reply, kept while its records are committed. */
    char *body;
    size_t body_len;
};

typedef void (*txn_engine_cb)(struct txn *t, int status, const Sanhe__Response *resp, int index);

struct txn_op {
    const char *infno;
    enum txn_keep keep;
    int (*run)(struct txn *t); /* 0: under way (or answered), -1: finish with t's error */
};

const struct txn_op *txn_op_find(const char *infno);

const char *txn_str(const json_t *obj, const char *key);
const char *txn_code(const json_t *obj, const char *key);
/* 0 read, 1 absent (and not required), -1 refused (t's error set). */
int txn_money(struct txn *t, const json_t *obj, const char *key, bool required, int64_t *fen);
int txn_fail(struct txn *t, int infcode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int txn_refused(struct txn *t, int engine_code, const char *detail);
int txn_engine(struct txn *t, const char *region, const Sanhe__Request *req, txn_engine_cb cb,
               int index);
int txn_engine_status(struct txn *t, int status, const Sanhe__Response *resp, const char *detail);
bool txn_replay(struct txn *t);
/* Holds the visit mdtrt_id for t: 0 held, -1 not (another call has it:
 * t->park is set and t is parked once its op returns; or out of room). */
int txn_visit_lock(struct txn *t, const char *mdtrt_id);
void txn_finish(struct txn *t);

#endif
