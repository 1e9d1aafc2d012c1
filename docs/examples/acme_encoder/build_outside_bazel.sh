#!/usr/bin/env bash
# Builds the example plugin with plain g++, outside Bazel, against an installed uer-cc:
#   UER_SRC=/path/to/uer-cc (headers), UER_LIB=folder holding libuer_core.so,
#   TORCH=site-packages/torch of the same pinned torch, OUT=output .so path.
# Usage: docs/examples/acme_encoder/build_outside_bazel.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
UER_SRC="${UER_SRC:-$(cd "$here/../../.." && pwd)}"
UER_LIB="${UER_LIB:-$UER_SRC/bazel-bin/core}"
TORCH="${TORCH:-$("$UER_SRC/.venv/bin/python" -c 'import torch, os; print(os.path.dirname(torch.__file__))')}"
OUT="${OUT:-$PWD/libacme_tiny.so}"
GEN="${GEN:-$UER_SRC/bazel-bin}"   # the generated core/config.pb.h
g++ -std=c++17 -O2 -fPIC -shared -o "$OUT" "$here/acme_encoder.cc" \
  -I"$UER_SRC" -I"$GEN" -I"$TORCH/include" -I"$TORCH/include/torch/csrc/api/include" \
  -L"$UER_LIB" -luer_core -L"$TORCH/lib" -ltorch_cpu -lc10 \
  -labsl_status -labsl_strings -lprotobuf -Wl,--no-undefined
echo "built $OUT"
