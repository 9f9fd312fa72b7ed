#!/bin/sh
# Installs every Debian package sanhe needs to build, test and benchmark.
# Idempotent and quiet; run as root (or through sudo) on Debian 12.
# libclang-rt-14-dev holds libFuzzer and clang's sanitizer runtimes (clang-14
# only recommends it): the fuzz targets of tests/fuzz need it. chromium and
# fonts-noto-cjk let the bureau's report page be tested in a headless browser.
# jq and gnuplot-nox assemble bench/run.sh's JSON and draw its plots.
# gettext builds the zh_CN and en message catalogs; libsystemd-dev gives the
# engine sd_notify; debhelper, fakeroot and lintian build and check the .deb.
# curl drives the gateway in tests as a real HTTP client; prometheus scrapes
# the metrics endpoint in a test; postgresql (with pgbench) is the benchmark's
# peer, started by the bench in a temporary directory, never as a service.
# zlib1g-dev gives the crc32 of the store's write-ahead log records.
set -eu

PACKAGES="
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libuv1-dev liblmdb-dev lmdb-utils libssl-dev openssl
  libprotobuf-c-dev protobuf-c-compiler libcmocka-dev
  libjansson-dev libcsv-dev libinih-dev libhttp-parser-dev
  chromium fonts-noto-cjk
  jq gnuplot-nox
  gettext libsystemd-dev debhelper fakeroot lintian
  curl prometheus postgresql
  zlib1g-dev
"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
