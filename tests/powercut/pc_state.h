/*
 * The disk states a power cut could leave, from the recorder's log.
 *
 * A crash at event c: events [0, c) happened. A write is on disk when a
 * sync of its file started after it and ended before c, or when it went
 * through an O_DSYNC descriptor. Every other write before c is pending:
 * the kernel may have written all of it, none of it, or a part, in any
 * order relative to the other pending writes. Pending writes are split at
 * 4 KiB pages; each page of each pending write is kept whole, lost, or
 * torn: a prefix of its 512-byte sectors, a suffix, or any mix of old and
 * new sectors (a sector itself is written whole, as disks guarantee).
 * Lost pages of a write that made the file longer leave it shorter; a hole
 * reads as zeros. Later writes to the same bytes are laid over earlier
 * ones in log order, so a kept later write over a lost earlier one is a
 * reordering.
 */
#ifndef PC_STATE_H
#define PC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pc_record.h"

#define PC_PAGE 4096u
#define PC_SECTOR 512u

enum pc_fate {
    PC_FATE_RANDOM = 0, /* each pending page kept, lost or torn */
    PC_FATE_LOST,       /* every pending write lost: exactly what was synced */
    PC_FATE_KEPT,       /* every pending write kept (the page cache all written) */
};

struct pc_image {
    uint8_t *data[PC_FILES_MAX];
    uint64_t len[PC_FILES_MAX];
};

struct pc_state_stats {
    uint64_t durable_writes, pending_writes;
    uint64_t pages_kept, pages_lost, pages_torn;
    bool dropped_synced; /* the broken variant dropped a synced write */
};

/* Builds the state after a crash at event c. drop_synced: the harness's
 * self-check, which breaks the model by losing the last synced write. */
int pc_state_build(const struct pc_log *log, size_t c, enum pc_fate fate, uint64_t *rng,
                   bool drop_synced, struct pc_image *img, struct pc_state_stats *st);
void pc_image_free(struct pc_image *img);

/* Writes each file of the image into dir. */
int pc_image_write(const struct pc_log *log, const struct pc_image *img, const char *dir);

#endif
