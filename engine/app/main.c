/*
 * sanhe-engine: the settlement engine's one binary.
 *
 *   sanhe-engine [serve] -c CONFIG
 *   sanhe-engine check   (-c CONFIG | --data DIR)
 *   sanhe-engine load    (-c CONFIG | --data DIR) FILE.json...
 *   sanhe-engine backup  (-c CONFIG | --data DIR) DEST
 *   sanhe-engine restore (-c CONFIG | --data DIR) BACKUP
 *   sanhe-engine --version | --help
 */
#include <stdio.h>
#include <string.h>

#include "app.h"

static void usage(FILE *out)
{
    fputs("usage: sanhe-engine [serve] -c CONFIG\n"
          "       sanhe-engine check (-c CONFIG | --data DIR)\n"
          "       sanhe-engine load (-c CONFIG | --data DIR) FILE.json...\n"
          "       sanhe-engine backup (-c CONFIG | --data DIR) DEST\n"
          "       sanhe-engine restore (-c CONFIG | --data DIR) BACKUP\n"
          "       sanhe-engine --version | --help\n"
          "\n"
          "serve   (the default) runs the settlement engine: TLS 1.3 terminals with client\n"
          "        certificates, length-prefixed sanhe.Request frames, writes answered only\n"
          "        once committed to disk (group commit). Prints \"listening on HOST:PORT\".\n"
          "        SIGTERM/SIGINT stop gracefully; SIGUSR1 logs the batch statistics;\n"
          "        SIGHUP reloads the configuration (terminals, CA and CRL, log level,\n"
          "        limits) and closes the connections of terminals disabled or revoked.\n"
          "        One engine per data directory (DATA_DIR/sanhe.lock).\n"
          "check   verifies a data directory offline (accumulators, idempotency records,\n"
          "        the journal's hash chain); prints one line per problem; exit 0 when clean.\n"
          "load    loads reference data offline as an admin, all files in one transaction:\n"
          "        case-format objects (policies, hospitals, catalog, persons, terminals),\n"
          "        policy documents (sanhe.policy/1) and terminal arrays\n"
          "        [{\"name\": CN, \"hospital\": CODE, \"role\": \"counter|bureau|admin\"}].\n"
          "        check and load refuse a data directory a running engine holds.\n"
          "backup  a hot, consistent, compacted copy of the store into DEST (new or\n"
          "        empty), beside a running engine; the copy is then verified (check).\n"
          "restore puts a verified backup in place of the store (engine stopped); the\n"
          "        previous store is kept as data.mdb.pre-restore.EPOCH.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE  the configuration (INI); every key, its default and meaning:\n"
          "                     ops/sanhe-engine.conf.example. Unknown keys are refused.\n"
          "      --data DIR     the data directory, for check and load without a config\n"
          "  -h, --help         this text\n"
          "      --version      the version\n"
          "\n"
          "configuration sections: [engine] data_dir, listen, map_size_initial_mb,\n"
          "map_size_max_mb, utc_offset_min, durable, wal_segment_mb, wal_checkpoint_mb,\n"
          "wal_checkpoint_ms, port_file, stats_file, worker_threads,\n"
          "bench_echo (a benchmark baseline: answers empty, never touches data); [tls] ca, cert,\n"
          "key, crl; [metrics] listen; [limits] frame_max_bytes, connections_max,\n"
          "inflight_max, batch_max, output_max_bytes, handshake_timeout_ms,\n"
          "idle_timeout_ms, reads_queued_per_terminal_max, reads_queued_total_max; [log] level;\n"
          "[terminals] NAME = [HOSPITAL] ROLE [disabled] (used when the ledger has no such\n"
          "terminal; disabled ones are refused at the handshake).\n"
          "\n"
          "exit status: 0 success, 1 failure (check found problems, load refused),\n"
          "2 usage or configuration error, 3 the data directory is in use by another\n"
          "sanhe-engine.\n",
          out);
}

enum command { CMD_SERVE, CMD_CHECK, CMD_LOAD, CMD_BACKUP, CMD_RESTORE };

struct options {
    enum command command;
    const char *config_path;
    const char *data_dir;
    char **files;
    size_t file_count;
};

/* Returns -1 to exit with usage, 1 to exit 0 (help, version), 0 to go on. */
static int parse_args(int argc, char **argv, struct options *o)
{
    int i = 1;
    if (i < argc && strcmp(argv[i], "serve") == 0)
        o->command = CMD_SERVE, i++;
    else if (i < argc && strcmp(argv[i], "check") == 0)
        o->command = CMD_CHECK, i++;
    else if (i < argc && strcmp(argv[i], "load") == 0)
        o->command = CMD_LOAD, i++;
    else if (i < argc && strcmp(argv[i], "backup") == 0)
        o->command = CMD_BACKUP, i++;
    else if (i < argc && strcmp(argv[i], "restore") == 0)
        o->command = CMD_RESTORE, i++;
    o->files = argv + argc;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--version") == 0) {
            printf("sanhe-engine %s\n", SANHE_VERSION);
            return 1;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            o->config_path = argv[++i];
        } else if (strcmp(a, "--data") == 0 && i + 1 < argc) {
            o->data_dir = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "sanhe-engine: unknown option %s\n", a);
            return -1;
        } else if (o->command == CMD_LOAD) {
            o->files = argv + i;
            o->file_count = (size_t)(argc - i);
            break;
        } else if ((o->command == CMD_BACKUP || o->command == CMD_RESTORE) && o->file_count == 0) {
            o->files = argv + i;
            o->file_count = 1;
        } else {
            fprintf(stderr, "sanhe-engine: unexpected argument %s\n", a);
            return -1;
        }
    }
    return 0;
}

/* The configuration from -c, or the defaults with --data. */
static int load_config(const struct options *o, struct config *config)
{
    struct sh_error err = {0};
    if (o->config_path != NULL) {
        if (config_load(o->config_path, config, &err) != 0) {
            fprintf(stderr, "sanhe-engine: %s\n", err.msg);
            return -1;
        }
    } else {
        config_defaults(config);
    }
    if (o->data_dir != NULL)
        snprintf(config->data_dir, sizeof config->data_dir, "%s", o->data_dir);
    if (config->data_dir[0] == '\0' || (o->command == CMD_SERVE && o->config_path == NULL)) {
        fprintf(stderr, "sanhe-engine: %s\n",
                o->command == CMD_SERVE ? "serve needs -c CONFIG"
                                        : "needs -c CONFIG or --data DIR");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? APP_EXIT_OK : (usage(stderr), APP_EXIT_USAGE);
    if (o.command == CMD_LOAD && o.file_count == 0) {
        fprintf(stderr, "sanhe-engine: load needs at least one FILE.json\n");
        return APP_EXIT_USAGE;
    }
    if ((o.command == CMD_BACKUP || o.command == CMD_RESTORE) && o.file_count != 1) {
        fprintf(stderr, "sanhe-engine: %s needs a directory\n",
                o.command == CMD_BACKUP ? "backup" : "restore");
        return APP_EXIT_USAGE;
    }
    static struct config config; /* large (paths, terminals): not on the stack */
    if (load_config(&o, &config) != 0)
        return APP_EXIT_USAGE;
    switch (o.command) {
    case CMD_CHECK:
        return app_check(&config);
    case CMD_LOAD:
        return app_load(&config, o.files, o.file_count);
    case CMD_BACKUP:
        return app_backup(&config, o.files[0]);
    case CMD_RESTORE:
        return app_restore(&config, o.files[0]);
    default:
        return app_serve(&config);
    }
}
