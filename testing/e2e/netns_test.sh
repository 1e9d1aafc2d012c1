#!/usr/bin/env bash
# Two "machines": two network namespaces joined by a veth pair, one rank in each, --master_ip
# pointing at the first one's address. Needs the rights to create namespaces (root, outside a
# sandbox: the target is tagged "local"); skips with a message otherwise (fails under CI). The ranks' weights equal
# one process's that sees the same global batch.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
command -v ip > /dev/null || skip "no ip command"
a="uer_a_$$"; b="uer_b_$$"
cleanup() { ip netns del "$a" 2> /dev/null || true; ip netns del "$b" 2> /dev/null || true; }
trap cleanup EXIT
ip netns add "$a" 2> "$t/netns.err" || skip "cannot create network namespaces here ($(head -1 "$t/netns.err"))"
ip netns add "$b"
ip link add "va$$" type veth peer name "vb$$"
ip link set "va$$" netns "$a"
ip link set "vb$$" netns "$b"
ip -n "$a" addr add 10.231.0.1/24 dev "va$$"
ip -n "$b" addr add 10.231.0.2/24 dev "vb$$"
for n in "$a" "$b"; do ip -n "$n" link set lo up; done
ip -n "$a" link set "va$$" up
ip -n "$b" link set "vb$$" up

source "$ws/testing/e2e/cls_toy.sh"
flags+=(--save_checkpoint_steps 100)
"$ws/tools/pretrain" "${flags[@]}" --batch_size 8 --output_model_path "$t/one.bin" 2> "$t/one.log" || fail "one process"
# The same command on each "machine", each with its own --gpu_ranks slice.
for r in 0 1; do
  ns=$([[ $r == 0 ]] && echo "$a" || echo "$b")
  ip netns exec "$ns" "$ws/tools/pretrain" "${flags[@]}" --batch_size 4 --world_size 2 --gpu_ranks $r --backend gloo \
    --master_ip tcp://10.231.0.1:29555 --dist_timeout 60 --output_model_path "$t/ns$r.bin" 2> "$t/ns$r.log" &
  pids[$r]=$!
done
wait ${pids[0]} || { tail "$t/ns0.log"; fail "rank 0"; }
wait ${pids[1]} || { tail "$t/ns1.log"; fail "rank 1"; }
grep -q "rank 1 of 2 joined at 10.231.0.1:29555" "$t/ns1.log" || fail "rank 1 did not join through the veth pair"
[[ -s "$t/ns0.bin" && ! -e "$t/ns1.bin" ]] || fail "rank 0 (only) writes the model"
if has_python torch || skip_part "weights comparison" "no $python with torch"; then
  "$python" -c "
import sys, torch
one, two = (torch.load(p, weights_only=True) for p in sys.argv[1:])
diff = max((one[k] - two[k]).abs().max().item() for k in one)
print(f'max |one - two| = {diff:.3g}')
assert diff <= 1e-6
" "$t/one.bin" "$t/ns0.bin" || fail "weights differ"
fi
echo PASS
