// How a training process runs: alone, as the launcher of this machine's ranks, or as one rank of
// many, and the device and process group that follow. Shared by pretrain and the fine-tuning tools.
//
// One resolver reads where this process stands, from the first source that describes it:
//   1. uer-cc's own launcher (the ranks it started from --world_size/--gpu_ranks: UER_LAUNCHED),
//   2. torchrun (TORCHELASTIC_RUN_ID with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
//      MASTER_ADDR, MASTER_PORT; with TORCHELASTIC_USE_AGENT_STORE=True the agent serves the store
//      and every rank, rank 0 too, joins it as a client),
//   3. Open MPI's mpirun (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE),
//   4. SLURM's srun (SLURM_PROCID, SLURM_STEP_NUM_TASKS or SLURM_NTASKS, SLURM_LOCALID; the first
//      host of SLURM_STEP_NODELIST or SLURM_JOB_NODELIST is the master unless --master_ip),
//   5. plain variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT),
// and otherwise the flags: alone, or (--world_size > 1) the launcher of this machine's ranks.
// Open MPI comes before SLURM because its variables exist only in the processes mpirun started,
// while SLURM's are in every process of an allocation, mpirun's own included.
// The store keys of a run carry its restart count (TORCHELASTIC_RESTART_COUNT, SLURM_RESTART_COUNT),
// so that a restarted attempt never reads a key its failed predecessor left in a surviving store.
//
//   UER_ASSIGN_OR_RETURN(Launch l, ResolveLaunch(argv, options));
//   if (l.launcher) return l.exit_code;          // this process started the ranks and waited
//   UER_ASSIGN_OR_RETURN(Placement p, Place(options, l));   // p.device, p.dist (null alone)
#ifndef UER_CORE_RUNTIME_LAUNCH_H_
#define UER_CORE_RUNTIME_LAUNCH_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "absl/status/statusor.h"
#include "core/runtime/distributed.h"

namespace uer::runtime {

struct LaunchOptions {
  int world_size = 1;
  bool world_size_given = false;  // the flag was set: the environment's world size must agree
  std::vector<int> gpu_ranks;     // this machine's ranks (one GPU each with nccl); one GPU alone
  std::string backend;  // gloo | nccl; empty: as PyTorch picks, nccl where CUDA is there, else gloo
  std::string master_ip = "tcp://localhost:12345";
  bool master_ip_given = false;  // the flag was set: it wins over the environment's master
  int dist_timeout_s = 600;
  const std::atomic<int>* stop_signal = nullptr;  // SIGTERM/SIGINT while waiting for the other ranks
};

struct Launch {
  bool launcher = false;  // this process started the ranks and waited for them
  int exit_code = 0;      // the launcher's exit code
  int rank = 0, local_rank = 0;
  int world_size = 1;
  int local_world_size = 1;  // ranks on this machine (their share of its cores)
  std::string master_ip = "tcp://localhost:12345";
  std::string source = "flags";  // flags | uer-cc launcher | torchrun | open mpi | slurm | environment
  bool serve_store = true;       // rank 0 serves the rendezvous store (false: torchrun's agent does)
  int restart_count = 0;         // the launcher's attempt number, part of every store key
};

// Reads a variable of the environment (nullptr when unset); tests pass their own.
using GetEnvFn = std::function<const char*(const char*)>;

// Resolves this process's place (sources above). With world_size > 1 and no source in the
// environment, starts this machine's ranks (--gpu_ranks, or all of them with gloo) as children
// running `argv` and waits. Conflicts (an environment's world size against --world_size, a rank
// outside the world) are errors naming the variable.
absl::StatusOr<Launch> ResolveLaunch(const std::vector<std::string>& argv, const LaunchOptions& options,
                                     const GetEnvFn& getenv = nullptr);

// The first host of a SLURM node list: "gpu[007-010,12],cpu1" -> "gpu007".
std::string FirstSlurmHost(const std::string& nodelist);

struct Placement {
  torch::Device device{torch::kCPU};
  std::unique_ptr<Distributed> dist;  // null for one process
};

// The device and, for several ranks, the joined process group. `one_process_hint` is the error for
// several GPUs without --world_size.
absl::StatusOr<Placement> Place(const LaunchOptions& options, const Launch& launch, const std::string& one_process_hint);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_LAUNCH_H_
