#!/usr/bin/env bash
# Fine-tuning speed, uer-cc's run_classifier against UER-py's (newest version, finetune/run_classifier.py)
# on this machine: the same config file (UER-py's own JSON), data (the book review dataset), batch,
# sequence length and threads, from scratch, one epoch. Each side is timed end to end in three runs:
#   base:  64 training and 64 dev rows (start-up, reading, one step)
#   train: N training rows, 64 dev rows      -> training samples/s = N / (t_train - t_base)
#   eval:  64 training rows, N dev rows      -> evaluation samples/s = N / (t_eval - t_base)
# so that both are measured the same way, reading and tokenizing the files included.
# Cases: tiny, small, base (BERT, UER-py's config files, first pooling); lstm (a 1-layer LSTM of 256,
# word embedding, mean pooling over the tokens: UER-py's masked mean, uer-cc's --pool_tokens_only,
# the same function); lstm_seed (the same LSTM, uer-cc pooling over the whole padded sequence as the
# seed does: UER-py's newer script masks it, at the same cost); gru (as lstm); bilstm (256 wide,
# 128 a direction, mean over the tokens: its backward direction starts in the padding on both
# sides, so nothing is skipped).
#
#   bench/finetune.sh --uer_path /path/to/UER-py [--shared ../shared] [--cases "tiny small lstm"] [--rows 2000]
set -euo pipefail
cd "$(dirname "$0")/.."
UER_PATH=""; SHARED="${UER_SHARED_DIR:-../shared}"; CASES="tiny small"; ROWS=2000
source bench/lib.sh
bench_flags "uer_path shared cases rows" "$@"
need_uer_path "dbiir/UER-py"
bazel build -c opt //tools:run_classifier >/dev/null 2>&1
PY="$PWD/.venv/bin/python"
DATA="$SHARED/data/datasets/book_review"
head -n 65 "$DATA/train.tsv" > "$work/train_64.tsv"
head -n $((ROWS + 1)) "$DATA/train.tsv" > "$work/train_n.tsv"
head -n 65 "$DATA/dev.tsv" > "$work/dev_64.tsv"
head -n $((ROWS + 1)) "$DATA/dev.tsv" > "$work/dev_n.tsv"
secs() { /usr/bin/time -f "%e" -o "$work/t" "$@" > "$work/log" 2>&1 || { tail -5 "$work/log"; exit 1; }; cat "$work/t"; }
# UER-py's JSON for the recurrent cases (its own model configs of these sizes are transformers).
for enc in lstm gru bilstm; do
  printf '{"emb_size": 256, "hidden_size": 256, "layers_num": 1, "dropout": 0.1, "embedding": ["word"],
 "remove_embedding_layernorm": true, "encoder": "%s"}\n' $enc > "$work/${enc}_config.json"
done
run_uer() {
  (cd "$UER_PATH" && secs "$PY" finetune/run_classifier.py --vocab_path "$VOCAB" --config_path "$cfg" \
     --train_path "$1" --dev_path "$2" --output_model_path "$work/uer.bin" --epochs_num 1 --batch_size $batch \
     --seq_length 128 --report_steps 100000 "${uer_flags[@]}")
}
run_ours() {
  secs bazel-bin/tools/run_classifier --vocab_path "$VOCAB" --config_path "$cfg" \
     --train_path "$1" --dev_path "$2" --output_model_path "$work/ours.bin" --epochs_num 1 --batch_size $batch \
     --seq_length 128 --report_steps 100000 "${our_flags[@]}"
}
printf "%-6s %-8s %14s %14s\n" case run "train samp/s" "eval samp/s"
for c in $CASES; do
  uer_flags=(); our_flags=()
  case $c in
    tiny)  cfg=$UER_PATH/models/bert/tiny_config.json;  batch=64 ;;
    small) cfg=$UER_PATH/models/bert/small_config.json; batch=64 ;;
    base)  cfg=$UER_PATH/models/bert/base_config.json;  batch=16 ;;
    lstm)  cfg=$work/lstm_config.json; batch=64; uer_flags=(--pooling mean); our_flags=(--pooling mean --pool_tokens_only) ;;
    lstm_seed) cfg=$work/lstm_config.json; batch=64; uer_flags=(--pooling mean); our_flags=(--pooling mean) ;;
    gru)   cfg=$work/gru_config.json; batch=64; uer_flags=(--pooling mean); our_flags=(--pooling mean --pool_tokens_only) ;;
    bilstm) cfg=$work/bilstm_config.json; batch=64; uer_flags=(--pooling mean); our_flags=(--pooling mean --pool_tokens_only) ;;
    *) echo "unknown case $c (tiny, small, base, lstm, lstm_seed, gru, bilstm)" >&2; exit 2 ;;
  esac
  for side in uer ours; do
    b=$(run_$side "$work/train_64.tsv" "$work/dev_64.tsv")
    tr=$(run_$side "$work/train_n.tsv" "$work/dev_64.tsv")
    ev=$(run_$side "$work/train_64.tsv" "$work/dev_n.tsv")
    echo "$side $b $tr $ev" >> "$work/res_$c"
  done
  awk -v c=$c -v n=$ROWS '{ t[$1] = n / ($3 - $2); e[$1] = n / ($4 - $2) }
    END { printf "%-6s %-8s %14.1f %14.1f\n", c, "UER-py", t["uer"], e["uer"]
          printf "%-6s %-8s %14.1f %14.1f\n", c, "uer-cc", t["ours"], e["ours"]
          printf "%-6s training %.2fx UER-py, evaluation %.2fx (goal >= 1.3)\n", c, t["ours"] / t["uer"], e["ours"] / e["uer"] }' "$work/res_$c"
done
