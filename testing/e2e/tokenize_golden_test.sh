#!/usr/bin/env bash
# //tools:tokenize reproduces UER-py's BertTokenizer ids (../shared/golden/tokenization) exactly, on
# every line of all three files.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared golden/tokenization data/vocab/google_zh_vocab.txt data/vocab/google_uncased_en_vocab.txt
bad=0
for pair in book_review_dev_zh:google_zh_vocab news_commentary_zh_vocab:google_zh_vocab \
            news_commentary_uncased_en_vocab:google_uncased_en_vocab; do
  name=${pair%%:*}; vocab=${pair##*:}
  out="$t/$name.ids.txt"
  "$ws/tools/tokenize" --vocab_path "$shared/data/vocab/$vocab.txt" --tokenizer bert \
      --input_path "$shared/golden/tokenization/$name.input.txt" --output_path "$out" 2>/dev/null
  golden="$shared/golden/tokenization/$name.ids.txt"
  if cmp -s "$out" "$golden"; then
    echo "$name: $(wc -l < "$golden") lines identical"
  else
    echo "FAIL: $name differs from UER-py:"; diff <(cat -n "$out") <(cat -n "$golden") | head -10; bad=1
  fi
done
exit $bad
