#!/usr/bin/env bash
# Prints the code-structure metrics of the tree at a git revision, as a
# Markdown section, for before/after comparisons in issue notes.
# Usage: bench/house_metrics.sh [REV]   (default HEAD)
# The tree is read with `git archive REV`, so the work tree may differ.
set -euo pipefail

rev="${1:-HEAD}"
repo="$(git rev-parse --show-toplevel)"
sha="$(git -C "$repo" rev-parse --short "$rev^{commit}")"
tree="$(mktemp -d)"
trap 'rm -rf "$tree"' EXIT
git -C "$repo" archive "$rev" | tar -x -C "$tree"
cd "$tree"

# Total lines of the files named on stdin (NUL-separated); awk also counts a
# last line that has no newline.
lines() { xargs -0 -r awk 'END { print NR }' | awk '{ s += $1 } END { print s + 0 }'; }

# find(1) clauses for the counted kinds of file, and for test files.
src=( \( -name '*.cc' -o -name '*.h' -o -name '*.sh' -o -name '*.py' -o -name '*.bzl' -o -name BUILD \) )
tst=( \( -name '*_test.cc' -o -name '*_test.sh' -o -name '*_fuzz.cc' \) )

echo "## Code structure at \`$sha\` ($(git -C "$repo" log -1 --format=%cs "$rev"))"
echo

# 1. Lines per layer: .cc .h .sh .py .bzl BUILD, tests (*_test.cc,
#    *_test.sh, *_fuzz.cc) apart. core/ leaves out core/runtime/; each
#    immediate subfolder of core/runtime/ also gets a row of its own.
echo "### Lines per layer"
echo
echo "| layer | code lines | test lines |"
echo "| --- | ---: | ---: |"
tot_c=0 tot_t=0
row() {  # row LABEL COUNT_IN_TOTAL DIR [find args that narrow it]
  local label="$1" add="$2" dir="$3"; shift 3
  [[ -d "$dir" ]] || { echo "| $label | – | – |"; return; }
  local c t
  c="$(find "$dir" "$@" -type f "${src[@]}" ! "${tst[@]}" -print0 | lines)"
  t="$(find "$dir" "$@" -type f "${src[@]}" "${tst[@]}" -print0 | lines)"
  echo "| $label | $c | $t |"
  if [[ "$add" == 1 ]]; then tot_c=$((tot_c + c)); tot_t=$((tot_t + t)); fi
}
row "core/ (without runtime/)" 1 core -path core/runtime -prune -o
row "core/runtime/" 1 core/runtime
subs="$(find core/runtime -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort || true)"
if [[ -n "$subs" ]]; then
  row "↳ core/runtime/ (its own files)" 0 core/runtime -mindepth 1 -maxdepth 1
  while read -r d; do row "↳ $d/" 0 "$d"; done <<<"$subs"
fi
for d in plugins tools testing bench docs/examples; do row "$d/" 1 "$d"; done
echo "| **total of the layers above** | **$tot_c** | **$tot_t** |"
echo

# 2. The 10 longest C++ function bodies in *.cc (tests and fuzzers left
#    out), from the signature's first line to the matching brace. Braces in
#    strings, char literals, raw strings and comments are ignored; lambdas
#    count toward their enclosing function; member functions defined in a
#    class body count; namespaces, classes, enums and initializers do not.
echo "### The 10 longest C++ functions (*.cc, not tests or fuzzers)"
echo
echo "| lines | function | where |"
echo "| ---: | --- | --- |"
find . -type f -name '*.cc' ! -name '*_test.cc' ! -name '*_fuzz.cc' -print0 |
/usr/bin/python3 -c '
import re, sys

def clean(s):
    """s with comments, string and char literal contents blanked; newlines kept."""
    out, i, n = [], 0, len(s)
    while i < n:
        c = s[i]
        if s.startswith("//", i):
            j = s.find("\n", i); j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif s.startswith("/*", i):
            j = s.find("*/", i + 2); j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", s[i:j])); i = j
        elif c == "\"" and re.search(r"(?<![\w])(?:u8|[uUL])?R$", s[max(0, i - 3):i]):
            m = re.match(r"\"([^()\\\s]{0,16})\(", s[i:])
            end = s.find(")" + m.group(1) + "\"", i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append("\"" + re.sub(r"[^\n]", " ", s[i + 1:j - 1]) + "\""); i = j
        elif c in "\"\x27":
            # A quote inside a number token is a digit separator.
            tok = re.search(r"[\w.]*$", s[max(0, i - 40):i]).group(0)
            if c == "\x27" and tok[:1].isdigit():
                out.append(c); i += 1; continue
            j = i + 1
            while j < n and s[j] != c and s[j] != "\n":
                j += 2 if s[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c); i = j + 1
        else:
            out.append(c); i += 1
    text = "".join(out)
    # Blank preprocessor lines (and their continuation lines).
    lines, cont = text.split("\n"), False
    for k, l in enumerate(lines):
        pre = cont or l.lstrip().startswith("#")
        cont = pre and l.rstrip().endswith("\\")
        if pre: lines[k] = ""
    return lines

KEYWORDS = re.compile(r"(if|for|while|switch|else|do|try|catch|return)\b")
def kind(h):
    """What a block opened after header h is: ns, class, func or other."""
    h = re.sub(r"\[\[.*?\]\]", "", h).strip()
    if re.match(r"(inline\s+)?namespace\b|extern\s*\"", h): return "ns"
    t = re.sub(r"^template\s*<.*?>\s*(?=[a-z])", "", h, flags=re.S)
    if re.match(r"(typedef\s+)?enum\b", t): return "other"
    if re.match(r"(typedef\s+)?(class|struct|union)\b", t): return "class"
    if KEYWORDS.match(t) or "(" not in t or ")" not in t: return "other"
    flat = re.sub(r"operator\s*\S+?(?=\s*\()", "op", t)
    while re.search(r"\([^()]*\)", flat): flat = re.sub(r"\([^()]*\)", "", flat)
    if re.search(r"(?<![=!<>])=(?!=)", flat): return "other"  # x = {...}
    return "func"

def name(h):
    depth = 0
    for m in re.finditer(r"operator\s*(\(\)|[^\s(]+)\s*\(|[~\w:]+\s*\(|->|<<|>>|[<>]", h):
        g = m.group(0)
        if g == "<": depth += 1
        elif g in (">", ">>"): depth = max(0, depth - len(g))
        elif g.endswith("(") and depth == 0: return re.sub(r"\s*\($", "", g)
    return "?"

found = []
for path in sys.stdin.read().split("\0"):
    if not path: continue
    with open(path, errors="replace") as f: raw = f.read()
    code = clean(raw)
    blank = [not l.strip() for l in raw.split("\n")]
    stack, header, hline = [], "", 0  # stack of (kind, first line, name)
    for ln, line in enumerate(code, 1):
        open_scope = not stack or stack[-1][0] in ("ns", "class")
        if open_scope and blank[ln - 1]: header = ""
        for c in line:
            open_scope = not stack or stack[-1][0] in ("ns", "class")
            if c == "{":
                if not open_scope: stack.append(("block", ln, "")); continue
                # A brace in a constructor initializer list: a_{x}.
                if re.search(r"\)\s*:(?!:)", header) and re.search(r"[\w>]\s*$", header):
                    stack.append(("init", ln, "")); header += c; continue
                k = kind(header)
                stack.append((k, hline or ln, name(header) if k == "func" else ""))
                header = ""
            elif c == "}":
                if not stack: continue
                k, start, nm = stack.pop()
                if k == "init": header += c; continue
                if k == "func": found.append((ln - start + 1, path[2:], start, nm))
                if not stack or stack[-1][0] in ("ns", "class"): header = ""
            elif open_scope:
                if c == ";": header = ""
                else:
                    if not header.strip() and not c.isspace(): hline = ln
                    header += c
                    if re.fullmatch(r"\s*(public|private|protected)\s*:", header): header = ""
        if open_scope: header += "\n"
found.sort(key=lambda f: (-f[0], f[1], f[2]))
for length, path, start, nm in found[:10]:
    print(f"| {length} | `{nm}` | {path}:{start} |")
'
echo

# 3. Long files: every .cc/.h/.py/.sh of the tree over 600 lines.
echo "### Files over 600 lines (.cc .h .py .sh)"
echo
echo "| lines | file |"
echo "| ---: | --- |"
find . -type f \( -name '*.cc' -o -name '*.h' -o -name '*.py' -o -name '*.sh' \) -print0 |
  xargs -0 -r awk 'FNR == 1 && NR > 1 { print n, f } { f = FILENAME; n = FNR } END { if (NR) print n, f }' |
  awk '$1 > 600 { sub(/^\.\//, "", $2); print "| " $1 " | " $2 " |" }' | sort -t'|' -k2,2nr
echo

# 4. Repetition: pairs of places sharing six or more lines, whole tree.
dup_cmd=(duplicates --repo "$tree" --most 1 --seconds 300)
dup="$("${dup_cmd[@]}" 2>&1 || true)"
echo "### Duplicates"
echo
echo "- command: \`duplicates --repo <tree of $sha> --most 1 --seconds 300\`"
echo "- pairs: **$(head -n1 <<<"$dup" | grep -oE '^[0-9]+' || echo 0)** — \`$(head -n1 <<<"$dup")\`"
grep -E '^(incomplete|left out):' <<<"$dup" | sed 's/^/- /' || true
echo

# 5. Logic in tools/: tools/*.cc and *.h that are neither *_main.cc nor
#    tests, each listed, against the lines of the *_main.cc files.
echo "### Lines of logic in tools/ (tools/*.cc, *.h)"
echo
mains="$(find tools -maxdepth 1 -type f -name '*_main.cc' -print0 | lines)"
nmains="$(find tools -maxdepth 1 -type f -name '*_main.cc' | wc -l)"
logic="$(find tools -maxdepth 1 -type f \( -name '*.cc' -o -name '*.h' \) ! -name '*_main.cc' ! "${tst[@]}" -print0 | lines)"
echo "- non-main, non-test sources: **$logic** lines"
echo "- \`*_main.cc\` files: **$mains** lines in $nmains files"
echo
echo "| lines | file |"
echo "| ---: | --- |"
find tools -maxdepth 1 -type f \( -name '*.cc' -o -name '*.h' \) ! -name '*_main.cc' ! "${tst[@]}" |
  sort | while read -r f; do echo "| $(awk 'END { print NR }' "$f") | $f |"; done
