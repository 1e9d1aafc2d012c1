#!/usr/bin/env bash
# run_mrc and run_mrc_infer on the small CMRC2018 set (../shared/data/datasets/small/cmrc2018):
#  - a tiny BERT trained from scratch for an epoch reports UER-py's "Avg/F1/EM/Total/Skip" line on dev
#    and on test (the seed's test phase crashes), and saves the model;
#  - run_mrc_infer writes one JSON object {question id: answer} with every question of the file;
#  - CMRC2018's official evaluation (its algorithm, with nltk's word tokenizer from the venv) gives
#    on that file the F1 and EM that run_mrc reported for the same model and file;
#  - bad input: a malformed JSON file, a training answer that is not in its context, a model that
#    is not a run_mrc model: one line naming it, exit status 2.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared data/datasets/small/cmrc2018 data/vocab/google_zh_vocab.txt golden/bert_bert/model.bin golden/vocab_1000.txt
data="$shared/data/datasets/small/cmrc2018"
tools="$ws/tools"
vocab="$shared/data/vocab/google_zh_vocab.txt"
cat > "$t/tiny.pbtxt" <<'CFG'
emb_size: 64 hidden_size: 64 feedforward_size: 128 heads_num: 2 layers_num: 1
embedding: "bert" encoder: "bert"
CFG

"$tools/run_mrc" --vocab_path "$vocab" --config_path "$t/tiny.pbtxt" --train_path "$data/train.json" \
  --dev_path "$data/dev.json" --test_path "$data/dev.json" --output_model_path "$t/qa.bin" --epochs_num 1 \
  --batch_size 8 --seq_length 128 --learning_rate 1e-3 > "$t/out" 2> "$t/log" || { tail -5 "$t/log"; fail run_mrc; }
grep -q "dev: Avg: [0-9.]*,F1:[0-9.]*,EM:[0-9.]*,Total:3,Skip:0" "$t/log" || { cat "$t/log"; fail "no dev report"; }
report="$(grep -A1 "Test set evaluation" "$t/out" | tail -1)"
[[ "$report" == Avg:* ]] || { cat "$t/out"; fail "no test report"; }
[[ -s "$t/qa.bin" ]] || fail "no model saved"
"$tools/check_model" --load_model_path "$t/qa.bin" --vocab_path "$vocab" --config_path "$t/tiny.pbtxt" 2> /dev/null \
  | grep -q "fine-tuned model: task.*mrc (labels_num 2)" || fail "check_model does not name the mrc task"
"$tools/run_mrc_infer" --load_model_path "$t/qa.bin" --vocab_path "$vocab" --config_path "$t/tiny.pbtxt" \
  --test_path "$data/dev.json" --prediction_path "$t/pred.json" --seq_length 128 2> "$t/log" || { tail -5 "$t/log"; fail run_mrc_infer; }
# The test file's fake answers are not in their contexts: only training answers must be.
"$tools/run_mrc_infer" --load_model_path "$t/qa.bin" --vocab_path "$vocab" --config_path "$t/tiny.pbtxt" \
  --test_path "$data/test.json" --prediction_path "$t/pred_test.json" --seq_length 128 2> "$t/log" || { tail -5 "$t/log"; fail "run_mrc_infer on test.json"; }

if has_python nltk || skip_part "official evaluation" "no nltk in $python (tools/bootstrap.sh installs it)"; then
  "$python" - "$data/dev.json" "$t/pred.json" "$report" <<'PY' || fail "the official evaluation disagrees"
import json, re, sys
import nltk
gold, pred, report = sys.argv[1:]
# CMRC2018's evaluation (cmrc2018_evaluate.py), its algorithm; nltk's word_tokenize on one line
# (preserve_line: the sentence splitter's punkt data is not installed).
SP = ['-', ':', '_', '*', '^', '/', '\\', '~', '`', '+', '=', '，', '。', '：', '？', '！', '“', '”', '；', '’', '《', '》',
      '……', '·', '、', '「', '」', '（', '）', '－', '～', '『', '』']
def mixed_segmentation(in_str, rm_punc=False):
    in_str = str(in_str).lower().strip()
    segs, temp = [], ""
    for char in in_str:
        if rm_punc and char in SP:
            continue
        if re.search(r'[\u4e00-\u9fa5]', char) or char in SP:
            if temp != "":
                segs.extend(nltk.word_tokenize(temp, preserve_line=True)); temp = ""
            segs.append(char)
        else:
            temp += char
    if temp != "":
        segs.extend(nltk.word_tokenize(temp, preserve_line=True))
    return segs
def remove_punctuation(in_str):
    return ''.join(c for c in str(in_str).lower().strip() if c not in SP)
def find_lcs(s1, s2):
    m = [[0] * (len(s2) + 1) for _ in range(len(s1) + 1)]; mmax = 0
    for i in range(len(s1)):
        for j in range(len(s2)):
            if s1[i] == s2[j]:
                m[i + 1][j + 1] = m[i][j] + 1; mmax = max(mmax, m[i + 1][j + 1])
    return mmax
def f1(answers, p):
    best = 0
    for a in answers:
        a_s, p_s = mixed_segmentation(a, True), mixed_segmentation(p, True)
        lcs = find_lcs(a_s, p_s)
        if lcs:
            pr, rc = lcs / len(p_s), lcs / len(a_s); best = max(best, 2 * pr * rc / (pr + rc))
    return best
def em(answers, p):
    return any(remove_punctuation(a) == remove_punctuation(p) for a in answers)
predictions = json.load(open(pred, encoding="utf-8"))
total = f1_sum = em_sum = 0
for article in json.load(open(gold, encoding="utf-8"))["data"]:
    for para in article["paragraphs"]:
        for qa in para["qas"]:
            total += 1
            answers = [a["text"] for a in qa["answers"]]
            p = predictions[qa["id"]]
            f1_sum += f1(answers, p); em_sum += em(answers, p)
assert total == len(predictions), (total, len(predictions))
F1, EM = 100 * f1_sum / total, 100 * em_sum / total
ours = dict(kv.split(":") for kv in report.replace("Avg: ", "Avg:").split(","))
print(f"official: F1 {F1:.4f} EM {EM:.4f}; run_mrc: {report}")
assert abs(float(ours["F1"]) - F1) < 1e-3 and abs(float(ours["EM"]) - EM) < 1e-3
PY
fi
if has_python || skip_part "test.json predictions" "no $python"; then
  "$python" -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==5, d" "$t/pred_test.json" \
    || fail "predictions for test.json"
fi

# Bad input.
expect_usage_error() {
  local what="$1" needle="$2"; shift 2
  set +e; "$@" > "$t/out" 2> "$t/err"; local rc=$?; set -e
  [[ $rc -eq 2 ]] || { cat "$t/err"; fail "$what: exit $rc, expected 2"; }
  grep -q -- "$needle" "$t/err" || { cat "$t/err"; fail "$what: no \"$needle\" in the message"; }
  if grep -q "terminate called\|Exception raised from" "$t/err"; then fail "$what: a crash, not a message"; fi
}
head -c 300 "$data/train.json" > "$t/broken.json"
expect_usage_error "malformed JSON" "broken.json: not JSON" \
  "$tools/run_mrc" --vocab_path "$vocab" --config_path "$t/tiny.pbtxt" --train_path "$t/broken.json" \
  --dev_path "$data/dev.json" --output_model_path "$t/x.bin"
if has_python || skip_part "an answer not in its context" "no $python to write the file"; then
  "$python" - "$data/train.json" "$t/bad_answer.json" <<'PY' || fail "could not write $t/bad_answer.json"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
d["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["text"] = "这个答案不在上下文里"
json.dump(d, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
PY
  expect_usage_error "an answer not in its context" "is not in its context" \
    "$tools/run_mrc" --vocab_path "$vocab" --config_path "$t/tiny.pbtxt" --train_path "$t/bad_answer.json" \
    --dev_path "$data/dev.json" --output_model_path "$t/x.bin"
fi
expect_usage_error "a model that is not run_mrc's" "not a run_mrc model" \
  "$tools/run_mrc_infer" --load_model_path "$shared/golden/bert_bert/model.bin" --vocab_path "$shared/golden/vocab_1000.txt" \
  --config_path "$t/tiny.pbtxt" --test_path "$data/dev.json" --prediction_path "$t/x.json"
echo PASS
