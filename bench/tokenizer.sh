#!/usr/bin/env bash
# Tokenizer speed, uer-cc against UER-py on this machine: tokens/s on one thread for the book review
# texts (tokenize + ids, best of 3 passes), and the ratio.
#
#   bench/tokenizer.sh --uer_path /path/to/UER-py [--shared ../shared]
set -euo pipefail
cd "$(dirname "$0")/.."
UER_PATH=""; SHARED="${UER_SHARED_DIR:-../shared}"
source bench/lib.sh
bench_flags "uer_path shared" "$@"
need_uer_path "dbiir/UER-py"
TEXT="$SHARED/data/corpora/book_review.txt"
bazel build -c opt //bench:tokenizer_bench >/dev/null 2>&1
ours=$(bazel-bin/bench/tokenizer_bench --vocab_path "$VOCAB" --input_path "$TEXT" 2>/dev/null)
theirs=$(taskset -c 0 .venv/bin/python bench/uer_tokenizer_bench.py --uer_path "$UER_PATH" --vocab_path "$VOCAB" --input_path "$TEXT")
echo "$ours"; echo "$theirs"
a=$(echo "$ours" | sed -n 's/.* \([0-9]*\) tokens\/s.*/\1/p'); b=$(echo "$theirs" | sed -n 's/.* \([0-9]*\) tokens\/s.*/\1/p')
ca=$(echo "$ours" | sed -n 's/.*checksum \([0-9]*\).*/\1/p'); cb=$(echo "$theirs" | sed -n 's/.*checksum \([0-9]*\).*/\1/p')
[[ "$ca" == "$cb" ]] && echo "same ids (checksum $ca)" || echo "WARNING: checksums differ ($ca vs $cb)"
awk -v a="$a" -v b="$b" 'BEGIN { printf "speed-up: %.1fx UER-py (goal: 30x)\n", a / b }'
