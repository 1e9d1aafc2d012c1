#!/usr/bin/env bash
# The nsp target end to end on UER-py's book review corpus: preprocess --target nsp builds bert's
# sentence pairs without masks, pretrain --target nsp learns them. 400 steps of 32 pairs see fewer
# pairs than the dataset holds, so each report's accuracy is on pairs the model has not trained on;
# it must end well above the majority class (random next is about 71% of this corpus's pairs).
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared data/corpora/book_review_bert.txt data/vocab/google_zh_vocab.txt
corpus="$shared/data/corpora/book_review_bert.txt"
vocab="$shared/data/vocab/google_zh_vocab.txt"
"$ws/tools/preprocess" --corpus_path "$corpus" --vocab_path "$vocab" --dataset_path "$t/nsp.uer" --target nsp \
  --seq_length 64 --dup_factor 1 --processes_num 2 2> "$t/pre.log" || { tail "$t/pre.log"; fail "preprocess"; }
grep -q "random next" "$t/pre.log" || fail "no random-next share"
share=$(sed -n 's/.*random next \([0-9.]*\)%.*/\1/p' "$t/pre.log")
"$ws/tools/inspect_dataset" --dataset_path "$t/nsp.uer" --show 1 > "$t/inspect.txt"
grep -q "target: nsp" "$t/inspect.txt" || fail "inspect_dataset does not name the target"
"$ws/tools/pretrain" --dataset_path "$t/nsp.uer" --vocab_path "$vocab" --config_path "$ws/models/bert/tiny.pbtxt" \
  --target nsp --output_model_path "$t/nsp.bin" --total_steps 400 --report_steps 100 --save_checkpoint_steps 400 \
  --batch_size 32 --learning_rate 5e-4 2> "$t/train.log" || { tail "$t/train.log"; fail "pretrain"; }
accs=$(sed -n 's/.*steps|.*| acc: \([0-9.]*\)|.*/\1/p' "$t/train.log")
echo "random next: $share%; accuracy by report: $(echo $accs)"
first=$(echo "$accs" | head -1); last=$(echo "$accs" | tail -1)
awk -v f="$first" -v l="$last" -v s="$share" 'BEGIN { exit !(l > f && l >= s / 100 + 0.07) }' \
  || fail "NSP accuracy $first -> $last does not rise well above the majority class ($share%)"
echo PASS
