#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "net_log.h"

int app_ledger_open(const struct config *config, bool create, const char *command,
                    struct ledger **out)
{
    if (config->data_dir[0] == '\0') {
        fprintf(stderr, "sanhe-engine: no data directory ([engine] data_dir or --data)\n");
        return APP_EXIT_FAIL;
    }
    struct stat st;
    if (!create && (stat(config->data_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "sanhe-engine: no data directory at %s\n", config->data_dir);
        return APP_EXIT_FAIL;
    }
    if (create && mkdir(config->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "sanhe-engine: cannot create %s: %s\n", config->data_dir, strerror(errno));
        return APP_EXIT_FAIL;
    }
    int locked = app_datalock_acquire(config->data_dir, command);
    if (locked != 0)
        return locked;
    struct ledger_config lc = {
        .dir = config->data_dir,
        .map_size_initial = (uint64_t)config->map_size_initial_mb << 20,
        .map_size_max = (uint64_t)config->map_size_max_mb << 20,
        .durable = config->durable,
        .utc_offset_min = config->utc_offset_min,
        .wal_segment_bytes = (uint64_t)config->wal_segment_mb << 20,
        .wal_checkpoint_bytes = (uint64_t)config->wal_checkpoint_mb << 20,
        .wal_checkpoint_ms = config->wal_checkpoint_ms,
        .quota = config->quota,
        .audit_retention_days = config->audit_retention_days,
    };
    struct sh_error err = {0};
    if (ledger_open(&lc, out, &err) != 0) {
        fprintf(stderr, "sanhe-engine: cannot open the ledger in %s: %s: %s\n", config->data_dir,
                sh_error_name(err.code), err.msg);
        return APP_EXIT_FAIL;
    }
    if (!config->durable)
        net_log(NET_LOG_WARN, "durable = false: commits are not synced; for tests only");
    return 0;
}
