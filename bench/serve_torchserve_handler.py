"""TorchServe's side of bench/serve.sh: the same fine-tuned BERT classifier, as a TorchServe user
serves it (transformers' BertForSequenceClassification and its fast tokenizer, read from the folder
uer-cc's converter wrote), batched by TorchServe (batchSize, maxBatchDelay). A request's body is one
sentence; the answer is its label and probability."""
import os

import torch
import transformers
from ts.torch_handler.base_handler import BaseHandler


class Handler(BaseHandler):
    def initialize(self, context):
        folder = context.system_properties["model_dir"]
        torch.set_num_threads(int(os.environ.get("UER_BENCH_THREADS", "2")))
        self.seq_length = int(os.environ.get("UER_BENCH_SEQ_LENGTH", "128"))
        self.bf16 = os.environ.get("UER_BENCH_PRECISION", "fp32") == "bf16"  # autocast, as uer-cc's --precision bf16
        self.tokenizer = transformers.BertTokenizerFast(vocab_file=os.path.join(folder, "vocab.txt"))
        self.model = transformers.BertForSequenceClassification.from_pretrained(folder).eval()
        self.initialized = True

    def preprocess(self, data):
        texts = []
        for row in data:
            text = row.get("data") or row.get("body")
            texts.append(text.decode("utf-8") if isinstance(text, (bytes, bytearray)) else str(text))
        return self.tokenizer(texts, padding=True, truncation=True, max_length=self.seq_length, return_tensors="pt")

    def inference(self, inputs, *args, **kwargs):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            return self.model(**inputs).logits.float()

    def postprocess(self, logits):
        probs = torch.softmax(logits, -1)
        best = probs.argmax(-1)
        return [{"label": int(b), "score": float(p[b])} for b, p in zip(best, probs)]
