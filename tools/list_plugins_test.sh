#!/usr/bin/env bash
# list_plugins loads a third-party plugin given by --plugins and by $UER_PLUGIN_PATH, prints its kind,
# name and origin, and stops with a clear message on a plugin that does not exist.
set -euo pipefail
bin="$TEST_SRCDIR/$TEST_WORKSPACE/tools/list_plugins"
so="$TEST_SRCDIR/$TEST_WORKSPACE/docs/examples/acme_encoder/libuer_encoder_acme_tiny.so"
real=$(readlink -f "$so")

out=$("$bin" --plugins="$so" 2>"$TEST_TMPDIR/err")
echo "$out"
echo "$out" | grep -E "^encoder +acme\.tiny +example +.*$real\$" >/dev/null || { echo "FAIL: acme.tiny not listed"; exit 1; }

out=$(UER_PLUGIN_PATH="$(dirname "$so")" "$bin" --kind=encoder 2>/dev/null)
echo "$out" | grep -q "acme.tiny" || { echo "FAIL: UER_PLUGIN_PATH folder not loaded"; exit 1; }

# Every built-in target shows its data side (what preprocess builds for it), under the same name.
out=$("$bin" 2>/dev/null)
targets=$(echo "$out" | awk '$1 == "target" {print $2}' | sort)
data=$(echo "$out" | awk '$1 == "target_data" {print $2}' | sort)
[[ -n "$targets" ]] || { echo "FAIL: no targets listed"; exit 1; }
[[ "$targets" == "$data" ]] || { echo "FAIL: targets ($targets) and data sides ($data) differ"; exit 1; }
echo "$targets" | grep -qx nsp || { echo "FAIL: nsp not listed"; exit 1; }

set +e
"$bin" --plugins=/nonexistent/libuer_x.so >/dev/null 2>"$TEST_TMPDIR/err"; rc=$?
set -e
[[ $rc == 2 ]] || { echo "FAIL: exit code $rc for a missing plugin"; exit 1; }
grep -q "cannot load plugin /nonexistent/libuer_x.so: No such file or directory" "$TEST_TMPDIR/err" || { cat "$TEST_TMPDIR/err"; echo "FAIL: message"; exit 1; }
echo PASS
