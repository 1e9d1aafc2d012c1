#!/usr/bin/env bash
# The seed README's quickstart (UER-py caef999), typed as it is from the repository root through
# `bazel run` (testing/lib.sh's bazel_run: the tools start in their runfiles with
# BUILD_WORKING_DIRECTORY set), with the seed's tool names, flags and relative paths:
#   preprocess (bert) -> pretrain -> mv the step checkpoint -> run_classifier (its default output
#   ./models/classifier_model.bin) -> extract_feature, cloze_test (with the seed's
#   --subencoder_type), topn_words_indep -> preprocess (lm), pretrain a gpt -> generate.
# Shortened: step and epoch counts, a corpus and data sets of a few hundred lines, one layer of
# BERT base's width (--layers_num 1; 12 layers take minutes a step on two cores), one process (the
# seed's --world_size 8 --gpu_ranks 0..7 needs eight GPUs) and no --pretrained_model_path
# (Google's model is not at hand). The root is laid as the seed's: the repository's models/ (the
# seed's vocabularies and configs), corpora/ and datasets/douban_book_review/ from UER-py's data.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared data/corpora/book_review_bert.txt data/corpora/book_review.txt data/datasets/small/book_review
r="$t/uer"   # the repository root a user of the seed stands in
mkdir -p "$r/models" "$r/corpora" "$r/datasets/douban_book_review"
cp "$ws"/models/*.json "$ws"/models/*_vocab.txt "$r/models/"   # the repository's models/, as the seed's
head -600 "$shared/data/corpora/book_review_bert.txt" > "$r/corpora/book_review_bert.txt"
head -300 "$shared/data/corpora/book_review.txt" > "$r/corpora/book_review.txt"
cp "$shared"/data/datasets/small/book_review/*.tsv "$r/datasets/douban_book_review/"
cut -f2 "$r/datasets/douban_book_review/test.tsv" | sed -n '2,11p' > "$r/datasets/cloze_input.txt"
printf '书\n好\n读\n' > "$r/target_words.txt"
printf '这本书\n我觉得\n' > "$r/story_beginning.txt"
run() {  # run LOG TOOL FLAGS...: bazel run //tools:TOOL -- FLAGS from the root; LOG kept in $t
  local log="$t/$1.log"
  shift
  bazel_run "$r" "$@" > "$log" 2>&1 || { tail -5 "$log"; fail "$1"; }
}
small=(--layers_num 1)

run preprocess preprocess --corpus_path corpora/book_review_bert.txt --vocab_path models/google_zh_vocab.txt \
  --dataset_path dataset.pt --processes_num 8 --target bert
[[ -s "$r/dataset.pt" ]] || fail "preprocess wrote no dataset.pt in the root"
run pretrain pretrain --dataset_path dataset.pt --vocab_path models/google_zh_vocab.txt \
  --output_model_path models/book_review_model.bin --total_steps 2 --save_checkpoint_steps 2 --encoder bert --target bert \
  "${small[@]}"
mv "$r/models/book_review_model.bin-2" "$r/models/book_review_model.bin"

run run_classifier run_classifier --pretrained_model_path models/book_review_model.bin --vocab_path models/google_zh_vocab.txt \
  --train_path datasets/douban_book_review/train.tsv --dev_path datasets/douban_book_review/dev.tsv \
  --test_path datasets/douban_book_review/test.tsv --epochs_num 1 --batch_size 32 --encoder bert "${small[@]}"
grep -q "Acc. (Correct/Total): .* (.*/50)" "$t/run_classifier.log" || { tail "$t/run_classifier.log"; fail "no test accuracy"; }
[[ -s "$r/models/classifier_model.bin" ]] || fail "run_classifier's default ./models/classifier_model.bin is not in the root"

run extract_feature extract_feature --input_path datasets/cloze_input.txt --vocab_path models/google_zh_vocab.txt \
  --pretrained_model_path models/book_review_model.bin --output_path feature_output.pt "${small[@]}"
[[ -s "$r/feature_output.pt" ]] || fail "no feature_output.pt"
run cloze_test cloze_test --input_path datasets/cloze_input.txt --pretrained_model_path models/book_review_model.bin \
  --vocab_path models/google_zh_vocab.txt --output_path output.txt --subencoder_type avg "${small[@]}"
[[ $(grep -c "^Predicted answer: " "$r/output.txt") == 10 ]] || { head "$r/output.txt"; fail "cloze_test: not 10 answers"; }
run topn topn_words_indep --pretrained_model_path models/book_review_model.bin --vocab_path models/google_zh_vocab.txt \
  --cand_vocab_path models/google_zh_vocab.txt --target_words_path target_words.txt
[[ $(grep -c . "$t/topn.log") -ge 60 ]] || { cat "$t/topn.log"; fail "topn_words_indep: not 3 x 20 neighbours"; }

run preprocess_lm preprocess --corpus_path corpora/book_review.txt --vocab_path models/google_zh_vocab.txt \
  --dataset_path dataset_lm.pt --processes_num 8 --target lm
run pretrain_gpt pretrain --dataset_path dataset_lm.pt --vocab_path models/google_zh_vocab.txt \
  --output_model_path models/gpt_model.bin --total_steps 2 --save_checkpoint_steps 2 --encoder gpt --target lm "${small[@]}"
mv "$r/models/gpt_model.bin-2" "$r/models/gpt_model.bin"
run generate generate --pretrained_model_path models/gpt_model.bin --vocab_path models/google_zh_vocab.txt \
  --input_path story_beginning.txt --output_path story_full.txt --config_path models/bert_base_config.json \
  --encoder gpt --target lm --seq_length 128 "${small[@]}"
[[ $(grep -c . "$r/story_full.txt") -ge 2 ]] || { cat "$r/story_full.txt"; fail "generate: no continuations"; }

# The runfiles folder the tools started in got none of the outputs.
! find "$ws/" -maxdepth 2 \( -name 'dataset*.pt' -o -name '*.bin' -o -name 'output.txt' \) | grep -q . \
  || fail "an output landed in the tools' runfiles folder"
echo "seed quickstart: $(grep -o 'Acc. (Correct/Total): [^ ]*' "$t/run_classifier.log"), $(wc -l < "$r/output.txt") cloze lines, $(grep -c . "$r/story_full.txt") generated lines"
echo PASS
