#!/usr/bin/env bash
# Builds one uer-cc plugin source with plain g++, outside Bazel, against an installed uer-cc SDK:
#
#   docs/examples/build_outside_bazel.sh SOURCE.cc OUT.so [--no-torch]
#
#   docs/examples/build_outside_bazel.sh docs/examples/acme_task/acme_keyword_task.cc libacme_keyword.so
#   docs/examples/build_outside_bazel.sh docs/examples/acme_target/acme_length_data.cc \
#       libacme_length_data.so --no-torch          (a torch-free plugin: a target's data side, a tokenizer)
#
# The source must write its stamp itself (UER_PLUGIN_DEFINE_INFO("name"), core/plugin_stamp.h). The
# library links libuer_core.so (and, without --no-torch, libuer_modules.so, LibTorch's libtorch_cpu
# and libc10; UER_LIB and LibTorch's lib/ go into its run path), exports its stamp alone (a version
# script, as bazel/plugin_exports.lds) and leaves no symbol undefined. It prints the path of the
# library it built.
#
# Inputs, from the environment (the defaults fit a checkout that has run `bazel build //core:all`):
#   UER_SRC   the uer-cc source root: the SDK headers core/*.h        (default: this checkout)
#   GEN       the folder holding the generated core/config.pb.h and core/sdk_hash.h
#                                                                     (default: $UER_SRC/bazel-bin)
#   UER_LIB   the folder holding libuer_core.so and libuer_modules.so (default: $UER_SRC/bazel-bin/core)
#   TORCH     site-packages/torch of the pinned wheel   (default: the torch of $UER_VENV or $UER_SRC/.venv)
#   CXX       the compiler (default g++): the one uer-cc was built with, since the stamp names it
#   CXXFLAGS  optimization and extra flags (default: -O2 -DNDEBUG, as Bazel's -c opt)
set -euo pipefail

usage() {
  echo "usage: $0 SOURCE.cc OUT.so [--no-torch]" >&2
  exit 2
}

torch_plugin=1
args=()
for a in "$@"; do
  case "$a" in
    --no-torch) torch_plugin=0 ;;
    -h|--help) usage ;;
    -*) echo "unknown option $a" >&2; usage ;;
    *) args+=("$a") ;;
  esac
done
[[ ${#args[@]} == 2 ]] || usage
src="${args[0]}"
out="${args[1]}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UER_SRC="${UER_SRC:-$(cd "$here/../.." && pwd)}"
GEN="${GEN:-$UER_SRC/bazel-bin}"
UER_LIB="${UER_LIB:-$UER_SRC/bazel-bin/core}"
CXX="${CXX:-g++}"
CXXFLAGS="${CXXFLAGS:--O2 -DNDEBUG}"
if [[ -z "${TORCH:-}" ]]; then
  python="${UER_VENV:-$UER_SRC/.venv}/bin/python"
  [[ -x "$python" ]] || { echo "error: no \$TORCH given and no Python at $python (run tools/bootstrap.sh)" >&2; exit 1; }
  # Where the wheel lies, without importing torch (fast).
  TORCH="$("$python" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("torch").origin))')" ||
    { echo "error: torch is not installed for $python (run tools/bootstrap.sh)" >&2; exit 1; }
fi

need() {  # need PATH WHAT
  [[ -e "$1" ]] || { echo "error: $1 is missing: $2" >&2; exit 1; }
}
need "$src" "the plugin source"
need "$UER_SRC/core/plugin_api.h" "the SDK headers (set UER_SRC to the uer-cc source root)"
need "$GEN/core/config.pb.h" "the generated config header (set GEN; bazel build //core:config_proto_gen)"
need "$GEN/core/sdk_hash.h" "the generated SDK hash (set GEN; bazel build //core:sdk_hash)"
need "$UER_LIB/libuer_core.so" "set UER_LIB to the folder of libuer_core.so (bazel build //core:libuer_core.so)"
# core/plugin_stamp.h reads LibTorch's version from <torch/headeronly/version.h>, torch-free or not.
need "$TORCH/include/torch/headeronly/version.h" "set TORCH to site-packages/torch of the pinned wheel"
if [[ $torch_plugin == 1 ]]; then
  need "$UER_LIB/libuer_modules.so" "set UER_LIB to the folder of libuer_modules.so (bazel build //core:libuer_modules.so)"
  need "$TORCH/lib/libtorch_cpu.so" "set TORCH to site-packages/torch of the pinned wheel"
fi
UER_LIB="$(cd "$UER_LIB" && pwd)"
mkdir -p "$(dirname "$out")"

# The plugin exports its stamp alone (the copy of bazel/plugin_exports.lds that the uer_plugin()
# macro links with): nothing else it defines can shadow another plugin or the host.
lds="$(mktemp "${TMPDIR:-/tmp}/uer_plugin_exports.XXXXXX")"
trap 'rm -f "$lds"' EXIT
cat > "$lds" <<'LDS'
{
  global: uer_plugin_stamp;
  local: *;
};
LDS

# The wheel's include/ also holds the protobuf headers torch was built with (google/protobuf/...).
# -idirafter searches it after the system folders, so Debian's /usr/include/google/protobuf, the
# protobuf that core and core/config.pb.h were built with, wins.
flags=(-std=c++17 -fPIC -shared -D_GLIBCXX_USE_CXX11_ABI=1 -Wno-deprecated-declarations)
read -r -a extra <<< "$CXXFLAGS"
flags+=("${extra[@]}")
flags+=(-I"$UER_SRC" -I"$GEN" -idirafter "$TORCH/include" -idirafter "$TORCH/include/torch/csrc/api/include")

libs=(-L"$UER_LIB" "-Wl,-rpath,$UER_LIB")
if [[ $torch_plugin == 1 ]]; then
  libs+=(-luer_modules -luer_core -L"$TORCH/lib" "-Wl,-rpath,$TORCH/lib" -ltorch_cpu -lc10)
else
  libs+=(-luer_core)
fi
# Debian's Abseil and protobuf, as @system//:absl and @system//:protobuf link them.
libs+=(-labsl_statusor -labsl_status -labsl_cord -labsl_cordz_info -labsl_cord_internal
       -labsl_cordz_functions -labsl_cordz_handle -labsl_str_format_internal -labsl_strings
       -labsl_strings_internal -labsl_synchronization -labsl_time -labsl_time_zone -labsl_int128
       -labsl_throw_delegate -labsl_raw_logging_internal -labsl_base -labsl_spinlock_wait
       -labsl_stacktrace -labsl_symbolize -labsl_hash -labsl_city -labsl_low_level_hash
       -labsl_raw_hash_set -lprotobuf -lpthread)

"$CXX" "${flags[@]}" -o "$out" "$src" "${libs[@]}" \
  -Wl,-soname,"$(basename "$out")" -Wl,--no-undefined -Wl,--version-script="$lds"
echo "$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
