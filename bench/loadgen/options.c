#include "options.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lg_util.h"
#include "sh_date.h"

static void usage(FILE *out)
{
    fputs(
        "usage: sanhe-loadgen --port N --ca FILE (--cert F --key F --hospital CODE |\n"
        "                     --terminal CERT,KEY,HOSPITAL...) --rate R [options]\n"
        "       sanhe-loadgen --make-dataset N FILE --policy POLICY.json\n"
        "       sanhe-loadgen --report OUT.json [--note TEXT] RESULT.json...\n"
        "       sanhe-loadgen --probe-fsync DIR [--json FILE]\n"
        "\n"
        "An open-loop load generator for sanhe-engine: requests go out on a fixed\n"
        "schedule (R per second, round-robin over the connections, pipelined) whatever\n"
        "the engine's replies do, and latency is taken from each request's SCHEDULED\n"
        "send time to its reply (no coordinated omission). TLS 1.3 with a client\n"
        "certificate; each connection uses one terminal (round-robin over --terminal).\n"
        "\n"
        "run options:\n"
        "  --host ADDR          numeric address of the engine (127.0.0.1)\n"
        "  --port N             its port\n"
        "  --ca FILE            the CA the engine's certificate chains to\n"
        "  --cert F --key F --hospital CODE   one terminal (a counter of CODE)\n"
        "  --terminal CERT,KEY,HOSPITAL       a terminal; repeat for several\n"
        "  --rate R             requests per second offered (1..10000000)\n"
        "  --connections C      connections (8)\n"
        "  --duration-s D       measured seconds (10), after --warmup-s W (2) unmeasured\n"
        "  --drain-s S          after the last send, wait at most S s for replies (5);\n"
        "                       requests unanswered then count as TIMEOUT errors\n"
        "  --mix SPEC           op mix, integer weights (settle=80,presettle=10,eligibility=10);\n"
        "                       ops: settle presettle reverse cancel query eligibility.\n"
        "                       reverse (by settlement id), cancel (by request id) and query\n"
        "                       name an earlier settle of this run on the same terminal; with\n"
        "                       none yet, a settle is sent instead (counted as substituted)\n"
        "  --visits SPEC        visit mix (outpatient=60,chronic=10,inpatient=30)\n"
        "  --lines MIN-MAX      lines per claim, uniform, for every visit; default by visit:\n"
        "                       outpatient 1-5, chronic 2-8, inpatient 10-40. A line is a\n"
        "                       catalog item, 1-10 units, amount = units x unit price (fen)\n"
        "  --dataset FILE       catalog codes and persons from a case-format JSON file\n"
        "                       (default: the built-in dataset of --make-dataset)\n"
        "  --persons SPEC       gen:N (the first N built-in persons, N up to 10000000, made\n"
        "                       when drawn; default gen:10000), A-B (dataset persons A..B,\n"
        "                       0-based), or a file of ids. Built-in persons that\n"
        "                       sanhe-datagen writes as dead are not drawn\n"
        "  --catalog SPEC       gen:M: draw lines from the M-item catalog of sanhe-datagen\n"
        "                       --items M (default: the 300 built-in items, or --dataset's)\n"
        "  --date YYYY-MM-DD    the claims' date (2026-06-15)\n"
        "  --seed N             the request stream's seed (1)\n"
        "  --json FILE          write the result as one JSON object (\"-\": stdout)\n"
        "  --label TEXT         a name for this run in the result\n"
        "  --kind NAME          the result's kind (sanhe; tls_echo against bench_echo)\n"
        "  --run-tag TAG        request id prefix (default: from the time and pid); ids are\n"
        "                       TAG-SEQ, unique per hospital across runs on one engine\n"
        "  --engine-pid PID --engine-stats FILE\n"
        "                       signal the engine (SIGUSR1) at the window's start and end and\n"
        "                       report its group-commit batch sizes and commit times\n"
        "  --tick-us N          send tick in us (250): from 10^6/N requests/s on, a periodic\n"
        "                       timerfd sends what is due every N us; below, each request\n"
        "                       is sent at its scheduled time\n"
        "  --expect-rate-pct P  exit 3 (saturated) when fewer than P %% of the offered rate\n"
        "                       was achieved, or more than 1 %% of requests failed\n"
        "\n"
        "--make-dataset N FILE  reference data for `sanhe-engine load`: the --policy\n"
        "                       document, six hospitals (one per level), 300 catalog items,\n"
        "                       N persons with a mix of categories, counter-hNNNNNNNNN\n"
        "                       terminals; deterministic (a run needs no file to match it)\n"
        "--report OUT FILES...  combines run results into OUT and prints a table\n"
        "--probe-fsync DIR      times 4 KiB write + fdatasync in DIR (a commit's floor)\n"
        "\n"
        "exit status: 0 done, 1 failed, 2 usage, 3 saturated (--expect-rate-pct)\n",
        out);
}

enum {
    O_HOST = 256,
    O_PORT,
    O_CA,
    O_CERT,
    O_KEY,
    O_HOSPITAL,
    O_TERMINAL,
    O_RATE,
    O_CONNS,
    O_DURATION,
    O_WARMUP,
    O_DRAIN,
    O_MIX,
    O_VISITS,
    O_LINES,
    O_DATASET,
    O_PERSONS,
    O_CATALOG,
    O_DATE,
    O_SEED,
    O_JSON,
    O_LABEL,
    O_RUN_TAG,
    O_ENGINE_PID,
    O_ENGINE_STATS,
    O_TICK,
    O_MAKE,
    O_POLICY,
    O_REPORT,
    O_NOTE,
    O_EXPECT,
    O_PROBE,
    O_HELP,
    O_KIND
};

static const struct option long_options[] = {{"host", 1, 0, O_HOST},
                                             {"port", 1, 0, O_PORT},
                                             {"ca", 1, 0, O_CA},
                                             {"cert", 1, 0, O_CERT},
                                             {"key", 1, 0, O_KEY},
                                             {"hospital", 1, 0, O_HOSPITAL},
                                             {"terminal", 1, 0, O_TERMINAL},
                                             {"rate", 1, 0, O_RATE},
                                             {"connections", 1, 0, O_CONNS},
                                             {"duration-s", 1, 0, O_DURATION},
                                             {"warmup-s", 1, 0, O_WARMUP},
                                             {"drain-s", 1, 0, O_DRAIN},
                                             {"mix", 1, 0, O_MIX},
                                             {"visits", 1, 0, O_VISITS},
                                             {"lines", 1, 0, O_LINES},
                                             {"dataset", 1, 0, O_DATASET},
                                             {"persons", 1, 0, O_PERSONS},
                                             {"catalog", 1, 0, O_CATALOG},
                                             {"date", 1, 0, O_DATE},
                                             {"seed", 1, 0, O_SEED},
                                             {"json", 1, 0, O_JSON},
                                             {"label", 1, 0, O_LABEL},
                                             {"run-tag", 1, 0, O_RUN_TAG},
                                             {"engine-pid", 1, 0, O_ENGINE_PID},
                                             {"engine-stats", 1, 0, O_ENGINE_STATS},
                                             {"tick-us", 1, 0, O_TICK},
                                             {"make-dataset", 1, 0, O_MAKE},
                                             {"policy", 1, 0, O_POLICY},
                                             {"report", 1, 0, O_REPORT},
                                             {"note", 1, 0, O_NOTE},
                                             {"expect-rate-pct", 1, 0, O_EXPECT},
                                             {"probe-fsync", 1, 0, O_PROBE},
                                             {"help", 0, 0, O_HELP},
                                             {"kind", 1, 0, O_KIND},
                                             {0, 0, 0, 0}};

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sanhe-loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (--help for usage)\n", stderr);
    va_end(ap);
    return 2;
}

static int number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out, const char *name)
{
    return lg_parse_u64(s, lo, hi, out) ? 0 : bad("%s %s: not a number in range", name, s);
}

/* CERT,KEY,HOSPITAL, split in place (argv is ours to change). */
static int add_terminal(struct lg_options *o, char *spec)
{
    char *key = strchr(spec, ',');
    char *hospital = key != NULL ? strchr(key + 1, ',') : NULL;
    if (hospital == NULL || o->terminal_count == LG_TERMINALS_MAX)
        return bad("--terminal %s: want CERT,KEY,HOSPITAL (64 at most)", spec);
    *key++ = '\0';
    *hospital++ = '\0';
    o->terminals[o->terminal_count++] = (struct lg_terminal_opt){spec, key, hospital};
    return 0;
}

static int parse_lines(struct lg_options *o, const char *spec)
{
    char lo[16];
    uint64_t a, b;
    size_t len = strcspn(spec, "-");
    if (spec[len] != '-' || len == 0 || len >= sizeof lo)
        return bad("--lines %s: want MIN-MAX", spec);
    memcpy(lo, spec, len);
    lo[len] = '\0';
    if (!lg_parse_u64(lo, 1, LG_LINES_MAX, &a) ||
        !lg_parse_u64(spec + len + 1, a, LG_LINES_MAX, &b))
        return bad("--lines %s: want MIN-MAX within 1..1000", spec);
    for (int v = 0; v < LG_VISIT_COUNT; v++) {
        o->shape.lines_min[v] = (uint32_t)a;
        o->shape.lines_max[v] = (uint32_t)b;
    }
    o->lines_spec = spec;
    return 0;
}

static int weights(struct lg_weights *w, const char *spec, const char *const *names)
{
    char err[160];
    return lg_weights_parse(spec, names, w, err, sizeof err) == 0 ? 0 : bad("%s", err);
}

/* One option of a run; 0, or 2 after a usage error. */
static int run_option(struct lg_options *o, int c, char *arg)
{
    uint64_t v = 0;
    int rc = 0;
    switch (c) {
    case O_HOST:
        o->host = arg;
        break;
    case O_PORT:
        rc = number(arg, 1, 65535, &v, "--port");
        o->port = (int)v;
        break;
    case O_CA:
        o->ca = arg;
        break;
    case O_CERT:
        o->terminals[0].cert = arg;
        break;
    case O_KEY:
        o->terminals[0].key = arg;
        break;
    case O_HOSPITAL:
        o->terminals[0].hospital = arg;
        break;
    case O_TERMINAL:
        rc = add_terminal(o, arg);
        break;
    case O_RATE:
        rc = number(arg, 1, LG_RATE_MAX, &v, "--rate");
        o->rate = (uint32_t)v;
        break;
    case O_CONNS:
        rc = number(arg, 1, LG_CONNECTIONS_MAX, &v, "--connections");
        o->connections = (uint32_t)v;
        break;
    case O_DURATION:
        rc = number(arg, 1, 3600, &v, "--duration-s");
        o->duration_s = (uint32_t)v;
        break;
    case O_WARMUP:
        rc = number(arg, 0, 3600, &v, "--warmup-s");
        o->warmup_s = (uint32_t)v;
        break;
    case O_DRAIN:
        rc = number(arg, 1, 600, &v, "--drain-s");
        o->drain_s = (uint32_t)v;
        break;
    case O_MIX:
        rc = weights(&o->mix, arg, lg_op_names);
        break;
    case O_VISITS:
        rc = weights(&o->shape.visits, arg, lg_visit_names);
        break;
    case O_LINES:
        rc = parse_lines(o, arg);
        break;
    case O_DATASET:
        o->dataset = arg;
        break;
    case O_PERSONS:
        o->persons_spec = arg;
        break;
    case O_CATALOG:
        o->catalog_spec = arg;
        break;
    case O_DATE:
        o->date = arg;
        rc = sh_date_parse(arg) != 0 ? 0 : bad("--date %s: want YYYY-MM-DD", arg);
        break;
    case O_SEED:
        rc = number(arg, 0, UINT64_MAX, &o->seed, "--seed");
        break;
    case O_JSON:
        o->json_out = arg;
        break;
    case O_LABEL:
        o->label = arg;
        break;
    case O_KIND:
        o->kind = arg;
        break;
    case O_RUN_TAG:
        o->run_tag = arg;
        break;
    case O_ENGINE_PID:
        rc = number(arg, 1, 1u << 30, &v, "--engine-pid");
        o->engine_pid = (pid_t)v;
        break;
    case O_ENGINE_STATS:
        o->engine_stats = arg;
        break;
    case O_TICK:
        rc = number(arg, 10, 100000, &v, "--tick-us");
        o->tick_us = (uint32_t)v;
        break;
    case O_EXPECT:
        rc = number(arg, 1, 100, &v, "--expect-rate-pct");
        o->expect_rate_pct = (uint32_t)v;
        break;
    default:
        rc = bad("%s", "unknown option");
        break;
    }
    return rc;
}

static void defaults(struct lg_options *o)
{
    char err[64];
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->connections = 8;
    o->duration_s = 10;
    o->warmup_s = 2;
    o->drain_s = 5;
    o->date = "2026-06-15";
    o->seed = 1;
    o->tick_us = 250; /* schedule.c: why not finer */
    o->kind = "sanhe";
    lg_weights_parse("settle=80,presettle=10,eligibility=10", lg_op_names, &o->mix, err,
                     sizeof err);
    lg_weights_parse("outpatient=60,chronic=10,inpatient=30", lg_visit_names, &o->shape.visits, err,
                     sizeof err);
    lg_claim_shape_default_lines(&o->shape);
}

/* The single --cert/--key/--hospital terminal, or the --terminal list. */
static int check_run(struct lg_options *o)
{
    struct lg_terminal_opt *t0 = &o->terminals[0];
    if (o->terminal_count == 0 && t0->cert != NULL)
        o->terminal_count = 1;
    if (o->port == 0 || o->ca == NULL || o->rate == 0)
        return bad("%s", "--port, --ca and --rate are required");
    if (o->terminal_count == 0 || t0->cert == NULL || t0->key == NULL || t0->hospital == NULL)
        return bad("%s", "a terminal is required: --cert, --key and --hospital, or --terminal");
    if ((o->engine_pid != 0) != (o->engine_stats != NULL))
        return bad("%s", "--engine-pid and --engine-stats go together");
    if (o->run_tag != NULL && (strlen(o->run_tag) == 0 || strlen(o->run_tag) > 16))
        return bad("--run-tag %s: 1 to 16 characters", o->run_tag);
    return 0;
}

static int check_mode(struct lg_options *o, int argc, char **argv)
{
    if (o->mode == LG_MODE_MAKE_DATASET) {
        if (optind != argc - 1 || o->policy == NULL)
            return bad("%s", "--make-dataset N FILE --policy POLICY.json");
        o->make_out = argv[optind];
        return 0;
    }
    if (o->mode == LG_MODE_REPORT) {
        for (; optind < argc && o->report_count < LG_REPORT_INPUTS_MAX; optind++)
            o->report_inputs[o->report_count++] = argv[optind];
        return optind == argc && o->report_count > 0
                   ? 0
                   : bad("%s", "--report OUT FILE... (64 at most)");
    }
    if (optind != argc)
        return bad("unexpected argument %s", argv[optind]);
    return o->mode == LG_MODE_PROBE_FSYNC ? 0 : check_run(o);
}

int lg_options_parse(int argc, char **argv, struct lg_options *o)
{
    defaults(o);
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        int rc = 0;
        if (c == O_HELP) {
            usage(stdout);
            return 1;
        } else if (c == O_MAKE) {
            o->mode = LG_MODE_MAKE_DATASET;
            rc = number(optarg, 1, LG_MAKE_PERSONS_MAX, &v, "--make-dataset");
            o->make_persons = (size_t)v;
        } else if (c == O_POLICY) {
            o->policy = optarg;
        } else if (c == O_REPORT) {
            o->mode = LG_MODE_REPORT;
            o->report_out = optarg;
        } else if (c == O_PROBE) {
            o->mode = LG_MODE_PROBE_FSYNC;
            o->probe_dir = optarg;
        } else if (c == O_JSON) {
            o->json_out = optarg; /* a run's, or the probe's */
        } else if (c == O_NOTE) {
            o->note = optarg;
        } else if (c == '?') {
            rc = 2;
        } else {
            rc = run_option(o, c, optarg);
        }
        if (rc != 0)
            return rc;
    }
    return check_mode(o, argc, argv);
}
