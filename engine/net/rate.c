/*
 * Person lookups per terminal (docs/limits.md): a token bucket of
 * lookups_burst lookups, refilled at lookups_per_minute, and the counts
 * behind the flag for a terminal whose lookups far outnumber its settles.
 * Loop thread only.
 *
 * Tokens are kept in 1/60000 of a lookup, so that a millisecond refills
 * exactly lookups_per_minute of them: integer arithmetic, no drift.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "net_internal.h"

#define RATE_SCALE 60000u /* ms per minute: tokens per lookup */

/* The terminal's own rate (the terminal table's lookups_per_minute), else
 * the configured one. */
static uint32_t rate_per_minute(const struct net_limits *l, const struct sh_caller *caller)
{
    return caller->has_lookup_rate ? caller->lookups_per_minute : l->lookups_per_minute;
}

/* lookups_burst; a terminal with a rate of its own below it holds a minute
 * of that rate at most, so that a clinic set to 30 a minute is not given a
 * burst of 600 first. */
static uint64_t rate_bucket_max(const struct net_limits *l, const struct sh_caller *caller)
{
    uint32_t burst = l->lookups_burst;
    uint32_t rate = rate_per_minute(l, caller);
    if (caller->has_lookup_rate && rate > 0 && rate < burst)
        burst = rate;
    return (uint64_t)burst * RATE_SCALE;
}

/* The terminal's entry, created on first use; the last slot is shared by
 * every terminal past RATE_TERMINALS_MAX (more than any terminal table). */
static struct rate_entry *rate_entry_of(struct net_server *server, const struct sh_caller *caller,
                                        uint64_t now_ms)
{
    const char *terminal = caller->terminal;
    struct rate_table *t = &server->rates;
    if (t->entries == NULL) {
        t->entries = calloc(RATE_TERMINALS_MAX, sizeof *t->entries);
        if (t->entries == NULL)
            return NULL;
    }
    size_t n = strnlen(terminal, sizeof t->entries[0].terminal - 1);
    uint64_t h = fnv1a_str(FNV1A_OFFSET, terminal); /* a known terminal's name */
    for (size_t probe = 0; probe < RATE_TERMINALS_MAX - 1; probe++) {
        struct rate_entry *e = &t->entries[(h + probe) % (RATE_TERMINALS_MAX - 1)];
        if (e->used && strncmp(e->terminal, terminal, sizeof e->terminal) == 0)
            return e;
        if (!e->used) {
            e->used = true;
            memcpy(e->terminal, terminal, n);
            e->terminal[n] = '\0';
            e->tokens = rate_bucket_max(&server->limits, caller);
            e->last_ms = now_ms;
            t->len++;
            return e;
        }
    }
    struct rate_entry *shared = &t->entries[RATE_TERMINALS_MAX - 1];
    if (!shared->used) {
        shared->used = true;
        memcpy(shared->terminal, "(others)", sizeof "(others)");
        shared->tokens = rate_bucket_max(&server->limits, caller);
        shared->last_ms = now_ms;
    }
    return shared;
}

static void rate_refill(const struct net_limits *l, const struct sh_caller *caller,
                        struct rate_entry *e, uint64_t now_ms)
{
    uint64_t max = rate_bucket_max(l, caller);
    uint64_t elapsed_ms = now_ms > e->last_ms ? now_ms - e->last_ms : 0;
    e->last_ms = now_ms;
    /* elapsed_ms * lookups_per_minute fits: both are far below 2^32 here. */
    uint64_t add = elapsed_ms > RATE_SCALE * 1000u ? max : elapsed_ms * rate_per_minute(l, caller);
    e->tokens = e->tokens + add > max ? max : e->tokens + add;
}

bool rate_lookup_admit(struct net_server *server, const struct sh_caller *caller, uint64_t now_ms,
                       uint64_t *refused_out)
{
    struct rate_entry *e = rate_entry_of(server, caller, now_ms);
    *refused_out = 0;
    if (e == NULL)
        return true; /* out of memory: the audit still records the lookup */
    e->lookups++;
    const struct net_limits *l = &server->limits;
    if (rate_per_minute(l, caller) == 0)
        return true;
    rate_refill(l, caller, e, now_ms);
    if (e->tokens >= RATE_SCALE) {
        e->tokens -= RATE_SCALE;
        return true;
    }
    e->refused++;
    *refused_out = e->refused;
    server->stats.lookups_refused++;
    return false;
}

void rate_lookup_note(struct net_server *server, const struct sh_caller *caller, uint64_t now_ms)
{
    struct rate_entry *e = rate_entry_of(server, caller, now_ms);
    if (e != NULL)
        e->lookups++;
}

void rate_settle_note(struct net_server *server, const struct sh_caller *caller, uint64_t now_ms)
{
    struct rate_entry *e = rate_entry_of(server, caller, now_ms);
    if (e != NULL)
        e->settles++;
}

bool rate_flagged(const struct net_server *server, const struct rate_entry *e)
{
    const struct net_limits *l = &server->limits;
    return e->lookups >= l->lookup_flag_min &&
           e->lookups > (uint64_t)l->lookup_flag_ratio * e->settles;
}

void rate_free(struct net_server *server)
{
    free(server->rates.entries);
    server->rates.entries = NULL;
    server->rates.len = 0;
}
