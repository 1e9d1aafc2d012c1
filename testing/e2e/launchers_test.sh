#!/usr/bin/env bash
# Ranks started by the launchers users already have, each pair ending with the weights of one
# process that sees the same global batch (within 1e-6), and the launch source logged:
#  - torchrun's variables without the agent store (rank 0 serves the store): faked;
#  - SLURM's (srun): the master is the first host of the node list: faked;
#  - Open MPI's (mpirun): faked;
#  - (no --backend anywhere: gloo, as PyTorch picks on a machine without CUDA)
#  - the real torchrun of the project's venv, `torchrun --no-python --nproc_per_node 2` without
#    --world_size: its agent serves the store and every rank joins it as a client;
#  - torchrun restarting a failed attempt (--max-restarts 1; rank 0 of attempt 0 fails at its first
#    save, after the process group exists): attempt 1 uses fresh store keys and ends as the others.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_python torch
source "$ws/testing/e2e/cls_toy.sh"
flags+=(--save_checkpoint_steps 4 --dist_timeout 60)  # no --backend: gloo on a machine without CUDA
pretrain="$ws/tools/pretrain"
"$pretrain" "${flags[@]}" --batch_size 8 --output_model_path "$t/one.bin" 2> "$t/one.log" || { tail "$t/one.log"; fail "one process"; }
"$pretrain" "${flags[@]}" --batch_size 4 --world_size 2 --master_ip "tcp://127.0.0.1:$(port)" \
  --output_model_path "$t/self.bin" 2> "$t/self.log" || { tail "$t/self.log"; fail "self-launched"; }
grep -q "launch: 2 ranks of 2 from the flags" "$t/self.log" || fail "the self-launch does not say its source"

# Two ranks in the background, each with its own environment: run_pair NAME 'VARS of rank 0' 'VARS of rank 1' [flags].
run_pair() {
  local -
  set -f  # the node lists' brackets are not globs
  local name=$1 env0=$2 env1=$3
  shift 3
  env $env0 "$pretrain" "${flags[@]}" --batch_size 4 "$@" --output_model_path "$t/$name.bin" 2> "$t/${name}0.log" &
  local p0=$!
  env $env1 "$pretrain" "${flags[@]}" --batch_size 4 "$@" --output_model_path "$t/$name.bin" 2> "$t/${name}1.log" &
  local p1=$!
  wait $p0 || { tail "$t/${name}0.log"; fail "$name: rank 0"; }
  wait $p1 || { tail "$t/${name}1.log"; fail "$name: rank 1"; }
}

p=$(port)
tr="TORCHELASTIC_RUN_ID=fake TORCHELASTIC_RESTART_COUNT=0 WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p"
run_pair torchrun_vars "$tr RANK=0 LOCAL_RANK=0" "$tr RANK=1 LOCAL_RANK=1"
grep -q "launch: rank 1 of 2 (local 1 of 2) from torchrun's variables; rendezvous at tcp://127.0.0.1:$p" "$t/torchrun_vars1.log" ||
  { grep launch "$t/torchrun_vars1.log"; fail "torchrun: no launch line"; }

p=$(port)
sl="SLURM_NTASKS=2 SLURM_TASKS_PER_NODE=2 SLURM_JOB_NODELIST=localhost,ghost[1-3] MASTER_PORT=$p"
run_pair slurm "$sl SLURM_PROCID=0 SLURM_LOCALID=0" "$sl SLURM_PROCID=1 SLURM_LOCALID=1" --world_size 2
grep -q "from slurm's variables; rendezvous at tcp://localhost:$p" "$t/slurm1.log" ||
  { grep launch "$t/slurm1.log"; fail "slurm: no launch line with the node list's first host"; }

p=$(port)
mpi="OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_LOCAL_SIZE=2"
run_pair mpi "$mpi OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_LOCAL_RANK=0" \
  "$mpi OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_LOCAL_RANK=1" --master_ip "tcp://127.0.0.1:$p"
grep -q "from open mpi's variables" "$t/mpi0.log" || fail "open mpi: no launch line"

# A world size that disagrees with the launcher's: exit 2, one line naming both.
set +e
SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_JOB_NODELIST=localhost "$pretrain" "${flags[@]}" --world_size 4 \
  --output_model_path "$t/bad.bin" 2> "$t/bad.log"
code=$?
set -e
[[ $code == 2 ]] || { cat "$t/bad.log"; fail "a disagreeing --world_size exits $code, not 2"; }
grep -q "SLURM_NTASKS=2 (slurm) but --world_size 4" "$t/bad.log" || { cat "$t/bad.log"; fail "the disagreement is not named"; }

torchrun="$(dirname "$python")/torchrun"
"$torchrun" --no-python --nproc_per_node 2 --master_addr 127.0.0.1 --master_port "$(port)" \
  "$pretrain" "${flags[@]}" --batch_size 4 --output_model_path "$t/torchrun.bin" > "$t/torchrun.log" 2>&1 ||
  { tail -20 "$t/torchrun.log"; fail "torchrun --no-python"; }
grep -q "joined at .* (gloo)" "$t/torchrun.log" || { grep -i "joined" "$t/torchrun.log"; fail "torchrun without --backend: not gloo"; }
grep -q "the store served by torchrun's agent" "$t/torchrun.log" ||
  { grep -i "launch\|store" "$t/torchrun.log" | head; fail "torchrun's agent store was not used"; }

# A restarted attempt: rank 0 of attempt 0 cannot write its step-4 checkpoint (its folder is a file)
# and fails after the process group has run collectives.
cat > "$t/flaky.sh" <<EOF
#!/usr/bin/env bash
out="$t/restart.bin"
if [[ "\$TORCHELASTIC_RESTART_COUNT" == 0 && "\$RANK" == 0 ]]; then out="$t/flaky.sh/restart.bin"; fi
exec "$pretrain" "\$@" --output_model_path "\$out"
EOF
chmod +x "$t/flaky.sh"
"$torchrun" --no-python --nproc_per_node 2 --max-restarts 1 --master_addr 127.0.0.1 --master_port "$(port)" \
  "$t/flaky.sh" "${flags[@]}" --batch_size 4 > "$t/restart.log" 2>&1 || { tail -30 "$t/restart.log"; fail "torchrun restart"; }
grep -q "attempt 1" "$t/restart.log" || { grep -i "launch\|restart" "$t/restart.log" | head; fail "no second attempt"; }

"$python" - "$t/one.bin" "$t"/{self,torchrun_vars,slurm,mpi,torchrun,restart}.bin <<'PY' || fail "weights differ"
import os, sys, torch
one = torch.load(sys.argv[1], weights_only=True)
for other in sys.argv[2:]:
    two = torch.load(other, weights_only=True)
    assert one.keys() == two.keys(), (one.keys() ^ two.keys())
    diff = max((one[k] - two[k]).abs().max().item() for k in one)
    print(f"{os.path.basename(other)}: max |one - two| = {diff:.3g}")
    assert diff <= 1e-6, (other, diff)
PY
echo PASS
