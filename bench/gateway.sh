#!/bin/sh
# bench/gateway.sh: what sanhe-gateway adds to a settle. One engine and one
# gateway in front of it on 127.0.0.1; at each rate, 2207 settles through the
# gateway (sanhe-gwload: HTTPS, keep-alive, open loop) and direct settles to
# the engine (sanhe-loadgen, the same claims: outpatient, 3 lines, built-in
# persons and catalog), in the same run, one after the other. A few minutes.
#
#   bench/gateway.sh [BUILD_DIR]       (default: build-bench; a Release build)
#
# In a temporary directory under /tmp: certificates (ops/certs.sh: the CA,
# the engine's, the hospital's terminal at the engine, the gateway's own
# terminal for that hospital, the hospital's HIS certificate at the gateway),
# the bench dataset (sanhe-loadgen --make-dataset), an engine (durable = true)
# and a gateway (its own LMDB store, durable too). Each gateway settle first
# has its visit registered (2201) and its lines uploaded (2204), not timed;
# the 2207 is timed from its scheduled send, as sanhe-loadgen times the
# engine's settles. Steps stop when the time budget is spent.
#
# Writes bench/results/gateway-YYYY-MM-DD.json (UTC date) and prints a table
# with the ratio gateway / direct of p50 and p99 at each rate. Loopback only;
# every step under its own deadline; stops both servers and removes the
# directory at the end (SANHE_BENCH_KEEP=1 keeps it).
#
# Environment (defaults in brackets):
#   SANHE_BENCH_OUT     the result file [bench/results/gateway-YYYY-MM-DD.json]
#   SANHE_BENCH_RATES   settles per second, one step each [50 100 200 400 800]
#                       (the gateway group-commits its store off its event
#                       loop: docs/gateway.md, "Durability")
#   SANHE_BENCH_SECS    seconds a step (after the warm-up) [10]
#   SANHE_BENCH_WARMUP  warm-up seconds a step [2]
#   SANHE_BENCH_CONNS   connections, both ways [16]
#   SANHE_BENCH_GW_DATA the gateway's data_dir [$WORK/gateway-data]; a tmpfs
#                       directory (/dev/shm/...) shows what the gateway costs
#                       without its synced commits
set -eu

NAME=gateway
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
RATES=${SANHE_BENCH_RATES:-"50 100 200 400 800"}
SECS=${SANHE_BENCH_SECS:-10}
WARMUP=${SANHE_BENCH_WARMUP:-2}
CONNS=${SANHE_BENCH_CONNS:-16}
MIX=settle=100
BUDGET_S=420 # no new step starts after this many seconds
HOSPITAL=330424001
TERMINAL_HOSPITALS=$HOSPITAL
GATEWAY=$BUILD/bin/sanhe-gateway
GWLOAD=$BUILD/bin/sanhe-gwload
# shellcheck shell=sh source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for bin in "$ENGINE" "$LOADGEN" "$GATEWAY" "$GWLOAD"; do
    [ -x "$bin" ] || { say "$bin missing: cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench"; exit 2; }
done
lib_init
GATEWAY_PID=

gateway_stop() {
    stop_pid "$GATEWAY_PID"
    GATEWAY_PID=
}
trap 'gateway_stop; lib_cleanup' EXIT

setup() {
    make_certs
    # The gateway's terminal at the engine (terminal_prefix gw-) and the
    # hospital's own certificate at the gateway.
    "$ROOT/ops/certs.sh" terminal "$WORK/certs" "gw-H$HOSPITAL" "H$HOSPITAL" counter >/dev/null
    "$ROOT/ops/certs.sh" terminal "$WORK/certs" "his-H$HOSPITAL" "H$HOSPITAL" counter >/dev/null
    "$LOADGEN" --make-dataset 10000 "$WORK/dataset.json" --policy "$POLICY"
    # One terminal (the gateway's, gw-H...) carries every counter of the
    # hospital: the engine's per-terminal lookup rate (2204 prices each
    # upload, 2206 presettles) is lifted, as for any gateway terminal
    # (docs/gateway.md, "Engines").
    write_conf "$WORK/engine.conf" data "$(printf '[limits]\nlookups_per_minute = 0')"
    echo "gw-H$HOSPITAL = H$HOSPITAL counter" >>"$WORK/engine.conf"
    "$ENGINE" load -c "$WORK/engine.conf" "$WORK/dataset.json" >"$WORK/load.out"
    say "$(cat "$WORK/load.out")"
}

gateway_start() {
    cat >"$WORK/gateway.conf" <<EOF
; written by bench/gateway.sh
[gateway]
listen = 127.0.0.1:0
port_file = $WORK/gateway.port
ca = $WORK/certs/ca.crt
cert = $WORK/certs/engine.crt
key = $WORK/certs/engine.key
data_dir = ${SANHE_BENCH_GW_DATA:-$WORK/gateway-data}
[engine]
ca = $WORK/certs/ca.crt
terminal_dir = $WORK/certs
terminal_prefix = gw-
[region *]
engine = 127.0.0.1:$PORT
[fund_pay_type]
coop = 390100
youfu = 350100
assist = 610100
EOF
    "$GATEWAY" -c "$WORK/gateway.conf" >"$WORK/gateway.out" 2>"$WORK/gateway.err" &
    GATEWAY_PID=$!
    i=0
    while [ ! -s "$WORK/gateway.port" ] && [ $i -lt 300 ]; do
        kill -0 "$GATEWAY_PID" 2>/dev/null || { cat "$WORK/gateway.err" >&2; return 1; }
        sleep 0.1
        i=$((i + 1))
    done
    [ -s "$WORK/gateway.port" ] || { say "the gateway did not listen"; return 1; }
    GW_PORT=$(cat "$WORK/gateway.port")
    say "gateway pid $GATEWAY_PID on 127.0.0.1:$GW_PORT"
}

# The p50 and p99 (us, from the scheduled send) and the achieved rate of a
# sanhe-loadgen result.
loadgen_pcts() {
    python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(d["p50_us"], d["p99_us"], d["achieved_per_s"])' "$1"
}

run_steps() {
    first=0
    for rate in $RATES; do
        if [ $(($(elapsed) + 3 * (SECS + WARMUP) + 30)) -gt $BUDGET_S ]; then
            say "time budget reached: $rate/s and above not run"
            break
        fi
        say "step $rate/s: gateway (2201 + 2204 untimed, then 2207) for $((SECS + WARMUP)) s"
        rc=0
        child $((3 * (SECS + WARMUP) + 120)) "$GWLOAD" --port "$GW_PORT" --ca "$WORK/certs/ca.crt" \
            --cert "$WORK/certs/his-H$HOSPITAL.crt" --key "$WORK/certs/his-H$HOSPITAL.key" \
            --hospital "H$HOSPITAL" --rate "$rate" --duration-s $((SECS + WARMUP)) \
            --warmup-s "$WARMUP" --connections "$CONNS" --lines 3 --persons 10000 \
            --first "$first" --label "gateway-$rate" --json "$WORK/gw-$rate.json" || rc=$?
        first=$((first + rate * (SECS + WARMUP)))
        [ $rc -eq 0 ] || say "gateway step $rate/s: exit $rc"
        say "step $rate/s: direct settles to the engine for $SECS s"
        load_step "direct-$rate" "$rate" "$CONNS" "$SECS" 10000 "$WORK/direct-$rate.json" \
            --visits outpatient=100 --lines 3-3 || say "direct step $rate/s: exit $?"
        cat "$WORK/direct-$rate.json.txt" >&2
    done
}

LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
setup
engine_start "$WORK/engine.conf"
gateway_start
run_steps
gateway_stop
engine_stop

mkdir -p "$ROOT/bench/results"
OUT=${SANHE_BENCH_OUT:-"$ROOT/bench/results/gateway-$(date -u +%Y-%m-%d).json"}
{
    printf '{\n  "bench": "bench/gateway.sh",\n'
    printf '  "note": "engine, gateway and both load drivers on one machine (%s cores shared with other work), loopback, TLS, durable = true, 2207 outpatient 3 lines; gateway store: %s; load average before: %s",\n' "$(nproc)" "${SANHE_BENCH_GW_DATA:-on disk, in the work directory}" "$LOADAVG_BEFORE"
    printf '  "steps": [\n'
    sep=
    for rate in $RATES; do
        [ -s "$WORK/gw-$rate.json" ] && [ -s "$WORK/direct-$rate.json" ] || continue
        set -- $(loadgen_pcts "$WORK/direct-$rate.json")
        printf '%s    {"rate": %s, "direct": {"p50_us": %s, "p99_us": %s, "achieved_rate": %s}, "gateway": %s}' \
            "$sep" "$rate" "$1" "$2" "$3" "$(tr -d '\n' <"$WORK/gw-$rate.json")"
        sep=',
'
    done
    printf '\n  ]\n}\n'
} >"$OUT"
echo
python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print("rate/s  direct p50  direct p99  gateway p50  gateway p99  ratio p50  ratio p99  (us)")
for s in d["steps"]:
    a,g=s["direct"],s["gateway"]
    print("%6d  %10.0f  %10.0f  %11.0f  %11.0f  %9.2f  %9.2f" % (s["rate"],a["p50_us"],a["p99_us"],g["p50_us"],g["p99_us"],g["p50_us"]/a["p50_us"],g["p99_us"]/a["p99_us"]))' "$OUT"
echo
say "wrote $OUT ($(elapsed) s)"
