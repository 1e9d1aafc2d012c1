#!/usr/bin/env bash
# The rest of the seed's zoo end to end on UER-py's book review corpus: each new encoder (cnn,
# gatedcnn, rcnn, crnn with the lm target; attn with mlm) and a subword model (word embedding +
# lstm subencoder) is pre-trained from preprocess's dataset for a few hundred steps on the CPU, and
# its loss must fall well below its start (the last report at most 75% of the first); check_model
# reads each checkpoint back. s2s: a corpus of source<TAB>target pairs made here (each target is
# its source reversed), preprocess --target s2s and pretrain --target s2s, the loss falling as far.
# Sizes that cannot work are refused naming the field.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared data/corpora/book_review.txt data/vocab/google_zh_vocab.txt
need_python torch
corpus="$shared/data/corpora/book_review.txt"
vocab="$shared/data/vocab/google_zh_vocab.txt"
head -n 4000 "$corpus" > "$t/corpus.txt"
for target in lm mlm; do
  "$ws/tools/preprocess" --corpus_path "$t/corpus.txt" --vocab_path "$vocab" --dataset_path "$t/$target.uer" \
    --target $target --seq_length 64 --dup_factor 1 --processes_num 2 2> "$t/pre_$target.log" \
    || { tail -3 "$t/pre_$target.log"; fail "preprocess --target $target"; }
done
small=(--emb_size 64 --hidden_size 64 --feedforward_size 128 --heads_num 4 --layers_num 2 --kernel_size 3 --dropout 0.0)
# pretrain NAME DATASET FLAGS...: trains, checks the fall of the loss and reads the model back.
pretrain() {
  local name=$1 dataset=$2; shift 2
  "$ws/tools/pretrain" --dataset_path "$t/$dataset.uer" --vocab_path "$vocab" "${small[@]}" "$@" \
    --output_model_path "$t/$name.bin" --total_steps 300 --report_steps 20 --save_checkpoint_steps 300 \
    --batch_size 16 --learning_rate 1e-3 --warmup 0.05 2> "$t/$name.log" || { tail -3 "$t/$name.log"; fail "pretrain $name"; }
  local losses first last
  losses=$(sed -n 's/.*steps|.*| loss *\([0-9.]*\).*/\1/p' "$t/$name.log")
  first=$(echo "$losses" | head -1); last=$(echo "$losses" | tail -1)
  echo "$name: loss by report $(echo $losses)"
  awk -v f="$first" -v l="$last" 'BEGIN { exit !(l <= 0.75 * f) }' || fail "$name: the loss $first -> $last does not fall well"
}
pretrain cnn lm --embedding word --encoder cnn --target lm
pretrain gatedcnn lm --embedding word --encoder gatedcnn --target lm --layers_num 3
pretrain rcnn lm --embedding word --encoder rcnn --target lm
pretrain crnn lm --embedding word --encoder crnn --target lm
pretrain attn mlm --embedding bert --encoder attn --target mlm
pretrain lstm_sub lm --embedding word --encoder lstm --target lm --subword_type char --sub_vocab_path "$vocab" \
  --subencoder lstm --sub_layers_num 1
grep -q "subwords: " "$t/lstm_sub.log" || fail "the subword table was not built"
"$ws/tools/check_model" --load_model_path "$t/lstm_sub.bin" --vocab_path "$vocab" "${small[@]}" --embedding word \
  --encoder lstm --target lm --subword_type char --sub_vocab_path "$vocab" --subencoder lstm --sub_layers_num 1 \
  > "$t/check_sub.out" 2> "$t/check_sub.log" || { tail -3 "$t/check_sub.log"; fail "check_model on the subword model"; }
grep -q "keys: OK" "$t/check_sub.out" || fail "the subword checkpoint does not load"

# s2s: 16 pairs of 3-5 letters (each target its source reversed), each 20 times in the corpus.
# The loss falls, and greedy decoding of the training pairs (check_model writes it for a target
# that generates) gets more of their tokens right at the end than after 100 steps.
awk 'BEGIN { srand(3); for (i = 0; i < 16; i++) { n = 3 + int(rand() * 3); s = ""; r = "";
  for (j = 0; j < n; j++) { c = sprintf("%c", 97 + int(rand() * 20)); s = s c; r = c r } p[i] = s "\t" r }
  for (k = 0; k < 20; k++) for (i = 0; i < 16; i++) print p[i] }' > "$t/pairs.txt"
"$ws/tools/preprocess" --corpus_path "$t/pairs.txt" --vocab_path "$vocab" --dataset_path "$t/s2s.uer" --target s2s \
  --seq_length 8 --processes_num 1 --tokenizer char 2> "$t/pre_s2s.log" || { tail -3 "$t/pre_s2s.log"; fail "preprocess --target s2s"; }
"$ws/tools/inspect_dataset" --dataset_path "$t/s2s.uer" --show 1 > "$t/s2s_inspect.txt" 2>&1 || fail "inspect_dataset s2s"
grep -q "tgt_in" "$t/s2s_inspect.txt" || fail "inspect_dataset shows no tgt_in"
s2s=(--emb_size 64 --hidden_size 64 --layers_num 1 --dropout 0.0 --embedding word --encoder lstm --target s2s)
"$ws/tools/pretrain" --dataset_path "$t/s2s.uer" --vocab_path "$vocab" "${s2s[@]}" \
  --output_model_path "$t/s2s.bin" --total_steps 1000 --report_steps 100 --save_checkpoint_steps 100 --batch_size 16 \
  --learning_rate 1e-2 --warmup 0.05 --optimizer adamw 2> "$t/s2s.log" || { tail -3 "$t/s2s.log"; fail "pretrain --target s2s"; }
losses=$(sed -n 's/.*steps|.*| loss *\([0-9.]*\).*/\1/p' "$t/s2s.log")
first=$(echo "$losses" | head -1); last=$(echo "$losses" | tail -1)
echo "s2s: loss by report $(echo $losses)"
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l <= 0.6 * f) }' || fail "s2s: the loss $first -> $last does not fall well"
"$python" - "$t" "$vocab" <<'PY' || fail "could not write the s2s pairs as check_model inputs"
import sys, torch
t, vocab = sys.argv[1], sys.argv[2]
ids = {w.rstrip("\n"): i for i, w in enumerate(open(vocab, encoding="utf-8"))}
pairs = [l.rstrip("\n").split("\t") for l in open(f"{t}/pairs.txt")][:16]
L = 8
def row(seq, lead, tail):
    r = ([ids["[CLS]"]] if lead else []) + [ids[c] for c in seq] + ([ids["[SEP]"]] if tail else [])
    return r + [0] * (L - len(r))
src = torch.tensor([row(s, True, True) for s, _ in pairs]); seg = (src > 0).long()
torch.save({"src": src, "seg": seg, "tgt_in": torch.tensor([row(g, True, False) for _, g in pairs]),
            "tgt": torch.tensor([row(g, False, True) for _, g in pairs])}, f"{t}/s2s_io.pt")
PY
for m in s2s.bin-100 s2s.bin; do
  "$ws/tools/check_model" --load_model_path "$t/$m" --vocab_path "$vocab" "${s2s[@]}" --inputs_path "$t/s2s_io.pt" \
    --output_path "$t/$m.out.pt" > "$t/$m.check" 2>&1 || { tail -3 "$t/$m.check"; fail "check_model $m"; }
done
"$python" - "$t" <<'PY' || fail "greedy decoding of the training pairs did not improve"
import sys, torch
t = sys.argv[1]
tgt = torch.load(f"{t}/s2s_io.pt")["tgt"]; mask = tgt > 0
acc = lambda m: ((torch.load(f"{t}/{m}.out.pt")["greedy_decode"] == tgt) & mask).sum().item() / mask.sum().item()
a, b = acc("s2s.bin-100"), acc("s2s.bin")
print(f"s2s: greedy decoding of the 16 training pairs, tokens right: {a:.2f} after 100 steps, {b:.2f} after 1000")
assert b >= a + 0.08 and b >= 1.5 * a, (a, b)
PY
printf 'x\n' > "$t/notab.txt"
set +e; "$ws/tools/preprocess" --corpus_path "$t/notab.txt" --vocab_path "$vocab" --dataset_path "$t/bad.uer" --target s2s \
  --processes_num 1 > /dev/null 2> "$t/notab.err"; rc=$?; set -e
[[ $rc == 1 || $rc == 2 ]] && grep -q "notab.txt:1: no tab" "$t/notab.err" || { cat "$t/notab.err"; fail "a line without a tab (exit $rc)"; }

# Sizes that cannot work, each named.
expect() {  # NAME SUBSTRING FLAGS...
  local name=$1 want=$2; shift 2
  set +e; "$ws/tools/pretrain" --dataset_path "$t/lm.uer" --vocab_path "$vocab" "${small[@]}" --target lm \
    --output_model_path "$t/bad_$name.bin" --total_steps 1 "$@" > /dev/null 2> "$t/$name.err"; local rc=$?; set -e
  [[ $rc == 1 || $rc == 2 ]] || { tail -3 "$t/$name.err"; fail "$name: exit code $rc"; }
  grep -q -- "$want" "$t/$name.err" || { tail -3 "$t/$name.err"; fail "$name: no \"$want\""; }
  ! grep -q "terminate called\|Exception raised from" "$t/$name.err" || fail "$name: a LibTorch backtrace"
  echo "refused ($name): $(grep -o -- "$want.*" "$t/$name.err" | head -1 | cut -c1-110)"
}
expect rcnn_width '"emb_size" (32) and "hidden_size" (64) must be equal' --encoder rcnn --emb_size 32
expect crnn_width '"emb_size" (32) and "hidden_size" (64) must be equal' --encoder crnn --emb_size 32
expect kernel '"kernel_size" (600) is larger' --encoder cnn --kernel_size 600
expect no_sub_vocab 'needs --sub_vocab_path' --encoder lstm --subword_type char
printf 'a\nb\n' > "$t/nounk.txt"
expect sub_vocab_unk 'sub_vocab_path' --encoder lstm --subword_type char --sub_vocab_path "$t/nounk.txt"
printf 'encoder: "gatedcnn"\noptions { key: "gatedcnn.residual" value: "sideways" }\n' > "$t/bad_gated.pbtxt"
expect gated_option 'gatedcnn.residual' --config_path "$t/bad_gated.pbtxt"
echo PASS
