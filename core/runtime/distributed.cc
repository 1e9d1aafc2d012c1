#include "core/runtime/distributed.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef UER_CUDA
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"

namespace uer::runtime {

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> pg;
};

namespace {

// An exception's message in one line, without the C++ backtrace that LibTorch's c10::Error carries.
std::string Brief(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error != nullptr ? c10_error->what_without_backtrace() : e.what();
  if (const size_t nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  return text;
}

std::string JoinedKey(int rank) { return absl::StrCat("joined/", rank); }
std::string FailedKey(int rank) { return absl::StrCat("failed/", rank); }

// The local address on the route to the master (what the other ranks can reach this one at).
std::string LocalAddressToward(const std::string& host, int port) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || res == nullptr) return "";
  std::string out;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    char buf[INET_ADDRSTRLEN];
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        inet_ntop(AF_INET, &local.sin_addr, buf, sizeof(buf)) != nullptr) {
      out = buf;
    }
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(res);
  return out;
}

}  // namespace

absl::Status ParseMasterIp(const std::string& master_ip, std::string* host, int* port) {
  std::string s = master_ip;
  if (s.rfind("tcp://", 0) == 0) s = s.substr(6);
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(s.substr(colon + 1), port) || *port <= 0 ||
      *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--master_ip must be tcp://HOST:PORT, got \"", master_ip, "\""));
  }
  *host = s.substr(0, colon);
  return absl::OkStatus();
}

Distributed::Distributed(const DistributedOptions& options) : options_(options), impl_(std::make_unique<Impl>()) {}
Distributed::~Distributed() = default;

absl::StatusOr<std::unique_ptr<Distributed>> Distributed::Connect(const DistributedOptions& o) {
  if (o.world_size < 2 || o.rank < 0 || o.rank >= o.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", o.rank, " is not in 0..", o.world_size - 1));
  }
  std::unique_ptr<Distributed> d(new Distributed(o));
  const std::string where = absl::StrCat(o.master_host, ":", o.master_port);
  // A name that does not resolve is said now: LibTorch's store would retry it until the timeout,
  // logging backtraces.
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (const int rc = getaddrinfo(o.master_host.c_str(), nullptr, &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("rank ", o.rank, ": the master's address ", o.master_host,
                                               " (--master_ip or the launcher's MASTER_ADDR) does not resolve: ",
                                               gai_strerror(rc)));
  }
  freeaddrinfo(found);
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(o.master_port);
  so.isServer = o.rank == 0 && o.serve_store;
  so.waitWorkers = false;
  so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
  try {
    d->impl_->store = c10::make_intrusive<c10d::PrefixStore>(
        o.key_prefix, c10::make_intrusive<c10d::TCPStore>(o.master_host, so));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "rank ", o.rank, ": ",
        so.isServer ? "cannot serve the rendezvous store at " + where
                    : absl::StrCat("cannot reach the rendezvous store at ", where, " (",
                                   o.serve_store ? "rank 0 serves it" : "torchrun's agent serves it", ") within ",
                                   o.timeout.count(), " s"),
        ": ", Brief(e)));
  }
  // Our own join barrier, so that a timeout can say who is missing.
  auto& store = d->impl_->store;
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  std::vector<int> joined, missing;
  try {
    store->set(JoinedKey(o.rank), std::vector<uint8_t>{1});
    while (true) {
      joined.clear();
      missing.clear();
      for (int r = 0; r < o.world_size; ++r) (store->check({JoinedKey(r)}) ? joined : missing).push_back(r);
      if (missing.empty()) break;
      if (o.stop_signal != nullptr && o.stop_signal->load() != 0) {
        return absl::CancelledError(absl::StrCat("rank ", o.rank, ": stopped by signal ", o.stop_signal->load(),
                                                 " while waiting for rank(s) ", absl::StrJoin(missing, ", ")));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "rank ", o.rank, ": the rendezvous at ", where, " timed out after ", o.timeout.count(), " s: ",
            joined.size(), " of ", o.world_size, " ranks joined (", absl::StrJoin(joined, ", "), "); missing: ",
            absl::StrJoin(missing, ", ")));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", o.rank, ": the rendezvous store at ", where, " failed: ", Brief(e)));
  }
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("pg", store);
  try {
    if (o.backend == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout));
      std::string addr = LocalAddressToward(o.master_host, o.master_port);
      opts->devices.push_back(addr.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                           : c10d::ProcessGroupGloo::createDeviceForHostname(addr));
      d->impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, o.rank, o.world_size, opts);
    } else if (o.backend == "nccl") {
#ifdef UER_CUDA
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
      d->impl_->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, o.rank, o.world_size, opts);
#else
      return absl::FailedPreconditionError(
          "--backend nccl needs a CUDA build (bazel build --config=cuda) and GPUs; use --backend gloo on CPUs");
#endif
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--backend must be nccl or gloo, got \"", o.backend, "\""));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", o.rank, ": cannot build the ", o.backend, " process group: ", Brief(e)));
  }
  UER_LOG(INFO) << "rank " << o.rank << " of " << o.world_size << " joined at " << where << " (" << o.backend << ")";
  return d;
}

absl::Status Distributed::Lost(const std::string& what, const std::string& error) {
  // Every surviving rank leaves a mark; the ranks without one after a grace period are gone.
  std::vector<int> lost;
  try {
    impl_->store->set(FailedKey(options_.rank), std::vector<uint8_t>{1});
    std::this_thread::sleep_for(std::chrono::seconds(3));
    for (int r = 0; r < options_.world_size; ++r) {
      if (r != options_.rank && !impl_->store->check({FailedKey(r)})) lost.push_back(r);
    }
  } catch (const std::exception&) {
    return absl::AbortedError(absl::StrCat("rank ", options_.rank, ": lost ",
                                           options_.serve_store ? "rank 0 (it serves the rendezvous store)"
                                                                : "torchrun's agent (it serves the rendezvous store)",
                                           " during ", what, ": ", error));
  }
  return absl::AbortedError(absl::StrCat("rank ", options_.rank, ": lost rank",
                                         lost.size() == 1 ? " " : "s ", lost.empty() ? "?" : absl::StrJoin(lost, ", "),
                                         " during ", what, "; stopping. (", error, ")"));
}

absl::Status Distributed::Broadcast(const std::vector<torch::Tensor>& tensors) {
  try {
    for (const torch::Tensor& t : tensors) {
      std::vector<at::Tensor> v{t};
      c10d::BroadcastOptions bo;
      bo.rootRank = 0;
      impl_->pg->broadcast(v, bo)->wait();
    }
  } catch (const std::exception& e) {
    return Lost("the broadcast of the initial weights", Brief(e));
  }
  return absl::OkStatus();
}

absl::Status Distributed::AllReduceGradients(const std::vector<torch::Tensor>& params, std::vector<double>* flags) {
  // The overlapped reduction's buckets and collectives, all started after the backward pass.
  std::unique_ptr<GradientReducer> reducer = NewReducer(params, /*hooks=*/false);
  reducer->Arm();
  return reducer->Finish(flags);
}

absl::Status Distributed::AllReduceSum(std::vector<double>* values, torch::Device device) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> v{torch::tensor(*values, torch::kDouble).to(device)};
  try {
    impl_->pg->allreduce(v)->wait();
  } catch (const std::exception& e) {
    return Lost("the loss-count all-reduce", Brief(e));
  }
  torch::Tensor sums = v[0].to(torch::kCPU);
  for (size_t i = 0; i < values->size(); ++i) (*values)[i] = sums[static_cast<int64_t>(i)].item<double>();
  return absl::OkStatus();
}

absl::Status Distributed::Barrier() {
  try {
    impl_->pg->barrier()->wait();
  } catch (const std::exception& e) {
    return Lost("a barrier", Brief(e));
  }
  return absl::OkStatus();
}

// ---- Overlapped reduction ----

struct GradientReducer::State {
  Distributed* dist = nullptr;
  c10::intrusive_ptr<c10d::Backend> pg;
  std::vector<torch::Tensor> params;
  std::vector<int> bucket_of;             // parameter -> its bucket
  std::vector<std::vector<int>> buckets;  // bucket -> its parameters
  std::vector<int> pending;               // gradients a bucket still waits for
  std::vector<torch::Tensor> flat;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  size_t next = 0;  // the first bucket not started
  bool hooks = true;  // started by the hooks during backward (else all in Finish)
  bool armed = false;
  bool reported = false;
  std::string error;
  std::mutex mu;

  void Launch(size_t b) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int i : buckets[b]) {
      torch::Tensor& p = params[i];
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);  // unused here: zeros, buckets line up
      parts.push_back(p.grad().reshape({-1}));
    }
    flat[b] = torch::cat(parts);
    try {
      std::vector<at::Tensor> v{flat[b]};
      works[b] = pg->allreduce(v);
    } catch (const std::exception& e) {
      if (error.empty()) error = Brief(e);
    }
  }
  // Autograd has accumulated parameter i's gradient.
  void Ready(int i) {
    std::lock_guard<std::mutex> lock(mu);
    if (!armed) return;
    --pending[bucket_of[i]];
    while (next < buckets.size() && pending[next] == 0) Launch(next++);
  }
};

namespace {
class ReadyHook : public torch::autograd::PostAccumulateGradHook {
 public:
  ReadyHook(GradientReducer::State* s, int i) : s_(s), i_(i) {}
  void operator()(const torch::autograd::Variable&) override { s_->Ready(i_); }

 private:
  GradientReducer::State* s_;
  int i_;
};
}  // namespace

GradientReducer::GradientReducer(std::unique_ptr<State> state) : s_(std::move(state)) {
  if (!s_->hooks) return;
  for (size_t i = 0; i < s_->params.size(); ++i) {
    torch::autograd::impl::set_post_acc_grad_hooks(s_->params[i],
                                                   std::make_unique<ReadyHook>(s_.get(), static_cast<int>(i)));
  }
}

GradientReducer::~GradientReducer() {
  if (!s_->hooks) return;
  for (const torch::Tensor& p : s_->params) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
}

void GradientReducer::Arm() {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->armed = true;
  s_->next = 0;
  s_->error.clear();
  for (size_t b = 0; b < s_->buckets.size(); ++b) s_->pending[b] = static_cast<int>(s_->buckets[b].size());
  s_->flat.assign(s_->buckets.size(), torch::Tensor());
  s_->works.assign(s_->buckets.size(), nullptr);
}

absl::Status GradientReducer::Finish(std::vector<double>* flags) {
  std::lock_guard<std::mutex> lock(s_->mu);
  State& s = *s_;
  if (!s.armed) return absl::InternalError("GradientReducer::Finish without Arm");
  s.armed = false;
  if (s.hooks && !s.reported && s.dist->rank() == 0) {
    UER_LOG(INFO) << "gradients averaged during the backward pass: " << s.next << " of " << s.buckets.size()
                  << " buckets started before it ended";
    s.reported = true;
  }
  while (s.next < s.buckets.size()) s.Launch(s.next++);
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> fv;
  c10::intrusive_ptr<c10d::Work> flag_work;
  try {
    if (s.error.empty() && flags != nullptr && !flags->empty()) {
      fv.push_back(torch::tensor(*flags, torch::kDouble).to(s.params.empty() ? torch::kCPU : s.params[0].device()));
      flag_work = s.pg->allreduce(fv);
    }
    for (auto& w : s.works) {
      if (w) w->wait();
    }
    if (flag_work) flag_work->wait();
  } catch (const std::exception& e) {
    if (s.error.empty()) s.error = Brief(e);
  }
  if (!s.error.empty()) return s.dist->Lost("the gradient all-reduce", s.error);
  const double inv = 1.0 / s.dist->world_size();
  for (size_t b = 0; b < s.buckets.size(); ++b) {
    int64_t off = 0;
    for (int i : s.buckets[b]) {
      torch::Tensor g = s.params[i].grad();
      g.copy_(s.flat[b].narrow(0, off, g.numel()).view_as(g)).mul_(inv);
      off += g.numel();
    }
  }
  if (flag_work) {
    torch::Tensor f = fv[0].to(torch::kCPU);
    for (size_t i = 0; i < flags->size(); ++i) (*flags)[i] = f[static_cast<int64_t>(i)].item<double>();
  }
  s.flat.clear();
  s.works.clear();
  return absl::OkStatus();
}

std::unique_ptr<GradientReducer> Distributed::NewReducer(const std::vector<torch::Tensor>& params, bool hooks) {
  constexpr int64_t kFirstBucketBytes = 1 << 20, kBucketBytes = 25 << 20;  // DDP's sizes
  auto s = std::make_unique<GradientReducer::State>();
  s->dist = this;
  s->hooks = hooks;
  s->pg = impl_->pg;
  s->params = params;
  s->bucket_of.assign(params.size(), 0);
  int64_t bytes = 0;
  for (int i = static_cast<int>(params.size()) - 1; i >= 0; --i) {
    const int64_t n = params[i].numel() * params[i].element_size();
    const int64_t cap = s->buckets.size() <= 1 ? kFirstBucketBytes : kBucketBytes;
    if (s->buckets.empty() || (bytes > 0 && bytes + n > cap)) {
      s->buckets.emplace_back();
      bytes = 0;
    }
    s->buckets.back().push_back(i);
    s->bucket_of[i] = static_cast<int>(s->buckets.size()) - 1;
    bytes += n;
  }
  s->pending.assign(s->buckets.size(), 0);
  return std::make_unique<GradientReducer>(std::move(s));
}

// ---- Launcher ----

namespace {
std::atomic<int> g_forward_signal{0};
void RecordSignal(int sig) { g_forward_signal.store(sig); }
}  // namespace

int LaunchLocalRanks(const std::vector<std::string>& argv, const std::vector<int>& ranks, int world_size,
                     int dist_timeout_s) {
  std::map<pid_t, int> children;  // pid -> rank
  for (size_t i = 0; i < ranks.size(); ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      UER_LOG(ERROR) << "fork failed: " << std::strerror(errno);
      for (auto& [p, r] : children) kill(p, SIGTERM);
      return 1;
    }
    if (pid == 0) {
      setenv("RANK", std::to_string(ranks[i]).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(i).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(world_size).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(ranks.size()).c_str(), 1);
      setenv("UER_LAUNCHED", "1", 1);
      // The machine's cores shared among its ranks, unless the user chose.
      const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      setenv("OMP_NUM_THREADS", std::to_string(std::max<size_t>(1, cores / ranks.size())).c_str(), 0);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv("/proc/self/exe", args.data());
      std::fprintf(stderr, "cannot start rank %d: %s\n", ranks[i], std::strerror(errno));
      _exit(127);
    }
    children[pid] = ranks[i];
  }
  UER_LOG(INFO) << "started " << ranks.size() << " ranks (" << absl::StrJoin(ranks, ", ") << ") of " << world_size;
  signal(SIGTERM, RecordSignal);
  signal(SIGINT, RecordSignal);
  int exit_code = 0, forwarded = 0;
  bool stopping = false;
  while (!children.empty()) {
    if (int sig = g_forward_signal.exchange(0); sig != 0) {
      forwarded = sig;
      for (auto& [p, r] : children) kill(p, sig);  // each rank saves (rank 0) and stops at the same step
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = children.find(pid);
    if (it == children.end()) continue;
    const int rank = it->second;
    children.erase(it);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok) continue;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (exit_code == 0) exit_code = code;
    if (forwarded != 0 && code == 128 + forwarded) continue;  // stopped as asked
    if (!stopping) {
      UER_LOG(ERROR) << "rank " << rank << " (pid " << pid << ") "
                     << (WIFEXITED(status) ? absl::StrCat("exited with code ", WEXITSTATUS(status))
                                           : absl::StrCat("was killed by signal ", WTERMSIG(status)))
                     << (children.empty() ? "" : "; stopping the other ranks");
      stopping = true;
      for (auto& [p, r] : children) kill(p, SIGTERM);
      // Ranks blocked in a collective leave when their peer's socket closes or their collective
      // times out (--dist_timeout, naming the lost rank); after that, make sure they do.
      std::thread([pids = children, dist_timeout_s]() {
        std::this_thread::sleep_for(std::chrono::seconds(dist_timeout_s + 5));
        for (auto& [p, r] : pids) kill(p, SIGKILL);
      }).detach();
    }
  }
  return exit_code;
}

}  // namespace uer::runtime
