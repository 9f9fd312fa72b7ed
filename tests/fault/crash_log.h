/*
 * What each client (one counter terminal of one hospital) remembers, as a
 * real counter would keep it on disk: every request it sent, with its
 * request id and payload, and the first answer it got, if any. The threads
 * of one client never touch another client's log, so there is no locking;
 * the main thread reads the logs only when the client threads are joined.
 */
#ifndef CRASH_LOG_H
#define CRASH_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sanhe.pb-c.h"

enum crash_kind { CRASH_SETTLE, CRASH_REVERSE, CRASH_CANCEL };

#define CRASH_NO_TARGET ((size_t)-1)

struct crash_op {
    char rid[32];
    enum crash_kind kind;
    Sanhe__Request *request;
    Sanhe__Response *reply; /* the answer recorded; NULL while there is none */
    bool acked;             /* answered before the engine was killed */
    size_t target;          /* reverse, cancel: the settle it undoes */
    /* Settles only: */
    bool landed;             /* a settlement exists under rid */
    bool undone;             /* reversed or cancelled by this client */
    bool undo_pending;       /* a reverse or cancel names it: no second one */
    bool cancelled_unlanded; /* cancelled before it landed: never pays */
    uint64_t settlement_id;
};

struct crash_stats {
    uint64_t sent;          /* distinct requests (request ids) */
    uint64_t acked;         /* answered on the first try, before a kill */
    uint64_t retried;       /* unanswered at a kill, answered by a retry */
    uint64_t cancels;       /* unanswered settles resolved with a cancel instead */
    uint64_t cancel_landed; /* of those, the settle had landed (reversed: true) */
    uint64_t resent;        /* acknowledged requests sent again, reply identical */
    uint64_t undos;         /* reverse and cancel of acknowledged settles */
};

struct crash_client {
    int index;
    char terminal[32];
    const char *hospital;
    uint64_t rng;
    char prefix[8]; /* of its request ids: one run of the test, one space */
    uint64_t next_rid;
    struct crash_op *ops;
    size_t count, cap;
    size_t round_start; /* ops before it are resolved */
    struct crash_stats stats;
    char failure[512]; /* the first thing that went wrong; "" when none */
};

void crash_client_init(struct crash_client *c, int index, const char *prefix, uint64_t seed);
void crash_client_free(struct crash_client *c);

/* Appends a new op with a fresh request id (the request built by the
 * caller through the id); returns its index, or CRASH_NO_TARGET when out of
 * memory. */
size_t crash_op_new(struct crash_client *c, enum crash_kind kind, size_t target);

/* Records the first failure (later ones are dropped: the first explains). */
void crash_fail(struct crash_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The error of a response as "CODE: message", or "no error". */
const char *crash_error_text(const Sanhe__Response *resp, char *buf, size_t len);

/* Checks an answer to a settle, reverse or cancel of an acknowledged
 * settle, and records it in the log (taking resp). A settle must be
 * settled, a reverse or cancel must reverse its target. Returns false (and
 * sets the failure) when the answer is wrong. */
bool crash_record(struct crash_client *c, size_t i, Sanhe__Response *resp);

/* The index of the op whose request id is rid among idx[0..n), or n. */
size_t crash_find_rid(const struct crash_client *c, const size_t *idx, size_t n, const char *rid);

#endif
