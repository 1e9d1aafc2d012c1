// The device of a single-process tool run: the CPU, or the one GPU that --gpu_ranks names.
#ifndef UER_CORE_RUNTIME_DEVICE_H_
#define UER_CORE_RUNTIME_DEVICE_H_

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "absl/status/statusor.h"

namespace uer::runtime {

// CPU for no ranks; CUDA device gpu_ranks[0] for one rank (an error naming the fix when no CUDA
// device is usable); for more ranks an InvalidArgument error with `several_ranks_hint`.
absl::StatusOr<torch::Device> SingleProcessDevice(const std::vector<int>& gpu_ranks,
                                                  const std::string& several_ranks_hint);

// Before training on a CPU: subnormal floats flushed to zero (this thread and the worker threads it
// starts). The optimizer moments of rarely seen embedding rows decay into the subnormal range after
// some thousand steps, where every CPU multiply is ~100 times slower; a run then slows down by half
// as it goes. Used by pretrain and the fine-tuning tools.
void FlushSubnormals();

// Whether this CPU computes bf16 natively (avx512_bf16 or amx_bf16 in /proc/cpuinfo). The
// environment variable UER_CPU_NO_BF16=1 makes it say no (tests of the refusal).
bool CpuHasBf16();

// Whether this CPU computes fp16 natively (avx512_fp16 or amx_fp16 in /proc/cpuinfo).
// UER_CPU_FP16=emulated makes it say yes: LibTorch then runs fp16 in software, slowly, which is
// enough to check the numerics of fp16 training (the loss scaling) on any CPU.
bool CpuHasFp16();

// The arithmetic of the forward passes (--precision). Weights, gradients, optimizer state and
// checkpoints stay fp32 in every case.
enum class Precision { kFp32, kBf16, kFp16 };

// "fp32", "bf16" or "fp16" for work on `device`. bf16 on a CPU without native bf16 (CpuHasBf16) is
// refused, naming the CPU flags it lacks (no silent software fallback); so is fp16 on a CPU without
// native fp16 (CpuHasFp16). Training in fp16 scales its loss dynamically (LossScaler).
absl::StatusOr<Precision> ParsePrecision(const std::string& name, torch::Device device);
const char* PrecisionName(Precision p);

// Autocast over a scope, for forward passes: matrix products and convolutions in bf16, the rest as
// LibTorch's autocast lists say (plugins take LayerNorm, softmax and losses in fp32 themselves).
// Nothing for fp32. Backward passes run outside it, as PyTorch advises.
class AutocastGuard {
 public:
  AutocastGuard(Precision precision, torch::Device device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType type_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::BFloat16;
};

// The GEMM peak this process reaches, in FLOP/s: the best of repeated n x n by n x n matrix
// products in `dtype` on `device` (with the threads the process uses), run for about `seconds`.
// The denominator of model FLOPs utilisation (pretrain's report line, bench/gemm_peak).
double MeasureGemmPeak(torch::ScalarType dtype, torch::Device device, double seconds = 1.0, int64_t n = 2048);

// Model FLOPs per token of one training step (forward and backward), as PaLM's MFU counts them:
// 6 x the weights every token passes through (the encoder's and the embedding's matrices, not its
// lookup tables: parameters under "embedding." with "embedding" in the name) plus 12 x seq_length x
// width for each attention module (a "final_linear.weight" under "encoder."; its rows are the
// width). The target's head is left out (it runs on the positions it predicts, not on every one),
// so the utilisation reported is a lower bound.
double ModelFlopsPerToken(const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters,
                          int64_t seq_length);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_DEVICE_H_
