#!/usr/bin/env bash
# Distributed pre-training on Gloo (CPU) over loopback:
#  - two ranks started by pretrain itself end with the same weights (within 1e-6) as one process
#    that sees the same global batch, with the gradients averaged during the backward pass (the
#    default), after it, and over accumulation micro-steps; so do two ranks started one by one as a cluster launcher would
#    (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT);
#  - a rendezvous that times out says how many ranks joined and which are missing;
#  - a master whose name does not resolve: one line, no LibTorch backtrace;
#  - killing one rank makes the other exit non-zero, naming the lost rank, within the timeout.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
source "$ws/testing/e2e/cls_toy.sh"
flags+=(--save_checkpoint_steps 4)
"$ws/tools/pretrain" "${flags[@]}" --batch_size 8 --output_model_path "$t/one.bin" 2> "$t/one.log" || { tail "$t/one.log"; fail "one process"; }
"$ws/tools/pretrain" "${flags[@]}" --batch_size 4 --world_size 2 --backend gloo --master_ip "tcp://127.0.0.1:$(port)" \
  --output_model_path "$t/two.bin" 2> "$t/two.log" || { tail "$t/two.log"; fail "two ranks"; }
grep -q "started 2 ranks (0, 1) of 2" "$t/two.log" || fail "no launcher line"
[[ -s "$t/two.bin-4" && -s "$t/two.bin-4.state" ]] || fail "rank 0 wrote no checkpoint"
# Resume with the same world size: from the step-4 checkpoint of that run to the same end.
cp "$t/two.bin-4" "$t/res.bin-4"; cp "$t/two.bin-4.state" "$t/res.bin-4.state"
"$ws/tools/pretrain" "${flags[@]}" --batch_size 4 --world_size 2 --backend gloo --master_ip "tcp://127.0.0.1:$(port)" \
  --output_model_path "$t/res.bin" --resume 2> "$t/res.log" || { tail "$t/res.log"; fail "resume"; }
grep -q "resumed from $t/res.bin-4 at step 5" "$t/res.log" || fail "no resume line"
if has_python torch || skip_part "resume weights comparison" "no $python with torch"; then
  "$python" -c "
import sys, torch
a, b = (torch.load(p, weights_only=True) for p in sys.argv[1:])
assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
" "$t/two.bin" "$t/res.bin" || fail "the resumed run ends with other weights than the straight one"
fi
# As a cluster launcher starts them.
p=$(port)
for r in 0 1; do
  RANK=$r WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$ws/tools/pretrain" "${flags[@]}" --batch_size 4 \
    --world_size 2 --backend gloo --output_model_path "$t/env.bin" 2> "$t/env$r.log" &
  pids[$r]=$!
done
wait ${pids[0]} || { tail "$t/env0.log"; fail "rank 0 (env)"; }
wait ${pids[1]} || { tail "$t/env1.log"; fail "rank 1 (env)"; }
# Gradients averaged after the backward pass instead of during it (--nooverlap_allreduce), and
# accumulation micro-steps (the overlapped reduction runs on the last one only): the same weights.
"$ws/tools/pretrain" "${flags[@]}" --batch_size 4 --world_size 2 --backend gloo --master_ip "tcp://127.0.0.1:$(port)" \
  --nooverlap_allreduce --output_model_path "$t/noov.bin" 2> "$t/noov.log" || { tail "$t/noov.log"; fail "no overlap"; }
"$ws/tools/pretrain" "${flags[@]}" --batch_size 8 --accumulation_steps 2 --output_model_path "$t/acc_one.bin" 2> "$t/acc_one.log" ||
  { tail "$t/acc_one.log"; fail "accumulation, one process"; }
"$ws/tools/pretrain" "${flags[@]}" --batch_size 4 --accumulation_steps 2 --world_size 2 --backend gloo \
  --master_ip "tcp://127.0.0.1:$(port)" --output_model_path "$t/acc_two.bin" 2> "$t/acc_two.log" ||
  { tail "$t/acc_two.log"; fail "accumulation, two ranks"; }
if has_python torch || skip_part "weights comparison" "no $python with torch"; then
  "$python" - "$t/acc_one.bin" "$t/acc_two.bin" <<'PY' || fail "accumulation: weights differ"
import sys, torch
one, two = (torch.load(p, weights_only=True) for p in sys.argv[1:])
diff = max((one[k] - two[k]).abs().max().item() for k in one)
print(f"accumulation 2, two ranks: max |one - two| = {diff:.3g}")
assert diff <= 1e-6, diff
PY
  "$python" - "$t/one.bin" "$t/two.bin" "$t/env.bin" "$t/noov.bin" <<'PY' || fail "weights differ"
import sys, torch
one = torch.load(sys.argv[1], weights_only=True)
init = None
for other in sys.argv[2:]:
    two = torch.load(other, weights_only=True)
    assert one.keys() == two.keys(), (one.keys() ^ two.keys())
    diff = max((one[k] - two[k]).abs().max().item() for k in one)
    print(f"{other}: max |one - two| = {diff:.3g}")
    assert diff <= 1e-6, diff
PY
fi

# Real mlm data (book reviews): ranks hold different numbers of masked tokens, so each rank's own
# mean (UER-py's way, --loss_normalization per_rank) trains otherwise than one process with the
# global batch; the default normalises by the count of all ranks and ends with the same weights.
if [[ -s "$shared/data/corpora/book_review.txt" && -s "$shared/data/vocab/google_zh_vocab.txt" ]] && has_python torch ||
    skip_part "mlm normalisation" "no $shared/data/corpora/book_review.txt (set UER_SHARED_DIR) or no $python with torch"; then
  head -400 "$shared/data/corpora/book_review.txt" > "$t/reviews.txt"
  "$ws/tools/preprocess" --corpus_path "$t/reviews.txt" --vocab_path "$shared/data/vocab/google_zh_vocab.txt" \
    --dataset_path "$t/mlm.uer" --target mlm --seq_length 64 --dup_factor 1 2> "$t/mlm_pre.log" || { tail -3 "$t/mlm_pre.log"; fail "mlm preprocess"; }
  mlm=(--dataset_path "$t/mlm.uer" --vocab_path "$shared/data/vocab/google_zh_vocab.txt" --emb_size 32 --hidden_size 32
       --feedforward_size 64 --heads_num 2 --layers_num 1 --dropout 0 --target mlm --total_steps 3 --report_steps 1
       --learning_rate 1e-3 --save_checkpoint_steps 100)
  "$ws/tools/pretrain" "${mlm[@]}" --batch_size 8 --output_model_path "$t/mlm_one.bin" 2> "$t/mlm_one.log" || { tail "$t/mlm_one.log"; fail "mlm one"; }
  for norm in global per_rank; do
    "$ws/tools/pretrain" "${mlm[@]}" --batch_size 4 --world_size 2 --backend gloo --master_ip "tcp://127.0.0.1:$(port)" \
      --loss_normalization $norm --output_model_path "$t/mlm_$norm.bin" 2> "$t/mlm_$norm.log" || { tail "$t/mlm_$norm.log"; fail "mlm $norm"; }
  done
  "$python" - "$t/mlm_one.bin" "$t/mlm_global.bin" "$t/mlm_per_rank.bin" <<'PY' || fail "mlm weights"
import sys, torch
one, glob, per = (torch.load(p, weights_only=True) for p in sys.argv[1:])
d = lambda a: max((one[k] - a[k]).abs().max().item() for k in one)
print(f"mlm, two ranks: max |one - global| = {d(glob):.3g}, max |one - per_rank| = {d(per):.3g}")
assert d(glob) <= 1e-6, d(glob)
assert d(per) > 1e-5, d(per)
PY
fi

# A rendezvous where rank 1 never comes.
set +e
RANK=0 WORLD_SIZE=2 "$ws/tools/pretrain" "${flags[@]}" --batch_size 4 --world_size 2 --backend gloo \
  --master_ip "tcp://127.0.0.1:$(port)" --dist_timeout 3 --output_model_path "$t/alone.bin" 2> "$t/alone.log"
rc=$?
set -e
[[ $rc != 0 ]] || fail "a lonely rank 0 succeeded"
grep -q "timed out after 3 s: 1 of 2 ranks joined (0); missing: 1" "$t/alone.log" || { tail -3 "$t/alone.log"; fail "rendezvous message"; }

# A master whose name does not resolve: rank 1 stops with one line, no LibTorch backtrace.
set +e
RANK=1 WORLD_SIZE=2 "$ws/tools/pretrain" "${flags[@]}" --batch_size 4 --world_size 2 \
  --master_ip "tcp://no-such-host.invalid:$(port)" --dist_timeout 3 --output_model_path "$t/nohost.bin" 2> "$t/nohost.log"
rc=$?
set -e
[[ $rc != 0 ]] || fail "a rank with an unresolvable master succeeded"
grep -q "rank 1: the master's address no-such-host.invalid (--master_ip or the launcher's MASTER_ADDR) does not resolve" "$t/nohost.log" || { tail -3 "$t/nohost.log"; fail "unresolvable master: no message"; }
! grep -q "frame #\|Exception raised from" "$t/nohost.log" || { tail -5 "$t/nohost.log"; fail "unresolvable master: a LibTorch backtrace"; }

# Kill rank 1 mid-training: rank 0 must stop, naming it.
long=("${flags[@]}" --total_steps 1000000 --save_checkpoint_steps 1000000)
p=$(port)
for r in 0 1; do
  RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$ws/tools/pretrain" "${long[@]}" --batch_size 4 \
    --world_size 2 --backend gloo --dist_timeout 60 --output_model_path "$t/kill.bin" 2> "$t/kill$r.log" &
  pids[$r]=$!
done
for _ in $(seq 1 300); do grep -q "steps|" "$t/kill0.log" 2>/dev/null && break; sleep 0.1; done
kill -KILL ${pids[1]}
start=$SECONDS
set +e
wait ${pids[0]}
rc=$?
set -e
[[ $rc != 0 ]] || fail "rank 0 went on after rank 1 died"
(( SECONDS - start < 60 )) || fail "rank 0 took $((SECONDS - start)) s to notice"
grep -q "lost rank 1 during" "$t/kill0.log" || { tail -3 "$t/kill0.log"; fail "no message naming rank 1"; }
echo "rank 0 stopped $((SECONDS - start)) s after rank 1 was killed: $(grep -o 'lost rank 1 during [a-z -]*' "$t/kill0.log" | head -1)"

# The launcher names a child that dies.
"$ws/tools/pretrain" "${long[@]}" --batch_size 4 --world_size 2 --backend gloo --master_ip "tcp://127.0.0.1:$(port)" \
  --dist_timeout 60 --output_model_path "$t/launch.bin" 2> "$t/launch.log" &
lp=$!
for _ in $(seq 1 300); do grep -q "steps|" "$t/launch.log" 2>/dev/null && break; sleep 0.1; done
child=$(grep -a "rank 1 of 2 joined" "$t/launch.log" | awk '{print $3}' | head -1)
[[ -n "$child" ]] || fail "no rank 1 line"
kill -KILL "$child"
set +e
wait $lp
rc=$?
set -e
[[ $rc != 0 ]] || fail "the launcher exited 0 after a rank was killed"
grep -q "rank 1 (pid $child) was killed by signal 9" "$t/launch.log" || { tail -3 "$t/launch.log"; fail "launcher message"; }
echo PASS
