#!/bin/sh
# The kill -9 soak, outside CI: the crash test's rounds (settles, reverses,
# cancels at full speed, SIGKILL at a random moment, restart, recovery by
# retry or cancel, replays compared byte for byte), many more of them, with
# `sanhe-engine check` on the store after every kill and a 1 MiB first map so
# that the store grows by itself again and again while it is being killed.
# Ends with the crash test's global comparison (nothing acknowledged lost,
# nothing paid twice) and its summary line.
#
# Usage: tests/fault/soak.sh [BUILD_DIR] [ROUNDS] [SECONDS]
#   BUILD_DIR  default build (the normal build, with test_fault_crash)
#   ROUNDS     default 200
#   SECONDS    the rounds' wall-time budget, default 1200; the run stops at
#              whichever comes first, and fails if fewer than ROUNDS ran
#              only when SANHE_SOAK_STRICT=1.
# Environment: SANHE_CRASH_SEED repeats a run (the seed is printed).
set -eu
build=${1:-build}
rounds=${2:-200}
seconds=${3:-1200}
bin=$build/bin/test_fault_crash
[ -x "$bin" ] || { echo "soak: $bin not built (cmake --build $build --target test_fault_crash)" >&2; exit 2; }
log=$(mktemp /tmp/sanhe-soak-XXXXXX.log)
work=$(mktemp -d /tmp/sanhe-soak-XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "soak: $rounds rounds (at most $seconds s), check after every kill, 1 MiB first map; log $log"
start=$(date +%s)
status=0
TMPDIR=$work SANHE_TEST_KEEP=1 SANHE_CRASH_ROUNDS=$rounds SANHE_CRASH_SECONDS=$seconds \
    SANHE_CRASH_CHECK_EACH=1 SANHE_CRASH_MAP_MB=1 timeout $((seconds + 300)) stdbuf -oL "$bin" >"$log" 2>&1 || status=$?
end=$(date +%s)
grep -E '^crash: up to|^crash: rounds|^big batch' "$log" || true
# The client threads write to stderr as the rounds' lines go to stdout, so
# a round's line may not start a line of the log: count matches, not lines.
ran=$(grep -o 'round [0-9]*: kill -9' "$log" | wc -l)
cancels=$(grep -o 'recovery with cancels' "$log" | wc -l)
checked=$(grep -o 'check clean; restart' "$log" | wc -l)
echo "soak: $ran rounds ($cancels with cancels, $checked checked clean after the kill) in $((end - start)) s; exit $status"
for f in $(find "$work" -name data.mdb); do
    echo "soak: $(dirname "$(dirname "$f")" | xargs basename): data.mdb $(du -k --apparent-size "$f" | cut -f1) KiB from a 1024 KiB first map"
done
if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    exit 1
fi
if [ "${SANHE_SOAK_STRICT:-0}" = 1 ] && [ "$ran" -lt "$rounds" ]; then
    echo "soak: only $ran of $rounds rounds ran in the time budget" >&2
    exit 1
fi
