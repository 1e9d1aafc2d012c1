#!/usr/bin/env bash
# check_model against UER-py's golden bert_bert case: it loads model.bin and model_head_keys.bin (the
# same weights under UER-py's current key names) to the same model, writes outputs equal to io.pt,
# and what uer-cc writes loads in Python with torch.load to the same tensors. It refuses a truncated
# checkpoint and a config of another size with clear messages.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
need_shared golden/bert_bert data/vocab/google_zh_vocab.txt
g="$shared/golden/bert_bert"
head -n 1000 "$shared/data/vocab/google_zh_vocab.txt" > "$t/vocab_1000.txt"
cat > "$t/config.pbtxt" <<'CFG'
emb_size: 64 hidden_size: 64 feedforward_size: 128 heads_num: 4 layers_num: 2
embedding: "bert" encoder: "bert" target: "bert"
CFG
cm="$ws/tools/check_model"
"$cm" --load_model_path "$g/model.bin" --vocab_path "$t/vocab_1000.txt" --config_path "$t/config.pbtxt" \
  --inputs_path "$g/io.pt" --output_path "$t/out_seed.pt" --save_model_path "$t/resaved.bin" 2>/dev/null | tee "$t/report"
grep -q "key generation: uer-seed" "$t/report"
grep -q "keys: OK" "$t/report"
"$cm" --load_model_path "$g/model_head_keys.bin" --vocab_path "$t/vocab_1000.txt" --config_path "$t/config.pbtxt" \
  --inputs_path "$g/io.pt" --output_path "$t/out_head.pt" --save_model_path "$t/resaved_head.bin" 2>/dev/null | tee "$t/report2"
grep -q "key generation: uer-head" "$t/report2"

# A truncated checkpoint and a config of another size.
head -c 100000 "$g/model.bin" > "$t/truncated.bin"
if "$cm" --load_model_path "$t/truncated.bin" --vocab_path "$t/vocab_1000.txt" --config_path "$t/config.pbtxt" > "$t/r3" 2> "$t/e3"; then
  echo "FAIL: a truncated checkpoint was accepted"; exit 1
fi
grep -q "cannot read checkpoint $t/truncated.bin" "$t/e3" || { cat "$t/e3"; echo "FAIL: truncated message"; exit 1; }
if "$cm" --load_model_path "$g/model.bin" --vocab_path "$t/vocab_1000.txt" --config_path "$t/config.pbtxt" \
    --hidden_size 128 --emb_size 128 > "$t/r4" 2> "$t/e4"; then
  echo "FAIL: a config of another size was accepted"; exit 1
fi
grep -q "embedding.word_embedding.weight: checkpoint \[1000, 64\] vs model \[1000, 128\]" "$t/r4" || { cat "$t/r4"; echo "FAIL: shape message"; exit 1; }

# The rest reads the outputs with Python's torch (and the golden cases' flags from their meta.json).
if has_python torch || skip_part "python" "no $python with torch"; then
  "$python" - "$g" "$t" <<'PY'
import sys, torch
g, t = sys.argv[1], sys.argv[2]
io = torch.load(g + "/io.pt")
for name in ("out_seed.pt", "out_head.pt"):
    out = torch.load(t + "/" + name)  # weights_only=True: uer-cc writes nothing else
    # The encoder's output within 1e-5; the target outputs at the end of the chain within 3e-5, as
    # golden_parity_test says why (the loss amplifies the encoder's rounding, which is not bit-stable
    # across machines and runs: seen 1.4e-5).
    for k, tolerance in (("embedding_output", 1e-5), ("encoder_output", 1e-5), ("target_outputs", 3e-5), ("loss", 3e-5)):
        d = (out[k].double() - io[k].double()).abs().max().item()
        assert d <= tolerance, (name, k, d)
ref = torch.load(g + "/model.bin")
for name in ("resaved.bin", "resaved_head.bin"):
    mine = torch.load(t + "/" + name)
    assert set(mine) == set(ref), (name, set(mine) ^ set(ref))
    for k in ref:
        assert torch.equal(mine[k], ref[k]), (name, k)
print("python: outputs match io.pt (encoder within 1e-5, target outputs within 3e-5); re-saved checkpoints equal model.bin, tensor for tensor")
PY

  # The other encoders, the subword models and s2s from the command line: each golden case's flags
  # from its meta.json (--subword_type, --sub_vocab_path, --subencoder, --sub_layers_num for the
  # subword cases; s2s in the seed's form through a config's option).
  printf 'options { key: "s2s.decoder_input" value: "seed" }\n' > "$t/s2s_seed.pbtxt"
  for c in cnn_lm gatedcnn_lm attn_mlm rcnn_cls crnn_cls lstm_s2s bert_avgsub_mlm word_lstmsub_lm bert_cnnsub_cls; do
    flags=$("$python" - "$shared/golden/$c/meta.json" "$shared/golden/vocab_1000.txt" "$t/s2s_seed.pbtxt" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["config"]
f = [f"--{k} {c[k]}" for k in ("emb_size", "hidden_size", "feedforward_size", "heads_num", "layers_num", "kernel_size",
                                "block_size", "embedding", "encoder", "target", "labels_num")]
if "subword_type" in c:
    f += [f"--subword_type {c['subword_type']}", f"--subencoder {c['subencoder']}", f"--sub_vocab_path {sys.argv[2]}"]
    f += [f"--sub_layers_num {c['sub_layers_num']}"] if "sub_layers_num" in c else []
if c["target"] == "s2s":
    f += [f"--config_path {sys.argv[3]}"]
print(" ".join(f))
PY
    )
    # shellcheck disable=SC2086
    "$cm" --load_model_path "$shared/golden/$c/model.bin" --vocab_path "$t/vocab_1000.txt" $flags \
      --inputs_path "$shared/golden/$c/io.pt" --output_path "$t/$c.pt" > "$t/$c.report" 2>&1 || { tail -3 "$t/$c.report"; echo "FAIL: check_model $c"; exit 1; }
  done
  "$python" - "$shared/golden" "$t" <<'PY'
import sys, torch
g, t = sys.argv[1], sys.argv[2]
for c in "cnn_lm gatedcnn_lm attn_mlm rcnn_cls crnn_cls lstm_s2s bert_avgsub_mlm word_lstmsub_lm bert_cnnsub_cls".split():
    io, out = torch.load(f"{g}/{c}/io.pt"), torch.load(f"{t}/{c}.pt")
    # Activations within 1e-5 of their magnitude (golden_parity_test says why), the rest within 3e-5.
    for k, tolerance in (("embedding_output", 1e-5), ("encoder_output", 1e-5), ("target_outputs", 3e-5), ("loss", 3e-5)):
        scale = max(1.0, io[k].abs().max().item()) if k.endswith("_output") else 1.0
        d = (out[k].double() - io[k].double()).abs().max().item()
        assert d <= tolerance * scale, (c, k, d)
print("python: check_model reproduces cnn_lm gatedcnn_lm attn_mlm rcnn_cls crnn_cls lstm_s2s bert_avgsub_mlm word_lstmsub_lm bert_cnnsub_cls")
PY
fi
echo PASS
