#!/usr/bin/env bash
# The whole test suite: `bazel test //...` (arguments go to bazel test), then what it checked: every
# test's status, the SKIP lines tests printed (a missing prerequisite: shared data, a Python
# package, a CPU feature), and a closing line "suite: N passed, N failed, N skipped". Under CI
# (CI=true) a test whose prerequisite is missing fails instead of skipping (testing/lib.sh), and a
# SKIP line found anyway fails the run.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log="$(mktemp)"; trap 'rm -f "$log"' EXIT
bazel test //... --test_summary=short "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
testlogs="$(bazel info bazel-testlogs 2> /dev/null)"
passed=0 failed=0 skipped=0 partial=0 cpu=0
while read -r label status; do
  case "$status" in
    PASSED)
      log_file="$testlogs/$(sed 's|^//||; s|:|/|' <<< "$label")/test.log"
      if grep -q '^SKIP (this CPU)' "$log_file" 2> /dev/null; then
        skipped=$((skipped + 1)); cpu=$((cpu + 1)); echo "skipped: $label: $(grep -m1 '^SKIP (this CPU)' "$log_file")"
      elif grep -q '^SKIP: ' "$log_file" 2> /dev/null; then
        skipped=$((skipped + 1)); echo "skipped: $label: $(grep -m1 '^SKIP: ' "$log_file")"
      else
        passed=$((passed + 1))
        if grep -q '^SKIP (' "$log_file" 2> /dev/null; then
          partial=$((partial + 1)); grep '^SKIP (' "$log_file" | sed "s|^|part skipped: $label: |"
        fi
      fi ;;
    *) failed=$((failed + 1)) ;;
  esac
done < <(sed -n 's/^\(\/\/[^ ]*\)  *\((cached) \)\{0,1\}\(PASSED\|FAILED\|TIMEOUT\|FLAKY\|NO STATUS\|INCOMPLETE\|FAILED TO BUILD\).*/\1 \3/p' "$log")
echo "suite: $passed passed, $failed failed, $skipped skipped ($cpu for this CPU's features; $partial passed with a part skipped)"
if [[ ("${CI:-}" == true || "${CI:-}" == 1) && $((skipped - cpu + partial)) -gt 0 ]]; then
  echo "suite: tests skipped under CI (their prerequisites are missing): failing" >&2
  exit 1
fi
exit "$rc"
