#!/usr/bin/env bash
# The progress line (core/runtime/progress.h): under a terminal (util-linux's `script` gives the tools
# a pseudo-terminal) preprocess draws its bytes read, pretrain its step, rate and ETA and a conversion
# its stage, each drawn and then redrawn in place ("\r", the line, erase to its end: at least two
# draws of each tool's line) and cleared around the report lines; in a pipe none of them appears
# and the plain report lines are all there is.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
command -v script > /dev/null || skip "no script(1) (util-linux)"
{ echo "[PAD]"; printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for c in a b c d e f g h i j k l m n o p; do echo $c; done; } > "$t/vocab.txt"
for d in $(seq 1 3000); do echo "abcdefghijklmnop"; echo "ponmlkjihgfedcba"; echo; done > "$t/corpus.txt"
pre=("$ws/tools/preprocess" --corpus_path "$t/corpus.txt" --vocab_path "$t/vocab.txt" --dataset_path "$t/d.uer"
     --tokenizer char --seq_length 32 --dup_factor 4)
pt=("$ws/tools/pretrain" --dataset_path "$t/d.uer" --vocab_path "$t/vocab.txt" --output_model_path "$t/m.bin"
    --emb_size 32 --hidden_size 32 --feedforward_size 64 --heads_num 2 --layers_num 1 --total_steps 400
    --report_steps 100 --batch_size 8 --overwrite_checkpoints)
q() { printf '%q ' "$@"; }
# draws FILE PATTERN: how many times the line was drawn ("\r" and the line) in FILE.
draws() { { grep -ao $'\r'"$2" "$1" || true; } | wc -l; }
# no_progress FILE: the plain lines alone (no "\r", no erase, no rate of a progress line).
no_progress() {
  if grep -aq $'\r\|\x1b\\[K\|steps/s |\|MB/s |\|stage/s |' "$1"; then
    cat -v "$1" | head -5
    fail "a progress line in a pipe ($(basename "$1"))"
  fi
}

# In a pipe: preprocess (which makes pretrain's dataset) writes its plain lines alone.
"${pre[@]}" 2>&1 | cat > "$t/pre.pipe" || { tail -3 "$t/pre.pipe"; fail "preprocess in a pipe"; }
grep -q "instances" "$t/pre.pipe" || { tail -3 "$t/pre.pipe"; fail "preprocess in a pipe wrote no summary"; }
no_progress "$t/pre.pipe"

# Under a terminal.
# preprocess draws every 200 ms while it reads: a corpus of 6.8 MB (6.4M input tokens) takes 1-3 s
# at the 2-7M input tokens/s a worker of bench/README.md, so its line is drawn 5 times or more.
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "abcdefghijklmnop\nponmlkjihgfedcba\n\n" }' > "$t/big.txt"
big=("$ws/tools/preprocess" --corpus_path "$t/big.txt" --vocab_path "$t/vocab.txt" --dataset_path "$t/big.uer"
     --tokenizer char --seq_length 32 --dup_factor 1)
TERM=xterm script -qec "$(q "${big[@]}")" "$t/pre.tty" > /dev/null || { tail -5 "$t/pre.tty"; fail "preprocess under script"; }
rm -f "$t/big.txt" "$t/big.uer"
grep -aq "instances" "$t/pre.tty" || { cat -v "$t/pre.tty" | tail -3; fail "preprocess under a terminal"; }
n=$(draws "$t/pre.tty" 'preprocess: [0-9.]*/[0-9.]* MB ([0-9.]*%) | [0-9.]* MB/s')
(( n >= 2 )) || { cat -v "$t/pre.tty" | tail -5; fail "preprocess drew its progress line $n times under a terminal, expected at least 2"; }
echo "preprocess drew its progress line $n times"

TERM=xterm script -qec "$(q "${pt[@]}")" "$t/pt.tty" > /dev/null || { tail -5 "$t/pt.tty"; fail "pretrain under script"; }
grep -aq $'\rpretrain: steps [0-9]*/400 ([0-9.]*%) | [0-9.]* steps/s | loss [0-9.]*' "$t/pt.tty" ||
  { cat -v "$t/pt.tty" | tail -5; fail "no progress line from pretrain under a terminal"; }
grep -aq $'\x1b\\[K' "$t/pt.tty" || fail "the line is not erased to its end"
grep -aq "ETA [0-9]:[0-9][0-9]:[0-9][0-9]" "$t/pt.tty" || fail "no ETA"
# Redrawn: the first step is drawn, and so is the last (a step at the total is always drawn).
n=$(draws "$t/pt.tty" 'pretrain: steps [0-9]*/400')
steps=$({ grep -ao $'\rpretrain: steps [0-9]*/400' "$t/pt.tty" || true; } | sort -u | wc -l)
(( n >= 2 && steps >= 2 )) ||
  { cat -v "$t/pt.tty" | tail -5; fail "pretrain drew its progress line $n times with $steps different steps, expected at least 2 of each"; }
grep -aq $'\rpretrain: steps 400/400 (100.0%)' "$t/pt.tty" || fail "the last step's progress line was not drawn"
echo "pretrain drew its progress line $n times, at $steps different steps"
# Each report line is written over a cleared line: after the last "\r" of its line comes the erase,
# then the report alone. (The terminal ends lines with "\r\n".)
grep -a "steps| " "$t/pt.tty" | awk '{ sub(/\r$/, ""); n = split($0, a, "\r");
  if (n > 1 && (a[n] !~ /^\033\[K/ || a[n] !~ /steps\| / || a[n] ~ /pretrain: steps/)) bad = 1 } END { exit bad }' ||
  fail "a report line shares its line with the progress"
[[ $(grep -ac "      400/     400 steps|" "$t/pt.tty") == 1 ]] || fail "the last report line"

# A conversion draws its stages (reading, mapping, writing, verifying); its log lines (the key
# report, what it wrote) clear the line and draw it again below them.
cv=("$ws/tools/convert_bert_from_uer_to_huggingface" --input_model_path "$t/m.bin" --verify)
TERM=xterm script -qec "$(q "${cv[@]}" --output_model_path "$t/m.safetensors")" "$t/cv.tty" > /dev/null || { tail -5 "$t/cv.tty"; fail "conversion under script"; }
grep -aq $'\rconvert_bert_from_uer_to_huggingface: stage 0/4 (0.0%) | [0-9.]* stage/s | reading' "$t/cv.tty" ||
  { cat -v "$t/cv.tty" | tail -5; fail "no progress line from the conversion"; }
n=$(draws "$t/cv.tty" 'convert_bert_from_uer_to_huggingface: stage [0-9]/4')
(( n >= 2 )) || { cat -v "$t/cv.tty" | tail -5; fail "the conversion drew its progress line $n times, expected at least 2"; }
grep -aq "all equal" "$t/cv.tty" || fail "the conversion's --verify"

# In a pipe: the plain lines alone.
"${pt[@]}" 2>&1 | cat > "$t/pt.pipe" || { tail -3 "$t/pt.pipe"; fail "pretrain in a pipe"; }
grep -q "      400/     400 steps|" "$t/pt.pipe" || fail "no report lines in a pipe"
no_progress "$t/pt.pipe"
"${cv[@]}" --output_model_path "$t/m_pipe.safetensors" 2>&1 | cat > "$t/cv.pipe" || { tail -3 "$t/cv.pipe"; fail "the conversion in a pipe"; }
grep -q "all equal" "$t/cv.pipe" || { tail -3 "$t/cv.pipe"; fail "the conversion's --verify in a pipe"; }
no_progress "$t/cv.pipe"
UER_PROGRESS=0 TERM=xterm script -qec "$(q "${pt[@]}")" "$t/off.tty" > /dev/null
if grep -aq $'\rpretrain: steps' "$t/off.tty"; then fail "UER_PROGRESS=0 still draws"; fi
echo PASS
