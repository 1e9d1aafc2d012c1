#!/usr/bin/env bash
# Inference against what users pick instead: uer-cc's run_classifier_infer against transformers (a
# plain forward and the text-classification pipeline) and ONNX Runtime (the model exported by
# torch.onnx.export), on the same BERT classifier (uer-cc's weights, written for transformers by
# uer-cc's converter), the same book review sentences and threads: sentences/s at batch 1 and 32,
# sequence lengths 32 and 128 (real sentences, cut there; each batch padded to its longest row),
# tokenizing included. uer-cc is timed end to end less a run over 8 sentences (start-up, loading).
#
#   bench/vs_hf.sh [--shared ../shared] [--case mini|base] [--rows 512] [--threads 2] [--precision fp32|bf16]
#                  [--onnx PATH]
# --onnx: a folder with onnx and onnxruntime installed by pip --target (made under ~/.cache/uer-bench
# when absent, from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${UER_SHARED_DIR:-../shared}"; CASE=mini; ROWS=512; THREADS=2; PRECISION=fp32
ONNX="$HOME/.cache/uer-bench/onnx"
source bench/lib.sh
bench_flags "shared case rows threads precision onnx" "$@"
PY="$PWD/.venv/bin/python"
if [[ ! -d "$ONNX/onnxruntime" ]]; then
  echo "installing onnx and onnxruntime into $ONNX (pip --target)" >&2
  "$PY" -m pip install -q --target "$ONNX" onnx onnxruntime >&2
fi
bazel build -c opt //tools:run_classifier //tools:run_classifier_infer \
  //tools:convert_bert_text_classification_from_uer_to_huggingface > /dev/null 2>&1
bench_classifier "$CASE"
awk -F'\t' -v n="$ROWS" 'NR == 1 { print "text_a" } NR > 1 && NR <= n + 1 { print $2 }' \
  "$SHARED/data/datasets/book_review/test.tsv" > "$work/test.tsv"
head -n 9 "$work/test.tsv" > "$work/test_8.tsv"
tail -n +2 "$work/test.tsv" > "$work/texts"

secs() { /usr/bin/time -f "%e" -o "$work/t" "$@" > "$work/log" 2>&1 || { tail -5 "$work/log"; exit 1; }; cat "$work/t"; }
infer() {  # TEST BATCH SEQ
  secs bazel-bin/tools/run_classifier_infer --config_path "$work/config.json" --vocab_path "$VOCAB" \
    --load_model_path "$work/cls.bin" --test_path "$1" --prediction_path "$work/pred.tsv" --batch_size "$2" \
    --seq_length "$3" --precision "$PRECISION"
}
results=()
for b in 1 32; do
  for s in 32 128; do
    base=$(infer "$work/test_8.tsv" $b $s)
    full=$(infer "$work/test.tsv" $b $s)
    results+=("uer-cc $b $s $(awk -v n=$ROWS -v f=$full -v b=$base 'BEGIN { printf "%.1f", (n - 8) / (f - b) }')")
  done
done
[[ $PRECISION == fp32 ]] || echo "note: transformers and ONNX Runtime run in fp32" >&2
while read -r line; do
  [[ $line == versions:* ]] && versions=$line || results+=("$line")
done < <(OMP_NUM_THREADS=$THREADS "$PY" bench/vs_hf_infer.py "$work/hf" "$work/texts" "$THREADS" "1 32" "32 128" "$ONNX")

echo "case $CASE, $PRECISION, $ROWS sentences, $THREADS threads, CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "flags: $(grep -o -w 'avx2\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | xargs); $versions"
printf "%-12s %6s %6s %12s %8s\n" way batch seq "sentences/s" "uer-cc x"
for r in "${results[@]}"; do
  set -- $r
  ours=$(printf '%s\n' "${results[@]}" | awk -v b=$2 -v s=$3 '$1 == "uer-cc" && $2 == b && $3 == s { print $4 }')
  printf "%-12s %6s %6s %12s %8s\n" "$1" "$2" "$3" "$4" "$(awk -v a="$ours" -v t="$4" 'BEGIN { printf "%.2f", a / t }')"
done
