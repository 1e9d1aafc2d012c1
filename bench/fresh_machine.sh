#!/usr/bin/env bash
# README's commands as a new user meets them: a minimal Debian 12 root (mmdebstrap, from this
# machine's own apt sources), a clean clone of this repository's HEAD in it, and README's two
# commands typed as written inside it (unshare + chroot), each step timed.
#
#   bench/fresh_machine.sh [--dir DIR] [--commands main_job|test|both] [--ci] [--keep]
#
# --ci runs the test command as CI does (CI=true: a test whose prerequisite is missing fails).
# The "fresh Debian 12" user has what mmdebstrap's minbase variant installs (Debian's packages of
# priority required: bash, coreutils, apt, mount, ...) plus ca-certificates and git to clone with:
# no python3, no compiler, no Bazel, no iproute2, no sudo (root in the root). The registries are reached through this machine's settings: its apt sources
# and keyrings, /etc/pip.conf and the CA bundle it names are copied in; no other variable of this
# machine's environment goes in. UER-py's shared data is bind-mounted beside the clone (the tests
# read it) and read-only. Needs root (apt-get install mmdebstrap, mounts). Prints one line a step:
#   fresh_machine: debootstrap 59 s (234M)
#   fresh_machine: tools/main_job.sh: exit 0, 560 s; main_job: steps bootstrap 130 s, data 9 s, ...
#   fresh_machine: tools/bootstrap.sh && tools/test.sh: exit 0, 1900 s; suite: 64 passed, 0 failed, ...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="" commands="both" keep=0 ci=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --commands) commands="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --ci) ci="CI=true"; shift ;;
    *) echo "usage: bench/fresh_machine.sh [--dir DIR] [--commands main_job|test|both] [--ci] [--keep]" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "fresh_machine: needs root (mmdebstrap, mounts)" >&2; exit 2; }
shared="${UER_SHARED_DIR:-$ROOT/../shared}"
[[ -n "$dir" ]] || dir="$(mktemp -d /var/tmp/uer_fresh.XXXXXX)"
mkdir -p "$dir"
rootfs="$dir/rootfs"
say() { echo "fresh_machine: $*"; }
cleanup() {
  for m in "$rootfs/home/shared" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs"; do
    mountpoint -q "$m" 2> /dev/null && umount -l "$m"
  done
  if grep -q " $dir/" /proc/mounts; then
    say "something is still mounted under $dir: left as it is"
  elif [[ $keep != 1 ]]; then
    rm -rf "$dir"
  fi
}
trap cleanup EXIT

command -v mmdebstrap > /dev/null || { apt-get update -qq && apt-get install -y -qq mmdebstrap > /dev/null; }
start=$SECONDS
mmdebstrap --quiet --variant=minbase --include=ca-certificates,git bookworm "$rootfs" /etc/apt/sources.list.d/debian.sources
say "debootstrap $((SECONDS - start)) s ($(du -sh "$rootfs" | cut -f1))"

# The registries as this machine reaches them (mmdebstrap wrote its apt sources already).
[[ -f /etc/pip.conf ]] && cp /etc/pip.conf "$rootfs/etc/pip.conf"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
cp /etc/hosts "$rootfs/etc/hosts"   # a machine has one (localhost); mmdebstrap writes none

# A clean clone of HEAD, with the shared data beside it as on a developer's machine.
git clone -q "$ROOT" "$rootfs/home/uer-cc"
git -C "$rootfs/home/uer-cc" checkout -q "$(git -C "$ROOT" rev-parse HEAD)"
mkdir -p "$rootfs/home/shared"
# The root a mount point of its own, as / is on a machine: unshare -m, ip netns and Bazel's
# linux-sandbox need that.
mount --bind "$rootfs" "$rootfs"
if [[ -d "$shared" ]]; then mount --bind -o ro "$shared" "$rootfs/home/shared"; fi
mount --bind /proc "$rootfs/proc"; mount --rbind /dev "$rootfs/dev"; mount --rbind /sys "$rootfs/sys"

# in_root COMMAND: a login-like shell in the root, in the clone, with nothing of this environment.
in_root() {
  unshare --mount --fork chroot "$rootfs" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 $ci \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "cd /home/uer-cc && $1"
}
# typed LOG COMMAND SUMMARY_PATTERN: COMMAND typed in the root, its output in $dir/LOG too; one line
# with its exit status, its time and the last line of its output matching SUMMARY_PATTERN.
typed() {
  local start=$SECONDS rc
  set +o pipefail
  in_root "$2" 2>&1 | tee "$dir/$1"
  rc=${PIPESTATUS[0]}
  set -o pipefail
  say "$2: exit $rc, $((SECONDS - start)) s; $(grep -E "$3" "$dir/$1" | tail -1) (log: $dir/$1)"
  [[ $rc == 0 ]] || { keep=1; exit 1; }
}
[[ $commands == test ]] || typed main_job.log "tools/main_job.sh" '^main_job: steps|test Acc'
[[ $commands == main_job ]] || typed test.log "tools/bootstrap.sh && tools/test.sh" '^suite: '
