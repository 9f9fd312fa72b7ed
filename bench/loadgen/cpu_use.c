#include "cpu_use.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint64_t timeval_us(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* The first line of /proc/stat: "cpu  user nice system idle iowait irq
 * softirq steal ..." in clock ticks, summed over every CPU. Busy time is
 * taken as what is left of the window once idle, iowait and steal are
 * out: on a tickless kernel those are measured, while user and system are
 * sampled at the tick, which at light load missed nine tenths of the
 * generator's and the engine's own getrusage time on this machine. */
static bool machine_read(struct lg_cpu_snap *s)
{
    char line[512];
    FILE *f = fopen("/proc/stat", "r");
    bool got = f != NULL && fgets(line, sizeof line, f) != NULL;
    if (f != NULL)
        fclose(f);
    if (!got || strncmp(line, "cpu ", 4) != 0)
        return false;
    uint64_t v[8];
    char *at = line + 4;
    for (int i = 0; i < 8; i++) {
        char *end;
        errno = 0;
        v[i] = strtoull(at, &end, 10);
        if (end == at || errno != 0)
            return false;
        at = end;
    }
    s->machine_idle_ticks = v[3] + v[4];
    s->machine_steal_ticks = v[7];
    return true;
}

void lg_cpu_snap_take(struct lg_cpu_snap *s)
{
    memset(s, 0, sizeof *s);
    struct timespec ts;
    struct rusage ru;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || getrusage(RUSAGE_SELF, &ru) != 0)
        return;
    s->wall_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    s->self_us = timeval_us(ru.ru_utime) + timeval_us(ru.ru_stime);
    s->machine_valid = machine_read(s);
    s->valid = true;
}

void lg_cpu_use_compute(const struct lg_cpu_snap *a, const struct lg_cpu_snap *b, int64_t engine_us,
                        struct lg_cpu_use *out)
{
    memset(out, 0, sizeof *out);
    out->engine_cores = out->machine_busy_cores = out->steal_cores = -1.0;
    if (!a->valid || !b->valid || b->wall_ns <= a->wall_ns || b->self_us < a->self_us)
        return;
    out->valid = true;
    out->window_s = (double)(b->wall_ns - a->wall_ns) / 1e9;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    out->cores = cores > 0 ? (uint32_t)cores : 0;
    out->loadgen_cores = (double)(b->self_us - a->self_us) / 1e6 / out->window_s;
    if (engine_us >= 0)
        out->engine_cores = (double)engine_us / 1e6 / out->window_s;
    long hz = sysconf(_SC_CLK_TCK);
    if (a->machine_valid && b->machine_valid && hz > 0 && out->cores > 0 &&
        b->machine_idle_ticks >= a->machine_idle_ticks &&
        b->machine_steal_ticks >= a->machine_steal_ticks) {
        double ticks = out->window_s * (double)hz;
        double idle = (double)(b->machine_idle_ticks - a->machine_idle_ticks) / ticks;
        out->steal_cores = (double)(b->machine_steal_ticks - a->machine_steal_ticks) / ticks;
        double busy = (double)out->cores - idle - out->steal_cores;
        out->machine_busy_cores = busy < 0 ? 0 : busy;
    }
}
