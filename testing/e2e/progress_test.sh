#!/usr/bin/env bash
# The progress line: under a terminal (util-linux's `script` gives the tools a pseudo-terminal)
# preprocess draws its bytes read, pretrain its step, rate and ETA and a conversion its stage, redrawn in place ("\r", erase
# to the end of the line) and cleared around the report lines; in a pipe neither appears and the
# plain report lines are all there is.
set -euo pipefail
ws="$TEST_SRCDIR/$TEST_WORKSPACE"
t="$TEST_TMPDIR"
fail() { echo "FAIL: $*"; exit 1; }
command -v script > /dev/null || { echo "SKIP: no script(1) (util-linux)"; exit 0; }
{ echo "[PAD]"; printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for c in a b c d e f g h i j k l m n o p; do echo $c; done; } > "$t/vocab.txt"
for d in $(seq 1 3000); do echo "abcdefghijklmnop"; echo "ponmlkjihgfedcba"; echo; done > "$t/corpus.txt"
pre=("$ws/tools/preprocess" --corpus_path "$t/corpus.txt" --vocab_path "$t/vocab.txt" --dataset_path "$t/d.uer"
     --tokenizer char --seq_length 32 --dup_factor 4)
pt=("$ws/tools/pretrain" --dataset_path "$t/d.uer" --vocab_path "$t/vocab.txt" --output_model_path "$t/m.bin"
    --emb_size 32 --hidden_size 32 --feedforward_size 64 --heads_num 2 --layers_num 1 --total_steps 400
    --report_steps 100 --batch_size 8 --overwrite_checkpoints)
q() { printf '%q ' "$@"; }

# Under a terminal.
TERM=xterm script -qec "$(q "${pre[@]}")" "$t/pre.tty" > /dev/null || { tail -5 "$t/pre.tty"; fail "preprocess under script"; }
TERM=xterm script -qec "$(q "${pt[@]}")" "$t/pt.tty" > /dev/null || { tail -5 "$t/pt.tty"; fail "pretrain under script"; }
grep -aq $'\rpretrain: steps [0-9]*/400 ([0-9.]*%) | [0-9.]* steps/s | loss [0-9.]*' "$t/pt.tty" ||
  { cat -v "$t/pt.tty" | tail -5; fail "no progress line from pretrain under a terminal"; }
grep -aq $'\x1b\\[K' "$t/pt.tty" || fail "the line is not erased to its end"
grep -aq "ETA [0-9]:[0-9][0-9]:[0-9][0-9]" "$t/pt.tty" || fail "no ETA"
# Each report line starts a line of its own (the status line was cleared before it).
# Each report line is written over a cleared line: after the last "\r" of its line comes the erase,
# then the report alone.
# (The terminal ends lines with "\r\n".)
grep -a "steps| " "$t/pt.tty" | awk '{ sub(/\r$/, ""); n = split($0, a, "\r");
  if (n > 1 && (a[n] !~ /^\033\[K/ || a[n] !~ /steps\| / || a[n] ~ /pretrain: steps/)) bad = 1 } END { exit bad }' ||
  fail "a report line shares its line with the progress"
[[ $(grep -ac "      400/     400 steps|" "$t/pt.tty") == 1 ]] || fail "the last report line"
if [[ $(nproc) -ge 1 ]] && grep -aq $'\rpreprocess: [0-9.]*/[0-9.]* MB' "$t/pre.tty"; then
  echo "preprocess drew its progress"
else
  # A corpus read in under 200 ms draws nothing; the run must still have succeeded.
  grep -aq "instances" "$t/pre.tty" || { cat -v "$t/pre.tty" | tail -3; fail "preprocess under a terminal"; }
fi

# A conversion draws its stages (reading, mapping, writing, verifying).
cv=("$ws/tools/convert_bert_from_uer_to_huggingface" --input_model_path "$t/m.bin"
    --output_model_path "$t/m.safetensors" --verify)
TERM=xterm script -qec "$(q "${cv[@]}")" "$t/cv.tty" > /dev/null || { tail -5 "$t/cv.tty"; fail "conversion under script"; }
grep -aq $'\rconvert_bert_from_uer_to_huggingface: stage 0/4 (0.0%) | [0-9.]* stage/s | reading' "$t/cv.tty" ||
  { cat -v "$t/cv.tty" | tail -5; fail "no progress line from the conversion"; }
grep -aq "all equal" "$t/cv.tty" || fail "the conversion's --verify"

# In a pipe: the plain lines alone.
"${pt[@]}" 2>&1 | cat > "$t/pt.pipe"
grep -q "      400/     400 steps|" "$t/pt.pipe" || fail "no report lines in a pipe"
if grep -aq $'\r\|\x1b\\[K\|steps/s |' "$t/pt.pipe"; then fail "a progress line in a pipe"; fi
UER_PROGRESS=0 TERM=xterm script -qec "$(q "${pt[@]}")" "$t/off.tty" > /dev/null
if grep -aq $'\rpretrain: steps' "$t/off.tty"; then fail "UER_PROGRESS=0 still draws"; fi
echo PASS
