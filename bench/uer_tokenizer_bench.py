"""Tokens per second of UER-py's BertTokenizer (tokenize + convert_tokens_to_ids) on one thread.

Usage: python bench/uer_tokenizer_bench.py --uer_path /path/to/UER-py --vocab_path V --input_path T
"""
import argparse
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--uer_path", required=True)
parser.add_argument("--vocab_path", required=True)
parser.add_argument("--input_path", required=True)
parser.add_argument("--repeat", type=int, default=3)
args = parser.parse_args()
sys.path.insert(0, args.uer_path)
try:
    from uer.utils.tokenizer import BertTokenizer  # seed version
    tokenizer = BertTokenizer(argparse.Namespace(vocab_path=args.vocab_path))
except ImportError:
    from uer.utils.tokenizers import BertTokenizer  # newer versions
    tokenizer = BertTokenizer(argparse.Namespace(vocab_path=args.vocab_path, spm_model_path=None,
                                                 do_lower_case=True))
with open(args.input_path, encoding="utf-8") as f:
    lines = [line.rstrip("\n") for line in f]
best, tokens, checksum = 1e30, 0, 0
for _ in range(args.repeat):
    tokens, checksum = 0, 0
    start = time.perf_counter()
    for line in lines:
        ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(line))
        tokens += len(ids)
        if ids:
            checksum += ids[0]
    best = min(best, time.perf_counter() - start)
print("UER-py bert tokenizer: %d lines, %d tokens, %.3f s, %.0f tokens/s (checksum %d)"
      % (len(lines), tokens, best, tokens / best, checksum))
