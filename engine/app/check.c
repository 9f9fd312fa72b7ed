/*
 * sanhe-engine check: verifies a data directory offline.
 *
 * The store may be damaged: that is what the check is for. LMDB trusts its
 * pages (there is no checksum to test them against), so a flipped bit in a
 * branch page can send mdb_cursor_get to an address that is not there, and
 * no test of a record's shape can come first. The walk therefore runs in a
 * child process: a crash of the child is reported as what it is, a store
 * that LMDB cannot read, and the tool itself ends with a report and its
 * failure status, never a signal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"

static void check_report(void *ctx, const char *line)
{
    size_t *count = ctx;
    (*count)++;
    printf("%s\n", line);
}

static int check_run(const struct config *config)
{
    struct ledger *ledger;
    int rc = app_ledger_open(config, false, "check", &ledger);
    if (rc == APP_EXIT_FAIL) /* said why on stderr: a store that does not open is a finding */
        printf("%s: the ledger does not open: 1 problem\n", config->data_dir);
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

int app_check(const struct config *config)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) /* no child to be had: check in this process */
        return check_run(config);
    if (pid == 0) {
        /* Every problem line out at once: a crash must not swallow them. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        int rc = check_run(config);
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno == EINTR)
            continue;
        printf("%s: the check could not be waited for\n", config->data_dir);
        return APP_EXIT_FAIL;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    printf("%s: damaged: the walk of the store stopped on signal %d (%s), inside LMDB or on a "
           "record it returned; the store cannot be trusted, restore it from a backup\n",
           config->data_dir, sig, sig > 0 ? strsignal(sig) : "unknown");
    printf("%s: 1 problem\n", config->data_dir);
    return APP_EXIT_FAIL;
}
