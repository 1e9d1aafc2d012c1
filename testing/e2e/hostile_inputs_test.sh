#!/usr/bin/env bash
# The tools tried as a hostile user would (issue 13): each fault ends with exit 1 or 2 and a one-line
# message naming the file (line, instance), never an abort, a hang or a LibTorch backtrace, and
# leaves no temporary file behind.
#  - a damaged dataset payload (a flipped token id; an offset of 2^40);
#  - a GBK corpus and TSV (refused with file:line; --replace_invalid_utf8 reads them);
#  - a vocabulary without [CLS] for run_classifier; a UTF-8 BOM in a vocabulary (stripped);
#  - directories where files belong;
#  - a fresh run over an earlier run's checkpoints (refused; --overwrite_checkpoints);
#  - what a kill -9 left (removed at the next start); preprocess stopped by SIGTERM;
#  - a full disk (a small tmpfs, where this machine lets the test mount one) during pretrain's and
#    run_classifier's saves: the last good checkpoint loads and --resume succeeds once space is freed.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
{ echo "[PAD]"; for i in $(seq 1 99); do echo "[unused$i]"; done; printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for c in a b c d e f g h x; do echo $c; done; } > "$t/vocab.txt"
for i in $(seq 1 50); do echo "abcdefgh"; echo "hgfedcba"; echo "abchdefg"; done > "$t/corpus.txt"
printf 'label\ttext_a\n' > "$t/train.tsv"; for i in $(seq 1 10); do printf '1\txabc\n0\tabcd\n'; done >> "$t/train.tsv"
model=(--emb_size 32 --hidden_size 32 --feedforward_size 64 --layers_num 1 --heads_num 2 --dropout 0)
pre=(--vocab_path "$t/vocab.txt" --tokenizer char --seq_length 16)
"$ws/tools/preprocess" --corpus_path "$t/corpus.txt" "${pre[@]}" --dataset_path "$t/mlm.uer" --target mlm --dup_factor 1 \
  2> "$t/pre.log" || { tail -3 "$t/pre.log"; fail "preprocess"; }
pt=(--vocab_path "$t/vocab.txt" --target mlm "${model[@]}" --report_steps 2 --batch_size 8 --learning_rate 1e-3)
cls=(--vocab_path "$t/vocab.txt" "${model[@]}" --tokenizer char --seq_length 8 --epochs_num 1 --batch_size 4)

expect() {  # NAME CODE EXPECTED-SUBSTRING -- COMMAND...
  local name=$1 code=$2 want=$3; shift 4
  set +e; "$@" > "$t/$name.out" 2> "$t/$name.err"; local rc=$?; set -e
  [[ $rc == "$code" ]] || { tail -3 "$t/$name.err"; fail "$name: exit code $rc, expected $code"; }
  grep -qF -- "$want" "$t/$name.err" || { tail -3 "$t/$name.err"; fail "$name: expected \"$want\""; }
  echo "$name: $(grep -F -- "$want" "$t/$name.err" | head -1 | cut -c1-200)"
}
no_temporaries() {  # DIR
  local left
  left=$(find "$1" -name '*.tmp.*' -o -name '*.probe.*' | head -3)
  [[ -z "$left" ]] || fail "temporary files left in $1: $left"
}

# A damaged payload: one flipped bit in a token id, then an offset of 2^40.
flip_bits() {  # IN OUT BYTE-OFFSET XOR
  cp "$1" "$2"
  local b; b=$(od -An -tu1 -j "$3" -N1 "$2" | tr -d ' ')
  printf "$(printf '\\%03o' $(( b ^ $4 )))" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}
flip_bits "$t/mlm.uer" "$t/flip.uer" $(( $(stat -c %s "$t/mlm.uer") - 10 )) 16
expect flipped_payload 1 "flip.uer: the payload's CRC-32 is" -- "$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/flip.uer" \
  --output_model_path "$t/flip/m.bin" --total_steps 2
expect flipped_inspect 1 "flip.uer: the payload's CRC-32 is" -- "$ws/tools/inspect_dataset" --dataset_path "$t/flip.uer"
cp "$t/mlm.uer" "$t/offset.uer"
printf '\x00\x00\x00\x00\x00\x01\x00\x00' | dd of="$t/offset.uer" bs=1 seek=256 conv=notrunc status=none
expect huge_offset 1 "offset.uer: the" -- "$ws/tools/inspect_dataset" --dataset_path "$t/offset.uer"

# GBK text: refused at its line by preprocess and run_classifier, as by tokenize and build_vocab.
{ echo "abcd"; printf '\xc4\xe3\xba\xc3abc\n'; } > "$t/gbk.txt"
expect gbk_preprocess 2 "gbk.txt:2: invalid UTF-8 at byte 0 (use --replace_invalid_utf8" -- \
  "$ws/tools/preprocess" --corpus_path "$t/gbk.txt" "${pre[@]}" --dataset_path "$t/gbk.uer" --target mlm
[[ ! -e "$t/gbk.uer" ]] || fail "a dataset from a refused corpus"
expect gbk_build_vocab 2 "gbk.txt:2: invalid UTF-8 at byte 0 (use --replace_invalid_utf8" -- \
  "$ws/tools/build_vocab" --corpus_path "$t/gbk.txt" --vocab_path "$t/gbk_vocab.txt" --tokenizer char
"$ws/tools/preprocess" --corpus_path "$t/gbk.txt" "${pre[@]}" --dataset_path "$t/gbk.uer" --target mlm --replace_invalid_utf8 \
  2> "$t/gbk_replaced.err" || { tail -3 "$t/gbk_replaced.err"; fail "--replace_invalid_utf8 (preprocess)"; }
{ printf 'label\ttext_a\n'; cat <(tail -n +2 "$t/train.tsv"); printf '1\t\xc4\xe3abc\n'; } > "$t/gbk.tsv"
expect gbk_classifier 2 "gbk.tsv:22: invalid UTF-8 at byte 2 (use --replace_invalid_utf8" -- \
  "$ws/tools/run_classifier" "${cls[@]}" --train_path "$t/gbk.tsv" --dev_path "$t/train.tsv" --output_model_path "$t/gbk.bin"
"$ws/tools/run_classifier" "${cls[@]}" --train_path "$t/gbk.tsv" --dev_path "$t/train.tsv" --output_model_path "$t/gbk.bin" \
  --replace_invalid_utf8 > /dev/null 2> "$t/gbk_cls.err" || { tail -3 "$t/gbk_cls.err"; fail "--replace_invalid_utf8 (run_classifier)"; }

# Vocabularies: no [CLS] for a classifier; a BOM (stripped: the dataset's vocabulary is the same).
grep -v '^\[CLS\]$' "$t/vocab.txt" > "$t/no_cls.txt"
expect no_cls 2 "no_cls.txt has no [CLS] token (task classifier needs it)" -- "$ws/tools/run_classifier" "${cls[@]}" \
  --vocab_path "$t/no_cls.txt" --train_path "$t/train.tsv" --dev_path "$t/train.tsv" --output_model_path "$t/nocls.bin"
{ printf '\xef\xbb\xbf'; cat "$t/vocab.txt"; } > "$t/bom.txt"
"$ws/tools/pretrain" "${pt[@]}" --vocab_path "$t/bom.txt" --dataset_path "$t/mlm.uer" --output_model_path "$t/bom/m.bin" \
  --total_steps 2 2> "$t/bom.err" || { tail -3 "$t/bom.err"; fail "a vocabulary with a BOM"; }

# A model too large to allocate: the size is said, no abort.
expect huge_model 2 "encoder \"bert\" cannot be built from this config" -- "$ws/tools/pretrain" "${pt[@]}" \
  --dataset_path "$t/mlm.uer" --emb_size 300000 --hidden_size 300000 --heads_num 1 --output_model_path "$t/huge/m.bin" --total_steps 2
grep -q "you tried to allocate 360000000000 bytes" "$t/huge_model.err" || fail "huge_model: the size is not said"

# Directories where files belong.
mkdir -p "$t/adir"
expect dir_vocab 2 "vocabulary $t/adir is a directory" -- "$ws/tools/pretrain" "${pt[@]}" --vocab_path "$t/adir" \
  --dataset_path "$t/mlm.uer" --output_model_path "$t/d/m.bin" --total_steps 2
expect dir_dataset 2 "dataset $t/adir is a directory" -- "$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/adir" \
  --output_model_path "$t/d/m.bin" --total_steps 2
expect dir_output 2 "--output_model_path $t/adir is a directory" -- "$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" \
  --output_model_path "$t/adir" --total_steps 2
expect dir_pretrained 2 "adir holds no model.safetensors, model.safetensors.index.json or pytorch_model.bin (not a HuggingFace model folder)" -- "$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" \
  --pretrained_model_path "$t/adir" --output_model_path "$t/d/m.bin" --total_steps 2
expect dir_dataset_out 2 "--dataset_path $t/adir is a directory" -- "$ws/tools/preprocess" --corpus_path "$t/corpus.txt" \
  "${pre[@]}" --dataset_path "$t/adir" --target mlm

# check_model's inputs are checked before the forward pass: dtype, shape, id range.
"$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" --output_model_path "$t/cm/m.bin" --total_steps 1 \
  2> "$t/cm.err" || { tail -3 "$t/cm.err"; fail "pretrain for check_model"; }
if has_python torch || skip_part "check_model inputs" "no $python with torch to write them"; then
  "$python" - "$t" <<'PY'
import sys, torch
t = sys.argv[1]
src = torch.tensor([[101, 105, 106, 0]]); seg = torch.tensor([[1, 1, 1, 0]]); tgt = torch.tensor([[0, 105, 0, 0]])
torch.save({"src": src.float(), "seg": seg, "tgt_mlm": tgt}, f"{t}/float.pt")
torch.save({"src": src[0], "seg": seg[0], "tgt_mlm": tgt}, f"{t}/shape.pt")
torch.save({"src": src + 1000, "seg": seg, "tgt_mlm": tgt}, f"{t}/range.pt")
torch.save({"src": src, "seg": seg, "tgt_mlm": tgt[:, :2].repeat(2, 1)}, f"{t}/batch.pt")
PY
  cm=("$ws/tools/check_model" --load_model_path "$t/cm/m.bin" --vocab_path "$t/vocab.txt" "${model[@]}" --target mlm
      --output_path "$t/cm/out.pt")
  expect cm_dtype 2 "float.pt: \"src\" holds Float values; ids are integers" -- "${cm[@]}" --inputs_path "$t/float.pt"
  expect cm_shape 2 "shape.pt: src [4] and seg [4] must both be [batch, seq_length]" -- "${cm[@]}" --inputs_path "$t/shape.pt"
  expect cm_range 2 "range.pt: src holds id 1106, past the 113 tokens of" -- "${cm[@]}" --inputs_path "$t/range.pt"
  expect cm_batch 2 "batch.pt: \"tgt_mlm\" is [2, 2]; its first dimension must be the batch (1)" -- "${cm[@]}" --inputs_path "$t/batch.pt"
fi

# An earlier run's checkpoints: refused without --resume; --overwrite_checkpoints starts anew.
"$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" --output_model_path "$t/run/m.bin" --total_steps 4 \
  --save_checkpoint_steps 2 2> "$t/run1.err" || { tail -3 "$t/run1.err"; fail "first run"; }
expect earlier_run 2 "m.bin-4 (and 1 more of steps 2..4) are checkpoints of an earlier run" -- "$ws/tools/pretrain" "${pt[@]}" \
  --dataset_path "$t/mlm.uer" --output_model_path "$t/run/m.bin" --total_steps 2 --save_checkpoint_steps 2
"$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" --output_model_path "$t/run/m.bin" --total_steps 2 \
  --save_checkpoint_steps 2 --overwrite_checkpoints 2> "$t/run2.err" || { tail -3 "$t/run2.err"; fail "--overwrite_checkpoints"; }
[[ ! -e "$t/run/m.bin-4" ]] || fail "--overwrite_checkpoints kept the older run's step 4"
# A resume with another batch size says so.
"$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" --output_model_path "$t/run/m.bin" --total_steps 4 \
  --save_checkpoint_steps 2 --batch_size 4 --resume 2> "$t/run3.err" || { tail -3 "$t/run3.err"; fail "resume"; }
grep -q "batch_size was 8 in the run that wrote $t/run/m.bin-2, now 4" "$t/run3.err" || fail "no word on the changed batch size"

# What a kill -9 leaves (a half-written checkpoint of a dead process) is removed at the next start.
sh -c 'exit 0' & dead=$!; wait $dead
head -c 100000 /dev/zero > "$t/run/m.bin-6.tmp.$dead"
"$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" --output_model_path "$t/run/m.bin" --total_steps 6 \
  --save_checkpoint_steps 2 --resume 2> "$t/run4.err" || { tail -3 "$t/run4.err"; fail "resume after kill -9"; }
grep -q "removed 1 temporary file(s)" "$t/run4.err" || fail "no word on the stale temporary"
no_temporaries "$t/run"

# preprocess stopped by SIGTERM: exit 143, nothing written, no part files.
for i in $(seq 1 4000); do echo "abcdefghabcdefghabcdefghabcdefghabcdefgh"; done > "$t/long.txt"
for i in 1 2 3 4 5 6; do cat "$t/long.txt"; done > "$t/longer.txt"
"$ws/tools/preprocess" --corpus_path "$t/longer.txt" "${pre[@]}" --dataset_path "$t/stopped.uer" --target mlm --dup_factor 100 \
  --processes_num 2 2> "$t/stop.err" &
pp=$!
sleep 1
kill -TERM $pp
set +e; wait $pp; rc=$?; set -e
[[ $rc != 0 ]] || fail "preprocess finished before SIGTERM came: make its corpus longer"
[[ $rc == 143 ]] || { tail -3 "$t/stop.err"; fail "preprocess after SIGTERM: exit $rc, expected 143"; }
grep -q "stopped by signal 15; $t/stopped.uer was not written" "$t/stop.err" || { tail -3 "$t/stop.err"; fail "no stop message"; }
[[ ! -e "$t/stopped.uer" ]] || fail "a dataset after SIGTERM"
echo "preprocess_sigterm: $(grep -o 'stopped by signal.*' "$t/stop.err" | head -1)"
no_temporaries "$t"

# A full disk: the output folder on a 6 MB tmpfs, filled up before a save.
disk="$t/disk"
mkdir -p "$disk"
cat > "$t/full_disk.sh" <<EOF
set -euo pipefail
mount -t tmpfs -o size=6m tmpfs "$disk"
source "$t/full_disk_body.sh"
EOF
cat > "$t/full_disk_body.sh" <<'EOF'
fill() { head -c "$(( $(df --output=avail -B1 "$disk" | tail -1) - $1 ))" /dev/zero > "$disk/filler" || true; }
"$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" --output_model_path "$disk/m.bin" --total_steps 4 \
  --save_checkpoint_steps 2 2> "$t/full1.err" || { tail -3 "$t/full1.err"; fail "pretrain on the tmpfs"; }
fill 40000
expect full_pretrain 1 "No space left on device" -- "$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" \
  --output_model_path "$disk/m.bin" --total_steps 8 --save_checkpoint_steps 2 --resume
no_temporaries "$disk"
[[ $(grep -c '^E' "$t/full_pretrain.err") == 1 ]] || { grep '^E' "$t/full_pretrain.err"; fail "more than one error line"; }
"$ws/tools/check_model" --load_model_path "$disk/m.bin-4" --vocab_path "$t/vocab.txt" "${model[@]}" --target mlm \
  > /dev/null 2> "$t/full_check.err" || { tail -3 "$t/full_check.err"; fail "the last good checkpoint does not load"; }
rm -f "$disk/filler"
"$ws/tools/pretrain" "${pt[@]}" --dataset_path "$t/mlm.uer" --output_model_path "$disk/m.bin" --total_steps 8 \
  --save_checkpoint_steps 2 --resume 2> "$t/full2.err" || { tail -3 "$t/full2.err"; fail "--resume once space is freed"; }
grep -q "resumed from $disk/m.bin-4 at step 5" "$t/full2.err" || fail "no resume from step 4"
rm -f "$disk"/m.bin*
fill 40000
expect full_classifier 1 "No space left on device" -- "$ws/tools/run_classifier" "${cls[@]}" --train_path "$t/train.tsv" \
  --dev_path "$t/train.tsv" --output_model_path "$disk/cls.bin"
no_temporaries "$disk"
expect full_preprocess 1 "No space left on device" -- "$ws/tools/preprocess" --corpus_path "$t/long.txt" "${pre[@]}" \
  --dataset_path "$disk/big.uer" --target mlm
no_temporaries "$disk"
rm -f "$disk/filler"
"$ws/tools/run_classifier" "${cls[@]}" --train_path "$t/train.tsv" --dev_path "$t/train.tsv" \
  --output_model_path "$disk/cls.bin" > /dev/null 2> "$t/full3.err" || { tail -3 "$t/full3.err"; fail "run_classifier once space is freed"; }
echo "full disk: pretrain, run_classifier and preprocess stopped with a message; resumed once space was freed"
EOF
export ws t disk
export -f fail expect no_temporaries
pt_s=$(declare -p pt model cls pre)
# A mount namespace of its own (as root), or a user namespace with one (as anyone, where the kernel allows it).
mount_ns=()
if ! command -v mount > /dev/null; then
  :  # no mount(8) (util-linux's mount package)
elif unshare -m true 2> /dev/null; then
  mount_ns=(unshare -m)
elif unshare -rm true 2> /dev/null; then
  mount_ns=(unshare -rm)
fi
if [[ ${#mount_ns[@]} -gt 0 ]] ||
    skip_part "full disk" "this machine lets the test mount no tmpfs (no mount(8), or unshare -m and unshare -rm both refused)"; then
  "${mount_ns[@]}" --propagation private bash -c "$pt_s; $(cat "$t/full_disk.sh")"
fi

# Not one abort or LibTorch backtrace in any log of this test.
! grep -lE "terminate called|Exception raised from|frame #[0-9]" "$t"/*.err "$t"/*.log 2> /dev/null \
  || fail "a backtrace in the logs above"
echo PASS
