/*
 * One line per event to stderr: "2026-03-10T08:00:00.123Z warn: ...".
 * Never pass a resident ID in clear: mask it with sh_person_id_mask first.
 */
#ifndef NET_LOG_H
#define NET_LOG_H

#include <stdbool.h>

enum net_log_level { NET_LOG_ERROR = 0, NET_LOG_WARN, NET_LOG_INFO, NET_LOG_DEBUG };

void net_log_set_level(enum net_log_level level);
bool net_log_enabled(enum net_log_level level);

/* "error", "warn", "info" or "debug"; returns 0, or -1 for another name. */
int net_log_level_parse(const char *name, enum net_log_level *out);

void net_log(enum net_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* At level "info" whatever the configured level: for what an operator asked
 * for (the statistics on SIGUSR1) and the start and stop lines. */
void net_log_always(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
