/*
 * sanhe-engine's configuration file (INI, read with inih). Every key, its
 * default and its meaning: ops/sanhe-engine.conf.example. A key the engine
 * does not know is an error, named, and the engine refuses to start: a typo
 * must never silently leave a limit at its default.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "ledger.h"
#include "net.h"
#include "net_log.h"
#include "sh_error.h"

#define CONFIG_LISTEN_DEFAULT "127.0.0.1:7443"
#define CONFIG_MAP_SIZE_INITIAL_MB_DEFAULT 64u
#define CONFIG_MAP_SIZE_MAX_MB_DEFAULT 65536u
#define CONFIG_WAL_SEGMENT_MB_DEFAULT 16u /* engine/store/store_wal.h's defaults */
#define CONFIG_WAL_CHECKPOINT_MB_DEFAULT 4u
#define CONFIG_WAL_CHECKPOINT_MS_DEFAULT 1000u
#define CONFIG_UTC_OFFSET_MIN_DEFAULT 480
#define CONFIG_TERMINALS_MAX 256
#define CONFIG_AUDIT_RETENTION_DAYS_DEFAULT 366u

struct config {
    char path[PATH_MAX]; /* the file read, "" for none */
    /* [engine] */
    char data_dir[PATH_MAX];
    char listen_host[64];
    int listen_port;
    uint32_t map_size_initial_mb;
    uint32_t map_size_max_mb;
    int32_t utc_offset_min;
    bool durable;
    uint32_t wal_segment_mb;    /* the write-ahead log: a segment's size, and a */
    uint32_t wal_checkpoint_mb; /* checkpoint after this much log ... */
    uint32_t wal_checkpoint_ms; /* ... or this long */
    bool bench_echo;            /* the tls_echo benchmark baseline (net_config.bench_echo) */
    char port_file[PATH_MAX];   /* "" = none */
    char stats_file[PATH_MAX];  /* "" = none */
    uint32_t worker_threads;    /* libuv's pool (UV_THREADPOOL_SIZE), set by serve */
    /* [tls] */
    char tls_ca[PATH_MAX];
    char tls_cert[PATH_MAX];
    char tls_key[PATH_MAX];
    char tls_crl[PATH_MAX]; /* "" = none */
    /* [limits] */
    struct net_limits limits;
    struct ledger_quota quota;     /* the write quotas ([limits] too) */
    uint32_t audit_retention_days; /* [limits]; 0: kept for ever */
    /* [metrics] listen = HOST:PORT ("" = no metrics endpoint) */
    char metrics_listen[80];
    char metrics_host[64];
    int metrics_port;
    /* [log] */
    enum net_log_level log_level;
    /* [terminals] NAME = [HOSPITAL] ROLE [disabled] */
    struct net_terminal terminals[CONFIG_TERMINALS_MAX];
    size_t terminal_count;
};

/* The write quotas' defaults (ops/sanhe-engine.conf.example). */
struct ledger_quota config_quota_defaults(void);

/* Every key at its documented default. */
void config_defaults(struct config *config);

/* Defaults, then the file. Relative paths in the file are taken relative to
 * the file's directory. Each problem (unknown section or key, bad value) is
 * printed to stderr as "PATH: [section] key: ..."; then SH_E_BAD_REQUEST
 * with the count. */
int config_load(const char *path, struct config *config, struct sh_error *err);

#endif
