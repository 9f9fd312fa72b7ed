/*
 * Requests sent and not yet answered, by sequence number (the request id's
 * suffix). Sequence numbers only grow, so a table indexed by seq modulo its
 * size only collides when more than `size` requests are outstanding at
 * once; it then doubles. O(1) put, get and delete, no hashing.
 */
#ifndef INFLIGHT_H
#define INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lg_pending {
    uint64_t seq;
    int64_t sched_ns; /* when the schedule said to send it */
    int64_t sent_ns;  /* when it was handed to the connection */
    uint32_t conn;    /* index of the connection it went out on */
    uint8_t op;       /* enum lg_op */
    bool used;
    bool measured;      /* scheduled inside the measurement window */
    uint32_t ring_slot; /* reverse/cancel/query: which settlement it named */
};

struct lg_inflight {
    struct lg_pending *slots;
    size_t mask;  /* size - 1, size a power of two */
    size_t count; /* used slots */
};

int lg_inflight_init(struct lg_inflight *t, size_t size_pow2);
void lg_inflight_free(struct lg_inflight *t);

/* Copies p in; -1 only when out of memory. */
int lg_inflight_put(struct lg_inflight *t, const struct lg_pending *p);

/* The pending request of that seq, or NULL. */
struct lg_pending *lg_inflight_get(struct lg_inflight *t, uint64_t seq);

void lg_inflight_del(struct lg_inflight *t, struct lg_pending *p);

#endif
