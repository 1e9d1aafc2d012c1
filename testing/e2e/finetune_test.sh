#!/usr/bin/env bash
# Fine-tuning end to end on UER-py's small datasets (../shared/data/datasets/small): run_classifier on
# one sentence, on pairs and on DBQA (MRR) built from it, run_ner on MSRA-NER, both inference tools,
# a pre-trained checkpoint as the start, and bad input (a label that is not an integer, a line with
# the wrong number of columns, an empty file, a dev label unseen in train).
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared data/datasets/small/book_review data/datasets/small/msra_ner data/vocab/google_zh_vocab.txt
small="$shared/data/datasets/small"
vocab="$shared/data/vocab/google_zh_vocab.txt"
model=(--vocab_path "$vocab" --emb_size 64 --hidden_size 64 --feedforward_size 128 --heads_num 2 --layers_num 1
       --seq_length 64 --batch_size 16 --report_steps 5)
br="$small/book_review"

# One sentence, from scratch; then inference with the best model.
"$ws/tools/run_classifier" "${model[@]}" --train_path "$br/train.tsv" --dev_path "$br/dev.tsv" --test_path "$br/test.tsv" \
  --output_model_path "$t/cls/model.bin" --epochs_num 2 --learning_rate 1e-4 > "$t/cls.out" 2> "$t/cls.log" || { tail "$t/cls.log"; fail "run_classifier"; }
grep -q "Acc. (Correct/Total): .* (.*/50)" "$t/cls.out" || { cat "$t/cls.out"; fail "no test accuracy"; }
grep -q "Confusion matrix" "$t/cls.out" || fail "no confusion matrix"
grep -q "Epoch id: 2, Training steps: 10/13" "$t/cls.log" || fail "no progress line"
[[ -s "$t/cls/model.bin" ]] || fail "no model"
"$ws/tools/run_classifier_infer" "${model[@]}" --load_model_path "$t/cls/model.bin" --test_path "$br/test.tsv" \
  --prediction_path "$t/pred.tsv" --output_logits --output_prob 2> "$t/infer.log" || { tail "$t/infer.log"; fail "run_classifier_infer"; }
[[ $(wc -l < "$t/pred.tsv") == 51 ]] || fail "expected 51 prediction lines"
[[ "$(head -1 "$t/pred.tsv")" == $'label\tlogits\tprob' ]] || fail "prediction header"
awk -F'\t' 'NR > 1 && ($1 !~ /^[01]$/ || split($2, a, " ") != 2 || split($3, b, " ") != 2) { exit 1 }' "$t/pred.tsv" || fail "prediction lines"

# An LSTM from a UER-py JSON config (named *_config.json as UER-py names its own, which is not a
# HuggingFace config), mean pooling over the tokens alone: nothing reads the padding, so batches
# are cut after their longest row (and the LSTM runs its rows cut to their lengths); inference too.
printf '{"emb_size": 64, "hidden_size": 64, "layers_num": 1, "dropout": 0.1, "embedding": ["word"],\n "remove_embedding_layernorm": true, "encoder": "lstm"}\n' > "$t/lstm_config.json"
lstm=(--vocab_path "$vocab" --config_path "$t/lstm_config.json" --seq_length 64 --batch_size 16 --pooling mean --pool_tokens_only)
"$ws/tools/run_classifier" "${lstm[@]}" --train_path "$br/train.tsv" --dev_path "$br/dev.tsv" --test_path "$br/test.tsv" \
  --output_model_path "$t/lstm.bin" --epochs_num 1 --learning_rate 1e-3 > "$t/lstm.out" 2> "$t/lstm.log" || { tail "$t/lstm.log"; fail "run_classifier lstm"; }
grep -q 'encoder: "lstm"' "$t/lstm.log" && grep -q "pool_tokens_only: true" "$t/lstm.log" || { grep -A30 "resolved model" "$t/lstm.log"; fail "the UER-py config or the flag was not read"; }
grep -q "batches cut after their longest row" "$t/lstm.log" || fail "lstm: the padding was not left out"
grep -q "Acc. (Correct/Total): .* (.*/50)" "$t/lstm.out" || { cat "$t/lstm.out"; fail "lstm: no test accuracy"; }
"$ws/tools/run_classifier_infer" "${lstm[@]}" --load_model_path "$t/lstm.bin" --test_path "$br/test.tsv" \
  --prediction_path "$t/lstm_pred.tsv" 2> "$t/lstm_infer.log" || { tail "$t/lstm_infer.log"; fail "run_classifier_infer lstm"; }
[[ $(wc -l < "$t/lstm_pred.tsv") == 51 ]] || fail "lstm: expected 51 prediction lines"

# Sentence pairs (label, text_a, text_b) and DBQA (with qid; five candidates a question).
awk -F'\t' 'BEGIN { OFS = "\t" } NR == 1 { print "label", "text_a", "text_b"; next }
  { if (prev != "") print $1, $2, prev; prev = $2 }' "$br/train.tsv" > "$t/pair_train.tsv"
awk -F'\t' 'BEGIN { OFS = "\t" } NR == 1 { print "label", "text_a", "text_b"; next }
  { if (prev != "") print $1, $2, prev; prev = $2 }' "$br/dev.tsv" > "$t/pair_dev.tsv"
"$ws/tools/run_classifier" "${model[@]}" --train_path "$t/pair_train.tsv" --dev_path "$t/pair_dev.tsv" --test_path "$t/pair_dev.tsv" \
  --output_model_path "$t/pair.bin" --epochs_num 1 > "$t/pair.out" 2> "$t/pair.log" || { tail "$t/pair.log"; fail "pairs"; }
grep -q "Acc. (Correct/Total): .* (.*/49)" "$t/pair.out" || { cat "$t/pair.out"; fail "no pair accuracy"; }
awk -F'\t' 'BEGIN { OFS = "\t" } NR == 1 { print "qid", "label", "text_a", "text_b"; next }
  { print int((NR - 2) / 5), $1, "问题", $2 }' "$br/dev.tsv" > "$t/dbqa.tsv"
"$ws/tools/run_classifier" "${model[@]}" --train_path "$t/dbqa.tsv" --dev_path "$t/dbqa.tsv" --test_path "$t/dbqa.tsv" \
  --output_model_path "$t/dbqa.bin" --epochs_num 1 --mean_reciprocal_rank > "$t/dbqa.out" 2> "$t/dbqa.log" || { tail "$t/dbqa.log"; fail "dbqa"; }
grep -q "MRR: 0\.[0-9]* (50 candidates)" "$t/dbqa.out" || { cat "$t/dbqa.out"; fail "no MRR"; }

# NER with an LSTM; the label map is written beside the model; then inference.
"$ws/tools/run_ner" "${model[@]}" --embedding word --encoder lstm --train_path "$small/msra_ner/train.tsv" \
  --dev_path "$small/msra_ner/dev.tsv" --test_path "$small/msra_ner/test.tsv" --output_model_path "$t/ner.bin" \
  --epochs_num 1 --learning_rate 1e-3 > "$t/ner.out" 2> "$t/ner.log" || { tail "$t/ner.log"; fail "run_ner"; }
grep -q "Report precision, recall, and f1: " "$t/ner.out" || { cat "$t/ner.out"; fail "no entity F1"; }
grep -q '"\[PAD\]": 0' "$t/ner.bin.labels.json" || fail "label map"
"$ws/tools/run_ner_infer" "${model[@]}" --embedding word --encoder lstm --load_model_path "$t/ner.bin" \
  --test_path "$small/msra_ner/test.tsv" --prediction_path "$t/ner_pred.tsv" 2> "$t/ner_infer.log" || { tail "$t/ner_infer.log"; fail "run_ner_infer"; }
[[ $(wc -l < "$t/ner_pred.tsv") == 51 ]] || fail "expected 51 NER prediction lines"
# One label a token (sentences longer than seq_length are cut).
paste <(tail -n +2 "$small/msra_ner/test.tsv" | cut -f1) <(tail -n +2 "$t/ner_pred.tsv") |
  awk -F'\t' '{ n = split($1, a, " "); if (n > 64) n = 64; if (split($2, b, " ") != n) exit 1 }' || fail "NER prediction lengths"

# check_model names the task whose head a fine-tuned checkpoint holds (the NER model also without
# its label map beside it, as UER-py's NER models come).
cm=(--vocab_path "$vocab" --emb_size 64 --hidden_size 64 --feedforward_size 128 --heads_num 2 --layers_num 1)
"$ws/tools/check_model" "${cm[@]}" --load_model_path "$t/cls/model.bin" 2> /dev/null | grep -q "fine-tuned model: task classifier (labels_num 2)" \
  || fail "check_model on a classifier"
cp "$t/ner.bin" "$t/ner_nomap.bin"
for m in ner.bin ner_nomap.bin; do
  "$ws/tools/check_model" "${cm[@]}" --embedding word --encoder lstm --load_model_path "$t/$m" 2> /dev/null \
    | grep -q "fine-tuned model: task ner" || fail "check_model on a NER model ($m)"
done

# Fine-tuning from a pre-trained checkpoint: a classifier model's embedding and encoder load, its
# head is new; keys missing from the checkpoint are named.
"$ws/tools/run_classifier" "${model[@]}" --pretrained_model_path "$t/cls/model.bin" --train_path "$br/train.tsv" \
  --dev_path "$br/dev.tsv" --output_model_path "$t/cls2.bin" --epochs_num 1 > /dev/null 2> "$t/pre.log" || { tail "$t/pre.log"; fail "from pretrained"; }
grep -q "loaded $t/cls/model.bin (uer-seed keys)" "$t/pre.log" || fail "no load line"
if "$ws/tools/run_classifier" "${model[@]}" --pretrained_model_path "$t/ner.bin" --train_path "$br/train.tsv" \
    --dev_path "$br/dev.tsv" --output_model_path "$t/cls3.bin" --epochs_num 1 > /dev/null 2> "$t/pre2.log"; then
  fail "an LSTM checkpoint loaded into a BERT classifier"
fi
grep -q "missing keys: .*encoder.transformer.0" "$t/pre2.log" || { tail -3 "$t/pre2.log"; fail "missing keys message"; }

# The other encoders, one epoch each.
for enc in gpt gru bilstm; do
  emb=bert; [[ $enc != gpt ]] && emb=word
  "$ws/tools/run_classifier" "${model[@]}" --embedding $emb --encoder $enc --pooling mean --train_path "$br/train.tsv" \
    --dev_path "$br/dev.tsv" --output_model_path "$t/$enc.bin" --epochs_num 1 > "$t/$enc.out" 2> "$t/$enc.log" || { tail "$t/$enc.log"; fail "$enc"; }
  grep -q "best dev accuracy" "$t/$enc.out" || fail "$enc: no dev accuracy"
done

# UER-py checkpoints (the golden bert_bert model, seed keys and current keys): the target heads are
# ignored, embedding and encoder load strictly.
g="$shared/golden/bert_bert"
if [[ -s "$g/model.bin" && -s "$g/model_head_keys.bin" ]] || skip_part "UER-py checkpoints" "no $g/model.bin (set UER_SHARED_DIR)"; then
  for m in model.bin model_head_keys.bin; do
    "$ws/tools/run_classifier" --vocab_path "$shared/golden/vocab_1000.txt" --emb_size 64 --hidden_size 64 \
      --feedforward_size 128 --heads_num 4 --layers_num 2 --seq_length 64 --batch_size 16 --pretrained_model_path "$g/$m" \
      --train_path "$br/train.tsv" --dev_path "$br/dev.tsv" --output_model_path "$t/golden.bin" --epochs_num 1 \
      > /dev/null 2> "$t/golden.log" || { tail "$t/golden.log"; fail "from UER-py's $m"; }
    grep -q "loaded $g/$m (uer-" "$t/golden.log" || fail "no load line for $m"
  done
fi

# Bad input.
bad() {  # bad TRAIN DEV EXPECTED-MESSAGE: the classifier stops with exit code 2 and the message.
  set +e
  "$ws/tools/run_classifier" "${model[@]}" --train_path "$1" --dev_path "$2" --output_model_path "$t/bad.bin" \
    --epochs_num 1 > /dev/null 2> "$t/bad.log"
  local rc=$?
  set -e
  [[ $rc == 2 ]] || fail "$1 / $2: exit code $rc, expected 2"
  grep -qF "$3" "$t/bad.log" || { tail -3 "$t/bad.log"; fail "$1: expected \"$3\""; }
}
{ head -3 "$br/train.tsv"; printf 'x\t一本好书\n'; tail -n +4 "$br/train.tsv"; } > "$t/label.tsv"
bad "$t/label.tsv" "$br/dev.tsv" "$t/label.tsv:4: the label \"x\" is not a non-negative integer"
{ head -5 "$br/train.tsv"; printf '1\t一本\t好书\n'; } > "$t/columns.tsv"
bad "$t/columns.tsv" "$br/dev.tsv" "$t/columns.tsv:6: expected 2 tab-separated columns (label, text_a), got 3"
: > "$t/empty.tsv"
bad "$t/empty.tsv" "$br/dev.tsv" "$t/empty.tsv: empty file"
{ head -1 "$br/dev.tsv"; printf '5\t一本好书\n'; } > "$t/dev5.tsv"
bad "$br/train.tsv" "$t/dev5.tsv" "$t/dev5.tsv:2: label 5 does not occur in the training file"
"$ws/tools/run_classifier" "${model[@]}" --train_path "$t/label.tsv" --dev_path "$br/dev.tsv" --output_model_path "$t/skip.bin" \
  --epochs_num 1 --skip_bad_lines > /dev/null 2> "$t/skip.log" || { tail "$t/skip.log"; fail "--skip_bad_lines"; }
grep -q "1 bad lines skipped" "$t/skip.log" || fail "skipped count"
echo PASS
