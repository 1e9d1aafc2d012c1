#!/usr/bin/env bash
# Third-party plugins built outside Bazel: docs/examples/build_outside_bazel.sh compiles the examples
# with plain g++ against this build's SDK (the headers, the generated config.pb.h and sdk_hash.h,
# libuer_core.so and libuer_modules.so): the acme.tiny encoder (through its old wrapper script), the
# acme.length target with its torch-free data side, and the acme.keyword task. Then list_plugins
# lists them (also from their folder); preprocess and pretrain train the target (its report part,
# a falling loss); the generic finetune and infer tools fine-tune and apply the task, which brings its
# own flag (--keyword_column) and its own HuggingFace head keys (convert_bert_from_uer_to_huggingface).
# Skips (fails under CI) without g++ or without the torch wheel of tools/bootstrap.sh.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
ex="$ws/docs/examples"
tools="$ws/tools"

cxx="${CXX:-g++}"
command -v "$cxx" >/dev/null 2>&1 || skip "no $cxx to build the plugins with"
# The wheel Bazel's @torch was made from: $UER_VENV, else the source tree's .venv (lib.sh's $python).
need_python torch
torch_dir=$("$python" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("torch").origin))') ||
  fail "cannot find torch's folder for $python"
[[ -f "$torch_dir/include/torch/headeronly/version.h" ]] || skip "no LibTorch headers in $torch_dir"

# ---- (i) Build the examples out of tree, two at a time (the machine may have two cores). ----------
export UER_SRC="$ws" GEN="$ws" UER_LIB="$ws/core" TORCH="$torch_dir" CXX="$cxx" CXXFLAGS="-O0 -DNDEBUG"
so="$t/plugins"
mkdir -p "$so"
encoder_so="$so/libacme_tiny.so"
target_so="$so/libacme_length_target.so"
data_so="$so/libacme_length_data.so"
task_so="$so/libacme_keyword_task.so"
pids=()
logs=()
start() {  # start LOG COMMAND...: runs it in the background
  local log="$1"
  shift
  "$@" > "$log" 2>&1 &
  pids+=($!)
  logs+=("$log")
}
finish() {  # waits for what start began; prints the log of each failure
  local i rc=0
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      echo "build failed:"
      cat "${logs[$i]}"
      rc=1
    fi
  done
  pids=()
  logs=()
  return $rc
}
build=(bash "$ex/build_outside_bazel.sh")
start "$t/build_target.log" "${build[@]}" "$ex/acme_target/acme_length_target.cc" "$target_so"
start "$t/build_task.log" "${build[@]}" "$ex/acme_task/acme_keyword_task.cc" "$task_so"
finish || fail "the target or the task did not build"
start "$t/build_encoder.log" env OUT="$encoder_so" bash "$ex/acme_encoder/build_outside_bazel.sh"
start "$t/build_data.log" "${build[@]}" "$ex/acme_target/acme_length_data.cc" "$data_so" --no-torch
finish || fail "the encoder or the data side did not build"
for f in "$encoder_so" "$target_so" "$data_so" "$task_so"; do
  [[ -f "$f" ]] || fail "no $f"
  grep -qxF "$f" "$t"/build_*.log || fail "the build script did not print $f"
done
# Each carries a stamp and links core dynamically.
if command -v readelf >/dev/null 2>&1 || skip_part "stamps and dynamic links" "no readelf"; then
  for f in "$encoder_so" "$target_so" "$data_so" "$task_so"; do
    sections=$(readelf -S -W "$f")
    dynamic=$(readelf -d "$f")
    grep -q "\.uer_plugin_stamp" <<< "$sections" || fail "$f has no .uer_plugin_stamp section"
    grep -q "NEEDED.*\[libuer_core.so\]" <<< "$dynamic" || fail "$f does not link libuer_core.so"
  done
  dynamic=$(readelf -d "$data_so")
  if grep -E "NEEDED.*\[lib(torch|torch_cpu|c10|uer_modules)\.so\]" <<< "$dynamic"; then
    fail "the torch-free data side links LibTorch or libuer_modules.so"
  fi
fi
echo "built 4 plugins out of tree"

# ---- (ii) A corpus of one sentence a line, its vocabulary (UER-py's ids for the specials). ----------
{ echo "[PAD]"; for i in $(seq 1 99); do echo "[unused$i]"; done; printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'
  for c in a b c d e f g h i j k l m n o p q r s t u v w x y z; do echo $c; done; } > "$t/vocab.txt"
# 200 lines of 2..30 letters, more short ones than long ones (so that the buckets are uneven).
awk 'BEGIN {
  srand(7); letters = "abcdefghijklmnopqrstuvwxyz"
  for (i = 0; i < 200; i++) {
    r = rand(); len = 2 + int(r * r * 29); s = ""
    for (j = 0; j < len; j++) s = s (j ? " " : "") substr(letters, 1 + int(rand() * 26), 1)
    print s
  }
}' > "$t/corpus.txt"

# ---- (iii) list_plugins: the kinds and names, from the files and from their folder. -----------------
check_listed() {  # check_listed OUTPUT: every example plugin listed with its file as origin
  local out="$1" kind name file
  for entry in "encoder acme.tiny $encoder_so" "target acme.length $target_so" \
               "target_data acme.length $data_so" "task acme.keyword $task_so"; do
    read -r kind name file <<< "$entry"
    echo "$out" | awk -v k="$kind" -v n="$name" -v f="$(readlink -f "$file")" \
      '$1 == k && $2 == n && $NF == f {found = 1} END {exit !found}' || { echo "$out"; fail "$kind $name not listed"; }
  done
}
out=$("$tools/list_plugins" --plugins="$encoder_so,$target_so,$data_so,$task_so" 2> "$t/list.err") ||
  { cat "$t/list.err"; fail "list_plugins refused the plugins"; }
check_listed "$out"
out=$("$tools/list_plugins" --plugins="$so" 2> "$t/list_dir.err") || { cat "$t/list_dir.err"; fail "list_plugins $so"; }
check_listed "$out"
echo "list_plugins lists encoder acme.tiny, target and target_data acme.length, task acme.keyword"

# ---- (iv) Pre-train the third-party target. ----------------------------------------------------------
"$tools/preprocess" --plugins="$data_so" --corpus_path "$t/corpus.txt" --vocab_path "$t/vocab.txt" \
  --dataset_path "$t/length.uer" --tokenizer space --seq_length 32 --target acme.length 2> "$t/preprocess.log" ||
  { cat "$t/preprocess.log"; fail "preprocess --target acme.length"; }
"$tools/pretrain" --plugins="$target_so,$data_so" --config_path "$ex/acme_target/tiny.pbtxt" --target acme.length \
  --dataset_path "$t/length.uer" --vocab_path "$t/vocab.txt" --output_model_path "$t/length.bin" \
  --total_steps 60 --report_steps 20 --save_checkpoint_steps 1000 --batch_size 16 --learning_rate 1e-3 \
  --dropout 0 2> "$t/pretrain.log" || { cat "$t/pretrain.log"; fail "pretrain --target acme.length"; }
grep "steps|" "$t/pretrain.log" > "$t/reports" || { cat "$t/pretrain.log"; fail "no report line"; }
cat "$t/reports"
[[ $(wc -l < "$t/reports") == 3 ]] || fail "expected 3 report lines (60 steps, one every 20)"
if grep -v -q "| acc: " "$t/reports"; then fail "a report line without the target's \"| acc: \""; fi
losses=$(sed -n 's/.*| loss *\([0-9][0-9.]*\).*/\1/p' "$t/reports")
first=$(head -n 1 <<< "$losses")
last=$(tail -n 1 <<< "$losses")
[[ -n "$first" && -n "$last" ]] || fail "no loss in the report lines"
awk -v a="$first" -v b="$last" 'BEGIN {exit !(b + 0 < a + 0)}' || fail "the loss did not fall: $first -> $last"
[[ -f "$t/length.bin" ]] || fail "no pre-trained model"
echo "pretrain --target acme.length: loss $first -> $last"

# ---- (v) Fine-tune and apply the third-party task with the generic tools. ---------------------------
# Texts of 3..10 letters; half of them hold the token "x" (label 1).
tsv() {  # tsv SEED ROWS WITH_LABEL
  awk -v seed="$1" -v n="$2" -v lab="$3" 'BEGIN {
    srand(seed); letters = "abcdefghijklmnopqrstuvwyz"
    print (lab ? "label\ttext_a" : "text_a")
    for (i = 0; i < n; i++) {
      len = 3 + int(rand() * 8); has = (rand() < 0.5) ? 1 : 0; at = int(rand() * len); s = ""
      for (j = 0; j < len; j++) {
        w = (has && j == at) ? "x" : substr(letters, 1 + int(rand() * 25), 1)
        s = s (j ? " " : "") w
      }
      print (lab ? (has "\t" s) : s)
    }
  }'
}
tsv 1 64 1 > "$t/train.tsv"
tsv 2 32 1 > "$t/dev.tsv"
tsv 3 16 0 > "$t/test.tsv"
"$tools/finetune" --task acme.keyword --plugins="$task_so" --train_path "$t/train.tsv" --dev_path "$t/dev.tsv" \
  --vocab_path "$t/vocab.txt" --config_path "$ws/models/bert/tiny.pbtxt" --tokenizer space --epochs_num 2 \
  --batch_size 8 --seq_length 16 --learning_rate 1e-3 --output_model_path "$t/keyword.bin" \
  > "$t/finetune.out" 2> "$t/finetune.log" || { cat "$t/finetune.log" "$t/finetune.out"; fail "finetune --task acme.keyword"; }
cat "$t/finetune.out"
grep -q "^best dev accuracy" "$t/finetune.out" || { cat "$t/finetune.log"; fail "no \"best dev accuracy\" line"; }
[[ -f "$t/keyword.bin" ]] || fail "no fine-tuned model"
"$tools/infer" --task acme.keyword --plugins="$task_so" --load_model_path "$t/keyword.bin" \
  --vocab_path "$t/vocab.txt" --config_path "$ws/models/bert/tiny.pbtxt" --tokenizer space --seq_length 16 \
  --test_path "$t/test.tsv" --prediction_path "$t/prediction.tsv" 2> "$t/infer.log" ||
  { cat "$t/infer.log"; fail "infer --task acme.keyword"; }
[[ "$(head -n 1 "$t/prediction.tsv")" == "label" ]] || { head -n 3 "$t/prediction.tsv"; fail "prediction header"; }
inputs=$(($(wc -l < "$t/test.tsv") - 1))
rows=$(($(wc -l < "$t/prediction.tsv") - 1))
[[ $rows == "$inputs" ]] || fail "$rows predictions for $inputs inputs"
tail -n +2 "$t/prediction.tsv" > "$t/predicted"
if grep -v -q -x "[01]" "$t/predicted"; then fail "a prediction that is not 0 or 1"; fi
echo "finetune and infer --task acme.keyword: $rows predictions"

# ---- (vi) The task's own flag and HuggingFace keys, declared by the plugin alone. ---------------------
"$tools/finetune" --task acme.keyword --plugins="$task_so" --help > "$t/help.out" 2>&1 || true
grep -q -- "-keyword_column (The column that holds the text.)" "$t/help.out" ||
  { cat "$t/help.out"; fail "finetune --task acme.keyword --help does not show the task's --keyword_column"; }
rc=0
"$tools/finetune" --task classifier --keyword_column words --train_path x 2> "$t/other_task.err" || rc=$?
[[ $rc == 2 ]] && grep -q "unknown flag --keyword_column" "$t/other_task.err" ||
  { cat "$t/other_task.err"; fail "--keyword_column without acme.keyword: exit $rc, expected 2 and an unknown flag"; }
for f in train dev; do sed '1s/text_a/words/' "$t/$f.tsv" > "$t/${f}_words.tsv"; done
words=(--task acme.keyword --plugins="$task_so" --train_path "$t/train_words.tsv" --dev_path "$t/dev_words.tsv"
       --vocab_path "$t/vocab.txt" --config_path "$ws/models/bert/tiny.pbtxt" --tokenizer space --epochs_num 1
       --batch_size 8 --seq_length 16 --output_model_path "$t/words.bin")
rc=0
"$tools/finetune" "${words[@]}" > /dev/null 2> "$t/words_default.log" || rc=$?
[[ $rc == 2 ]] && grep -q 'has no column "text_a"' "$t/words_default.log" ||
  { cat "$t/words_default.log"; fail "a words column without --keyword_column: exit $rc, expected 2 naming text_a"; }
"$tools/finetune" "${words[@]}" --keyword_column words > "$t/words.out" 2> "$t/words.log" ||
  { cat "$t/words.log"; fail "finetune --keyword_column words"; }
grep -q "^best dev accuracy" "$t/words.out" || fail "--keyword_column words: no \"best dev accuracy\" line"
"$tools/convert_bert_from_uer_to_huggingface" --plugins="$task_so" --target acme.keyword --verify \
  --input_model_path "$t/keyword.bin" --output_model_path "$t/keyword_hf.bin" > "$t/convert.out" 2> "$t/convert.log" ||
  { cat "$t/convert.log"; fail "convert_bert_from_uer_to_huggingface --target acme.keyword"; }
"$python" - "$t/keyword.bin" "$t/keyword_hf.bin" <<'PY' || fail "the HuggingFace file does not hold the task's head"
import sys, torch
uer, hf = (torch.load(p, map_location="cpu") for p in sys.argv[1:])
for ours, theirs in (("output_layer.weight", "classifier.weight"), ("output_layer.bias", "classifier.bias")):
    assert torch.equal(uer[ours], hf[theirs]), (ours, theirs, sorted(hf)[:5])
assert "bert.encoder.layer.0.output.dense.weight" in hf, sorted(hf)[:5]
PY
echo "acme.keyword's --keyword_column and HuggingFace head (classifier.*) work without touching the tree"
echo PASS
