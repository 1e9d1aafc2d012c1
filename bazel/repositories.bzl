"""Repository rules for the offline build: Debian's rules_cc, patched, and the system libraries."""

def _patched_rules_cc_impl(ctx):
    # Debian 12 ships rules_cc for a newer Bazel: two of its .bzl files call
    # `use_cpp_toolchain()`, a helper that Bazel 4.2.3's @bazel_tools does not have. We copy the
    # package and replace that call with the plain toolchain type, which is what the helper returns.
    src = ctx.path(ctx.attr.path)
    if not src.exists:
        fail("%s is missing: run tools/bootstrap.sh (Debian package bazel-rules-cc)" % ctx.attr.path)
    ctx.execute(["cp", "-r", str(src) + "/.", "."])
    for f in [
        "cc/private/rules_impl/cc_flags_supplier.bzl",
        "cc/private/rules_impl/compiler_flag.bzl",
    ]:
        p = ctx.path(f)
        if not p.exists:
            continue
        text = ctx.read(p)
        text = text.replace(', "use_cpp_toolchain")', ")")
        text = text.replace("use_cpp_toolchain()", '["@bazel_tools//tools/cpp:toolchain_type"]')
        ctx.file(f, text, legacy_utf8 = False)

patched_rules_cc = repository_rule(
    implementation = _patched_rules_cc_impl,
    attrs = {"path": attr.string(mandatory = True)},
    local = True,
)

_SYSTEM_BUILD = '''
package(default_visibility = ["//visibility:public"])

# Headers live in /usr/include, on the compiler's default path; these targets only carry link flags.
cc_library(
    name = "absl",
    linkopts = [
        "-labsl_statusor", "-labsl_status", "-labsl_cord", "-labsl_cordz_info",
        "-labsl_cord_internal", "-labsl_cordz_functions", "-labsl_cordz_handle",
        "-labsl_str_format_internal", "-labsl_strings", "-labsl_strings_internal",
        "-labsl_synchronization", "-labsl_time", "-labsl_time_zone", "-labsl_int128",
        "-labsl_throw_delegate", "-labsl_raw_logging_internal", "-labsl_base",
        "-labsl_spinlock_wait", "-labsl_stacktrace", "-labsl_symbolize", "-labsl_hash",
        "-labsl_city", "-labsl_low_level_hash", "-labsl_raw_hash_set",
    ],
)

cc_library(name = "gflags", linkopts = ["-lgflags"])

cc_library(name = "glog", linkopts = ["-lglog"], deps = [":gflags"])

cc_library(name = "protobuf", linkopts = ["-lprotobuf", "-lpthread"])

cc_library(name = "utf8proc", linkopts = ["-lutf8proc"])

# libdeflate's CRC-32 (carry-less multiplication: ~13 GB/s here, zlib's ~4.5) for the checksums of
# model files.
cc_library(name = "libdeflate", linkopts = ["-Wl,--no-as-needed", "-ldeflate", "-Wl,--as-needed"])

cc_library(name = "zlib", linkopts = ["-Wl,--no-as-needed", "-lz", "-Wl,--as-needed"])

cc_library(name = "leveldb", linkopts = ["-Wl,--no-as-needed", "-lleveldb", "-Wl,--as-needed"])

# gperftools' tcmalloc for the tools: glibc's malloc, whose mmap threshold follows the largest block
# freed, serves the tensors of a training step (their sizes change with each batch when padding is
# skipped) from a heap that fragments: a BERT tiny pretrain grew from 600 to 890 MB in 45 s, and
# a long run past 4.5 GB; with tcmalloc it holds ~400 MB at the same speed (jemalloc: flat but 25%
# slower; a fixed 1 MB mmap threshold: flat but half the speed).
cc_library(name = "tcmalloc", linkopts = ["-Wl,--no-as-needed", "-l:libtcmalloc_minimal.so.4", "-Wl,--as-needed"])

cc_library(name = "nlohmann_json")

# libevent's HTTP server (evhttp) with its pthreads locking, for //tools:serve.
cc_library(name = "libevent", linkopts = ["-Wl,--no-as-needed", "-levent_core", "-levent_extra", "-levent_pthreads", "-Wl,--as-needed"])

cc_library(name = "gtest", linkopts = ["-l:libgmock.a", "-l:libgtest.a", "-lpthread"])

cc_library(name = "gtest_main", linkopts = ["-l:libgtest_main.a"], deps = [":gtest"])

sh_binary(name = "protoc", srcs = ["protoc.sh"])
'''

def _system_libraries_impl(ctx):
    protoc = ctx.which("protoc")
    if protoc == None:
        fail("protoc is missing: run tools/bootstrap.sh (Debian package protobuf-compiler)")
    for h in ["/usr/include/absl/status/status.h", "/usr/include/gflags/gflags.h",
              "/usr/include/glog/logging.h", "/usr/include/google/protobuf/message.h",
              "/usr/include/gtest/gtest.h", "/usr/include/utf8proc.h",
              "/usr/include/nlohmann/json.hpp", "/usr/include/libdeflate.h",
              "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"]:
        if not ctx.path(h).exists:
            fail("%s is missing: run tools/bootstrap.sh" % h)
    ctx.file("protoc.sh", "#!/bin/sh\nexec %s \"$@\"\n" % protoc, executable = True)
    ctx.file("BUILD", _SYSTEM_BUILD)

system_libraries = repository_rule(
    implementation = _system_libraries_impl,
    local = True,
)
