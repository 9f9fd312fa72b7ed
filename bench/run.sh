#!/bin/sh
# bench/run.sh: the whole benchmark, one command, bounded (under 20 minutes).
#
#   bench/run.sh [BUILD_DIR]        (default: build-bench, built Release here)
#   bench/run.sh --quick [BUILD_DIR] a reduced run, under 8 minutes: 10k persons only,
#                                   rates 1000 5000 10000 (tls_echo and nosync too),
#                                   the full mix at 10000/s, the peer at 1000 2000
#                                   5000/s and closed loop, no parity (one roster);
#                                   its JSON and plots go to /tmp/sanhe-bench-quick
#                                   unless SANHE_BENCH_RESULTS says otherwise, so that
#                                   latest.json stays a whole run. Any variable below
#                                   still overrides these.
#
# 1. ops/install-deps.sh, then a Release build of the engine, the generator
#    and the baselines (and sanhe-datagen when the tree has it).
# 2. Certificates, the disk's fdatasync cost (sanhe-loadgen --probe-fsync: one
#    page, 25 pages in one run, 25 pages each on its own).
# 3. rules_core (bench-rules: the rules alone, one core) and ledger_commit
#    (bench-ledger: the ledger's write path alone, batches of 1 ... 1024).
# 4. For each roster size (10k, 1M, 10M persons): lmdb_commit (plain LMDB
#    durable commits of a settle's writes, B = 1 ... 1024 per commit), then
#    a data directory (sanhe-datagen; without it sanhe-loadgen --make-dataset
#    + sanhe-engine load, which stops at 1M), `sanhe-engine serve` (durable = true) and
#    open-loop rate steps until a step does not keep up (achieved < 90 % of
#    offered, or > 1 % errors), each with the engine's batch sizes. With the
#    10k data, the same steps against the engine in bench_echo mode
#    (tls_echo: the same server loop and frames, no ledger), the full op mix
#    at 5,000/s and 10,000/s (sanhe_mix: settle, presettle, reverse, query,
#    eligibility), then on fresh 10k data with durable = false
#    (sanhe_nosync: the ledger without the disk's syncs).
# 5. The peer (pg_peer, bench/pg_peer.sh): a settle's writes as one
#    PostgreSQL transaction, synchronous_commit = on, with the first roster's
#    persons (at most 1M), open-loop pgbench --rate at the sweeps' rates
#    until a step does not keep up, then one closed-loop step.
#    Parity: the 10k and the 10M engines side by side, each on the data its
#    sweep left, visited in turns at 1,000/s, 5,000/s and 10,000/s
#    (sanhe_parity; see parity()).
# 6. bench/results/YYYY-MM-DD-HHMM.json (UTC) and latest.json, a link to it;
#    PNG plots there
#    (latency, throughput, batch and CPU against the rate or roster; parity's
#    rounds), and the summary table.
#
# Loopback only; every step under its own deadline, the whole under
# SANHE_BENCH_BUDGET_S; every process started is stopped on any exit
# (Ctrl-C included) and the temporary directory removed (SANHE_BENCH_KEEP=1
# keeps it). Environment (defaults in brackets):
#   SANHE_BENCH_ROSTERS  roster sizes [10000 1000000 10000000]
#   SANHE_BENCH_RATES    offered rates, requests/s, climbed in order
#                        [1000 2000 5000 7500 10000 12500 15000 20000 25000
#                         30000 40000 50000 60000 80000 100000 120000 150000
#                         200000 250000]
#   SANHE_BENCH_STEP_S   measured seconds per step [10]
#   SANHE_BENCH_WARMUP   unmeasured warm-up seconds per step [2]
#   SANHE_BENCH_MIX      op mix [settle=80,presettle=10,eligibility=10]
#   SANHE_BENCH_ITEMS    catalog items of sanhe-datagen's data [30000]
#   SANHE_BENCH_LMDB_S   seconds per batch size of lmdb_commit [2]
#   SANHE_BENCH_SWEEP_S  the most one roster's sweep may take, seconds [240]
#   SANHE_BENCH_ECHO_S   the most the tls_echo sweep may take, seconds [300]
#   SANHE_BENCH_ECHO_RATES tls_echo's offered rates, requests/s [the rates up to
#                        30000, then 50000 100000 150000 200000 250000]
#   SANHE_BENCH_NOSYNC_S the most the sanhe_nosync sweep may take, seconds [150]
#   SANHE_BENCH_FULL_MIX the full mix's ops
#                        [settle=70,presettle=10,reverse=5,query=5,eligibility=10]
#   SANHE_BENCH_FULL_MIX_RATES its offered rates, requests/s [5000 10000]
#   SANHE_BENCH_PARITY_RATES  parity's offered rates, requests/s [1000 5000 10000]
#   SANHE_BENCH_PARITY_ROUNDS parity's steps per roster and rate [3]
#   SANHE_BENCH_PG       run the PostgreSQL peer (0: not) [1]
#   SANHE_BENCH_PG_S     the most the peer may take, seconds [90]
#   SANHE_BENCH_PG_RATES the peer's offered rates, requests/s [the sweeps' rates]
#   SANHE_BENCH_BUDGET_S no step starts that would end after this [1140]
#   SANHE_BENCH_RESULTS  where the JSON and the plots go [bench/results]
set -eu

NAME=run
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --quick ]; then
    shift
    : "${SANHE_BENCH_ROSTERS:=10000}" "${SANHE_BENCH_RATES:=1000 5000 10000}"
    : "${SANHE_BENCH_ECHO_RATES:=1000 5000 10000}" "${SANHE_BENCH_FULL_MIX_RATES:=10000}"
    : "${SANHE_BENCH_SWEEP_S:=60}" "${SANHE_BENCH_ECHO_S:=60}" "${SANHE_BENCH_NOSYNC_S:=60}"
    : "${SANHE_BENCH_PG_S:=75}" "${SANHE_BENCH_PG_RATES:=1000 2000 5000}"
    : "${SANHE_BENCH_BUDGET_S:=460}" "${SANHE_BENCH_RESULTS:=/tmp/sanhe-bench-quick}"
    QUICK=1
fi
QUICK=${QUICK:-0}
BUILD=${1:-$ROOT/build-bench}
ROSTERS=${SANHE_BENCH_ROSTERS:-"10000 1000000 10000000"}
RATES=${SANHE_BENCH_RATES:-"1000 2000 5000 7500 10000 12500 15000 20000 25000 30000 40000 50000 60000 80000 100000 120000 150000 200000 250000"}
STEP_S=${SANHE_BENCH_STEP_S:-10}
WARMUP=${SANHE_BENCH_WARMUP:-2}
MIX=${SANHE_BENCH_MIX:-settle=80,presettle=10,eligibility=10}
LMDB_S=${SANHE_BENCH_LMDB_S:-2}
SWEEP_S=${SANHE_BENCH_SWEEP_S:-240}
ECHO_S=${SANHE_BENCH_ECHO_S:-300}
# Above 30,000/s tls_echo takes every step with both cores busy, so five
# steps show its ceiling as well as nine, in 50 s less, which parity's
# 1,000/s needs. Below, the sweeps' own rates.
ECHO_RATES=${SANHE_BENCH_ECHO_RATES:-"$(echo "$RATES" | awk '{for (i = 1; i <= NF; i++) if ($i <= 30000) printf "%s ", $i}')50000 100000 150000 200000 250000"}
NOSYNC_S=${SANHE_BENCH_NOSYNC_S:-150}
# 19 minutes: the report and the plots take seconds after the last step.
BUDGET_S=${SANHE_BENCH_BUDGET_S:-1140}
FULL_MIX=${SANHE_BENCH_FULL_MIX:-settle=70,presettle=10,reverse=5,query=5,eligibility=10}
FULL_MIX_RATES=${SANHE_BENCH_FULL_MIX_RATES:-"5000 10000"}
FULL_MIX_S=60
PARITY_RATES=${SANHE_BENCH_PARITY_RATES:-"1000 5000 10000"}
PARITY_ROUNDS=${SANHE_BENCH_PARITY_ROUNDS:-3}
PARITY_WARM_S=5
PG=${SANHE_BENCH_PG:-1}
PG_S=${SANHE_BENCH_PG_S:-90}
PG_RATES=${SANHE_BENCH_PG_RATES:-$RATES}
ITEMS=${SANHE_BENCH_ITEMS:-30000}
RESULTS=${SANHE_BENCH_RESULTS:-$ROOT/bench/results}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
DATAGEN=$BUILD/bin/sanhe-datagen

lib_init
mkdir -p "$WORK/runs" "$WORK/plot" "$RESULTS"

# ---- Build ---------------------------------------------------------------------------
build() {
    "$ROOT/ops/install-deps.sh"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$WORK/build.log"
    targets="sanhe-engine sanhe-loadgen bench-rules bench-lmdb-commit bench-ledger"
    if cmake --build "$BUILD" --target help | grep "sanhe-datagen" >/dev/null; then
        targets="$targets sanhe-datagen"
    fi
    # shellcheck disable=SC2086 # a list of targets
    child 600 cmake --build "$BUILD" -j"$(nproc)" --target $targets >>"$WORK/build.log" 2>&1 \
        || { tail -30 "$WORK/build.log" >&2; say "build failed"; exit 1; }
    say "built in $BUILD ($(elapsed) s)"
}

# ---- Baselines -----------------------------------------------------------------------
rules_core() {
    say "rules_core: bench-rules"
    child 120 "$BUILD/bin/bench-rules" --json "$WORK/runs/rules_core.json" 1000000 5 >&2 \
        || say "rules_core failed"
}

# ledger_commit: sanhe's own write path (engine/ledger) in process, no
# network: settles applied and committed durably in batches of B, 10k persons.
# Between lmdb_commit (the storage alone) and sanhe (the whole server).
ledger_commit() {
    say "ledger_commit: bench-ledger"
    child 180 "$BUILD/bin/bench-ledger" --policy "$POLICY" --persons 10000 \
        --batch 1,8,32,128,512,1024 --settles 10240 --dir "$WORK" \
        --json "$WORK/runs/ledger_commit.json" >&2 || say "ledger_commit failed"
}

# lmdb_commit PERSONS: run just before that roster's sweep, so that both see
# the machine in the same state.
lmdb_commit() {
    say "lmdb_commit: $1 persons, $LMDB_S s per batch size"
    child 180 "$BUILD/bin/bench-lmdb-commit" --dir "$WORK/lmdb" --persons "$1" \
        --seconds "$LMDB_S" --json "$WORK/runs/lmdb_commit-$1.json" || say "lmdb_commit $1 failed"
    rm -rf "$WORK/lmdb"
}

# ---- Data ------------------------------------------------------------------------------
# make_data PERSONS DIR: an engine data directory with PERSONS persons.
make_data() {
    t0=$(elapsed)
    CATALOG=
    if [ -x "$DATAGEN" ]; then
        mkdir -p "$2"
        child 600 "$DATAGEN" --dir "$2" --persons "$1" --items "$ITEMS" --policy "$POLICY" >&2 \
            || return 1
        CATALOG="--catalog gen:$ITEMS"
    elif [ "$1" -le 1000000 ]; then
        child 300 "$LOADGEN" --make-dataset "$1" "$WORK/dataset.json" --policy "$POLICY" || return 1
        write_conf "$WORK/load.conf" "$2"
        child 300 "$ENGINE" load -c "$WORK/load.conf" "$WORK/dataset.json" >&2 || return 1
        rm -f "$WORK/dataset.json"
    else
        say "no sanhe-datagen in $BUILD/bin: $1 persons cannot be made (--make-dataset stops at 1M)"
        return 1
    fi
    say "data: $1 persons in $(($(elapsed) - t0)) s"
}

# ---- Sweeps ------------------------------------------------------------------------------
# Connections grow with the rate: 100 requests/s each, 16 to 512.
conns_for() {
    c=$(($1 / 100))
    [ "$c" -ge 16 ] || c=16
    [ "$c" -le 512 ] || c=512
    echo "$c"
}

step_line() {
    jq -r '"\(.kind) \(.persons) persons\(if .round == null then "" elif .round == 0 then " (warm-up, not kept)" else ", round \(.round)" end): \(.offered_per_s)/s offered, \(.achieved_per_s)/s achieved, p50 \(.p50_us) p99 \(.p99_us) p99.9 \(.p999_us) us, \(.errors_total) errors, batch \(.engine.batch_mean // "-"), apply/write/sync \(.engine.apply_us_mean // 0 | floor)/\(.engine.write_us_mean // 0 | floor)/\(.engine.sync_us_mean // 0 | floor) us, cpu us a request engine/generator \(.cpu.engine_us_per_request // "-")/\(.cpu.loadgen_us_per_request // "-"), machine busy/stolen cores \(.cpu.machine_busy_cores // "-")/\(.cpu.steal_cores // "-")"' "$1" >&2
}

# sweep KIND PERSONS CONF SECONDS [RATES]: rate steps (RATES, else the
# sweeps' $RATES) against a fresh engine until one does not keep up or the
# sweep's SECONDS are gone.
sweep() {
    engine_start "$3" || return 1
    deadline=$(($(elapsed) + $4))
    [ $deadline -le "$BUDGET_S" ] || deadline=$BUDGET_S
    sweep_rates=${5:-$RATES}
    for rate in $sweep_rates; do
        if [ $(($(elapsed) + STEP_S + WARMUP + 8)) -gt "$deadline" ]; then
            say "$1 $2: out of time before $rate/s"
            break
        fi
        out="$WORK/runs/$1-$2-$rate.json"
        rc=0
        # shellcheck disable=SC2086 # CATALOG is an option or nothing
        load_step "$1-$2-$rate" "$rate" "$(conns_for "$rate")" "$STEP_S" "$2" "$out" \
            --kind "$1" $CATALOG || rc=$?
        [ -s "$out" ] && step_line "$out"
        if [ $rc -eq 3 ]; then
            say "$1 $2: $rate/s did not keep up: the climb stops"
            break
        elif [ $rc -ne 0 ]; then
            say "$1 $2: the step at $rate/s failed ($rc): $(tail -3 "$out.txt" 2>/dev/null)"
            rm -f "$out"
            break
        fi
    done
    engine_stop
}

# roster PERSONS: lmdb_commit, its data, its sweep, and (with the first)
# tls_echo's.
roster() {
    if [ $(($(elapsed) + 60)) -gt "$BUDGET_S" ]; then
        say "out of time: $1 persons not run"
        return 0
    fi
    lmdb_commit "$1"
    rm -rf "$WORK/data"
    make_data "$1" "$WORK/data" || { say "$1 persons: no data, not run"; return 0; }
    write_conf "$WORK/engine.conf" data
    sweep sanhe "$1" "$WORK/engine.conf" "$SWEEP_S" || say "$1 persons: the engine did not start"
    if [ "$1" = "$FIRST_ROSTER" ]; then
        write_conf "$WORK/echo.conf" data "bench_echo = true"
        sweep tls_echo "$1" "$WORK/echo.conf" "$ECHO_S" "$ECHO_RATES" ||
            say "tls_echo: the engine did not start"
        full_mix "$1"
    fi
    if [ "$FIRST_ROSTER" != "$LAST_ROSTER" ] &&
        { [ "$1" = "$FIRST_ROSTER" ] || [ "$1" = "$LAST_ROSTER" ]; }; then
        parity_keep "$1"
    fi
    [ "$1" != "$FIRST_ROSTER" ] || nosync "$1"
    rm -rf "$WORK/data"
}

# full_mix PERSONS: sanhe_mix, on the configuration and data of sanhe's
# sweep: the sweeps' ops (settle, presettle, eligibility) plus reversals of
# the step's own settlements (each at most once) and queries of them, at
# FULL_MIX_RATES. Each reply is timed per op (by_op), so reverse and query
# show their own latency beside the settles'.
full_mix() {
    saved_mix=$MIX
    MIX=$FULL_MIX
    sweep sanhe_mix "$1" "$WORK/engine.conf" "$FULL_MIX_S" "$FULL_MIX_RATES" ||
        say "sanhe_mix: the engine did not start"
    MIX=$saved_mix
}

# nosync PERSONS: sanhe_nosync, the same engine on fresh data with durable =
# false (commits never fdatasync'd: a crash may lose answered settles, so
# never a setting to run a counter on). Against sanhe's sweep, it tells what
# the disk's syncs cost and what the two cores carry without them.
nosync() {
    rm -rf "$WORK/data"
    make_data "$1" "$WORK/data" || { say "sanhe_nosync: no data, not run"; return 0; }
    DURABLE=false write_conf "$WORK/nosync.conf" data
    sweep sanhe_nosync "$1" "$WORK/nosync.conf" "$NOSYNC_S" \
        || say "sanhe_nosync: the engine did not start"
}

# ---- Parity: the first and the last roster, in turns ---------------------------------------
# The sweeps run minutes apart, and the host's stolen time has moved whole
# steps by more than the rosters differ (up to 0.58 of a core in one step):
# their ratio at 10,000/s swung from 0.63 to 2.14 between runs. Here both
# engines run side by side and the generator visits them in turns, ABBA
# (10k 10M, 10M 10k, ...), PARITY_ROUNDS steps each at each of PARITY_RATES
# (lowest first), so that a change of the machine's state falls on both
# alike. More than one rate, because near the writer's saturation a few
# percent more work per settle multiplies the wait: at 1,000/s a batch is
# about one settle and nothing queues, so it tells the rosters' own
# difference; 5,000/s and 10,000/s add the queue's. Each roster's data is the
# one its sweep left (10k persons with a year's accumulators by then, most
# of the 10M still without). kind sanhe_parity, with round.

# parity_keep PERSONS: after its sweeps, keep the roster's data for parity.
parity_keep() {
    d="$WORK/parity-$1"
    mkdir -p "$d"
    mv "$WORK/data" "$d/data"
    ln -s ../certs "$d/certs"
    write_conf "$d/engine.conf" data
    echo "$CATALOG" >"$d/catalog"
}

# parity_step PERSONS RATE ROUND PID PORT: one step against that roster's
# engine.
# Round 0 is each engine's warm-up at each rate (PARITY_WARM_S, not kept).
# At the first rate: a fresh process has an empty item map and unmapped
# pages, which its sweep had long filled, so its first step is far slower
# than its later ones. At each higher rate: an engine's first visit at a
# new rate is where its batches and queue settle to the rate, and it is
# the slowest of its visits there; left in, it decides the medians.
parity_step() {
    ENGINE_PID=$4 PORT=$5 ENGINE_DIR="$WORK/parity-$1"
    out="$WORK/runs/sanhe_parity-$1-$2-$3.json" secs=$STEP_S
    [ "$3" != 0 ] || out="$WORK/parity-$1/warm.json" secs=$PARITY_WARM_S
    rc=0
    # shellcheck disable=SC2046 # the catalog option, or nothing
    load_step "parity-$1-$2-$3" "$2" "$(conns_for "$2")" "$secs" "$1" \
        "$out" --kind sanhe_parity $(cat "$ENGINE_DIR/catalog") || rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
        say "parity $1 persons at $2/s, round $3: the step failed ($rc): $(tail -3 "$out.txt" 2>/dev/null)"
        rm -f "$out"
        return 1
    fi
    jq --argjson r "$3" '. + {round: $r}' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
    step_line "$out"
}

# parity_rounds RATE: at RATE, the warm-up (round 0, 10M first), then ABBA
# rounds 1 .. PARITY_ROUNDS. Returns 1 when a step failed.
parity_rounds() {
    r=0
    while [ "$r" -le "$PARITY_ROUNDS" ]; do
        if [ $((r % 2)) -eq 1 ]; then order="$a $b"; else order="$b $a"; fi
        for n in $order; do
            if [ "$n" = "$a" ]; then
                parity_step "$n" "$1" "$r" "$pid_a" "$port_a" || return 1
            else
                parity_step "$n" "$1" "$r" "$pid_b" "$port_b" || return 1
            fi
        done
        r=$((r + 1))
    done
}

# parity_fits RATES: whether parity at those rates ends within the budget.
# A step takes its warm-up and measured seconds and about half a second
# more; 1 s is allowed. Per rate and engine: PARITY_ROUNDS steps and a
# warm-up.
parity_fits() {
    rate_s=$((PARITY_ROUNDS * (STEP_S + WARMUP + 1) + PARITY_WARM_S + WARMUP + 1))
    [ $(($(elapsed) + 2 * $(echo "$1" | wc -w) * rate_s + 30)) -le "$BUDGET_S" ]
}

parity() {
    a=$FIRST_ROSTER b=$LAST_ROSTER
    if [ ! -d "$WORK/parity-$a" ] || [ ! -d "$WORK/parity-$b" ]; then
        [ "$a" = "$b" ] || say "parity: the data of $a or $b persons is missing: not run"
        return 0
    fi
    if ! parity_fits "$PARITY_RATES"; then
        # Short of time: the lowest rates go first, so that the goal's rate
        # (the last) stays while anything does.
        while ! parity_fits "$PARITY_RATES"; do
            PARITY_RATES=$(echo "$PARITY_RATES" | awk '{$1 = ""; sub(/^ +/, ""); print}')
            [ -n "$PARITY_RATES" ] || { say "parity: out of time, not run"; return 0; }
        done
        say "parity: time for $PARITY_RATES/s only"
    fi
    engine_start "$WORK/parity-$a/engine.conf" || { say "parity: the $a engine did not start"; return 0; }
    pid_a=$ENGINE_PID port_a=$PORT
    if ! engine_start "$WORK/parity-$b/engine.conf"; then
        say "parity: the $b engine did not start"
        ENGINE_PID=$pid_a
        engine_stop
        return 0
    fi
    pid_b=$ENGINE_PID port_b=$PORT
    for rate in $PARITY_RATES; do
        parity_rounds "$rate" || break
    done
    ENGINE_PID=$pid_a
    engine_stop
    ENGINE_PID=$pid_b
    engine_stop
}

# ---- The peer: PostgreSQL ------------------------------------------------------------------
# pg_peer: bench/pg_peer.sh with the sweeps' step and warm-up, its runs
# (kinds pg_peer and pg_peer_max) beside the others'.
pg_peer() {
    [ "$PG" != 0 ] || return 0
    left=$((BUDGET_S - $(elapsed)))
    if [ "$left" -lt 45 ]; then
        say "pg_peer: out of time, not run"
        return 0
    fi
    secs=$PG_S
    [ "$secs" -le "$left" ] || secs=$left
    persons=$FIRST_ROSTER
    [ "$persons" -le 1000000 ] || persons=1000000
    say "pg_peer: PostgreSQL, $persons persons, $secs s at most"
    # shellcheck disable=SC2086 # a list of rates
    SANHE_BENCH_PG_S=$secs SANHE_BENCH_PG_PERSONS=$persons SANHE_BENCH_STEP_S=$STEP_S \
        SANHE_BENCH_WARMUP=$WARMUP child $((secs + 60)) "$ROOT/bench/pg_peer.sh" "$WORK/runs" \
        $PG_RATES || say "pg_peer failed"
}

# ---- The result ---------------------------------------------------------------------------
machine_json() {
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    mem=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
    jq -n --arg cpu "$cpu" --argjson cores "$(nproc)" --arg kernel "$(uname -r)" \
        --argjson mem "$((mem / 1024))" --arg before "$LOADAVG_BEFORE" \
        --arg after "$(cut -d' ' -f1-3 /proc/loadavg)" \
        '{cpu: $cpu, cores: $cores, kernel: $kernel, memory_mb: $mem,
          loadavg_before: $before, loadavg_after: $after}'
}

config_json() {
    jq -n --arg mix "$MIX" --arg rates "$RATES" --arg rosters "$ROSTERS" \
        --arg echo_rates "$ECHO_RATES" --arg parity_rates "$PARITY_RATES" \
        --argjson step "$STEP_S" --argjson warm "$WARMUP" --argjson lmdb "$LMDB_S" \
        --argjson secs "$(elapsed)" --argjson quick "$QUICK" --arg pg_rates "$PG_RATES" \
        '{mix: $mix, rates: $rates, echo_rates: $echo_rates, parity_rates: $parity_rates,
          pg_rates: $pg_rates, quick: ($quick == 1), rosters: $rosters, step_s: $step, warmup_s: $warm,
          lmdb_s_per_batch: $lmdb, wall_s: $secs, engine_and_generator: "one machine, loopback, TLS 1.3"}'
}

# One .dat per series for gnuplot: offered p50 p99 p999 batch achieved, and
# the engine's and the generator's CPU us a request (NaN: unknown).
plot_data() {
    jq -r --arg k "$2" --argjson n "$3" '.runs[] | select(.kind == $k and .persons == $n)
        | [.offered_per_s, .p50_us, .p99_us, .p999_us, (.engine.batch_mean // 0), .achieved_per_s,
           (.cpu.engine_us_per_request // "NaN"), (.cpu.loadgen_us_per_request // "NaN")]
        | @tsv' "$1"
}

# 10000 -> 10k, 10000000 -> 10M
short() { echo "$1" | sed 's/000000$/M/; s/000$/k/'; }

# The parity rounds for gnuplot: "RATE/s rROUND" p50 and p99 of the smallest
# and the largest roster (NaN where one is missing), by rate then round.
parity_data() {
    jq -r '[.runs[] | select(.kind == "sanhe_parity")] as $p
        | ($p | map(.persons) | min) as $s | ($p | map(.persons) | max) as $l
        | $p | group_by([.offered_per_s, .round])[]
        | (map(select(.persons == $s)) | first) as $a | (map(select(.persons == $l)) | first) as $b
        | ["\(.[0].offered_per_s)/s r\(.[0].round)", ($a.p50_us // "NaN"), ($b.p50_us // "NaN"),
           ($a.p99_us // "NaN"), ($b.p99_us // "NaN")] | @tsv' "$1"
}

plots() {
    files="" titles="" bfiles="" btitles=""
    for n in $ROSTERS; do
        f="$WORK/plot/sanhe-$n.dat"
        plot_data "$1" sanhe "$n" >"$f"
        [ -s "$f" ] || continue
        t=$(short "$n")
        files="$files $f" titles="$titles $t" bfiles="$bfiles $f" btitles="$btitles $t"
    done
    plot_data "$1" tls_echo "$FIRST_ROSTER" >"$WORK/plot/echo.dat"
    [ -s "$WORK/plot/echo.dat" ] && files="$files $WORK/plot/echo.dat" titles="$titles tls_echo"
    plot_data "$1" sanhe_nosync "$FIRST_ROSTER" >"$WORK/plot/nosync.dat"
    [ -s "$WORK/plot/nosync.dat" ] && files="$files $WORK/plot/nosync.dat" titles="$titles nosync"
    jq -r '.summary as $s | $s.rosters[] | [.persons, (.max_settles_per_s // 0),
        (.max_requests_per_s // 0), (.lmdb_commit_writes_per_s // 0),
        ($s.tls_echo_max_per_s // 0), (.bounded_max_settles_per_s // 0)] | @tsv' "$1" >"$WORK/plot/tp.dat"
    parity_data "$1" >"$WORK/plot/parity.dat"
    P=$ROOT/bench/plot
    [ ! -s "$WORK/plot/parity.dat" ] || gnuplot -e "data='$WORK/plot/parity.dat'; out='$RESULTS/parity.png'" \
        -e "small='$(short "$FIRST_ROSTER")'; large='$(short "$LAST_ROSTER")'" "$P/parity.gp" ||
        say "parity.png failed"
    [ -n "$files" ] || { say "no latency data: no plots"; return 0; }
    gnuplot -e "files='$files'; titles='$titles'; out='$RESULTS/latency-vs-rate.png'" \
        "$P/latency-vs-rate.gp" || say "latency-vs-rate.png failed"
    [ -z "$bfiles" ] || gnuplot -e "files='$bfiles'; titles='$btitles'; out='$RESULTS/batch-vs-rate.png'" \
        "$P/batch-vs-rate.gp" || say "batch-vs-rate.png failed"
    gnuplot -e "files='$files'; titles='$titles'; out='$RESULTS/cpu-vs-rate.png'" \
        "$P/cpu-vs-rate.gp" || say "cpu-vs-rate.png failed"
    [ ! -s "$WORK/plot/tp.dat" ] || gnuplot -e "data='$WORK/plot/tp.dat'; out='$RESULTS/throughput-vs-persons.png'" \
        "$P/throughput-vs-persons.gp" || say "throughput-vs-persons.png failed"
}

summary_table() {
    jq -r 'def col($n): tostring | if length < $n then " " * ($n - length) + . else . end;
        .summary as $s
        | "   persons max_settles/s at_offered/s   batch p99<=100ms:settles/s(at/s) p99_us@10k/s of_tls_echo of_lmdb_commit(B) of_rules_core",
          ($s.rosters[] | (.persons | col(10)) + (.max_settles_per_s | col(14))
            + (.at_offered_per_s | col(13)) + (.batch_mean_at_max | col(7))
            + ("\(.bounded_max_settles_per_s)(\(.bounded_at_offered_per_s))" | col(31))
            + (.p99_us_at_10k_per_s | col(13)) + (.frac_tls_echo | col(12))
            + ("\(.frac_lmdb_commit)(\(.lmdb_commit_batch))" | col(18)) + (.frac_rules_core | col(14))),
          "tls_echo max \($s.tls_echo_max_per_s)/s, p99 at 10k/s \($s.tls_echo_p99_us_at_10k_per_s) us; lmdb_commit best \($s.lmdb_commit_best_writes_per_s) writes/s; ledger_commit best \($s.ledger_commit_best_settles_per_s) settles/s; rules_core \($s.rules_core_settles_per_s) settles/s (\($s.rules_core_ns_per_settle) ns)",
          "10M vs 10k latency, from the sweeps: \($s.ratio_10M_10k)",
          ($s.parity_by_rate[]?
            | "\(.large_persons) vs \(.small_persons) persons side by side, in turns at \(.offered_per_s)/s, \(.rounds) rounds each (medians): p50 \(.p50_us_large) / \(.p50_us_small) us = \(.p50), p99 \(.p99_us_large) / \(.p99_us_small) us = \(.p99); by round, p50 \([.by_round[].p50]) p99 \([.by_round[].p99]), medians \(.p50_round_median) and \(.p99_round_median); writer us a write \(.writer_us_per_write_large) / \(.writer_us_per_write_small) = \(.writer)"),
          ($s.sanhe_mix[]?
            | "sanhe_mix \(.persons) persons (\(.op_mix | to_entries | map("\(.key) \(.value)") | join(", "))) at \(.offered_per_s)/s: achieved \(.achieved_per_s)/s, p50 \(.p50_us) us, p99 \(.p99_us) us, \(.errors_total) errors, \(.substituted) substituted; p50/p99 us by op: \(.by_op | to_entries | map("\(.key) \(.value.p50_us)/\(.value.p99_us)") | join(", "))"),
          (.summary.sanhe_nosync // empty
            | "sanhe_nosync (durable = false) \(.persons) persons: max \(.max_settles_per_s) settles/s at \(.at_offered_per_s)/s offered (with p99 <= 100 ms: \(.bounded_max_settles_per_s) at \(.bounded_at_offered_per_s)/s); at 10k/s p50 \(.p50_us_at_10k_per_s) us, p99 \(.p99_us_at_10k_per_s) us"),
          (.summary.pg_peer // empty
            | "pg_peer (PostgreSQL, synchronous_commit = on, \(.connections) connections, \(.persons) persons): max \(.max_durable_settles_per_s) settles/s (open loop \(.open_loop_max_per_s) at \(.open_loop_at_offered_per_s)/s, closed loop \(.closed_loop_per_s)); at 1k/s p50 \(.p50_us_at_1k_per_s) us, p99 \(.p99_us_at_1k_per_s) us; sanhe max over it x\(.sanhe_max_over_pg_max), its p99 at 1k/s over sanhe x\(.pg_p99_over_sanhe_p99_at_1k)"),
          (.machine.disk_fsync.patterns // empty
            | "disk, fdatasync p50: 1 page \(.page_1.p50_us | floor) us, 25 pages in one run \(.pages_25_contiguous.p50_us | floor) us, 25 scattered \(.pages_25_scattered.p50_us | floor) us"),
          (.summary.goals_wal // empty
            | "write-ahead log goals (\(.persons) persons): p99 at 10k/s durable over nosync x\(.p99_durable_over_nosync_at_10k) (at most \(.p99_durable_over_nosync_at_10k_max), sweeps: see ab.sh for turns); p50 at 1k/s \(.p50_us_at_1k) us against echo + 1.5 syncs \(.p50_us_at_1k_bound) us (x\(.p50_at_1k_over_bound)); engine us a request at 10k/s \(.engine_us_per_request_at_10k) against tls_echo \(.tls_echo_us_per_request_at_10k) (x\(.cpu_over_tls_echo_at_10k), at most \(.cpu_over_tls_echo_at_10k_max)); parity within 10 %: \(.parity_within_10pct) (worst x\(.parity_worst)); peer: max x\(.sanhe_max_over_pg_max), p99 at 1k/s x\(.pg_p99_over_sanhe_p99_at_1k) (each at least 20)")' "$1"
}

report() {
    for f in "$WORK"/runs/*.json; do
        [ -s "$f" ] && jq -c 'if type == "array" then .[] else . end' "$f"
    done >"$WORK/all-runs.json"
    # The run's own file, dated to the minute (UTC), and latest.json a
    # link to it rather than a copy of it.
    dated=$(date -u +%Y-%m-%d-%H%M).json
    out=$RESULTS/$dated
    jq -n --slurpfile runs "$WORK/all-runs.json" --slurpfile fsync "$WORK/fsync.json" \
        --argjson machine "$(machine_json)" --argjson config "$(config_json)" \
        -f "$ROOT/bench/plot/summary.jq" >"$out"
    rm -f "$RESULTS/latest.json"
    ln -s "$dated" "$RESULTS/latest.json"
    plots "$out"
    echo
    summary_table "$out"
    echo
    say "wrote $out (latest.json links to it) and the PNGs ($(elapsed) s)"
}

# Counter terminals, each with its own certificate: the six bench hospitals,
# then the village clinics H330424202..300, the township centres
# H330424102..110 and the second county hospital, which sanhe-datagen makes
# at every roster size (114 terminals; connections take them in turn).
TERMINAL_HOSPITALS=$(echo "$HOSPITALS $(seq 330424202 330424300) $(seq 330424102 330424110)" |
    tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ')

LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# shellcheck disable=SC2086 # a list of sizes
set -- $ROSTERS
FIRST_ROSTER=$1
LAST_ROSTER=$(echo "$ROSTERS" | awk '{print $NF}')
build
make_certs
"$LOADGEN" --probe-fsync "$WORK" --json "$WORK/fsync.json" >&2
rules_core
ledger_commit
for n in $ROSTERS; do roster "$n"; done
pg_peer
parity
report
