/* The subcommands of sanhe-engine (main.c parses, these run). */
#ifndef APP_H
#define APP_H

#include <stddef.h>

#include "config.h"
#include "ledger.h"
#include "net.h"

/* Exit codes. */
#define APP_EXIT_OK 0
#define APP_EXIT_FAIL 1   /* check found problems, load was refused, serve failed */
#define APP_EXIT_USAGE 2  /* bad command line or configuration */
#define APP_EXIT_LOCKED 3 /* the data directory is in use by another sanhe-engine */

int app_serve(const struct config *config);
int app_check(const struct config *config);
int app_load(const struct config *config, char *const files[], size_t file_count);
int app_backup(const struct config *config, const char *dest);
int app_restore(const struct config *config, const char *backup_dir);

/* serve's net_config over a configuration (its strings, not copies). */
void app_net_config(const struct config *config, struct net_config *nc);

/* SIGHUP: reads running->path again; applies what can change without a
 * stop (log level, terminals, CA and CRL, limits) to server and running,
 * logs each change and what waits for a restart. A file that does not load
 * changes nothing (logged). Returns 0 or the failure's code. */
int app_reload(struct config *running, struct net_server *server);

/* systemd notifications (notify.c); no-ops outside systemd. ready also
 * starts the watchdog pings when WatchdogSec is set. */
void app_notify_ready(uv_loop_t *loop, const char *status);
void app_notify_reloading(bool begin);
void app_notify_stopping(void);
void app_notify_close(void); /* the watchdog timer, before the loop closes */

/* Opens the ledger of config->data_dir (created when missing and create is
 * set) after taking the directory's lock (app_datalock_acquire); prints the
 * reason and returns an APP_EXIT_* code (non-zero) on failure. */
int app_ledger_open(const struct config *config, bool create, const char *command,
                    struct ledger **out);

/* Takes DATA_DIR/sanhe.lock for this process's lifetime (datalock.c).
 * Returns 0, APP_EXIT_LOCKED when another process holds it (the message,
 * naming command and the holder's pid, is printed), or APP_EXIT_FAIL. */
int app_datalock_acquire(const char *data_dir, const char *command);

#endif
