#!/usr/bin/env bash
# A shape error deep inside a module ends every model-taking tool with a one-line message and exit
# status 2, never an abort or a LibTorch backtrace: a config whose heads_num does not divide
# hidden_size, and a checkpoint of another architecture.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
{ echo "[PAD]"; for i in $(seq 1 99); do echo "[unused$i]"; done; printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for c in a b c d e f g h x; do echo $c; done; } > "$t/vocab.txt"
for i in $(seq 1 20); do echo "abcdefgh"; echo "hgfedcba"; done > "$t/corpus.txt"
printf 'label\ttext_a\n' > "$t/train.tsv"; for i in $(seq 1 10); do printf '1\txabc\n0\tabcd\n'; done >> "$t/train.tsv"
printf 'text_a\tlabel\n' > "$t/ner.tsv"; for i in $(seq 1 10); do printf 'a x b\tO B-LOC O\n'; done >> "$t/ner.tsv"
"$ws/tools/preprocess" --corpus_path "$t/corpus.txt" --vocab_path "$t/vocab.txt" --dataset_path "$t/lm.uer" --target lm \
  --tokenizer char --seq_length 16 2>/dev/null
good=(--emb_size 32 --hidden_size 32 --feedforward_size 64 --layers_num 1 --heads_num 2)
bad=(--emb_size 32 --hidden_size 32 --feedforward_size 64 --layers_num 1 --heads_num 3)
ft=(--tokenizer char --seq_length 8)  # the fine-tuning tools' own
"$ws/tools/run_classifier" "${good[@]}" "${ft[@]}" --vocab_path "$t/vocab.txt" --train_path "$t/train.tsv" --dev_path "$t/train.tsv" \
  --output_model_path "$t/cls.bin" --epochs_num 1 > /dev/null 2>&1 || fail "the good classifier"
"$ws/tools/pretrain" "${good[@]}" --embedding word --encoder lstm --target lm --dataset_path "$t/lm.uer" \
  --vocab_path "$t/vocab.txt" --output_model_path "$t/lstm.bin" --total_steps 2 --save_checkpoint_steps 2 \
  > /dev/null 2>&1 || fail "the good lstm"

expect2() {  # NAME EXPECTED-SUBSTRING -- COMMAND...
  local name=$1 want=$2; shift 3
  set +e; "$@" > "$t/$name.out" 2> "$t/$name.err"; local rc=$?; set -e
  [[ $rc == 2 ]] || { tail -3 "$t/$name.err"; fail "$name: exit code $rc, expected 2"; }
  ! grep -qE "terminate called|Exception raised from|frame #" "$t/$name.err" || { tail -5 "$t/$name.err"; fail "$name: a backtrace"; }
  grep -qF "$want" "$t/$name.err" || { tail -3 "$t/$name.err"; fail "$name: expected \"$want\""; }
  echo "$name: $(grep -F "$want" "$t/$name.err" | head -1 | cut -c1-160)"
}
heads='must be a multiple of "heads_num"'
expect2 pretrain "$heads" -- "$ws/tools/pretrain" "${bad[@]}" --target lm --dataset_path "$t/lm.uer" \
  --vocab_path "$t/vocab.txt" --output_model_path "$t/bad.bin" --total_steps 2
expect2 run_classifier "$heads" -- "$ws/tools/run_classifier" "${bad[@]}" "${ft[@]}" --vocab_path "$t/vocab.txt" \
  --train_path "$t/train.tsv" --dev_path "$t/train.tsv" --output_model_path "$t/bad.bin" --epochs_num 1
expect2 run_ner "$heads" -- "$ws/tools/run_ner" "${bad[@]}" "${ft[@]}" --vocab_path "$t/vocab.txt" \
  --train_path "$t/ner.tsv" --dev_path "$t/ner.tsv" --output_model_path "$t/bad.bin" --epochs_num 1
expect2 run_classifier_infer "$heads" -- "$ws/tools/run_classifier_infer" "${bad[@]}" "${ft[@]}" --vocab_path "$t/vocab.txt" \
  --load_model_path "$t/cls.bin" --test_path "$t/train.tsv" --prediction_path "$t/pred.tsv"
expect2 check_model "$heads" -- "$ws/tools/check_model" "${bad[@]}" --target lm --vocab_path "$t/vocab.txt" \
  --load_model_path "$t/lstm.bin"
# A checkpoint of another architecture: an LSTM's weights into a BERT.
expect2 pretrain_other "does not match the model" -- "$ws/tools/pretrain" "${good[@]}" --target lm \
  --dataset_path "$t/lm.uer" --vocab_path "$t/vocab.txt" --pretrained_model_path "$t/lstm.bin" \
  --output_model_path "$t/other.bin" --total_steps 2
expect2 classifier_other "does not match the model" -- "$ws/tools/run_classifier" "${good[@]}" "${ft[@]}" --vocab_path "$t/vocab.txt" \
  --pretrained_model_path "$t/lstm.bin" --train_path "$t/train.tsv" --dev_path "$t/train.tsv" \
  --output_model_path "$t/other.bin" --epochs_num 1
expect2 check_model_other "does not match the model" -- "$ws/tools/check_model" "${good[@]}" --target lm \
  --vocab_path "$t/vocab.txt" --load_model_path "$t/lstm.bin"
# Another model's inputs (ids past this vocabulary) are refused before the forward pass, naming
# the id and the vocabulary, with one line and exit status 2.
io="$shared/golden/lstm_lm/io.pt"
if [[ -s "$io" ]] || skip_part "another model's inputs" "no $io (set UER_SHARED_DIR)"; then
  expect2 check_model_inputs "src holds id 932, past the 113 tokens of" -- "$ws/tools/check_model" "${good[@]}" --embedding word --encoder lstm \
    --target lm --vocab_path "$t/vocab.txt" --load_model_path "$t/lstm.bin" --inputs_path "$io" --output_path "$t/out.pt"
fi
echo PASS
