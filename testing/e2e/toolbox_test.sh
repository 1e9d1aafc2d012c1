#!/usr/bin/env bash
# The seed's model scripts as uer-cc's tools, from the command line, on UER-py's golden models:
#  - extract_embeddings and topn_words_indep give byte for byte what the seed's scripts wrote
#    (../shared/golden/scripts);
#  - average_models of two golden checkpoints equals their mean computed by Python's torch, and
#    extract_features' tensor loads with torch.load (passed over without the venv's torch, a
#    failure under CI);
#  - generate gives the same greedy tokens with and without the key/value cache;
#  - multi_single_convert round-trips, dynamic_vocab_adapter and cloze_test run;
#  - bad input: a missing file, a model without the head a tool needs, a vocabulary that does not
#    match: one line naming it, exit status 2.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared golden/bert_bert golden/gpt_lm golden/scripts golden/vocab_1000.txt
g="$shared/golden"
tools="$ws/tools"
vocab="$g/vocab_1000.txt"
cat > "$t/bert.pbtxt" <<'CFG'
emb_size: 64 hidden_size: 64 feedforward_size: 128 heads_num: 4 layers_num: 2
embedding: "bert" encoder: "bert" target: "bert"
CFG
cat > "$t/gpt.pbtxt" <<'CFG'
emb_size: 64 hidden_size: 64 feedforward_size: 128 heads_num: 4 layers_num: 2
embedding: "bert" encoder: "gpt" target: "lm"
CFG

# Expects exit status 2 and a message naming $2.
expect_usage_error() {
  local what="$1" needle="$2"; shift 2
  set +e; "$@" > "$t/out" 2> "$t/err"; local rc=$?; set -e
  [[ $rc -eq 2 ]] || { cat "$t/err"; fail "$what: exit $rc, expected 2"; }
  grep -q -- "$needle" "$t/err" || { cat "$t/err"; fail "$what: no \"$needle\" in the message"; }
  if grep -q "terminate called\|Exception raised from" "$t/err"; then fail "$what: a crash, not a message"; fi
}

# extract_embeddings and topn_words_indep: the seed's files, byte for byte.
"$tools/extract_embeddings" --vocab_path "$vocab" --pretrained_model_path "$g/bert_bert/model.bin" \
  --output_word_embedding_path "$t/emb.txt" 2> "$t/log" || { cat "$t/log"; fail extract_embeddings; }
cmp "$t/emb.txt" "$g/scripts/bert_bert_word_embedding.txt" || fail "extract_embeddings differs from the seed's file"
"$tools/topn_words_indep" --pretrained_model_path "$g/bert_bert/model.bin" --vocab_path "$vocab" \
  --cand_vocab_path "$g/scripts/topn_cand_vocab.txt" --target_words_path "$g/scripts/topn_target_words.txt" --topn 10 \
  > "$t/topn.txt" 2> "$t/log" || { cat "$t/log"; fail topn_words_indep; }
# The same words in the same order; a similarity may differ from PyTorch 1.13's in its last float32
# bit (LibTorch's summation rounds differently): one ulp, 2^-23 relative, at most.
cmp <(cut -f1 "$t/topn.txt") <(cut -f1 "$g/scripts/topn_words_indep.out.txt") || fail "topn_words_indep: other words than the seed's"
paste "$t/topn.txt" "$g/scripts/topn_words_indep.out.txt" | awk -F'\t' 'NF == 4 { d = $2 - $4; if (d < 0) d = -d; if (d > 1.2e-7 * $4) bad++ } END { exit bad > 0 }' \
  || fail "topn_words_indep: a similarity differs from the seed's by more than a float32 ulp"
[[ ! -e "$t/emb.txt.tmp."* ]] 2>/dev/null || true

# average_models (UER-py's nargs form) and its mean in Python.
"$tools/average_models" --model_list_path "$g/bert_bert/model.bin" "$g/bert_bert/trained_5_steps.bin" \
  --output_model_path "$t/avg.bin" 2> "$t/log" || { cat "$t/log"; fail average_models; }
expect_usage_error "average of mismatched models" "gpt_lm/model.bin has the key" \
  "$tools/average_models" --model_list_path "$g/bert_bert/model.bin" "$g/gpt_lm/model.bin" --output_model_path "$t/bad.bin"
[[ ! -e "$t/bad.bin" ]] || fail "a failed average left a file"

# multi_single_convert both ways.
"$tools/multi_single_convert" --input_model_path "$g/bert_bert/model.bin" --output_model_path "$t/multi.bin" \
  --add_module_prefix > "$t/out" 2> /dev/null
grep -q "A Multi-GPU version model is created" "$t/out" || fail "add_module_prefix"
"$tools/multi_single_convert" --input_model_path "$t/multi.bin" --output_model_path "$t/single.bin" \
  --delete_module_prefix > "$t/out" 2> /dev/null
grep -q "A Single-GPU version model is created" "$t/out" || fail "delete_module_prefix"

# extract_features: the seed's [N, L, H], and sentence vectors.
printf '中国的首都是北京\n\n一本好书\n很好\n' > "$t/sents.txt"
"$tools/extract_features" --input_path "$t/sents.txt" --pretrained_model_path "$g/bert_bert/model.bin" \
  --vocab_path "$vocab" --config_path "$t/bert.pbtxt" --seq_length 32 --output_path "$t/features.pt" > "$t/out" 2> "$t/log" \
  || { cat "$t/log"; fail extract_features; }
grep -q "The number of sentences: 3" "$t/out" || fail "extract_features: sentence count"
"$tools/extract_features" --input_path "$t/sents.txt" --pretrained_model_path "$g/bert_bert/model.bin" \
  --vocab_path "$vocab" --config_path "$t/bert.pbtxt" --seq_length 32 --pooling mean --output_path "$t/mean.pt" > /dev/null 2>&1 \
  || fail "extract_features --pooling mean"

# cloze_test and dynamic_vocab_adapter.
"$tools/cloze_test" --pretrained_model_path "$g/bert_bert/model.bin" --vocab_path "$vocab" --config_path "$t/bert.pbtxt" \
  --input_path "$t/sents.txt" --output_path "$t/cloze.txt" --topn 5 > /dev/null 2> "$t/log" || { cat "$t/log"; fail cloze_test; }
[[ $(grep -c "^Predicted answer: " "$t/cloze.txt") -eq 3 ]] || fail "cloze_test: three guesses expected"
head -n 900 "$vocab" > "$t/vocab_900.txt"
"$tools/dynamic_vocab_adapter" --old_model_path "$g/bert_bert/model.bin" --old_vocab_path "$vocab" \
  --new_vocab_path "$t/vocab_900.txt" --new_model_path "$t/adapted.bin" > "$t/out" 2> "$t/log" || { cat "$t/log"; fail dynamic_vocab_adapter; }
expect_usage_error "adapter with a vocabulary of another model" "to adapt" \
  "$tools/dynamic_vocab_adapter" --old_model_path "$g/bert_bert/model.bin" --old_vocab_path "$t/vocab_900.txt" \
  --new_vocab_path "$vocab" --new_model_path "$t/bad.bin"

# generate: the cache changes nothing in the greedy tokens.
printf '中国的首都\n一本好书\n' > "$t/prompts.txt"
for mode in cache no_cache; do
  flag=""; [[ $mode == no_cache ]] && flag="--no_cache"
  "$tools/generate" --pretrained_model_path "$g/gpt_lm/model.bin" --vocab_path "$vocab" --config_path "$t/gpt.pbtxt" \
    --input_path "$t/prompts.txt" --output_path "$t/gen_$mode.txt" --seq_length 48 --greedy $flag > "$t/out_$mode" 2> "$t/log" \
    || { cat "$t/log"; fail "generate $mode"; }
done
cmp "$t/gen_cache.txt" "$t/gen_no_cache.txt" || fail "generate: the cache changed the greedy tokens"
grep -q "key/value cache" "$t/out_cache" || fail "generate did not use the cache"

# Bad input.
expect_usage_error "a missing checkpoint" "nothere.bin" \
  "$tools/extract_embeddings" --vocab_path "$vocab" --pretrained_model_path "$t/nothere.bin" --output_word_embedding_path "$t/x.txt"
expect_usage_error "a missing input file" "nothere.txt" \
  "$tools/extract_features" --input_path "$t/nothere.txt" --pretrained_model_path "$g/bert_bert/model.bin" \
  --vocab_path "$vocab" --config_path "$t/bert.pbtxt" --output_path "$t/x.pt"
expect_usage_error "generate on a bert target" "predicts the next token" \
  "$tools/generate" --pretrained_model_path "$g/bert_bert/model.bin" --vocab_path "$vocab" --config_path "$t/bert.pbtxt" \
  --input_path "$t/prompts.txt" --output_path "$t/x.txt"
expect_usage_error "cloze_test on an lm model" "predicts masked tokens" \
  "$tools/cloze_test" --pretrained_model_path "$g/gpt_lm/model.bin" --vocab_path "$vocab" --config_path "$t/gpt.pbtxt" \
  --input_path "$t/sents.txt" --output_path "$t/x.txt"
expect_usage_error "a config that does not match the checkpoint" "does not match" \
  "$tools/extract_features" --input_path "$t/sents.txt" --pretrained_model_path "$g/bert_bert/model.bin" \
  --vocab_path "$vocab" --config_path "$t/bert.pbtxt" --hidden_size 32 --emb_size 32 --output_path "$t/x.pt"
ls "$t" | grep -q "\.tmp\." && fail "a temporary file outlived its tool"

# Python's torch reads what uer-cc wrote.
if has_python torch || skip_part "Python checks" "no $python with torch"; then
  "$python" - "$g" "$t" <<'PY' || fail "Python's view of the outputs"
import sys, torch
g, t = sys.argv[1:]
a = torch.load(f"{g}/bert_bert/model.bin", weights_only=True)
b = torch.load(f"{g}/bert_bert/trained_5_steps.bin", weights_only=True)
avg = torch.load(f"{t}/avg.bin", weights_only=True)
assert list(avg) == list(a), "keys or their order differ"
for k in a:
    assert torch.equal(avg[k], (a[k] + b[k]) / 2), k
f = torch.load(f"{t}/features.pt", weights_only=True)
assert tuple(f.shape) == (3, 32, 64) and not f.requires_grad, f.shape
m = torch.load(f"{t}/mean.pt", weights_only=True)
assert tuple(m.shape) == (3, 64), m.shape
single = torch.load(f"{t}/single.bin", weights_only=True)
assert all(torch.equal(single[k], a[k]) for k in a) and list(single) == list(a)
multi = torch.load(f"{t}/multi.bin", weights_only=True)
assert list(multi) == ["module." + k for k in a]
print("python checks passed")
PY
fi
echo PASS
