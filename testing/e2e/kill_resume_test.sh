#!/usr/bin/env bash
# A hard kill loses nothing saved: pretrain is killed with SIGKILL ten times (five at random moments,
# five while a checkpoint is being written, caught by its temporary file), each time started again
# with --resume; the run that ends this way has weights bit-identical to a run never stopped, and no
# temporary file is left. (No handler runs on SIGKILL: what keeps this so is that every file is
# written to a temporary name and renamed, and --resume takes the newest complete, intact pair.)
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared data/corpora/book_review.txt data/vocab/google_zh_vocab.txt
vocab="$shared/data/vocab/google_zh_vocab.txt"
export OMP_NUM_THREADS=1  # the same arithmetic in every run

head -400 "$shared/data/corpora/book_review.txt" > "$t/reviews.txt"
"$ws/tools/preprocess" --corpus_path "$t/reviews.txt" --vocab_path "$vocab" --dataset_path "$t/mlm.uer" \
  --target mlm --seq_length 32 --dup_factor 1 2> "$t/pre.log" || { tail -3 "$t/pre.log"; fail "preprocess"; }
# 21,128 words x 64: checkpoints of ~16 MB with their optimizer state, long enough to be caught.
pt=(--dataset_path "$t/mlm.uer" --vocab_path "$vocab" --emb_size 64 --hidden_size 64 --feedforward_size 128
    --heads_num 2 --layers_num 1 --target mlm --total_steps 400 --report_steps 40 --batch_size 8
    --learning_rate 1e-3 --save_checkpoint_steps 20)

start=$(date +%s%N)
"$ws/tools/pretrain" "${pt[@]}" --output_model_path "$t/ref/m.bin" 2> "$t/ref.log" || { tail -3 "$t/ref.log"; fail "reference run"; }
ref_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "the run never stopped took ${ref_ms} ms"

seed=${KILL_TEST_SEED:-$(date +%s)}
RANDOM=$seed
echo "random moments from seed $seed (KILL_TEST_SEED=$seed repeats them)"
kills=0 attempt=0
while (( kills < 10 )); do
  attempt=$((attempt + 1))
  (( attempt <= 40 )) || fail "only $kills kills in 40 attempts"
  "$ws/tools/pretrain" "${pt[@]}" --output_model_path "$t/run/m.bin" --resume 2> "$t/attempt$attempt.log" &
  pid=$!
  if (( kills % 2 == 0 )); then
    # A random moment within the first 40% of a whole run's time.
    ms=$(( 200 + RANDOM % (ref_ms * 4 / 10) ))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    how="after ${ms} ms"
  else
    # While a checkpoint is written: as soon as a temporary file of this process appears.
    for _ in $(seq 1 200000); do
      compgen -G "$t/run/m.bin-*.tmp.$pid" > /dev/null && break
      kill -0 $pid 2> /dev/null || break
    done
    caught=$(compgen -G "$t/run/m.bin-*.tmp.$pid" | head -1 || true)
    if [[ -n "$caught" ]]; then how="while writing $(basename "$caught")"; else how="(the process ended first)"; fi
  fi
  kill -KILL $pid 2> /dev/null || true
  set +e; wait $pid; rc=$?; set -e
  if [[ $rc == 137 ]]; then
    kills=$((kills + 1))
    newest=$(grep -o "resumed from [^ ]*" "$t/attempt$attempt.log" | head -1 | sed 's/resumed from //' || true)
    if [[ -n "$newest" ]]; then from="resumed from $(basename "$newest")"; else from="had no checkpoint to resume"; fi
    echo "kill $kills: $how; this attempt $from"
  elif [[ $rc == 0 ]]; then
    echo "attempt $attempt finished before its kill; starting over to get ten kills"
    rm -rf "$t/run"
  else
    tail -5 "$t/attempt$attempt.log"
    fail "attempt $attempt exited $rc"
  fi
done
"$ws/tools/pretrain" "${pt[@]}" --output_model_path "$t/run/m.bin" --resume 2> "$t/last.log" ||
  { tail -5 "$t/last.log"; fail "the last --resume"; }
grep -o "resumed from [^ ]* at step [0-9]*" "$t/last.log" || true
leftover=$(find "$t/run" -name '*.tmp.*' | head -3)
[[ -z "$leftover" ]] || fail "temporary files outlived their processes: $leftover"
cmp "$t/ref/m.bin" "$t/run/m.bin" || fail "the killed and resumed run's weights differ from the run never stopped"
echo "PASS: $kills kills; the final weights are byte-identical to the run never stopped"
