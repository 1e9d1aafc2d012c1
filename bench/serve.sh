#!/usr/bin/env bash
# Serving throughput and latency: //tools:serve against TorchServe (PyPI's torchserve, Java 17) on
# the same fine-tuned BERT classifier (uer-cc's weights, written for transformers by uer-cc's own
# converter and served by a TorchServe handler, bench/serve_torchserve_handler.py), the same threads,
# the same requests (book review sentences, one a request: uer-cc's TEI /predict, TorchServe's
# /predictions), each server batching dynamically: up to 32 inputs, waiting --delay_ms for more
# (0: a batch holds what queued while the last one ran). wrk (Debian's) drives them:
# requests/s, p50 and p99 latency at each number of open connections; then uer-cc with batches of
# one input, for what dynamic batching gains.
#
#   bench/serve.sh [--shared ../shared] [--case mini|base] [--connections "1 16 256 1000"] [--duration 10]
#                  [--threads 2] [--delay_ms 0] [--precision fp32|bf16] [--torchserve PATH] [--soak_minutes 10]
# --precision bf16: both servers compute under bf16 autocast (uer-cc's --precision, the handler's
# torch.autocast), where the CPU has bf16 (avx512_bf16 or AMX).
# --soak_minutes N: instead, uer-cc alone under 256 connections for N minutes, its resident memory
# sampled every 10 s (after a minute's warm-up it must not grow), its errors counted.
# --torchserve: a folder with torchserve and torch-model-archiver installed by pip --target (made
# under ~/.cache/uer-bench when absent, from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${UER_SHARED_DIR:-../shared}"; CASE=mini; CONNECTIONS="1 16 256 1000"; DURATION=10; THREADS=2; DELAY_MS=0; SOAK_MINUTES=0; PRECISION=fp32
TORCHSERVE="$HOME/.cache/uer-bench/torchserve"
source bench/lib.sh
bench_flags "shared case connections duration threads delay_ms soak_minutes precision torchserve" "$@"
command -v wrk > /dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
command -v java > /dev/null || { echo "java (17) is missing: TorchServe's frontend needs it" >&2; exit 2; }
PY="$PWD/.venv/bin/python"
if [[ $SOAK_MINUTES == 0 && ! -x "$TORCHSERVE/bin/torchserve" ]]; then
  echo "installing torchserve into $TORCHSERVE (pip --target)" >&2
  "$PY" -m pip install -q --target "$TORCHSERVE" torchserve torch-model-archiver >&2
fi
export PYTHONPATH="$TORCHSERVE"
ulimit -n 8192
bazel build -c opt //tools:serve //tools:run_classifier //tools:convert_bert_text_classification_from_uer_to_huggingface >/dev/null 2>&1
DATA="$SHARED/data/datasets/book_review"
bench_classifier "$CASE"
# The requests: test sentences, as each server takes them.
"$PY" - "$DATA/test.tsv" "$work" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1], encoding="utf-8")][1:]
texts = [r[1] for r in rows if len(r) > 1 and r[1]][:2000]
with open(f"{sys.argv[2]}/uer_bodies", "w") as f:
    f.writelines(json.dumps({"inputs": t, "truncate": True}, ensure_ascii=False) + "\n" for t in texts)
with open(f"{sys.argv[2]}/ts_bodies", "w") as f:
    f.writelines(t + "\n" for t in texts)
PY

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {  # URL, what
  for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "$2 did not become ready" >&2; exit 1
}
# One wrk run: URL BODIES CONTENT_TYPE CONNECTIONS -> "req/s p50 p99 errors"
load() {
  local c=$4 t=1
  [[ $c -ge 16 ]] && t=2
  BENCH_BODIES="$2" BENCH_CONTENT_TYPE="$3" wrk -t$t -c$c -d"${DURATION}s" --timeout 30s --latency \
    -s bench/serve_wrk.lua "$1" > "$work/wrk.out" 2>&1
  awk '/Requests\/sec/ { rps = $2 } / 50%/ { p50 = $2 } / 99%/ { p99 = $2 }
       /Non-2xx/ { err += $NF } /Socket errors/ { for (i = 4; i <= NF; i += 2) err += $i }
       END { printf "%s %s %s %d", rps, p50, p99, err }' "$work/wrk.out"
}

# Three seconds of load before the measured runs (allocator, caches, the JIT of TorchServe's Java).
warm_up() {
  BENCH_BODIES="$2" BENCH_CONTENT_TYPE="$3" wrk -t1 -c8 -d3s -s bench/serve_wrk.lua "$1" > /dev/null 2>&1 || true
}

results=()
run_uer() {  # label, extra flags
  local port; port=$(free_port)
  mkdir -p "$work/repo/cls" && cp "$work/cls.bin" "$work/config.json" "$VOCAB" "$work/repo/cls/"
  echo "task: \"classifier\" load_model_path: \"cls.bin\" config_path: \"config.json\" vocab_path: \"$(basename "$VOCAB")\" seq_length: 128" \
    > "$work/repo/cls/model.pbtxt"
  bazel-bin/tools/serve --model_repository "$work/repo" --port "$port" --threads "$THREADS" --max_concurrent_requests 4096 \
    --max_queued 4096 --max_batch_requests 32 --max_queue_delay_us $((DELAY_MS * 1000)) --precision "$PRECISION" "${@:2}" > "$work/serve.log" 2>&1 &
  local pid=$!
  wait_ready "http://127.0.0.1:$port/v2/health/ready" uer-cc
  warm_up "http://127.0.0.1:$port/predict" "$work/uer_bodies" application/json
  for c in $CONNECTIONS; do results+=("$1 $c $(load "http://127.0.0.1:$port/predict" "$work/uer_bodies" application/json "$c")"); done
  kill -TERM $pid; wait $pid || true
}
run_torchserve() {  # maxBatchDelay in ms
  local port mport delay=$1; port=$(free_port); mport=$(free_port)
  mkdir -p "$work/store"
  "$PY" "$TORCHSERVE/bin/torch-model-archiver" --model-name cls --version 1.0 --handler bench/serve_torchserve_handler.py \
    --serialized-file "$work/hf/model.safetensors" --extra-files "$work/hf/config.json,$work/hf/vocab.txt" \
    --export-path "$work/store" --force
  cat > "$work/ts.properties" <<PROPS
inference_address=http://127.0.0.1:$port
management_address=http://127.0.0.1:$mport
metrics_mode=prometheus
disable_system_metrics=true
number_of_netty_threads=$THREADS
job_queue_size=4096
default_workers_per_model=1
models={"cls": {"1.0": {"defaultVersion": true, "marName": "cls.mar", "minWorkers": 1, "maxWorkers": 1, "batchSize": 32, "maxBatchDelay": $delay, "responseTimeout": 120}}}
PROPS
  # TorchServe writes its logs under LOG_LOCATION (else ./logs, in the tree): the work folder.
  LOG_LOCATION="$work/ts_logs" METRICS_LOCATION="$work/ts_logs" \
  UER_BENCH_PRECISION=$PRECISION UER_BENCH_THREADS=$THREADS OMP_NUM_THREADS=$THREADS "$PY" "$TORCHSERVE/bin/torchserve" --start --ncs --disable-token-auth \
    --model-store "$work/store" --models cls=cls.mar --ts-config "$work/ts.properties" > "$work/ts.log" 2>&1
  wait_ready "http://127.0.0.1:$port/ping" TorchServe
  for _ in $(seq 1 600); do curl -sf -o /dev/null -XPOST "http://127.0.0.1:$port/predictions/cls" -d "好" && break; sleep 0.5; done
  warm_up "http://127.0.0.1:$port/predictions/cls" "$work/ts_bodies" text/plain
  for c in $CONNECTIONS; do
    results+=("torchserve(${delay}ms) $c $(load "http://127.0.0.1:$port/predictions/cls" "$work/ts_bodies" text/plain "$c")")
  done
  "$PY" "$TORCHSERVE/bin/torchserve" --stop > /dev/null 2>&1 || true
  sleep 3
}

soak() {
  local port; port=$(free_port)
  mkdir -p "$work/repo/cls" && cp "$work/cls.bin" "$work/config.json" "$VOCAB" "$work/repo/cls/"
  echo "task: \"classifier\" load_model_path: \"cls.bin\" config_path: \"config.json\" vocab_path: \"$(basename "$VOCAB")\" seq_length: 128" \
    > "$work/repo/cls/model.pbtxt"
  bazel-bin/tools/serve --model_repository "$work/repo" --port "$port" --threads "$THREADS" > "$work/serve.log" 2>&1 &
  local pid=$!
  wait_ready "http://127.0.0.1:$port/v2/health/ready" uer-cc
  BENCH_BODIES="$work/uer_bodies" wrk -t2 -c256 -d"$((SOAK_MINUTES * 60))s" --timeout 30s --latency -s bench/serve_wrk.lua \
    "http://127.0.0.1:$port/predict" > "$work/wrk.out" 2>&1 &
  local wrk_pid=$! s=0
  while kill -0 $wrk_pid 2> /dev/null; do
    echo "$s $(awk '/VmRSS/ { print $2 }' /proc/$pid/status)" >> "$work/rss"
    sleep 10; s=$((s + 10))
  done
  kill -TERM $pid; wait $pid || { echo "serve exited $? on SIGTERM" >&2; exit 1; }
  cat "$work/wrk.out"
  echo "RSS (MB) each minute: $(awk '$1 % 60 == 0 { printf "%.0f ", $2 / 1024 }' "$work/rss")"
  awk '$1 >= 60 && !warm { warm = $2 } { last = $2; if ($2 > peak) peak = $2 }
       END { printf "RSS after warm-up (60 s): %.0f MB, peak %.0f MB, at the end %.0f MB (%+.1f%%)\n", warm / 1024, peak / 1024, last / 1024, 100 * (last - warm) / warm }' "$work/rss"
  curl -s "http://127.0.0.1:$port/metrics" > /dev/null 2>&1 || true
}

if [[ $SOAK_MINUTES -gt 0 ]]; then
  echo "soak: $SOAK_MINUTES minutes, 256 connections, CPU flags: $(grep -o -w 'avx2\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | xargs)"
  soak
  exit 0
fi
run_uer uer-cc
run_uer "uer-cc(batch=1)" --max_batch_requests 1
# TorchServe's batcher waits maxBatchDelay for a batch to fill; at 0 a lone request waits on its
# polling, so it runs with --delay_ms and with 2 ms, and uer-cc is compared with the better.
run_torchserve "$DELAY_MS"
[[ $DELAY_MS == 2 ]] || run_torchserve 2

echo "case $CASE, $PRECISION, $THREADS threads, CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), flags:" \
  "$(grep -o -w 'avx2\|avx512f\|avx512_bf16\|amx_bf16\|amx_tile' /proc/cpuinfo | sort -u | xargs)"
printf "%-18s %6s %10s %10s %10s %7s\n" server conns "req/s" p50 p99 errors
for r in "${results[@]}"; do printf "%-18s %6s %10s %10s %10s %7s\n" $r; done
# uer-cc's throughput over TorchServe's at each connection count.
for c in $CONNECTIONS; do
  ours=$(printf '%s\n' "${results[@]}" | awk -v c=$c '$1 == "uer-cc" && $2 == c { print $3 }')
  theirs=$(printf '%s\n' "${results[@]}" | awk -v c=$c '$1 ~ /^torchserve/ && $2 == c && $3 > best { best = $3 } END { print best }')
  awk -v c=$c -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "%s connections: uer-cc %.2fx the better TorchServe'"'"'s requests/s\n", c, a / b }'
done
