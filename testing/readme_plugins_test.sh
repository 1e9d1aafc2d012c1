#!/usr/bin/env bash
# README's table of the plugins that ship equals plugins/builtin.bzl: every kind, every name.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
want="$(grep -o '"[a-z_]*/[a-z0-9_]*":' "$ws/plugins/builtin.bzl" | tr -d '":' | sort)"
[[ $(wc -l <<< "$want") -ge 10 ]] || fail "could not read plugins/builtin.bzl"
table="$(sed -n '/^Plugins that ship/,/^$/d; /^| kind | plugins |$/,/^$/p' "$ws/README.md")"
[[ -n "$table" ]] || fail "README.md has no '| kind | plugins |' table"
have="$(tail -n +3 <<< "$table" | while IFS='|' read -r _ kind names _; do
  kind="$(xargs <<< "$kind")"
  [[ -n "$kind" ]] || continue
  tr ',' '\n' <<< "$names" | tr -d '` ' | sed "/^$/d; s|^|$kind/|"
done | sort)"
if [[ "$want" != "$have" ]]; then
  diff <(echo "$want") <(echo "$have") | sed 's/^</in builtin.bzl only:/; s/^>/in README only:/' | grep only || true
  fail "README.md's plugin table differs from plugins/builtin.bzl"
fi
echo "README lists the $(wc -l <<< "$want") plugins of builtin.bzl"
