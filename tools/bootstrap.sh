#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and run uer-cc.
# Idempotent: one line ("ready") when everything is present; a failure says what failed and exits 1.
# Usage: tools/bootstrap.sh
#
#  * Debian packages: Bazel 4.2.3 (bazel-bootstrap) with Debian's rules_cc, rules_java and platforms,
#    and the -dev packages of every C++ library uer-cc links (Abseil, gflags, glog, protobuf + protoc,
#    GoogleTest, utf8proc for Unicode, nlohmann-json, libevent for the server, and Gloo's headers for
#    the c10d process group), iproute2 (the tests' network namespaces) and curl (a client of the
#    server's tests).
#  * LibTorch: the `torch` wheel from PyPI, pinned to one exact version, in the project-local virtual
#    environment .venv/ (git ignores it), with every other package of tools/requirements.lock
#    (exact versions and sha256 hashes: pip --require-hashes). Bazel reaches it through the repository rule in
#    bazel/torch.bzl; nothing is downloaded by Bazel itself.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH_VERSION="2.11.0"          # keep equal to bazel/versions.bzl and the GPU machine's torch
VENV="${UER_VENV:-$ROOT/.venv}"

# Debian 12's packages, pinned to the versions uer-cc is built and tested with. A machine that has
# another version keeps it and is told which differ; a missing package is installed at its pinned
# version, or at the archive's current one (said so) when a point release has replaced it.
DEB_PACKAGES=(
  bazel-bootstrap=4.2.3+ds-9 bazel-rules-cc=0.0.4-2 bazel-rules-java=4.0.0-2 bazel-platforms=0.0.2-2
  build-essential=12.9 libabsl-dev=20220623.1-1+deb12u2 libgflags-dev=2.2.2-2 libgoogle-glog-dev=0.6.0-2
  libprotobuf-dev=3.21.12-3+deb12u1 protobuf-compiler=3.21.12-3+deb12u1 libgtest-dev=1.12.1-0.2
  libgmock-dev=1.12.1-0.2 libutf8proc-dev=2.8.0-1 nlohmann-json3-dev=3.11.2-2
  libgloo-dev=0.0~git20220518.5b14351-3 zlib1g-dev=1:1.2.13.dfsg-1 libleveldb-dev=1.23-4
  libdeflate-dev=1.14-1 libevent-dev=2.1.12-stable-8+deb12u1
  libtcmalloc-minimal4=2.10-1
  iproute2=6.1.0-3 curl=7.88.1-10+deb12u15
  python3=3.11.2-1+b1 python3-venv=3.11.2-1+b1 python3-pip=23.0.1+dfsg-1
)

die() { echo "bootstrap: error: $*" >&2; exit 1; }

# The installed version of Debian package $1, or nothing when it is not installed (dpkg-query exits 1
# for a package it does not know: not an error here).
installed_version() {
  local out
  out="$(dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null)" || true
  [[ "$out" == "install ok installed "* ]] && echo "${out#install ok installed }"
  return 0
}

# Whether the archive offers version $2 of package $1 (apt-cache madison, after apt-get update).
archive_has() {
  local versions
  versions="$(apt-cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')" || true
  grep -qxF -- "$2" <<< "$versions"
}

missing=()
for pin in "${DEB_PACKAGES[@]}"; do
  p="${pin%%=*}" want="${pin#*=}"
  have="$(installed_version "$p")"
  if [[ -z "$have" ]]; then
    missing+=("$p")
  elif [[ "$have" != "$want" ]]; then
    echo "bootstrap: $p is $have here, uer-cc pins $want (kept)"
  fi
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
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install as root: apt-get install ${missing[*]}"
    SUDO="sudo"
  fi
  $SUDO apt-get update -qq || die "apt-get update failed (see above): check the machine's apt sources"
  pinned=()
  for p in "${missing[@]}"; do
    for pin in "${DEB_PACKAGES[@]}"; do
      [[ "${pin%%=*}" == "$p" ]] || continue
      if archive_has "$p" "${pin#*=}"; then
        pinned+=("$pin")
      else
        echo "bootstrap: $pin is no longer in the archive; installing its current version"
        pinned+=("$p")
      fi
    done
  done
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  apt_install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@" > "$log" 2>&1; }
  if ! apt_install "${pinned[@]}"; then
    # A security or point update of a library the base system has (zlib1g) makes its pinned -dev
    # package uninstallable: the archive's current versions then, each difference said below.
    echo "bootstrap: the pinned versions cannot be installed together here:"
    grep -E "Depends:|^E:" "$log" | head -n 5 | sed 's/^ */  /'
    echo "bootstrap: installing the archive's current versions instead"
    if ! apt_install "${missing[@]}"; then
      tail -n 20 "$log" >&2
      die "apt-get install failed for: ${missing[*]} (its last lines above)"
    fi
    for pin in "${DEB_PACKAGES[@]}"; do
      have="$(installed_version "${pin%%=*}")"
      [[ -z "$have" || "$have" == "${pin#*=}" ]] || echo "bootstrap: ${pin%%=*} is $have here, uer-cc pins ${pin#*=}"
    done
  fi
fi

# LibTorch (the torch wheel) and the ecosystem's libraries that tests check uer-cc's files with
# (transformers, safetensors, nltk, tensorboard): every package of the venv at the exact version and
# sha256 of tools/requirements.lock, installed with pip --require-hashes when any differs.
LOCK="$ROOT/tools/requirements.lock"
grep -q "^torch==$TORCH_VERSION " "$LOCK" || die "$LOCK does not pin torch==$TORCH_VERSION"
command -v python3 >/dev/null || die "no python3 on PATH after installing python3"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
differ="$("$VENV/bin/python" - "$LOCK" <<'PY'
import importlib.metadata as m, re, sys
for name, want in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", open(sys.argv[1]).read(), re.M):
    try:
        have = m.version(name)
    except m.PackageNotFoundError:
        have = None
    if have != want:
        print(f"{name} {have or 'absent'} -> {want}")
PY
)"
if [[ -n "$differ" ]]; then
  echo "bootstrap: installing tools/requirements.lock into $VENV (pip --require-hashes; a few GB the first time):"
  sed 's/^/  /' <<< "$differ"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$LOCK" \
    || die "pip could not install $LOCK into $VENV (its message above)"
fi
echo "bootstrap: ready (Debian packages and $VENV)"
