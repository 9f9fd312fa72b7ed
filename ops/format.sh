#!/bin/sh
# Formats the project's C sources with clang-format (.clang-format at the top).
#   ops/format.sh          rewrite every tracked .c and .h in place
#   ops/format.sh --check  change nothing; list the files that differ, exit 1 if any
# ops/test.sh runs the check first: a tree that is not formatted does not pass.
set -eu
cd "$(dirname "$0")/.."
# The tracked sources; without git (an exported tree), every .c and .h but builds.
files=$(git ls-files '*.c' '*.h' 2>/dev/null) ||
    files=$(find . -name '*.[ch]' -not -path './build*' | sed 's|^\./||' | sort)
if [ "${1:-}" = "--check" ]; then
    bad=""
    for f in $files; do
        clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
    done
    if [ -n "$bad" ]; then
        echo "format.sh: not formatted (run ops/format.sh):$bad" >&2
        exit 1
    fi
    echo "format.sh: $(echo "$files" | wc -l) files formatted"
    exit 0
fi
# shellcheck disable=SC2086 # a list of files without spaces
clang-format -i $files
