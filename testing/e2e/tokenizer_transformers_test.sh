#!/usr/bin/env bash
# The bert_hf tokenizer gives transformers' BertTokenizer's ids on 3,000 adversarial Unicode lines
# (seeded, generated here: special tokens written inside words, Greek capitals whose lower case
# depends on context, ligatures, combining marks, zero-width and control characters, full-width
# forms, emoji and flags, CJK), with Google's uncased English and Chinese vocabularies; UER-py's
# flavour (bert) differs on many of the same lines, which shows the lines test what they should.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_python transformers
need_shared data/vocab/google_zh_vocab.txt data/vocab/google_uncased_en_vocab.txt
vocabs="$shared/data/vocab"
"$python" - "$t/lines.txt" <<'PY'
import random, sys
random.seed(2026)
pools = ["ΣΑΣ ΟΔΟΣ Σίσυφος", "ΌΣΟΣ", "[CLS]", "[SEP]", "[UNK]", "[MASK]", "[PAD]", "[cls]", "[MASK", "hello", "Wörld",
         "ÀÉÎõü", "İstanbul", "ß", "ﬁ", "Ⅻ", "中文", "日本語", "한국어", "\u200b", "\u00ad", "\ufeff", "e\u0301", "😀",
         "🇨🇳", "\t", "  ", "!", "？", "。", "—", "...", "$100", "3.14", "x\u0000y", "\u3000", "ＡＢＣ", "ǅ", "ΐ", "ﬀ",
         "ﾊﾟ", "ℌ", "Ω", "K", "Å", "a[SEP]b", "[UNK]x", "##ing", "\u0085", "\u2028", "\U0001d400", "unaffable"]
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for _ in range(3000):
        f.write("".join(random.choice(pools) + random.choice(["", " ", ""]) for _ in range(random.randint(1, 8))) + "\n")
PY
for v in google_uncased_en_vocab google_zh_vocab; do
  mkdir -p "$t/$v"; cp "$vocabs/$v.txt" "$t/$v/vocab.txt"
  for flavour in bert_hf bert; do
    "$ws/tools/tokenize" --vocab_path "$t/$v/vocab.txt" --tokenizer $flavour --input_path "$t/lines.txt" \
      --output_path "$t/$v.$flavour.txt" 2> "$t/$v.$flavour.log" || { tail -3 "$t/$v.$flavour.log"; fail "tokenize $flavour"; }
  done
  "$python" - "$t/$v" "$t/lines.txt" "$t/$v.bert_hf.txt" "$t/$v.bert.txt" <<'PY' || fail "$v: bert_hf differs from transformers"
import sys, transformers
folder, lines, hf_ids, uer_ids = sys.argv[1:]
tok = transformers.BertTokenizer.from_pretrained(folder)
lines = open(lines, encoding="utf-8").read().split("\n")[:-1]
ref = [" ".join(map(str, tok(l, add_special_tokens=False)["input_ids"])) for l in lines]
ours = open(hf_ids).read().split("\n")[:-1]
uer = open(uer_ids).read().split("\n")[:-1]
bad = [i for i, (a, b) in enumerate(zip(ref, ours)) if a != b]
other = sum(a != b for a, b in zip(ref, uer))
print(f"{folder.split('/')[-1]}: bert_hf equals transformers on {len(lines) - len(bad)} of {len(lines)} lines; "
      f"UER-py's flavour differs on {other}")
assert len(ours) == len(lines) and not bad, [lines[i] for i in bad[:3]]
assert other > 0
PY
done
# A tokenizer.json (what transformers writes beside or instead of vocab.txt) is a vocabulary too.
"$python" - "$t/google_zh_vocab" "$t/tj" <<'PY' || fail "transformers could not write tokenizer.json"
import sys, os, json, transformers
transformers.BertTokenizer.from_pretrained(sys.argv[1]).save_pretrained(sys.argv[2])
assert os.path.exists(f"{sys.argv[2]}/tokenizer.json")
j = json.load(open(f"{sys.argv[2]}/tokenizer.json")); j["model"]["type"] = "BPE"
json.dump(j, open(f"{sys.argv[2]}/bpe.tokenizer.json", "w"))
PY
"$ws/tools/tokenize" --vocab_path "$t/tj/tokenizer.json" --tokenizer bert_hf --input_path "$t/lines.txt" \
  --output_path "$t/tj.txt" 2> "$t/tj.log" || { tail -3 "$t/tj.log"; fail "tokenize with tokenizer.json"; }
cmp "$t/tj.txt" "$t/google_zh_vocab.bert_hf.txt" || fail "tokenizer.json gives other ids than vocab.txt"
echo "tokenizer.json as the vocabulary: the same ids as vocab.txt"
set +e
"$ws/tools/tokenize" --vocab_path "$t/tj/bpe.tokenizer.json" --input_path "$t/lines.txt" --output_path "$t/x.txt" 2> "$t/bpe.log"
rc=$?
set -e
[[ $rc == 2 ]] && grep -q "a BPE tokenizer; uer-cc reads WordPiece vocabularies" "$t/bpe.log" || { tail -2 "$t/bpe.log"; fail "a BPE tokenizer.json: exit $rc"; }
echo PASS
