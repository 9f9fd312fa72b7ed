/*
 * A loopback TCP proxy that misbehaves: it forwards bytes between clients
 * and an upstream port, and at random drops a connection (both sides),
 * stalls it for a while, or delays a chunk. Threads: one accept thread and
 * one per connection. For the flaky-link test.
 */
#ifndef FLAKY_PROXY_H
#define FLAKY_PROXY_H

#include <stdatomic.h>

struct flaky_stats {
    atomic_long connections, drops, stalls, delays, bytes;
};

struct flaky_proxy;

/* Listens on 127.0.0.1, any port (*port). Per forwarded chunk: drop with
 * probability drop_permille/1000, else stall (300-1500 ms) with
 * stall_permille/1000, else delay (1-20 ms) with delay_permille/1000. */
int flaky_proxy_start(struct flaky_proxy **out, int upstream_port, int drop_permille,
                      int stall_permille, int delay_permille, int *port);

/* Now forward faithfully (for the final checks), or misbehave again. */
void flaky_proxy_set_calm(struct flaky_proxy *p, int calm);

const struct flaky_stats *flaky_proxy_stats(const struct flaky_proxy *p);

/* Stops accepting, closes every connection, joins the threads. */
void flaky_proxy_stop(struct flaky_proxy *p);

#endif
