#!/usr/bin/env bash
# Distributed pre-training scaling on this machine: tokens/s of one process against N Gloo ranks
# started by pretrain itself (each rank gets cores / N threads), the same per-rank batch, BERT tiny
# on the book review corpus. Prints the speed-up and the scaling efficiency (speed-up / N), and what
# overlapping the gradient all-reduce with the backward pass gains (N ranks with and without).
# --link_mbit M (root, two ranks): the two ranks also run as two "machines", each in a network
# namespace of its own, pinned to a core of its own, joined by a veth pair whose both ends a token
# bucket holds to M Mbit/s, so the all-reduce costs what it would between machines; with and
# without the overlap. --link_only 1 skips the runs on this machine's loopback.
#
#   bench/distributed.sh [--shared ../shared] [--ranks 2] [--steps 40] [--config models/bert/tiny.pbtxt]
#                        [--link_mbit 0] [--link_only 0]
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${UER_SHARED_DIR:-../shared}"; RANKS=2; STEPS=40; CONFIG=models/bert/tiny.pbtxt; LINK_MBIT=0; LINK_ONLY=0
source bench/lib.sh
bench_flags "shared ranks steps config link_mbit link_only" "$@"
bazel build -c opt //tools:preprocess //tools:pretrain >/dev/null 2>&1
bazel-bin/tools/preprocess --corpus_path "$SHARED/data/corpora/book_review_bert.txt" --vocab_path "$VOCAB" \
  --dataset_path "$work/d.uer" --target bert --seq_length 128 --dup_factor 1 2>/dev/null
common=(--dataset_path "$work/d.uer" --vocab_path "$VOCAB" --config_path "$CONFIG" --total_steps "$STEPS"
        --save_checkpoint_steps 100000 --report_steps $((STEPS / 4)) --batch_size 32)
if [[ "$LINK_ONLY" == 0 ]]; then
  bazel-bin/tools/pretrain "${common[@]}" --output_model_path "$work/one.bin" > "$work/one" 2>&1
  bazel-bin/tools/pretrain "${common[@]}" --world_size "$RANKS" --backend gloo \
    --master_ip "tcp://127.0.0.1:$((20000 + RANDOM % 30000))" --output_model_path "$work/n.bin" > "$work/n" 2>&1
  bazel-bin/tools/pretrain "${common[@]}" --world_size "$RANKS" --backend gloo --nooverlap_allreduce \
    --master_ip "tcp://127.0.0.1:$((20000 + RANDOM % 30000))" --output_model_path "$work/s.bin" > "$work/s" 2>&1
  one=$(rate "$work/one"); n=$(rate "$work/n"); s=$(rate "$work/s")
  grep -h "buckets started" "$work/n" | sed 's/.*] //' 
  awk -v one=$one -v n=$n -v s=$s -v r=$RANKS -v cores=$(nproc) 'BEGIN {
    printf "1 process:  %8d tokens/s (%d cores)\n", one, cores
    printf "%d ranks:    %8d tokens/s (global batch %d x 32)\n", r, n, r
    printf "speed-up %.2fx, scaling efficiency %.0f%%\n", n / one, 100 * n / one / r
    printf "%d ranks, all-reduce after the backward pass (--nooverlap_allreduce): %d tokens/s; overlap gains %.2fx\n", r, s, n / s }'
fi

[[ "$LINK_MBIT" != 0 ]] || exit 0
# Two "machines" on a link of LINK_MBIT Mbit/s.
a="uer_bench_a$$"; b="uer_bench_b$$"
trap 'ip netns del "$a" 2> /dev/null; ip netns del "$b" 2> /dev/null; rm -rf "$work"' EXIT
ip netns add "$a" && ip netns add "$b" || { echo "--link_mbit needs the rights to create network namespaces" >&2; exit 2; }
ip link add "ba$$" type veth peer name "bb$$"
ip link set "ba$$" netns "$a"; ip link set "bb$$" netns "$b"
ip -n "$a" addr add 10.232.0.1/24 dev "ba$$"; ip -n "$b" addr add 10.232.0.2/24 dev "bb$$"
for n in "$a" "$b"; do ip -n "$n" link set lo up; done
ip -n "$a" link set "ba$$" up; ip -n "$b" link set "bb$$" up
# A token bucket on each end (netem is not in every kernel): LINK_MBIT, 1 MB bursts.
tc -n "$a" qdisc add dev "ba$$" root tbf rate "${LINK_MBIT}mbit" burst 1mb latency 100ms
tc -n "$b" qdisc add dev "bb$$" root tbf rate "${LINK_MBIT}mbit" burst 1mb latency 100ms
# linked OUT FLAGS...: the two ranks, one a namespace and a core, each with one thread.
linked() {
  local out=$1 port=$((20000 + RANDOM % 30000)) r ns; shift
  for r in 0 1; do
    ns=$([[ $r == 0 ]] && echo "$a" || echo "$b")
    OMP_NUM_THREADS=1 ip netns exec "$ns" taskset -c $r bazel-bin/tools/pretrain "${common[@]}" --world_size 2 \
      --gpu_ranks $r --backend gloo --master_ip "tcp://10.232.0.1:$port" --output_model_path "$work/l$r.bin" "$@" \
      > "$out.$r" 2>&1 &
  done
  wait
  cp "$out.0" "$out"
}
linked "$work/lo"
linked "$work/ls" --nooverlap_allreduce
lo=$(rate "$work/lo"); ls=$(rate "$work/ls")
params=$(grep -o "[0-9,]* parameters" "$work/lo" | head -1)
grep -h "buckets started" "$work/lo" | sed 's/.*] //'
awk -v lo=$lo -v ls=$ls -v m=$LINK_MBIT -v p="$params" 'BEGIN {
  printf "2 machines on a %d Mbit/s link (%s): overlapped %d tokens/s, after the backward pass %d; overlap gains %.2fx\n",
         m, p, lo, ls, lo / ls }'
