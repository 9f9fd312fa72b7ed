#!/bin/sh
# bench/ab.sh: two builds of sanhe-engine against each other in one run,
# the same data and load, visited in turns, so that the machine's state
# (other processes on shared cores) falls on both alike.
#
#   bench/ab.sh ENGINE_A ENGINE_B [BUILD_DIR]
#
# BUILD_DIR (default build-bench, a Release build) gives sanhe-loadgen and
# sanhe-datagen. For each kind (sanhe: durable = true; tls_echo:
# bench_echo = true) both engines run side by side, each on its own copy of
# one sanhe-datagen data directory (10k persons), and sanhe-loadgen visits
# them ABBA at each rate: a 5 s visit each that is not kept, then ROUNDS
# steps each (A B, B A, A B ...). Each step gives the engine's CPU us a
# request (its getrusage over the window), p50, p99, and from the engine's
# stats_file before and after the step the replies per socket write (null
# for an engine without those counters), the writes a batch, and from
# /proc/PID/io the bytes it handed to write calls and the bytes it sent to
# the disk, each per reply. The summary is, per kind and
# rate, the median over rounds of B's figure over A's in the same round.
# With SANHE_AB_PERF=1, round 1 of each engine at each rate is also
# recorded by perf (perf record -g on the engine's pid during the measured
# window) and summarised (perf report, by library, then by symbol).
#
# Writes OUT/ab.json and prints a table. Loopback only; every step under a
# deadline; both engines stopped and the temporary directory removed on
# any exit (SANHE_BENCH_KEEP=1 keeps it). Environment [defaults]:
#   SANHE_AB_OUT       where ab.json and the profiles go [/tmp/sanhe-ab]
#   SANHE_AB_KINDS     [sanhe tls_echo]
#   SANHE_AB_RATES     offered requests/s [10000]
#   SANHE_AB_ROUNDS    kept steps per engine, kind and rate [4]
#   SANHE_AB_PERSONS   roster [10000]
#   SANHE_AB_PERF      1: perf profiles of round 1 [0]
#   SANHE_AB_DURABLE_B false: engine B runs with durable = false, so that
#                      the same build against itself gives what the syncs
#                      cost (kind sanhe; tls_echo has no ledger) [true]
#   SANHE_AB_EXTRA_B   one more [engine] line for engine B only, e.g.
#                      "wal_checkpoint_ms = 200": one build, two settings []
#   SANHE_BENCH_STEP_S measured seconds a step [10]
#   SANHE_BENCH_WARMUP unmeasured seconds before them [2]
#   SANHE_BENCH_MIX    [settle=80,presettle=10,eligibility=10]
set -eu

NAME=ab
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ENGINE_A=$(realpath "${1:?usage: ab.sh ENGINE_A ENGINE_B [BUILD_DIR]}")
ENGINE_B=$(realpath "${2:?usage: ab.sh ENGINE_A ENGINE_B [BUILD_DIR]}")
BUILD=${3:-$ROOT/build-bench}
OUT=${SANHE_AB_OUT:-/tmp/sanhe-ab}
KINDS=${SANHE_AB_KINDS:-"sanhe tls_echo"}
AB_RATES=${SANHE_AB_RATES:-10000}
ROUNDS=${SANHE_AB_ROUNDS:-4}
PERSONS=${SANHE_AB_PERSONS:-10000}
PERF=${SANHE_AB_PERF:-0}
STEP_S=${SANHE_BENCH_STEP_S:-10}
WARMUP=${SANHE_BENCH_WARMUP:-2}
MIX=${SANHE_BENCH_MIX:-settle=80,presettle=10,eligibility=10}
WARM_S=5
ITEMS=30000
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
DATAGEN=$BUILD/bin/sanhe-datagen

for bin in "$ENGINE_A" "$ENGINE_B" "$LOADGEN" "$DATAGEN"; do
    [ -x "$bin" ] || { say "$bin missing"; exit 2; }
done
[ "$PERF" = 0 ] || command -v perf >/dev/null || { say "perf missing"; exit 2; }
lib_init
mkdir -p "$OUT" "$WORK/runs"

# The counter terminals of sanhe-datagen's region, as bench/run.sh has them.
TERMINAL_HOSPITALS=$(echo "$HOSPITALS $(seq 330424202 330424300) $(seq 330424102 330424110)" |
    tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ')

conns_for() {
    c=$(($1 / 100))
    [ "$c" -ge 16 ] || c=16
    [ "$c" -le 512 ] || c=512
    echo "$c"
}

# stat_of DIR PID KEY: KEY of that engine's stats_file now (null when absent).
stat_of() {
    kill -USR1 "$2" 2>/dev/null || { echo null; return; }
    sleep 0.3
    jq ".$3 // null" "$1/stats.json" 2>/dev/null || echo null
}

# io_of PID KEY: KEY of /proc/PID/io (wchar: bytes handed to write and
# pwrite; write_bytes: bytes this process sent to the disk, its syncs'
# writeback included); null when unreadable.
io_of() {
    awk -v k="$2:" '$1 == k { print $2; f = 1 } END { if (!f) print "null" }' \
        "/proc/$1/io" 2>/dev/null || echo null
}

# counters_now N: the engine's counters now, as wN (socket writes), rN
# (replies), bN (batches), bwN (their writes), cN and dN (io_of's wchar
# and write_bytes).
counters_now() {
    eval "w$1=\$(stat_of \"\$ENGINE_DIR\" \"\$ENGINE_PID\" socket_writes)"
    eval "r$1=\$(stat_of \"\$ENGINE_DIR\" \"\$ENGINE_PID\" replies)"
    eval "b$1=\$(stat_of \"\$ENGINE_DIR\" \"\$ENGINE_PID\" batches)"
    eval "bw$1=\$(stat_of \"\$ENGINE_DIR\" \"\$ENGINE_PID\" batch_writes)"
    eval "c$1=\$(io_of \"\$ENGINE_PID\" wchar)"
    eval "d$1=\$(io_of \"\$ENGINE_PID\" write_bytes)"
}

# step KIND RATE ROUND WHO: one step against engine WHO (a or b).
step() {
    kind=$1 rate=$2 round=$3 who=$4
    eval "ENGINE_PID=\$pid_$who PORT=\$port_$who"
    ENGINE_DIR=$WORK/$kind-$who
    out=$WORK/runs/$kind-$rate-$round-$who.json secs=$STEP_S
    [ "$round" != 0 ] || secs=$WARM_S
    counters_now 0
    perf_pid=
    if [ "$PERF" != 0 ] && [ "$round" = 1 ]; then
        (sleep "$WARMUP" && perf record -q -F 499 -g -p "$ENGINE_PID" \
            -o "$WORK/perf-$kind-$rate-$who.data" -- sleep "$secs" >/dev/null 2>&1) &
        perf_pid=$!
    fi
    rc=0
    load_step "$kind-$rate-$round-$who" "$rate" "$(conns_for "$rate")" "$secs" "$PERSONS" \
        "$out" --kind "$kind" --catalog "gen:$ITEMS" || rc=$?
    [ -z "$perf_pid" ] || wait "$perf_pid" 2>/dev/null || true
    [ $rc = 0 ] || [ $rc = 3 ] || { say "$kind $who at $rate/s: failed ($rc)"; return 1; }
    counters_now 1
    # Per reply over the step (warm-up and the stats reads included on both
    # sides alike): what the engine wrote, and the group commit's batch.
    jq --arg who "$who" --argjson round "$round" --argjson w0 "$w0" --argjson w1 "$w1" \
        --argjson r0 "$r0" --argjson r1 "$r1" --argjson b0 "$b0" --argjson b1 "$b1" \
        --argjson bw0 "$bw0" --argjson bw1 "$bw1" --argjson c0 "$c0" --argjson c1 "$c1" \
        --argjson d0 "$d0" --argjson d1 "$d1" \
        'def per($a; $b; $n): if $a == null or $b == null or $n == null or $n <= 0 then null
                              else (($b - $a) / $n * 100 | round / 100) end;
         . + {who: $who, round: $round,
              replies_per_socket_write: (if $w0 == null or $w1 == null or $w1 == $w0 then null
                                         else per($r0; $r1; $w1 - $w0) end),
              writes_per_batch: (if $b0 == null or $b1 == null then null
                                 else per($bw0; $bw1; $b1 - $b0) end),
              bytes_written_per_reply: (if $r0 == null or $r1 == null then null
                                        else per($c0; $c1; $r1 - $r0) end),
              disk_bytes_per_reply: (if $r0 == null or $r1 == null then null
                                     else per($d0; $d1; $r1 - $r0) end)}' \
        "$out" >"$out.tmp" && mv "$out.tmp" "$out"
    jq -r '"\(.kind) \(.who) round \(.round): \(.offered_per_s)/s offered, \(.achieved_per_s)/s, p50 \(.p50_us) p99 \(.p99_us) us, engine \(.cpu.engine_us_per_request // "-") us a request, \(.replies_per_socket_write // "-") replies a socket write, \(.writes_per_batch // "-") writes a batch, \(.bytes_written_per_reply // "-") B written and \(.disk_bytes_per_reply // "-") B to disk a reply, machine busy \(.cpu.machine_busy_cores // "-") cores"' "$out" >&2
    if [ "$PERF" != 0 ] && [ "$round" = 1 ] && [ -s "$WORK/perf-$kind-$rate-$who.data" ]; then
        for sort in dso symbol; do
            perf report -i "$WORK/perf-$kind-$rate-$who.data" --stdio --no-children -g none \
                --sort "$sort" --percent-limit 0.5 2>/dev/null | grep -E '^ +[0-9]' | head -60
        done >"$OUT/perf-$kind-$rate-$who.txt" || true
    fi
    [ "$round" != 0 ] || rm -f "$out"
}

# kind KIND: both engines on copies of the data, ABBA at each rate.
run_kind() {
    extra=
    [ "$1" != tls_echo ] || extra="bench_echo = true"
    for who in a b; do
        d=$WORK/$1-$who
        mkdir -p "$d"
        cp -a "$WORK/data" "$d/data"
        ln -s ../certs "$d/certs"
        eval "ENGINE=\$ENGINE_$(echo $who | tr ab AB)"
        DURABLE=true conf_extra=$extra
        if [ "$who" = b ]; then
            DURABLE=${SANHE_AB_DURABLE_B:-true}
            conf_extra=$(printf '%s\n%s' "$extra" "${SANHE_AB_EXTRA_B:-}")
        fi
        write_conf "$d/engine.conf" data "$conf_extra"
        engine_start "$d/engine.conf" || return 1
        eval "pid_$who=\$ENGINE_PID port_$who=\$PORT"
    done
    for rate in $AB_RATES; do
        r=0
        while [ $r -le "$ROUNDS" ]; do
            if [ $((r % 2)) = 1 ]; then order="a b"; else order="b a"; fi
            for who in $order; do step "$1" "$rate" "$r" "$who" || break 2; done
            r=$((r + 1))
        done
    done
    for who in a b; do
        eval "ENGINE_PID=\$pid_$who"
        engine_stop
        rm -rf "$WORK/$1-$who/data"
    done
}

make_certs
say "data: $PERSONS persons"
mkdir -p "$WORK/data"
child 600 "$DATAGEN" --dir "$WORK/data" --persons "$PERSONS" --items "$ITEMS" \
    --policy "$POLICY" >&2
for kind in $KINDS; do run_kind "$kind"; done

# The summary: per kind and rate, each engine's medians and the medians of
# B over A in the same round.
jq -s --arg a "$ENGINE_A" --arg b "$ENGINE_B" --arg note "one machine ($(nproc) cores, shared), loopback, TLS 1.3, mix $MIX, $PERSONS persons, $STEP_S s steps, engine B durable = ${SANHE_AB_DURABLE_B:-true}, engine B extra: ${SANHE_AB_EXTRA_B:-none}" '
  def median: sort | if length == 0 then null
      elif length % 2 == 1 then .[length / 2 | floor]
      else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def fig($f): if $f == "us" then .cpu.engine_us_per_request
      elif $f == "rps" then .replies_per_socket_write else .[$f] end;
  {engine_a: $a, engine_b: $b, note: $note, runs: .,
   summary: [group_by([.kind, .offered_per_s])[] | . as $g |
     {kind: .[0].kind, offered_per_s: .[0].offered_per_s, rounds: (map(.round) | unique | length)}
     + ([("us", "p50_us", "p99_us", "rps", "writes_per_batch", "bytes_written_per_reply",
          "disk_bytes_per_reply") as $f |
         {($f + "_a"): ($g | map(select(.who == "a") | fig($f)) | map(select(. != null)) | median),
          ($f + "_b"): ($g | map(select(.who == "b") | fig($f)) | map(select(. != null)) | median),
          ($f + "_b_over_a"): ([$g | group_by(.round)[] |
              (map(select(.who == "a"))[0] | fig($f)) as $x |
              (map(select(.who == "b"))[0] | fig($f)) as $y |
              if $x == null or $y == null or $x == 0 then empty else $y / $x end] | median)}]
        | add)]}' "$WORK"/runs/*.json >"$OUT/ab.json"
jq -r '.summary[] | "\(.kind) at \(.offered_per_s)/s, \(.rounds) rounds: engine us a request A \(.us_a) B \(.us_b) (B/A \(.us_b_over_a)); p50 A \(.p50_us_a) B \(.p50_us_b) (B/A \(.p50_us_b_over_a)); p99 A \(.p99_us_a) B \(.p99_us_b) (B/A \(.p99_us_b_over_a)); replies a socket write A \(.rps_a) B \(.rps_b); writes a batch A \(.writes_per_batch_a) B \(.writes_per_batch_b); B written a reply A \(.bytes_written_per_reply_a) B \(.bytes_written_per_reply_b), to disk A \(.disk_bytes_per_reply_a) B \(.disk_bytes_per_reply_b)"' "$OUT/ab.json"
say "wrote $OUT/ab.json ($(elapsed) s)"
