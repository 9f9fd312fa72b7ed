/* The recorder (pc_record.h). */
#include "pc_record.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* One file seen through some descriptor: recorded or not. */
struct seen {
    dev_t dev;
    ino_t ino;
    int file; /* index in the log, or -1: not recorded */
};
#define SEEN_MAX 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool recording;
static char rec_dir[PATH_MAX];
static struct pc_log log_;
static size_t events_cap;
static uint64_t arena_cap;
static struct seen seen[SEEN_MAX];
static int seen_count;
static uint32_t sync_next;

/* ---- The real functions ---------------------------------------------------------------------- */

static struct {
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
    int (*fsync)(int);
    int (*fdatasync)(int);
    int (*msync)(void *, size_t, int);
    int (*ftruncate)(int, off_t);
    int (*fallocate)(int, int, off_t, off_t);
} real_;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void *real_sym(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn == NULL)
        abort(); /* no C library under us: nothing can work */
    return fn;
}

static void real_resolve(void)
{
    *(void **)&real_.write = real_sym("write");
    *(void **)&real_.pwrite = real_sym("pwrite");
    *(void **)&real_.writev = real_sym("writev");
    *(void **)&real_.pwritev = real_sym("pwritev");
    *(void **)&real_.fsync = real_sym("fsync");
    *(void **)&real_.fdatasync = real_sym("fdatasync");
    *(void **)&real_.msync = real_sym("msync");
    *(void **)&real_.ftruncate = real_sym("ftruncate");
    *(void **)&real_.fallocate = real_sym("fallocate");
}

static void real_init(void) { pthread_once(&real_once, real_resolve); }

/* ---- The log --------------------------------------------------------------------------------- */

static void unmodelled(const char *what)
{
    log_.unmodelled++;
    if (log_.unmodelled_what[0] == '\0')
        snprintf(log_.unmodelled_what, sizeof log_.unmodelled_what, "%s", what);
}

static struct pc_event *event_add(enum pc_kind kind)
{
    if (log_.n == events_cap) {
        size_t cap = events_cap > 0 ? events_cap * 2 : 4096;
        struct pc_event *ev = cap <= PC_EVENTS_MAX ? realloc(log_.events, cap * sizeof *ev) : NULL;
        if (ev == NULL) {
            unmodelled("the log is full");
            return NULL;
        }
        log_.events = ev;
        events_cap = cap;
    }
    struct pc_event *e = &log_.events[log_.n++];
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    return e;
}

static bool arena_reserve(uint64_t len)
{
    if (log_.arena_len + len <= arena_cap)
        return true;
    uint64_t cap = arena_cap > 0 ? arena_cap : 1u << 20;
    while (cap < log_.arena_len + len)
        cap *= 2;
    uint8_t *a = cap <= PC_ARENA_MAX ? realloc(log_.arena, cap) : NULL;
    if (a == NULL) {
        unmodelled("the arena is full");
        return false;
    }
    log_.arena = a;
    arena_cap = cap;
    return true;
}

/* The recorded file behind fd, or -1. Under lock. */
static int file_of(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    for (int i = 0; i < seen_count; i++)
        if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino)
            return seen[i].file;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return -1;
    path[n] = '\0';
    size_t dl = strlen(rec_dir);
    int file = -1;
    if (strncmp(path, rec_dir, dl) == 0 && path[dl] == '/' && strchr(path + dl + 1, '/') == NULL &&
        strcmp(path + dl + 1, "lock.mdb") != 0) {
        if (log_.file_count < PC_FILES_MAX) {
            file = log_.file_count++;
            snprintf(log_.files[file], sizeof log_.files[file], "%s", path + dl + 1);
        } else {
            unmodelled("too many files");
        }
    }
    if (seen_count < SEEN_MAX)
        seen[seen_count++] = (struct seen){st.st_dev, st.st_ino, file};
    return file;
}

static void record_write(int file, int fd, uint64_t off, const struct iovec *iov, int iovcnt,
                         ssize_t done, size_t asked)
{
    if (done < 0)
        return;
    if ((size_t)done != asked)
        unmodelled("a short write");
    uint64_t len = (uint64_t)done;
    if (!arena_reserve(len))
        return;
    struct pc_event *e = event_add(PC_WRITE);
    if (e == NULL)
        return;
    e->file = (uint8_t)file;
    e->off = off;
    e->len = len;
    e->data = log_.arena_len;
    int fl = fcntl(fd, F_GETFL);
    e->self_durable = fl >= 0 && (fl & O_DSYNC) == O_DSYNC;
    uint64_t left = len;
    for (int i = 0; i < iovcnt && left > 0; i++) {
        uint64_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
        memcpy(log_.arena + log_.arena_len, iov[i].iov_base, n);
        log_.arena_len += n;
        left -= n;
    }
    log_.writes++;
    log_.write_bytes += len;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++)
        n += iov[i].iov_len;
    return n;
}

/* A write at off (-1: at the descriptor's position and moving it), made
 * and recorded under the lock when fd is a recorded file. */
static ssize_t do_write(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    real_init();
    if (!atomic_load(&recording))
        return off >= 0 ? real_.pwritev(fd, iov, iovcnt, off) : real_.writev(fd, iov, iovcnt);
    pthread_mutex_lock(&lock);
    int file = file_of(fd);
    off_t at = off >= 0 ? off : lseek(fd, 0, SEEK_CUR);
    ssize_t done = off >= 0 ? real_.pwritev(fd, iov, iovcnt, off) : real_.writev(fd, iov, iovcnt);
    int saved = errno;
    if (file >= 0 && at >= 0) {
        record_write(file, fd, (uint64_t)at, iov, iovcnt, done, iov_total(iov, iovcnt));
        if (iovcnt > 1)
            log_.vectored++;
    } else if (file >= 0) {
        unmodelled("a write at an unknown offset");
    }
    pthread_mutex_unlock(&lock);
    errno = saved;
    return done;
}

static int do_sync(int fd, bool data_only)
{
    real_init();
    int (*fn)(int) = data_only ? real_.fdatasync : real_.fsync;
    if (!atomic_load(&recording))
        return fn(fd);
    pthread_mutex_lock(&lock);
    int file = file_of(fd);
    uint32_t id = sync_next++;
    struct pc_event *e = file >= 0 ? event_add(PC_SYNC_BEGIN) : NULL;
    if (e != NULL) {
        e->file = (uint8_t)file;
        e->id = id;
    }
    pthread_mutex_unlock(&lock);
    int rc = fn(fd);
    int saved = errno;
    pthread_mutex_lock(&lock);
    if (file >= 0 && rc == 0) {
        e = event_add(PC_SYNC_END);
        if (e != NULL) {
            e->file = (uint8_t)file;
            e->id = id;
        }
        log_.syncs++;
    } else if (file >= 0) {
        unmodelled("a failed sync");
    }
    pthread_mutex_unlock(&lock);
    errno = saved;
    return rc;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    real_init();
    if (!atomic_load(&recording))
        return real_.write(fd, buf, n);
    return do_write(fd, &iov, 1, -1);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    real_init();
    if (!atomic_load(&recording) || off < 0)
        return real_.pwrite(fd, buf, n, off);
    return do_write(fd, &iov, 1, off);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    return do_write(fd, iov, iovcnt, -1);
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    real_init();
    if (off < 0)
        return real_.pwritev(fd, iov, iovcnt, off);
    return do_write(fd, iov, iovcnt, off);
}

int fsync(int fd) { return do_sync(fd, false); }

int fdatasync(int fd) { return do_sync(fd, true); }

int msync(void *addr, size_t len, int flags)
{
    real_init();
    if (atomic_load(&recording)) {
        pthread_mutex_lock(&lock);
        unmodelled("msync (a writable map)");
        pthread_mutex_unlock(&lock);
    }
    return real_.msync(addr, len, flags);
}

/* A file's length changed other than by writing: not in the model. */
static void length_call(int fd, const char *what)
{
    if (!atomic_load(&recording))
        return;
    pthread_mutex_lock(&lock);
    if (file_of(fd) >= 0)
        unmodelled(what);
    pthread_mutex_unlock(&lock);
}

int ftruncate(int fd, off_t len)
{
    real_init();
    length_call(fd, "ftruncate");
    return real_.ftruncate(fd, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    real_init();
    length_call(fd, "fallocate");
    return real_.fallocate(fd, mode, off, len);
}

/* ---- The recorder ------------------------------------------------------------------------------
 */

/* Reads an existing file of the directory as the base of a new file. */
static int base_add(const char *name)
{
    char path[PATH_MAX + 72];
    snprintf(path, sizeof path, "%s/%s", rec_dir, name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || strcmp(name, "lock.mdb") == 0)
        return 0;
    if (log_.file_count == PC_FILES_MAX || seen_count == SEEN_MAX)
        return -1;
    int f = log_.file_count++;
    snprintf(log_.files[f], sizeof log_.files[f], "%s", name);
    seen[seen_count++] = (struct seen){st.st_dev, st.st_ino, f};
    log_.base[f] = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    log_.base_len[f] = (uint64_t)st.st_size;
    FILE *in = fopen(path, "rb");
    size_t got =
        in != NULL && log_.base[f] != NULL ? fread(log_.base[f], 1, (size_t)st.st_size, in) : 0;
    if (in != NULL)
        fclose(in);
    return got == (size_t)st.st_size ? 0 : -1;
}

int pc_record_start(const char *dir)
{
    real_init();
    if (realpath(dir, rec_dir) == NULL)
        return -1;
    pthread_mutex_lock(&lock);
    memset(&log_, 0, sizeof log_);
    events_cap = 0;
    arena_cap = 0;
    seen_count = 0;
    sync_next = 0;
    int rc = 0;
    DIR *d = opendir(rec_dir);
    for (struct dirent *e = d != NULL ? readdir(d) : NULL; e != NULL && rc == 0; e = readdir(d))
        if (e->d_name[0] != '.')
            rc = base_add(e->d_name);
    if (d != NULL)
        closedir(d);
    pthread_mutex_unlock(&lock);
    if (d == NULL || rc != 0)
        return -1;
    atomic_store(&recording, true);
    return 0;
}

void pc_record_stop(void) { atomic_store(&recording, false); }

const struct pc_log *pc_record_log(void) { return &log_; }

void pc_record_free(void)
{
    pc_record_stop();
    for (int f = 0; f < PC_FILES_MAX; f++)
        free(log_.base[f]);
    free(log_.events);
    free(log_.arena);
    memset(&log_, 0, sizeof log_);
    events_cap = 0;
    arena_cap = 0;
}

size_t pc_record_ack(uint32_t id)
{
    pthread_mutex_lock(&lock);
    struct pc_event *e = event_add(PC_ACK);
    size_t at = log_.n - 1;
    if (e != NULL)
        e->id = id;
    pthread_mutex_unlock(&lock);
    return at;
}
