#!/usr/bin/env bash
# Converting a BERT-base-sized HuggingFace checkpoint (BertForPreTraining, Chinese vocabulary,
# about 410 MB of float32) to UER-py's key names: uer-cc's convert_bert_from_huggingface_to_uer
# against UER-py's scripts/convert_bert_from_huggingface_to_uer.py on this machine, from
# pytorch_model.bin (both) and from model.safetensors (uer-cc; memory-mapped). Reports seconds and
# peak memory (max RSS) against the checkpoint's size. The checkpoint is random (transformers builds
# it from a config: nothing is downloaded). Each tool runs --runs times (alternating, the page cache
# written back before each run, so that no run pays for the last one's writes); the medians count.
#
#   bench/convert.sh --uer_path /path/to/UER-py [--shared ../shared] [--runs 5]
set -euo pipefail
cd "$(dirname "$0")/.."
UER_PATH=""; SHARED="${UER_SHARED_DIR:-../shared}"; RUNS=5
source bench/lib.sh
bench_flags "uer_path shared runs" "$@"
need_uer_path "dbiir/UER-py"
bazel build //tools:convert_bert_from_huggingface_to_uer >/dev/null 2>&1
.venv/bin/python - "$work" <<'PY'
import sys, torch, transformers
w = sys.argv[1]
torch.manual_seed(0)
m = transformers.BertForPreTraining(transformers.BertConfig(vocab_size=21128))
torch.save(m.state_dict(), f"{w}/pytorch_model.bin")
m.save_pretrained(f"{w}/hf")
PY
size_mb=$(du -m "$work/pytorch_model.bin" | cut -f1)
measure() {  # appends "seconds maxrss_kb" to the file $1
  local out="$1"; shift
  sync; sleep 2  # the disk quiet: no run pays for the writes of the one before
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  cat "$work/time" >> "$out"
}
for ((r = 0; r < RUNS; r++)); do
  measure "$work/uer.t" .venv/bin/python "$UER_PATH/scripts/convert_bert_from_huggingface_to_uer.py" \
    --input_model_path "$work/pytorch_model.bin" --output_model_path "$work/uer_py.bin" --layers_num 12 --type bert
  measure "$work/bin.t" bazel-bin/tools/convert_bert_from_huggingface_to_uer \
    --input_model_path "$work/pytorch_model.bin" --output_model_path "$work/ours_bin.bin"
  measure "$work/st.t" bazel-bin/tools/convert_bert_from_huggingface_to_uer \
    --input_model_path "$work/hf" --output_model_path "$work/ours_st.bin"
done
median() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
us=$(median "$work/uer.t" 1); um=$(median "$work/uer.t" 2)
bs=$(median "$work/bin.t" 1); bm=$(median "$work/bin.t" 2)
ss=$(median "$work/st.t" 1); sm=$(median "$work/st.t" 2)
echo "seconds of each run: UER-py $(cut -d' ' -f1 "$work/uer.t" | xargs); uer-cc .bin $(cut -d' ' -f1 "$work/bin.t" | xargs); uer-cc safetensors $(cut -d' ' -f1 "$work/st.t" | xargs)"
.venv/bin/python - "$work" <<'PY'
import sys, torch
w = sys.argv[1]
a = torch.load(f"{w}/uer_py.bin", weights_only=True)
for other in ("ours_bin.bin", "ours_st.bin"):
    b = torch.load(f"{w}/{other}", weights_only=True)
    # UER-py's newer key names differ from the seed's that uer-cc writes: compare the tensors, in
    # an order both share.
    key = lambda t: (tuple(t.shape), float(t.double().sum()))
    x, y = sorted(a.values(), key=key), sorted(b.values(), key=key)
    assert len(x) == len(y) and all(torch.equal(p, q) for p, q in zip(x, y)), other
print("outputs: uer-cc's tensors equal UER-py's")
PY
awk -v size="$size_mb" -v us="$us" -v um="$um" -v bs="$bs" -v bm="$bm" -v ss="$ss" -v sm="$sm" 'BEGIN {
  printf "%-38s %8s %10s %12s\n", "run (medians)", "seconds", "peak MB", "peak/model"
  printf "%-38s %8.2f %10.0f %12.2f\n", "UER-py (pytorch_model.bin)", us, um / 1024, um / 1024 / size
  printf "%-38s %8.2f %10.0f %12.2f\n", "uer-cc (pytorch_model.bin)", bs, bm / 1024, bm / 1024 / size
  printf "%-38s %8.2f %10.0f %12.2f\n", "uer-cc (model.safetensors, mmap)", ss, sm / 1024, sm / 1024 / size
  printf "model %d MB; uer-cc %.1fx faster from .bin, %.1fx from safetensors (goal >= 5x)\n", size, us / bs, us / ss
}'
