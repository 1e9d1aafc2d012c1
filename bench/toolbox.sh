#!/usr/bin/env bash
# The seed's scripts against uer-cc's tools on this machine, same model, data and threads:
#   extract_features  samples/s of scripts/extract_feature.py against //tools:extract_features
#                     (BERT tiny, book review sentences, seq 128, batch 64), and their outputs compared;
#   generate          new tokens/s at 256 new tokens of scripts/generate.py (the whole prefix again at
#                     each token) against //tools:generate with its key/value cache and with --no_cache
#                     (GPT tiny: BERT tiny's sizes, the gpt encoder, the lm target);
#   run_mrc           training samples/s of run_mrc.py against //tools:run_mrc (BERT tiny, CMRC2018
#                     train, seq 100, batch 32, one epoch, the same windows: bench/mrc_parity.py).
# Each side is timed end to end twice (a small and a large input) and the rate is the difference
# over the difference, so start-up and loading cancel out. Random weights (a step of uer-cc's pretrain).
#
#   bench/toolbox.sh --uer_seed_path /path/to/UER-py@caef999 [--shared ../shared] [--lines 2000]
set -euo pipefail
cd "$(dirname "$0")/.."
UER_SEED_PATH=""; SHARED="${UER_SHARED_DIR:-../shared}"; LINES=2000; QUESTIONS=800; CASES="extract_features generate run_mrc"
source bench/lib.sh
bench_flags "uer_seed_path shared lines questions cases" "$@"
[[ -n "$UER_SEED_PATH" ]] || { echo "--uer_seed_path (UER-py at caef999) is required" >&2; exit 2; }
bazel build -c opt //tools:preprocess //tools:pretrain //tools:extract_features //tools:generate //tools:run_mrc >/dev/null 2>&1
PY="$PWD/.venv/bin/python"
B="$PWD/bazel-bin/tools"
secs() { /usr/bin/time -f "%e" -o "$work/t" "$@" > "$work/log" 2>&1 || { tail -5 "$work/log"; exit 1; }; cat "$work/t"; }
cat > "$work/tiny.json" <<'CFG'
{"emb_size": 128, "hidden_size": 128, "feedforward_size": 512, "heads_num": 2, "layers_num": 2, "dropout": 0.1}
CFG
# Random BERT tiny (bert/bert/mlm) and GPT tiny (bert/gpt/lm) checkpoints: one step of uer-cc's pretrain.
sed -n "1,200p" "$SHARED/data/corpora/book_review.txt" > "$work/corpus.txt"
for m in "bert mlm" "gpt lm"; do
  set -- $m
  "$B/preprocess" --corpus_path "$work/corpus.txt" --vocab_path "$VOCAB" --dataset_path "$work/$1.uer" --target $2 \
    --seq_length 128 > /dev/null 2>&1
  "$B/pretrain" --dataset_path "$work/$1.uer" --vocab_path "$VOCAB" --config_path "$work/tiny.json" --encoder $1 \
    --target $2 --output_model_path "$work/$1.bin" --total_steps 1 --batch_size 4 > /dev/null 2>&1
done
printf "%-18s %12s %12s %8s\n" case UER-py uer-cc ratio

if [[ " $CASES " == *" extract_features "* ]]; then
  sed -n "2,$((LINES + 1))p" "$SHARED/data/datasets/book_review/dev.tsv" | cut -f2 > "$work/sents_n.txt"
  sed -n "1,64p" "$work/sents_n.txt" > "$work/sents_64.txt"
  uer() { (cd "$UER_SEED_PATH" && secs "$PY" scripts/extract_feature.py --input_path "$1" --pretrained_model_path "$work/bert.bin" \
            --vocab_path "$VOCAB" --output_path "$work/uer_$2.pt" --config_path "$work/tiny.json" --seq_length 128 --batch_size 64); }
  ours() { secs "$B/extract_features" --input_path "$1" --pretrained_model_path "$work/bert.bin" --vocab_path "$VOCAB" \
             --output_path "$work/ours_$2.pt" --config_path "$work/tiny.json" --seq_length 128 --batch_size 64; }
  u0=$(uer "$work/sents_64.txt" 64); u1=$(uer "$work/sents_n.txt" n)
  o0=$(ours "$work/sents_64.txt" 64); o1=$(ours "$work/sents_n.txt" n)
  "$PY" -c "import torch,sys; a=torch.load(sys.argv[1],weights_only=False).detach(); b=torch.load(sys.argv[2]);
assert a.shape == b.shape, (a.shape, b.shape); print('  extract_features: outputs', tuple(b.shape), 'max |UER-py - uer-cc|', (a-b).abs().max().item())" \
    "$work/uer_n.pt" "$work/ours_n.pt" >&2
  awk -v n=$((LINES - 64)) -v u0=$u0 -v u1=$u1 -v o0=$o0 -v o1=$o1 'BEGIN {
    u = n / (u1 - u0); o = n / (o1 - o0); printf "%-18s %12.1f %12.1f %7.2fx   (samples/s)\n", "extract_features", u, o, o / u }'
fi

if [[ " $CASES " == *" generate "* ]]; then
  # UER-py's script continues the first line only; uer-cc continues each of 20 copies (the same work
  # a token, more tokens to time). Both sample with the seed's defaults (top_p 0.6, temperature 1).
  echo "中国的首都是北京，它有着悠久的历史" > "$work/prompt.txt"
  for i in $(seq 20); do cat "$work/prompt.txt"; done > "$work/prompts.txt"
  plen=$(wc -m < "$work/prompt.txt"); plen=$((plen - 1))  # characters = bert tokens here
  uer() { (cd "$UER_SEED_PATH" && secs "$PY" scripts/generate.py --input_path "$work/prompt.txt" --pretrained_model_path "$work/gpt.bin" \
            --vocab_path "$VOCAB" --output_path "$work/uer_gen.txt" --config_path "$work/tiny.json" --encoder gpt --seq_length $1); }
  ours() { secs "$B/generate" --input_path "$work/prompts.txt" --pretrained_model_path "$work/gpt.bin" --vocab_path "$VOCAB" \
             --output_path "$work/ours_gen.txt" --config_path "$work/tiny.json" --encoder gpt --target lm --seq_length $1 $2; }
  made() { grep -o "generated [0-9]* tokens" "$work/log" | grep -o "[0-9]*"; }
  u0=$(uer $((plen + 16))); u1=$(uer $((plen + 256)))
  o0=$(ours $((plen + 16)) ""); m0=$(made); o1=$(ours $((plen + 256)) ""); m1=$(made)
  n0=$(ours $((plen + 16)) --no_cache); k0=$(made); n1=$(ours $((plen + 256)) --no_cache); k1=$(made)
  awk -v u0=$u0 -v u1=$u1 -v o0=$o0 -v o1=$o1 -v n0=$n0 -v n1=$n1 -v m=$((m1 - m0)) -v k=$((k1 - k0)) 'BEGIN {
    u = 240 / (u1 - u0); o = m / (o1 - o0); n = k / (n1 - n0)
    printf "%-18s %12.1f %12.1f %7.2fx   (new tokens/s up to 256; uer-cc --no_cache %.1f, %.2fx)\n", "generate", u, o, o / u, n, n / u }'
fi

if [[ " $CASES " == *" run_mrc "* ]]; then
  "$PY" - "$SHARED/data/datasets/cmrc2018/train.json" "$work" "$QUESTIONS" <<'PY'
import json, sys
src, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = json.load(open(src, encoding="utf-8"))
def cut(limit, path):
    out, count = [], 0
    for article in d["data"]:
        paras = []
        for p in article["paragraphs"]:
            qas = p["qas"][:max(0, limit - count)]
            count += len(qas)
            if qas: paras.append({"context": p["context"], "qas": qas})
        if paras: out.append({"paragraphs": paras})
    json.dump({"version": "bench", "data": out}, open(path, "w", encoding="utf-8"), ensure_ascii=False)
cut(32, f"{work}/mrc_32.json"); cut(n, f"{work}/mrc_n.json")
# The dev file: questions whose answer lies in the first window at seq 100 (UER-py's evaluation
# asserts that every question keeps a window holding its gold answer).
dev = []
for article in d["data"]:
    for p in article["paragraphs"]:
        for qa in p["qas"]:
            a = qa["answers"][0]
            if a["answer_start"] + len(a["text"]) <= 100 - len(qa["question"]) - 3 and len(dev) < 32:
                dev.append({"paragraphs": [{"context": p["context"], "qas": [qa]}]})
json.dump({"version": "bench", "data": dev}, open(f"{work}/mrc_dev.json", "w", encoding="utf-8"), ensure_ascii=False)
PY
  # run_mrc.py's evaluation calls nltk.word_tokenize, whose sentence splitter needs punkt data that
  # is not installed: the same tokenizer on one line (preserve_line) instead.
  mkdir -p "$work/nltk_shim"
  printf 'import nltk\n_w = nltk.word_tokenize\nnltk.word_tokenize = lambda text, language="english", preserve_line=True: _w(text, language, True)\n' \
    > "$work/nltk_shim/sitecustomize.py"
  uer() { (cd "$UER_SEED_PATH" && PYTHONPATH="$work/nltk_shim" secs "$PY" run_mrc.py --vocab_path "$VOCAB" --config_path "$work/tiny.json" --train_path "$1" \
            --dev_path "$work/mrc_dev.json" --output_model_path "$work/uer_qa.bin" --epochs_num 1 --batch_size 32 --seq_length 100); }
  ours() { secs "$B/run_mrc" --vocab_path "$VOCAB" --config_path "$work/tiny.json" --train_path "$1" --dev_path "$work/mrc_dev.json" \
             --output_model_path "$work/ours_qa.bin" --epochs_num 1 --batch_size 32 --seq_length 100 --tokenizer char --report_steps 100000; }
  u0=$(uer "$work/mrc_32.json"); u1=$(uer "$work/mrc_n.json")
  count() { grep -o "[0-9]* training instances" "$work/log" | grep -o "^[0-9]*"; }
  o0=$(ours "$work/mrc_32.json"); small=$(count)
  o1=$(ours "$work/mrc_n.json"); windows=$(count)
  awk -v n=$((windows - small)) -v u0=$u0 -v u1=$u1 -v o0=$o0 -v o1=$o1 'BEGIN {
    u = n / (u1 - u0); o = n / (o1 - o0); printf "%-18s %12.1f %12.1f %7.2fx   (training samples/s, %d windows)\n", "run_mrc", u, o, o / u, n }'
fi
