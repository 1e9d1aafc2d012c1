#!/usr/bin/env bash
# Usage errors end a tool with exit status 2 and one line saying what is wrong, checked before any
# data is read: an unknown flag (with the tool's flags listed), a value that does not parse, an
# unknown optimizer or schedule (with the known ones), a learning rate that is not > 0.
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
expect2() {  # NAME EXPECTED -- COMMAND...
  local name=$1 want=$2; shift 3
  set +e; "$@" > "$t/$name.out" 2> "$t/$name.err"; local rc=$?; set -e
  [[ $rc == 2 ]] || { tail -3 "$t/$name.err"; fail "$name: exit code $rc, expected 2"; }
  grep -qF -- "$want" "$t/$name.err" || { tail -3 "$t/$name.err"; fail "$name: expected \"$want\""; }
  ! grep -qE "terminate called|Exception raised from" "$t/$name.err" || fail "$name: a backtrace"
  echo "$name: $(grep -F -- "$want" "$t/$name.err" | head -1 | cut -c1-140)"
}
expect2 unknown_flag "unknown flag --bogus; this tool's flags:" -- "$ws/tools/preprocess" --bogus 1
grep -q -- "--corpus_path" "$t/unknown_flag.err" || fail "the tool's flags are not listed"
expect2 bad_int "--total_steps abc: not a valid int64" -- "$ws/tools/pretrain" --total_steps abc
expect2 bad_bool "--do_lower_case maybe: not a valid bool" -- "$ws/tools/preprocess" --do_lower_case=maybe
expect2 optimizer "--optimizer sgd: known optimizers are bertadam, adamw, adafactor" -- "$ws/tools/pretrain" --optimizer sgd \
  --output_model_path "$t/m.bin"
expect2 schedule "--schedule cosine: known schedules are warmup_linear, warmup_constant, warmup_cosine" -- \
  "$ws/tools/pretrain" --schedule cosine --output_model_path "$t/m.bin"
expect2 scheduler "--scheduler cosin: known schedulers are linear, cosine, cosine_with_restarts" -- \
  "$ws/tools/pretrain" --scheduler cosin --output_model_path "$t/m.bin"
expect2 scheduler_warmup "--scheduler inverse_sqrt needs --warmup > 0" -- \
  "$ws/tools/pretrain" --scheduler inverse_sqrt --warmup 0 --output_model_path "$t/m.bin"
expect2 data_processor "--target mlm and --data_processor lm disagree" -- "$ws/tools/preprocess" --target mlm \
  --data_processor lm --corpus_path c --vocab_path v
expect2 log_level "--log_level WARN: expected ERROR, INFO, DEBUG or NOTSET" -- "$ws/tools/preprocess" --log_level WARN
expect2 log_path "--log_path $t/no/such/folder/x.log: No such file or directory" -- "$ws/tools/preprocess" \
  --log_path "$t/no/such/folder/x.log"
# HEAD's logging: nothing below ERROR on the console, INFO and up in --log_path, in HEAD's format.
set +e; "$ws/tools/preprocess" --log_level ERROR --log_path "$t/pre.log" --log_file_level INFO \
  --corpus_path "$t/none.txt" --vocab_path v --dataset_path "$t/d.uer" 2> "$t/quiet.err"; set -e
! grep -q "^I" "$t/quiet.err" || fail "--log_level ERROR printed INFO lines"
grep -qE '^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8},[0-9]{3} (INFO|ERROR)\] ' "$t/pre.log" || { cat "$t/pre.log"; fail "--log_path: no line in HEAD's format"; }
expect2 learning_rate "--learning_rate must be a number > 0, got -1" -- "$ws/tools/pretrain" --learning_rate -1 \
  --output_model_path "$t/m.bin"
expect2 finetune_learning_rate "--learning_rate must be a number > 0, got -1" -- "$ws/tools/run_classifier" --learning_rate -1 \
  --vocab_path v --train_path a --dev_path b
# A named pipe as corpus (preprocess reads it more than once) is refused, not waited on forever.
mkfifo "$t/fifo"
{ printf 'v\n' > "$t/vocab.txt"; }
expect2 fifo "is not a regular file (a pipe or a device)" -- timeout 20 "$ws/tools/preprocess" --corpus_path "$t/fifo" \
  --vocab_path "$t/vocab.txt" --dataset_path "$t/d.uer"
# A bad value from a flag is the flag's, not the config file's.
expect2 flag_not_file "the command line's model flags: field \"layers_num\" must be > 0" -- "$ws/tools/pretrain" \
  --config_path "$ws/models/bert/tiny.pbtxt" --layers_num -1 --output_model_path "$t/m.bin"
! grep -q "tiny.pbtxt:" "$t/flag_not_file.err" || fail "a flag's value blamed on the config file"
echo PASS
