#!/usr/bin/env bash
# Fuzzes every parser of uer-cc with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer
# (Debian's clang-14 and libclang-rt-14-dev, installed here when missing):
#
#   bench/fuzz.sh [--runs 1000000] [--max_len 32768] [--harnesses "vocab_fuzz ..."] [--shared ../shared]
#
# The harnesses (*_fuzz.cc beside their parsers: vocabularies, model configs in text and JSON,
# dataset files and their records, torch.save zips and pickles, safetensors, TensorFlow bundles,
# HuggingFace config.json, fine-tuning TSV and CMRC JSON) are built with --config=fuzz in an output
# base of their own (clang would rebuild the normal tree), seeded from testing/fuzz/seeds and from
# the shared data (vocabularies, the repository's configs, datasets preprocessed from the corpora,
# the fine-tuning sets), and each runs for --runs inputs, one after the other. A crash, a hang
# (over 10 s an input), a sanitizer report or a leak stops that harness with its input saved under
# bench/fuzz_out/HARNESS/; the summary gives each harness's inputs, rate, coverage and result.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# A preprocess binary of the normal build ($PREPROCESS, or bazel-bin's) makes more dataset seeds;
# without one the repository's seeds are used.
PREPROCESS="${PREPROCESS:-$(readlink -f bazel-bin/tools/preprocess 2> /dev/null || true)}"
RUNS=1000000
MAX_LEN=32768  # bytes an input; the seeds that are longer are cut
HARNESSES="vocab_fuzz config_fuzz dataset_fuzz checkpoint_fuzz task_data_fuzz tokenizer_fuzz protocol_fuzz"
SHARED="${UER_SHARED_DIR:-$ROOT/../shared}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2" ;;
    --max_len) MAX_LEN="$2" ;;
    --harnesses) HARNESSES="$2" ;;
    --shared) SHARED="$2" ;;
    *) echo "unknown flag $1 (flags: --runs --max_len --harnesses --shared)" >&2; exit 2 ;;
  esac
  shift 2
done

if ! command -v clang > /dev/null || ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a > /dev/null 2>&1; then
  echo "fuzz: installing clang and libclang-rt-14-dev"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang libclang-rt-14-dev > /dev/null
fi

declare -A PKG=([vocab_fuzz]=core [config_fuzz]=core [dataset_fuzz]=core/runtime [checkpoint_fuzz]=core/runtime
                [task_data_fuzz]=core/runtime [tokenizer_fuzz]=plugins/tokenizers [protocol_fuzz]=core/runtime)
targets=()
for h in $HARNESSES; do targets+=("//${PKG[$h]}:$h"); done
OB="${UER_FUZZ_OUTPUT_BASE:-$HOME/.cache/uer-fuzz}"
fz=(bazel --output_base="$OB")
# The shared sanitizer runtimes, so that the plugins (shared objects) and the harness share one
# (it comes after libstdc++ in the load order, which is harmless: verify_asan_link_order=0 below).
rt="$(clang -print-runtime-dir)"
# No convenience symlinks: bazel-bin and the others stay the normal build's.
fzflags=(--config=fuzz --linkopt=-shared-libsan --linkopt=-Wl,-rpath,"$rt" --symlink_prefix=/)
"${fz[@]}" build "${fzflags[@]}" "${targets[@]}"
bin="$("${fz[@]}" info "${fzflags[@]}" bazel-bin 2> /dev/null)"

# Seeds: the repository's, and more from the shared data (each file prefixed with the byte that
# chooses the harness's mode where it has modes).
out="$ROOT/bench/fuzz_out"
mkdir -p "$out"
# In memory where it can be: every input is written to a file there (the parsers read files).
seeds="$(mktemp -d -p "$([[ -d /dev/shm && -w /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")")"
trap 'rm -rf "$seeds"' EXIT
for h in $HARNESSES; do
  d="$seeds/${h%_fuzz}"; mkdir -p "$d"
  cp testing/fuzz/seeds/"${h%_fuzz}"/* "$d"/ 2> /dev/null || true
done
if [[ -d "$SHARED/data" ]]; then
  if [[ -d "$seeds/vocab" ]]; then
    for v in "$SHARED"/data/vocab/*.txt; do head -300 "$v" > "$seeds/vocab/$(basename "$v")"; done
  fi
  if [[ -d "$seeds/config" ]]; then
    for c in models/*/*.pbtxt; do { printf '\x00'; cat "$c"; } > "$seeds/config/$(echo "$c" | tr / _)"; done
    for c in models/*.json; do { printf '\x01'; cat "$c"; } > "$seeds/config/$(basename "$c")"; done
  fi
  if [[ -d "$seeds/task_data" ]]; then
    small="$SHARED/data/datasets/small"
    for f in "$small"/book_review/dev.tsv "$small"/chnsenticorp/dev.tsv; do
      { printf '\x00'; head -30 "$f"; } > "$seeds/task_data/cls_$(basename "$(dirname "$f")").tsv"
    done
    { printf '\x01'; head -30 "$small/msra_ner/dev.tsv"; } > "$seeds/task_data/ner_msra.tsv"
  fi
  if [[ -d "$seeds/tokenizer" ]]; then
    head -50 "$SHARED/data/corpora/book_review.txt" | split -l 5 - "$seeds/tokenizer/book_review_"
  fi
  if [[ -d "$seeds/dataset" && -x "$PREPROCESS" ]]; then
    # Small datasets of every target, made by the normal build's preprocess.
    head -40 "$SHARED/data/corpora/book_review.txt" > "$seeds/corpus.txt"
    for target in mlm lm bert cls bilm nsp s2s; do
      corpus="$seeds/corpus.txt"
      [[ $target == cls ]] && awk '{ print NR % 2 "\t" $0 }' "$seeds/corpus.txt" > "$seeds/cls.txt" && corpus="$seeds/cls.txt"
      [[ $target == s2s ]] && awk '{ print $0 "\t" $0 }' "$seeds/corpus.txt" > "$seeds/s2s.txt" && corpus="$seeds/s2s.txt"
      "$PREPROCESS" --corpus_path "$corpus" --vocab_path "$SHARED/data/vocab/google_zh_vocab.txt" \
        --dataset_path "$seeds/dataset/$target.uer" --target $target --seq_length 32 --dup_factor 1 2> /dev/null ||
        echo "fuzz: no $target seed (preprocess refused this corpus)"
    done
  fi
fi

printf '%-16s %10s %10s %8s %s\n' harness inputs "inputs/s" cov result > "$out/summary.txt"
status=0
for h in $HARNESSES; do
  corpus="$out/$h/corpus"; mkdir -p "$corpus"
  p="$bin/${PKG[$h]}/$h"
  log="$out/$h/fuzz.log"
  start=$(date +%s)
  set +e
  ASAN_OPTIONS=detect_odr_violation=0:alloc_dealloc_mismatch=0:verify_asan_link_order=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions="$ROOT/testing/fuzz/lsan.supp" \
    TEST_TMPDIR="$seeds" "$p" -runs="$RUNS" -timeout=10 -rss_limit_mb=4096 -max_len="$MAX_LEN" -print_final_stats=1 \
    -artifact_prefix="$out/$h/" "$corpus" "$seeds/${h%_fuzz}" > "$log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  result=ok
  if [[ $rc != 0 ]]; then
    result="FAILED (exit $rc; $(ls -t "$out/$h" | grep -E '^(crash|timeout|leak|oom)-' | head -1))"
    status=1
  fi
  printf '%-16s %10s %10s %8s %s (%d s)\n' "$h" "${done_runs:-?}" "${rate:-?}" "${cov:-?}" "$result" "$secs" | tee -a "$out/summary.txt"
done
cat "$out/summary.txt"
exit $status
