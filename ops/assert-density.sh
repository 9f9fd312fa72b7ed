#!/bin/sh
# Counts the assertions of the C sources against their size, by directory:
#   ops/assert-density.sh [DIR...]     default: engine/*, adapters/*, hospital-client
# Prints, per directory, the lines of its tracked .c and .h files, its
# assertions (assert(...) and _Static_assert / static_assert) and their
# density per 1,000 lines, then the total. Lines inside comments count as
# lines (they are part of what a reader reads); an assertion inside a comment
# does not count. Nothing is changed; the exit status is 0.
set -eu
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
    set -- engine/core engine/store engine/ledger engine/net engine/app \
        adapters/json adapters/bureau hospital-client
fi
list_files() {
    git ls-files -- "$1/*.c" "$1/*.h" 2>/dev/null ||
        find "$1" -name '*.[ch]' | sort
}
printf '%-22s %8s %8s %10s\n' directory lines asserts per_1000
total_lines=0
total_asserts=0
for dir in "$@"; do
    files=$(list_files "$dir")
    if [ -z "$files" ]; then
        printf '%-22s %8s\n' "$dir" "(none)"
        continue
    fi
    # shellcheck disable=SC2086 # a list of paths without spaces
    counts=$(awk '
        { lines++ }
        {
            s = $0
            # drop comments: /* ... */ across lines, and // to the end
            out = ""
            while (length(s) > 0) {
                if (incomment) {
                    e = index(s, "*/")
                    if (e == 0) { s = ""; break }
                    s = substr(s, e + 2); incomment = 0
                } else {
                    b = index(s, "/*"); l = index(s, "//")
                    if (l > 0 && (b == 0 || l < b)) { out = out substr(s, 1, l - 1); s = ""; break }
                    if (b == 0) { out = out s; s = ""; break }
                    out = out substr(s, 1, b - 1); s = substr(s, b + 2); incomment = 1
                }
            }
            n += gsub(/(^|[^A-Za-z0-9_])(assert|_Static_assert|static_assert)[ \t]*\(/, "&", out)
        }
        END { printf "%d %d\n", lines, n }' $files)
    lines=${counts% *}
    asserts=${counts#* }
    total_lines=$((total_lines + lines))
    total_asserts=$((total_asserts + asserts))
    awk -v d="$dir" -v l="$lines" -v a="$asserts" \
        'BEGIN { printf "%-22s %8d %8d %10.1f\n", d, l, a, l ? a * 1000 / l : 0 }'
done
awk -v l="$total_lines" -v a="$total_asserts" \
    'BEGIN { printf "%-22s %8d %8d %10.1f\n", "total", l, a, l ? a * 1000 / l : 0 }'
