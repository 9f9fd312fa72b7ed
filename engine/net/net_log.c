#include "net_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum net_log_level log_level = NET_LOG_INFO;

static const char *const log_names[] = {"error", "warn", "info", "debug"};

void net_log_set_level(enum net_log_level level) { log_level = level; }

bool net_log_enabled(enum net_log_level level) { return level <= log_level; }

int net_log_level_parse(const char *name, enum net_log_level *out)
{
    for (int i = NET_LOG_ERROR; i <= NET_LOG_DEBUG; i++) {
        if (strcmp(name, log_names[i]) == 0) {
            *out = (enum net_log_level)i;
            return 0;
        }
    }
    return -1;
}

static void log_line(enum net_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

void net_log(enum net_log_level level, const char *fmt, ...)
{
    if (!net_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(level, fmt, ap);
    va_end(ap);
}

void net_log_always(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(NET_LOG_INFO, fmt, ap);
    va_end(ap);
}

static void log_line(enum net_log_level level, const char *fmt, va_list ap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    /* Format the whole line first so that one write carries it: lines of
     * concurrent processes (tests run several engines) never interleave. */
    char line[1024];
    int n = snprintf(line, sizeof line, "%s.%03ldZ %s: ", stamp, ts.tv_nsec / 1000000,
                     log_names[level]);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = strlen(line);
    line[len] = '\n';
    fwrite(line, 1, len + 1, stderr);
}
