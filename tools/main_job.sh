#!/usr/bin/env bash
# The main job on a small default, from a fresh Debian 12 machine: installs what is missing, builds,
# fetches the default data (data/default_data.sh), then runs the furthest pipeline that exists:
#   build_vocab (char) -> tokenize
# Later steps (preprocess, pretrain, run_classifier) join as they land.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
tools/bootstrap.sh
data/default_data.sh
DATA="$ROOT/.cache/default_data"
WORK="$ROOT/.cache/main_job"
mkdir -p "$WORK"
bazel build //tools:build_vocab //tools:tokenize //tools:list_plugins
BIN="$ROOT/bazel-bin/tools"
echo "== plugins"
"$BIN/list_plugins" 2>/dev/null
echo "== build_vocab"
"$BIN/build_vocab" --corpus_path "$DATA/corpus.txt" --vocab_path "$WORK/vocab.txt" --tokenizer char --min_count 2
echo "== tokenize"
"$BIN/tokenize" --vocab_path "$WORK/vocab.txt" --tokenizer char --input_path "$DATA/corpus.txt" \
  --output_path "$WORK/corpus.ids.txt"
echo "== wrote"
echo "  vocabulary: $WORK/vocab.txt ($(wc -l < "$WORK/vocab.txt") tokens)"
echo "  token ids:  $WORK/corpus.ids.txt ($(wc -l < "$WORK/corpus.ids.txt") lines)"
