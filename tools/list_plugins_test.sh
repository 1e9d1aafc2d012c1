#!/usr/bin/env bash
# list_plugins loads a third-party plugin given by --plugins and by $UER_PLUGIN_PATH, prints its kind,
# name and origin, and stops with a clear message on a plugin that does not exist.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
bin="$ws/tools/list_plugins"
so="$ws/docs/examples/acme_encoder/libuer_encoder_acme_tiny.so"
real=$(readlink -f "$so")

out=$("$bin" --plugins="$so" 2>"$t/err")
echo "$out"
echo "$out" | grep -E "^encoder +acme\.tiny +example +.*$real\$" >/dev/null || fail "acme.tiny not listed"

out=$(UER_PLUGIN_PATH="$(dirname "$so")" "$bin" --kind=encoder 2>/dev/null)
echo "$out" | grep -q "acme.tiny" || fail "UER_PLUGIN_PATH folder not loaded"

# Every built-in target shows its data side (what preprocess builds for it), under the same name.
out=$("$bin" 2>/dev/null)
targets=$(echo "$out" | awk '$1 == "target" {print $2}' | sort)
data=$(echo "$out" | awk '$1 == "target_data" {print $2}' | sort)
[[ -n "$targets" ]] || fail "no targets listed"
[[ "$targets" == "$data" ]] || fail "targets ($targets) and data sides ($data) differ"
echo "$targets" | grep -qx nsp || fail "nsp not listed"

set +e
"$bin" --plugins=/nonexistent/libuer_x.so >/dev/null 2>"$t/err"; rc=$?
set -e
[[ $rc == 2 ]] || fail "exit code $rc for a missing plugin"
grep -q "cannot load plugin /nonexistent/libuer_x.so: No such file or directory" "$t/err" || { cat "$t/err"; fail "message"; }
echo PASS
