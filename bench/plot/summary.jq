# bench/plot/summary.jq: bench/run.sh's result document from its parts.
#
#   jq -n --slurpfile runs RUNS.json --slurpfile fsync FSYNC.json \
#         --argjson machine '{...}' --argjson config '{...}' -f summary.jq
#
# RUNS.json holds every run object (sanhe, tls_echo, lmdb_commit,
# ledger_commit, rules_core, sanhe_nosync, sanhe_mix, sanhe_parity), one after
# another. The summary compares sanhe with each
# baseline measured in the same run:
#   settles_per_s       sanhe's durable settles per second: achieved_per_s
#                       times the settle share of its OK replies
#   max_*               over the steps that kept up (achieved >= 90 % of
#                       offered, errors <= 1 %)
#   bounded_*           the same over the steps that kept up with p99 <=
#                       bounded_p99_max_us (100 ms): no growing queue
#   frac_tls_echo       sanhe's requests/s over tls_echo's (both all replies)
#   tls_echo_p99_us_at_10k_per_s  the echo's own p99 at 10,000/s: the tail
#                       that TLS, framing, the generator and the host give
#                       before any ledger work
#   frac_lmdb_commit    sanhe's settles/s over lmdb_commit writes/s at the
#                       batch size nearest (log scale) to the engine's mean
#                       batch at that step, same roster size
#   frac_rules_core     sanhe's settles/s over one core's rules-only settles/s
#   p99_us_at_10k_per_s the step at 10,000/s, kept up with or not (see
#                       kept_up_at_10k_per_s)
#   ratio_10M_10k       10M-person latency over 10k-person latency at the
#                       highest rate both kept up with (10,000/s if both did)
#   parity_by_rate      the same, from run.sh's parity steps (sanhe_parity:
#                       both engines side by side, visited in turns), one
#                       entry per offered rate, lowest first: median p50
#                       and p99 over the rounds and their ratios (p50, p99);
#                       each round's ratios (by_round: the two visits of a
#                       round are seconds apart) and their medians
#                       (p50_round_median, p99_round_median), which a
#                       round where the host stole from one visit moves
#                       less than it moves the ratio of medians; and
#                       the writer's time a write (apply and LMDB's
#                       commit over the batch, the step's means), median
#                       over the rounds per roster and their ratio
#                       (writer_us_per_write_small/_large, writer): what a
#                       write costs either roster, which the queue near
#                       the writer's saturation and the host's stolen time
#                       move far less than they move the latency
#   parity_10M_10k      parity_by_rate's entry at 10,000/s (the goal's rate),
#                       or its highest rate without one
#   sanhe_mix           each step of the full op mix (run.sh's full_mix:
#                       reversals and queries of the run's own settlements
#                       besides settle, presettle, eligibility): overall and
#                       per op p50 and p99, errors, and how many reversals
#                       or queries found no settlement to name and went as
#                       settles instead (substituted)
#   sanhe_nosync        the same engine with durable = false (no fdatasync):
#                       its best step and its step at 10,000/s
#   pg_peer             the peer (bench/pg_peer.sh: a settle's writes as one
#                       PostgreSQL transaction, synchronous_commit = on,
#                       pgbench --rate, latency from the scheduled start):
#                       its steps, its best open-loop step that kept up, its
#                       closed-loop rate (pg_peer_max), the larger of the two
#                       as max_durable_settles_per_s, its p50 and p99 at
#                       1,000/s; and the goal's two ratios: sanhe's best
#                       settles/s (the first roster) over that maximum, and
#                       the peer's p99 at 1,000/s over sanhe's (first roster)

def kept_up: .achieved_per_s >= 0.9 * .offered_per_s
  and (.errors_total * 100 <= (.requests.scheduled // 0));
# A step that kept up may still have been a growing queue (over 90 %
# answered, p50 over half a second): the bounded figures also ask for p99
# within this.
def bound_p99_us: 100000;
def bounded: kept_up and .p99_us != null and .p99_us <= bound_p99_us;
def settles_per_s:
  if (.requests.ok // 0) > 0
  then .achieved_per_s * ((.by_op.settle.count // 0) / .requests.ok) else 0 end;
def best(f): if length == 0 then null else max_by(f) end;
def round1: if . == null then null else (. * 10 | round) / 10 end;
def round3: if . == null then null else (. * 1000 | round) / 1000 end;
def round6: if . == null then null else (. * 1000000 | round) / 1000000 end;
# A step's settles/s as the summary shows it; null for no step.
def settles_shown: if . == null then null else (settles_per_s | round1) end;
def log2: if . <= 0 then 0 else (log / (2 | log)) end;
# The middle value (the lower middle one of an even count).
def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
def ratio3($a; $b): if $a == null or $b == null or $b == 0 then null else ($a / $b | round3) end;
# The writer's µs a write at a step: apply and LMDB's commit of a batch
# (means) over its writes (mean); null without them.
def writer_us_per_write:
  .engine as $e
  | if ($e.batch_mean // 0) > 0 and $e.apply_us_mean != null and $e.write_us_mean != null
    then ($e.apply_us_mean + $e.write_us_mean) / $e.batch_mean else null end;

($runs | sort_by(.kind, .persons, .offered_per_s // 0, .batch // 0)) as $all
| [$all[] | select(.kind == "sanhe")] as $sanhe
| [$all[] | select(.kind == "tls_echo" and kept_up)] as $echo
| [$all[] | select(.kind == "lmdb_commit")] as $lmdb
| ([$all[] | select(.kind == "rules_core")] | first // null) as $rules
| [$all[] | select(.kind == "ledger_commit")] as $ledger
| [$all[] | select(.kind == "sanhe_nosync")] as $nosync
| [$all[] | select(.kind == "sanhe_parity")] as $parity
| [$all[] | select(.kind == "sanhe_mix")] as $mix
| [$all[] | select(.kind == "pg_peer")] as $pg
| ([$all[] | select(.kind == "pg_peer_max")] | first // null) as $pg_max
| ($echo | best(.achieved_per_s)) as $echo_best
| def step_at($n; $r): [$sanhe[] | select(.persons == $n and .offered_per_s == $r)] | first // null;
  def at_rate($n; $r): step_at($n; $r) | if . != null and kept_up then . else null end;
  def lmdb_near($n; $b): [$lmdb[] | select(.persons == $n)]
    | if length == 0 then null else min_by((((.batch | log2) - ($b | log2)) | fabs)) end;
  def roster($n):
    [$sanhe[] | select(.persons == $n and kept_up)] as $ok
    | ($ok | best(settles_per_s)) as $top
    | ([$ok[] | select(bounded)] | best(settles_per_s)) as $bounded
    | (if $top == null then null else lmdb_near($n; $top.engine.batch_mean // 1) end) as $l
    | {
        persons: $n,
        steps_run: [$sanhe[] | select(.persons == $n)] | length,
        max_requests_per_s: ($top.achieved_per_s // null),
        max_settles_per_s: ($top | settles_shown),
        at_offered_per_s: ($top.offered_per_s // null),
        batch_mean_at_max: ($top.engine.batch_mean // null | round1),
        bounded_max_settles_per_s: ($bounded | settles_shown),
        bounded_at_offered_per_s: ($bounded.offered_per_s // null),
        bounded_p50_us: ($bounded.p50_us // null),
        bounded_p99_us: ($bounded.p99_us // null),
        p99_us_at_10k_per_s: (step_at($n; 10000).p99_us // null),
        kept_up_at_10k_per_s: (step_at($n; 10000) | if . == null then null else kept_up end),
        frac_tls_echo: (if $top == null or $echo_best == null then null
                        else ($top.achieved_per_s / $echo_best.achieved_per_s | round3) end),
        lmdb_commit_batch: ($l.batch // null),
        lmdb_commit_writes_per_s: ($l.achieved_per_s // null),
        frac_lmdb_commit: (if $l == null then null
                           else (($top | settles_per_s) / $l.achieved_per_s | round3) end),
        frac_rules_core: (if $top == null or $rules == null then null
                          else (($top | settles_per_s) / $rules.achieved_per_s | round6) end)
      };
  def common_rate:
    [$sanhe[] | select(.persons == 10000 and kept_up) | .offered_per_s] as $a
    | [$sanhe[] | select(.persons == 10000000 and kept_up) | .offered_per_s] as $b
    | [$a[] | select(. as $r | $b | index($r))] | if index(10000) then 10000 else max end;
  def ratio:
    common_rate as $r
    | if $r == null then null
      else at_rate(10000; $r) as $s | at_rate(10000000; $r) as $l
        | { offered_per_s: $r,
            p50: ($l.p50_us / $s.p50_us | round3),
            p99: ($l.p99_us / $s.p99_us | round3) } end;
  # The parity steps of one offered rate (run.sh's parity): the largest
  # roster's median p50 and p99 over its rounds, against the smallest's; and
  # each round's ratios.
  def parity_at($steps):
    ($steps | map(.persons) | min) as $s | ($steps | map(.persons) | max) as $l
    | [$steps[] | select(.persons == $s)] as $ps | [$steps[] | select(.persons == $l)] as $pl
    | { small_persons: $s, large_persons: $l, offered_per_s: $steps[0].offered_per_s,
        rounds: ([($ps | length), ($pl | length)] | min),
        all_kept_up: ([$steps[] | kept_up] | all),
        p50_us_small: ($ps | map(.p50_us) | median), p50_us_large: ($pl | map(.p50_us) | median),
        p99_us_small: ($ps | map(.p99_us) | median), p99_us_large: ($pl | map(.p99_us) | median),
        writer_us_per_write_small: ([$ps[] | writer_us_per_write | select(. != null)] | median | round1),
        writer_us_per_write_large: ([$pl[] | writer_us_per_write | select(. != null)] | median | round1) }
    | . + { p50: ratio3(.p50_us_large; .p50_us_small), p99: ratio3(.p99_us_large; .p99_us_small),
            writer: ratio3(.writer_us_per_write_large; .writer_us_per_write_small),
            by_round: [$ps[] as $x | $pl[] | select(.round == $x.round)
                       | {round, p50: ratio3(.p50_us; $x.p50_us), p99: ratio3(.p99_us; $x.p99_us)}] }
    | . + { p50_round_median: ([.by_round[].p50 | select(. != null)] | median),
            p99_round_median: ([.by_round[].p99 | select(. != null)] | median) };
  def parity_by_rate: [$parity | group_by(.offered_per_s)[] | parity_at(.)];
  def parity($by_rate):
    if ($by_rate | length) == 0 then null
    else ([$by_rate[] | select(.offered_per_s == 10000)] | first) // ($by_rate | last) end;
  def pg_peer($rosters):
    if ($pg | length) == 0 and $pg_max == null then null else
      ([$pg[] | select(kept_up)] | best(.achieved_per_s)) as $top
      | ([$pg[] | select(.offered_per_s == 1000)] | first // null) as $k
      | ([$top.achieved_per_s, $pg_max.achieved_per_s] | map(select(. != null)) | max) as $max
      | ($rosters | first // null) as $r
      | ([$sanhe[] | select(.persons == $r.persons and .offered_per_s == 1000)] | first // null)
        as $s1k
      | { persons: (($pg + [$pg_max]) | map(select(. != null)) | first.persons),
          connections: (($pg + [$pg_max]) | map(select(. != null)) | first.connections),
          open_loop_max_per_s: ($top.achieved_per_s // null),
          open_loop_at_offered_per_s: ($top.offered_per_s // null),
          closed_loop_per_s: ($pg_max.achieved_per_s // null),
          max_durable_settles_per_s: $max,
          p50_us_at_1k_per_s: ($k.p50_us // null), p99_us_at_1k_per_s: ($k.p99_us // null),
          kept_up_at_1k_per_s: (if $k == null then null else ($k | kept_up) end),
          steps: [$pg[] | {offered_per_s, achieved_per_s, kept_up: kept_up, p50_us, p99_us,
                           p999_us, schedule_lag_p99_us: (.schedule_lag.p99_us // null)}],
          sanhe_max_over_pg_max: ratio3($r.max_settles_per_s; $max),
          pg_p99_over_sanhe_p99_at_1k: ratio3($k.p99_us; $s1k.p99_us) } end;
  # The write-ahead log's goals (issue 21), each from this run's own
  # baselines: durable p99 at 10,000/s over sanhe_nosync's (the sweeps, one
  # visit each: bench/ab.sh SANHE_AB_DURABLE_B=false takes it in turns);
  # p50 at 1,000/s against tls_echo's p50 plus 1.5 contiguous syncs; the
  # engine's CPU a request at 10,000/s over tls_echo's; parity at every
  # rate; the peer.
  def first_roster_step($kind; $r):
    [$all[] | select(.kind == $kind and .offered_per_s == $r)] | first // null;
  def goals_wal($rosters; $by_rate; $peer):
    ($rosters | first // null) as $r
    | step_at($r.persons; 10000) as $d10 | step_at($r.persons; 1000) as $d1
    | first_roster_step("sanhe_nosync"; 10000) as $n10
    | first_roster_step("tls_echo"; 10000) as $e10 | first_roster_step("tls_echo"; 1000) as $e1
    | ($fsync[0].patterns.pages_25_contiguous.p50_us // null) as $sync
    | (if $e1 == null or $sync == null then null else $e1.p50_us + 1.5 * $sync end) as $light
    | { persons: ($r.persons // null),
        p99_durable_over_nosync_at_10k: ratio3($d10.p99_us; $n10.p99_us),
        p99_durable_over_nosync_at_10k_max: 1.5,
        p50_us_at_1k: ($d1.p50_us // null),
        p50_us_at_1k_bound: (if $light == null then null else ($light | round1) end),
        p50_at_1k_over_bound: ratio3($d1.p50_us; $light),
        engine_us_per_request_at_10k: ($d10.cpu.engine_us_per_request // null),
        tls_echo_us_per_request_at_10k: ($e10.cpu.engine_us_per_request // null),
        cpu_over_tls_echo_at_10k: ratio3($d10.cpu.engine_us_per_request;
                                         $e10.cpu.engine_us_per_request),
        cpu_over_tls_echo_at_10k_max: 1.5,
        parity_within_10pct: (if ($by_rate | length) == 0 then null
                              else [$by_rate[] | .p50 <= 1.1 and .p99 <= 1.1] | all end),
        parity_worst: ([$by_rate[] | .p50, .p99] | max),
        sanhe_max_over_pg_max: ($peer.sanhe_max_over_pg_max // null),
        sanhe_max_over_pg_max_min: 20,
        pg_p99_over_sanhe_p99_at_1k: ($peer.pg_p99_over_sanhe_p99_at_1k // null),
        pg_p99_over_sanhe_p99_at_1k_min: 20 };
parity_by_rate as $parity_by_rate
| [$sanhe | map(.persons) | unique | .[] | roster(.)] as $rosters
| pg_peer($rosters) as $peer
| {
  date: (now | strftime("%Y-%m-%dT%H:%M:%SZ")),
  machine: ($machine + {disk_fsync: ($fsync[0] // null)}),
  config: $config,
  runs: $all,
  summary: {
    rosters: $rosters,
    tls_echo_max_per_s: ($echo_best.achieved_per_s // null),
    tls_echo_at_offered_per_s: ($echo_best.offered_per_s // null),
    tls_echo_p99_us_at_10k_per_s: ([$all[] | select(.kind == "tls_echo" and .offered_per_s == 10000)]
                                   | first.p99_us // null),
    tls_echo_saturated: ([$all[] | select(.kind == "tls_echo" and (kept_up | not))] | length > 0),
    lmdb_commit_best_writes_per_s: ($lmdb | best(.achieved_per_s) | .achieved_per_s // null),
    ledger_commit_best_settles_per_s: ($ledger | best(.achieved_per_s) | .achieved_per_s // null
                                       | round1),
    ledger_commit_by_batch: [$ledger[] | {batch, settles_per_s: (.achieved_per_s | round1),
                                          cpu_us_per_settle: (.cpu_us_per_settle | round1),
                                          commit_p99_us: (.p99_us | round1)}],
    rules_core_settles_per_s: ($rules.achieved_per_s // null | round1),
    rules_core_ns_per_settle: ($rules.ns_per_settle // null | round1),
    ratio_10M_10k: ratio,
    parity_by_rate: $parity_by_rate,
    parity_10M_10k: parity($parity_by_rate),
    sanhe_mix: [$mix[] | {persons, op_mix, offered_per_s, achieved_per_s, kept_up: kept_up,
                          p50_us, p99_us, errors_total,
                          substituted: (.requests.substituted // 0),
                          by_op: ((.by_op // {}) | map_values({count, p50_us, p99_us, errors}))}],
    sanhe_nosync: (if ($nosync | length) == 0 then null else
      ([$nosync[] | select(kept_up)] | best(settles_per_s)) as $top
      | ([$nosync[] | select(bounded)] | best(settles_per_s)) as $bounded
      | ([$nosync[] | select(.offered_per_s == 10000)] | first // null) as $t
      | { persons: $nosync[0].persons,
          max_settles_per_s: ($top | settles_shown),
          at_offered_per_s: ($top.offered_per_s // null),
          bounded_max_settles_per_s: ($bounded | settles_shown),
          bounded_at_offered_per_s: ($bounded.offered_per_s // null),
          p50_us_at_10k_per_s: ($t.p50_us // null), p99_us_at_10k_per_s: ($t.p99_us // null),
          kept_up_at_10k_per_s: (if $t == null then null else ($t | kept_up) end) } end),
    pg_peer: $peer,
    bounded_p99_max_us: bound_p99_us,
    goals_wal: goals_wal($rosters; $parity_by_rate; $peer),
    goals: {durable_settles_per_s: 20000, p99_us_at_10k_per_s: 5000, ratio_10M_10k_max: 1.1,
            sanhe_max_over_pg_max_min: 20, pg_p99_over_sanhe_p99_at_1k_min: 20}
  }
}
