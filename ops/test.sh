#!/bin/sh
# Installs dependencies, checks the C formatting (ops/format.sh --check),
# builds, and runs every test twice: a normal build,
# then one with AddressSanitizer and UndefinedBehaviorSanitizer; then fuzzes
# for a bounded time (clang + libFuzzer, tests/fuzz): each target runs
# SANHE_FUZZ_SECONDS (default 60) over the committed seed corpus, and a
# crash fails the script.
# This is the README's test command; .ci/run runs exactly this.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

./ops/install-deps.sh
./ops/format.sh --check

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
# The property test's seeds, the fixed one and the fresh one: a failure
# replays with SANHE_SEED=n.
grep -ho 'SANHE_SEED=[0-9]* ([a-z]*)' build/Testing/Temporary/LastTest.log | sort -u || true

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSANHE_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSANHE_FUZZ=ON -DSANHE_FUZZ_SECONDS="${SANHE_FUZZ_SECONDS:-60}" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_all
ctest --test-dir build-fuzz -L fuzz --output-on-failure -j"$jobs"
cat build-fuzz/tests/fuzz/*.summary
