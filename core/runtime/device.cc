#include "core/runtime/device.h"

#include <ATen/Context.h>
#include <torch/cuda.h>

#include "absl/status/status.h"

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

}  // namespace uer::runtime
