/*
 * --report OUT RESULT.json...: the runs of one measurement (bench/latency.sh
 * makes one per load step) in one document, with the machine they ran on,
 * and the table a person reads.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static json_t *machine(void)
{
    char model[256] = "unknown", line[512];
    FILE *in = fopen("/proc/cpuinfo", "r");
    while (in != NULL && fgets(line, sizeof line, in) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            snprintf(model, sizeof model, "%s", colon + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
    if (in != NULL)
        fclose(in);
    char load[64] = "";
    in = fopen("/proc/loadavg", "r");
    if (in != NULL && fgets(load, sizeof load, in) != NULL)
        load[strcspn(load, "\n")] = '\0';
    if (in != NULL)
        fclose(in);
    struct utsname u;
    uname(&u);
    return json_pack("{s:s, s:i, s:s, s:s}", "cpu", model, "cores",
                     (int)sysconf(_SC_NPROCESSORS_ONLN), "kernel", u.release, "loadavg_at_report",
                     load);
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static void print_header(void)
{
    printf("%-10s %9s %10s %8s %8s %8s %8s %9s %7s %7s %6s %9s %16s %14s\n", "step", "offered/s",
           "achieved/s", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us", "errors", "batch",
           "max", "commit_us", "apply/write/sync", "cpu_us/req e+g");
}

static void print_row(const json_t *run)
{
    const json_t *e = json_object_get(run, "engine");
    char batch[16] = "-", bmax[16] = "-", commit[16] = "-", stages[40] = "-";
    if (json_is_object(e)) {
        snprintf(batch, sizeof batch, "%.2f", num(e, "batch_mean"));
        snprintf(bmax, sizeof bmax, "%s%lld",
                 json_is_true(json_object_get(e, "batch_max_exact")) ? "" : "<=",
                 (long long)json_integer_value(json_object_get(e, "batch_max")));
        snprintf(commit, sizeof commit, "%.0f", num(e, "commit_us_mean"));
        if (json_object_get(e, "apply_us_mean") !=
            NULL) /* an engine without stage timing lacks it */
            snprintf(stages, sizeof stages, "%.0f/%.0f/%.0f", num(e, "apply_us_mean"),
                     num(e, "write_us_mean"), num(e, "sync_us_mean"));
    }
    /* CPU a request of the engine and of the generator (older runs lack
     * it; a run without the engine's stats has "-" for the engine's). */
    const json_t *cpu = json_object_get(run, "cpu");
    char cpus[40] = "-";
    if (json_is_object(cpu)) {
        const json_t *e_us = json_object_get(cpu, "engine_us_per_request");
        char eng[16] = "-";
        if (json_is_number(e_us))
            snprintf(eng, sizeof eng, "%.0f", json_number_value(e_us));
        snprintf(cpus, sizeof cpus, "%s+%.0f", eng, num(cpu, "loadgen_us_per_request"));
    }
    const char *label = json_string_value(json_object_get(run, "label"));
    printf("%-10s %9.0f %10.1f %8.0f %8.0f %8.0f %8.0f %9.0f %7lld %7s %6s %9s %16s %14s\n",
           label != NULL ? label : "", num(run, "offered_per_s"), num(run, "achieved_per_s"),
           num(run, "p50_us"), num(run, "p90_us"), num(run, "p99_us"), num(run, "p999_us"),
           num(run, "max_us"), (long long)json_integer_value(json_object_get(run, "errors_total")),
           batch, bmax, commit, stages, cpus);
}

int lg_report_combine(const char *out_path, const char *note, const char *const *inputs, size_t n)
{
    json_t *runs = json_array(), *disk = json_null();
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *run = json_load_file(inputs[i], JSON_PRESERVE_ORDER, &jerr);
        const char *kind = json_string_value(json_object_get(run, "kind"));
        if (run == NULL) {
            fprintf(stderr, "sanhe-loadgen: %s:%d: %s (left out)\n", inputs[i], jerr.line,
                    jerr.text);
        } else if (kind != NULL && strcmp(kind, "fsync-probe") == 0) {
            json_decref(disk);
            disk = run; /* the disk's fdatasync cost, measured alongside */
        } else {
            json_array_append_new(runs, run);
        }
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *doc = json_pack("{s:s, s:s, s:o, s:o, s:s, s:O}", "kind", "sanhe-latency", "date", when,
                            "machine", machine(), "disk", disk, "note", note != NULL ? note : "",
                            "runs", runs);
    print_header();
    for (size_t i = 0; i < json_array_size(runs); i++)
        print_row(json_array_get(runs, i));
    int rc = doc != NULL
                 ? json_dump_file(doc, out_path,
                                  JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))
                 : -1;
    if (rc != 0)
        fprintf(stderr, "sanhe-loadgen: cannot write %s\n", out_path);
    json_decref(doc);
    json_decref(runs);
    return rc;
}
