// Distributed pre-training on LibTorch's c10d: a TCP store for the rendezvous and a Gloo (CPU) or
// NCCL (GPU, CUDA builds) process group for the collectives. One process per rank, started by the
// tool itself (LaunchLocalRanks) or by a cluster launcher (RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT, LOCAL_RANK in the environment).
//
//   UER_ASSIGN_OR_RETURN(auto dist, Distributed::Connect(options));
//   UER_RETURN_IF_ERROR(dist->Broadcast(params));            // the same initial weights everywhere
//   loss.backward();
//   UER_RETURN_IF_ERROR(dist->AllReduceGradients(params, &flags));   // mean gradients, summed flags
#ifndef UER_CORE_RUNTIME_DISTRIBUTED_H_
#define UER_CORE_RUNTIME_DISTRIBUTED_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "absl/status/statusor.h"

namespace uer::runtime {

struct DistributedOptions {
  int world_size = 1;
  int rank = 0;
  std::string master_host = "localhost";
  int master_port = 12345;
  std::string backend = "gloo";  // gloo | nccl
  std::chrono::seconds timeout{600};
  bool serve_store = true;  // rank 0 serves the store; false: an outside agent (torchrun's) does
  // Every key of the run lives under this prefix: a restarted attempt's keys are its own.
  std::string key_prefix = "uer/attempt_0";
  // A signal set here (SIGTERM, SIGINT) while waiting for the other ranks stops the rendezvous.
  const std::atomic<int>* stop_signal = nullptr;
};

// tcp://host:port -> host, port.
absl::Status ParseMasterIp(const std::string& master_ip, std::string* host, int* port);

class Distributed;

// Gradient averaging overlapped with the backward pass, as PyTorch's DDP does it: the parameters in
// buckets (reverse order, the first about 1 MB, the others about 25 MB), a hook on each parameter's
// gradient accumulation, and a bucket's all-reduce started as soon as autograd has accumulated all
// its gradients, while the backward pass goes on. Buckets start in their order on every rank, so
// the ranks issue the same collectives in the same order whatever their timing.
//
//   auto reducer = dist->NewReducer(params);
//   reducer->Arm();               // the coming backward pass ends an optimizer step
//   loss.backward();              // buckets leave as their gradients are done
//   UER_RETURN_IF_ERROR(reducer->Finish(&flags));   // the rest, the flags; wait; average
class GradientReducer {
 public:
  struct State;
  explicit GradientReducer(std::unique_ptr<State> state);
  ~GradientReducer();  // removes the hooks
  // The next backward pass is the last micro-step of a step: reduce during it. Unarmed backward
  // passes (accumulation micro-steps) reduce nothing.
  void Arm();
  // Starts the buckets that did not (a parameter without a gradient gets zeros), sums `flags` (one
  // float64 each) in one more collective, waits, and leaves each gradient the mean over the ranks.
  absl::Status Finish(std::vector<double>* flags);

 private:
  std::unique_ptr<State> s_;
};

class Distributed {
 public:
  // Joins the rendezvous (rank 0 serves the store). A timeout says how many ranks joined and which
  // are missing; then builds the process group.
  static absl::StatusOr<std::unique_ptr<Distributed>> Connect(const DistributedOptions& options);
  ~Distributed();

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }

  // Copies rank 0's tensors to every rank.
  absl::Status Broadcast(const std::vector<torch::Tensor>& tensors);
  // Averages the gradients of `params` over the ranks after the backward pass, in GradientReducer's
  // buckets (their all-reduces run concurrently), and sums `flags` in one more collective.
  absl::Status AllReduceGradients(const std::vector<torch::Tensor>& params, std::vector<double>* flags);
  // A GradientReducer for these parameters; without `hooks`, its buckets all start in Finish (what
  // AllReduceGradients does).
  std::unique_ptr<GradientReducer> NewReducer(const std::vector<torch::Tensor>& params, bool hooks = true);
  // Sums `values` over the ranks (in float64, on `device`: the process group's).
  absl::Status AllReduceSum(std::vector<double>* values, torch::Device device);
  absl::Status Barrier();

 private:
  friend class GradientReducer;
  struct Impl;
  explicit Distributed(const DistributedOptions& options);
  // A failed collective: finds out (through the store) which ranks are gone and says so.
  absl::Status Lost(const std::string& what, const std::string& error);
  DistributedOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Starts one child process per rank in `ranks` (this same program with `argv`, and RANK,
// LOCAL_RANK, WORLD_SIZE in its environment), forwards SIGTERM/SIGINT to them and waits. When one
// fails, the others are stopped (SIGTERM, then SIGKILL once --dist_timeout and 5 s have passed) and
// the rank that failed is named. Returns the exit code to use.
int LaunchLocalRanks(const std::vector<std::string>& argv, const std::vector<int>& ranks, int world_size,
                     int dist_timeout_s = 600);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_DISTRIBUTED_H_
