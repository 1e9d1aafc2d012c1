#!/usr/bin/env bash
# bf16 against fp32 on this machine (the same data, seed and threads):
#   1. BERT tiny pre-trained STEPS steps (mlm, book reviews, seq 128, batch 32) in fp32 and in bf16:
#      the last report's loss (goal: bf16 within 2% of fp32) and tokens/s;
#   2. book_review fine-tuning from the fp32 model (EPOCHS epochs, TRAIN rows, the whole dev and
#      test sets) in fp32 and in bf16: test accuracy (goal: within 0.5 points) and samples/s;
#   3. inference (run_classifier_infer over the test set): fp32 against bf16 seconds, labels agreeing;
#   4. BERT base pre-training, seq 128, batch 32, every position computed (--noskip_padding):
#      tokens/s and MFU in fp32 and bf16 over BASE_STEPS steps.
#
#   bench/precision.sh [--shared ../shared] [--steps 2000] [--epochs 1] [--train 20000] [--base_steps 8]
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${UER_SHARED_DIR:-../shared}"; STEPS=2000; EPOCHS=1; TRAIN=20000; BASE_STEPS=8
source bench/lib.sh
bench_flags "shared steps epochs train base_steps" "$@"
bazel build -c opt //tools:preprocess //tools:pretrain //tools:run_classifier //tools:run_classifier_infer >/dev/null 2>&1
B=bazel-bin/tools
last_loss() { grep -o 'loss *[0-9.]*' "$1" | tail -1 | awk '{print $2}'; }
mfu() { grep -o 'MFU [0-9.]*%' "$1" | awk 'NR > 1 { gsub("%", "", $2); s += $2; n++ } END { if (n) printf "%.1f%%", s / n; else print "-" }'; }

"$B/preprocess" --corpus_path "$SHARED/data/corpora/book_review_bert.txt" --vocab_path "$VOCAB" \
  --dataset_path "$work/mlm.uer" --target mlm --seq_length 128 --dup_factor 2 2>/dev/null
tiny=(--dataset_path "$work/mlm.uer" --vocab_path "$VOCAB" --config_path models/bert/tiny.pbtxt --target mlm
      --total_steps "$STEPS" --report_steps $((STEPS / 10)) --save_checkpoint_steps 1000000 --batch_size 32
      --learning_rate 1e-3 --warmup 0.05)
for p in fp32 bf16; do
  "$B/pretrain" "${tiny[@]}" --precision $p --output_model_path "$work/tiny_$p.bin" > "$work/pt_$p" 2>&1
done
f=$(last_loss "$work/pt_fp32"); b=$(last_loss "$work/pt_bf16")
awk -v f="$f" -v b="$b" -v tf="$(rate "$work/pt_fp32")" -v tb="$(rate "$work/pt_bf16")" -v s="$STEPS" 'BEGIN {
  printf "1. BERT tiny, %d steps: loss fp32 %.3f, bf16 %.3f (%+.2f%%); %d against %d tokens/s (%.2fx)\n",
         s, f, b, 100 * (b - f) / f, tf, tb, tb / tf }'

DATA="$SHARED/data/datasets/book_review"
head -n $((TRAIN + 1)) "$DATA/train.tsv" > "$work/train.tsv"
for p in fp32 bf16; do
  /usr/bin/time -f "%e" -o "$work/ft_time_$p" "$B/run_classifier" --pretrained_model_path "$work/tiny_fp32.bin" \
    --vocab_path "$VOCAB" --config_path models/bert/tiny.pbtxt --train_path "$work/train.tsv" --dev_path "$DATA/dev.tsv" \
    --test_path "$DATA/test.tsv" --output_model_path "$work/cls_$p.bin" --epochs_num "$EPOCHS" --batch_size 64 \
    --seq_length 128 --learning_rate 1e-4 --report_steps 100000 --precision $p > "$work/ft_$p" 2> "$work/ft_log_$p"
done
acc() { grep -o 'Acc. (Correct/Total): [0-9.]*' "$1" | tail -1 | awk '{print $3}'; }
awk -v f="$(acc "$work/ft_fp32")" -v b="$(acc "$work/ft_bf16")" -v tf="$(cat "$work/ft_time_fp32")" \
    -v tb="$(cat "$work/ft_time_bf16")" 'BEGIN {
  printf "2. book_review fine-tuning: test accuracy fp32 %.4f, bf16 %.4f (%+.2f points); %.0f s against %.0f s end to end (%.2fx)\n",
         f, b, 100 * (b - f), tf, tb, tf / tb }'

for p in fp32 bf16; do
  /usr/bin/time -f "%e" -o "$work/inf_time_$p" "$B/run_classifier_infer" --load_model_path "$work/cls_fp32.bin" \
    --vocab_path "$VOCAB" --config_path models/bert/tiny.pbtxt --test_path "$DATA/test.tsv" \
    --prediction_path "$work/pred_$p.tsv" --seq_length 128 --batch_size 64 --precision $p 2>/dev/null
done
same=$(paste <(cut -f1 "$work/pred_fp32.tsv") <(cut -f1 "$work/pred_bf16.tsv") | awk -F'\t' 'NR > 1 && $1 == $2 { n++ } END { print n + 0 }')
awk -v tf="$(cat "$work/inf_time_fp32")" -v tb="$(cat "$work/inf_time_bf16")" -v same="$same" \
    -v n="$(($(wc -l < "$work/pred_fp32.tsv") - 1))" 'BEGIN {
  printf "3. inference over %d test rows: %.1f s fp32, %.1f s bf16 (%.2fx); labels agree on %d (%.2f%%)\n",
         n, tf, tb, tf / tb, same, 100 * same / n }'

base=(--dataset_path "$work/mlm.uer" --vocab_path "$VOCAB" --config_path models/bert/base.pbtxt --target mlm
      --total_steps "$BASE_STEPS" --report_steps $((BASE_STEPS / 4)) --save_checkpoint_steps 1000000 --batch_size 32
      --noskip_padding)
for p in fp32 bf16; do
  "$B/pretrain" "${base[@]}" --precision $p --output_model_path "$work/base_$p.bin" > "$work/base_$p" 2>&1
done
grep -h "GEMM peak" "$work/base_fp32" "$work/base_bf16" | sed 's/.*MFU: /   /'
awk -v tf="$(rate "$work/base_fp32")" -v tb="$(rate "$work/base_bf16")" -v mf="$(mfu "$work/base_fp32")" \
    -v mb="$(mfu "$work/base_bf16")" 'BEGIN {
  printf "4. BERT base pre-training, seq 128, batch 32, every position: fp32 %d tokens/s (MFU %s), bf16 %d tokens/s (MFU %s): %.2fx\n",
         tf, mf, tb, mb, tb / tf }'
