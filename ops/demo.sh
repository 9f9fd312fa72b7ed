#!/bin/sh
# Installs dependencies, builds, and runs the demo: starts sanhe-engine on a
# fresh directory with its own certificates and settles a demonstration day
# in Haiyan county over TLS, bill by bill, with a receipt for each.
# Usage: ops/demo.sh [--lang en] [--keep]
set -eu
cd "$(dirname "$0")/.."
./ops/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
exec ./build/bin/sanhe-demo "$@" ops/demo/demo-day.json
