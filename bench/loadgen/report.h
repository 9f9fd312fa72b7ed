/*
 * What a run measured, and how it is told: a human summary, one JSON
 * object (the fields the benchmark issue asks for: kind, op_mix, persons,
 * connections, offered_per_s, achieved_per_s, p50_us, p90_us, p99_us,
 * p999_us, max_us, errors; and more), and --report, which combines several
 * runs' JSON into one file and a table.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "cpu_use.h"
#include "engine_stats.h"
#include "histogram.h"
#include "mix.h"

/* Error slots: the wire's ErrorCode values up to LG_ERR_WIRE_MAX (TIMEOUT,
 * 28, is the client's own: no answer by the end of the drain), then two of
 * the generator's. A code past LG_ERR_WIRE_MAX counts as UNMATCHED, so the
 * room is well beyond the codes the proto has. */
#define LG_ERR_WIRE_MAX 63
#define LG_ERR_TIMEOUT 28      /* the wire's TIMEOUT: unanswered when the drain ended */
#define LG_ERR_DISCONNECTED 64 /* not sent, or no connection could be made for it */
#define LG_ERR_UNMATCHED 65    /* a reply that names no request we have pending */
#define LG_ERR_SLOTS 66

struct lg_op_stats {
    uint64_t sent, ok, errors;
    struct lg_hist hist; /* OK replies, from the scheduled time */
};

/* Everything counts requests scheduled in the measurement window only
 * (unmatched replies excepted, which have no schedule). */
struct lg_result {
    /* the run */
    char kind[16]; /* "" is "sanhe" */
    char label[64], mix[160], visits[160], lines[64], date[16], tag[20];
    uint32_t rate, connections, terminals, duration_s, warmup_s, drain_s;
    uint64_t persons, seed;
    /* counts */
    uint64_t scheduled, sent, answered, ok, substituted;
    uint64_t errors[LG_ERR_SLOTS];
    uint64_t claims, claim_lines;
    int64_t window_start_ns, last_ok_ns;
    /* latencies */
    struct lg_hist latency; /* OK replies: scheduled send -> reply */
    struct lg_hist service; /* OK replies: actual send -> reply */
    struct lg_hist lag;     /* the generator's own delay: actual send - scheduled */
    struct lg_op_stats ops[LG_OP_COUNT];
    /* the engine */
    struct lg_engine_delta engine;
    struct lg_cpu_use cpu; /* the window's, from its start to the end of the drain */
    char failure[256];     /* a run that could not be done: why */
};

const char *lg_error_name(int slot);
uint64_t lg_errors_total(const struct lg_result *r);
double lg_achieved_per_s(const struct lg_result *r);

void lg_report_print(const struct lg_result *r, FILE *out);
int lg_report_write_json(const struct lg_result *r, const char *path);

/* --report: reads each run's JSON, writes {kind, date, machine, note, runs}
 * to out_path and prints the table. Returns 0 or -1. */
int lg_report_combine(const char *out_path, const char *note, const char *const *inputs, size_t n);

#endif
