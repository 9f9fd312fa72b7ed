/*
 * sanhe-engine backup and restore (docs/operations.md).
 *
 * backup DEST: a hot, consistent copy of the data directory into DEST (a
 * new or empty directory). LMDB's mdb_env_copy2 with MDB_CP_COMPACT copies
 * the store as of one read transaction, so the copy is a committed state
 * of the store; the running engine goes on writing meanwhile (the copy
 * holds one reader slot, which keeps the pages it reads from being
 * reused). The copy is then verified with check. Needs no lock: it writes
 * nothing in the data directory but its reader slot.
 *
 * restore BACKUP: the engine must be stopped (the data directory's lock is
 * taken). The backup is verified first; the current data.mdb, if any, is
 * kept beside as data.mdb.pre-restore.EPOCH; the copy is written to a
 * temporary file, synced and renamed into place, and checked again.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "store_wal.h"

#define BACKUP_COPY_CHUNK (1u << 20)

/* Monotonic time in hundredths of a second: what the report prints. Integer,
 * as everything in engine/ is. */
static unsigned long long backup_now_cs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 100u + (unsigned long long)ts.tv_nsec / 10000000u;
}

#define CS_FMT "%llu.%02llu"
#define CS_ARGS(cs) (cs) / 100u, (cs) % 100u

/* DEST must be absent (it is made, 0700) or an empty directory. */
static int backup_prepare_dest(const char *dest)
{
    if (mkdir(dest, 0700) == 0)
        return 0;
    if (errno != EEXIST) {
        fprintf(stderr, "sanhe-engine backup: cannot create %s: %s\n", dest, strerror(errno));
        return -1;
    }
    char probe[PATH_MAX + 64];
    snprintf(probe, sizeof probe, "%s/data.mdb", dest);
    if (access(probe, F_OK) == 0) {
        fprintf(stderr, "sanhe-engine backup: %s already holds a store; give a new directory\n",
                dest);
        return -1;
    }
    return 0;
}

static int restore_sync_dir(const char *dir);

/* LMDB's copy is written but not synced: a backup must survive a power cut
 * too. Private to the sanhe user, as the store is. */
static int backup_sync_file(const char *dest)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/data.mdb", dest);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = fd >= 0 && fchmod(fd, 0600) == 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        rc = restore_sync_dir(dest);
    if (rc != 0)
        fprintf(stderr, "sanhe-engine backup: cannot sync %s: %s\n", path, strerror(errno));
    return rc;
}

static int backup_copy(const char *data_dir, const char *dest)
{
    /* A store not closed cleanly, with no engine running, holds commits
     * only its write-ahead log has: LMDB alone would copy a state that
     * may not even be whole. */
    struct wal_ckpt ck;
    struct sh_error err = {0};
    if (wal_prepare(data_dir, true, false, &ck, &err) != 0) {
        fprintf(stderr, "sanhe-engine backup: %s\n", err.msg);
        return -1;
    }
    wal_ckpt_free(&ck);
    MDB_env *env = NULL;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 64);
    /* Read-only, beside the engine; MDB_NOTLS as the engine opens it. */
    if (rc == 0)
        rc = mdb_env_open(env, data_dir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (rc == 0)
        rc = mdb_env_copy2(env, dest, MDB_CP_COMPACT);
    if (rc != 0)
        fprintf(stderr, "sanhe-engine backup: %s -> %s: %s\n", data_dir, dest, mdb_strerror(rc));
    if (env != NULL)
        mdb_env_close(env);
    return rc == 0 ? backup_sync_file(dest) : -1;
}

/* check on another directory than the configuration's. */
static int backup_check_dir(const struct config *config, const char *dir)
{
    static struct config copy; /* large: not on the stack */
    copy = *config;
    snprintf(copy.data_dir, sizeof copy.data_dir, "%s", dir);
    return app_check(&copy);
}

int app_backup(const struct config *config, const char *dest)
{
    struct stat st;
    if (stat(config->data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "sanhe-engine backup: no data directory at %s\n", config->data_dir);
        return APP_EXIT_FAIL;
    }
    if (backup_prepare_dest(dest) != 0)
        return APP_EXIT_FAIL;
    unsigned long long t0 = backup_now_cs();
    if (backup_copy(config->data_dir, dest) != 0)
        return APP_EXIT_FAIL;
    unsigned long long t1 = backup_now_cs();
    int rc = backup_check_dir(config, dest);
    unsigned long long t2 = backup_now_cs();
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/data.mdb", dest);
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    printf("backup %s: %lld bytes, copied in " CS_FMT " s, checked in " CS_FMT " s: %s\n", dest,
           bytes, CS_ARGS(t1 - t0), CS_ARGS(t2 - t1), rc == 0 ? "verified" : "CHECK FAILED");
    return rc == 0 ? APP_EXIT_OK : APP_EXIT_FAIL;
}

static int restore_copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    static char buf[BACKUP_COPY_CHUNK];
    ssize_t n = 0;
    while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                n = -1;
                break;
            }
            off += w;
        }
        if (n < 0)
            break;
    }
    int rc = (in < 0 || out < 0 || n < 0 || fsync(out) != 0) ? -1 : 0;
    if (rc != 0)
        fprintf(stderr, "sanhe-engine restore: %s -> %s: %s\n", from, to, strerror(errno));
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0)
        rc = -1;
    return rc;
}

static int restore_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Moves the current store aside (data.mdb.pre-restore.EPOCH) and drops
 * LMDB's lock file: no process has the environment open (we hold the lock). */
static int restore_set_aside(const char *data_dir)
{
    char cur[PATH_MAX + 64], aside[PATH_MAX + 128], lockf[PATH_MAX + 64];
    snprintf(cur, sizeof cur, "%s/data.mdb", data_dir);
    snprintf(aside, sizeof aside, "%s.pre-restore.%lld", cur, (long long)time(NULL));
    snprintf(lockf, sizeof lockf, "%s/lock.mdb", data_dir);
    if (access(cur, F_OK) == 0) {
        if (rename(cur, aside) != 0) {
            fprintf(stderr, "sanhe-engine restore: cannot move %s aside: %s\n", cur,
                    strerror(errno));
            return -1;
        }
        printf("restore: the previous store is kept as %s\n", aside);
    }
    if (unlink(lockf) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

int app_restore(const struct config *config, const char *backup_dir)
{
    if (mkdir(config->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "sanhe-engine restore: cannot create %s: %s\n", config->data_dir,
                strerror(errno));
        return APP_EXIT_FAIL;
    }
    int locked = app_datalock_acquire(config->data_dir, "restore");
    if (locked != 0)
        return locked;
    unsigned long long t0 = backup_now_cs();
    if (backup_check_dir(config, backup_dir) != 0) {
        fprintf(stderr, "sanhe-engine restore: %s does not check clean; nothing restored\n",
                backup_dir);
        return APP_EXIT_FAIL;
    }
    char from[PATH_MAX + 64], tmp[PATH_MAX + 64], to[PATH_MAX + 64];
    snprintf(from, sizeof from, "%s/data.mdb", backup_dir);
    snprintf(tmp, sizeof tmp, "%s/data.mdb.restoring", config->data_dir);
    snprintf(to, sizeof to, "%s/data.mdb", config->data_dir);
    /* The log and checkpoint belong to the store set aside: gone before
     * the restored data.mdb is in place, or recovery would write their
     * meta pages over it. */
    if (restore_copy_file(from, tmp) != 0 || restore_set_aside(config->data_dir) != 0 ||
        wal_discard(config->data_dir) != 0 || rename(tmp, to) != 0 ||
        restore_sync_dir(config->data_dir) != 0) {
        fprintf(stderr, "sanhe-engine restore: failed: %s\n", strerror(errno));
        return APP_EXIT_FAIL;
    }
    unsigned long long t1 = backup_now_cs();
    int rc = app_check(config);
    unsigned long long t2 = backup_now_cs();
    printf("restore %s -> %s: " CS_FMT " s, checked in " CS_FMT " s: %s\n", backup_dir,
           config->data_dir, CS_ARGS(t1 - t0), CS_ARGS(t2 - t1),
           rc == 0 ? "clean" : "CHECK FAILED");
    return rc == 0 ? APP_EXIT_OK : APP_EXIT_FAIL;
}
