#!/bin/sh
# Formats the project's C sources with clang-format (.clang-format at the top),
# and refuses the C library calls the project does not use.
#   ops/format.sh                 rewrite every tracked .c and .h in place
#   ops/format.sh --check         change nothing; list the files that differ, and
#                                 every banned call (file:line), exit 1 if any
#   ops/format.sh --banned FILE.. only the banned-call check, on the files given
# ops/test.sh runs the check first: a tree that is not formatted does not pass.
#
# Banned calls, in the spirit of curl's checksrc (a call in code; the words
# in comments and string literals do not count):
#   strcpy strcat stpcpy sprintf vsprintf gets getwd
#       write without a bound: use snprintf, or memcpy with a checked length
#   strncpy
#       leaves the copy without a NUL when it truncates, silently: use
#       snprintf, or memcpy with a checked length
#   atoi atol atoll atof
#       no way to tell "0" from garbage or overflow (undefined): use the
#       strtol family with an end pointer and errno
#   strtok
#       hidden static state, not thread-safe, writes into its input
#   tmpnam tempnam mktemp
#       a race between choosing a name and creating it: use mkstemp, mkdtemp
#   alloca
#       an unbounded stack allocation, as the VLAs that -Wvla refuses
set -eu
cd "$(dirname "$0")/.."

BANNED='strcpy|strcat|stpcpy|sprintf|vsprintf|gets|getwd|strncpy|atoi|atol|atoll|atof|strtok|tmpnam|tempnam|mktemp|alloca'

# Prints "file:line: call() is banned (why)" for each banned call; exit 1 if any.
banned_check() {
    awk -v banned="$BANNED" '
        FNR == 1 { incomment = 0 }
        {
            # The line without comments and string or character literals.
            s = $0; out = ""
            while (length(s) > 0) {
                if (incomment) {
                    e = index(s, "*/")
                    if (e == 0) { s = ""; break }
                    s = substr(s, e + 2); incomment = 0
                    continue
                }
                c = substr(s, 1, 1); two = substr(s, 1, 2)
                if (two == "/*") { incomment = 1; s = substr(s, 3); continue }
                if (two == "//") break
                if (c == "\"" || c == "\047") {
                    i = 2
                    while (i <= length(s) && substr(s, i, 1) != c)
                        i += substr(s, i, 1) == "\\" ? 2 : 1
                    out = out c c; s = substr(s, i + 1); continue
                }
                out = out c; s = substr(s, 2)
            }
            rest = out
            while (match(rest, "(^|[^A-Za-z0-9_.>])(" banned ")[ \t]*\\(")) {
                call = substr(rest, RSTART, RLENGTH)
                sub(/^[^A-Za-z_]/, "", call); sub(/[ \t]*\($/, "", call)
                printf "%s:%d: %s() is banned (see ops/format.sh for why and what instead)\n", FILENAME, FNR, call
                bad = 1
                rest = substr(rest, RSTART + RLENGTH)
            }
        }
        END { exit bad ? 1 : 0 }' "$@" >&2
}

if [ "${1:-}" = "--banned" ]; then
    shift
    [ $# -gt 0 ] || { echo "format.sh --banned: no file" >&2; exit 2; }
    banned_check "$@"
    exit $?
fi

# The tracked sources; without git (an exported tree), every .c and .h but builds.
files=$(git ls-files '*.c' '*.h' 2>/dev/null) ||
    files=$(find . -name '*.[ch]' -not -path './build*' | sed 's|^\./||' | sort)
if [ "${1:-}" = "--check" ]; then
    bad=""
    for f in $files; do
        clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
    done
    status=0
    if [ -n "$bad" ]; then
        echo "format.sh: not formatted (run ops/format.sh):$bad" >&2
        status=1
    fi
    # shellcheck disable=SC2086 # a list of files without spaces
    if ! banned_check $files; then
        echo "format.sh: banned calls (listed above)" >&2
        status=1
    fi
    [ "$status" -eq 0 ] || exit 1
    echo "format.sh: $(echo "$files" | wc -l) files formatted, no banned calls"
    exit 0
fi
# shellcheck disable=SC2086 # a list of files without spaces
clang-format -i $files
