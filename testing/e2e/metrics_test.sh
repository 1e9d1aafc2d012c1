#!/usr/bin/env bash
# What a run records, read by the ecosystem's own reader:
#  - pretrain (mlm, 60 steps, a report each 20) with --tensorboard_dir and --metrics_path: TensorBoard's
#    EventAccumulator (the tensorboard package) finds every scalar (loss, the target's acc, tokens/s,
#    MFU, learning rate, gradient norm) at steps 20, 40, 60, and the JSON lines agree with it;
#  - run_classifier (2 epochs) records train/ values, dev/acc at each epoch's end and test/acc;
#  - a resumed pretrain keeps the JSON lines up to its checkpoint and goes on without repeating a step;
#  - an unwritable --tensorboard_dir is refused with exit 2 before training.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared data/corpora/book_review.txt data/vocab/google_zh_vocab.txt
need_python tensorboard
vocab="$shared/data/vocab/google_zh_vocab.txt"

head -300 "$shared/data/corpora/book_review.txt" > "$t/reviews.txt"
"$ws/tools/preprocess" --corpus_path "$t/reviews.txt" --vocab_path "$vocab" --dataset_path "$t/mlm.uer" \
  --target mlm --seq_length 32 --dup_factor 1 2> "$t/pre.log" || { tail -3 "$t/pre.log"; fail "preprocess"; }
pt=(--dataset_path "$t/mlm.uer" --vocab_path "$vocab" --emb_size 32 --hidden_size 32 --feedforward_size 64
    --heads_num 2 --layers_num 1 --target mlm --total_steps 60 --report_steps 20 --batch_size 8
    --learning_rate 1e-3 --save_checkpoint_steps 30)
"$ws/tools/pretrain" "${pt[@]}" --output_model_path "$t/pt/m.bin" --tensorboard_dir "$t/tb" \
  --metrics_path "$t/pt.jsonl" 2> "$t/pt.log" || { tail -3 "$t/pt.log"; fail "pretrain"; }
grep -q "TensorBoard events: $t/tb/events.out.tfevents." "$t/pt.log" || fail "the event file is not named"

"$python" - "$t/tb" "$t/pt.jsonl" <<'PY' || fail "pretrain's event file or JSON lines"
import json, math, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1]); acc.Reload()
tags = set(acc.Tags()["scalars"])
want = {"train/loss", "train/acc", "train/tokens_per_second", "train/mfu", "train/learning_rate", "train/grad_norm"}
assert want <= tags, f"missing {want - tags} in {tags}"
lines = [json.loads(l) for l in open(sys.argv[2])]
assert [l["step"] for l in lines] == [20, 40, 60], lines
for tag in sorted(tags):
    events = acc.Scalars(tag)
    assert [e.step for e in events] == [20, 40, 60], (tag, [e.step for e in events])
    for e, l in zip(events, lines):
        v = l[tag]
        assert math.isclose(e.value, v, rel_tol=1e-6, abs_tol=1e-30), (tag, e.step, e.value, v)
loss = [l["train/loss"] for l in lines]
assert all(0 < x < 20 for x in loss) and all(0 <= l["train/acc"] <= 1 for l in lines), lines
assert all(l["train/grad_norm"] > 0 and l["train/learning_rate"] >= 0 for l in lines), lines
print("pretrain: %d tags at steps 20, 40, 60; loss %s" % (len(tags), ", ".join("%.3f" % x for x in loss)))
PY

# Resume: a run killed after its step-40 report, whose newest checkpoint is step 30 (the step-60
# one removed, a torn line added), goes on from 31: the file ends with steps 20, 40, 60 once each.
cp "$t/pt.jsonl" "$t/r.jsonl"
printf '{"step": 6' >> "$t/r.jsonl"
rm -f "$t/pt/m.bin-60" "$t/pt/m.bin-60.state"
[[ -s "$t/pt/m.bin-30.state" ]] || fail "no step-30 checkpoint"
"$ws/tools/pretrain" "${pt[@]}" --resume --output_model_path "$t/pt/m.bin" --metrics_path "$t/r.jsonl" \
  2> "$t/r2.log" || { tail -3 "$t/r2.log"; fail "pretrain --resume"; }
"$python" - "$t/r.jsonl" "$t/pt.jsonl" <<'PY' || fail "the resumed run's JSON lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["step"] for l in lines] == [20, 40, 60], lines
# Resuming is exact: the run that was not stopped had the same gradient norm and rate at 40 and 60,
# and the same loss and accuracy over 41..60 (the resumed run's report at 40 averages 31..40 only).
first = [json.loads(l) for l in open(sys.argv[2])]
for a, b in zip(lines[1:], first[1:]):
    keys = ("train/grad_norm", "train/learning_rate") + (("train/loss", "train/acc") if a["step"] == 60 else ())
    for k in keys:
        assert a[k] == b[k], (a["step"], k, a[k], b[k])
PY

# Fine-tuning: train/ values by report, dev/acc an epoch, test/acc at the end.
small="$shared/data/datasets/small"
if [[ -d "$small/book_review" ]] || skip_part "run_classifier" "no $small/book_review (set UER_SHARED_DIR)"; then
  "$ws/tools/run_classifier" --vocab_path "$vocab" --emb_size 32 --hidden_size 32 --feedforward_size 64 --heads_num 2 \
    --layers_num 1 --seq_length 32 --batch_size 16 --report_steps 5 --train_path "$small/book_review/train.tsv" \
    --dev_path "$small/book_review/dev.tsv" --test_path "$small/book_review/test.tsv" --epochs_num 2 \
    --output_model_path "$t/cls.bin" --tensorboard_dir "$t/tb_cls" --metrics_path "$t/cls.jsonl" \
    > "$t/cls.out" 2> "$t/cls.log" || { tail -3 "$t/cls.log"; fail "run_classifier"; }
  "$python" - "$t/tb_cls" "$t/cls.jsonl" <<'PY' || fail "run_classifier's event file or JSON lines"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1]); acc.Reload()
tags = set(acc.Tags()["scalars"])
want = {"train/loss", "train/samples_per_second", "train/learning_rate", "train/grad_norm", "dev/acc", "test/acc"}
assert want <= tags, f"missing {want - tags} in {tags}"
dev = acc.Scalars("dev/acc")
assert len(dev) == 2 and dev[0].step < dev[1].step, dev
assert len(acc.Scalars("test/acc")) == 1
lines = [json.loads(l) for l in open(sys.argv[2])]
assert [l["dev/acc"] for l in lines if "dev/acc" in l] == [e.value for e in dev] or \
    all(abs(a - e.value) < 1e-6 for a, e in zip([l["dev/acc"] for l in lines if "dev/acc" in l], dev)), lines
print("run_classifier: dev/acc", [round(e.value, 4) for e in dev], "test/acc", acc.Scalars("test/acc")[0].value)
PY
fi

# An unwritable directory: exit 2, one line, before any step.
touch "$t/file"
set +e
"$ws/tools/pretrain" "${pt[@]}" --output_model_path "$t/bad/m.bin" --tensorboard_dir "$t/file/tb" 2> "$t/bad.log"
rc=$?
set -e
[[ $rc == 2 ]] || { cat "$t/bad.log"; fail "an unwritable --tensorboard_dir exits $rc, not 2"; }
grep -q -- "--tensorboard_dir: cannot create $t/file/tb" "$t/bad.log" || { cat "$t/bad.log"; fail "the message"; }
echo "PASS"
