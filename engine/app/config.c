#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parse in progress. */
struct config_parse {
    struct config *config;
    char dir[PATH_MAX]; /* the file's directory, for relative paths */
    int problems;
};

enum key_type {
    KEY_U32,
    KEY_I32,
    KEY_U64,
    KEY_MIB, /* a count of MiB in the file, bytes (u64) in the field */
    KEY_BOOL,
    KEY_PATH,
    KEY_LISTEN,
    KEY_LOG_LEVEL,
    KEY_METRICS
};

struct config_key {
    const char *section;
    const char *name;
    enum key_type type;
    size_t offset; /* into struct config */
    int64_t min, max;
};

#define KEY(sec, name, type, field, min, max)                                                      \
    {                                                                                              \
        sec, name, type, offsetof(struct config, field), min, max                                  \
    }

static const struct config_key config_keys[] = {
    KEY("engine", "data_dir", KEY_PATH, data_dir, 0, 0),
    KEY("engine", "listen", KEY_LISTEN, listen_host, 0, 0),
    KEY("engine", "map_size_initial_mb", KEY_U32, map_size_initial_mb, 1, 1 << 24),
    KEY("engine", "map_size_max_mb", KEY_U32, map_size_max_mb, 1, 1 << 24),
    KEY("engine", "utc_offset_min", KEY_I32, utc_offset_min, -720, 840),
    KEY("engine", "durable", KEY_BOOL, durable, 0, 0),
    /* The write-ahead log of a durable store (docs/storage.md). */
    KEY("engine", "wal_segment_mb", KEY_U32, wal_segment_mb, 1, 1024),
    KEY("engine", "wal_checkpoint_mb", KEY_U32, wal_checkpoint_mb, 1, 1024),
    KEY("engine", "wal_checkpoint_ms", KEY_U32, wal_checkpoint_ms, 10, 600000),
    KEY("engine", "bench_echo", KEY_BOOL, bench_echo, 0, 0),
    KEY("engine", "port_file", KEY_PATH, port_file, 0, 0),
    KEY("engine", "stats_file", KEY_PATH, stats_file, 0, 0),
    KEY("tls", "ca", KEY_PATH, tls_ca, 0, 0),
    KEY("tls", "cert", KEY_PATH, tls_cert, 0, 0),
    KEY("tls", "key", KEY_PATH, tls_key, 0, 0),
    KEY("tls", "crl", KEY_PATH, tls_crl, 0, 0),
    KEY("limits", "frame_max_bytes", KEY_U32, limits.frame_max_bytes, 64, 1 << 30),
    KEY("limits", "connections_max", KEY_U32, limits.connections_max, 1, 1 << 20),
    KEY("limits", "inflight_max", KEY_U32, limits.inflight_max, 1, 1 << 20),
    KEY("limits", "batch_max", KEY_U32, limits.batch_max, 1, 1 << 20),
    KEY("limits", "output_max_bytes", KEY_U32, limits.output_max_bytes, 4096, 1 << 30),
    KEY("limits", "handshake_timeout_ms", KEY_U32, limits.handshake_timeout_ms, 1, 3600000),
    KEY("limits", "idle_timeout_ms", KEY_U32, limits.idle_timeout_ms, 1, 86400000),
    KEY("limits", "frame_timeout_ms", KEY_U32, limits.frame_timeout_ms, 1, 3600000),
    KEY("limits", "connections_per_terminal_max", KEY_U32, limits.connections_per_terminal_max, 1,
        1 << 20),
    KEY("limits", "connections_per_hospital_max", KEY_U32, limits.connections_per_hospital_max, 1,
        1 << 20),
    KEY("limits", "input_total_max_bytes", KEY_U32, limits.input_total_max_bytes, 1 << 20,
        0xffffffffLL),
    KEY("limits", "output_total_max_bytes", KEY_U32, limits.output_total_max_bytes, 1 << 20,
        0xffffffffLL),
    KEY("limits", "reads_queued_per_terminal_max", KEY_U32, limits.reads_queued_per_terminal_max, 1,
        1 << 20),
    KEY("limits", "reads_queued_per_terminal_max_bytes", KEY_U32,
        limits.reads_queued_per_terminal_max_bytes, 1024, 0xffffffffLL),
    KEY("limits", "reads_queued_total_max", KEY_U32, limits.reads_queued_total_max, 1, 1 << 20),
    KEY("engine", "worker_threads", KEY_U32, worker_threads, NET_WORKER_THREADS_MIN,
        NET_WORKER_THREADS_MAX),
    KEY("limits", "lookups_per_minute", KEY_U32, limits.lookups_per_minute, 0, 1 << 24),
    KEY("limits", "lookups_burst", KEY_U32, limits.lookups_burst, 1, 1 << 24),
    KEY("limits", "lookup_flag_ratio", KEY_U32, limits.lookup_flag_ratio, 1, 1 << 20),
    KEY("limits", "lookup_flag_min", KEY_U32, limits.lookup_flag_min, 1, 1 << 30),
    KEY("limits", "audit_retention_days", KEY_U32, audit_retention_days, 0, 100000),
    KEY("limits", "lookup_answer_after_audit", KEY_U32, limits.lookup_answer_after_audit, 0, 1),
    /* Write quotas per hospital and business day, by its level (docs/limits.md). */
    KEY("limits", "settlements_per_day_village", KEY_U64,
        quota.per_day[LEDGER_QUOTA_SETTLEMENTS][SH_LEVEL_VILLAGE], 0, 1LL << 40),
    KEY("limits", "settlements_per_day_township", KEY_U64,
        quota.per_day[LEDGER_QUOTA_SETTLEMENTS][SH_LEVEL_TOWNSHIP], 0, 1LL << 40),
    KEY("limits", "settlements_per_day_county", KEY_U64,
        quota.per_day[LEDGER_QUOTA_SETTLEMENTS][SH_LEVEL_COUNTY], 0, 1LL << 40),
    KEY("limits", "settlements_per_day_municipal", KEY_U64,
        quota.per_day[LEDGER_QUOTA_SETTLEMENTS][SH_LEVEL_MUNICIPAL], 0, 1LL << 40),
    KEY("limits", "settlements_per_day_provincial", KEY_U64,
        quota.per_day[LEDGER_QUOTA_SETTLEMENTS][SH_LEVEL_PROVINCIAL], 0, 1LL << 40),
    KEY("limits", "stored_mb_per_day_village", KEY_MIB,
        quota.per_day[LEDGER_QUOTA_STORED_BYTES][SH_LEVEL_VILLAGE], 0, 1 << 24),
    KEY("limits", "stored_mb_per_day_township", KEY_MIB,
        quota.per_day[LEDGER_QUOTA_STORED_BYTES][SH_LEVEL_TOWNSHIP], 0, 1 << 24),
    KEY("limits", "stored_mb_per_day_county", KEY_MIB,
        quota.per_day[LEDGER_QUOTA_STORED_BYTES][SH_LEVEL_COUNTY], 0, 1 << 24),
    KEY("limits", "stored_mb_per_day_municipal", KEY_MIB,
        quota.per_day[LEDGER_QUOTA_STORED_BYTES][SH_LEVEL_MUNICIPAL], 0, 1 << 24),
    KEY("limits", "stored_mb_per_day_provincial", KEY_MIB,
        quota.per_day[LEDGER_QUOTA_STORED_BYTES][SH_LEVEL_PROVINCIAL], 0, 1 << 24),
    KEY("limits", "unknown_cancels_per_day_village", KEY_U64,
        quota.per_day[LEDGER_QUOTA_UNKNOWN_CANCELS][SH_LEVEL_VILLAGE], 0, 1LL << 40),
    KEY("limits", "unknown_cancels_per_day_township", KEY_U64,
        quota.per_day[LEDGER_QUOTA_UNKNOWN_CANCELS][SH_LEVEL_TOWNSHIP], 0, 1LL << 40),
    KEY("limits", "unknown_cancels_per_day_county", KEY_U64,
        quota.per_day[LEDGER_QUOTA_UNKNOWN_CANCELS][SH_LEVEL_COUNTY], 0, 1LL << 40),
    KEY("limits", "unknown_cancels_per_day_municipal", KEY_U64,
        quota.per_day[LEDGER_QUOTA_UNKNOWN_CANCELS][SH_LEVEL_MUNICIPAL], 0, 1LL << 40),
    KEY("limits", "unknown_cancels_per_day_provincial", KEY_U64,
        quota.per_day[LEDGER_QUOTA_UNKNOWN_CANCELS][SH_LEVEL_PROVINCIAL], 0, 1LL << 40),
    KEY("limits", "claim_lines_max_outpatient", KEY_U32, quota.claim_lines_max[SH_VISIT_OUTPATIENT],
        0, SH_CLAIM_LINES_MAX),
    KEY("limits", "claim_lines_max_chronic", KEY_U32, quota.claim_lines_max[SH_VISIT_CHRONIC], 0,
        SH_CLAIM_LINES_MAX),
    KEY("limits", "claim_lines_max_inpatient", KEY_U32, quota.claim_lines_max[SH_VISIT_INPATIENT],
        0, SH_CLAIM_LINES_MAX),
    KEY("log", "level", KEY_LOG_LEVEL, log_level, 0, 0),
    KEY("metrics", "listen", KEY_METRICS, metrics_listen, 0, 0),
};

struct ledger_quota config_quota_defaults(void)
{
    struct ledger_quota q = {
        .per_day =
            {
                [LEDGER_QUOTA_SETTLEMENTS] = {5000, 20000, 100000, 300000, 1000000},
                [LEDGER_QUOTA_STORED_BYTES] = {256ull << 20, 1ull << 30, 4ull << 30, 8ull << 30,
                                               16ull << 30},
                [LEDGER_QUOTA_UNKNOWN_CANCELS] = {500, 2000, 10000, 30000, 100000},
            },
        .claim_lines_max =
            {[SH_VISIT_OUTPATIENT] = 500, [SH_VISIT_CHRONIC] = 500, [SH_VISIT_INPATIENT] = 5000},
    };
    return q;
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 7443;
    c->map_size_initial_mb = CONFIG_MAP_SIZE_INITIAL_MB_DEFAULT;
    c->map_size_max_mb = CONFIG_MAP_SIZE_MAX_MB_DEFAULT;
    c->wal_segment_mb = CONFIG_WAL_SEGMENT_MB_DEFAULT;
    c->wal_checkpoint_mb = CONFIG_WAL_CHECKPOINT_MB_DEFAULT;
    c->wal_checkpoint_ms = CONFIG_WAL_CHECKPOINT_MS_DEFAULT;
    c->utc_offset_min = CONFIG_UTC_OFFSET_MIN_DEFAULT;
    c->durable = true;
    c->limits = (struct net_limits){
        .frame_max_bytes = NET_FRAME_MAX_BYTES_DEFAULT,
        .connections_max = NET_CONNECTIONS_MAX_DEFAULT,
        .inflight_max = NET_INFLIGHT_MAX_DEFAULT,
        .batch_max = NET_BATCH_MAX_DEFAULT,
        .output_max_bytes = NET_OUTPUT_MAX_BYTES_DEFAULT,
        .handshake_timeout_ms = NET_HANDSHAKE_TIMEOUT_MS_DEFAULT,
        .idle_timeout_ms = NET_IDLE_TIMEOUT_MS_DEFAULT,
        .frame_timeout_ms = NET_FRAME_TIMEOUT_MS_DEFAULT,
        .connections_per_terminal_max = NET_CONNECTIONS_PER_TERMINAL_MAX_DEFAULT,
        .connections_per_hospital_max = NET_CONNECTIONS_PER_HOSPITAL_MAX_DEFAULT,
        .input_total_max_bytes = NET_INPUT_TOTAL_MAX_BYTES_DEFAULT,
        .output_total_max_bytes = NET_OUTPUT_TOTAL_MAX_BYTES_DEFAULT,
        .reads_queued_per_terminal_max = NET_READS_QUEUED_PER_TERMINAL_MAX_DEFAULT,
        .reads_queued_total_max = NET_READS_QUEUED_TOTAL_MAX_DEFAULT,
        .reads_queued_per_terminal_max_bytes = NET_READS_QUEUED_PER_TERMINAL_MAX_BYTES_DEFAULT,
        .lookups_per_minute = NET_LOOKUPS_PER_MINUTE_DEFAULT,
        .lookups_burst = NET_LOOKUPS_BURST_DEFAULT,
        .lookup_flag_ratio = NET_LOOKUP_FLAG_RATIO_DEFAULT,
        .lookup_flag_min = NET_LOOKUP_FLAG_MIN_DEFAULT,
    };
    c->quota = config_quota_defaults();
    c->audit_retention_days = CONFIG_AUDIT_RETENTION_DAYS_DEFAULT;
    c->worker_threads = NET_WORKER_THREADS_DEFAULT;
    c->log_level = NET_LOG_INFO;
}

__attribute__((format(printf, 4, 5))) static int
config_problem(struct config_parse *p, const char *section, const char *name, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: [%s] %s: %s\n", p->config->path, section, name, msg);
    p->problems++;
    return 1; /* keep parsing: report every problem at once */
}

static bool parse_int(const char *value, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *value, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
            *out = strcmp(value, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

/* "host:port", "[v6]:port" into host (64 bytes) and *port_out. */
static bool parse_addr(const char *value, char *host_out, int *port_out);

static bool parse_listen(const char *value, struct config *c)
{
    return parse_addr(value, c->listen_host, &c->listen_port);
}

static bool parse_metrics(const char *value, struct config *c)
{
    if (strlen(value) >= sizeof c->metrics_listen ||
        !parse_addr(value, c->metrics_host, &c->metrics_port))
        return false;
    snprintf(c->metrics_listen, sizeof c->metrics_listen, "%s", value);
    return true;
}

static bool parse_addr(const char *value, char *host_out, int *port_out)
{
    const char *colon = strrchr(value, ':');
    int64_t port;
    if (colon == NULL || !parse_int(colon + 1, 0, 65535, &port))
        return false;
    const char *host = value;
    size_t len = (size_t)(colon - value);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len == 0 || len >= 64)
        return false;
    memcpy(host_out, host, len);
    host_out[len] = '\0';
    *port_out = (int)port;
    return true;
}

static bool parse_path(const struct config_parse *p, const char *value, char *out)
{
    int n = value[0] == '/' || value[0] == '\0' || p->dir[0] == '\0'
                ? snprintf(out, PATH_MAX, "%s", value)
                : snprintf(out, PATH_MAX, "%s/%s", p->dir, value);
    return n >= 0 && n < PATH_MAX;
}

static int config_set(struct config_parse *p, const struct config_key *k, const char *value)
{
    void *field = (char *)p->config + k->offset;
    int64_t n;
    bool ok = true;
    switch (k->type) {
    case KEY_U32:
        if ((ok = parse_int(value, k->min, k->max, &n)))
            *(uint32_t *)field = (uint32_t)n;
        break;
    case KEY_I32:
        if ((ok = parse_int(value, k->min, k->max, &n)))
            *(int32_t *)field = (int32_t)n;
        break;
    case KEY_U64:
        if ((ok = parse_int(value, k->min, k->max, &n)))
            *(uint64_t *)field = (uint64_t)n;
        break;
    case KEY_MIB:
        if ((ok = parse_int(value, k->min, k->max, &n)))
            *(uint64_t *)field = (uint64_t)n << 20;
        break;
    case KEY_BOOL:
        ok = parse_bool(value, field);
        break;
    case KEY_PATH:
        ok = parse_path(p, value, field);
        break;
    case KEY_LISTEN:
        ok = parse_listen(value, p->config);
        break;
    case KEY_METRICS:
        ok = parse_metrics(value, p->config);
        break;
    case KEY_LOG_LEVEL:
        ok = net_log_level_parse(value, field) == 0;
        break;
    }
    if (!ok &&
        (k->type == KEY_U32 || k->type == KEY_I32 || k->type == KEY_U64 || k->type == KEY_MIB))
        return config_problem(p, k->section, k->name, "\"%s\" is not an integer in [%lld, %lld]",
                              value, (long long)k->min, (long long)k->max);
    if (!ok)
        return config_problem(p, k->section, k->name, "bad value \"%s\"", value);
    return 1;
}

/* Splits value into at most max whitespace-separated words (in place);
 * returns the count, or max + 1 when there are more. */
static size_t split_words(char *value, char **words, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(value, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (n == max)
            return max + 1;
        words[n++] = w;
    }
    return n;
}

#define CONFIG_RATE_WORD "lookups_per_minute="

/* A last word lookups_per_minute=N: the terminal's own lookup rate, taken
 * off the words; false when it is there and not a number in range. */
static bool config_terminal_rate(char **words, size_t *n, struct net_terminal *t)
{
    t->has_lookup_rate = false;
    t->lookups_per_minute = 0;
    if (*n < 2 || *n > 4 || strncmp(words[*n - 1], CONFIG_RATE_WORD, strlen(CONFIG_RATE_WORD)) != 0)
        return true;
    int64_t v;
    if (!parse_int(words[*n - 1] + strlen(CONFIG_RATE_WORD), 0, 1 << 24, &v))
        return false;
    t->has_lookup_rate = true;
    t->lookups_per_minute = (uint32_t)v;
    (*n)--;
    return true;
}

/* [terminals] NAME = [HOSPITAL] ROLE [disabled] [lookups_per_minute=N] */
static int config_terminal(struct config_parse *p, const char *name, const char *value)
{
    struct config *c = p->config;
    if (c->terminal_count == CONFIG_TERMINALS_MAX)
        return config_problem(p, "terminals", name, "more than %d terminals", CONFIG_TERMINALS_MAX);
    struct net_terminal *t = &c->terminals[c->terminal_count];
    char copy[256], *words[4];
    snprintf(copy, sizeof copy, "%s", value);
    size_t n = split_words(copy, words, 4);
    if (!config_terminal_rate(words, &n, t))
        return config_problem(p, "terminals", name,
                              "\"%s\": lookups_per_minute= wants an integer in [0, 16777216]",
                              value);
    if (n == 4)
        n = 5; /* four words and the last no rate: too many */
    /* A disabled terminal is refused at the handshake (docs/operations.md). */
    t->disabled = n >= 2 && n <= 3 && strcmp(words[n - 1], "disabled") == 0;
    if (t->disabled)
        n--;
    else if (n == 3)
        n = 4; /* three words that do not end in "disabled" */
    const char *hospital = n == 2 ? words[0] : "";
    int role = n >= 1 && n <= 2 ? sh_role_parse(words[n - 1]) : -1;
    if (role < 0 || strlen(name) >= sizeof t->name || strlen(hospital) >= sizeof t->hospital)
        return config_problem(p, "terminals", name,
                              "\"%s\" is not \"[HOSPITAL] counter|bureau|admin [disabled] "
                              "[lookups_per_minute=N]\"",
                              value);
    t->role = (enum sh_role)role;
    memcpy(t->name, name, strlen(name) + 1);
    memcpy(t->hospital, hospital, strlen(hospital) + 1);
    c->terminal_count++;
    return 1;
}

static int config_on_key(void *user, const char *section, const char *name, const char *value)
{
    struct config_parse *p = user;
    if (strcmp(section, "terminals") == 0)
        return config_terminal(p, name, value);
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
        if (strcmp(section, config_keys[i].section) == 0 && strcmp(name, config_keys[i].name) == 0)
            return config_set(p, &config_keys[i], value);
    }
    return config_problem(p, section, name, "unknown key");
}

int config_load(const char *path, struct config *config, struct sh_error *err)
{
    config_defaults(config);
    snprintf(config->path, sizeof config->path, "%s", path);
    struct config_parse p = {.config = config};
    const char *slash = strrchr(path, '/');
    if (slash != NULL)
        snprintf(p.dir, sizeof p.dir, "%.*s", (int)(slash - path), path);
    if (slash == path)
        snprintf(p.dir, sizeof p.dir, "/");
    int rc = ini_parse(path, config_on_key, &p);
    if (rc < 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, "%s: cannot read: %s", path, strerror(errno));
    if (rc > 0) /* inih's first syntax error (our handler never fails) */
        config_problem(&p, "-", "-", "line %d is not INI syntax (or is over 200 bytes)", rc);
    if (p.problems > 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, "%s: %d problem%s, see above", path, p.problems,
                            p.problems > 1 ? "s" : "");
    if (config->map_size_initial_mb > config->map_size_max_mb)
        return sh_error_set(err, SH_E_BAD_REQUEST,
                            "%s: map_size_initial_mb exceeds map_size_max_mb", path);
    return 0;
}
