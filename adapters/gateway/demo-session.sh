#!/bin/sh
# A complete national-interface session against a real sanhe-gateway, as
# counter software runs it: 1101 -> 2201 -> 2204 -> 2206 -> 2207 -> 2208,
# each call a curl command, printed with its reply (resident ids masked).
#
#   adapters/gateway/demo-session.sh [BUILD_DIR]     (default: build)
#
# It starts a sanhe-engine and a sanhe-gateway on 127.0.0.1 (port 0) in a
# temporary directory with their own certificates (ops/certs.sh), loads the
# demo day's reference data (ops/demo/demo-day.json), runs the session, then
# stops both and removes the directory (SANHE_KEEP=1 keeps it). Exits 1 when
# a call does not succeed or a figure is not the engine's: it is also a test
# (ctest gateway/demo-session). adapters/gateway/README.md shows its output.
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
bin=${SANHE_BIN:-$build/bin}
engine=$bin/sanhe-engine
gateway=$bin/sanhe-gateway
curl=${CURL:-curl}
for tool in "$engine" "$gateway" "$bin/sanhe-counter"; do
    [ -x "$tool" ] || { echo "demo-session: $tool: not built" >&2; exit 2; }
done
command -v "$curl" >/dev/null || { echo "demo-session: curl is not installed" >&2; exit 2; }
command -v jq >/dev/null || { echo "demo-session: jq is not installed" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/sanhe-gw-demo-XXXXXX")
engine_pid='' gateway_pid=''
cleanup() {
    for pid in $gateway_pid $engine_pid; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${SANHE_KEEP:-0}" = 1 ]; then
        echo "demo-session: kept $dir" >&2
    else
        rm -rf "$dir"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "demo-session: $*" >&2
    for log in "$dir"/engine.err "$dir"/gateway.err; do
        [ -s "$log" ] && sed 's/^/  | /' "$log" >&2
    done
    exit 1
}

# Waits (at most 10 s) for a port file.
port_of() {
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        [ $i -le 1000 ] || fail "$2 did not start"
        sleep 0.01
    done
    cat "$1"
}

hospital=H330424001
certs=$dir/certs
"$src"/ops/certs.sh ca "$certs"
"$src"/ops/certs.sh engine "$certs"
# The gateway talks to the engine as the hospital's counter terminal; the
# hospital's HIS talks to the gateway with a certificate of its own.
"$src"/ops/certs.sh terminal "$certs" "counter-$hospital" "$hospital" counter
"$src"/ops/certs.sh terminal "$certs" "his-$hospital" "$hospital" counter

cat >"$dir/engine.conf" <<EOF
[engine]
data_dir = $dir/engine-data
listen = 127.0.0.1:0
port_file = $dir/engine.port
[tls]
ca = $certs/ca.crt
cert = $certs/engine.crt
key = $certs/engine.key
[log]
level = warn
[terminals]
counter-$hospital = $hospital counter
EOF
"$engine" load -c "$dir/engine.conf" "$src/ops/demo/demo-day.json" >"$dir/load.log" 2>&1 ||
    fail "sanhe-engine load failed: $(cat "$dir/load.log")"
"$engine" serve -c "$dir/engine.conf" >"$dir/engine.out" 2>"$dir/engine.err" &
engine_pid=$!
engine_port=$(port_of "$dir/engine.port" sanhe-engine)

cat >"$dir/gateway.conf" <<EOF
[gateway]
listen = 127.0.0.1:0
port_file = $dir/gateway.port
ca = $certs/ca.crt
cert = $certs/engine.crt
key = $certs/engine.key
data_dir = $dir/gateway-data
[engine]
ca = $certs/ca.crt
terminal_dir = $certs
terminal_prefix = counter-
[region 330424]
engine = 127.0.0.1:$engine_port
[fund_pay_type]
coop = 390100
youfu = 350100
assist = 610100
[idetinfo assist]
dibao = 1301,1
tekun = 1302,1
dibao_edge = 1303,1
[idetinfo youfu]
veteran = 1101,1
disabled_1_6 = 1102,1
EOF
"$gateway" -c "$dir/gateway.conf" >"$dir/gateway.out" 2>"$dir/gateway.err" &
gateway_pid=$!
port=$(port_of "$dir/gateway.port" sanhe-gateway)

# Resident ids (18 characters, the last a digit or X) as 330424********0031.
mask() { sed -E 's/(^|[^0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9X])($|[^0-9A-Za-z])/\1\2********\3\4/g'; }

seq=0
# call INFNO INPUT: the envelope around INPUT (JSON text, sent as it is),
# POSTed with curl; the reply's bytes are left in $dir/reply.json and
# printed as they came (jq would rewrite 8130.00 as 8130).
call() {
    seq=$((seq + 1))
    msgid=$(printf '%s20260305100000%04d' "$hospital" "$seq")
    printf '{"infno":"%s","msgid":"%s","mdtrtarea_admvs":"330424","insuplc_admdvs":"330424",%s%s%s}\n' \
        "$1" "$msgid" '"recer_sys_code":"HIS","dev_no":"","dev_safe_info":"","cainfo":"","signtype":"",' \
        '"infver":"V1.0","opter_type":"1","opter":"0001","opter_name":"收费员","inf_time":"2026-03-05 10:00:00",' \
        "\"fixmedins_code\":\"$hospital\",\"fixmedins_name\":\"海盐县第1医院\",\"sign_no\":\"\",\"input\":$2" \
        >"$dir/req-$1.json"
    jq -e . "$dir/req-$1.json" >/dev/null || fail "$1: the request is not JSON"
    printf '$ curl -sS --cacert ca.crt --cert his-%s.crt --key his-%s.key \\\n' \
        "$hospital" "$hospital"
    printf '       -H "Content-Type: application/json" --data-binary @- \\\n'
    printf '       https://127.0.0.1:%s/%s <<'"'"'EOF'"'"'\n' "$port" "$1"
    mask <"$dir/req-$1.json"
    printf 'EOF\n'
    status=$("$curl" -sS --max-time 30 --cacert "$certs/ca.crt" --cert "$certs/his-$hospital.crt" \
        --key "$certs/his-$hospital.key" -H 'Content-Type: application/json' \
        --data-binary @"$dir/req-$1.json" -o "$dir/reply.json" -w '%{http_code}' \
        "https://127.0.0.1:$port/$1") || fail "curl $1 failed"
    mask <"$dir/reply.json"
    printf '\n\n'
    [ "$status" = 200 ] || fail "$1: HTTP $status"
    jq -e '.infcode == 0' "$dir/reply.json" >/dev/null || fail "$1: infcode is not 0"
}

# The exact text of the first number named $2 in file $1.
num() { grep -o "\"$2\":-\{0,1\}[0-9][0-9.]*" "$1" | head -n 1 | cut -d: -f2; }
# Yuan text with exactly two decimals into fen, or "bad".
fen_of() {
    case $1 in
    *[0-9].[0-9][0-9]) echo "${1%.*}${1##*.}" | sed -E 's/^(-?)0+([0-9])/\1\2/' ;;
    *) echo bad ;;
    esac
}
expect_fen() {
    got=$(fen_of "$(num "$dir/reply.json" "$1")")
    [ "$got" = "$2" ] || fail "$1 is $got fen, expected $2"
}

person=330424194807050031 # 李秀英, 低保 (medical assistance), the demo day's second bill
echo '# 1101 person information: who the patient is, what insures and entitles them'
call 1101 "{\"data\": {\"mdtrt_cert_type\": \"02\", \"certno\": \"$person\", \"psn_cert_type\": \"01\", \"begntime\": \"2026-03-05\"}}"
jq -e '.output.idetinfo[0].psn_idet_type == "1301"' "$dir/reply.json" >/dev/null ||
    fail "1101: idetinfo does not carry dibao as 1301"

echo '# 2201 registration: an inpatient visit (med_type 21); the gateway names it mdtrt_id'
call 2201 "{\"data\": {\"psn_no\": \"$person\", \"insutype\": \"390\", \"med_type\": \"21\", \"begntime\": \"2026-03-01 08:30:00\", \"ipt_otp_no\": \"ZY2026030001\"}}"
mdtrt_id=$(jq -r .output.data.mdtrt_id "$dir/reply.json")

echo '# 2204 fee details: each line answered with its split (out of scope, over limit, self-pay first)'
call 2204 "{\"feedetail\": [
  {\"feedetl_sn\": \"1\", \"mdtrt_id\": \"$mdtrt_id\", \"psn_no\": \"$person\", \"med_list_codg\": \"A002\", \"cnt\": 8, \"det_item_fee_sumamt\": 640.00},
  {\"feedetl_sn\": \"2\", \"mdtrt_id\": \"$mdtrt_id\", \"psn_no\": \"$person\", \"med_list_codg\": \"A003\", \"cnt\": 1, \"det_item_fee_sumamt\": 6000.00},
  {\"feedetl_sn\": \"3\", \"mdtrt_id\": \"$mdtrt_id\", \"psn_no\": \"$person\", \"med_list_codg\": \"A001\", \"cnt\": 12, \"det_item_fee_sumamt\": 144.00},
  {\"feedetl_sn\": \"4\", \"mdtrt_id\": \"$mdtrt_id\", \"psn_no\": \"$person\", \"med_list_codg\": \"B001\", \"cnt\": 6, \"det_item_fee_sumamt\": 96.00},
  {\"feedetl_sn\": \"5\", \"mdtrt_id\": \"$mdtrt_id\", \"psn_no\": \"$person\", \"med_list_codg\": \"B004\", \"cnt\": 1, \"det_item_fee_sumamt\": 350.00},
  {\"feedetl_sn\": \"6\", \"mdtrt_id\": \"$mdtrt_id\", \"psn_no\": \"$person\", \"med_list_codg\": \"C002\", \"cnt\": 3, \"det_item_fee_sumamt\": 900.00}]}"

echo '# 2206 presettle: the breakdown, nothing recorded'
call 2206 "{\"data\": {\"psn_no\": \"$person\", \"mdtrt_id\": \"$mdtrt_id\", \"medfee_sumamt\": 8130.00, \"med_type\": \"21\"}}"
cp "$dir/reply.json" "$dir/presettle.json"

echo '# 2207 settle: the same breakdown, recorded by the engine (setl_id)'
call 2207 "{\"data\": {\"psn_no\": \"$person\", \"mdtrt_id\": \"$mdtrt_id\", \"medfee_sumamt\": 8130.00, \"med_type\": \"21\"}}"
setl_id=$(jq -r .output.setlinfo.setl_id "$dir/reply.json")
# The settle's figures are the presettle's...
for f in medfee_sumamt fulamt_ownpay_amt overlmt_selfpay preselfpay_amt inscp_scp_amt \
    act_pay_dedc hifp_pay hifmi_pay maf_pay oth_pay fund_pay_sumamt psn_cash_pay; do
    [ "$(num "$dir/presettle.json" $f)" = "$(num "$dir/reply.json" $f)" ] ||
        fail "2207 $f $(num "$dir/reply.json" $f) is not 2206's $(num "$dir/presettle.json" $f)"
done
# ...and the engine's own record of the settlement, asked directly (in fen)
# as the hospital's counter terminal.
query() {
    "$bin/sanhe-counter" --engine "127.0.0.1:$engine_port" --ca "$certs/ca.crt" \
        --cert "$certs/counter-$hospital.crt" --key "$certs/counter-$hospital.key" \
        --terminal-hospital "$hospital" --json query "$setl_id" >"$dir/engine.json" ||
        fail "sanhe-counter query $setl_id failed"
}
query
engine_fen() { jq -r ".breakdown.$1" "$dir/engine.json"; }
for pair in medfee_sumamt=total fulamt_ownpay_amt=out_of_scope overlmt_selfpay=over_limit \
    preselfpay_amt=pre_selfpay inscp_scp_amt=in_scope act_pay_dedc=funds.coop.deductible \
    hifp_pay=funds.coop.pay maf_pay=funds.assist.pay oth_pay=funds.youfu.pay \
    fund_pay_sumamt=fund_total psn_cash_pay=patient_pays; do
    expect_fen "${pair%%=*}" "$(engine_fen "${pair#*=}")"
done
[ "$(jq -r .state "$dir/engine.json")" = settled ] || fail "the engine has no settlement $setl_id"

echo '# 2208 reversal of the settlement'
call 2208 "{\"data\": {\"psn_no\": \"$person\", \"mdtrt_id\": \"$mdtrt_id\", \"setl_id\": \"$setl_id\"}}"
jq -e '.output.setlinfo.rvs_flag == "1"' "$dir/reply.json" >/dev/null || fail "2208: not reversed"
query
[ "$(jq -r .state "$dir/engine.json")" = reversed ] ||
    fail "the engine's settlement $setl_id is $(jq -r .state "$dir/engine.json"), not reversed"
