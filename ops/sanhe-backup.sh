#!/bin/sh
# The nightly backup (sanhe-backup.service, started by sanhe-backup.timer):
# a hot, verified copy of the engine's store into a new directory
# BACKUP_DIR/YYYYmmddTHHMMSSZ, then the oldest beyond KEEP are removed. A
# copy that does not check clean is kept as *.failed and the unit fails.
#
#   sanhe-backup [CONFIG [BACKUP_DIR [KEEP]]]
#   defaults: /etc/sanhe/sanhe-engine.conf /var/backups/sanhe 14
set -eu
conf=${1:-/etc/sanhe/sanhe-engine.conf}
dir=${2:-/var/backups/sanhe}
keep=${3:-14}
engine=${SANHE_ENGINE:-/usr/bin/sanhe-engine}
case "$keep" in "" | *[!0-9]*) echo "sanhe-backup: KEEP must be a number" >&2; exit 2 ;; esac

umask 077
mkdir -p "$dir"
dest="$dir/$(date -u +%Y%m%dT%H%M%SZ)"
if ! "$engine" backup -c "$conf" "$dest"; then
    [ -d "$dest" ] && mv "$dest" "$dest.failed"
    echo "sanhe-backup: backup into $dest failed" >&2
    exit 1
fi
# Only finished, verified backups count towards KEEP (names sort by time).
ls -1d "$dir"/[0-9]*Z 2>/dev/null | sort | head -n "-$keep" | while read -r old; do
    rm -rf -- "$old"
done
