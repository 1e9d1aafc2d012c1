#!/usr/bin/env bash
# The pretrain binary, stopped by SIGTERM mid-run, writes a checkpoint and its training state, exits
# with 128+15, and --resume continues from there to the end.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
{ echo "[PAD]"; for i in $(seq 1 99); do echo "[unused$i]"; done; printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for c in a b c d e f g h i j k l m n o p; do echo $c; done; } > "$t/vocab.txt"
for d in $(seq 1 30); do echo "abcdefghijklmnop"; echo "ponmlkjihgfedcba"; echo; done > "$t/corpus.txt"
"$ws/tools/preprocess" --corpus_path "$t/corpus.txt" --vocab_path "$t/vocab.txt" --dataset_path "$t/d.uer" \
  --tokenizer char --seq_length 32 2>/dev/null
flags=(--dataset_path "$t/d.uer" --vocab_path "$t/vocab.txt" --output_model_path "$t/m.bin"
       --emb_size 32 --hidden_size 32 --feedforward_size 64 --heads_num 2 --layers_num 1
       --total_steps 100000 --save_checkpoint_steps 100000 --report_steps 5 --batch_size 4)
"$ws/tools/pretrain" "${flags[@]}" 2> "$t/log" &
pid=$!
for _ in $(seq 1 300); do grep -q "steps|" "$t/log" 2>/dev/null && break; sleep 0.1; done
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
[[ $rc == 143 ]] || { tail -5 "$t/log"; echo "FAIL: exit code $rc, expected 143"; exit 1; }
ck=$(ls "$t"/m.bin-* | grep -v state | head -1)
[[ -f "$ck" && -f "$ck.state" ]] || { echo "FAIL: no checkpoint with state after SIGTERM"; exit 1; }
step=${ck##*-}
echo "stopped after step $step: $ck"
"$ws/tools/pretrain" "${flags[@]}" --total_steps $((step + 3)) --resume 2> "$t/log2"
grep -q "resumed from $ck at step $((step + 1))" "$t/log2" || { cat "$t/log2"; echo "FAIL: not resumed"; exit 1; }
[[ -f "$t/m.bin" ]] || { echo "FAIL: no final model"; exit 1; }
echo PASS
