#!/bin/sh
# Runs one libFuzzer target for a bounded time (ctest's fuzz/* tests):
#   run.sh FUZZER SECONDS WORKDIR SEEDS...
# New inputs go to WORKDIR/corpus-NAME (never into the committed seeds), a
# crash to WORKDIR/artifacts/, libFuzzer's output to WORKDIR/NAME.log. Prints
# (and keeps in WORKDIR/NAME.summary) how many inputs ran; on a crash, the
# end of the log, and exits nonzero.
set -u
fuzzer=$1 seconds=$2 work=$3
shift 3
name=$(basename "$fuzzer")
mkdir -p "$work/corpus-$name" "$work/artifacts"
log="$work/$name.log"

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$name-" "$work/corpus-$name" "$@" >"$log" 2>&1
rc=$?

done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
units=$(sed -n 's/^stat::new_units_added: *//p' "$log")
cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | sed -n 's/.*\(cov: [0-9]*\).*/\1/p')
summary="$name: ${done_line:-no 'Done' line}; ${rate:-?} exec/s; ${units:-?} new inputs; ${cov:-cov: ?}"
echo "$summary" | tee "$work/$name.summary"
# fuzz_frame's own statistics: the replies by code, the ledgers' growth.
grep -E '^fuzz: replies:' "$log" | sed "s/^fuzz:/$name:/" | tee -a "$work/$name.summary"
if [ "$rc" -ne 0 ]; then
    echo "$name: FAILED (exit $rc); the end of $log:"
    tail -n 60 "$log"
    ls "$work/artifacts" 2>/dev/null | sed "s|^|  artifact: $work/artifacts/|"
fi
exit "$rc"
