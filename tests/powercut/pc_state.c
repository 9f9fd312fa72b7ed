/* The disk states (pc_state.h). */
#include "pc_state.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_req.h"

/* The last event before c at which each file's writes up to it are on
 * disk: the greatest start of a sync that ended before c. */
static void durable_marks(const struct pc_log *log, size_t c, size_t mark[PC_FILES_MAX])
{
    for (int f = 0; f < PC_FILES_MAX; f++)
        mark[f] = 0;
    for (size_t i = 0; i < c; i++) {
        const struct pc_event *e = &log->events[i];
        if (e->kind != PC_SYNC_END)
            continue;
        for (size_t j = i; j-- > 0;) {
            const struct pc_event *b = &log->events[j];
            if (b->kind == PC_SYNC_BEGIN && b->id == e->id) {
                if (j > mark[e->file])
                    mark[e->file] = j;
                break;
            }
        }
    }
}

static bool is_durable(const struct pc_event *e, size_t i, const size_t mark[PC_FILES_MAX])
{
    return e->self_durable || i < mark[e->file];
}

static int image_reserve(struct pc_image *img, int f, uint64_t end)
{
    if (end <= img->len[f])
        return 0;
    uint8_t *d = realloc(img->data[f], end);
    if (d == NULL)
        return -1;
    memset(d + img->len[f], 0, end - img->len[f]);
    img->data[f] = d;
    img->len[f] = end;
    return 0;
}

/* Lays bytes [from, to) of write e over the image. */
static int lay(const struct pc_log *log, const struct pc_event *e, uint64_t from, uint64_t to,
               struct pc_image *img)
{
    if (from >= to)
        return 0;
    if (image_reserve(img, e->file, e->off + to) != 0)
        return -1;
    memcpy(img->data[e->file] + e->off + from, log->arena + e->data + from, to - from);
    return 0;
}

/* One page of a pending write, [from, to) of it: kept, lost or torn. */
static int lay_page(const struct pc_log *log, const struct pc_event *e, uint64_t from, uint64_t to,
                    enum pc_fate fate, uint64_t *rng, struct pc_image *img,
                    struct pc_state_stats *st)
{
    uint32_t dice = fate == PC_FATE_KEPT ? 0 : fate == PC_FATE_LOST ? 1 : crash_rng_below(rng, 3);
    if (dice == 0) {
        st->pages_kept++;
        return lay(log, e, from, to, img);
    }
    if (dice == 1) {
        st->pages_lost++;
        return 0;
    }
    st->pages_torn++;
    /* Sectors by file offset: a write need not start on a sector. */
    uint64_t first = (e->off + from) / PC_SECTOR, last = (e->off + to - 1) / PC_SECTOR;
    uint64_t n = last - first + 1;
    uint32_t how = crash_rng_below(rng, 3);
    uint64_t cut = crash_rng_below(rng, (uint32_t)n + 1);
    int rc = 0;
    for (uint64_t s = 0; s < n && rc == 0; s++) {
        bool keep = how == 0 ? s < cut : how == 1 ? s >= cut : crash_rng_below(rng, 2) == 1;
        if (!keep)
            continue;
        uint64_t lo = (first + s) * PC_SECTOR, hi = lo + PC_SECTOR;
        lo = lo < e->off + from ? e->off + from : lo;
        hi = hi > e->off + to ? e->off + to : hi;
        rc = lay(log, e, lo - e->off, hi - e->off, img);
    }
    return rc;
}

static int lay_pending(const struct pc_log *log, const struct pc_event *e, enum pc_fate fate,
                       uint64_t *rng, struct pc_image *img, struct pc_state_stats *st)
{
    int rc = 0;
    for (uint64_t from = 0; from < e->len && rc == 0;) {
        uint64_t page_end = ((e->off + from) / PC_PAGE + 1) * PC_PAGE - e->off;
        uint64_t to = page_end < e->len ? page_end : e->len;
        rc = lay_page(log, e, from, to, fate, rng, img, st);
        from = to;
    }
    return rc;
}

int pc_state_build(const struct pc_log *log, size_t c, enum pc_fate fate, uint64_t *rng,
                   bool drop_synced, struct pc_image *img, struct pc_state_stats *st)
{
    memset(img, 0, sizeof *img);
    memset(st, 0, sizeof *st);
    if (c > log->n)
        return -1;
    for (int f = 0; f < log->file_count; f++)
        if (log->base_len[f] > 0) {
            img->data[f] = malloc(log->base_len[f]);
            if (img->data[f] == NULL)
                return -1;
            memcpy(img->data[f], log->base[f], log->base_len[f]);
            img->len[f] = log->base_len[f];
        }
    size_t mark[PC_FILES_MAX];
    durable_marks(log, c, mark);
    size_t dropped = SIZE_MAX;
    if (drop_synced)
        for (size_t i = c; i-- > 0;)
            if (log->events[i].kind == PC_WRITE && is_durable(&log->events[i], i, mark)) {
                dropped = i;
                st->dropped_synced = true;
                break;
            }
    int rc = 0;
    for (size_t i = 0; i < c && rc == 0; i++) {
        const struct pc_event *e = &log->events[i];
        if (e->kind != PC_WRITE || i == dropped)
            continue;
        if (is_durable(e, i, mark)) {
            st->durable_writes++;
            rc = lay(log, e, 0, e->len, img);
        } else {
            st->pending_writes++;
            rc = lay_pending(log, e, fate, rng, img, st);
        }
    }
    if (rc != 0)
        pc_image_free(img);
    return rc;
}

void pc_image_free(struct pc_image *img)
{
    for (int f = 0; f < PC_FILES_MAX; f++)
        free(img->data[f]);
    memset(img, 0, sizeof *img);
}

int pc_image_write(const struct pc_log *log, const struct pc_image *img, const char *dir)
{
    for (int f = 0; f < log->file_count; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, log->files[f]);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            return -1;
        uint64_t done = 0;
        while (done < img->len[f]) {
            ssize_t n = write(fd, img->data[f] + done, img->len[f] - done);
            if (n <= 0)
                break;
            done += (uint64_t)n;
        }
        close(fd);
        if (done != img->len[f])
            return -1;
    }
    return 0;
}
