#include "core/runtime/launch.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/runtime/device.h"
#include "core/status_macros.h"

namespace uer::runtime {

namespace {

// The environment as one source describes it.
struct EnvPlace {
  std::string source;
  int rank = 0, world_size = 1, local_rank = 0, local_world_size = 1, restart_count = 0;
  bool serve_store = true;
  std::string master_ip;  // empty: from the flags
};

class Env {
 public:
  explicit Env(const GetEnvFn& fn) : fn_(fn) {}
  const char* Get(const char* name) const {
    const char* v = fn_ ? fn_(name) : std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  }
  bool Has(const char* name) const { return Get(name) != nullptr; }
  // An integer variable; `fallback` when unset.
  absl::Status Int(const char* name, int fallback, int* out, const std::string& source) const {
    const char* v = Get(name);
    if (v == nullptr) {
      *out = fallback;
      return absl::OkStatus();
    }
    if (!absl::SimpleAtoi(v, out) || *out < 0) {
      return absl::InvalidArgumentError(absl::StrCat(name, "=", v, " (", source, ") is not a count or index"));
    }
    return absl::OkStatus();
  }
  // The leading count of a SLURM tasks-per-node list ("2(x3),1" -> 2).
  int LeadingCount(const char* name, int fallback) const {
    const char* v = Get(name);
    int n = 0;
    for (; v != nullptr && *v >= '0' && *v <= '9'; ++v) n = n * 10 + (*v - '0');
    return n > 0 ? n : fallback;
  }
  std::string MasterFromAddrPort() const {
    const char* addr = Get("MASTER_ADDR");
    const char* port = Get("MASTER_PORT");
    return addr != nullptr && port != nullptr ? absl::StrCat("tcp://", addr, ":", port) : "";
  }

 private:
  const GetEnvFn& fn_;
};

std::string PortOf(const std::string& master_ip) {
  std::string host;
  int port = 0;
  return ParseMasterIp(master_ip, &host, &port).ok() ? std::to_string(port) : "12345";
}

// The first source in the environment that describes this process; source empty when none does.
absl::StatusOr<EnvPlace> ReadEnvironment(const Env& env, const LaunchOptions& o) {
  EnvPlace p;
  if (env.Has("UER_LAUNCHED") && env.Has("RANK")) {
    p.source = "uer-cc launcher";
    UER_RETURN_IF_ERROR(env.Int("RANK", 0, &p.rank, p.source));
    UER_RETURN_IF_ERROR(env.Int("WORLD_SIZE", o.world_size, &p.world_size, p.source));
    UER_RETURN_IF_ERROR(env.Int("LOCAL_RANK", 0, &p.local_rank, p.source));
    UER_RETURN_IF_ERROR(env.Int("LOCAL_WORLD_SIZE", 1, &p.local_world_size, p.source));
    return p;  // the master is the launcher's flag, which the ranks share
  }
  if (env.Has("TORCHELASTIC_RUN_ID") && env.Has("RANK")) {
    p.source = "torchrun";
    UER_RETURN_IF_ERROR(env.Int("RANK", 0, &p.rank, p.source));
    UER_RETURN_IF_ERROR(env.Int("WORLD_SIZE", 1, &p.world_size, p.source));
    UER_RETURN_IF_ERROR(env.Int("LOCAL_RANK", 0, &p.local_rank, p.source));
    UER_RETURN_IF_ERROR(env.Int("LOCAL_WORLD_SIZE", 1, &p.local_world_size, p.source));
    UER_RETURN_IF_ERROR(env.Int("TORCHELASTIC_RESTART_COUNT", 0, &p.restart_count, p.source));
    const char* agent = env.Get("TORCHELASTIC_USE_AGENT_STORE");
    p.serve_store = !(agent != nullptr && (absl::AsciiStrToLower(agent) == "true" || std::string(agent) == "1"));
    p.master_ip = env.MasterFromAddrPort();
    if (p.master_ip.empty()) {
      return absl::InvalidArgumentError("torchrun's environment lacks MASTER_ADDR or MASTER_PORT");
    }
    if (!p.serve_store && o.master_ip_given && o.master_ip != p.master_ip) {
      UER_LOG(WARNING) << "--master_ip " << o.master_ip << " ignored: torchrun's agent serves the store at "
                       << p.master_ip;
    } else if (o.master_ip_given) {
      p.master_ip.clear();
    }
    return p;
  }
  if (env.Has("OMPI_COMM_WORLD_RANK") && env.Has("OMPI_COMM_WORLD_SIZE")) {
    p.source = "open mpi";
    UER_RETURN_IF_ERROR(env.Int("OMPI_COMM_WORLD_RANK", 0, &p.rank, p.source));
    UER_RETURN_IF_ERROR(env.Int("OMPI_COMM_WORLD_SIZE", 1, &p.world_size, p.source));
    UER_RETURN_IF_ERROR(env.Int("OMPI_COMM_WORLD_LOCAL_RANK", 0, &p.local_rank, p.source));
    UER_RETURN_IF_ERROR(env.Int("OMPI_COMM_WORLD_LOCAL_SIZE", p.world_size, &p.local_world_size, p.source));
    if (!o.master_ip_given) p.master_ip = env.MasterFromAddrPort();
    if (!o.master_ip_given && p.master_ip.empty() && p.local_world_size < p.world_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Open MPI started ", p.world_size, " ranks on several machines (OMPI_COMM_WORLD_LOCAL_SIZE=",
          p.local_world_size, "): give --master_ip tcp://HOST:PORT (rank 0's machine) or MASTER_ADDR and MASTER_PORT"));
    }
    return p;
  }
  if (env.Has("SLURM_PROCID")) {
    int world = 1;
    UER_RETURN_IF_ERROR(env.Int(env.Has("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS", 1, &world,
                                "slurm"));
    if (world > 1) {  // a batch script's own process (one task) is not a rank
      p.source = "slurm";
      p.world_size = world;
      UER_RETURN_IF_ERROR(env.Int("SLURM_PROCID", 0, &p.rank, p.source));
      UER_RETURN_IF_ERROR(env.Int("SLURM_LOCALID", 0, &p.local_rank, p.source));
      UER_RETURN_IF_ERROR(env.Int("SLURM_RESTART_COUNT", 0, &p.restart_count, p.source));
      p.local_world_size = env.LeadingCount(
          env.Has("SLURM_STEP_TASKS_PER_NODE") ? "SLURM_STEP_TASKS_PER_NODE" : "SLURM_TASKS_PER_NODE", 1);
      if (!o.master_ip_given) {
        p.master_ip = env.MasterFromAddrPort();
        const char* nodes = env.Has("SLURM_STEP_NODELIST") ? env.Get("SLURM_STEP_NODELIST") : env.Get("SLURM_JOB_NODELIST");
        if (p.master_ip.empty() && nodes != nullptr) {
          const char* port = env.Get("MASTER_PORT");
          p.master_ip = absl::StrCat("tcp://", FirstSlurmHost(nodes), ":", port != nullptr ? port : PortOf(o.master_ip));
        }
      }
      return p;
    }
  }
  if (env.Has("RANK") && (env.Has("WORLD_SIZE") || o.world_size > 1)) {
    p.source = "environment";
    UER_RETURN_IF_ERROR(env.Int("RANK", 0, &p.rank, p.source));
    UER_RETURN_IF_ERROR(env.Int("WORLD_SIZE", o.world_size, &p.world_size, p.source));
    UER_RETURN_IF_ERROR(env.Int("LOCAL_RANK", 0, &p.local_rank, p.source));
    UER_RETURN_IF_ERROR(env.Int("LOCAL_WORLD_SIZE", 1, &p.local_world_size, p.source));
    if (!o.master_ip_given) p.master_ip = env.MasterFromAddrPort();
    return p;
  }
  return p;
}

// The variable a source takes its world size from, for error messages.
const char* WorldVariable(const std::string& source) {
  if (source == "open mpi") return "OMPI_COMM_WORLD_SIZE";
  if (source == "slurm") return "SLURM_NTASKS";
  return "WORLD_SIZE";
}

// --backend, or PyTorch's choice without it: nccl where CUDA is there, gloo on CPUs.
std::string Backend(const LaunchOptions& o) {
  if (!o.backend.empty()) return o.backend;
  return torch::cuda::is_available() ? "nccl" : "gloo";
}

}  // namespace

std::string FirstSlurmHost(const std::string& nodelist) {
  std::string host;
  bool in_bracket = false, took = false;
  for (char c : nodelist) {
    if (!in_bracket && c == ',') break;  // the first host expression only
    if (c == '[') {
      in_bracket = true;
      took = false;
    } else if (c == ']') {
      in_bracket = false;
    } else if (in_bracket) {
      if (c == '-' || c == ',') took = true;  // the first range's lower bound only
      if (!took) host.push_back(c);
    } else {
      host.push_back(c);
    }
  }
  return host;
}

absl::StatusOr<Launch> ResolveLaunch(const std::vector<std::string>& argv, const LaunchOptions& o,
                                     const GetEnvFn& getenv) {
  Launch l;
  l.master_ip = o.master_ip;
  if (o.world_size < 1) return absl::InvalidArgumentError("--world_size must be >= 1");
  const Env env(getenv);
  UER_ASSIGN_OR_RETURN(EnvPlace p, ReadEnvironment(env, o));
  if (!p.source.empty()) {
    if (o.world_size_given && p.world_size != o.world_size) {
      return absl::InvalidArgumentError(absl::StrCat(WorldVariable(p.source), "=", p.world_size, " (", p.source,
                                                     ") but --world_size ", o.world_size));
    }
    if (p.rank >= p.world_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("rank ", p.rank, " (", p.source, ") is not in 0..", p.world_size - 1, " (its world size)"));
    }
    l.rank = p.rank;
    l.world_size = p.world_size;
    l.local_rank = p.local_rank;
    l.local_world_size = std::max(1, p.local_world_size);
    l.restart_count = p.restart_count;
    l.serve_store = p.serve_store;
    l.source = p.source;
    if (!p.master_ip.empty()) l.master_ip = p.master_ip;
    if (l.world_size > 1) {
      UER_LOG(INFO) << "launch: rank " << l.rank << " of " << l.world_size << " (local " << l.local_rank << " of "
                    << l.local_world_size << ") from " << l.source << "'s variables; rendezvous at " << l.master_ip
                    << (l.serve_store ? "" : ", the store served by torchrun's agent")
                    << (l.restart_count > 0 ? absl::StrCat(", attempt ", l.restart_count) : "");
    }
    return l;
  }
  l.world_size = o.world_size;
  if (o.world_size == 1) return l;
  // UER-py's distributed mode: one process per rank, started here for this machine's ranks.
  std::vector<int> ranks = o.gpu_ranks;
  if (ranks.empty()) {
    if (Backend(o) == "nccl") {
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
  UER_LOG(INFO) << "launch: " << ranks.size() << " ranks of " << o.world_size << " from the flags (--world_size"
                << (o.gpu_ranks.empty() ? "" : ", --gpu_ranks") << "); rendezvous at " << o.master_ip;
  l.launcher = true;
  l.exit_code = LaunchLocalRanks(argv, ranks, o.world_size, o.dist_timeout_s);
  return l;
}

absl::StatusOr<Placement> Place(const LaunchOptions& o, const Launch& l, const std::string& one_process_hint) {
  Placement p;
  if (l.world_size <= 1) {
    UER_ASSIGN_OR_RETURN(p.device, SingleProcessDevice(o.gpu_ranks, one_process_hint));
    return p;
  }
  DistributedOptions d;
  d.world_size = l.world_size;
  d.rank = l.rank;
  d.backend = Backend(o);
  d.timeout = std::chrono::seconds(o.dist_timeout_s);
  d.serve_store = l.serve_store;
  d.key_prefix = absl::StrCat("uer/attempt_", l.restart_count);
  d.stop_signal = o.stop_signal;
  UER_RETURN_IF_ERROR(ParseMasterIp(l.master_ip, &d.master_host, &d.master_port));
  if (d.backend == "nccl") {
    if (!torch::cuda::is_available()) {
      return absl::FailedPreconditionError("--backend nccl needs GPUs and a CUDA build (--config=cuda); use "
                                           "--backend gloo to train on CPUs");
    }
    p.device = torch::Device(torch::kCUDA, l.local_rank);
  } else if (d.backend != "gloo") {
    return absl::InvalidArgumentError(absl::StrCat("--backend ", d.backend, ": known backends are gloo and nccl"));
  }
  if (l.local_world_size > 1 && std::getenv("OMP_NUM_THREADS") == nullptr) {
    // The machine's cores shared among its ranks, unless the user chose (torchrun sets 1 itself).
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(std::max(1, cores / l.local_world_size));
  }
  UER_ASSIGN_OR_RETURN(p.dist, Distributed::Connect(d));
  return p;
}

}  // namespace uer::runtime
