#!/usr/bin/env bash
# --precision bf16 (autocast) end to end:
#  - pretrain: a small BERT on 2,000 book reviews, 120 steps, fp32 and bf16 from the same seed: the
#    last report's loss within 2% of each other, the checkpoint fp32, MFU reported against the
#    precision's own measured peak;
#  - fine-tuning: run_classifier in bf16 trains and evaluates; run_classifier_infer in bf16 agrees
#    with fp32 on at least 90% of the test labels of the same model;
#  - fp16 with dynamic loss scaling (emulated on this CPU: UER_CPU_FP16=emulated): a small BERT's loss
#    within 3% of fp32's; from a first scale of 2^40 steps overflow, are skipped and the scale
#    halved; the scale is kept in the checkpoint's state, so a run resumed from step 40 ends with
#    the same weights, bit for bit, as the uninterrupted one;
#  - refusals, exit 2 with one line: a CPU without bf16 (UER_CPU_NO_BF16=1 stands in for one), fp16
#    on a CPU without it, an unknown name.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared data/corpora/book_review.txt data/vocab/google_zh_vocab.txt data/datasets/small/book_review
cpu_has avx512_bf16 amx_bf16 || cpu_lacks "native bf16 (avx512_bf16 or amx_bf16)"
vocab="$shared/data/vocab/google_zh_vocab.txt"

head -2000 "$shared/data/corpora/book_review.txt" > "$t/reviews.txt"
"$ws/tools/preprocess" --corpus_path "$t/reviews.txt" --vocab_path "$vocab" --dataset_path "$t/mlm.uer" \
  --target mlm --seq_length 64 --dup_factor 1 2> "$t/pre.log" || { tail -3 "$t/pre.log"; fail "preprocess"; }
pt=(--dataset_path "$t/mlm.uer" --vocab_path "$vocab" --emb_size 128 --hidden_size 128 --feedforward_size 512
    --heads_num 2 --layers_num 2 --target mlm --total_steps 120 --report_steps 40 --batch_size 16
    --learning_rate 1e-3 --save_checkpoint_steps 1000)
for p in fp32 bf16; do
  "$ws/tools/pretrain" "${pt[@]}" --precision $p --output_model_path "$t/$p.bin" 2> "$t/$p.log" ||
    { tail -3 "$t/$p.log"; fail "pretrain $p"; }
done
grep -q "bf16 autocast" "$t/bf16.log" || fail "the bf16 run does not say so"
grep -q "against a measured bf16 GEMM peak" "$t/bf16.log" || fail "bf16 MFU is not against the bf16 peak"
grep -q "| MFU [0-9.]*%" "$t/bf16.log" || fail "no MFU in the report line"
last() { grep -o 'loss *[0-9.]*' "$1" | tail -1 | awk '{print $2}'; }
f=$(last "$t/fp32.log"); b=$(last "$t/bf16.log")
echo "pretrain, 120 steps: last report's loss fp32 $f, bf16 $b"
awk -v f="$f" -v b="$b" 'BEGIN { d = (b - f) / f; if (d < 0) d = -d; exit !(d <= 0.02) }' || fail "bf16 loss $b is not within 2% of fp32's $f"
if has_python torch || skip_part "bf16 checkpoint dtype" "no $python with torch"; then
  "$python" - "$t/bf16.bin" <<'PY' || fail "the bf16 run's checkpoint is not fp32"
import sys, torch
sd = torch.load(sys.argv[1], weights_only=True)
assert all(v.dtype == torch.float32 for v in sd.values() if v.is_floating_point()), {v.dtype for v in sd.values()}
PY
fi

br="$shared/data/datasets/small/book_review"
model=(--vocab_path "$vocab" --emb_size 128 --hidden_size 128 --feedforward_size 512 --heads_num 2 --layers_num 2
       --seq_length 64 --batch_size 16 --report_steps 100)
"$ws/tools/run_classifier" "${model[@]}" --pretrained_model_path "$t/fp32.bin" --train_path "$br/train.tsv" \
  --dev_path "$br/dev.tsv" --test_path "$br/test.tsv" --output_model_path "$t/cls.bin" --epochs_num 2 \
  --learning_rate 1e-4 --precision bf16 > "$t/cls.out" 2> "$t/cls.log" || { tail -3 "$t/cls.log"; fail "run_classifier bf16"; }
grep -q "bf16 autocast" "$t/cls.log" || fail "run_classifier does not say bf16"
grep -q "Acc. (Correct/Total)" "$t/cls.out" || fail "no bf16 test accuracy"
for p in fp32 bf16; do
  "$ws/tools/run_classifier_infer" "${model[@]}" --load_model_path "$t/cls.bin" --test_path "$br/test.tsv" \
    --prediction_path "$t/pred_$p.tsv" --output_prob --precision $p 2> "$t/infer_$p.log" || { tail -3 "$t/infer_$p.log"; fail "infer $p"; }
done
same=$(paste <(cut -f1 "$t/pred_fp32.tsv") <(cut -f1 "$t/pred_bf16.tsv") | awk -F'\t' 'NR > 1 && $1 == $2 { n++ } END { print n + 0 }')
total=$(($(wc -l < "$t/pred_fp32.tsv") - 1))
echo "inference: bf16 agrees with fp32 on $same of $total labels"
(( same * 10 >= total * 9 )) || fail "bf16 inference agrees on only $same of $total"

refuse() {  # refuse EXPECTED_TEXT ENV... -- FLAGS...
  local want=$1; shift
  set +e
  env "$@" > "$t/refuse.out" 2> "$t/refuse.log"
  local code=$?
  set -e
  [[ $code == 2 ]] || { cat "$t/refuse.log"; fail "exit $code, not 2 ($want)"; }
  grep -q -- "$want" "$t/refuse.log" || { cat "$t/refuse.log"; fail "no \"$want\""; }
  ! grep -q "terminate called\|Exception raised from" "$t/refuse.log" || fail "a backtrace ($want)"
}
refuse "this CPU has no native bf16 (neither avx512_bf16 nor amx_bf16" UER_CPU_NO_BF16=1 \
  "$ws/tools/pretrain" "${pt[@]}" --precision bf16 --output_model_path "$t/no.bin"
refuse "this CPU has no native bf16" UER_CPU_NO_BF16=1 "$ws/tools/run_classifier_infer" "${model[@]}" \
  --load_model_path "$t/cls.bin" --test_path "$br/test.tsv" --prediction_path "$t/no.tsv" --precision bf16
[[ ! -e "$t/no.tsv" ]] || fail "a refused run wrote predictions"
if ! cpu_has avx512_fp16 amx_fp16; then
  refuse "this CPU has no native fp16 (neither avx512_fp16 nor amx_fp16" \
    "$ws/tools/pretrain" "${pt[@]}" --precision fp16 --output_model_path "$t/no.bin"
fi
refuse "precision must be fp32, bf16 or fp16" "$ws/tools/pretrain" "${pt[@]}" --precision fp64 --output_model_path "$t/no.bin"
# fp16 (emulated here: LibTorch's software fp16 runs ~30x slower than fp32, so a smaller model).
small=(--dataset_path "$t/mlm.uer" --vocab_path "$vocab" --emb_size 64 --hidden_size 64 --feedforward_size 128
       --heads_num 2 --layers_num 1 --target mlm --total_steps 80 --report_steps 40 --batch_size 8
       --learning_rate 1e-3 --peak_tflops -1)
"$ws/tools/pretrain" "${small[@]}" --precision fp32 --output_model_path "$t/s32.bin" --save_checkpoint_steps 1000 \
  2> "$t/s32.log" || { tail -3 "$t/s32.log"; fail "pretrain fp32 (small)"; }
UER_CPU_FP16=emulated "$ws/tools/pretrain" "${small[@]}" --precision fp16 --output_model_path "$t/s16.bin" \
  --save_checkpoint_steps 1000 2> "$t/s16.log" || { tail -3 "$t/s16.log"; fail "pretrain fp16"; }
grep -q "fp16 autocast, dynamic loss scaling" "$t/s16.log" || fail "the fp16 run does not say so"
f=$(last "$t/s32.log"); h=$(last "$t/s16.log")
echo "fp16 (emulated), 80 steps: last report's loss fp32 $f, fp16 $h"
awk -v f="$f" -v b="$h" 'BEGIN { d = (b - f) / f; if (d < 0) d = -d; exit !(d <= 0.03) }' || fail "fp16 loss $h is not within 3% of fp32's $f"
# A first scale far too large (2^40) overflows: steps are skipped and the scale halved until the
# gradients fit, then it grows again every 10 good steps and overflows again.
over=("${small[@]}" --precision fp16 --fp16_init_scale 1099511627776 --fp16_scale_window 10 --save_checkpoint_steps 40)
UER_CPU_FP16=emulated "$ws/tools/pretrain" "${over[@]}" --output_model_path "$t/o16.bin" --metrics_path "$t/o16.jsonl" \
  2> "$t/o16.log" || { tail -3 "$t/o16.log"; fail "pretrain fp16, scale 2^40"; }
skipped=$(grep -c "gradients overflowed" "$t/o16.log" || true)
echo "fp16 from a scale of 2^40: $skipped of 80 steps skipped"
(( skipped >= 10 )) || fail "only $skipped steps skipped from a scale of 2^40"
grep -q "loss scale now 2.74878e+11 (2 skipped so far)" "$t/o16.log" || fail "the scale is not halved at each overflow"
grep -q '"train/loss_scale"' "$t/o16.jsonl" || fail "no train/loss_scale in the metrics"
last_loss=$(last "$t/o16.log")
[[ "$last_loss" != nan && "$last_loss" != inf ]] || fail "the overflowing run ends with loss $last_loss"
# Resumed from step 40: the scale and its count come back, and the weights end bit-identical.
mkdir -p "$t/r" && cp "$t/o16.bin-40" "$t/o16.bin-40.state" "$t/r/"
UER_CPU_FP16=emulated "$ws/tools/pretrain" "${over[@]}" --output_model_path "$t/r/o16.bin" --resume 2> "$t/r.log" ||
  { tail -3 "$t/r.log"; fail "pretrain fp16 --resume"; }
grep -q "resumed from .*o16.bin-40 at step 41" "$t/r.log" || fail "did not resume at step 41"
if has_python torch || skip_part "fp16 resume weights" "no $python with torch"; then
  "$python" - "$t/o16.bin" "$t/r/o16.bin" "$t/o16.bin-40.state" <<'PY' || fail "fp16 resume"
import sys, torch
a = torch.load(sys.argv[1], weights_only=True); b = torch.load(sys.argv[2], weights_only=True)
assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "the resumed run's weights differ"
st = torch.load(sys.argv[3], weights_only=True)
print(f"fp16: resumed run bit-identical; at step 40 the loss scale was {float(st['uer.loss_scale']):g} "
      f"after {int(st['uer.loss_scale_skipped'])} skipped steps")
PY
fi
refuse "fp16_init_scale must be a number > 0" UER_CPU_FP16=emulated "$ws/tools/pretrain" "${small[@]}" \
  --precision fp16 --fp16_init_scale 0 --output_model_path "$t/no.bin"
echo PASS
