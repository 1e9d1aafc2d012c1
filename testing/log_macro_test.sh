#!/usr/bin/env bash
# uer-cc logs through UER_LOG (core/log.h), never glog's LOG(...) directly: LibTorch's headers define
# a LOG macro of their own (c10's, which drops INFO), so a file that includes glog and, through any
# header, LibTorch logs nothing at INFO and nobody notices (the BERT converters' key reports and
# --verify results were silent that way). core/log.cc is the one file that calls glog's LOG.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
checked=0; bad=0
while IFS= read -r f; do
  rel=${f#"$ws/"}
  [[ $rel == core/log.cc ]] && continue
  checked=$((checked + 1))
  if hits=$(grep -nE '(^|[^_A-Za-z0-9])(LOG|LOG_IF|VLOG|DLOG|PLOG)\((INFO|WARNING|ERROR|FATAL|[0-9])' "$f"); then
    echo "$rel logs through a bare LOG macro (use UER_LOG from core/log.h):"
    echo "$hits"
    bad=1
  fi
done < <(find -L "$ws/core" "$ws/tools" "$ws/testing" "$ws/bench" "$ws/plugins" \( -name '*.cc' -o -name '*.h' \))
[[ $checked -gt 50 ]] || fail "only $checked files checked: the data of the test is wrong"
[[ $bad == 0 ]] || exit 1
echo "PASS: $checked files log through UER_LOG"
