"""Repository rule that exposes LibTorch from the torch wheel in the project's virtual environment.

tools/bootstrap.sh installs the pinned wheel into .venv/ (or $UER_VENV). This rule asks that Python
where torch lives and links its include/ and lib/ folders into the external repository. The CPU build
links libtorch_cpu and libc10 only; `--config=cuda` (see .bazelrc) adds libtorch_cuda and libc10_cuda.
"""

load("//bazel:versions.bzl", "TORCH_VERSION")

_BUILD = '''
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "headers",
    hdrs = glob(["include/**/*.h", "include/**/*.hpp", "include/**/*.cuh"], allow_empty = True),
    includes = ["include", "include/torch/csrc/api/include"],
    defines = ["_GLIBCXX_USE_CXX11_ABI=%d"],
)

# Linked by path (not through Bazel's _solib symlinks, one per file): libtorch_cpu.so finds the CUDA
# runtime of the nvidia-* wheels through its $ORIGIN-relative RPATH, and $ORIGIN is the folder a
# library was opened from. The RUNPATH that finds this folder at run time is relative and added by
# each binary (torch_rpath() in bazel/uer.bzl), so no absolute venv path is built into the outputs;
# -rpath-link lets the linker resolve the wheel's own dependencies (the CUDA runtime) at link time.
cc_library(
    name = "torch",
    deps = [":headers"],
    linkopts = ["-L%s/lib", "-Wl,-rpath-link,%s/lib:%s/../nvidia/cu13/lib", "-Wl,--no-as-needed", "-ltorch_cpu", "-lc10"] + select({
        "@uer_cc//bazel:cuda_build": ["-ltorch_cuda", "-lc10_cuda"],
        "//conditions:default": [],
    }) + ["-Wl,--as-needed"],
)

# CUDA and NCCL headers from the nvidia-* wheels that torch pulls in (the versions it was built
# with), for the code that --config=cuda compiles (the NCCL process group).
cc_library(
    name = "cuda_headers",
    hdrs = glob(["nvidia/cu13/include/**/*.h", "nvidia/nccl/include/**/*.h"], allow_empty = True),
    includes = ["nvidia/cu13/include", "nvidia/nccl/include"],
)

exports_files(["python", "torch_version.txt"])
'''

def _torch_repository_impl(ctx):
    venv = ctx.os.environ.get("UER_VENV", "")
    if not venv:
        venv = str(ctx.path(Label("//:WORKSPACE")).dirname) + "/.venv"
    python = ctx.path(venv + "/bin/python")
    if not python.exists:
        fail("no Python virtual environment at %s: run tools/bootstrap.sh first" % venv)
    res = ctx.execute([python, "-c", "\n".join([
        "import os, importlib.util, importlib.metadata as m",
        "spec = importlib.util.find_spec('torch')",
        "print(os.path.dirname(spec.origin))",
        "print(m.version('torch'))",
    ])])
    if res.return_code != 0:
        fail("torch is not installed in %s: run tools/bootstrap.sh\n%s" % (venv, res.stderr))
    torch_dir, version = res.stdout.strip().split("\n")
    if not version.startswith(TORCH_VERSION):
        fail("torch %s found in %s but uer-cc pins %s: run tools/bootstrap.sh" % (version, venv, TORCH_VERSION))
    # The wheel's include/ also holds the headers of the protobuf version torch was built with; they
    # must not shadow the system protobuf that uer-cc links. Link everything else, one entry each.
    listing = ctx.execute(["ls", "-1", torch_dir + "/include"]).stdout.strip().split("\n")
    for entry in listing:
        if entry and entry != "google":
            ctx.symlink(torch_dir + "/include/" + entry, "include/" + entry)
    ctx.symlink(torch_dir + "/lib", "lib")
    nvidia = torch_dir.rsplit("/", 1)[0] + "/nvidia"
    if ctx.path(nvidia).exists:
        ctx.symlink(nvidia, "nvidia")
    ctx.symlink(python, "python")
    ctx.file("torch_version.txt", version + "\n")
    ctx.file("BUILD", _BUILD % (1, torch_dir, torch_dir, torch_dir))

torch_repository = repository_rule(
    implementation = _torch_repository_impl,
    environ = ["UER_VENV"],
    local = True,
)
