#!/usr/bin/env bash
# tools/bootstrap.sh on the machines a new user may have, with stand-ins first on PATH for
# dpkg-query, apt-get, apt-cache, python3 and the venv's Python (pip): each run checks the exit
# status, what apt and pip were asked to do, and the messages.
#  (a) nothing installed: every package asked for at its pinned version, the venv made and filled;
#  (b) other versions of some packages: each named and kept, the rest installed;
#  (c) a pinned version gone from the archive: said so and installed at the archive's version;
#  (d) apt failing (update, then install): exit 1 and a line saying what failed;
#  (g) the pins not installable together (a security update in the base system): the archive's
#      versions, each difference said;
#  (e) everything present: nothing installed, one line;
#  (f) pip failing: exit 1 naming the lock file.
# BOOTSTRAP=path/to/bootstrap.sh checks another version of the script (an old one fails (a)).
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
bootstrap="${BOOTSTRAP:-$ws/tools/bootstrap.sh}"
pins="$(sed -n '/^DEB_PACKAGES=(/,/^)/p' "$ws/tools/bootstrap.sh" | grep -o '[a-z0-9.+-]\+=[^ ]\+')"
[[ $(wc -l <<< "$pins") -ge 20 ]] || fail "could not read DEB_PACKAGES from tools/bootstrap.sh"

# The stand-ins read the machine they play from files in $M and log what they were asked in $M/log.
stand_ins="$(mktemp -d "$t/bin.XXXXXX")"   # never a folder of the machine's own
cat > "$stand_ins/dpkg-query" <<'SH'
#!/bin/bash
p="${@: -1}"
v="$(awk -v p="$p" '$1 == p { print $2 }' "$M/installed")"
[[ -n "$v" ]] || { echo "dpkg-query: no packages found matching $p" >&2; exit 1; }
printf 'install ok installed %s' "$v"
SH
cat > "$stand_ins/apt-cache" <<'SH'
#!/bin/bash
[[ "$1" == madison ]] || exit 1
awk -v p="$2" '$1 == p { printf "%10s | %s | http://deb.debian.org/debian bookworm/main amd64 Packages\n", p, $2 }' "$M/archive"
SH
cat > "$stand_ins/apt-get" <<'SH'
#!/bin/bash
echo "apt-get $*" >> "$M/log"
if [[ "$1" == update && -e "$M/fail_update" ]]; then echo "E: The repository is not signed." >&2; exit 100; fi
[[ " $* " == *" install "* ]] || exit 0
if [[ -e "$M/fail_install" ]]; then echo "E: Unable to locate package libfoo-dev"; exit 100; fi
if [[ -e "$M/fail_pinned" && "$*" == *=* ]]; then
  echo " zlib1g-dev : Depends: zlib1g (= 1:1.2.13.dfsg-1) but 1:1.2.13.dfsg-1+deb12u1 is to be installed"
  echo "E: Unable to correct problems, you have held broken packages."
  exit 100
fi
for a in "$@"; do  # installed: at the pin, or at the archive's last version
  case "$a" in
    -*|install) ;;
    *=*) echo "${a%%=*} ${a#*=}" >> "$M/installed" ;;
    *) awk -v p="$a" '$1 == p { v = $2 } END { if (v != "") print p, v }' "$M/archive" >> "$M/installed" ;;
  esac
done
SH
cat > "$stand_ins/python3" <<'SH'
#!/bin/bash
case "$1 $2" in
  "-m venv") mkdir -p "$3/bin"; cp "$M/venv_python" "$3/bin/python"; echo "python3 -m venv $3" >> "$M/log" ;;
  "-c "*) [[ -e "$M/py_modules" ]] ;;
  "-m pip") [[ -e "$M/py_modules" ]] ;;
  *) exit 1 ;;
esac
SH
# The venv's Python: answers bootstrap's version check from $M/differ, logs pip installs.
cat > "$t/venv_python" <<'SH'
#!/bin/bash
if [[ "$1" == - ]]; then cat > /dev/null; cat "$M/differ" 2> /dev/null; exit 0; fi
if [[ "$1 $2" == "-m pip" ]]; then
  echo "pip ${*:3}" >> "$M/log"
  [[ -e "$M/fail_pip" ]] && { echo "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES" >&2; exit 1; }
  exit 0
fi
exit 1
SH
printf '#!/bin/bash\nexec "$@"\n' > "$stand_ins/sudo"   # a user who is not root
chmod +x "$stand_ins"/* "$t/venv_python"

# machine NAME: a fresh machine description in $t/NAME (nothing installed, every pin in the archive,
# the venv absent and its packages all to install).
machine() {
  M="$t/$1"; mkdir -p "$M"; : > "$M/installed"; : > "$M/log"
  sed 's/=/ /' <<< "$pins" > "$M/archive"
  cp "$t/venv_python" "$M/venv_python"
  printf 'torch absent -> 2.11.0\n' > "$M/differ"
  export M
}
# run: bootstrap on the machine $M, its exit status in $rc, its output in $M/out.
run() {
  set +e
  PATH="$stand_ins:/usr/bin:/bin" UER_VENV="$M/venv" bash "$bootstrap" > "$M/out" 2>&1
  rc=$?
  set -e
}
says() { grep -qF -- "$1" "$M/out" || { cat "$M/out"; fail "$(basename "$M"): no line '$1'"; }; }
asked() { grep -qF -- "$1" "$M/log" || { cat "$M/log"; fail "$(basename "$M"): apt/pip not asked '$1'"; }; }
not_asked() { ! grep -qF -- "$1" "$M/log" || { cat "$M/log"; fail "$(basename "$M"): asked '$1'"; }; }
status() { [[ $rc == "$1" ]] || { cat "$M/out"; fail "$(basename "$M"): exit $rc, expected $1"; }; }

# (a) Nothing installed.
machine nothing; run; status 0
install_line="$(grep '^apt-get install' "$M/log")" || fail "nothing: apt-get install never ran"
while read -r pin; do
  [[ "$pin" == python3=* ]] && continue   # python3 itself is on PATH (the stand-in)
  [[ " $install_line " == *" $pin "* ]] || fail "nothing: $pin not asked of apt ($install_line)"
done <<< "$pins"
asked "apt-get update"
asked "python3 -m venv $M/venv"
asked "pip install -q --disable-pip-version-check --require-hashes -r"
says "bootstrap: installing Debian packages: bazel-bootstrap"
says "bootstrap: ready"
echo "nothing installed: apt asked for $(tr " " "\n" <<< "$install_line" | grep -c =) pinned packages, the venv made and filled"

# (b) Other versions of some packages: kept and named; the rest installed.
machine other; printf 'libabsl-dev 20230802.1-4\nlibgtest-dev 1.14.0-1\n' > "$M/installed"; run; status 0
says "bootstrap: libabsl-dev is 20230802.1-4 here, uer-cc pins 20220623.1-1+deb12u2 (kept)"
says "bootstrap: libgtest-dev is 1.14.0-1 here, uer-cc pins 1.12.1-0.2 (kept)"
not_asked "libabsl-dev="; not_asked "libgtest-dev="; asked "libgflags-dev=2.2.2-2"

# (c) A pinned version gone from the archive (a point release replaced it).
machine gone; sed -i 's/^libprotobuf-dev .*/libprotobuf-dev 3.21.12-3+deb12u2/' "$M/archive"; run; status 0
says "bootstrap: libprotobuf-dev=3.21.12-3+deb12u1 is no longer in the archive; installing its current version"
asked " libprotobuf-dev "; not_asked "libprotobuf-dev="; asked "protobuf-compiler=3.21.12-3+deb12u1"

# (d) apt failing: at update, then at install.
machine update_fails; touch "$M/fail_update"; run; status 1
says "bootstrap: error: apt-get update failed"
not_asked "apt-get install"; not_asked "pip install"
machine install_fails; touch "$M/fail_install"; run; status 1
says "E: Unable to locate package libfoo-dev"
says "bootstrap: error: apt-get install failed for: bazel-bootstrap bazel-rules-cc"
not_asked "pip install"

# (g) The pins cannot be installed together (a security update of zlib1g in the base system): the
# archive's current versions, each difference said.
machine security_update; touch "$M/fail_pinned"; echo "zlib1g-dev 1:1.2.13.dfsg-1+deb12u1" >> "$M/archive"; run; status 0
says "bootstrap: the pinned versions cannot be installed together here:"
says "zlib1g-dev : Depends: zlib1g (= 1:1.2.13.dfsg-1) but 1:1.2.13.dfsg-1+deb12u1 is to be installed"
says "bootstrap: installing the archive's current versions instead"
says "bootstrap: zlib1g-dev is 1:1.2.13.dfsg-1+deb12u1 here, uer-cc pins 1:1.2.13.dfsg-1"
asked " zlib1g-dev "
asked "pip install"

# (e) Everything present: no apt, no pip, one line.
machine complete; sed 's/=/ /' <<< "$pins" > "$M/installed"; : > "$M/differ"
mkdir -p "$M/venv/bin"; cp "$M/venv_python" "$M/venv/bin/python"; run; status 0
[[ ! -s "$M/log" ]] || { cat "$M/log"; fail "complete: apt or pip was asked"; }
[[ "$(cat "$M/out")" == "bootstrap: ready ("* ]] || { cat "$M/out"; fail "complete: more than the ready line"; }

# (f) pip failing.
machine pip_fails; sed 's/=/ /' <<< "$pins" > "$M/installed"; touch "$M/fail_pip"; run; status 1
says "THESE PACKAGES DO NOT MATCH THE HASHES"
says "bootstrap: error: pip could not install"
says "requirements.lock"
echo PASS
