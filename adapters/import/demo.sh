#!/bin/sh
# adapters/import/demo.sh [BUILD_DIR]: rosters end to end on generated data,
# the output a README can show.
#
#   1. a small county: sanhe-loadgen --make-dataset (500 persons, their
#      categories and enrolment) under the haiyan-2026 policy with an
#      out-of-pocket warning at 60,000 yuan, loaded into an engine of its own;
#   2. a day of counter traffic on 2026-06-15 (sanhe-loadgen, 5 s);
#   3. the 2026 enrolment with five newborns;
#   4. July's 城乡困难人员医疗救助 (assist) roster, as the civil-affairs
#      bureau exports it (Chinese headers and codes, three date formats):
#      a --dry-run showing the diff, the import, the same file again;
#   5. a death record file for three of June's patients (died 2026-06-01);
#   6. a roster with one bad row of each kind: its report;
#   7. sanhe-bureau crosscheck 2026-06 (the CSV with its ids masked here),
#      and the month page's cross-check section, as text.
#
# BUILD_DIR (default: the current directory if it has bin/sanhe-engine,
# else build/) holds a normal build. Everything runs on 127.0.0.1 in a
# temporary directory, removed at the end (DEMO_KEEP=1 keeps it); each
# command has a time limit. Needs python3, jq and openssl.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -ge 1 ]; then
    BIN=$(cd "$1" && pwd)/bin
elif [ -x bin/sanhe-engine ]; then
    BIN=$(pwd)/bin
else
    BIN=$ROOT/build/bin
fi
WORK=$(mktemp -d /tmp/sanhe-import-demo-XXXXXX)
ENGINE=
cleanup() {
    [ -z "$ENGINE" ] || kill "$ENGINE" 2>/dev/null || true
    [ "${DEMO_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
cd "$WORK"
T="timeout 120"
show() { # the command as typed, then its output and exit status
    echo "\$ $*"
    rc=0
    $T "$@" || rc=$?
    [ $rc -eq 0 ] || echo "(exit status $rc)"
    echo
}

"$ROOT/ops/certs.sh" ca certs >/dev/null
"$ROOT/ops/certs.sh" engine certs >/dev/null
"$ROOT/ops/certs.sh" terminal certs admin-1 - admin >/dev/null
"$ROOT/ops/certs.sh" terminal certs bureau-1 - bureau >/dev/null
"$ROOT/ops/certs.sh" terminal certs counter-h330424201 H330424201 counter >/dev/null
openssl genpkey -algorithm ed25519 -out sign.key 2>/dev/null

$T "$BIN/sanhe-loadgen" --make-dataset 500 county.json --policy "$ROOT/tests/policies/haiyan-2026.json" >/dev/null
# 60,000 yuan out of pocket in a year starts the early warning
jq '.policies[0].oop_warning = 6000000' county.json >county2.json
printf '[{"name":"admin-1","hospital":"","role":"admin"},{"name":"bureau-1","hospital":"","role":"bureau"}]\n' >staff.json
cat >engine.conf <<EOF
[engine]
data_dir = data
listen = 127.0.0.1:0
durable = true
port_file = port
[tls]
ca = certs/ca.crt
cert = certs/engine.crt
key = certs/engine.key
EOF
$T "$BIN/sanhe-engine" load -c engine.conf county2.json staff.json >/dev/null
"$BIN/sanhe-engine" serve -c engine.conf >engine.log 2>&1 &
ENGINE=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
PORT=$(cat port)

$T "$BIN/sanhe-loadgen" --port "$PORT" --ca certs/ca.crt --cert certs/counter-h330424201.crt \
    --key certs/counter-h330424201.key --hospital H330424201 --rate 200 --duration-s 5 \
    --warmup-s 0 --persons gen:500 --json traffic.json >traffic.log 2>&1
echo "# a county of 500 persons; $(jq -r .requests.ok traffic.json) requests answered at the counter on 2026-06-15"
echo

cat >import.conf <<EOF
[import]
engine = 127.0.0.1:$PORT
ca = certs/ca.crt
cert = certs/admin-1.crt
key = certs/admin-1.key
mappings = maps
timeout_ms = 60000
EOF
cat >bureau.conf <<EOF
[bureau]
engine = 127.0.0.1:$PORT
ca = certs/ca.crt
cert = certs/bureau-1.crt
key = certs/bureau-1.key
signing_key = sign.key
lang = zh
EOF
mkdir -p maps
cat >maps/jiuzhu.ini <<'EOF'
[source]
kind = category
fund = assist
exit_share_max = 10%

[columns]
person = 身份证号
name = 姓名
category = 救助类别
from = 起始日期
to = 终止日期

[categories]
特困 = tekun
低保 = dibao
低保边缘 = dibao_edge
低收入 = low_income
支出型困难 = illness_expense
EOF
cat >maps/canbao.ini <<'EOF'
[source]
kind = enrolment
year = 2026

[columns]
person = 身份证号
name = 姓名
region = 行政区划
EOF
cat >maps/siwang.ini <<'EOF'
[source]
kind = deaths

[columns]
person = 公民身份号码
name = 姓名
died = 死亡日期
EOF

# The rosters, made from the county's data: July's assist list is June's
# with 3 persons gone (exits), 2 who joined, 2 whose category changed, and
# one whose 低保 ended on 2026-05-31 (a correction, after June's visits);
# deaths: 3 of the persons who had a settlement on 2026-06-15.
python3 - county2.json traffic.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
local = {"tekun": "特困", "dibao": "低保", "dibao_edge": "低保边缘",
         "low_income": "低收入", "illness_expense": "支出型困难"}
rows, plain = [], []
for p in d["persons"]:
    spans = [c for c in p["categories"] if c["fund"] == "assist"]
    if not spans and not p["categories"]:
        plain.append(p)
    for c in spans:
        rows.append([p["id"], p["name"], c["category"], c["from"], c.get("to") or ""])
def date(s, i):  # the export mixes three formats
    if not s or i % 3 == 0:
        return s
    y, m, dd = s.split("-")
    return y + m + dd if i % 3 == 1 else "%s/%d/%d" % (y, int(m), int(dd))
july = rows[3:]                      # three exits
july[0][2] = "tekun" if july[0][2] != "tekun" else "dibao"   # changed
july[1][2] = "low_income" if july[1][2] != "low_income" else "dibao_edge"
for r in july:
    if r[2] == "dibao" and r is not july[0]:
        r[4] = "2026-05-31"          # ended, retroactively
        break
for p in plain[:2]:                  # joined
    july.append([p["id"], p["name"], "illness_expense", "2026-07-01", ""])
with open("七月救助名单.csv", "w", encoding="utf-8-sig", newline="") as f:
    f.write("身份证号,姓名,救助类别,起始日期,终止日期\r\n")
    for i, r in enumerate(july):
        f.write("%s,%s,%s,%s,%s\r\n" % (r[0], r[1], local[r[2]], date(r[3], i), date(r[4], i)))
# deaths: the first three persons of the list (settled at random by the
# load, each of 500 persons had several visits on 2026-06-15)
dead = [r for r in rows[3:10]][:3]
with open("死亡名单.csv", "w", encoding="gb18030", newline="") as f:
    f.write("公民身份号码,姓名,死亡日期\n")
    for r in dead:
        f.write("%s,%s,2026/6/1\n" % (r[0], r[1]))
# the 2026 enrolment: the county's persons and five newborns
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
with open("2026参保名单.csv", "w", encoding="utf-8", newline="") as f:
    f.write("身份证号,姓名,行政区划\n")
    for p in d["persons"]:
        if 2026 in p["enrolled"]:
            f.write("%s,%s,%s\n" % (p["id"], p["name"], p["region"]))
    for i in range(5):
        b = "33042420260101%03d" % (900 + i)
        f.write("%s%s,新生儿%d,330424\n" % (b, "10X98765432"[sum(int(x) * k for x, k in zip(b, w)) % 11], i))
# a file with one bad row of each kind
ok = july[5]
bad_id = ok[0][:17] + ("0" if ok[0][17] != "0" else "1")
with open("退回名单.csv", "w", encoding="utf-8", newline="") as f:
    f.write("身份证号,姓名,救助类别,起始日期,终止日期\n")
    f.write("%s,%s,低保,2026-01-01,\n" % (bad_id, ok[1]))                    # check digit
    f.write("%s,%s,五保,2026-01-01,\n" % (july[6][0], july[6][1]))           # unknown code
    f.write("%s,%s,低保,2026-02-30,\n" % (july[7][0], july[7][1]))           # no such day
    f.write("%s,%s,低保,2026-06-01,2026-03-31\n" % (july[8][0], july[8][1])) # to < from
    f.write("%s,%s,低保,2026-01-01,\n" % (july[9][0], july[9][1]))
    f.write("%s,%s,低保,2026-01-01,\n" % (july[9][0], july[9][1]))           # duplicate
    f.write("%s,%s,低保,2026-01-01,\n" % (july[10][0], july[10][1]))
    f.write("%s,%s,特困,2026-01-01,\n" % (july[10][0], july[10][1]))         # contradiction
EOF

echo "# the 2026 enrolment"
show "$BIN/sanhe-import" -c import.conf canbao 2026参保名单.csv
echo "# July's assist roster: what it would change"
show "$BIN/sanhe-import" -c import.conf --dry-run --effective 2026-07-01 jiuzhu 七月救助名单.csv
echo "# imported, then the same file again"
show "$BIN/sanhe-import" -c import.conf --effective 2026-07-01 jiuzhu 七月救助名单.csv
show "$BIN/sanhe-import" -c import.conf --effective 2026-07-01 jiuzhu 七月救助名单.csv
echo "# the death records (GB18030, from an older system)"
show "$BIN/sanhe-import" -c import.conf siwang 死亡名单.csv
echo "# a file with a bad row of each kind: refused whole"
show "$BIN/sanhe-import" -c import.conf --dry-run --effective 2026-07-01 jiuzhu 退回名单.csv
show "$BIN/sanhe-import" -c import.conf log
echo "# June's cross-check"
show "$BIN/sanhe-bureau" -c bureau.conf crosscheck 2026-06 --out xc
MASK='s/\(3304[0-9]\{2\}\)[0-9]\{8\}/\1********/g'
printf '$ sed %s xc/crosscheck-2026-06.csv   # the ids masked for this page\n' "'$MASK'"
sed "$MASK" xc/crosscheck-2026-06.csv
echo
echo "# the month page's cross-check section"
mkdir -p page
show "$BIN/sanhe-bureau" -c bureau.conf report 2026-06 --out page/sanhe-2026-06.html
echo "# its text, one line per heading, paragraph and table row"
python3 - page/sanhe-2026-06.html <<'EOF2'
import html, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
part = page[page.index('<section id="crosscheck"'):page.index("</section>")]
for m in re.finditer(r"<(h2|h3|p|caption|tr)[^>]*>(.*?)</\1>", part, re.S):
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", m.group(2), re.S)
    text = " | ".join(cells) if cells else m.group(2)
    print(("  " if m.group(1) == "tr" else "") + html.unescape(re.sub(r"<[^>]+>", "", text)))
EOF2
