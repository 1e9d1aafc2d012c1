# Shared by the bench scripts (sourced, not run): flags, the work folder, the pretrain rate.
#
#   source "$(dirname "$0")/lib.sh"
#   bench_flags "uer_path shared cases" "$@"   # --uer_path X sets UER_PATH=X, --shared SHARED, ...
#
# Every flag takes a value; one not in the list is an error. The caller sets the defaults first.
# After parsing: VOCAB (Google's Chinese vocabulary under SHARED) and `work`, a temporary folder
# removed on exit.

bench_flags() {
  local allowed=" $1 "; shift
  while [[ $# -gt 0 ]]; do
    local name="${1#--}"
    if [[ "$1" != --* || "$allowed" != *" $name "* ]]; then
      echo "unknown flag $1 (flags:$(sed "s/ \([a-z_]\)/ --\1/g" <<< "${allowed% }"))" >&2; exit 2
    fi
    [[ $# -ge 2 ]] || { echo "$1 needs a value" >&2; exit 2; }
    printf -v "${name^^}" '%s' "$2"
    shift 2
  done
  VOCAB="$SHARED/data/vocab/google_zh_vocab.txt"
  [[ -f "$VOCAB" ]] || { echo "no $VOCAB: give --shared (the folder holding data/)" >&2; exit 2; }
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
}

# Exits unless --uer_path was given; $1 says which checkout.
need_uer_path() {
  [[ -n "${UER_PATH:-}" ]] || { echo "--uer_path (a checkout of $1) is required" >&2; exit 2; }
}

# tokens/s of a pretrain log: the mean of its reports after the first (which holds the warm-up).
rate() { grep -o '[0-9.]* tokens/s' "$1" | awk 'NR > 1 { s += $1; n++ } END { if (n) printf "%.0f", s / n; else print 0 }'; }

# A BERT classifier for the comparisons with other servers and toolkits: $work/config.json (case
# mini: 4 layers of 256; base: 12 of 768), $work/cls.bin fine-tuned one epoch on 1,000 book review
# rows (the weights matter, not their accuracy), and $work/hf, the same model written for
# transformers by uer-cc's own converter. Needs bazel-bin's run_classifier and the converter built.
bench_classifier() {
  case $1 in
    mini) printf '{"emb_size": 256, "hidden_size": 256, "feedforward_size": 1024, "heads_num": 4, "layers_num": 4, "dropout": 0.1}\n' ;;
    base) printf '{"emb_size": 768, "hidden_size": 768, "feedforward_size": 3072, "heads_num": 12, "layers_num": 12, "dropout": 0.1}\n' ;;
    *) echo "unknown case $1 (mini, base)" >&2; exit 2 ;;
  esac > "$work/config.json"
  head -n 1001 "$SHARED/data/datasets/book_review/train.tsv" > "$work/train.tsv"
  bazel-bin/tools/run_classifier --config_path "$work/config.json" --vocab_path "$VOCAB" --train_path "$work/train.tsv" \
    --dev_path "$work/train.tsv" --output_model_path "$work/cls.bin" --epochs_num 1 --batch_size 32 --seq_length 128 \
    > "$work/ft.log" 2>&1 || { tail "$work/ft.log"; exit 1; }
  bazel-bin/tools/convert_bert_text_classification_from_uer_to_huggingface --input_model_path "$work/cls.bin" \
    --config_path "$work/config.json" --vocab_path "$VOCAB" --output_model_path "$work/hf" > "$work/conv.log" 2>&1 \
    || { tail "$work/conv.log"; exit 1; }
}
