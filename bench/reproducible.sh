#!/usr/bin/env bash
# Whether the build is reproducible: every tool and shared object (plugins, libuer_core.so,
# libuer_modules.so) built from two copies of the tree at different paths, in two fresh output
# bases, must have the same sha256.
#
#   bench/reproducible.sh                      # clones HEAD twice under a temporary folder, builds both
#   bench/reproducible.sh --compare BIN_A BIN_B  # compares two bazel-bin folders built already
#
# Prints each file that differs and the count of those that agree; exits 1 when any differs.
# 2026-12-01 (commit 7928f80): the CI check's clean clone against this tree, each with its own venv
# and output base: 95 of 95 identical (bench/README.md). LibTorch is found through a relative RUNPATH
# (torch_rpath() in bazel/uer.bzl), so no checkout or venv path is built into an output.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

outputs() {  # BIN: the files to compare, relative to BIN, sorted
  # (Runfiles manifests name absolute paths by design; tests are not shipped.)
  (cd "$1" && { find tools -maxdepth 1 -type f -perm -u+x ! -name '*.params' ! -name '*.sh' ! -name '*.py' \
                  ! -name '*.runfiles_manifest' ! -name '*_test';
                find plugins core -name 'libuer_*.so' -type f; } | sort)
}

compare() {
  local a="$1" b="$2" same=0 differ=0
  while read -r f; do
    if [[ ! -f "$b/$f" ]]; then echo "only in $a: $f"; differ=$((differ + 1)); continue; fi
    if [[ "$(sha256sum < "$a/$f")" == "$(sha256sum < "$b/$f")" ]]; then
      same=$((same + 1))
    else
      echo "differs: $f"; differ=$((differ + 1))
    fi
  done < <(outputs "$a")
  echo "$same files identical, $differ differ ($a vs $b)"
  [[ $same -gt 0 && $differ == 0 ]]
}

if [[ "${1:-}" == --compare ]]; then
  [[ $# == 3 ]] || { echo "usage: $0 --compare BIN_A BIN_B" >&2; exit 2; }
  compare "$(readlink -f "$2")" "$(readlink -f "$3")"
  exit $?
fi

work="$(mktemp -d)"
trap 'bazel --output_base="$work/ob_a" shutdown 2> /dev/null || true; bazel --output_base="$work/ob_b" shutdown 2> /dev/null || true; rm -rf "$work"' EXIT
for x in a b; do
  git clone -q "$ROOT" "$work/src_$x"
  ln -s "$ROOT/.venv" "$work/src_$x/.venv"
  (cd "$work/src_$x" && bazel --output_base="$work/ob_$x" build //tools/... //plugins/... //core:all > "$work/build_$x.log" 2>&1) ||
    { tail -20 "$work/build_$x.log"; exit 1; }
done
compare "$work/src_a/bazel-bin" "$work/src_b/bazel-bin"
