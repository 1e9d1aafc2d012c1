#!/usr/bin/env bash
# topn_words_indep's similarities against the seed's own scripts/topn_words_indep.py run with
# PyTorch 1.13.1 -- the version ../shared/golden was made with -- on this machine, at each of
# ATen's CPU kernel levels (AVX-512, AVX2, scalar). Says how many of the golden file's lines each
# gives differently: a last-bit difference from the golden that UER-py itself shows here is the
# golden machine's rounding, not uer-cc's.
#
# PyTorch 1.13.1 and the CUDA 11 libraries it loads (about 2 GB, PyPI) are downloaded into
# --cache (kept for the next run) and used from there; nothing is installed.
#
#   bench/topn_parity.sh --uer_seed_path /path/to/UER-py@caef999 [--shared ../shared] [--cache DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
UER_SEED_PATH=""; SHARED="${UER_SHARED_DIR:-../shared}"; CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/uer-cc/torch-1.13.1"
source bench/lib.sh
bench_flags "uer_seed_path shared cache" "$@"
[[ -n "$UER_SEED_PATH" ]] || { echo "--uer_seed_path (UER-py at caef999) is required" >&2; exit 2; }
g="$SHARED/golden"
bazel build //tools:topn_words_indep >/dev/null 2>&1
if [[ ! -d "$CACHE/site/torch" ]]; then
  mkdir -p "$CACHE/wheels" "$CACHE/site"
  .venv/bin/pip download -q --no-deps -d "$CACHE/wheels" torch==1.13.1 nvidia-cublas-cu11==11.10.3.66 \
    nvidia-cuda-runtime-cu11==11.7.99 nvidia-cudnn-cu11==8.5.0.96 nvidia-cuda-nvrtc-cu11==11.7.99 \
    typing_extensions==4.12.2
  for w in "$CACHE"/wheels/*.whl; do python3 -m zipfile -e "$w" "$CACHE/site"; done
fi
nv="$CACHE/site/nvidia"
export LD_LIBRARY_PATH="$nv/cublas/lib:$nv/cuda_runtime/lib:$nv/cudnn/lib:$nv/cuda_nvrtc/lib"
args=(--target_words_path "$g/scripts/topn_target_words.txt" --cand_vocab_path "$g/scripts/topn_cand_vocab.txt"
      --vocab_path "$g/vocab_1000.txt" --pretrained_model_path "$g/bert_bert/model.bin" --topn 10)
bazel-bin/tools/topn_words_indep "${args[@]}" > "$work/uer_cc.txt" 2>/dev/null
differing() { diff "$1" "$2" | grep -c '^>' || true; }
echo "uer-cc against the golden file: $(differing "$work/uer_cc.txt" "$g/scripts/topn_words_indep.out.txt") of $(grep -c . "$g/scripts/topn_words_indep.out.txt") lines differ"
# "chosen": the kernels PyTorch 1.13.1 picks on this machine by itself; then each level forced.
for level in chosen avx512 avx2 default; do
  # The seed's script from outside the project's venv (PyTorch 1.13.1 alone), without its vocabulary line.
  env $([[ $level == chosen ]] || echo ATEN_CPU_CAPABILITY=$level) PYTHONPATH="$CACHE/site" python3 -s \
    "$UER_SEED_PATH/scripts/topn_words_indep.py" "${args[@]}" 2>/dev/null | grep -v '^Vocabulary' > "$work/seed_$level.txt"
  echo "UER-py + PyTorch 1.13.1, $level kernels: $(differing "$work/seed_$level.txt" "$g/scripts/topn_words_indep.out.txt") lines differ from the golden file, $(differing "$work/seed_$level.txt" "$work/uer_cc.txt") from uer-cc"
done
