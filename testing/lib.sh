# Sourced first by every shell test (uer_sh_test adds it to the data), as
#   source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
# (a test must never go on without it): where things are, and how a test fails, skips and asks for
# what it needs.
#   ws      the workspace's runfiles root (tools are "$ws/tools/NAME")
#   root    the source tree (its .venv/ is bootstrap's)
#   shared  UER-py's data and goldens ($UER_SHARED_DIR, default ../shared beside the tree)
#   t       the test's scratch folder
#   python  the project venv's Python
# A missing prerequisite is never a silent pass: under CI (CI=true, as CI runs .ci/run) the test
# fails naming it; elsewhere it prints "SKIP: ..." (tools/test.sh lists those lines).
set -euo pipefail
[[ -n "${TEST_SRCDIR:-}" && -n "${TEST_WORKSPACE:-}" ]] || { echo "FAIL: not under bazel test (no TEST_SRCDIR)"; exit 1; }
ws="$TEST_SRCDIR/$TEST_WORKSPACE"
root="$(dirname "$(dirname "$(readlink -f "$ws/testing/lib.sh")")")"
shared="${UER_SHARED_DIR:-$root/../shared}"
t="${TEST_TMPDIR:-$(mktemp -d)}"
[[ -d "$t" && "$t" != / ]] || { echo "FAIL: no scratch folder ($t)"; exit 1; }
python="${UER_VENV:-$root/.venv}/bin/python"

fail() { echo "FAIL: $*"; exit 1; }
port() { echo $((20000 + RANDOM % 30000)); }

under_ci() { [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; }

# The whole test cannot run here.
skip() {
  under_ci && fail "a prerequisite is missing under CI: $*"
  echo "SKIP: $*"
  exit 0
}

# The CPU lacks a feature the test (or a part) is about: said, and not a failure even under CI, since
# no install step can add it (tools/test.sh counts these apart).
#   cpu_has avx512_bf16 amx_bf16 || cpu_lacks "native bf16 (avx512_bf16 or amx_bf16)"
cpu_has() {
  local f
  for f in "$@"; do grep -qw "$f" /proc/cpuinfo && return 0; done
  return 1
}
cpu_lacks() {
  echo "SKIP (this CPU): it lacks $*"
  exit 0
}

# One part of the test cannot run here: returns 1 outside CI, so the caller passes over the part:
#   if has_python || skip_part "weights comparison" "no $python"; then ... fi
skip_part() {
  under_ci && fail "a prerequisite of the $1 part is missing under CI: $2"
  echo "SKIP ($1): $2"
  return 1
}

# need_shared PATH...: files or folders under $shared the test reads.
need_shared() {
  local p
  for p in "$@"; do
    [[ -e "$shared/$p" ]] || skip "no $shared/$p (UER-py's shared data; set UER_SHARED_DIR)"
  done
}

# need_python [MODULE...]: the venv's Python, with these packages importable.
need_python() {
  [[ -x "$python" ]] || skip "no $python (tools/bootstrap.sh makes it)"
  local m
  for m in "$@"; do
    "$python" -c "import $m" 2> /dev/null || skip "no Python package $m in $python (tools/bootstrap.sh installs it)"
  done
}

# has_python [MODULE...]: the same, as a condition for one part of a test (see skip_part).
has_python() {
  [[ -x "$python" ]] || return 1
  local m
  for m in "$@"; do "$python" -c "import $m" 2> /dev/null || return 1; done
}

# bazel_run DIR TOOL ARG...: what `bazel run //tools:TOOL -- ARG...` typed in DIR does: the tool
# starts in its runfiles folder with bazel's BUILD_WORKING_DIRECTORY and BUILD_WORKSPACE_DIRECTORY.
# A name that tools/BUILD aliases (the seed's extract_feature) runs the tool it names; the test
# needs //tools:BUILD and the tool in its data.
bazel_run() {
  local dir="$1" tool="$2" bin
  shift 2
  bin="$ws/tools/$tool"
  if [[ ! -x "$bin" ]]; then
    local actual
    actual="$(sed -n "s/^ *(\"$tool\", \"\([a-z_0-9]*\)\"),.*/\1/p" "$ws/tools/BUILD")"
    [[ -n "$actual" && -x "$ws/tools/$actual" ]] || fail "no //tools:$tool (nor an alias of that name) in the test's data"
    bin="$ws/tools/$actual"
  fi
  (cd "$ws" && BUILD_WORKING_DIRECTORY="$(cd "$dir" && pwd)" BUILD_WORKSPACE_DIRECTORY="$root" "$bin" "$@")
}
