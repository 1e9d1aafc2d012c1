#!/usr/bin/env bash
# The GPU check, for the device machine (see DEVELOPERS.md and the device tool's README): runs the
# CUDA build of pretrain that was built here (bazel build --config=cuda //tools:pretrain) on one GPU
# with --gpu_ranks 0 in fp32, bf16 and fp16 (dynamic loss scaling), then two NCCL ranks when there are two GPUs, and prints tokens/s of each. Expects the binaries and their runfiles under
# $UER_GPU_BUNDLE (default: bazel-bin), the shared data under $UER_SHARED_DIR (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE="${UER_GPU_BUNDLE:-bazel-bin}"
SHARED="${UER_SHARED_DIR:-../shared}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || { echo "no GPU visible"; exit 1; }
gpus=$(nvidia-smi --list-gpus | wc -l)
VOCAB="$SHARED/data/vocab/google_zh_vocab.txt"
"$BUNDLE/tools/preprocess" --corpus_path "$SHARED/data/corpora/book_review_bert.txt" --vocab_path "$VOCAB" \
  --dataset_path "$work/d.uer" --target bert --seq_length 128 --dup_factor 1 2>/dev/null
common=(--dataset_path "$work/d.uer" --vocab_path "$VOCAB" --config_path models/bert/base.pbtxt --total_steps 200
        --save_checkpoint_steps 100000 --report_steps 50 --batch_size 32)
for p in fp32 bf16 fp16; do
  echo "== one GPU, $p (MFU against the measured $p GEMM peak)"
  "$BUNDLE/tools/pretrain" "${common[@]}" --gpu_ranks 0 --precision $p --output_model_path "$work/gpu_$p.bin" 2>&1 |
    grep -E "steps\||ERROR|cuda|MFU|overflowed" || true
done
if (( gpus >= 2 )); then
  echo "== two NCCL ranks"
  "$BUNDLE/tools/pretrain" "${common[@]}" --world_size 2 --gpu_ranks 0,1 --backend nccl \
    --master_ip tcp://127.0.0.1:29533 --output_model_path "$work/nccl.bin" 2>&1 | grep -E "steps\||ERROR|joined"
else
  echo "== only one GPU: two NCCL ranks need two GPUs (not run)"
fi
