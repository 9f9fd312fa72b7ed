# bench/lib.sh: shared by bench/run.sh and bench/latency.sh (sourced, POSIX sh).
#
# The caller sets ROOT, BUILD and NAME (its name in messages), then calls
# lib_init: a temporary WORK directory, and traps that stop every process
# started here (the engine, and the child being waited for) and remove WORK
# on any exit, Ctrl-C included (SANHE_BENCH_KEEP=1 keeps WORK).
# shellcheck shell=sh

ENGINE=$BUILD/bin/sanhe-engine
LOADGEN=$BUILD/bin/sanhe-loadgen
HOSPITALS="330424201 330424101 330424001 330424002 330400001 330100001"
# shellcheck disable=SC2034 # used by the callers
POLICY=$ROOT/tests/policies/haiyan-2026.json
ENGINE_PID=
ENGINES= # every engine started and not yet stopped (more than one: run.sh's parity)
CHILD_PID=
START=$(date +%s)

say() { echo "$NAME: $*" >&2; }

elapsed() { echo $(($(date +%s) - START)); }

# Kills pid $1 (TERM, then KILL after 15 s) and reaps it.
stop_pid() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || true
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Stops the engine on PORT (ENGINE_PID), whichever of those started that is.
engine_stop() {
    stop_pid "$ENGINE_PID"
    ENGINES=$(echo "$ENGINES" | tr ' ' '\n' | grep -vx "$ENGINE_PID" | tr '\n' ' ' || true)
    ENGINE_PID=
}

lib_cleanup() {
    stop_pid "$CHILD_PID"
    for pid in $ENGINES; do stop_pid "$pid"; done
    if [ "${SANHE_BENCH_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}

lib_init() {
    WORK=$(mktemp -d "/tmp/sanhe-$NAME-XXXXXX")
    trap lib_cleanup EXIT
    trap 'exit 130' INT TERM
}

# child SECONDS CMD...: runs CMD in the background under a deadline and waits
# for it, so that a signal to this script reaches the trap at once (and the
# trap stops CMD). Returns CMD's status (124 when the deadline cut it).
child() {
    limit=$1
    shift
    timeout -k 5 "$limit" "$@" &
    CHILD_PID=$!
    rc=0
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=
    return $rc
}

# Certificates in $WORK/certs: the CA, the engine's, and one counter terminal
# per hospital; TERMINALS becomes the loadgen's --terminal options.
# TERMINAL_HOSPITALS (default: HOSPITALS): one counter terminal each, a
# certificate here and a line in write_conf's [terminals].
make_certs() {
    "$ROOT/ops/certs.sh" ca "$WORK/certs" >/dev/null
    "$ROOT/ops/certs.sh" engine "$WORK/certs" >/dev/null
    TERMINALS=
    for h in ${TERMINAL_HOSPITALS:-$HOSPITALS}; do
        "$ROOT/ops/certs.sh" terminal "$WORK/certs" "counter-h$h" "H$h" counter >/dev/null
        TERMINALS="$TERMINALS --terminal $WORK/certs/counter-h$h.crt,$WORK/certs/counter-h$h.key,H$h"
    done
}

# write_conf FILE DATA_DIR [EXTRA_ENGINE_LINE]: durable, port 0, stats_file;
# paths relative to $WORK (FILE must be in $WORK).
write_conf() {
    cat >"$1" <<EOF
; written by bench/$NAME.sh
[engine]
data_dir = $2
listen = 127.0.0.1:0
port_file = port
stats_file = stats.json
durable = ${DURABLE:-true}
map_size_initial_mb = 1024
${3:-}
[tls]
ca = certs/ca.crt
cert = certs/engine.crt
key = certs/engine.key
[limits]
; A benchmark is not a hospital's day: a run settles more at a village
; clinic than its daily write quotas allow (docs/limits.md#write-quotas).
EOF
    # An engine built before the quotas knows none of these keys (and
    # refuses a configuration that names them): bench/ab.sh runs old builds.
    levels="village township county municipal provincial"
    grep -aq settlements_per_day_ "$ENGINE" || levels=
    # Nor is its load one counter's: a few hundred terminals make every
    # lookup of the mix, far past a counter's lookups_per_minute (0: none).
    ! grep -aq lookups_per_minute "$ENGINE" || echo "lookups_per_minute = 0" >>"$1"
    for l in $levels; do
        printf 'settlements_per_day_%s = 0\nstored_mb_per_day_%s = 0\n' "$l" "$l" >>"$1"
        printf 'unknown_cancels_per_day_%s = 0\n' "$l" >>"$1"
    done
    cat >>"$1" <<EOF
[log]
level = warn
[terminals]
EOF
    # The data's own terminal table has the six bench ones; the rest come
    # from here (the engine looks in the data first, then the config).
    for h in ${TERMINAL_HOSPITALS:-$HOSPITALS}; do
        echo "counter-h$h = H$h counter" >>"$1"
    done
}

# engine_start CONF: serve in the background; PORT once it listens. The
# engine's port file, stats and logs are in CONF's directory (ENGINE_DIR),
# so that two engines with their configurations in two directories can run
# side by side (ENGINE_PID, PORT and ENGINE_DIR name the last one started).
engine_start() {
    ENGINE_DIR=$(dirname "$1")
    rm -f "$ENGINE_DIR/port"
    "$ENGINE" serve -c "$1" >"$ENGINE_DIR/engine.out" 2>"$ENGINE_DIR/engine.err" &
    ENGINE_PID=$!
    ENGINES="$ENGINES $ENGINE_PID"
    i=0
    while [ ! -s "$ENGINE_DIR/port" ] && [ $i -lt 300 ]; do
        kill -0 "$ENGINE_PID" 2>/dev/null || { cat "$ENGINE_DIR/engine.err" >&2; return 1; }
        sleep 0.1
        i=$((i + 1))
    done
    [ -s "$ENGINE_DIR/port" ] || {
        say "the engine did not listen"
        cat "$ENGINE_DIR/engine.err" >&2
        return 1
    }
    PORT=$(cat "$ENGINE_DIR/port")
    say "engine pid $ENGINE_PID on 127.0.0.1:$PORT"
}

# load_step LABEL RATE CONNECTIONS SECONDS PERSONS OUT [LOADGEN OPTIONS...]:
# one open-loop step against the engine on PORT (ENGINE_PID, stats in
# ENGINE_DIR), with its batch sizes; the loadgen's report goes to OUT.txt.
# 0 done, 3 saturated, else failed.
STEP_N=0
load_step() {
    label=$1 rate=$2 conns=$3 secs=$4 persons=$5 out=$6
    shift 6
    STEP_N=$((STEP_N + 1))
    # shellcheck disable=SC2086 # TERMINALS is a list of options
    child $((secs + WARMUP + 60)) "$LOADGEN" --port "$PORT" --ca "$WORK/certs/ca.crt" $TERMINALS \
        --rate "$rate" --connections "$conns" --duration-s "$secs" --warmup-s "$WARMUP" \
        --drain-s 5 --mix "$MIX" --persons "gen:$persons" --label "$label" \
        --run-tag "s$STEP_N-$$" --engine-pid "$ENGINE_PID" --engine-stats "$ENGINE_DIR/stats.json" \
        --expect-rate-pct 90 --json "$out" "$@" >"$out.txt"
}
