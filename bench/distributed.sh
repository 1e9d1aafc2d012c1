#!/usr/bin/env bash
# Distributed pre-training scaling on this machine: tokens/s of one process against N Gloo ranks
# started by pretrain itself (each rank gets cores / N threads), the same per-rank batch, BERT tiny
# on the book review corpus. Prints the speed-up and the scaling efficiency (speed-up / N), and what
# overlapping the gradient all-reduce with the backward pass gains (N ranks with and without).
#
#   bench/distributed.sh [--shared ../shared] [--ranks 2] [--steps 40] [--config models/bert/tiny.pbtxt]
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${UER_SHARED_DIR:-../shared}"; RANKS=2; STEPS=40; CONFIG=models/bert/tiny.pbtxt
source bench/lib.sh
bench_flags "shared ranks steps config" "$@"
bazel build -c opt //tools:preprocess //tools:pretrain >/dev/null 2>&1
bazel-bin/tools/preprocess --corpus_path "$SHARED/data/corpora/book_review_bert.txt" --vocab_path "$VOCAB" \
  --dataset_path "$work/d.uer" --target bert --seq_length 128 --dup_factor 1 2>/dev/null
common=(--dataset_path "$work/d.uer" --vocab_path "$VOCAB" --config_path "$CONFIG" --total_steps "$STEPS"
        --save_checkpoint_steps 100000 --report_steps $((STEPS / 4)) --batch_size 32)
bazel-bin/tools/pretrain "${common[@]}" --output_model_path "$work/one.bin" > "$work/one" 2>&1
bazel-bin/tools/pretrain "${common[@]}" --world_size "$RANKS" --backend gloo \
  --master_ip "tcp://127.0.0.1:$((20000 + RANDOM % 30000))" --output_model_path "$work/n.bin" > "$work/n" 2>&1
bazel-bin/tools/pretrain "${common[@]}" --world_size "$RANKS" --backend gloo --nooverlap_allreduce \
  --master_ip "tcp://127.0.0.1:$((20000 + RANDOM % 30000))" --output_model_path "$work/s.bin" > "$work/s" 2>&1
one=$(rate "$work/one"); n=$(rate "$work/n"); s=$(rate "$work/s")
grep -h "buckets started" "$work/n" | sed 's/.*] //' 
awk -v one=$one -v n=$n -v s=$s -v r=$RANKS -v cores=$(nproc) 'BEGIN {
  printf "1 process:  %8d tokens/s (%d cores)\n", one, cores
  printf "%d ranks:    %8d tokens/s (global batch %d x 32)\n", r, n, r
  printf "speed-up %.2fx, scaling efficiency %.0f%%\n", n / one, 100 * n / one / r
  printf "%d ranks, all-reduce after the backward pass (--nooverlap_allreduce): %d tokens/s; overlap gains %.2fx\n", r, s, n / s }'
