#!/usr/bin/env bash
# Tools run as users run them: `bazel run //tools:NAME -- FLAGS` typed in a subfolder of their own
# workspace (testing/lib.sh's bazel_run: the tool starts in its runfiles folder with bazel's
# BUILD_WORKING_DIRECTORY). Every relative path means the folder the command was typed in: inputs
# (../ included), outputs and their folders, lists (--model_list_path), --plugins; a typo is named
# as typed, not as a runfiles path.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
w="$t/work"; here="$w/project/sub"
mkdir -p "$here/in" "$w/plugins"
{ echo "[PAD]"; for i in $(seq 1 99); do echo "[unused$i]"; done; printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for c in a b c d e f g h; do echo $c; done; } > "$here/in/vocab.txt"
for i in $(seq 1 60); do echo "abcdefgh"; echo "hgfedcba"; done > "$w/project/corpus.txt"
ln -s "$ws/docs/examples/acme_encoder/libuer_encoder_acme_tiny.so" "$w/plugins/"  # as built, beside its libraries
run() {  # run LOG TOOL FLAGS...: typed in $here
  local log="$t/$1.log"
  shift
  bazel_run "$here" "$@" > "$log" 2>&1 || { tail -5 "$log"; fail "$1"; }
}

run tokenize tokenize --vocab_path in/vocab.txt --tokenizer char --input_path ../corpus.txt --output_path out/ids.txt
[[ $(wc -l < "$here/out/ids.txt") == 120 ]] || fail "tokenize: out/ids.txt is not beside the user"
run build_vocab build_vocab --corpus_path ../corpus.txt --vocab_path out/vocab.txt --tokenizer char
[[ -s "$here/out/vocab.txt" ]] || fail "build_vocab: no out/vocab.txt"
run preprocess preprocess --corpus_path ../corpus.txt --vocab_path in/vocab.txt --tokenizer char --seq_length 16 \
  --dataset_path out/d.uer --target mlm
run pretrain pretrain --dataset_path out/d.uer --vocab_path in/vocab.txt --emb_size 16 --hidden_size 16 \
  --feedforward_size 32 --heads_num 2 --layers_num 1 --target mlm --total_steps 2 --save_checkpoint_steps 1 \
  --batch_size 4 --output_model_path models/m.bin
[[ -s "$here/models/m.bin-1" && -s "$here/models/m.bin-2" ]] || fail "pretrain: no models/m.bin-STEP beside the user"
run average average_models --model_list_path models/m.bin-1 models/m.bin-2 --output_model_path out/avg.bin
[[ -s "$here/out/avg.bin" ]] || fail "average_models: no out/avg.bin"
run plugins list_plugins --plugins ../../plugins/libuer_encoder_acme_tiny.so --kind encoder
grep -q "acme.tiny" "$t/plugins.log" || fail "list_plugins: the relative --plugins path was not loaded"

# A typo is named as typed, with exit status 2.
set +e
bazel_run "$here" tokenize --vocab_path in/vocabb.txt --tokenizer char --input_path ../corpus.txt \
  --output_path out/x.txt > "$t/typo.log" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] || { cat "$t/typo.log"; fail "a missing vocabulary: exit $rc, expected 2"; }
grep -q "in/vocabb.txt" "$t/typo.log" || { cat "$t/typo.log"; fail "the missing path is not named as typed"; }
! grep -q "runfiles" "$t/typo.log" || { cat "$t/typo.log"; fail "the message names the runfiles folder"; }
! find "$ws/" -maxdepth 3 \( -name 'ids.txt' -o -name 'd.uer' -o -name 'm.bin*' \) | grep -q . \
  || fail "an output landed in the tools' runfiles folder"
echo "bazel run from $here: tokenize, build_vocab, preprocess, pretrain, average_models, list_plugins with relative paths; a typo named as typed"
echo PASS
