#!/bin/sh
# Mutation testing, outside CI and bounded in time.
#
#   tests/mutation/run.sh [PATTERN]
#
# Copies the working tree (tracked files) to a temporary directory, builds
# it once, checks that every test the mutants name passes there, then for
# each mutant of tests/mutation/mutants.sh (those whose id matches the grep
# PATTERN, default all): applies its sed edit to one file, rebuilds the
# targets it names, and runs its tests through ctest. A mutant that makes a
# test fail (or crash, or time out) is killed; one that passes every test
# survived: either a test is missing, or the mutant does not change
# behaviour. One that no longer applies (the code changed under the list)
# or does not build is reported and left out of the score.
#
# Environment: SANHE_MUTATION_SECONDS (default 2400) bounds the whole run;
# mutants not started by then are reported as not run. SANHE_MUTATION_JOBS
# (default: nproc) for the builds and ctest. SANHE_MUTATION_KEEP=1 keeps the
# temporary directory.
#
# Output: one line per mutant (killed / SURVIVED / not applied / does not
# build / not run), then "score: K killed of N (P%)". Exit status: 0 when
# every mutant run was killed, 1 when some survived, 2 on a setup error or
# a mutant that does not apply.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pattern=${1:-}
budget=${SANHE_MUTATION_SECONDS:-2400}
jobs=${SANHE_MUTATION_JOBS:-$(nproc 2>/dev/null || echo 2)}
start=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/sanhe-mutation-XXXXXX")
cleanup() {
    if [ "${SANHE_MUTATION_KEEP:-0}" = 1 ]; then
        echo "kept: $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT INT TERM
src=$work/src
build=$work/build
mkdir -p "$src"
# The working tree as it is (tracked files, uncommitted edits included).
(cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$src"

echo "mutation: building $src"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; exit 2; }
cmake --build "$build" -j"$jobs" >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log"; exit 2; }

# ---- The list, read twice: once for the baseline's tests, once to run -------------------

selected() { [ -z "$pattern" ] || echo "$1" | grep -q -- "$pattern"; }

regexes=""
mutant() { # id file sed targets ctest-regex
    selected "$1" || return 0
    regexes="${regexes:+$regexes|}$5"
}
# shellcheck source=mutants.sh
. "$here/mutants.sh"
if [ -z "$regexes" ]; then
    echo "mutation: no mutant matches \"$pattern\"" >&2
    exit 2
fi
echo "mutation: baseline (the mutants' tests on the unchanged tree)"
if ! ctest --test-dir "$build" -R "$regexes" -j"$jobs" --timeout 600 >"$work/baseline.log" 2>&1; then
    grep -E "Failed|\*\*\*" "$work/baseline.log" >&2 || true
    echo "mutation: the unchanged tree fails its tests; nothing to measure" >&2
    exit 2
fi

killed=0
survived=0
broken=0
notrun=0
survivors=""
mutant() {
    id=$1 file=$2 edit=$3 targets=$4 regex=$5
    selected "$id" || return 0
    if [ $(($(date +%s) - start)) -ge "$budget" ]; then
        printf '%-34s not run (time budget of %ss spent)\n' "$id" "$budget"
        notrun=$((notrun + 1))
        return 0
    fi
    path=$src/$file
    cp "$path" "$work/orig"
    sed -i -e "$edit" "$path"
    if cmp -s "$path" "$work/orig"; then
        printf '%-34s NOT APPLIED: %s no longer has the code it edits\n' "$id" "$file"
        broken=$((broken + 1))
        return 0
    fi
    t0=$(date +%s)
    # shellcheck disable=SC2086 # a list of target names
    if ! cmake --build "$build" -j"$jobs" --target $targets >"$work/$id.build.log" 2>&1; then
        printf '%-34s does not build (%s)\n' "$id" "$work/$id.build.log"
        broken=$((broken + 1))
    elif ctest --test-dir "$build" -R "$regex" -j"$jobs" --timeout 300 --stop-on-failure \
        >"$work/$id.test.log" 2>&1; then
        printf '%-34s SURVIVED  %3ss  %s\n' "$id" $(($(date +%s) - t0)) "$file"
        survived=$((survived + 1))
        survivors="$survivors $id"
    else
        first=$(grep -m1 -oE '(unit|net|client|conformance|fault|bureau|bench)/[^ ]+ .*(Failed|Exception|Timeout|SEGFAULT|Child aborted)' \
            "$work/$id.test.log" | sed 's/ *\**//g; s/\.\.\.*/ /' || true)
        printf '%-34s killed    %3ss  %s\n' "$id" $(($(date +%s) - t0)) "${first:-by its tests}"
        killed=$((killed + 1))
    fi
    cp "$work/orig" "$path" # a newer mtime: the next build compiles it again
}
. "$here/mutants.sh"

# Leave the build as the tree is (a kept directory is then usable).
cmake --build "$build" -j"$jobs" >/dev/null 2>&1 || true
total=$((killed + survived))
if [ "$total" -gt 0 ]; then
    pct=$((100 * killed / total))
else
    pct=0
fi
echo "score: $killed killed of $total ($pct%); $broken not applied or not building; $notrun not run"
[ -z "$survivors" ] || echo "survivors:$survivors"
[ "$broken" -eq 0 ] || exit 2
[ "$survived" -eq 0 ] || exit 1
exit 0
