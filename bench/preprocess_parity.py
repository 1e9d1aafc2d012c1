"""Compares a uer-cc dataset with the pickled dataset UER-py's seed preprocess.py wrote for the same
corpus and flags, instance by instance.

Usage: python bench/preprocess_parity.py --ours dataset.uer --uer dataset.pt --target bert
"""
import argparse
import pickle
import struct
import sys

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--ours", required=True)
parser.add_argument("--uer", required=True)
parser.add_argument("--target", required=True, choices=["bert", "mlm", "lm", "bilm", "cls"])
args = parser.parse_args()

raw = np.memmap(args.ours, dtype=np.uint8, mode="r")
header = bytes(raw[:256])
assert header[:8] == b"UERDSET1", "not a uer-cc dataset"
seq_length = struct.unpack_from("<I", header, 16)[0]
pad, unk, cls, sep, mask = struct.unpack_from("<5i", header, 40)
count, words = struct.unpack_from("<QQ", header, 64)
offsets = np.frombuffer(raw, dtype=np.uint64, count=count + 1, offset=256)
data = np.frombuffer(raw, dtype=np.int32, count=words, offset=256 + 8 * (count + 1))


def ours(i):
    p = data[offsets[i]:offsets[i + 1]].tolist()
    pad_to = lambda v: v + [pad] * (seq_length - len(v))
    if args.target == "bert":
        n, m, rnd, sa, sb = p[:5]
        src, pos, orig = p[5:5 + n], p[5 + n:5 + n + m], p[5 + n + m:]
        return (pad_to(src), list(zip(pos, orig)), rnd, [sa, sb])
    if args.target == "mlm":
        n, m = p[:2]
        src, pos, orig = p[2:2 + n], p[2 + n:2 + n + m], p[2 + n + m:]
        return (pad_to(src), list(zip(pos, orig)), pad_to([1] * n))
    if args.target == "lm":
        tok = p[1:]
        src, tgt = tok[:-1][:seq_length], tok[1:][:seq_length]
        return (pad_to(src), pad_to(tgt), pad_to([1] * len(src)))
    if args.target == "bilm":
        tok = p[1:]
        n = min(len(tok), seq_length)
        return (pad_to(tok[:n]), pad_to((tok[1:] + [sep])[:n]), pad_to(([cls] + tok[:-1])[:n]), pad_to([1] * n))
    label, n, sa = p[:3]
    src = p[3:]
    return (pad_to(src), label, pad_to([1] * sa + [2] * (n - sa)))


theirs = []
with open(args.uer, "rb") as f:
    while True:
        try:
            theirs.append(pickle.load(f))
        except EOFError:
            break

normalize = lambda ins: tuple(list(x) if isinstance(x, (list, tuple)) else x for x in ins)
mismatch = 0
for i in range(min(count, len(theirs))):
    a, b = normalize(ours(i)), normalize(theirs[i])
    if args.target == "bert":
        b = (b[0], [tuple(x) for x in b[1]], b[2], list(b[3]))
        a = (a[0], [tuple(x) for x in a[1]], a[2], a[3])
    if args.target == "mlm":
        b = (b[0], [tuple(x) for x in b[1]], b[2])
        a = (a[0], [tuple(x) for x in a[1]], a[2])
    if a != b:
        mismatch += 1
        if mismatch <= 3:
            print("instance %d differs:\n  uer-cc: %s\n  UER-py: %s" % (i, a, b))
print("uer-cc: %d instances, UER-py: %d instances, %d of the first %d differ"
      % (count, len(theirs), mismatch, min(count, len(theirs))))
sys.exit(0 if mismatch == 0 and count == len(theirs) else 1)
