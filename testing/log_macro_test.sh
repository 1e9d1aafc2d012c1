#!/usr/bin/env bash
# uer-cc logs through UER_LOG (core/log.h), never glog's LOG(...) directly: LibTorch's headers define
# a LOG macro of their own (c10's, which drops INFO), so a file that includes glog and, through any
# header, LibTorch logs nothing at INFO and nobody notices (the BERT converters' key reports and
# --verify results were silent that way). core/log.cc is the one file that calls glog's LOG.
set -euo pipefail
root="$TEST_SRCDIR/$TEST_WORKSPACE"
checked=0; bad=0
while IFS= read -r f; do
  rel=${f#"$root/"}
  [[ $rel == core/log.cc ]] && continue
  checked=$((checked + 1))
  if hits=$(grep -nE '(^|[^_A-Za-z0-9])(LOG|LOG_IF|VLOG|DLOG|PLOG)\((INFO|WARNING|ERROR|FATAL|[0-9])' "$f"); then
    echo "$rel logs through a bare LOG macro (use UER_LOG from core/log.h):"
    echo "$hits"
    bad=1
  fi
done < <(find -L "$root/core" "$root/tools" "$root/testing" "$root/bench" "$root/plugins" \( -name '*.cc' -o -name '*.h' \))
[[ $checked -gt 50 ]] || { echo "FAIL: only $checked files checked: the data of the test is wrong"; exit 1; }
[[ $bad == 0 ]] || exit 1
echo "PASS: $checked files log through UER_LOG"
