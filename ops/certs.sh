#!/bin/sh
# Certificates for sanhe: a CA (the bureau's), the engine's server
# certificate, and terminal client certificates. ECDSA P-256, SHA-256.
#
#   ops/certs.sh ca DIR                          DIR/ca.crt, DIR/ca.key
#   ops/certs.sh engine DIR [CN] [SAN...]        DIR/engine.crt, DIR/engine.key
#        CN defaults to sanhe-engine; the SANs always include IP 127.0.0.1 and
#        DNS localhost; more as ip:ADDR, dns:NAME (or a bare address or name)
#   ops/certs.sh terminal DIR NAME HOSPITAL ROLE DIR/NAME.crt, DIR/NAME.key
#        subject CN=NAME (the engine maps the CN to a terminal), O=HOSPITAL,
#        OU=ROLE (counter, bureau or admin); HOSPITAL "-" for none
#   ops/certs.sh revoke DIR NAME                 DIR/NAME.crt revoked in the CA's
#        database (openssl ca -revoke), then DIR/ca.crl written again
#   ops/certs.sh crl DIR                         DIR/ca.crl: the CA's CRL (openssl ca
#        -gencrl), valid CRL_DAYS (default 30) days: make it again before then
#
# Idempotent (an existing certificate is kept) and quiet (prints nothing
# unless it fails). Keys are written mode 0600, certificates 0644. engine and terminal need the
# CA in DIR.
set -eu

die() { echo "certs.sh: $*" >&2; exit 1; }

usage() {
    sed -n '2,21s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

# Names go into file names and subjects: keep them plain.
check_name() {
    case "$2" in
    "" | *[!A-Za-z0-9._-]* | .* ) die "$1 \"$2\": use letters, digits, '.', '_' or '-'" ;;
    esac
}

# Runs openssl quietly; its output is shown only when it fails.
ossl() {
    log=$(mktemp)
    if ! openssl "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "openssl $1 failed"
    fi
    rm -f "$log"
}

make_ca() {
    dir=$1
    [ -s "$dir/ca.crt" ] && [ -s "$dir/ca.key" ] && return 0
    mkdir -p "$dir"
    ossl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 -subj "/O=sanhe/CN=sanhe CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash"
    chmod 644 "$dir/ca.crt"
}

# sign DIR NAME SUBJECT EXTENSIONS: NAME.key, NAME.crt signed by DIR's CA.
sign() {
    dir=$1 name=$2 subject=$3 ext=$4
    [ -s "$dir/$name.crt" ] && [ -s "$dir/$name.key" ] && return 0
    if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
        die "no CA in $dir: run 'certs.sh ca $dir' first"
    fi
    extfile=$(mktemp)
    printf '%s\n' "$ext" >"$extfile"
    ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "$subject"
    ossl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -sha256 \
        -set_serial "0x$(openssl rand -hex 16)" -days 825 -extfile "$extfile" \
        -out "$dir/$name.crt"
    rm -f "$extfile" "$dir/$name.csr"
    chmod 644 "$dir/$name.crt"
}

make_engine() {
    dir=$1 cn=${2:-sanhe-engine}
    check_name CN "$cn"
    san="IP:127.0.0.1,DNS:localhost"
    if [ $# -gt 2 ]; then shift 2; else set --; fi
    for s in "$@"; do
        case "$s" in
        ip:* | IP:*) san="$san,IP:${s#*:}" ;;
        dns:* | DNS:*) san="$san,DNS:${s#*:}" ;;
        *[!0-9.]* ) case "$s" in *:*) san="$san,IP:$s" ;; *) san="$san,DNS:$s" ;; esac ;;
        *) san="$san,IP:$s" ;;
        esac
    done
    sign "$dir" engine "/O=sanhe/CN=$cn" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san"
}

make_terminal() {
    dir=$1 name=$2 hospital=$3 role=$4
    check_name NAME "$name"
    case "$role" in counter | bureau | admin) ;; *) die "ROLE must be counter, bureau or admin" ;; esac
    subject="/OU=$role/CN=$name"
    if [ "$hospital" != "-" ]; then
        check_name HOSPITAL "$hospital"
        subject="/O=$hospital$subject"
    fi
    sign "$dir" "$name" "$subject" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
}

# The CA's database for openssl ca (revocations and CRLs): DIR/ca.db/.
ca_config() {
    dir=$1
    [ -s "$dir/ca.crt" ] && [ -s "$dir/ca.key" ] || die "no CA in $dir"
    mkdir -p "$dir/ca.db"
    [ -f "$dir/ca.db/index.txt" ] || : >"$dir/ca.db/index.txt"
    [ -f "$dir/ca.db/crlnumber" ] || echo 1000 >"$dir/ca.db/crlnumber"
    cat >"$dir/ca.db/openssl.cnf" <<EOF
[ca]
default_ca = sanhe
[sanhe]
database = $dir/ca.db/index.txt
crlnumber = $dir/ca.db/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_crl_days = ${CRL_DAYS:-30}
EOF
}

make_crl() {
    ca_config "$1"
    ossl ca -config "$1/ca.db/openssl.cnf" -gencrl -out "$1/ca.crl.tmp"
    chmod 644 "$1/ca.crl.tmp"
    mv "$1/ca.crl.tmp" "$1/ca.crl"
}

revoke() {
    dir=$1 name=$2
    check_name NAME "$name"
    [ -s "$dir/$name.crt" ] || die "no certificate $dir/$name.crt"
    ca_config "$dir"
    serial=$(openssl x509 -in "$dir/$name.crt" -noout -serial | sed 's/^serial=//')
    # A certificate revoked before is not an error: the CRL is made again.
    if ! grep -q "^R.*	$serial	" "$dir/ca.db/index.txt"; then
        ossl ca -config "$dir/ca.db/openssl.cnf" -revoke "$dir/$name.crt"
    fi
    make_crl "$dir"
}

umask 077
[ $# -ge 2 ] || usage
cmd=$1
shift
case "$cmd" in
ca) [ $# -eq 1 ] || usage; make_ca "$1" ;;
engine) make_engine "$@" ;;
terminal) [ $# -eq 4 ] || usage; make_terminal "$@" ;;
revoke) [ $# -eq 2 ] || usage; revoke "$@" ;;
crl) [ $# -eq 1 ] || usage; make_crl "$1" ;;
*) usage ;;
esac
