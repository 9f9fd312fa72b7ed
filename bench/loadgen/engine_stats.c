#include "engine_stats.h"

#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define PROBE_POLL_MS 2
#define PROBE_TIMEOUT_MS 3000

const char *const lg_engine_bucket_labels[LG_ENGINE_BUCKETS] = {
    "1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "1024", "2048", "4096", "inf"};

static uint64_t get_u64(json_t *doc, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(doc, key));
    return v > 0 ? (uint64_t)v : 0;
}

static bool stats_parse(const char *path, struct lg_engine_stats *s)
{
    json_t *doc = json_load_file(path, 0, NULL);
    if (doc == NULL)
        return false;
    memset(s, 0, sizeof *s);
    s->batches = get_u64(doc, "batches");
    s->batch_writes = get_u64(doc, "batch_writes");
    s->batch_size_max = get_u64(doc, "batch_size_max");
    s->commit_us_total = get_u64(doc, "commit_us_total");
    s->commit_us_max = get_u64(doc, "commit_us_max");
    s->commit_failures = get_u64(doc, "commit_failures");
    s->apply_us_total = get_u64(doc, "apply_us_total");
    s->write_us_total = get_u64(doc, "write_us_total");
    s->syncs = get_u64(doc, "syncs");
    s->sync_us_total = get_u64(doc, "sync_us_total");
    s->reads = get_u64(doc, "reads");
    s->cpu_us = get_u64(doc, "cpu_user_us") + get_u64(doc, "cpu_sys_us");
    json_t *hist = json_object_get(doc, "batch_hist");
    for (int i = 0; i < LG_ENGINE_BUCKETS; i++)
        s->hist[i] = get_u64(hist, lg_engine_bucket_labels[i]);
    s->valid = json_object_get(doc, "batches") != NULL;
    json_decref(doc);
    return s->valid;
}

static void probe_on_timer(uv_timer_t *t)
{
    struct lg_engine_probe *p = t->data;
    p->waited_ms += PROBE_POLL_MS;
    bool got = stats_parse(p->path, p->out);
    if (!got && p->waited_ms < PROBE_TIMEOUT_MS)
        return;
    uv_timer_stop(t);
    p->out->valid = got;
    p->done(p);
}

void lg_engine_probe_start(struct lg_engine_probe *p, uv_loop_t *loop)
{
    memset(p->out, 0, sizeof *p->out);
    p->waited_ms = 0;
    if (!p->active) {
        uv_timer_init(loop, &p->timer);
        p->timer.data = p;
        p->active = true;
    }
    unlink(p->path);
    if (p->pid <= 0 || kill(p->pid, SIGUSR1) != 0) {
        p->done(p);
        return;
    }
    uv_timer_start(&p->timer, probe_on_timer, PROBE_POLL_MS, PROBE_POLL_MS);
}

void lg_engine_probe_close(struct lg_engine_probe *p)
{
    if (p->active && !uv_is_closing((uv_handle_t *)&p->timer))
        uv_close((uv_handle_t *)&p->timer, NULL);
}

void lg_engine_delta(const struct lg_engine_stats *a, const struct lg_engine_stats *b,
                     struct lg_engine_delta *d)
{
    memset(d, 0, sizeof *d);
    d->cpu_us = -1;
    if (!a->valid || !b->valid)
        return;
    d->valid = true;
    d->batches = b->batches - a->batches;
    d->batch_writes = b->batch_writes - a->batch_writes;
    d->reads = b->reads - a->reads;
    d->commit_failures = b->commit_failures - a->commit_failures;
    d->commit_us_total = b->commit_us_total - a->commit_us_total;
    d->apply_us_total = b->apply_us_total - a->apply_us_total;
    d->write_us_total = b->write_us_total - a->write_us_total;
    d->syncs = b->syncs - a->syncs;
    d->sync_us_total = b->sync_us_total - a->sync_us_total;
    if (a->cpu_us > 0 && b->cpu_us >= a->cpu_us)
        d->cpu_us = (int64_t)(b->cpu_us - a->cpu_us);
    int top = -1;
    for (int i = 0; i < LG_ENGINE_BUCKETS; i++) {
        d->hist[i] = b->hist[i] - a->hist[i];
        if (d->hist[i] > 0)
            top = i;
    }
    d->batch_max_exact = b->batch_size_max > a->batch_size_max;
    if (d->batch_max_exact)
        d->batch_max = b->batch_size_max;
    else if (top >= 0) /* at most the bucket's upper edge, and never above the engine's max */
        d->batch_max = top == LG_ENGINE_BUCKETS - 1 || (1ull << top) > b->batch_size_max
                           ? b->batch_size_max
                           : 1ull << top;
}
