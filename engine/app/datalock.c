/*
 * One engine per data directory. Every command that opens the ledger for
 * writing (serve, load, check) first takes an exclusive lock on
 * DATA_DIR/sanhe.lock. The lock is an open file description lock
 * (fcntl F_OFD_SETLK): the kernel drops it when the process ends, however
 * it ends, so a crash or a kill -9 can never leave it stale, and the file's
 * mere presence means nothing. The file holds the holder's pid, for the
 * message only. See docs/operations.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

#define DATALOCK_NAME "sanhe.lock"

/* The lock lives as long as the process: never closed on purpose. */
static int datalock_fd = -1;

static int datalock_path(const char *data_dir, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/" DATALOCK_NAME, data_dir);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* The pid the holder wrote, or 0 when unreadable. */
static long datalock_holder(int fd)
{
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

static void datalock_write_pid(int fd)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        fprintf(stderr, "sanhe-engine: cannot write the pid into the lock file: %s\n",
                strerror(errno));
}

int app_datalock_acquire(const char *data_dir, const char *command)
{
    if (datalock_fd >= 0)
        return 0; /* this process holds it already */
    char path[PATH_MAX];
    if (datalock_path(data_dir, path, sizeof path) != 0) {
        fprintf(stderr, "sanhe-engine: data directory path too long: %s\n", data_dir);
        return APP_EXIT_FAIL;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "sanhe-engine: cannot open the lock file %s: %s\n", path, strerror(errno));
        return APP_EXIT_FAIL;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        int e = errno;
        long holder = datalock_holder(fd);
        close(fd);
        if (e == EAGAIN || e == EACCES) {
            fprintf(stderr,
                    "sanhe-engine %s: the data directory %s is in use by another sanhe-engine "
                    "(pid %ld, lock %s); one engine per data directory: stop it first "
                    "(backup works beside a running engine)\n",
                    command, data_dir, holder, path);
            return APP_EXIT_LOCKED;
        }
        fprintf(stderr, "sanhe-engine: cannot lock %s: %s\n", path, strerror(e));
        return APP_EXIT_FAIL;
    }
    datalock_write_pid(fd);
    datalock_fd = fd;
    return 0;
}
