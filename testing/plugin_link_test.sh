#!/usr/bin/env bash
# Core is linked into a process exactly once: every plugin .so must load libuer_core.so dynamically
# (DT_NEEDED) and define none of core's symbols itself (TensorFlow's check_deps, done on the binary).
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
bad=0
n=0
for so in "$@"; do
  [[ "$so" == *.so ]] || continue
  n=$((n + 1))
  if ! readelf -d "$so" | grep "NEEDED.*\[libuer_core.so\]" >/dev/null; then
    echo "FAIL: $so does not link libuer_core.so dynamically"; bad=1
  fi
  # Defined (not undefined) dynamic symbols of core's registry, loader or config parsing.
  if nm -D --defined-only -C "$so" | grep -E "uer::core::(registry::|internal::EnqueueRegistration|LoadPlugin|MergeModelConfig)" ; then
    echo "FAIL: $so carries a copy of core"; bad=1
  fi
  if nm -D --defined-only -C "$so" | grep -E " (gflags|google)::(FlagRegisterer|protobuf::DescriptorPool::generated_pool)" ; then
    echo "FAIL: $so carries a copy of gflags or of protobuf's descriptor pool"; bad=1
  fi
  # Built by uer_plugin (testing/plugins and the built-in ones): the stamp is all it exports.
  if [[ "$so" == */libuer_* && "$so" != */docs/* ]]; then
    exported=$(nm -D --defined-only "$so" | awk 'NF == 3 {print $3}' | sort -u | paste -sd' ' || true)
    [[ -z "$exported" || "$exported" == "uer_plugin_stamp" ]] || { echo "FAIL: $so exports more than its stamp: $exported" | cut -c1-300; bad=1; }
  fi
done
[[ $n -gt 0 ]] || fail "no plugin given"
[[ $bad == 0 ]] && echo "$n plugins link core dynamically, carry no copy of it and export their stamp alone"
exit $bad
