/*
 * --probe-fsync DIR: what a durable write costs on the disk under DIR, 200
 * fdatasyncs each of:
 *   page_1               one 4 KiB page. A group commit of LMDB does two
 *                        of these at least, so this is the floor of a
 *                        settle's latency at light load, and the number to
 *                        compare with docs/performance.md (about
 *                        0.15 ms);
 *   pages_25_contiguous  25 pages in one run;
 *   pages_25_scattered   25 pages each on its own, as LMDB writes a commit
 *                        whose pages came from its free list (a commit of 20
 *                        settles writes about 36 pages in about 22 runs).
 * The last two tell what a commit's page count costs: on a disk where each
 * separate write is a request of its own, the scattered case costs many
 * times the contiguous one.
 */
#ifndef PROBE_H
#define PROBE_H

/* Prints the result and writes {kind: "fsync-probe", ...} to json_out
 * (when not NULL). Returns 0 or -1. */
int lg_probe_fsync(const char *dir, const char *json_out);

#endif
