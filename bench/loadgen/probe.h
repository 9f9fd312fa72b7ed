/*
 * --probe-fsync DIR: what one durable write costs on the disk under DIR
 * (4 KiB pwrite + fdatasync, 200 times). A group commit of LMDB does two of
 * these, so this is the floor of a settle's latency at light load, and the
 * number to compare with DESIGN.md's performance model (about 0.15 ms).
 */
#ifndef PROBE_H
#define PROBE_H

/* Prints the result and writes {kind: "fsync-probe", ...} to json_out
 * (when not NULL). Returns 0 or -1. */
int lg_probe_fsync(const char *dir, const char *json_out);

#endif
