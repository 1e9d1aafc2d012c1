#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and run uer-cc.
# Idempotent and quiet when everything is present. Usage: tools/bootstrap.sh
#
#  * Debian packages: Bazel 4.2.3 (bazel-bootstrap) with Debian's rules_cc, rules_java and platforms,
#    and the -dev packages of every C++ library uer-cc links (Abseil, gflags, glog, protobuf + protoc,
#    GoogleTest, utf8proc for Unicode, nlohmann-json, and Gloo's headers for the c10d process group).
#  * LibTorch: the `torch` wheel from PyPI, pinned to one exact version, in the project-local virtual
#    environment .venv/ (git ignores it). Bazel reaches it through the repository rule in
#    bazel/torch.bzl; nothing is downloaded by Bazel itself.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH_VERSION="2.11.0"          # keep equal to bazel/versions.bzl and the GPU machine's torch
VENV="${UER_VENV:-$ROOT/.venv}"

DEB_PACKAGES=(
  bazel-bootstrap bazel-rules-cc bazel-rules-java bazel-platforms
  build-essential libabsl-dev libgflags-dev libgoogle-glog-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libutf8proc-dev nlohmann-json3-dev libgloo-dev zlib1g-dev libleveldb-dev
  libtcmalloc-minimal4
  python3 python3-venv python3-pip
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3/venv may come from elsewhere (pyenv); only ask apt when the module is really absent.
if [[ ${#missing[@]} -gt 0 ]]; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in
      python3) command -v python3 >/dev/null || filtered+=("$p") ;;
      python3-venv) python3 -c 'import venv, ensurepip' 2>/dev/null || filtered+=("$p") ;;
      python3-pip) python3 -m pip --version >/dev/null 2>&1 || filtered+=("$p") ;;
      *) filtered+=("$p") ;;
    esac
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# LibTorch through the torch wheel, pinned.
have=""
if [[ -x "$VENV/bin/python" ]]; then
  have="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)"
fi
if [[ "$have" != "$TORCH_VERSION"* ]]; then
  echo "bootstrap: installing torch==$TORCH_VERSION into $VENV (a few GB, once)"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "torch==$TORCH_VERSION" numpy
fi
# The ecosystem's own libraries, which tests use to check what uer-cc reads and writes.
if ! "$VENV/bin/python" -c "import transformers, safetensors, nltk" 2>/dev/null; then
  echo "bootstrap: installing transformers, safetensors and nltk into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "transformers==5.24.0" "safetensors==0.8.0" "nltk==3.10.4"
fi
