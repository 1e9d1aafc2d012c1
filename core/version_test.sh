#!/usr/bin/env bash
# core/version.h, bazel/versions.bzl and tools/bootstrap.sh must agree on the versions.
set -euo pipefail
h=core/version.h; b=bazel/versions.bzl; s=tools/bootstrap.sh; l=tools/requirements.lock
[[ -f $h ]] || { w="$TEST_SRCDIR/$TEST_WORKSPACE"; h="$w/$h"; b="$w/$b"; s="$w/$s"; l="$w/$l"; }
uer_h=$(sed -n 's/#define UER_VERSION_STRING "\(.*\)"/\1/p' "$h")
api_h=$(sed -n 's/#define UER_PLUGIN_API_VERSION \([0-9]*\)/\1/p' "$h")
uer_b=$(sed -n 's/UER_VERSION = "\(.*\)"/\1/p' "$b")
api_b=$(sed -n 's/PLUGIN_API_VERSION = \([0-9]*\)/\1/p' "$b")
torch_b=$(sed -n 's/TORCH_VERSION = "\(.*\)"/\1/p' "$b")
torch_s=$(sed -n 's/^TORCH_VERSION="\([^"]*\)".*/\1/p' "$s")
fail=0
[[ "$uer_h" == "$uer_b" ]] || { echo "uer version: $h says $uer_h, $b says $uer_b"; fail=1; }
[[ "$api_h" == "$api_b" ]] || { echo "plugin API: $h says $api_h, $b says $api_b"; fail=1; }
[[ "$torch_b" == "$torch_s" ]] || { echo "torch: $b says $torch_b, $s says $torch_s"; fail=1; }
torch_l=$(sed -n 's/^torch==\([^ ]*\) .*/\1/p' "$l")
[[ "$torch_b" == "$torch_l" ]] || { echo "torch: $b says $torch_b, $l says $torch_l"; fail=1; }
# Every package of the lock carries its hash (pip --require-hashes refuses the file otherwise).
pkgs=$(grep -c '^[A-Za-z0-9_.-]*==' "$l"); hashes=$(grep -c -- '--hash=sha256:[0-9a-f]\{64\}$' "$l")
[[ $pkgs -gt 0 && $pkgs == "$hashes" ]] || { echo "$l: $pkgs packages, $hashes hashes"; fail=1; }
[[ -n "$uer_h" && -n "$api_h" && -n "$torch_b" ]] || { echo "could not read the versions"; fail=1; }
[[ $fail == 0 ]] && echo "versions agree: uer-cc $uer_h, plugin API $api_h, torch $torch_b"
exit $fail
