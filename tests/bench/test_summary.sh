#!/bin/sh
# bench/plot/summary.jq on made-up runs: the parity summary per rate (medians
# of each roster's rounds, their ratios, each round's ratios and their
# medians, all_kept_up, the writer's µs a write per roster and their ratio;
# parity_10M_10k the entry at 10,000/s), tls_echo's
# p99 at 10,000/s, the full mix's steps (per op, kept out of the sweeps'),
# parity steps kept out of the sweeps' figures, the best step with p99
# within the bound against the best that merely kept up, and the
# PostgreSQL peer's figures and the goal's ratios against it.
#
#   test_summary.sh SUMMARY_JQ
set -eu
jqf=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail() {
    echo "test_summary: $*" >&2
    exit 1
}

# run KIND PERSONS ROUND OFFERED ACHIEVED P50 P99
run() {
    jq -n --arg k "$1" --argjson n "$2" --argjson r "$3" --argjson o "$4" --argjson a "$5" \
        --argjson p50 "$6" --argjson p99 "$7" \
        '{kind: $k, persons: $n, offered_per_s: $o, achieved_per_s: $a, p50_us: $p50,
          p99_us: $p99, errors_total: 0, requests: {scheduled: ($o * 10), ok: ($a * 10)},
          by_op: {settle: {count: ($a * 8)}}, engine: {batch_mean: 10}}
         + (if $r > 0 then {round: $r} else {} end)
         + (if $k == "sanhe_parity"
            then {engine: {batch_mean: (if $n > 10000 then 20 else 10 end),
                           apply_us_mean: ($p99 / 10), write_us_mean: 500}}
            else {} end)'
}

{
    run sanhe 10000 0 10000 9990 3000 9000
    run sanhe 10000 0 20000 19000 300000 500000 # kept up, but a queue
    run sanhe 10000000 0 10000 9980 4000 12000
    run tls_echo 10000 0 5000 5000 300 5000
    run tls_echo 10000 0 10000 9990 400 7000
    # The full mix: its own summary, per op, and out of the sweeps'.
    run sanhe_mix 10000 0 10000 9990 5000 20000 |
        jq -c '. + {op_mix: {settle: 70, reverse: 5}, requests: (.requests + {substituted: 12}),
                    by_op: {settle: {count: 7000, p50_us: 5500, p99_us: 21000, p999_us: 1, errors: 0},
                            reverse: {count: 500, p50_us: 4000, p99_us: 18000, max_us: 2, errors: 1}}}'
    # Rounds in ABBA order; the medians are of 3: 5000 / 10000 at 10k,
    # 6000 / 30000 at 10M.
    run sanhe_parity 10000 1 10000 9990 5000 10000
    run sanhe_parity 10000000 1 10000 9990 6000 20000
    run sanhe_parity 10000000 2 10000 9990 9000 40000
    run sanhe_parity 10000 2 10000 9990 4000 8000
    run sanhe_parity 10000 3 10000 9990 6000 12000
    run sanhe_parity 10000000 3 10000 5000 3000 30000 # did not keep up
    # A second, lower rate, its rounds interleaved with the first's in the
    # file: medians (the lower middle of two) p50 1000 / 2100, p99 3000 / 4200.
    run sanhe_parity 10000000 1 5000 4990 2100 4200
    run sanhe_parity 10000 1 5000 4990 2000 4000
    run sanhe_parity 10000 2 5000 4990 1000 3000
    run sanhe_parity 10000000 2 5000 4990 2200 4400
    # And a higher one, so that parity_10M_10k must pick 10,000/s.
    run sanhe_parity 10000 1 15000 14900 7000 20000
    run sanhe_parity 10000000 1 15000 14900 8000 30000
    # The peer (bench/pg_peer.sh): 1,000/s and 2,000/s kept up, 5,000/s not;
    # its closed-loop rate above its best open-loop step. sanhe's 10k step
    # at 1,000/s for the p99 ratio.
    run sanhe 10000 0 1000 1000 500 1500
    run pg_peer 10000 0 1000 1000 2000 12000 | jq -c '. + {schedule_lag: {p99_us: 2500}}'
    run pg_peer 10000 0 2000 1990 2700 22000
    run pg_peer 10000 0 5000 2800 150000 830000
    run pg_peer_max 10000 0 0 2900 9600 38000 | jq -c '.offered_per_s = null'
} >"$dir/runs.json"
echo '{}' >"$dir/fsync.json"

jq -n --slurpfile runs "$dir/runs.json" --slurpfile fsync "$dir/fsync.json" \
    --argjson machine '{}' --argjson config '{}' -f "$jqf" >"$dir/out.json" ||
    fail "summary.jq failed"

check() { # JQ_EXPR EXPECTED
    got=$(jq -c "$1" "$dir/out.json")
    [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}

check '.summary.parity_10M_10k.small_persons' 10000
check '.summary.parity_10M_10k.large_persons' 10000000
check '.summary.parity_10M_10k.rounds' 3
check '.summary.parity_10M_10k.p50_us_small' 5000
check '.summary.parity_10M_10k.p50_us_large' 6000
check '.summary.parity_10M_10k.p99_us_small' 10000
check '.summary.parity_10M_10k.p99_us_large' 30000
check '.summary.parity_10M_10k.p50' 1.2
check '.summary.parity_10M_10k.p99' 3
check '.summary.parity_10M_10k.all_kept_up' false
check '[.summary.parity_10M_10k.by_round[] | [.round, .p50, .p99]]' \
    '[[1,1.2,2],[2,2.25,5],[3,0.5,2.5]]'
# The writer's µs a write, (apply + write) / batch: at 10k (1000 + 500) / 10,
# (800 + 500) / 10, (1200 + 500) / 10, median 150; at 10M (2000 + 500) / 20,
# (4000 + 500) / 20, (3000 + 500) / 20, median 175.
check '.summary.parity_10M_10k | [.writer_us_per_write_small, .writer_us_per_write_large, .writer]' \
    '[150,175,1.167]'
check '.summary.parity_by_rate[0] | [.writer_us_per_write_small, .writer_us_per_write_large, .writer]' \
    '[80,46,0.575]'
# One entry per rate, lowest first; parity_10M_10k is the one at 10,000/s.
check '[.summary.parity_by_rate[] | [.offered_per_s, .rounds, .all_kept_up]]' \
    '[[5000,2,true],[10000,3,false],[15000,1,true]]'
check '.summary.parity_by_rate[0] | [.p50_us_small, .p50_us_large, .p50, .p99]' \
    '[1000,2100,2.1,1.4]'
check '[.summary.parity_by_rate[0].by_round[] | [.round, .p50, .p99]]' '[[1,1.05,1.05],[2,2.2,1.467]]'
check '.summary.parity_by_rate[1] == .summary.parity_10M_10k' true
# The medians of the rounds' own ratios (of two: the lower).
check '[.summary.parity_by_rate[] | [.p50_round_median, .p99_round_median]]' \
    '[[1.05,1.05],[1.2,2.5],[1.143,1.5]]'
check '.summary.tls_echo_p99_us_at_10k_per_s' 7000
check '.summary.sanhe_mix | [length, .[0].offered_per_s, .[0].kept_up, .[0].substituted]' \
    '[1,10000,true,12]'
check '.summary.sanhe_mix[0].by_op' \
    '{"settle":{"count":7000,"p50_us":5500,"p99_us":21000,"errors":0},"reverse":{"count":500,"p50_us":4000,"p99_us":18000,"errors":1}}'
# The sweeps' figures see the sanhe runs only.
check '[.summary.rosters[].persons]' '[10000,10000000]'
check '[.summary.rosters[].steps_run]' '[3,1]'
# The best step that kept up, and the best with p99 within 100 ms.
check '[.summary.rosters[] | [.max_settles_per_s, .at_offered_per_s]]' '[[15200,20000],[7984,10000]]'
check '[.summary.rosters[] | [.bounded_max_settles_per_s, .bounded_at_offered_per_s]]' \
    '[[7992,10000],[7984,10000]]'
# The peer: its best open-loop step, its closed loop, the larger as the
# maximum; sanhe's best (15200) over it, and its p99 at 1,000/s over sanhe's.
check '.summary.pg_peer | [.open_loop_max_per_s, .open_loop_at_offered_per_s, .closed_loop_per_s, .max_durable_settles_per_s]' \
    '[1990,2000,2900,2900]'
check '.summary.pg_peer | [.p50_us_at_1k_per_s, .p99_us_at_1k_per_s, .kept_up_at_1k_per_s]' \
    '[2000,12000,true]'
check '[.summary.pg_peer.steps[] | [.offered_per_s, .kept_up, .schedule_lag_p99_us]]' \
    '[[1000,true,2500],[2000,true,null],[5000,false,null]]'
check '.summary.pg_peer | [.sanhe_max_over_pg_max, .pg_p99_over_sanhe_p99_at_1k]' '[5.241,8]'
check '.summary.bounded_p99_max_us' 100000
check '.summary.ratio_10M_10k' '{"offered_per_s":10000,"p50":1.333,"p99":1.333}'

# No parity steps: null, and the rest as before.
jq -c 'select(.kind == "sanhe")' "$dir/runs.json" >"$dir/sweeps.json"
jq -n --slurpfile runs "$dir/sweeps.json" --slurpfile fsync "$dir/fsync.json" \
    --argjson machine '{}' --argjson config '{}' -f "$jqf" >"$dir/out.json" ||
    fail "summary.jq failed without parity"
check '.summary.parity_10M_10k' null
check '.summary.parity_by_rate' '[]'
check '.summary.ratio_10M_10k.p50' 1.333
check '.summary.pg_peer' null
echo "test_summary: ok"
