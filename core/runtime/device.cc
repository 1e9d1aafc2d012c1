#include "core/runtime/device.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace uer::runtime {

absl::StatusOr<torch::Device> SingleProcessDevice(const std::vector<int>& gpu_ranks,
                                                  const std::string& several_ranks_hint) {
  if (gpu_ranks.empty()) return torch::Device(torch::kCPU);
  if (gpu_ranks.size() > 1) return absl::InvalidArgumentError(several_ranks_hint);
  if (!torch::cuda::is_available()) {
    return absl::FailedPreconditionError(
        "--gpu_ranks given but no CUDA device is usable (build with --config=cuda on a machine with a GPU)");
  }
  return torch::Device(torch::kCUDA, gpu_ranks[0]);
}

void FlushSubnormals() { at::globalContext().setFlushDenormal(true); }

absl::StatusOr<Precision> ParsePrecision(const std::string& name, torch::Device device) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") {
    if (device.is_cpu() && !CpuHasBf16()) {
      return absl::FailedPreconditionError(
          "--precision bf16: this CPU has no native bf16 (neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo); "
          "use --precision fp32");
    }
    return Precision::kBf16;
  }
  if (name == "fp16") {
    if (device.is_cpu() && !CpuHasFp16()) {
      return absl::FailedPreconditionError(
          "--precision fp16: this CPU has no native fp16 (neither avx512_fp16 nor amx_fp16 in /proc/cpuinfo); "
          "use --precision bf16 or fp32 (UER_CPU_FP16=emulated runs it emulated, slowly, to check numerics)");
    }
    return Precision::kFp16;
  }
  return absl::InvalidArgumentError(absl::StrCat("--precision must be fp32, bf16 or fp16, got \"", name, "\""));
}

const char* PrecisionName(Precision p) {
  switch (p) {
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
    default:
      return "fp32";
  }
}

AutocastGuard::AutocastGuard(Precision precision, torch::Device device) {
  if (precision == Precision::kFp32) return;
  active_ = true;
  type_ = device.type();
  was_enabled_ = at::autocast::is_autocast_enabled(type_);
  was_dtype_ = at::autocast::get_autocast_dtype(type_);
  at::autocast::set_autocast_dtype(type_, precision == Precision::kBf16 ? at::kBFloat16 : at::kHalf);
  at::autocast::set_autocast_enabled(type_, true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(type_, was_enabled_);
  at::autocast::set_autocast_dtype(type_, was_dtype_);
}

namespace {

// Whether /proc/cpuinfo's flags name any of `flags`.
bool CpuHasAnyFlag(std::initializer_list<const char*> flags) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "flags")) continue;
    line += ' ';
    for (const char* f : flags) {
      if (absl::StrContains(line, absl::StrCat(" ", f, " "))) return true;
    }
    return false;
  }
  return false;
}

}  // namespace

bool CpuHasBf16() {
  if (const char* no = std::getenv("UER_CPU_NO_BF16"); no != nullptr && std::string(no) == "1") return false;
  return CpuHasAnyFlag({"avx512_bf16", "amx_bf16"});
}

bool CpuHasFp16() {
  if (const char* e = std::getenv("UER_CPU_FP16"); e != nullptr && std::string(e) == "emulated") return true;
  return CpuHasAnyFlag({"avx512_fp16", "amx_fp16"});
}

double MeasureGemmPeak(torch::ScalarType dtype, torch::Device device, double seconds, int64_t n) {
  torch::NoGradGuard no_grad;
  const auto opts = torch::TensorOptions().dtype(dtype).device(device);
  torch::Tensor a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts), c = torch::empty({n, n}, opts);
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  torch::mm_out(c, a, b);  // warm-up: packing buffers, thread pool
  sync();
  double best = 0, spent = 0;
  for (int rep = 0; rep < 3 || spent < seconds; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    sync();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spent += t;
    if (t > 0) best = std::max(best, 2.0 * n * n * n / t);
    if (rep > 1000) break;
  }
  return best;
}

double ModelFlopsPerToken(const std::vector<std::pair<std::string, torch::Tensor>>& named, int64_t seq_length) {
  double dense = 0, attention = 0;
  for (const auto& [name, p] : named) {
    const bool embedding = absl::StartsWith(name, "embedding.");
    const bool encoder = absl::StartsWith(name, "encoder.");
    if (!(embedding || encoder) || p.dim() < 2) continue;
    if (embedding && absl::StrContains(name.substr(10), "embedding")) continue;  // a lookup table
    dense += static_cast<double>(p.numel());
    if (encoder && absl::EndsWith(name, "final_linear.weight")) {
      attention += 12.0 * static_cast<double>(seq_length) * static_cast<double>(p.size(0));
    }
  }
  return 6.0 * dense + attention;
}

}  // namespace uer::runtime
