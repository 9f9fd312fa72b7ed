#!/bin/sh
# bench/latency.sh: settle latency over TLS with group commit, at light load
# and at rising load until the engine saturates, with the engine's batch sizes.
# A quick look (about 3 minutes, 10,000 persons); bench/run.sh is the whole
# benchmark (roster sizes, baselines, plots).
#
#   bench/latency.sh [BUILD_DIR]       (default: build-bench; a Release build)
#
# In a temporary directory under /tmp it makes certificates (ops/certs.sh), a
# dataset (sanhe-loadgen --make-dataset: the Haiyan 2026 policy, six hospitals,
# 300 catalog items, 10,000 persons), a configuration (durable = true,
# stats_file), loads the dataset (sanhe-engine load) and starts
# `sanhe-engine serve` on 127.0.0.1. It times fdatasync on that disk, then runs
# sanhe-loadgen once per step: first the light load, then higher rates, each
# step stopping the climb once the engine cannot keep up (achieved < 90 % of
# offered, or > 1 % errors). Each step's result includes the engine's
# group-commit batch sizes over exactly its window (SIGUSR1 -> stats_file).
#
# Writes bench/results/latency-YYYY-MM-DD.json (UTC date) and prints a table.
# Loopback only; bounded (every step under its own deadline); stops the engine
# and removes the directory at the end (SANHE_BENCH_KEEP=1 keeps it).
#
# Environment (defaults in brackets):
#   SANHE_BENCH_STEPS  "label:rate:connections:seconds ..."
#                      [light:100:8:20 1k:1000:8:15 2k:2000:8:15 5k:5000:8:15
#                       10k:10000:8:15 20k:20000:16:15 40k:40000:32:15]
#   SANHE_BENCH_MIX    the op mix [settle=80,presettle=10,eligibility=10]
#   SANHE_BENCH_WARMUP warm-up seconds per step [3]
set -eu

NAME=latency
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
STEPS=${SANHE_BENCH_STEPS:-"light:100:8:20 1k:1000:8:15 2k:2000:8:15 5k:5000:8:15 10k:10000:8:15 20k:20000:16:15 40k:40000:32:15"}
MIX=${SANHE_BENCH_MIX:-settle=80,presettle=10,eligibility=10}
WARMUP=${SANHE_BENCH_WARMUP:-3}
BUDGET_S=270 # no new step starts after this many seconds
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for bin in "$ENGINE" "$LOADGEN"; do
    [ -x "$bin" ] || { say "$bin missing: cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench"; exit 2; }
done
lib_init

setup() {
    make_certs
    "$LOADGEN" --make-dataset 10000 "$WORK/dataset.json" --policy "$POLICY"
    write_conf "$WORK/engine.conf" data
    "$ENGINE" load -c "$WORK/engine.conf" "$WORK/dataset.json" >"$WORK/load.out"
    say "$(cat "$WORK/load.out")"
}

run_steps() {
    N=10
    for step in $STEPS; do
        IFS=: read -r label rate conns secs <<EOF
$step
EOF
        if [ $(($(elapsed) + secs + WARMUP)) -gt $BUDGET_S ]; then
            say "time budget reached: $label and above not run"
            break
        fi
        say "step $label: $rate/s over $conns connections for $secs s"
        rc=0
        load_step "$label" "$rate" "$conns" "$secs" 10000 "$WORK/step-$N-$label.json" || rc=$?
        cat "$WORK/step-$N-$label.json.txt"
        N=$((N + 1))
        if [ $rc -eq 3 ]; then
            say "step $label saturated the engine: stopping the climb"
            break
        elif [ $rc -ne 0 ]; then
            say "step $label failed ($rc)"
            break
        fi
    done
}

LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
setup
"$LOADGEN" --probe-fsync "$WORK" --json "$WORK/fsync.json"
engine_start "$WORK/engine.conf"
run_steps
engine_stop

mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/latency-$(date -u +%Y-%m-%d).json"
NOTE="bench/latency.sh: engine and generator on one machine ($(nproc) cores shared), loopback, TLS 1.3, durable = true; mix $MIX; load average before: $LOADAVG_BEFORE"
echo
"$LOADGEN" --report "$OUT" --note "$NOTE" "$WORK/fsync.json" "$WORK"/step-*.json
echo
say "wrote $OUT ($(elapsed) s)"
