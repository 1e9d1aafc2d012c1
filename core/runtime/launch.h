// How a training process runs: alone, as the launcher of this machine's ranks, or as one rank of
// many (started by uer-cc itself or by a cluster launcher's RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT), and the device and process group that follow. Shared by pretrain and
// the fine-tuning tools.
//
//   UER_ASSIGN_OR_RETURN(Launch l, ResolveLaunch(argv, options));
//   if (l.launcher) return l.exit_code;          // this process started the ranks and waited
//   UER_ASSIGN_OR_RETURN(Placement p, Place(options, l));   // p.device, p.dist (null alone)
#ifndef UER_CORE_RUNTIME_LAUNCH_H_
#define UER_CORE_RUNTIME_LAUNCH_H_

#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "absl/status/statusor.h"
#include "core/runtime/distributed.h"

namespace uer::runtime {

struct LaunchOptions {
  int world_size = 1;
  std::vector<int> gpu_ranks;  // this machine's ranks (one GPU each with nccl); one GPU alone
  std::string backend = "gloo";
  std::string master_ip = "tcp://localhost:12345";
  bool master_ip_given = false;  // the flag was set: it wins over MASTER_ADDR/MASTER_PORT
  int dist_timeout_s = 600;
};

struct Launch {
  bool launcher = false;  // this process started the ranks and waited for them
  int exit_code = 0;      // the launcher's exit code
  int rank = 0, local_rank = 0;
  std::string master_ip;
};

// With world_size > 1 and no RANK in the environment, starts this machine's ranks (--gpu_ranks, or
// all of them with gloo) as children running `argv` and waits; otherwise reads this rank's place.
absl::StatusOr<Launch> ResolveLaunch(const std::vector<std::string>& argv, const LaunchOptions& options);

struct Placement {
  torch::Device device{torch::kCPU};
  std::unique_ptr<Distributed> dist;  // null for one process
};

// The device and, for several ranks, the joined process group. `one_process_hint` is the error for
// several GPUs without --world_size.
absl::StatusOr<Placement> Place(const LaunchOptions& options, const Launch& launch, const std::string& one_process_hint);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_LAUNCH_H_
