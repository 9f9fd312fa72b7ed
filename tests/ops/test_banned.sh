#!/bin/sh
# ops/format.sh's banned-call check: a planted call of each banned function
# is refused with its file and line; the same words in comments, strings and
# longer names (snprintf, strtok_r, my_atoi) are not; a clean file passes.
#   tests/ops/test_banned.sh OPS_FORMAT_SH
set -eu
format=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/sanhe-banned-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

cat >"$dir/clean.c" <<'C'
/* strcpy(a, b) and sprintf(s, ...) in a comment are words, not calls */
#include <stdio.h>
static int my_atoi(const char *s) { return s[0] - '0'; } // atoi( in a comment
int f(char *buf, size_t n, const char *s)
{
    char *save;
    (void)save;
    snprintf(buf, n, "strcat(%s)", s); /* "gets(" in a string */
    return my_atoi(s) + (int)sizeof "atol(x)";
}
C
"$format" --banned "$dir/clean.c" 2>"$dir/clean.err" ||
    fail "a clean file was refused: $(cat "$dir/clean.err")"

for fn in strcpy strcat stpcpy sprintf vsprintf gets getwd strncpy atoi atol atoll atof \
    strtok tmpnam tempnam mktemp alloca; do
    printf '#include <string.h>\nint g(char *d, const char *s)\n{\n    return (int)(long)%s (d, s);\n}\n' \
        "$fn" >"$dir/planted.c"
    if "$format" --banned "$dir/planted.c" 2>"$dir/planted.err"; then
        fail "a call of $fn passed the check"
    fi
    grep -q "planted.c:4: $fn() is banned" "$dir/planted.err" ||
        fail "$fn: the message does not name file:line: $(cat "$dir/planted.err")"
done

# Two in one file, one after a multi-line comment: both reported, by line.
cat >"$dir/two.c" <<'C'
/*
 * strcpy( here is a comment
 */
int h(char *d, const char *s) { strcpy(d, s); return atoi(s); }
C
if "$format" --banned "$dir/two.c" 2>"$dir/two.err"; then
    fail "two planted calls passed"
fi
grep -q "two.c:4: strcpy() is banned" "$dir/two.err" || fail "strcpy not reported: $(cat "$dir/two.err")"
grep -q "two.c:4: atoi() is banned" "$dir/two.err" || fail "atoi not reported: $(cat "$dir/two.err")"
[ "$(wc -l <"$dir/two.err")" -eq 2 ] || fail "the comment was reported: $(cat "$dir/two.err")"
echo "banned-call check: ok"
