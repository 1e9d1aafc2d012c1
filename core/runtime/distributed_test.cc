// Distributed's collectives with two ranks as two processes (this one and a fork), over a real Gloo
// process group on localhost (not two threads: LibTorch's c10d flight recorder is one per process
// and two process groups recording at once in one process corrupt it): broadcast, gradient averaging (with and without the backward hooks,
// with accumulation), flag and value sums, and the rendezvous errors that name who is missing.
#include "core/runtime/distributed.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include <torch/torch.h>

#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

// A port no one listens on now.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

DistributedOptions Rank(int rank, int port) {
  DistributedOptions o;
  o.world_size = 2;
  o.rank = rank;
  o.master_host = "127.0.0.1";
  o.master_port = port;
  o.timeout = std::chrono::seconds(30);
  return o;
}

// Runs `body(rank, dist)` on two connected ranks at once: rank 1 in a child process, whose failed
// expectations (printed above) fail the test through its exit status.
void OnTwoRanks(const std::function<void(int, Distributed&)>& body) {
  const int port = FreePort();
  auto run = [&](int r) {
    absl::StatusOr<std::unique_ptr<Distributed>> d = Distributed::Connect(Rank(r, port));
    ASSERT_OK(d);
    EXPECT_EQ((*d)->rank(), r);
    EXPECT_EQ((*d)->world_size(), 2);
    body(r, **d);
    EXPECT_OK((*d)->Barrier());
  };
  std::fflush(nullptr);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    run(1);
    std::fflush(nullptr);
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  run(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "rank 1 (a child process) failed: see its lines above";
}

TEST(DistributedTest, BroadcastCopiesRankZerosTensors) {
  OnTwoRanks([](int rank, Distributed& d) {
    torch::Tensor t = torch::full({3}, static_cast<float>(rank + 5));
    ASSERT_OK(d.Broadcast({t}));
    EXPECT_TRUE(torch::equal(t, torch::full({3}, 5.0f))) << "rank " << rank;
  });
}

// Rank r's gradient is r + 1 everywhere: the mean is 1.5 on both; the flags are summed.
TEST(DistributedTest, GradientsAreAveragedAndFlagsSummed) {
  OnTwoRanks([](int rank, Distributed& d) {
    torch::Tensor a = torch::zeros({4}, torch::requires_grad()), b = torch::zeros({2, 2}, torch::requires_grad());
    ((a.sum() + b.sum()) * static_cast<float>(rank + 1)).backward();
    std::vector<double> flags = {1.0, static_cast<double>(rank)};
    ASSERT_OK(d.AllReduceGradients({a, b}, &flags));
    EXPECT_TRUE(torch::allclose(a.grad(), torch::full({4}, 1.5f)));
    EXPECT_TRUE(torch::allclose(b.grad(), torch::full({2, 2}, 1.5f)));
    EXPECT_EQ(flags, std::vector<double>({2.0, 1.0}));
  });
}

// With the hooks, unarmed backward passes (accumulation) reduce nothing; the armed one reduces the
// accumulated sums, and a parameter without a gradient counts as zeros.
TEST(DistributedTest, TheReducerAveragesAccumulatedGradientsWhenArmed) {
  OnTwoRanks([](int rank, Distributed& d) {
    torch::Tensor w = torch::ones({8}, torch::requires_grad()), unused = torch::zeros({2}, torch::requires_grad());
    std::unique_ptr<GradientReducer> reducer = d.NewReducer({w, unused});
    (w.sum() * static_cast<float>(rank)).backward();  // micro-step 1: rank 0 adds 0, rank 1 adds 1
    EXPECT_TRUE(torch::equal(w.grad(), torch::full({8}, static_cast<float>(rank))));
    reducer->Arm();
    (w.sum() * 2.0f).backward();  // micro-step 2 ends the step
    std::vector<double> flags = {static_cast<double>(rank + 1)};
    ASSERT_OK(reducer->Finish(&flags));
    EXPECT_TRUE(torch::allclose(w.grad(), torch::full({8}, 2.5f))) << w.grad();  // (2 + 3) / 2
    ASSERT_TRUE(unused.grad().defined());
    EXPECT_TRUE(torch::equal(unused.grad(), torch::zeros({2})));
    EXPECT_EQ(flags, std::vector<double>({3.0}));
  });
}

TEST(DistributedTest, ValuesAreSummedInDoublePrecision) {
  OnTwoRanks([](int rank, Distributed& d) {
    std::vector<double> v = {0.1 * (rank + 1), 1e15, static_cast<double>(rank)};
    ASSERT_OK(d.AllReduceSum(&v, torch::kCPU));
    EXPECT_DOUBLE_EQ(v[0], 0.1 + 0.2);
    EXPECT_DOUBLE_EQ(v[1], 2e15);
    EXPECT_DOUBLE_EQ(v[2], 1.0);
  });
}

TEST(DistributedTest, ARankAloneTimesOutNamingTheMissingRank) {
  DistributedOptions o = Rank(0, FreePort());
  o.timeout = std::chrono::seconds(2);
  EXPECT_THAT(Distributed::Connect(o).status(), StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("missing: 1")));
  o.rank = 2;
  EXPECT_THAT(Distributed::Connect(o).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0..1")));
}

TEST(DistributedTest, MasterAddressesAreParsed) {
  std::string host;
  int port = 0;
  ASSERT_OK(ParseMasterIp("tcp://10.0.0.2:29500", &host, &port));
  EXPECT_EQ(host, "10.0.0.2");
  EXPECT_EQ(port, 29500);
  EXPECT_THAT(ParseMasterIp("tcp://host", &host, &port),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tcp://HOST:PORT")));
}

}  // namespace
}  // namespace uer::runtime
