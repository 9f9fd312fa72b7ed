#!/bin/sh
# bench/latency.sh: settle latency over TLS with group commit, at light load
# and at rising load until the engine saturates, with the engine's batch sizes.
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
# Loopback only; bounded (about 3 minutes, every step under its own deadline);
# stops the engine and removes the directory at the end (SANHE_BENCH_KEEP=1
# keeps it).
#
# Environment (defaults in brackets):
#   SANHE_BENCH_STEPS  "label:rate:connections:seconds ..."
#                      [light:100:8:20 1k:1000:8:15 2k:2000:8:15 5k:5000:8:15
#                       10k:10000:8:15 20k:20000:16:15 40k:40000:32:15]
#   SANHE_BENCH_MIX    the op mix [settle=80,presettle=10,eligibility=10]
#   SANHE_BENCH_WARMUP warm-up seconds per step [3]
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
ENGINE=$BUILD/bin/sanhe-engine
LOADGEN=$BUILD/bin/sanhe-loadgen
STEPS=${SANHE_BENCH_STEPS:-"light:100:8:20 1k:1000:8:15 2k:2000:8:15 5k:5000:8:15 10k:10000:8:15 20k:20000:16:15 40k:40000:32:15"}
MIX=${SANHE_BENCH_MIX:-settle=80,presettle=10,eligibility=10}
WARMUP=${SANHE_BENCH_WARMUP:-3}
BUDGET_S=270 # no new step starts after this many seconds
HOSPITALS="330424201 330424101 330424001 330424002 330400001 330100001"

for bin in "$ENGINE" "$LOADGEN"; do
    [ -x "$bin" ] || { echo "latency.sh: $bin missing: cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/sanhe-latency-XXXXXX)
ENGINE_PID=
START=$(date +%s)

stop_engine() {
    [ -n "$ENGINE_PID" ] || return 0
    kill -TERM "$ENGINE_PID" 2>/dev/null || true
    i=0
    while kill -0 "$ENGINE_PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$ENGINE_PID" 2>/dev/null || true
    wait "$ENGINE_PID" 2>/dev/null || true
    ENGINE_PID=
}

cleanup() {
    stop_engine
    if [ "${SANHE_BENCH_KEEP:-0}" = 1 ]; then echo "latency.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "latency.sh: $*" >&2; }

# ---- Certificates, dataset, configuration, reference data -------------------------
setup() {
    "$ROOT/ops/certs.sh" ca "$WORK/certs"
    "$ROOT/ops/certs.sh" engine "$WORK/certs"
    TERMINALS=
    for h in $HOSPITALS; do
        "$ROOT/ops/certs.sh" terminal "$WORK/certs" "counter-h$h" "H$h" counter
        TERMINALS="$TERMINALS --terminal $WORK/certs/counter-h$h.crt,$WORK/certs/counter-h$h.key,H$h"
    done
    "$LOADGEN" --make-dataset 10000 "$WORK/dataset.json" --policy "$ROOT/tests/policies/haiyan-2026.json"
    cat >"$WORK/engine.conf" <<EOF
; written by bench/latency.sh
[engine]
data_dir = data
listen = 127.0.0.1:0
port_file = port
stats_file = stats.json
durable = true
map_size_initial_mb = 1024
[tls]
ca = certs/ca.crt
cert = certs/engine.crt
key = certs/engine.key
[log]
level = warn
EOF
    "$ENGINE" load -c "$WORK/engine.conf" "$WORK/dataset.json" >"$WORK/load.out"
    say "$(cat "$WORK/load.out")"
}

start_engine() {
    "$ENGINE" serve -c "$WORK/engine.conf" >"$WORK/engine.out" 2>"$WORK/engine.err" &
    ENGINE_PID=$!
    i=0
    while [ ! -s "$WORK/port" ] && [ $i -lt 150 ]; do
        kill -0 "$ENGINE_PID" 2>/dev/null || { cat "$WORK/engine.err" >&2; exit 1; }
        sleep 0.1
        i=$((i + 1))
    done
    [ -s "$WORK/port" ] || { say "the engine did not listen"; cat "$WORK/engine.err" >&2; exit 1; }
    PORT=$(cat "$WORK/port")
    say "engine pid $ENGINE_PID on 127.0.0.1:$PORT"
}

# ---- The steps ----------------------------------------------------------------------
# run_step LABEL RATE CONNECTIONS SECONDS: 0 done, 3 saturated, else failed.
run_step() {
    # shellcheck disable=SC2086 # TERMINALS is a list of options
    "$LOADGEN" --port "$PORT" --ca "$WORK/certs/ca.crt" $TERMINALS \
        --rate "$2" --connections "$3" --duration-s "$4" --warmup-s "$WARMUP" --drain-s 5 \
        --mix "$MIX" --persons gen:10000 --label "$1" --run-tag "$1-$$" \
        --engine-pid "$ENGINE_PID" --engine-stats "$WORK/stats.json" \
        --expect-rate-pct 90 --json "$WORK/step-$N-$1.json"
}

run_steps() {
    N=10
    for step in $STEPS; do
        IFS=: read -r label rate conns secs <<EOF
$step
EOF
        if [ $(($(date +%s) - START + secs + WARMUP)) -gt $BUDGET_S ]; then
            say "time budget reached: $label and above not run"
            break
        fi
        say "step $label: $rate/s over $conns connections for $secs s"
        rc=0
        run_step "$label" "$rate" "$conns" "$secs" || rc=$?
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
start_engine
run_steps
stop_engine

mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/latency-$(date -u +%Y-%m-%d).json"
NOTE="bench/latency.sh: engine and generator on one machine ($(nproc) cores shared), loopback, TLS 1.3, durable = true; mix $MIX; load average before: $LOADAVG_BEFORE"
echo
"$LOADGEN" --report "$OUT" --note "$NOTE" "$WORK/fsync.json" "$WORK"/step-*.json
echo
say "wrote $OUT ($(($(date +%s) - START)) s)"
