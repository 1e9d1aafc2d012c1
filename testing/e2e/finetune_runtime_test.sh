#!/usr/bin/env bash
# Fine-tuning runs on the one Trainer, so it has what pre-training has:
#  - two Gloo ranks (started by run_classifier itself) fine-tune to the same weights, within 1e-6,
#    as one process on the same global batches;
#  - SIGTERM mid-run saves a checkpoint and its state and exits 143; --resume continues, and the run
#    ends with the weights an uninterrupted run ends with, bit for bit.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
{ echo "[PAD]"; for i in $(seq 1 99); do echo "[unused$i]"; done; printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for c in a b c d e f g h i j k l m n o p x; do echo $c; done; } > "$t/vocab.txt"
toy() {  # $1 rows, $2 offset: the label says whether the text holds an "x"
  echo -e "label\ttext_a"
  local texts=(abcd xbcd dcba dxba cadb cxdb bdca bdxa ponm xonm)
  for ((i = 0; i < $1; i++)); do
    local s=${texts[$(((i + $2) % 10))]}
    [[ $s == *x* ]] && echo -e "1\t$s" || echo -e "0\t$s"
  done
}
toy 96 0 > "$t/train.tsv"; toy 20 3 > "$t/dev.tsv"
model=(--vocab_path "$t/vocab.txt" --train_path "$t/train.tsv" --dev_path "$t/dev.tsv" --tokenizer char
       --embedding bert --encoder bert --emb_size 32 --hidden_size 32 --feedforward_size 64 --heads_num 2
       --layers_num 1 --seq_length 8 --learning_rate 1e-3 --report_steps 4)
compare() {  # $1 $2 model files, $3 tolerance; without the venv's torch the comparison is passed over (fails under CI)
  has_python torch || { skip_part "weights comparison" "no $python with torch" || return 0; }
  "$python" - "$@" <<'PY'
import sys, torch
a, b = (torch.load(p, weights_only=True) for p in sys.argv[1:3])
assert a.keys() == b.keys(), a.keys() ^ b.keys()
diff = max((a[k] - b[k]).abs().max().item() for k in a)
print(f"max |{sys.argv[1]} - {sys.argv[2]}| = {diff:.3g}")
assert diff <= float(sys.argv[3]), diff
PY
}

# One process with batch 8 against two ranks with batch 4 each (dropout off: the ranks draw their own);
# the ranks given as UER-py spells them, --gpu_ranks 0 1 (with gloo: this machine's ranks).
"$ws/tools/run_classifier" "${model[@]}" --dropout 0 --epochs_num 2 --batch_size 8 --output_model_path "$t/one.bin" \
  > "$t/one.out" 2> "$t/one.log" || { tail "$t/one.log"; fail "one process"; }
"$ws/tools/run_classifier" "${model[@]}" --dropout 0 --epochs_num 2 --batch_size 4 --world_size 2 --gpu_ranks 0 1 --backend gloo \
  --master_ip "tcp://127.0.0.1:$(port)" --output_model_path "$t/two.bin" > "$t/two.out" 2> "$t/two.log" \
  || { tail -20 "$t/two.log"; fail "two ranks"; }
grep -q "started 2 ranks (0, 1) of 2" "$t/two.log" || fail "no launcher line"
grep -q "best dev accuracy" "$t/two.out" || fail "rank 0 printed no result"
compare "$t/one.bin" "$t/two.bin" 1e-6 || fail "two ranks end with other weights than one process"

# SIGTERM, then --resume, against a straight run (dropout on: the RNG state is restored too).
long=("${model[@]}" --epochs_num 6 --batch_size 2 --report_steps 1)
"$ws/tools/run_classifier" "${long[@]}" --output_model_path "$t/straight.bin" > /dev/null 2> "$t/straight.log" \
  || { tail "$t/straight.log"; fail "straight run"; }
"$ws/tools/run_classifier" "${long[@]}" --output_model_path "$t/cut.bin" > /dev/null 2> "$t/cut.log" &
pid=$!
for _ in $(seq 1 600); do grep -q "Epoch id: 2, Training steps: 10/" "$t/cut.log" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
[[ $rc == 143 ]] || { tail -5 "$t/cut.log"; fail "exit code $rc after SIGTERM, expected 143"; }
ck=$(ls "$t"/cut.bin-* | grep -v state | head -1)
[[ -f "$ck" && -f "$ck.state" ]] || fail "no checkpoint with its state after SIGTERM"
echo "stopped: $ck"
"$ws/tools/run_classifier" "${long[@]}" --output_model_path "$t/cut.bin" --resume > "$t/resumed.out" 2> "$t/resumed.log" \
  || { tail "$t/resumed.log"; fail "resume"; }
grep -q "resumed from $ck" "$t/resumed.log" || fail "not resumed"
compare "$t/straight.bin" "$t/cut.bin" 0 || fail "the resumed run ends with other weights than the straight one"
echo PASS
