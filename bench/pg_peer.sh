#!/bin/sh
# bench/pg_peer.sh: the benchmark's peer, what a bureau would otherwise
# build: the writes of one sanhe settle (the person read, two accumulator
# updates, the settlement, the idempotency record, the journal entry) as
# one PostgreSQL transaction (bench/pg/settle.sql), on Debian's PostgreSQL
# with synchronous_commit = on (a commit returns once its WAL is fdatasync'd,
# as a sanhe reply waits for its sync).
#
#   bench/pg_peer.sh OUT_DIR [RATE ...]
#
# A server of its own in a temporary directory: initdb, then pg_ctl on
# 127.0.0.1 at a free port, its socket in that directory (as the postgres
# user when run as root: the server refuses root). PERSONS persons with two
# accumulators each. Then open-loop steps with pgbench --rate at each RATE
# (default: bench/run.sh's sweep rates), climbed in order until one does not
# keep up (achieved < 90 % of offered, or > 1 % failed), and last one
# closed-loop step (no --rate: as fast as CONNS connections go), the
# peer's maximum durable rate.
#
# Latency is taken from each transaction's scheduled start, as
# sanhe-loadgen takes it: pgbench's per-transaction log (-l) gives, with
# --rate, the time from the scheduled start to the end and the schedule
# lag (the part spent waiting for a free connection). A step keeps the
# transactions scheduled in its measured window, after WARMUP seconds.
# Writes OUT_DIR/pg_peer-RATE.json (kind pg_peer) and pg_peer-max.json
# (kind pg_peer_max). Everything it started is stopped on any exit and the
# directory removed (SANHE_BENCH_KEEP=1 keeps it). Environment [defaults]:
#   SANHE_BENCH_PG_BIN      PostgreSQL's binaries [the newest /usr/lib/postgresql/*/bin]
#   SANHE_BENCH_PG_PERSONS  persons [10000]
#   SANHE_BENCH_PG_CONNS    pgbench connections [32]
#   SANHE_BENCH_PG_S        the most the whole may take, seconds [150]
#   SANHE_BENCH_STEP_S      measured seconds per step [10]
#   SANHE_BENCH_WARMUP      unmeasured seconds before them [2]
set -eu

OUT=${1:?usage: pg_peer.sh OUT_DIR [RATE ...]}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATES=${*:-"1000 2000 5000 7500 10000 12500 15000 20000 25000 30000"}
PGBIN=${SANHE_BENCH_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PERSONS=${SANHE_BENCH_PG_PERSONS:-10000}
CONNS=${SANHE_BENCH_PG_CONNS:-32}
BUDGET_S=${SANHE_BENCH_PG_S:-150}
STEP_S=${SANHE_BENCH_STEP_S:-10}
WARMUP=${SANHE_BENCH_WARMUP:-2}
START=$(date +%s)

say() { echo "pg_peer: $*" >&2; }
elapsed() { echo $(($(date +%s) - START)); }

[ -x "$PGBIN/pgbench" ] && [ -x "$PGBIN/initdb" ] ||
    { say "no PostgreSQL in ${PGBIN:-/usr/lib/postgresql} (ops/install-deps.sh installs it)"; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DIR=$(mktemp -d /tmp/sanhe-pg-XXXXXX)
chmod 755 "$DIR"
AS=
if [ "$(id -u)" = 0 ]; then
    chown postgres "$DIR"
    AS="runuser -u postgres --"
fi

cleanup() {
    if [ -f "$DIR/data/postmaster.pid" ]; then
        $AS "$PGBIN/pg_ctl" -D "$DIR/data" stop -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
    if [ "${SANHE_BENCH_KEEP:-0}" = 1 ]; then say "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- The server ----------------------------------------------------------------------------
$AS "$PGBIN/initdb" -D "$DIR/data" -U bench --auth=trust -E UTF8 --no-instructions \
    >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }

# A free port: PostgreSQL takes no port 0, so try a few at random.
started=0
for _ in 1 2 3 4 5 6 7 8; do
    PORT=$(shuf -i 20000-60000 -n 1)
    ss -ltn 2>/dev/null | grep -q ":$PORT " && continue
    cat >"$DIR/data/postgresql.auto.conf" <<EOC
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
synchronous_commit = on
fsync = on
max_connections = $((CONNS + 10))
shared_buffers = '256MB'
EOC
    if $AS "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null 2>&1; then
        started=1
        break
    fi
done
[ $started = 1 ] || { say "the server did not start"; tail -20 "$DIR/server.log" >&2; exit 1; }
PSQL="$PGBIN/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PORT -U bench"
$PSQL -d postgres -c "CREATE DATABASE bench" >/dev/null
$PSQL -d bench -f "$ROOT/bench/pg/schema.sql" >/dev/null
$PSQL -d bench >/dev/null <<EOS
INSERT INTO persons SELECT g, '330424' || lpad(g::text, 12, '0'), 'low_income', 2026
    FROM generate_series(1, $PERSONS) g;
INSERT INTO accumulators (person, year, fund, cap_group)
    SELECT g, 2026, f, 'outpatient' FROM generate_series(1, $PERSONS) g,
    (VALUES ('insurance'), ('assist')) v(f);
VACUUM ANALYZE;
EOS
VERSION=$($PSQL -d bench -At -c "SHOW server_version")
SETTINGS=$($PSQL -d bench -At -c "SELECT json_object_agg(name, setting) FROM pg_settings
    WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method', 'full_page_writes',
                   'shared_buffers', 'commit_delay', 'wal_level', 'max_connections')")
say "PostgreSQL $VERSION on 127.0.0.1:$PORT, $PERSONS persons ($(elapsed) s)"

# ---- Steps ---------------------------------------------------------------------------------
# step RATE|max: one pgbench run, its JSON in $OUT. Returns 3 when it did
# not keep up.
step() {
    log="$DIR/log-$1"
    # 2 s more than the window: a transaction scheduled at its very end
    # still gets its time to finish.
    secs=$((WARMUP + STEP_S + 2))
    rate_opt="--rate=$1"
    [ "$1" != max ] || rate_opt=
    # shellcheck disable=SC2086 # rate_opt is an option or nothing
    $AS "$PGBIN/pgbench" -n -M prepared -h 127.0.0.1 -p "$PORT" -U bench -c "$CONNS" -j 2 \
        -T "$secs" $rate_opt -l --log-prefix="$log" -D persons="$PERSONS" \
        -f "$ROOT/bench/pg/settle.sql" bench >"$DIR/pgbench-$1.txt" 2>&1 ||
        { say "pgbench at $1 failed: $(tail -3 "$DIR/pgbench-$1.txt")"; return 1; }
    # Each line: client tx time script epoch_s epoch_us [lag]; time is
    # from the scheduled start to the end (with --rate), in us. The start
    # of each transaction is its end less time; the measured window begins
    # WARMUP s after the first start.
    cat "$log".* | awk -v warm="$WARMUP" -v len="$STEP_S" '
        { end = $5 + $6 / 1e6; t = $3; lag = (NF >= 7 ? $7 : 0)
          if (t !~ /^[0-9]+$/) { failed[NR] = end; next }
          s[NR] = end - t / 1e6; lat[NR] = t; lg[NR] = lag
          if (first == "" || s[NR] < first) first = s[NR] }
        END { for (i in s) if (s[i] >= first + warm && s[i] < first + warm + len)
                  print "ok", lat[i], lg[i]
              for (i in failed) if (failed[i] >= first + warm && failed[i] < first + warm + len)
                  print "failed", 0, 0 }' >"$log.window"
    ok=$(grep -c '^ok' "$log.window" || true)
    failed=$(grep -c '^failed' "$log.window" || true)
    awk '$1 == "ok" {print $2}' "$log.window" | sort -n >"$log.lat"
    awk '$1 == "ok" {print $3}' "$log.window" | sort -n >"$log.lag"
    pct() { awk -v q="$2" '{v[NR] = $1} END {if (NR == 0) {print "null"; exit}
        i = int(q * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i]}' "$1"; }
    offered=$1
    [ "$1" != max ] || offered=null
    jq -n --arg kind "$([ "$1" = max ] && echo pg_peer_max || echo pg_peer)" \
        --argjson persons "$PERSONS" --argjson offered "$offered" --argjson secs "$STEP_S" \
        --argjson ok "$ok" --argjson failed "$failed" --argjson conns "$CONNS" \
        --argjson p50 "$(pct "$log.lat" 0.5)" --argjson p90 "$(pct "$log.lat" 0.9)" \
        --argjson p99 "$(pct "$log.lat" 0.99)" --argjson p999 "$(pct "$log.lat" 0.999)" \
        --argjson max "$(pct "$log.lat" 1)" --argjson lag50 "$(pct "$log.lag" 0.5)" \
        --argjson lag99 "$(pct "$log.lag" 0.99)" --argjson lagmax "$(pct "$log.lag" 1)" \
        --arg version "$VERSION" --argjson settings "$SETTINGS" \
        '{kind: $kind, persons: $persons, offered_per_s: $offered,
          achieved_per_s: (($ok / $secs) * 10 | round / 10), duration_s: $secs,
          connections: $conns, p50_us: $p50, p90_us: $p90, p99_us: $p99, p999_us: $p999,
          max_us: $max, errors_total: $failed,
          requests: {scheduled: (if $offered == null then ($ok + $failed) else $offered * $secs end),
                     ok: $ok, failed: $failed},
          by_op: {settle: {count: $ok, p50_us: $p50, p99_us: $p99}},
          schedule_lag: {p50_us: $lag50, p99_us: $lag99, max_us: $lagmax},
          latency_from: (if $offered == null then "the transaction start (closed loop)"
                         else "the scheduled start (pgbench --rate, -l)" end),
          postgres: ({version: $version} + $settings)}' >"$OUT/pg_peer-$1.json"
    jq -r '"pg_peer: \(.kind) \(.offered_per_s // "closed loop")/s offered, \(.achieved_per_s)/s achieved, p50 \(.p50_us) p99 \(.p99_us) p99.9 \(.p999_us) us, lag p99 \(.schedule_lag.p99_us) us, \(.errors_total) failed"' \
        "$OUT/pg_peer-$1.json" >&2
    rm -f "$log".*
    [ "$1" = max ] && return 0
    jq -e '.achieved_per_s >= 0.9 * .offered_per_s and .errors_total * 100 <= .requests.scheduled' \
        "$OUT/pg_peer-$1.json" >/dev/null || return 3
}

for rate in $RATES; do
    if [ $(($(elapsed) + 2 * (WARMUP + STEP_S + 2) + 10)) -gt "$BUDGET_S" ]; then
        say "out of time before $rate/s"
        break
    fi
    rc=0
    step "$rate" || rc=$?
    if [ $rc = 3 ]; then
        say "$rate/s did not keep up: the climb stops"
        break
    elif [ $rc != 0 ]; then
        break
    fi
done
if [ $(($(elapsed) + WARMUP + STEP_S + 7)) -le "$BUDGET_S" ]; then
    step max || true
fi
say "done in $(elapsed) s"
