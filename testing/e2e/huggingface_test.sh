#!/usr/bin/env bash
# HuggingFace interop, checked by the real libraries (transformers and safetensors in the project's
# venv; without them the test skips with a message, or fails under CI):
#  - the golden model_hf.bin (UER-py's converter) converts to uer-cc's keys equal to model.bin but
#    segment row 0 (HuggingFace has two token types), and model.bin converts to exactly model_hf.bin;
#  - a random BertModel that transformers writes (model.safetensors + config.json, no download)
#    gives, through uer-cc's check_model reading the folder in memory, transformers' last hidden
#    states within 1e-5 on every non-padding position (single sentences and pairs);
#  - a BertForPreTraining goes HuggingFace -> uer-cc -> HuggingFace, and transformers'
#    from_pretrained reads the folder uer-cc wrote with every tensor as it was; safetensors'
#    load_file reads uer-cc's file; --verify reads each written file back;
#  - bad input: a git-LFS pointer, a truncated safetensors file, a BertForMaskedLM converted with
#    --target bert (the absent nsp head named).
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_python torch transformers safetensors
golden="$shared/golden/bert_bert"
from_hf="$ws/tools/convert_bert_from_huggingface_to_uer"
to_hf="$ws/tools/convert_bert_from_uer_to_huggingface"
cls_from_hf="$ws/tools/convert_bert_text_classification_from_huggingface_to_uer"
cls_to_hf="$ws/tools/convert_bert_text_classification_from_uer_to_huggingface"
tok_from_hf="$ws/tools/convert_bert_token_classification_from_huggingface_to_uer"
tok_to_hf="$ws/tools/convert_bert_token_classification_from_uer_to_huggingface"

if [[ -s "$golden/model_hf.bin" && -s "$golden/model.bin" ]] || skip_part "golden" "no $golden/model_hf.bin (set UER_SHARED_DIR)"; then
  "$from_hf" --input_model_path "$golden/model_hf.bin" --output_model_path "$t/golden_uer.bin" --verify 2> "$t/g1.log" \
    || { tail -3 "$t/g1.log"; fail "model_hf.bin -> uer"; }
  "$to_hf" --input_model_path "$golden/model.bin" --output_model_path "$t/golden_hf.bin" --verify 2> "$t/g2.log" \
    || { tail -3 "$t/g2.log"; fail "model.bin -> HuggingFace"; }
  for l in g1 g2; do
    grep -q "keys: mapped [0-9]*, dropped [0-9]*, absent 0" "$t/$l.log" || { cat "$t/$l.log"; fail "no key report"; }
    grep -q -- "--verify: .* all equal" "$t/$l.log" || fail "no --verify result in $l.log"
  done
  "$python" - "$golden" "$t" <<'PY' || fail "golden conversions"
import sys, torch
g, t = sys.argv[1:]
a = torch.load(f"{g}/model.bin", weights_only=True); b = torch.load(f"{t}/golden_uer.bin", weights_only=True)
assert a.keys() == b.keys(), a.keys() ^ b.keys()
for k in a:
    if k == "embedding.segment_embedding.weight":
        assert torch.equal(a[k][1:], b[k][1:]) and bool((b[k][0] == 0).all()), k
    else:
        assert torch.equal(a[k], b[k]), k
h = torch.load(f"{g}/model_hf.bin", weights_only=True); c = torch.load(f"{t}/golden_hf.bin", weights_only=True)
assert h.keys() == c.keys(), h.keys() ^ c.keys()
assert all(torch.equal(h[k], c[k]) for k in h)
print(f"golden: model_hf.bin -> uer equals model.bin but segment row 0; model.bin -> HuggingFace equals model_hf.bin ({len(h)} tensors)")
PY
fi

# Random models written by transformers itself.
"$python" - "$t" <<'PY' || fail "transformers could not write the models"
import sys, torch, transformers
t = sys.argv[1]
torch.manual_seed(5)
vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [chr(c) for c in range(0x4e00, 0x4e00 + 150)]
cfg = transformers.BertConfig(vocab_size=len(vocab), hidden_size=48, num_hidden_layers=3, num_attention_heads=4,
                              intermediate_size=96, max_position_embeddings=64, hidden_dropout_prob=0.0,
                              attention_probs_dropout_prob=0.0)
for cls, name in [(transformers.BertModel, "bert_model"), (transformers.BertForPreTraining, "bert_pt"),
                  (transformers.BertForMaskedLM, "bert_mlm")]:
    m = cls(cfg).eval()
    with torch.no_grad():  # LayerNorms away from 1/0, so that their flavour matters
        for n, p in m.named_parameters():
            if "LayerNorm" in n:
                p.add_(torch.randn_like(p) * 0.1)
    m.save_pretrained(f"{t}/{name}")
    open(f"{t}/{name}/vocab.txt", "w").write("\n".join(vocab) + "\n")
# Inputs: singles and pairs, with padding (UER's seg: 1, 2 for the segments, 0 for padding).
g = torch.Generator().manual_seed(11)
rows, segs = [], []
for n_a, n_b, pad in [(12, 0, 4), (7, 6, 3), (16, 0, 0), (5, 9, 2)]:
    ids = [101] + torch.randint(104, len(vocab), (n_a,), generator=g).tolist() + [102]
    seg = [1] * len(ids)
    if n_b:
        ids += torch.randint(104, len(vocab), (n_b,), generator=g).tolist() + [102]
        seg += [2] * (n_b + 1)
    rows.append(ids); segs.append(seg)
L = max(len(r) for r in rows) + 2
src = torch.tensor([r + [0] * (L - len(r)) for r in rows]); seg = torch.tensor([s + [0] * (L - len(s)) for s in segs])
torch.save({"src": src, "seg": seg}, f"{t}/io.pt")
m = transformers.BertModel.from_pretrained(f"{t}/bert_model").eval()
with torch.no_grad():
    out = m(input_ids=src, token_type_ids=(seg == 2).long(), attention_mask=(seg > 0).long()).last_hidden_state
torch.save({"hidden": out, "mask": seg > 0}, f"{t}/hf_out.pt")
PY

# check_model reads the transformers folder as it is (config.json, model.safetensors), in memory.
"$ws/tools/check_model" --load_model_path "$t/bert_model" --vocab_path "$t/bert_model/vocab.txt" \
  --inputs_path "$t/io.pt" --output_path "$t/uer_out.pt" > "$t/check.out" 2> "$t/check.log" \
  || { tail -3 "$t/check.log"; fail "check_model on the transformers folder"; }
grep -q "headless" "$t/check.out" || fail "not read as a headless model"
"$python" - "$t" <<'PY' || fail "hidden states differ"
import sys, torch
t = sys.argv[1]
hf = torch.load(f"{t}/hf_out.pt", weights_only=True); uer = torch.load(f"{t}/uer_out.pt", weights_only=True)
m = hf["mask"]
diff = (hf["hidden"][m] - uer["encoder_output"][m]).abs().max().item()
print(f"BertModel (3 layers, 48 wide) in uer-cc vs transformers: max |diff| over {int(m.sum())} positions = {diff:.3g}")
assert diff <= 1e-5, diff
PY

# HuggingFace -> uer-cc -> HuggingFace, read back by transformers and safetensors.
"$from_hf" --input_model_path "$t/bert_pt" --output_model_path "$t/pt_uer.bin" --output_config_path "$t/pt.pbtxt" --verify \
  2> "$t/c1.log" || { tail -3 "$t/c1.log"; fail "BertForPreTraining -> uer"; }
"$to_hf" --input_model_path "$t/pt_uer.bin" --config_path "$t/pt.pbtxt" --vocab_path "$t/bert_pt/vocab.txt" \
  --output_model_path "$t/pt_back" --verify 2> "$t/c2.log" || { tail -3 "$t/c2.log"; fail "uer -> HuggingFace folder"; }
"$python" - "$t" <<'PY' || fail "transformers or safetensors refused uer-cc's folder"
import sys, torch, transformers
from safetensors.torch import load_file
t = sys.argv[1]
a = transformers.BertForPreTraining.from_pretrained(f"{t}/bert_pt").state_dict()
b = transformers.BertForPreTraining.from_pretrained(f"{t}/pt_back").state_dict()
assert a.keys() == b.keys(), a.keys() ^ b.keys()
bad = [k for k in a if not torch.equal(a[k], b[k])]
assert not bad, bad
load_file(f"{t}/pt_back/model.safetensors")
print(f"BertForPreTraining -> uer-cc -> HuggingFace: from_pretrained reads it, {len(a)} tensors equal")
PY

# Sharded checkpoints (model.safetensors.index.json) read as one; heads of the classification
# classes convert both ways; run_classifier fine-tunes straight from a transformers folder (its
# config.json and vocab.txt by default).
"$python" - "$t" <<'PY' || fail "transformers could not write the sharded and classification models"
import sys, torch, transformers
t = sys.argv[1]
torch.manual_seed(6)
vocab = open(f"{t}/bert_model/vocab.txt").read()
cfg = transformers.BertConfig.from_pretrained(f"{t}/bert_model")
m = transformers.BertModel(cfg).eval()
m.save_pretrained(f"{t}/sharded", max_shard_size="50KB")
open(f"{t}/sharded/vocab.txt", "w").write(vocab)
cfg.num_labels = 3
c = transformers.BertForSequenceClassification(cfg).eval()
c.save_pretrained(f"{t}/seqcls")
open(f"{t}/seqcls/vocab.txt", "w").write(vocab)
cfg.num_labels = 5
transformers.BertForTokenClassification(cfg).eval().save_pretrained(f"{t}/tokcls")
with torch.no_grad():
    out = m(input_ids=torch.load(f"{t}/io.pt")["src"], token_type_ids=(torch.load(f"{t}/io.pt")["seg"] == 2).long(),
            attention_mask=(torch.load(f"{t}/io.pt")["seg"] > 0).long()).last_hidden_state
torch.save({"hidden": out, "mask": torch.load(f"{t}/io.pt")["seg"] > 0}, f"{t}/sharded_out.pt")
# The tanh approximation of GELU (gelu_new), selected by config.json's hidden_act.
cfg = transformers.BertConfig.from_pretrained(f"{t}/bert_model"); cfg.hidden_act = "gelu_new"
torch.manual_seed(8)
g = transformers.BertModel(cfg).eval()
g.save_pretrained(f"{t}/gelu_new")
open(f"{t}/gelu_new/vocab.txt", "w").write(vocab)
io = torch.load(f"{t}/io.pt")
with torch.no_grad():
    out = g(input_ids=io["src"], token_type_ids=(io["seg"] == 2).long(), attention_mask=(io["seg"] > 0).long()).last_hidden_state
torch.save({"hidden": out, "mask": io["seg"] > 0}, f"{t}/gelu_new_out.pt")
PY
"$ws/tools/check_model" --load_model_path "$t/gelu_new" --vocab_path "$t/gelu_new/vocab.txt" \
  --inputs_path "$t/io.pt" --output_path "$t/gelu_new_uer.pt" > /dev/null 2> "$t/gelu_new.log" || { tail -3 "$t/gelu_new.log"; fail "gelu_new"; }
"$python" - "$t" <<'PY' || fail "gelu_new hidden states differ"
import sys, torch
t = sys.argv[1]
hf = torch.load(f"{t}/gelu_new_out.pt", weights_only=True); uer = torch.load(f"{t}/gelu_new_uer.pt", weights_only=True)
m = hf["mask"]; diff = (hf["hidden"][m] - uer["encoder_output"][m]).abs().max().item()
print(f"BertModel with hidden_act gelu_new: max |diff| = {diff:.3g}"); assert diff <= 1e-5
PY
ls "$t/sharded"/model.safetensors.index.json > /dev/null || fail "transformers wrote no sharded checkpoint"
"$ws/tools/check_model" --load_model_path "$t/sharded" --vocab_path "$t/sharded/vocab.txt" \
  --inputs_path "$t/io.pt" --output_path "$t/sharded_uer.pt" > /dev/null 2> "$t/sharded.log" || { tail -3 "$t/sharded.log"; fail "sharded"; }
"$python" - "$t" <<'PY' || fail "the sharded model's hidden states differ"
import sys, torch
t = sys.argv[1]
hf = torch.load(f"{t}/sharded_out.pt", weights_only=True); uer = torch.load(f"{t}/sharded_uer.pt", weights_only=True)
m = hf["mask"]; diff = (hf["hidden"][m] - uer["encoder_output"][m]).abs().max().item()
print(f"sharded BertModel ({len(__import__('os').listdir(t + '/sharded')) - 3} shards): max |diff| = {diff:.3g}"); assert diff <= 1e-5
PY
"$cls_from_hf" --input_model_path "$t/seqcls" --output_model_path "$t/cls_uer.bin" --verify 2> "$t/cls1.log" \
  || { tail -3 "$t/cls1.log"; fail "BertForSequenceClassification -> uer"; }
"$cls_to_hf" --input_model_path "$t/cls_uer.bin" --config_path "$t/seqcls/config.json" \
  --output_model_path "$t/seqcls_back" --verify 2> "$t/cls2.log" || { tail -3 "$t/cls2.log"; fail "uer classifier -> HuggingFace"; }
"$python" - "$t" <<'PY' || fail "the classifier round trip"
import sys, torch, transformers
t = sys.argv[1]
a = transformers.BertForSequenceClassification.from_pretrained(f"{t}/seqcls").state_dict()
b = transformers.BertForSequenceClassification.from_pretrained(f"{t}/seqcls_back").state_dict()
u = torch.load(f"{t}/cls_uer.bin", weights_only=True)
assert torch.equal(u["output_layer_2.weight"], a["classifier.weight"]) and torch.equal(u["output_layer_1.weight"], a["bert.pooler.dense.weight"])
assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
print(f"BertForSequenceClassification -> uer-cc (output_layer_1/2) -> HuggingFace: {len(a)} tensors equal")
PY
"$tok_from_hf" --input_model_path "$t/tokcls" --output_model_path "$t/tok_uer.bin" --verify 2> "$t/tok1.log" \
  || { tail -3 "$t/tok1.log"; fail "BertForTokenClassification -> uer"; }
"$tok_to_hf" --input_model_path "$t/tok_uer.bin" --config_path "$t/tokcls/config.json" \
  --output_model_path "$t/tokcls_back" --verify 2> "$t/tok2.log" || { tail -3 "$t/tok2.log"; fail "uer ner -> HuggingFace"; }
"$python" - "$t" <<'PY' || fail "the token classification round trip"
import sys, torch, transformers
t = sys.argv[1]
a = transformers.BertForTokenClassification.from_pretrained(f"{t}/tokcls").state_dict()
b = transformers.BertForTokenClassification.from_pretrained(f"{t}/tokcls_back").state_dict()
u = torch.load(f"{t}/tok_uer.bin", weights_only=True)
assert torch.equal(u["output_layer.weight"], a["classifier.weight"]) and u["output_layer.weight"].shape[0] == 5
assert not any(k.startswith("output_layer_1") for k in u), "a token classifier has no pooler head"
assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
print(f"BertForTokenClassification -> uer-cc (output_layer) -> HuggingFace: {len(a)} tensors equal")
PY
printf 'label\ttext_a\n' > "$t/train.tsv"
for i in $(seq 1 12); do printf '1\t一丁七\n0\t万丈三\n'; done >> "$t/train.tsv"
"$ws/tools/run_classifier" --pretrained_model_path "$t/bert_model" \
  --train_path "$t/train.tsv" --dev_path "$t/train.tsv" --output_model_path "$t/ft.bin" --epochs_num 1 --batch_size 8 \
  --seq_length 8 > "$t/ft.out" 2> "$t/ft.log" || { tail -3 "$t/ft.log"; fail "run_classifier from a transformers folder"; }
grep -q "HuggingFace's BERT keys converted in memory" "$t/ft.log" || fail "run_classifier did not read the folder's weights"
grep -q 'tokenizer: "bert_hf"' "$t/ft.log" || fail "the folder's model did not select the transformers tokenizer"
grep -q "vocabulary from $t/bert_model/vocab.txt" "$t/ft.log" || fail "the folder's vocabulary was not used by default"
echo "run_classifier from the transformers folder: $(grep 'best dev' "$t/ft.out")"

# Bad input, each named.
expect() {  # NAME EXPECTED-SUBSTRING -- COMMAND...
  local name=$1 want=$2; shift 3
  set +e; "$@" > /dev/null 2> "$t/$name.err"; local rc=$?; set -e
  [[ $rc == 1 || $rc == 2 ]] || { tail -3 "$t/$name.err"; fail "$name: exit code $rc"; }
  grep -qF -- "$want" "$t/$name.err" || { tail -3 "$t/$name.err"; fail "$name: expected \"$want\""; }
  ! grep -qE "terminate called|Exception raised from" "$t/$name.err" || fail "$name: a backtrace"
  echo "$name: exit $rc: $(grep -F -- "$want" "$t/$name.err" | head -1 | sed 's/^.*\] //' | cut -c1-160)"
}
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 440473133\n' > "$t/lfs.bin"
expect lfs "is a git-LFS pointer file, not the weights" -- "$from_hf" --input_model_path "$t/lfs.bin" --output_model_path "$t/x.bin"
head -c 2000 "$t/bert_model/model.safetensors" > "$t/cut.safetensors"
expect truncated "cut.safetensors: " -- "$from_hf" --input_model_path "$t/cut.safetensors" --output_model_path "$t/x.bin"
expect no_nsp "lacks what --target bert needs: pooler.dense.weight" -- "$from_hf" --input_model_path "$t/bert_mlm" \
  --output_model_path "$t/x.bin" --target bert
grep -qF "(the checkpoint's heads are those of --target mlm)" "$t/no_nsp.err" || fail "no_nsp: the heads the file holds are not said"
# A target plugin without a HuggingFace head (lm): refused, naming those that declare one.
expect no_head "ner (BertForTokenClassification)" -- "$from_hf" --input_model_path "$t/bert_mlm" \
  --output_model_path "$t/x.bin" --target lm
"$from_hf" --input_model_path "$t/bert_mlm" --output_model_path "$t/mlm_uer.bin" --target mlm 2> "$t/mlm.log" \
  || { tail -3 "$t/mlm.log"; fail "BertForMaskedLM with --target mlm"; }
[[ ! -e "$t/x.bin" ]] || fail "a file written by a failed conversion"
echo PASS
