# Shared by the bench scripts (sourced, not run): flags, the work folder, the pretrain rate.
#
#   source "$(dirname "$0")/lib.sh"
#   bench_flags "uer_path shared cases" "$@"   # --uer_path X sets UER_PATH=X, --shared SHARED, ...
#
# Every flag takes a value; one not in the list is an error. The caller sets the defaults first.
# After parsing: VOCAB (Google's Chinese vocabulary under SHARED) and `work`, a temporary folder
# removed on exit.

bench_flags() {
  local allowed=" $1 "; shift
  while [[ $# -gt 0 ]]; do
    local name="${1#--}"
    if [[ "$1" != --* || "$allowed" != *" $name "* ]]; then
      echo "unknown flag $1 (flags:$(sed "s/ \([a-z_]\)/ --\1/g" <<< "${allowed% }"))" >&2; exit 2
    fi
    [[ $# -ge 2 ]] || { echo "$1 needs a value" >&2; exit 2; }
    printf -v "${name^^}" '%s' "$2"
    shift 2
  done
  VOCAB="$SHARED/data/vocab/google_zh_vocab.txt"
  [[ -f "$VOCAB" ]] || { echo "no $VOCAB: give --shared (the folder holding data/)" >&2; exit 2; }
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
}

# Exits unless --uer_path was given; $1 says which checkout.
need_uer_path() {
  [[ -n "${UER_PATH:-}" ]] || { echo "--uer_path (a checkout of $1) is required" >&2; exit 2; }
}

# tokens/s of a pretrain log: the mean of its reports after the first (which holds the warm-up).
rate() { grep -o '[0-9.]* tokens/s' "$1" | awk 'NR > 1 { s += $1; n++ } END { if (n) printf "%.0f", s / n; else print 0 }'; }
