#!/usr/bin/env bash
# Builds this example (the acme.tiny encoder) with plain g++, outside Bazel: a wrapper of the generic
# ../build_outside_bazel.sh, which reads UER_SRC, GEN, UER_LIB, TORCH, CXX and CXXFLAGS (see there).
#   OUT=output .so path (default: ./libacme_tiny.so)
# Usage: docs/examples/acme_encoder/build_outside_bazel.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../build_outside_bazel.sh" "$here/acme_encoder.cc" "${OUT:-$PWD/libacme_tiny.so}"
