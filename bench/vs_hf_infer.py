"""HuggingFace's and ONNX Runtime's side of bench/vs_hf.sh: sentences/s of the same classifier
(the transformers folder uer-cc's converter wrote) over the same sentences, tokenizing included.

Usage: vs_hf_infer.py HF_FOLDER TEXTS THREADS "1 32" "32 128" ONNX_DIR
Prints one line a way, batch and sequence length: `NAME BATCH SEQ SENTENCES_PER_S`.
  forward      transformers' BertForSequenceClassification under torch.inference_mode, the fast
               tokenizer padding each batch to its longest row
  pipeline     transformers' text-classification pipeline with batch_size
  onnxruntime  the model exported by torch.onnx.export (dynamic batch and length), ORT's CPU provider
               with every graph optimization, intra_op_num_threads = THREADS
"""
import os
import sys
import time

import torch
import transformers

folder, texts_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
batches, lengths = [int(b) for b in sys.argv[4].split()], [int(s) for s in sys.argv[5].split()]
onnx_dir = sys.argv[6]
torch.set_num_threads(threads)
texts = [l.rstrip("\n") for l in open(texts_path, encoding="utf-8") if l.strip()]
tokenizer = transformers.BertTokenizerFast(vocab_file=os.path.join(folder, "vocab.txt"))
model = transformers.BertForSequenceClassification.from_pretrained(folder).eval()


def rate(run, batch):
    run(texts[:batch])  # warm-up
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        run(texts[i:i + batch])
    return len(texts) / (time.perf_counter() - start)


def forward(seq):
    def run(chunk):
        x = tokenizer(chunk, padding=True, truncation=True, max_length=seq, return_tensors="pt")
        with torch.inference_mode():
            return model(**x).logits
    return run


for batch in batches:
    for seq in lengths:
        print(f"forward {batch} {seq} {rate(forward(seq), batch):.1f}", flush=True)

pipe = transformers.pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
for batch in batches:
    for seq in lengths:
        run = lambda chunk: pipe(chunk, batch_size=batch, truncation=True, max_length=seq)
        print(f"pipeline {batch} {seq} {rate(run, batch):.1f}", flush=True)

sys.path.insert(0, onnx_dir)
import onnxruntime as ort  # noqa: E402

path = os.path.join(os.path.dirname(texts_path), "model.onnx")
x = tokenizer(texts[:2], padding=True, return_tensors="pt")
names = ["input_ids", "attention_mask", "token_type_ids"]
torch.onnx.export(model, tuple(x[n] for n in names), path, input_names=names, output_names=["logits"],
                  dynamic_axes={n: {0: "batch", 1: "seq"} for n in names} | {"logits": {0: "batch"}},
                  opset_version=17, dynamo=False)
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
for batch in batches:
    for seq in lengths:
        def run(chunk, seq=seq):
            x = tokenizer(chunk, padding=True, truncation=True, max_length=seq, return_tensors="np")
            return session.run(["logits"], {n: x[n] for n in names})
        print(f"onnxruntime {batch} {seq} {rate(run, batch):.1f}", flush=True)
print(f"versions: torch {torch.__version__}, transformers {transformers.__version__}, onnxruntime {ort.__version__}")
