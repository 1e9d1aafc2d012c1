#!/usr/bin/env bash
# //tools:serve end to end, with the clients users have: Triton's tritonclient (KServe v2, JSON and
# binary tensors, the classification extension), Python's requests (TEI's routes) and curl. A tiny
# classifier, a NER tagger and an encoder fine-tuned or cut from them here; the server's answers
# equal run_classifier_infer's and run_ner_infer's for the same rows, whatever rows share a batch.
# Then bad input (400/404/413/422 with a JSON error), backpressure (429), a client that leaves
# while queued (dropped unrun), a request timeout (504), SIGTERM under load (every accepted
# request answered, exit 0), a model that fails to load (exit 2, naming it).
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared data/datasets/small/book_review data/datasets/small/msra_ner data/vocab/google_zh_vocab.txt
need_python torch tritonclient.http requests numpy
command -v curl > /dev/null || skip "no curl (tools/bootstrap.sh installs it)"
small="$shared/data/datasets/small"
vocab="$shared/data/vocab/google_zh_vocab.txt"
printf '{"emb_size": 64, "hidden_size": 64, "feedforward_size": 128, "heads_num": 2, "layers_num": 2, "dropout": 0.1}\n' > "$t/config.json"
model=(--config_path "$t/config.json" --vocab_path "$vocab" --seq_length 64 --batch_size 16)

"$ws/tools/run_classifier" "${model[@]}" --train_path "$small/book_review/train.tsv" --dev_path "$small/book_review/dev.tsv" \
  --output_model_path "$t/cls.bin" --epochs_num 1 --learning_rate 1e-3 > /dev/null 2> "$t/cls.log" || { tail "$t/cls.log"; fail "run_classifier"; }
"$ws/tools/run_classifier_infer" "${model[@]}" --load_model_path "$t/cls.bin" --test_path "$small/book_review/test.tsv" \
  --prediction_path "$t/cls_pred.tsv" --output_logits 2> "$t/cls_infer.log" || { tail "$t/cls_infer.log"; fail "run_classifier_infer"; }
"$ws/tools/run_ner" "${model[@]}" --train_path "$small/msra_ner/train.tsv" --dev_path "$small/msra_ner/dev.tsv" \
  --output_model_path "$t/ner.bin" --epochs_num 5 --learning_rate 1e-3 > /dev/null 2> "$t/ner.log" || { tail "$t/ner.log"; fail "run_ner"; }
"$ws/tools/run_ner_infer" "${model[@]}" --load_model_path "$t/ner.bin" --test_path "$small/msra_ner/test.tsv" \
  --prediction_path "$t/ner_pred.tsv" 2> "$t/ner_infer.log" || { tail "$t/ner_infer.log"; fail "run_ner_infer"; }

"$ws/tools/run_mrc" "${model[@]}" --seq_length 128 --train_path "$small/cmrc2018/train.json" --dev_path "$small/cmrc2018/dev.json" \
  --output_model_path "$t/mrc.bin" --epochs_num 1 --batch_size 8 --learning_rate 1e-3 > /dev/null 2> "$t/mrc.log" || { tail "$t/mrc.log"; fail "run_mrc"; }
"$ws/tools/run_mrc_infer" "${model[@]}" --seq_length 128 --load_model_path "$t/mrc.bin" --test_path "$small/cmrc2018/dev.json" \
  --prediction_path "$t/mrc_pred.json" 2> "$t/mrc_infer.log" || { tail "$t/mrc_infer.log"; fail "run_mrc_infer"; }

# The repository: one folder per model with its model.pbtxt (paths relative to the folder).
repo="$t/repo"
mkdir -p "$repo/sentiment" "$repo/tagger" "$repo/encoder" "$repo/reader"
cp "$t/cls.bin" "$repo/sentiment/model.bin"
cp "$t/ner.bin" "$repo/tagger/model.bin"
cp "$t/ner.bin.labels.json" "$repo/tagger/model.bin.labels.json"
cp "$t/mrc.bin" "$repo/reader/model.bin"
"$python" -c "import torch, sys; s = torch.load(sys.argv[1]); torch.save({k: v for k, v in s.items() if not k.startswith('output_layer')}, sys.argv[2])" \
  "$t/cls.bin" "$repo/encoder/model.bin" || fail "could not cut the encoder from the classifier"
for m in sentiment tagger encoder reader; do cp "$t/config.json" "$vocab" "$repo/$m/"; done
# run_mrc tokenizes by character unless told otherwise: a served reader says so in its config.
sed 's/}$/, "tokenizer": "char"}/' "$t/config.json" > "$repo/reader/config.json"
common='vocab_path: "google_zh_vocab.txt" config_path: "config.json" load_model_path: "model.bin" seq_length: 64'
echo "task: \"classifier\" $common dynamic_batching { max_batch_requests: 8 max_queue_delay_us: 5000 }" > "$repo/sentiment/model.pbtxt"
echo "task: \"ner\" $common" > "$repo/tagger/model.pbtxt"
echo "task: \"embedding\" pooling: \"mean\" $common" > "$repo/encoder/model.pbtxt"
echo "task: \"mrc\" ${common/seq_length: 64/seq_length: 128} task_options { key: \"doc_stride\" value: \"128\" }" > "$repo/reader/model.pbtxt"

pids=()
trap 'kill -9 "${pids[@]}" 2> /dev/null || true' EXIT
# Starts the server on a free port with "$@" (PORT and PID set); waits until it is ready.
start() {
  local log="$1"; shift
  for _ in 1 2 3 4 5; do
    PORT=$(port)
    "$ws/tools/serve" --port "$PORT" "$@" > "$log" 2>&1 &
    PID=$!
    pids+=("$PID")
    for _ in $(seq 1 300); do
      curl -sf "127.0.0.1:$PORT/v2/health/ready" > /dev/null 2>&1 && return 0
      kill -0 "$PID" 2> /dev/null || break
      sleep 0.1
    done
    grep -q "cannot listen" "$log" || { cat "$log"; fail "the server did not become ready"; }
  done
  fail "no free port"
}

start "$t/serve.log" --model_repository "$repo" --threads 1 --access_log
"$python" "$ws/testing/e2e/serve_client.py" "$PORT" "$small" "$t" || { tail -20 "$t/serve.log"; fail "serve_client.py"; }

# curl: a TEI request, its timing headers; a body over --payload_limit; the metrics.
curl -s -D "$t/headers" -XPOST "127.0.0.1:$PORT/predict" -H 'Content-Type: application/json' \
  -d '{"inputs": "这本书很好看", "model": "sentiment"}' > "$t/predict.json" || fail "curl /predict"
grep -q '"label"' "$t/predict.json" || fail "curl /predict: $(cat "$t/predict.json")"
for h in x-queue-time x-inference-time x-total-time; do grep -qi "^$h: [0-9.]*" "$t/headers" || fail "no $h header"; done
code=$(head -c 3000000 /dev/zero | tr '\0' 'a' | curl -s -o /dev/null -w '%{http_code}' -XPOST "127.0.0.1:$PORT/predict" --data-binary @-)
[[ "$code" == 413 ]] || fail "a 3 MB body got $code, not 413"
curl -s "127.0.0.1:$PORT/metrics" > "$t/metrics"
for m in 'uer_requests_total{model="sentiment",route="kserve",code="200"}' 'uer_batch_size_bucket{model="sentiment",le="8"}' \
         'uer_request_seconds_count{model="tagger"}' 'uer_queue_seconds_bucket' 'uer_inference_seconds_sum' 'uer_ready 1'; do
  grep -qF "$m" "$t/metrics" || { cat "$t/metrics"; fail "no $m in /metrics"; }
done
grep -q '^access: POST /v2/models/sentiment/infer 200' "$t/serve.log" || fail "no access log line"
kill -TERM "$PID"; wait "$PID" || fail "the server exited $? on SIGTERM"

# A slow batcher: backpressure, a client that leaves, a timeout, SIGTERM with requests queued.
start "$t/slow.log" --model_repository "$repo" --max_queue_delay_us 1500000 --max_batch_requests 64 \
  --max_concurrent_requests 4 --drain_timeout_s 20
"$python" "$ws/testing/e2e/serve_client.py" "$PORT" "$small" "$t" --slow "$PID" || { tail -20 "$t/slow.log"; fail "serve_client.py --slow"; }
wait "$PID" || fail "the server exited $? on SIGTERM under load"
grep -q "stopped: every accepted request was answered" "$t/slow.log" || { tail "$t/slow.log"; fail "no drain"; }

# --precision bf16 where the CPU has it: the classifier's logits near fp32's, its labels mostly the
# same; refused with one line where the CPU lacks it.
if cpu_has avx512_bf16 amx_bf16; then
  start "$t/bf16.log" --model_repository "$repo" --precision bf16
  "$python" - "$PORT" "$small/book_review/test.tsv" "$t/cls_pred.tsv" <<'PY' || { tail "$t/bf16.log"; fail "bf16 serving"; }
import sys, requests
texts = [l.split("\t")[1] for l in open(sys.argv[2], encoding="utf-8").read().splitlines()[1:]]
want = [[float(v) for v in l.split("\t")[1].split()] for l in open(sys.argv[3]).read().splitlines()[1:]]
got = requests.post(f"http://127.0.0.1:{sys.argv[1]}/predict", json={"inputs": [[x] for x in texts], "raw_scores": True,
                                                                    "truncate": True, "model": "sentiment"}).json()
worst, same = 0, 0
for g, w in zip(got, want):
    scores = {int(s["label"]): s["score"] for s in g}
    worst = max(worst, max(abs(scores[i] - w[i]) for i in range(len(w))))
    same += max(scores, key=scores.get) == max(range(len(w)), key=w.__getitem__)
print(f"bf16 against fp32: largest logit difference {worst:.4f}, {same}/{len(want)} labels equal")
assert worst < 0.1 and same >= 0.9 * len(want), (worst, same)
PY
  kill -TERM "$PID"; wait "$PID" || fail "the bf16 server exited $?"
else
  echo "SKIP (this CPU): bf16 serving: it lacks avx512_bf16 and amx_bf16"
fi
set +e
UER_CPU_NO_BF16=1 timeout 60 "$ws/tools/serve" --model_repository "$repo" --port "$(port)" --precision bf16 > "$t/nobf16.log" 2>&1
code=$?
set -e
[[ $code == 2 ]] && grep -q "no native bf16" "$t/nobf16.log" || { cat "$t/nobf16.log"; fail "bf16 on a CPU without it: exit $code"; }

# A model that cannot load: the server says which, and exits 2.
echo 'task: "classifier" load_model_path: "missing.bin" vocab_path: "google_zh_vocab.txt" config_path: "config.json"' > "$repo/sentiment/model.pbtxt"
set +e
timeout 60 "$ws/tools/serve" --model_repository "$repo" --port "$(port)" > "$t/bad.log" 2>&1
code=$?
set -e
[[ $code == 2 ]] || { cat "$t/bad.log"; fail "a missing checkpoint: exit $code, not 2"; }
grep -q 'model "sentiment".*missing.bin' "$t/bad.log" || { cat "$t/bad.log"; fail "the error does not name the model and file"; }
echo 'task: "classifier" load_model_path: "model.bin" typo_field: 1' > "$repo/sentiment/model.pbtxt"
set +e
"$ws/tools/serve" --model_repository "$repo" --port "$(port)" > "$t/typo.log" 2>&1
code=$?
set -e
[[ $code == 2 ]] && grep -q "sentiment/model.pbtxt:1:.*typo_field" "$t/typo.log" || { cat "$t/typo.log"; fail "a typo in model.pbtxt: exit $code"; }
echo PASS
