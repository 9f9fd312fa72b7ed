/* sanhe-engine check: verifies a data directory offline. */
#include <stdio.h>

#include "app.h"

static void check_report(void *ctx, const char *line)
{
    size_t *count = ctx;
    (*count)++;
    printf("%s\n", line);
}

int app_check(const struct config *config)
{
    struct ledger *ledger;
    int rc = app_ledger_open(config, false, "check", &ledger);
    if (rc != 0)
        return rc;
    size_t problems = 0;
    rc = ledger_check(ledger, check_report, &problems);
    ledger_close(ledger);
    if (rc == 0 && problems == 0) {
        printf("%s: clean\n", config->data_dir);
        return APP_EXIT_OK;
    }
    printf("%s: %zu problem%s\n", config->data_dir, problems, problems == 1 ? "" : "s");
    return APP_EXIT_FAIL;
}
