/*
 * sanhe-engine serve's SIGHUP: the configuration file read again and what
 * can change without a stop applied (docs/operations.md). Keys that need a
 * restart (the data directory, the address, the store's sizes, durability)
 * keep their running values, and the log says so.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "net_log.h"

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};

/* Keys read at start only: a change is logged and waits for a restart. */
static void reload_keep_restart_keys(const struct config *running, struct config *fresh)
{
    const char *changed[11];
    size_t n = 0;
    if (strcmp(running->data_dir, fresh->data_dir) != 0)
        changed[n++] = "[engine] data_dir";
    if (strcmp(running->listen_host, fresh->listen_host) != 0 ||
        running->listen_port != fresh->listen_port)
        changed[n++] = "[engine] listen";
    if (running->map_size_initial_mb != fresh->map_size_initial_mb ||
        running->map_size_max_mb != fresh->map_size_max_mb)
        changed[n++] = "[engine] map_size_*_mb";
    if (running->durable != fresh->durable)
        changed[n++] = "[engine] durable";
    if (running->wal_segment_mb != fresh->wal_segment_mb ||
        running->wal_checkpoint_mb != fresh->wal_checkpoint_mb ||
        running->wal_checkpoint_ms != fresh->wal_checkpoint_ms)
        changed[n++] = "[engine] wal_*";
    if (running->utc_offset_min != fresh->utc_offset_min)
        changed[n++] = "[engine] utc_offset_min";
    if (running->bench_echo != fresh->bench_echo)
        changed[n++] = "[engine] bench_echo";
    if (strcmp(running->metrics_listen, fresh->metrics_listen) != 0)
        changed[n++] = "[metrics] listen";
    /* The writer thread reads them while it applies: not changed under it. */
    if (memcmp(&running->quota, &fresh->quota, sizeof fresh->quota) != 0)
        changed[n++] = "[limits] write quotas (settlements_per_day_*, stored_mb_per_day_*, "
                       "unknown_cancels_per_day_*, claim_lines_max_*)";
    if (running->audit_retention_days != fresh->audit_retention_days)
        changed[n++] = "[limits] audit_retention_days";
    for (size_t i = 0; i < n; i++)
        net_log(NET_LOG_WARN, "reload: %s changed: takes effect at restart", changed[i]);
    /* Every one of those keeps its running value. */
    memcpy(fresh->data_dir, running->data_dir, sizeof fresh->data_dir);
    memcpy(fresh->listen_host, running->listen_host, sizeof fresh->listen_host);
    fresh->listen_port = running->listen_port;
    fresh->map_size_initial_mb = running->map_size_initial_mb;
    fresh->map_size_max_mb = running->map_size_max_mb;
    fresh->durable = running->durable;
    fresh->wal_segment_mb = running->wal_segment_mb;
    fresh->wal_checkpoint_mb = running->wal_checkpoint_mb;
    fresh->wal_checkpoint_ms = running->wal_checkpoint_ms;
    fresh->utc_offset_min = running->utc_offset_min;
    fresh->bench_echo = running->bench_echo;
    fresh->quota = running->quota;
    fresh->audit_retention_days = running->audit_retention_days;
    memcpy(fresh->metrics_listen, running->metrics_listen, sizeof fresh->metrics_listen);
}

int app_reload(struct config *running, struct net_server *server)
{
    static struct config fresh; /* large: not on the stack */
    struct sh_error err = {0};
    net_log_always("reload: SIGHUP: reading %s", running->path);
    if (config_load(running->path, &fresh, &err) != 0) {
        net_log(NET_LOG_ERROR, "reload refused, the running configuration stays: %s", err.msg);
        return err.code;
    }
    reload_keep_restart_keys(running, &fresh);
    struct net_config nc;
    app_net_config(&fresh, &nc);
    int rc = net_server_reload(server, &nc, &err);
    if (rc != 0) {
        net_log(NET_LOG_ERROR, "reload refused, the running configuration stays: %s", err.msg);
        return rc;
    }
    if (fresh.log_level != running->log_level) {
        net_log_always("reload: [log] level %s -> %s", log_level_names[running->log_level],
                       log_level_names[fresh.log_level]);
        net_log_set_level(fresh.log_level);
    }
    if (strcmp(fresh.stats_file, running->stats_file) != 0)
        net_log_always("reload: [engine] stats_file now \"%s\"", fresh.stats_file);
    *running = fresh;
    static unsigned reloads;
    net_log_always("reload %u: done", ++reloads);
    return 0;
}
