/*
 * Where the machine's CPU went during the measurement window: the engine's
 * (its own getrusage, in its stats file), the generator's (getrusage), the
 * machine's as a whole and the share the hypervisor stole (/proc/stat).
 * On two cores with the generator beside the engine, these say whether a
 * rate is out of reach for want of CPU before any storage is involved.
 */
#ifndef CPU_USE_H
#define CPU_USE_H

#include <stdbool.h>
#include <stdint.h>

/* One moment. */
struct lg_cpu_snap {
    bool valid;
    int64_t wall_ns;                                  /* CLOCK_MONOTONIC */
    uint64_t self_us;                                 /* this process, user + system */
    bool machine_valid;                               /* /proc/stat was read */
    uint64_t machine_idle_ticks, machine_steal_ticks; /* idle: idle + iowait */
};

/* Between two moments, in cores (CPU seconds per second of the window). */
struct lg_cpu_use {
    bool valid;
    double window_s;
    uint32_t cores;                         /* online CPUs */
    double loadgen_cores;                   /* this process */
    double engine_cores;                    /* < 0: unknown (no engine stats) */
    double machine_busy_cores, steal_cores; /* < 0: unknown (no /proc/stat) */
};

void lg_cpu_snap_take(struct lg_cpu_snap *snap);

/* engine_us: the engine's CPU microseconds between the two moments, or a
 * negative number when unknown. */
void lg_cpu_use_compute(const struct lg_cpu_snap *a, const struct lg_cpu_snap *b, int64_t engine_us,
                        struct lg_cpu_use *out);

#endif
