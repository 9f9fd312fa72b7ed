/* sanhe-counter: the cashier's command line on libsanhe-client. */
#ifndef SANHE_COUNTER_H
#define SANHE_COUNTER_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "receipt.h"
#include "sanhe/client.h"

/* Exit codes, documented in --help; a calling program may rely on them. */
enum counter_exit {
    EXIT_OK = 0,          /* done; for settle, the receipt is printed */
    EXIT_REFUSED = 1,     /* the engine refused (code and message on stderr) */
    EXIT_USAGE = 2,       /* bad command line, config or bill file */
    EXIT_UNREACHABLE = 3, /* engine unreachable, or settle outcome unknown (no queue) */
    EXIT_QUEUED = 4,      /* settle queued in the outbox (--queue); flush sends it */
    EXIT_LOCAL = 5,       /* a local failure: out of memory, certificates, queue db */
    EXIT_TLS = 6,         /* the engine refused this terminal's certificate (TLS alert),
                             or the engine's certificate does not verify: not sent */
};

#define COUNTER_TIMEOUT_MS_DEFAULT 10000

struct counter_opts {
    char engines[512], ca[1024], cert[1024], key[1024];
    char hospital[64], hospital_name[256], terminal[64], queue[1024];
    char request_id[SANHE_REQUEST_ID_MAX]; /* settle: the caller's, else generated */
    enum sh_lang lang;
    bool json;
    bool daemon; /* flush: keep flushing every interval_ms until killed */
    int timeout_ms, interval_ms;
};

/* A bill read from a file, owning its strings. */
struct bill {
    char hospital[64], person[32], visit[16], date[16];
    struct sanhe_line *lines;
    char (*codes)[64];
    size_t count, cap;
};

/* counter_config.c: the INI file (section [counter]), then flags. */
int counter_config_load(struct counter_opts *o, const char *path);
int counter_client(const struct counter_opts *o, sanhe_client **out);
/* The command's deadline (monotonic ms): --timeout-ms holds for the whole
 * command, every call it makes included. */
int64_t counter_now_ms(void);
int64_t counter_deadline_ms(const struct counter_opts *o);
/* What is left of it, at least 1 ms (a library call takes 0 as "default"). */
int counter_left_ms(int64_t deadline_ms);

/* counter_bill.c: JSON (a case-file claim object) or CSV by content. */
int bill_read(const char *path, struct bill *b, char *msg, size_t msg_size);
int bill_add_line(struct bill *b, const char *code, long long qty_milli, long long amount);
void bill_free(struct bill *b);
void bill_claim(const struct bill *b, struct sanhe_claim *out);

/* counter_print.c: receipts and replies, from the last reply's bytes. */
int print_claim_reply(const struct counter_opts *o, sanhe_client *c, const struct bill *b,
                      const char *patient_name);
/* The same from a packed Response kept earlier (an estimate). */
int print_claim_bytes(const struct counter_opts *o, const void *reply, size_t len,
                      const struct bill *b, const char *patient_name);
int print_reply_json(sanhe_client *c);
int print_query_json(sanhe_client *c);
/* counter_elig.c: funds, limits (cap, used, left, deductible) and the year's
 * accumulators, in o->lang. date NULL: today. */
void print_eligibility(const struct counter_opts *o, const struct sanhe_eligibility *e,
                       const char *date);
int exit_of(sanhe_client *c, int rc, const char *what);
const char *counter_strerror(int rc);
/* "  detail: ..." on stderr: the library's or the engine's own words. */
void print_detail(const char *detail);
/* The last call's transport failure: "  reason: ..." worded, and the
 * library's English message in English (or when it could not be worded). */
void print_transport(sanhe_client *c);

/* counter_refusal.c: an engine refusal's detail, worded in the catalog's
 * language. */
#define SH_DETAIL_ARGS_COUNTER 4 /* the most arguments a detail has */
struct Sanhe__Error;
/* The detail of e into out; -1 when e has none this counter knows (or
 * another number of arguments than it expects). */
int refusal_detail_format(const struct Sanhe__Error *e, char *out, size_t size);
/* "  reason: ..." from the last reply's detail, else print_detail of the
 * engine's English message. */
void print_refusal_detail(sanhe_client *c);
/* An outbox entry's refusal: its detail kept in rec ("detail",
 * "detail_args"), worded when the outbox is listed, in that language. */
void refusal_detail_keep(json_t *rec, const struct Sanhe__Error *e);
bool refusal_detail_kept(const json_t *rec, char *out, size_t size);

/* counter_cmds.c */
int cmd_settle(const struct counter_opts *o, const char *file, bool trial);
int cmd_reverse(const struct counter_opts *o, const char *id);
int cmd_cancel(const struct counter_opts *o, const char *request_id);
int cmd_query(const struct counter_opts *o, const char *id, const char *request_id);
int cmd_eligibility(const struct counter_opts *o, const char *person, const char *date);

/* counter_queue.c: the store-and-forward outbox. */
struct queue {
    MDB_env *env;
    MDB_dbi dbi; /* the main database */
};
/* Creates dir (one level) and opens the LMDB environment in it, synced
 * commits; prints why on failure and returns EXIT_LOCAL. */
int q_open(struct queue *q, const char *dir);
int cmd_settle_queued(const struct counter_opts *o, const struct bill *b);
/* The bill as the outbox keeps it: {hospital, person, visit, date, lines}. */
json_t *claim_json(const struct bill *b);

/* counter_estimate.c: presettle answers kept in --queue DIR/estimates, shown
 * when a settle of the same bill is queued. */
void estimate_save(const struct counter_opts *o, const struct bill *b, const void *reply,
                   size_t len, const char *patient_name);
/* *name: the patient's name kept with it (malloc'ed; NULL when none). */
int estimate_load(const struct counter_opts *o, const struct bill *b, void **reply, size_t *len,
                  char **name);
int cmd_flush(const struct counter_opts *o);
int cmd_queue_list(const struct counter_opts *o);

#endif
