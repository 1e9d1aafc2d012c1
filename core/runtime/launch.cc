#include "core/runtime/launch.h"

#include <cstdlib>

#include <torch/cuda.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/runtime/device.h"
#include "core/status_macros.h"

namespace uer::runtime {

absl::StatusOr<Launch> ResolveLaunch(const std::vector<std::string>& argv, const LaunchOptions& o) {
  Launch l;
  l.master_ip = o.master_ip;
  if (o.world_size < 1) return absl::InvalidArgumentError("--world_size must be >= 1");
  if (o.world_size == 1) return l;
  const char* env_rank = std::getenv("RANK");
  if (env_rank == nullptr) {
    // UER-py's distributed mode: one process per rank, started here for this machine's ranks.
    std::vector<int> ranks = o.gpu_ranks;
    if (ranks.empty()) {
      if (o.backend == "nccl") {
        return absl::InvalidArgumentError(
            "--world_size > 1 with --backend nccl needs --gpu_ranks (this machine's ranks, one GPU each)");
      }
      for (int r = 0; r < o.world_size; ++r) ranks.push_back(r);
    }
    for (int r : ranks) {
      if (r < 0 || r >= o.world_size) {
        return absl::InvalidArgumentError(absl::StrCat("--gpu_ranks holds rank ", r, ", outside 0..", o.world_size - 1));
      }
    }
    l.launcher = true;
    l.exit_code = LaunchLocalRanks(argv, ranks, o.world_size, o.dist_timeout_s);
    return l;
  }
  if (!absl::SimpleAtoi(env_rank, &l.rank) || l.rank < 0 || l.rank >= o.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("RANK=", env_rank, " is not in 0..", o.world_size - 1, " (--world_size)"));
  }
  if (const char* ws = std::getenv("WORLD_SIZE"); ws != nullptr && std::string(ws) != std::to_string(o.world_size)) {
    return absl::InvalidArgumentError(absl::StrCat("WORLD_SIZE=", ws, " but --world_size ", o.world_size));
  }
  if (const char* lr = std::getenv("LOCAL_RANK"); lr != nullptr) (void)absl::SimpleAtoi(lr, &l.local_rank);
  const char* addr = std::getenv("MASTER_ADDR");
  const char* port = std::getenv("MASTER_PORT");
  if (addr != nullptr && port != nullptr && !o.master_ip_given) l.master_ip = absl::StrCat("tcp://", addr, ":", port);
  return l;
}

absl::StatusOr<Placement> Place(const LaunchOptions& o, const Launch& l, const std::string& one_process_hint) {
  Placement p;
  if (o.world_size <= 1) {
    UER_ASSIGN_OR_RETURN(p.device, SingleProcessDevice(o.gpu_ranks, one_process_hint));
    return p;
  }
  DistributedOptions d;
  d.world_size = o.world_size;
  d.rank = l.rank;
  d.backend = o.backend;
  d.timeout = std::chrono::seconds(o.dist_timeout_s);
  UER_RETURN_IF_ERROR(ParseMasterIp(l.master_ip, &d.master_host, &d.master_port));
  if (o.backend == "nccl") {
    if (!torch::cuda::is_available()) {
      return absl::FailedPreconditionError("--backend nccl needs GPUs and a CUDA build (--config=cuda); use "
                                           "--backend gloo to train on CPUs");
    }
    p.device = torch::Device(torch::kCUDA, l.local_rank);
  } else if (o.backend != "gloo") {
    return absl::InvalidArgumentError(absl::StrCat("--backend ", o.backend, ": known backends are gloo and nccl"));
  }
  UER_ASSIGN_OR_RETURN(p.dist, Distributed::Connect(d));
  return p;
}

}  // namespace uer::runtime
