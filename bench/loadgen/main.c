/*
 * sanhe-loadgen: the open-loop load generator of bench/ (usage: --help).
 *
 *   run           options.c -> run.c (set-up, connections, the end)
 *                 schedule.c (the open-loop sender), replies.c (matching)
 *                 libsanhe-client's pipelined connection (sanhe_pipe)
 *                 claims.c (requests), dataset.c (ids, catalog), mix.c
 *                 histogram.c, engine_stats.c, report.c
 *   --make-dataset  dataset_make.c
 *   --report        report_table.c
 *   --probe-fsync   probe.c
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "dataset.h"
#include "lg_util.h"
#include "options.h"
#include "probe.h"
#include "report.h"
#include "run.h"

static int make_dataset(const struct lg_options *o)
{
    char err[256];
    if (lg_dataset_make(o->make_persons, o->policy, o->make_out, err, sizeof err) != 0) {
        fprintf(stderr, "sanhe-loadgen: %s\n", err);
        return 1;
    }
    return 0;
}

/* Fewer answers than the engine was offered, or too many failures: the
 * step above this one would only measure a queue. */
static bool saturated(const struct lg_options *o, const struct lg_result *r)
{
    if (o->expect_rate_pct == 0)
        return false;
    bool slow = lg_achieved_per_s(r) * 100.0 < (double)o->expect_rate_pct * (double)o->rate;
    bool failing = lg_errors_total(r) * 100 > r->scheduled;
    return slow || failing;
}

static int run(const struct lg_options *o)
{
    static struct lg_result res; /* large (the histograms): not on the stack */
    int rc = lg_run(o, &res);
    lg_copy(res.kind, sizeof res.kind, o->kind); /* lg_run starts from a clean result */
    if (rc != 0) {
        fprintf(stderr, "sanhe-loadgen: %s\n", res.failure[0] ? res.failure : "the run failed");
        return 1;
    }
    lg_report_print(&res, stdout);
    fflush(stdout);
    if (o->json_out != NULL && lg_report_write_json(&res, o->json_out) != 0) {
        fprintf(stderr, "sanhe-loadgen: cannot write %s\n", o->json_out);
        return 1;
    }
    return saturated(o, &res) ? 3 : 0;
}

int main(int argc, char **argv)
{
    struct lg_options opt;
    int rc = lg_options_parse(argc, argv, &opt);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    signal(SIGPIPE, SIG_IGN); /* an engine that goes away is an error, not a crash */
    switch (opt.mode) {
    case LG_MODE_MAKE_DATASET:
        return make_dataset(&opt);
    case LG_MODE_PROBE_FSYNC:
        return lg_probe_fsync(opt.probe_dir, opt.json_out) == 0 ? 0 : 1;
    case LG_MODE_REPORT:
        return lg_report_combine(opt.report_out, opt.note, opt.report_inputs, opt.report_count) == 0
                   ? 0
                   : 1;
    case LG_MODE_RUN:
    default:
        return run(&opt);
    }
}
