"""Compares the windows uer-cc's run_mrc makes of a SQuAD JSON file with those of UER-py's seed
run_mrc.py, window by window: question, span index, offset, token ids, segment ids and answer
positions.

UER-py's own read_examples and convert_examples_to_dataset (nested in its main()) are taken from
its run_mrc.py at run time and run on its own Vocab and CharTokenizer: nothing of UER-py is copied
here. Differences are listed by cause:
  - answers that UER-py reads at a wrong answer_start (uer-cc moves them to their text);
  - windows whose context starts or ends with whitespace (UER-py's CharTokenizer strips it and its
    positions shift by that much; uer-cc keeps token positions).

Usage:
  bazel run //bench:mrc_windows -- --vocab_path V --input_path train.json --output_path ours.jsonl
  python bench/mrc_parity.py --uer_path /path/to/UER-py --vocab_path V --data train.json --ours ours.jsonl
"""
import argparse
import ast
import collections
import json
import sys
import types

parser = argparse.ArgumentParser()
parser.add_argument("--uer_path", required=True, help="UER-py's seed checkout (caef999)")
parser.add_argument("--vocab_path", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--ours", required=True)
parser.add_argument("--seq_length", type=int, default=100)
parser.add_argument("--doc_stride", type=int, default=128)
args = parser.parse_args()

sys.path.insert(0, args.uer_path)
from uer.utils.constants import CLS_ID, SEP_ID  # noqa: E402
from uer.utils.tokenizer import CharTokenizer  # noqa: E402
from uer.utils.vocab import Vocab  # noqa: E402

# UER-py's two nested functions, compiled from its source.
source = open(f"{args.uer_path}/run_mrc.py", encoding="utf-8").read()
main = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "main")
wanted = {"read_examples", "convert_examples_to_dataset"}
nested = [n for n in main.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
assert {n.name for n in nested} == wanted, "run_mrc.py does not define the seed's functions"
vocab = Vocab()
vocab.load(args.vocab_path, is_quiet=True)
uer_args = types.SimpleNamespace(seq_length=args.seq_length, doc_stride=args.doc_stride, vocab=vocab)
scope = {"json": json, "collections": collections, "vocab": vocab, "tokenizer": CharTokenizer(uer_args),
         "CLS_ID": CLS_ID, "SEP_ID": SEP_ID, "print": lambda *a, **k: None}
exec(compile(ast.Module(body=nested, type_ignores=[]), "run_mrc.py", "exec"), scope)
examples = scope["read_examples"](args.data)
theirs = scope["convert_examples_to_dataset"](examples, uer_args)

ours = [json.loads(line) for line in open(args.ours, encoding="utf-8")]

# Questions whose first answer is not at its answer_start, and contexts by question.
moved, contexts, questions = set(), {}, {}
for context, question, qid, starts, ends, answers in examples:
    contexts[qid] = context
    questions[qid] = question
    if context[starts[0]:ends[0]] != answers[0]:
        moved.add(qid)


def pad(v):
    return v + [0] * (args.seq_length - len(v))


def key(qid, span):
    return (qid, span)


def stripped(qid, q_len, span_start):
    """Whether UER-py's CharTokenizer strips whitespace off the question or the window's text."""
    context, question = contexts[qid], questions[qid]
    length = min(len(context) - span_start, args.seq_length - q_len - 3)
    window = context[span_start:span_start + length]
    return window != window.strip() or question != question.strip()


mine = {key(w["id"], w["span_index"]): w for w in ours}
same = 0
differences = collections.Counter()
examples_shown = []
seen = set()
for tokens, mask, start, end, answers, qid, q_len, span_index, span_start in theirs:
    k = key(qid, span_index)
    seen.add(k)
    w = mine.get(k)
    ok = (w is not None and w["offset"] == span_start and pad(w["src"]) == tokens and pad(w["seg"]) == mask
          and w["start"] == start and w["end"] == end)
    if ok:
        same += 1
        continue
    if qid in moved:
        cause = "answer moved to its text"
    elif stripped(qid, q_len, span_start):
        cause = "whitespace in the context (UER-py's CharTokenizer strips it)"
    else:
        cause = "unexplained"
    differences[cause] += 1
    if cause == "unexplained" and len(examples_shown) < 5:
        examples_shown.append((qid, span_index, tokens[:20], (w or {}).get("src", [])[:20], start, end,
                               (w or {}).get("start"), (w or {}).get("end")))
extra = [k for k in mine if k not in seen]
for k in extra:
    differences["only uer-cc: " + ("answer moved to its text" if k[0] in moved else "unexplained")] += 1

print(f"UER-py: {len(theirs)} windows; uer-cc: {len(ours)} windows; identical: {same}")
for cause, n in differences.most_common():
    print(f"  different ({cause}): {n}")
for e in examples_shown:
    print("  e.g.", e)
unexplained = sum(n for c, n in differences.items() if "unexplained" in c)
sys.exit(1 if unexplained else 0)
