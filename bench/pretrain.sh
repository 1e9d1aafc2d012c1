#!/usr/bin/env bash
# Pre-training speed and memory, uer-cc against UER-py (newest version) on this machine: the same
# config file (UER-py's own JSON), batch, sequence length and threads, on the book review corpus.
# Reports tokens/s as both count them (batch x seq_length, padding included; the mean of the
# reports after the first, best of two interleaved runs each) and peak memory (max RSS). uer-cc
# runs twice: as it runs by default (skipping the padding that no target reads: the same losses and
# gradients) and with --noskip_padding (every position computed, as UER-py does).
# The cnn, gatedcnn and rcnn cases run against UER-py's seed version (caef999, the last with cnn
# and rcnn; --uer_seed_path): its models/cnn_config.json with --embedding word --encoder X
# --target lm, given to both.
#
#   bench/pretrain.sh --uer_path /path/to/UER-py [--uer_seed_path /path/to/UER-py@caef999] [--shared ../shared]
#       [--cases "tiny small lstm base cnn gatedcnn rcnn"]
set -euo pipefail
cd "$(dirname "$0")/.."
UER_PATH=""; UER_SEED_PATH=""; SHARED="${UER_SHARED_DIR:-../shared}"; CASES="tiny small lstm"
source bench/lib.sh
bench_flags "uer_path uer_seed_path shared cases" "$@"
need_uer_path "dbiir/UER-py"
bazel build -c opt //tools:preprocess //tools:pretrain >/dev/null 2>&1
PY="$PWD/.venv/bin/python"
printf "%-6s %-26s %12s %10s\n" case run "tokens/s" "peak MB"
for c in $CASES; do
  upath="$UER_PATH"; model=(); procflag=--data_processor
  case $c in
    tiny)  cfg=models/bert/tiny_config.json;  proc=bert; corpus=book_review_bert.txt; batch=32; steps=60 ;;
    small) cfg=models/bert/small_config.json; proc=bert; corpus=book_review_bert.txt; batch=32; steps=12 ;;
    base)  cfg=models/bert/base_config.json;  proc=bert; corpus=book_review_bert.txt; batch=8;  steps=8 ;;
    lstm)  cfg=models/rnn/lstm_config.json;   proc=lm;   corpus=book_review.txt;      batch=32; steps=12 ;;
    cnn|gatedcnn|rcnn)
      [[ -n "$UER_SEED_PATH" ]] || { echo "case $c needs --uer_seed_path (UER-py at caef999)" >&2; exit 2; }
      upath="$UER_SEED_PATH"; procflag=--target; cfg=models/cnn_config.json; proc=lm; corpus=book_review.txt
      batch=32; steps=12; model=(--embedding word --encoder $c --target lm)
      [[ $c == rcnn ]] && steps=8 ;;
    *) echo "unknown case $c" >&2; exit 2 ;;
  esac
  report=$(( steps / 4 ))
  (cd "$upath" && "$PY" preprocess.py --corpus_path "$SHARED/data/corpora/$corpus" --vocab_path "$VOCAB" \
     --dataset_path "$work/uer_$c.pt" $procflag $proc --seq_length 128 --dup_factor 1 >/dev/null 2>&1)
  bazel-bin/tools/preprocess --corpus_path "$SHARED/data/corpora/$corpus" --vocab_path "$VOCAB" \
     --dataset_path "$work/ours_$c.uer" --target $proc --seq_length 128 --dup_factor 1 2>/dev/null
  best_u=0; best_o=0; best_d=0; mem_u=0; mem_o=0
  for round in 1 2; do
    (cd "$upath" && /usr/bin/time -f "%M" -o "$work/tu" "$PY" pretrain.py --dataset_path "$work/uer_$c.pt" \
       --vocab_path "$VOCAB" --config_path "$cfg" "${model[@]}" --output_model_path "$work/uer.bin" --total_steps $steps \
       --save_checkpoint_steps 100000 --report_steps $report --batch_size $batch > "$work/lu" 2>&1)
    /usr/bin/time -f "%M" -o "$work/to" bazel-bin/tools/pretrain --dataset_path "$work/ours_$c.uer" \
       --vocab_path "$VOCAB" --config_path "$upath/$cfg" "${model[@]}" --output_model_path "$work/ours.bin" --total_steps $steps \
       --save_checkpoint_steps 100000 --report_steps $report --batch_size $batch > "$work/lo" 2>&1
    bazel-bin/tools/pretrain --dataset_path "$work/ours_$c.uer" --noskip_padding \
       --vocab_path "$VOCAB" --config_path "$upath/$cfg" "${model[@]}" --output_model_path "$work/ours.bin" --total_steps $steps \
       --save_checkpoint_steps 100000 --report_steps $report --batch_size $batch > "$work/ld" 2>&1
    u=$(rate "$work/lu"); o=$(rate "$work/lo"); d=$(rate "$work/ld")
    (( u > best_u )) && best_u=$u; (( o > best_o )) && best_o=$o; (( d > best_d )) && best_d=$d
    mem_u=$(tail -1 "$work/tu"); mem_o=$(tail -1 "$work/to")
  done
  awk -v c=$c -v u=$best_u -v o=$best_o -v d=$best_d -v mu=$mem_u -v mo=$mem_o -v b=$batch 'BEGIN {
    printf "%-6s %-26s %12d %10.0f\n", c, "UER-py (batch " b ", seq 128)", u, mu / 1024
    printf "%-6s %-26s %12d %10.0f\n", c, "uer-cc", o, mo / 1024
    printf "%-6s %-26s %12d\n", c, "uer-cc --noskip_padding", d
    printf "%-6s speed %.2fx UER-py (goal >= 1.3; %.2fx computing the padding), memory %.2fx (goal <= 0.8)\n",
           c, o / u, d / u, mo / mu }'
done
