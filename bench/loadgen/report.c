/* One run's result: the human summary and the JSON object. */
#include "report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sh_error.h"

static const uint32_t pcts[] = {50000, 90000, 99000, 99900, 100000};

const char *lg_error_name(int slot)
{
    if (slot == LG_ERR_DISCONNECTED)
        return "DISCONNECTED";
    if (slot == LG_ERR_UNMATCHED)
        return "UNMATCHED";
    return sh_error_name(-slot);
}

uint64_t lg_errors_total(const struct lg_result *r)
{
    uint64_t n = 0;
    for (int i = 1; i < LG_ERR_SLOTS; i++)
        n += r->errors[i];
    return n;
}

/* OK replies of the window per second, from the window's first scheduled
 * send to the last OK reply: an engine that falls behind answers late, and
 * the rate shows it. */
double lg_achieved_per_s(const struct lg_result *r)
{
    int64_t span = r->last_ok_ns - r->window_start_ns;
    return r->ok > 0 && span > 0 ? (double)r->ok * 1e9 / (double)span : 0.0;
}

static double us(uint64_t ns) { return (double)ns / 1000.0; }

/* Microseconds with one decimal, as a JSON number. */
static json_t *j_us(uint64_t ns) { return json_real((double)((ns + 50) / 100) / 10.0); }

/* ---- Human ----------------------------------------------------------------------- */

static void print_hist_line(FILE *out, const char *what, const struct lg_hist *h)
{
    fprintf(out, "  %-22s p50 %8.0f  p90 %8.0f  p99 %8.0f  p99.9 %8.0f  max %8.0f  (n=%llu)\n",
            what, us(lg_hist_percentile(h, pcts[0])), us(lg_hist_percentile(h, pcts[1])),
            us(lg_hist_percentile(h, pcts[2])), us(lg_hist_percentile(h, pcts[3])), us(h->max_ns),
            (unsigned long long)h->total);
}

static void print_errors(const struct lg_result *r, FILE *out)
{
    fprintf(out, "  errors: %llu", (unsigned long long)lg_errors_total(r));
    for (int i = 1; i < LG_ERR_SLOTS; i++)
        if (r->errors[i] > 0)
            fprintf(out, "  %s %llu", lg_error_name(i), (unsigned long long)r->errors[i]);
    fputc('\n', out);
}

/* A mean, 0 over nothing. */
static double per(uint64_t total, uint64_t n) { return n > 0 ? (double)total / (double)n : 0.0; }

static void print_engine(const struct lg_engine_delta *e, FILE *out)
{
    if (!e->valid)
        return;
    fprintf(out,
            "  engine: %llu group commits of %llu writes: mean %.2f, max %s%llu; "
            "commit %.0f us mean (apply %.0f, write %.0f; %llu syncs of %.0f); %llu reads\n"
            "  batch sizes:",
            (unsigned long long)e->batches, (unsigned long long)e->batch_writes,
            per(e->batch_writes, e->batches),
            e->batch_max_exact ? "" : "<=", (unsigned long long)e->batch_max,
            per(e->commit_us_total, e->batches), per(e->apply_us_total, e->batches),
            per(e->write_us_total, e->batches), (unsigned long long)e->syncs,
            per(e->sync_us_total, e->syncs), (unsigned long long)e->reads);
    for (int i = 0; i < LG_ENGINE_BUCKETS; i++)
        if (e->hist[i] > 0)
            fprintf(out, " <=%s:%llu", lg_engine_bucket_labels[i], (unsigned long long)e->hist[i]);
    fputc('\n', out);
}

static double cpu_us_per_request(const struct lg_result *r, double cores);

/* "cpu over 10.0 s: engine 1.02 cores (63.5 us a request), generator 0.55
 * (34.1 us); machine 1.71 of 2 busy, 0.12 stolen" (what is unknown left out). */
static void print_cpu(const struct lg_result *r, FILE *out)
{
    const struct lg_cpu_use *c = &r->cpu;
    if (!c->valid)
        return;
    fprintf(out, "  cpu over %.1f s:", c->window_s);
    if (c->engine_cores >= 0)
        fprintf(out, " engine %.2f cores (%.1f us a request),", c->engine_cores,
                cpu_us_per_request(r, c->engine_cores));
    fprintf(out, " generator %.2f (%.1f us)", c->loadgen_cores,
            cpu_us_per_request(r, c->loadgen_cores));
    if (c->machine_busy_cores >= 0)
        fprintf(out, "; machine %.2f of %u busy, %.2f stolen", c->machine_busy_cores, c->cores,
                c->steal_cores);
    fputc('\n', out);
}

void lg_report_print(const struct lg_result *r, FILE *out)
{
    fprintf(out,
            "sanhe-loadgen %s%s%s: %u/s offered over %u connections (%u terminals), %u s "
            "after %u s warm-up; mix %s\n",
            r->tag, r->label[0] ? " " : "", r->label, r->rate, r->connections, r->terminals,
            r->duration_s, r->warmup_s, r->mix);
    fprintf(out,
            "  requests: %llu scheduled, %llu sent, %llu answered, %llu OK; achieved "
            "%.1f/s; %llu substituted by a settle\n",
            (unsigned long long)r->scheduled, (unsigned long long)r->sent,
            (unsigned long long)r->answered, (unsigned long long)r->ok, lg_achieved_per_s(r),
            (unsigned long long)r->substituted);
    fprintf(out, "  claims: %llu, %.1f lines mean (%s); %llu persons\n",
            (unsigned long long)r->claims,
            r->claims > 0 ? (double)r->claim_lines / (double)r->claims : 0.0, r->lines,
            (unsigned long long)r->persons);
    fprintf(out, "  latency, us (OK replies, from the scheduled send):\n");
    print_hist_line(out, "all", &r->latency);
    for (int i = 0; i < LG_OP_COUNT; i++)
        if (r->ops[i].sent > 0)
            print_hist_line(out, lg_op_names[i], &r->ops[i].hist);
    print_hist_line(out, "(from the actual send)", &r->service);
    print_hist_line(out, "(generator send lag)", &r->lag);
    print_errors(r, out);
    print_engine(&r->engine, out);
    print_cpu(r, out);
    if (r->failure[0] != '\0')
        fprintf(out, "  FAILURE: %s\n", r->failure);
}

/* ---- JSON ----------------------------------------------------------------------------- */

static json_t *j_hist_brief(const struct lg_hist *h)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o}", "count", (json_int_t)h->total, "p50_us",
                     j_us(lg_hist_percentile(h, pcts[0])), "p99_us",
                     j_us(lg_hist_percentile(h, pcts[2])), "p999_us",
                     j_us(lg_hist_percentile(h, pcts[3])), "max_us", j_us(h->max_ns));
}

static json_t *j_weights(const char *spec)
{
    json_t *o = json_object();
    char copy[160];
    snprintf(copy, sizeof copy, "%s", spec);
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (eq != NULL) {
            *eq = '\0';
            json_object_set_new(o, item, json_integer(strtoll(eq + 1, NULL, 10)));
        }
    }
    return o;
}

static json_t *j_by_op(const struct lg_result *r)
{
    json_t *o = json_object();
    for (int i = 0; i < LG_OP_COUNT; i++) {
        if (r->ops[i].sent == 0)
            continue;
        json_t *op = j_hist_brief(&r->ops[i].hist);
        json_object_set_new(op, "sent", json_integer((json_int_t)r->ops[i].sent));
        json_object_set_new(op, "errors", json_integer((json_int_t)r->ops[i].errors));
        json_object_set_new(o, lg_op_names[i], op);
    }
    return o;
}

static json_t *j_errors(const struct lg_result *r)
{
    json_t *o = json_object();
    for (int i = 1; i < LG_ERR_SLOTS; i++)
        if (r->errors[i] > 0)
            json_object_set_new(o, lg_error_name(i), json_integer((json_int_t)r->errors[i]));
    return o;
}

static json_t *j_engine(const struct lg_engine_delta *e)
{
    if (!e->valid)
        return json_null();
    json_t *hist = json_object();
    for (int i = 0; i < LG_ENGINE_BUCKETS; i++)
        if (e->hist[i] > 0)
            json_object_set_new(hist, lg_engine_bucket_labels[i],
                                json_integer((json_int_t)e->hist[i]));
    return json_pack("{s:I, s:I, s:f, s:I, s:b, s:o, s:f, s:f, s:f, s:I, s:f, s:I, s:I}", "batches",
                     (json_int_t)e->batches, "batch_writes", (json_int_t)e->batch_writes,
                     "batch_mean", per(e->batch_writes, e->batches), "batch_max",
                     (json_int_t)e->batch_max, "batch_max_exact", e->batch_max_exact, "batch_hist",
                     hist, "commit_us_mean", per(e->commit_us_total, e->batches), "apply_us_mean",
                     per(e->apply_us_total, e->batches), "write_us_mean",
                     per(e->write_us_total, e->batches), "syncs", (json_int_t)e->syncs,
                     "sync_us_mean", per(e->sync_us_total, e->syncs), "reads", (json_int_t)e->reads,
                     "commit_failures", (json_int_t)e->commit_failures);
}

/* A figure rounded to 1/scale (scale 1000: three decimals); null when
 * unknown (negative). */
static double round_to(double v, double scale)
{
    return (double)(int64_t)(v * scale + 0.5) / scale;
}

static json_t *j_round(double v, double scale)
{
    return v < 0 ? json_null() : json_real(round_to(v, scale));
}

/* CPU microseconds a request (answered in the window) of `cores` over it. */
static double cpu_us_per_request(const struct lg_result *r, double cores)
{
    if (cores < 0 || r->answered == 0)
        return -1.0;
    return cores * r->cpu.window_s * 1e6 / (double)r->answered;
}

static json_t *j_cpu(const struct lg_result *r)
{
    const struct lg_cpu_use *c = &r->cpu;
    if (!c->valid)
        return json_null();
    const struct {
        const char *key;
        json_t *value;
    } f[] = {
        {"window_s", j_round(c->window_s, 1000)},
        {"cores", json_integer((json_int_t)c->cores)},
        {"engine_cores", j_round(c->engine_cores, 1000)},
        {"loadgen_cores", j_round(c->loadgen_cores, 1000)},
        {"machine_busy_cores", j_round(c->machine_busy_cores, 1000)},
        {"steal_cores", j_round(c->steal_cores, 1000)},
        {"engine_us_per_request", j_round(cpu_us_per_request(r, c->engine_cores), 10)},
        {"loadgen_us_per_request", j_round(cpu_us_per_request(r, c->loadgen_cores), 10)},
    };
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (o != NULL)
            json_object_set_new(o, f[i].key, f[i].value); /* takes the reference */
        else
            json_decref(f[i].value);
    }
    return o;
}

static void iso_now(char *buf, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *j_latency(json_t *o, const struct lg_result *r)
{
    static const char *const keys[] = {"p50_us", "p90_us", "p99_us", "p999_us", "max_us"};
    for (int i = 0; i < 5; i++)
        json_object_set_new(o, keys[i], j_us(lg_hist_percentile(&r->latency, pcts[i])));
    json_object_set_new(o, "mean_us", j_round(lg_hist_mean_ns(&r->latency) / 1000.0, 10));
    json_object_set_new(o, "service_us", j_hist_brief(&r->service));
    json_object_set_new(o, "send_lag_us", j_hist_brief(&r->lag));
    json_object_set_new(o, "by_op", j_by_op(r));
    return o;
}

static json_t *j_result(const struct lg_result *r)
{
    char when[32];
    iso_now(when, sizeof when);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:s, s:f, s:I, s:i, s:i, s:i, s:f, s:i, s:i, s:s, s:s}", "kind",
        r->kind[0] != '\0' ? r->kind : "sanhe", "label", r->label, "date", when, "op_mix",
        j_weights(r->mix), "visits", j_weights(r->visits), "lines_per_claim", r->lines,
        "lines_mean", r->claims > 0 ? (double)r->claim_lines / (double)r->claims : 0.0, "persons",
        (json_int_t)r->persons, "connections", (int)r->connections, "terminals", (int)r->terminals,
        "offered_per_s", (int)r->rate, "achieved_per_s", round_to(lg_achieved_per_s(r), 10),
        "duration_s", (int)r->duration_s, "warmup_s", (int)r->warmup_s, "claim_date", r->date,
        "run_tag", r->tag);
    json_object_set_new(o, "requests",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "scheduled",
                                  (json_int_t)r->scheduled, "sent", (json_int_t)r->sent, "answered",
                                  (json_int_t)r->answered, "ok", (json_int_t)r->ok, "substituted",
                                  (json_int_t)r->substituted));
    j_latency(o, r);
    json_object_set_new(o, "errors", j_errors(r));
    json_object_set_new(o, "errors_total", json_integer((json_int_t)lg_errors_total(r)));
    json_object_set_new(o, "engine", j_engine(&r->engine));
    json_object_set_new(o, "cpu", j_cpu(r));
    if (r->failure[0] != '\0')
        json_object_set_new(o, "failure", json_string(r->failure));
    return o;
}

int lg_report_write_json(const struct lg_result *r, const char *path)
{
    json_t *doc = j_result(r);
    int rc = -1;
    if (doc != NULL && strcmp(path, "-") == 0)
        rc = json_dumpf(doc, stdout,
                        JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) == 0 &&
                     puts("") >= 0
                 ? 0
                 : -1;
    else if (doc != NULL)
        rc = json_dump_file(doc, path,
                            JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(doc);
    return rc;
}
