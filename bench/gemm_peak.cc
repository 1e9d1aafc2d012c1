// The GEMM peak of this machine through LibTorch: FLOP/s of square matrix products in fp32 and
// bf16, on one thread and on the threads the tools use (all cores unless OMP_NUM_THREADS), the
// denominator of the model FLOPs utilisation that pretrain reports. On a CPU without bf16 support
// the bf16 line says so instead of timing a software fallback.
//
//   bazel run -c opt //bench:gemm_peak -- [n (2048)] [seconds per case (2)]
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/runtime/device.h"

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 2048;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
  if (n < 64 || seconds <= 0) {
    std::fprintf(stderr, "usage: gemm_peak [n >= 64] [seconds > 0]\n");
    return 2;
  }
  const int tools_threads = at::get_num_threads();
  const bool cpu_bf16 = uer::runtime::CpuHasBf16();
  std::printf("n %lld, %d threads by default; CPU bf16 (avx512_bf16 or amx_bf16): %s\n", static_cast<long long>(n),
              tools_threads, cpu_bf16 ? "yes" : "no");
  for (int threads : {1, tools_threads}) {
    at::set_num_threads(threads);
    for (auto [dtype, name] : {std::pair{torch::kFloat, "fp32"}, std::pair{torch::kBFloat16, "bf16"}}) {
      if (dtype == torch::kBFloat16 && !cpu_bf16) {
        std::printf("cpu  %-4s %2d threads: no bf16 support on this CPU\n", name, threads);
        continue;
      }
      const double peak = uer::runtime::MeasureGemmPeak(dtype, torch::kCPU, seconds, n);
      std::printf("cpu  %-4s %2d threads: %8.1f GFLOP/s\n", name, threads, peak / 1e9);
    }
    if (threads == tools_threads) break;
  }
  if (torch::cuda::is_available()) {
    for (auto [dtype, name] : {std::pair{torch::kFloat, "fp32"}, std::pair{torch::kBFloat16, "bf16"}}) {
      const double peak = uer::runtime::MeasureGemmPeak(dtype, torch::Device(torch::kCUDA, 0), seconds, 8192);
      std::printf("cuda %-4s: %8.1f TFLOP/s\n", name, peak / 1e12);
    }
  }
  return 0;
}
