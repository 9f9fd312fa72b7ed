#!/bin/sh
# bench/import.sh [ROWS] [RATE] [SECONDS]: an enrolment import of ROWS rows
# (default 10,000,000) into a durable engine, while counters settle.
#
#   1. a durable sanhe-engine on a fresh directory with the loadgen's 10k
#      dataset, an admin and counter terminals;
#   2. the counters' latency without an import: sanhe-loadgen at RATE/s
#      (default 500) for SECONDS (default 30);
#   3. an enrolment file of ROWS new persons (year 2026), imported with
#      sanhe-import while sanhe-loadgen runs the same load again, in
#      back-to-back windows of SECONDS for the whole import;
#   4. the counters alone once more (the engine now holds the new persons);
#   5. prints rows/s of the import (wall time of sanhe-import, both of its
#      passes included), p99 alone (before and after) and of each window
#      during the import, and keeps everything in WORK.
#
# Needs a normal build (build/bin, or SANHE_BIN=DIR: a copy of the binaries,
# so that a rebuild during a long run does not change them). Nothing here
# is run by the test suite.
set -eu
ROWS=${1:-10000000}
RATE=${2:-500}
SECONDS_RUN=${3:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SANHE_BIN:-$ROOT/build/bin}
WORK=${WORK:-$(mktemp -d /tmp/sanhe-bench-import-XXXXXX)}
mkdir -p "$WORK"
echo "work: $WORK"
cd "$WORK"

"$ROOT/ops/certs.sh" ca certs >/dev/null
"$ROOT/ops/certs.sh" engine certs >/dev/null
"$ROOT/ops/certs.sh" terminal certs admin-1 - admin >/dev/null
"$ROOT/ops/certs.sh" terminal certs counter-h330424201 H330424201 counter >/dev/null

"$BIN/sanhe-loadgen" --make-dataset 10000 ds.json --policy "$ROOT/tests/policies/haiyan-2026.json"
printf '[{"name":"admin-1","hospital":"","role":"admin"}]\n' >admin.json
cat >engine.conf <<EOF
[engine]
data_dir = data
listen = 127.0.0.1:0
durable = true
port_file = port
map_size_max_mb = 65536
[tls]
ca = certs/ca.crt
cert = certs/engine.crt
key = certs/engine.key
EOF
"$BIN/sanhe-engine" load -c engine.conf ds.json admin.json
"$BIN/sanhe-engine" serve -c engine.conf >engine.log 2>&1 &
ENGINE=$!
trap 'kill $ENGINE 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s port ] && break; sleep 0.2; done
PORT=$(cat port)

load() { # $1: label
    "$BIN/sanhe-loadgen" --port "$PORT" --ca certs/ca.crt --cert certs/counter-h330424201.crt \
        --key certs/counter-h330424201.key --hospital H330424201 --rate "$RATE" \
        --duration-s "$SECONDS_RUN" --warmup-s 2 --persons gen:10000 --run-tag "$1" \
        --json "$1.json" >"$1.log" 2>&1
}

echo "counters alone: $RATE/s for $SECONDS_RUN s"
load alone

echo "making $ROWS enrolment rows"
python3 - "$ROWS" >enrol.csv <<'EOF'
import sys
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
c = "10X98765432"
out = sys.stdout
out.write("id,name,region\n")
n = int(sys.argv[1])
for i in range(n):
    # unique for i < 23,520,000: region 3304RR, birth date, sequence
    seq, rest = i % 1000, i // 1000
    day, rest = rest % 28 + 1, rest // 28
    month, rest = rest % 12 + 1, rest // 12
    year, rest = 1950 + rest % 70, rest // 70
    b = "3304%02d%04d%02d%02d%03d" % (24 + rest, year, month, day, seq)
    s = sum(int(x) * k for x, k in zip(b, w))
    out.write("%s%s,p%d,330424\n" % (b, c[s % 11], i))
EOF
mkdir -p maps
printf '[source]\nkind = enrolment\nyear = 2026\n[columns]\nperson = id\nname = name\nregion = region\n' \
    >maps/enrol.ini
cat >import.conf <<EOF
[import]
engine = 127.0.0.1:$PORT
ca = certs/ca.crt
cert = certs/admin-1.crt
key = certs/admin-1.key
mappings = maps
timeout_ms = 120000
EOF

echo "importing while the counters settle"
# The counters run in windows of SECONDS s, back to back, for as long as the
# import lasts (a 10M-row import takes longer than one window; the tree it
# grows makes its later commits the costlier ones, so every window counts).
rm -f import.done
(
    i=1
    while [ ! -e import.done ]; do
        date +%s >"during-$i.start"
        load "during-$i"
        i=$((i + 1))
    done
) &
LOAD=$!
start=$(date +%s.%N)
rc=0
"$BIN/sanhe-import" -c import.conf enrol enrol.csv >import.log 2>&1 || rc=$?
end=$(date +%s.%N)
touch import.done
wait $LOAD || true
[ $rc -eq 0 ] || {
    tail -20 import.log
    exit 1
}

# The counters alone again, on the engine the import grew, at once: the
# machine's own load (shared with other work) moves between the first
# window and the last, and a fair "without" has both ends.
echo "counters alone after the import: $RATE/s for $SECONDS_RUN s"
load after

secs=$(echo "$end - $start" | bc)
echo "import: $ROWS rows in $secs s: $(echo "$ROWS / $secs" | bc) rows/s"
grep -E "persons added|years enrolled|unchanged" import.log
for f in alone after; do
    echo "counters $f: p99 $(jq -r .p99_us $f.json) us, p999 $(jq -r .p999_us $f.json) us, achieved $(jq -r .achieved_per_s $f.json)/s, errors $(jq -r .errors_total $f.json)"
done
# A window that began after the import's middle point of its own length ran
# mostly without the import: it is listed, not counted.
during=""
for f in $(ls during-*.json | sort -t- -k2 -n); do
    w=${f%.json}
    inside=yes
    [ "$(cat "$w.start")" -le "$(echo "$end - $SECONDS_RUN / 2" | bc | cut -d. -f1)" ] || inside=no
    echo "counters $w: p99 $(jq -r .p99_us "$f") us, p999 $(jq -r .p999_us "$f") us, achieved $(jq -r .achieved_per_s "$f")/s, errors $(jq -r .errors_total "$f"), during the import: $inside"
    [ $inside = no ] || during="$during $f"
done
[ -n "$during" ] || during=during-1.json
# shellcheck disable=SC2086
echo "counters during the import ($(echo $during | wc -w) windows): p99 max $(jq -s 'map(.p99_us) | max' $during) us, median $(jq -s 'map(.p99_us) | sort | .[length / 2 | floor]' $during) us"
