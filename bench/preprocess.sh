#!/usr/bin/env bash
# preprocess speed and memory, uer-cc against UER-py's seed preprocess.py on this machine, same corpus
# and flags: the book review corpus repeated 8 times (bert target, defaults) and the one-review-a-line
# corpus repeated 8 times (mlm, --dup_factor 1). Reports input tokens/s per worker, peak memory
# (max RSS) and the speed-up from one worker to two.
#
#   bench/preprocess.sh --uer_path /path/to/UER-py-seed [--shared ../shared]
set -euo pipefail
cd "$(dirname "$0")/.."
UER_PATH=""; SHARED="${UER_SHARED_DIR:-../shared}"
source bench/lib.sh
bench_flags "uer_path shared" "$@"
need_uer_path "dbiir/UER-py at caef999"
bazel build -c opt //tools:preprocess //tools:tokenize >/dev/null 2>&1
for i in 1 2 3 4 5 6 7 8; do cat "$SHARED/data/corpora/book_review_bert.txt"; done > "$work/bert.txt"
for i in 1 2 3 4 5 6 7 8; do cat "$SHARED/data/corpora/book_review.txt"; done > "$work/mlm.txt"
tokens() {  # input tokens of a corpus (what both tokenizers read)
  bazel-bin/tools/tokenize --vocab_path "$VOCAB" --input_path "$1" --output_path "$work/ids" 2>&1 |
    sed -n 's/.* into \([0-9]*\) tokens.*/\1/p'
}
measure() {  # prints "seconds maxrss_kb"
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1
  cat "$work/time"
}
printf "%-6s %-22s %10s %14s %12s\n" target run seconds "tokens/s/worker" "peak MB"
for target in bert mlm; do
  corpus="$work/$target.txt"
  n=$(tokens "$corpus")
  flags=(--target "$target"); [[ $target == mlm ]] && flags+=(--dup_factor 1)
  read -r ts tm < <(cd "$work" && measure taskset -c 0 "$OLDPWD/.venv/bin/python" "$UER_PATH/preprocess.py" \
      --corpus_path "$corpus" --vocab_path "$VOCAB" --dataset_path "$work/uer.pt" "${flags[@]}")
  read -r o1 m1 < <(measure bazel-bin/tools/preprocess --corpus_path "$corpus" --vocab_path "$VOCAB" \
      --dataset_path "$work/ours.uer" "${flags[@]}" --processes_num 1)
  read -r o2 m2 < <(measure bazel-bin/tools/preprocess --corpus_path "$corpus" --vocab_path "$VOCAB" \
      --dataset_path "$work/ours.uer" "${flags[@]}" --processes_num 2)
  awk -v t="$target" -v n="$n" -v ts="$ts" -v tm="$tm" -v o1="$o1" -v m1="$m1" -v o2="$o2" -v m2="$m2" 'BEGIN {
    printf "%-6s %-22s %10.2f %14.0f %12.0f\n", t, "UER-py (1 process)", ts, n / ts, tm / 1024
    printf "%-6s %-22s %10.2f %14.0f %12.0f\n", t, "uer-cc (1 worker)", o1, n / o1, m1 / 1024
    printf "%-6s %-22s %10.2f %14.0f %12.0f\n", t, "uer-cc (2 workers)", o2, n / o2 / 2, m2 / 1024
    printf "%-6s speed-up per worker %.1fx (goal 20x), memory %.2fx of UER-py (goal <= 0.25), 1->2 workers %.2fx\n",
           t, ts / o1, m1 / tm, o1 / o2 }'
  rm -f "$work/uer.pt" "$work/ours.uer"
done
