/* sanhe-loadgen's command line (see usage() in options.c for every option). */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "claims.h"
#include "mix.h"

#define LG_TERMINALS_MAX 256
#define LG_CONNECTIONS_MAX 4096u
#define LG_RATE_MAX 10000000u
#define LG_REPORT_INPUTS_MAX 64

enum lg_mode { LG_MODE_RUN, LG_MODE_MAKE_DATASET, LG_MODE_REPORT, LG_MODE_PROBE_FSYNC };

struct lg_terminal_opt {
    const char *cert, *key, *hospital;
};

struct lg_options {
    enum lg_mode mode;
    /* run */
    const char *host;
    int port;
    const char *ca;
    struct lg_terminal_opt terminals[LG_TERMINALS_MAX];
    size_t terminal_count;
    uint32_t rate, connections;
    uint32_t duration_s, warmup_s, drain_s;
    struct lg_weights mix;
    struct lg_claim_shape shape;
    const char *lines_spec; /* NULL: the per-visit defaults */
    const char *dataset, *persons_spec, *catalog_spec, *date;
    uint64_t seed;
    const char *json_out, *label, *run_tag;
    const char *kind; /* the result's "kind": "sanhe", or a baseline's name */
    pid_t engine_pid;
    const char *engine_stats;
    uint32_t tick_us;
    uint32_t expect_rate_pct; /* 0: off; else exit 3 below it (saturation) */
    /* --make-dataset */
    size_t make_persons;
    const char *make_out, *policy;
    /* --probe-fsync */
    const char *probe_dir;
    /* --report */
    const char *report_out, *note;
    const char *report_inputs[LG_REPORT_INPUTS_MAX];
    size_t report_count;
};

/* Fills opt from argv; returns 0, 1 after --help (exit 0), or 2 after a
 * usage error (printed). */
int lg_options_parse(int argc, char **argv, struct lg_options *opt);

#endif
