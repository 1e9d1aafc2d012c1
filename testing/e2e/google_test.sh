#!/usr/bin/env bash
# Google's TensorFlow BERT checkpoints without TensorFlow (the golden bert_bert/google/, written by
# TensorFlow 2.21's Saver):
#  - convert_bert_from_google_to_uer gives expected_uer.bin (UER-py's converter's output), tensor for tensor;
#  - convert_bert_from_uer_to_google writes the .index and .data files byte for byte as TensorFlow did;
#  - uer -> Google -> uer is exact; --verify reads each written file back;
#  - a damaged data file (one flipped byte: the CRC-32C), a truncated one and a missing index are named.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared golden/bert_bert/google/bert_model.ckpt.index
g="$shared/golden/bert_bert/google"
from_g="$ws/tools/convert_bert_from_google_to_uer"
to_g="$ws/tools/convert_bert_from_uer_to_google"
"$from_g" --input_model_path "$g/bert_model.ckpt" --output_model_path "$t/uer.bin" --verify 2> "$t/1.log" \
  || { tail -3 "$t/1.log"; fail "Google -> uer"; }
"$to_g" --input_model_path "$t/uer.bin" --output_model_path "$t/out/bert_model.ckpt" --verify 2> "$t/2.log" \
  || { tail -3 "$t/2.log"; fail "uer -> Google"; }
# The key report and --verify's result are printed (LibTorch's own LOG macro once swallowed them).
grep -q "keys: mapped [0-9]*, dropped [0-9]*, absent 0" "$t/1.log" || { cat "$t/1.log"; fail "no key report"; }
grep -q -- "--verify: .* all equal" "$t/1.log" || fail "no --verify result (Google -> uer)"
grep -q -- "--verify: .* all equal" "$t/2.log" || fail "no --verify result (uer -> Google)"
cmp "$t/out/bert_model.ckpt.index" "$g/bert_model.ckpt.index" || fail "the index differs from TensorFlow's"
cmp "$t/out/bert_model.ckpt.data-00000-of-00001" "$g/bert_model.ckpt.data-00000-of-00001" || fail "the data differ from TensorFlow's"
echo "uer -> Google: .index and .data byte for byte as TensorFlow wrote them"
"$from_g" --input_model_path "$t/out/bert_model.ckpt" --output_model_path "$t/uer2.bin" 2> "$t/3.log" \
  || { tail -3 "$t/3.log"; fail "Google -> uer (round trip)"; }
cmp "$t/uer.bin" "$t/uer2.bin" || fail "uer -> Google -> uer is not exact"
if has_python torch || skip_part "comparison with UER-py's converter" "no $python with torch"; then
  "$python" - "$g/expected_uer.bin" "$t/uer.bin" <<'PY' || fail "not UER-py's output"
import sys, torch
a, b = (torch.load(p, weights_only=True) for p in sys.argv[1:])
assert list(a) == list(b) or a.keys() == b.keys(), a.keys() ^ b.keys()
bad = [k for k in a if not torch.equal(a[k], b[k])]
assert not bad, bad
print(f"Google -> uer equals expected_uer.bin ({len(a)} tensors)")
PY
fi
# Damage.
expect() {  # NAME WANT -- COMMAND...
  local name=$1 want=$2; shift 3
  set +e; "$@" > /dev/null 2> "$t/$name.err"; local rc=$?; set -e
  [[ $rc == 1 || $rc == 2 ]] || { tail -3 "$t/$name.err"; fail "$name: exit $rc"; }
  grep -qF -- "$want" "$t/$name.err" || { tail -3 "$t/$name.err"; fail "$name: expected \"$want\""; }
  ! grep -qE "terminate called|Exception raised from" "$t/$name.err" || fail "$name: a backtrace"
  echo "$name: exit $rc: $(grep -F -- "$want" "$t/$name.err" | head -1 | sed 's/^.*\] //' | cut -c1-160)"
}
mkdir -p "$t/bad"
cp "$g/bert_model.ckpt.index" "$t/bad/m.index"
cp "$g/bert_model.ckpt.data-00000-of-00001" "$t/bad/m.data-00000-of-00001"
printf '\x7f' | dd of="$t/bad/m.data-00000-of-00001" bs=1 seek=1000 conv=notrunc status=none
expect crc "its CRC-32C does not match" -- "$from_g" --input_model_path "$t/bad/m" --output_model_path "$t/x.bin"
head -c 5000 "$g/bert_model.ckpt.data-00000-of-00001" > "$t/bad/m.data-00000-of-00001"
expect truncated "lie past the 5000 bytes of its data file" -- "$from_g" --input_model_path "$t/bad/m" --output_model_path "$t/x.bin"
expect no_index "cannot open $t/none.index" -- "$from_g" --input_model_path "$t/none" --output_model_path "$t/x.bin"
head -c 100 "$g/bert_model.ckpt.index" > "$t/bad/m.index"
expect bad_index "is not a tensor bundle index" -- "$from_g" --input_model_path "$t/bad/m" --output_model_path "$t/x.bin"
[[ ! -e "$t/x.bin" ]] || fail "a file from a failed conversion"
echo PASS
