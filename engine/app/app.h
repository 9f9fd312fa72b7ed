/* The subcommands of sanhe-engine (main.c parses, these run). */
#ifndef APP_H
#define APP_H

#include <stddef.h>

#include "config.h"
#include "ledger.h"

/* Exit codes. */
#define APP_EXIT_OK 0
#define APP_EXIT_FAIL 1  /* check found problems, load was refused, serve failed */
#define APP_EXIT_USAGE 2 /* bad command line or configuration */

int app_serve(const struct config *config);
int app_check(const struct config *config);
int app_load(const struct config *config, char *const files[], size_t file_count);

/* Opens the ledger of config->data_dir (created when missing and create is
 * set); prints the reason and returns non-zero on failure. */
int app_ledger_open(const struct config *config, bool create, struct ledger **out);

#endif
