// The device of a single-process tool run: the CPU, or the one GPU that --gpu_ranks names.
#ifndef UER_CORE_RUNTIME_DEVICE_H_
#define UER_CORE_RUNTIME_DEVICE_H_

#include <string>
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

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_DEVICE_H_
