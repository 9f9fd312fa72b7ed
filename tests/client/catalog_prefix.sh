#!/bin/sh
# sanhe-counter finds its catalog under an installed prefix (BIN/../share/
# locale) before the build tree's, and SANHE_LOCALEDIR before both. A
# catalog of one message, told apart by its text, shows which was read.
#   catalog_prefix.sh SANHE_COUNTER MSGFMT
set -eu
counter=$1 msgfmt=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/prefix/bin" "$d/prefix/share/locale/zh_CN/LC_MESSAGES" "$d/env/zh_CN/LC_MESSAGES"
cp "$counter" "$d/prefix/bin/sanhe-counter"
one() { # DIR TEXT: a catalog translating "no command given" as TEXT
    printf 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "sanhe-counter: no command given"\nmsgstr "%s"\n' "$2" >"$d/one.po"
    "$msgfmt" -o "$1/zh_CN/LC_MESSAGES/sanhe.mo" "$d/one.po"
}
one "$d/prefix/share/locale" "前缀目录的消息目录"
one "$d/env" "环境变量指定的消息目录"
out=$(env -u SANHE_LOCALEDIR "$d/prefix/bin/sanhe-counter" --lang zh 2>&1 || true)
echo "installed prefix: $out"
[ "$out" = "前缀目录的消息目录" ]
out=$(SANHE_LOCALEDIR="$d/env" "$d/prefix/bin/sanhe-counter" --lang zh 2>&1 || true)
echo "SANHE_LOCALEDIR: $out"
[ "$out" = "环境变量指定的消息目录" ]
# From the build tree: the real catalog.
out=$(env -u SANHE_LOCALEDIR "$counter" --lang zh 2>&1 || true)
echo "build tree: $out"
[ "$out" = "sanhe-counter：没有给出命令" ]
