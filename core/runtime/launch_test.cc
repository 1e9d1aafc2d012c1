#include "core/runtime/launch.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

namespace uer::runtime {
namespace {

// A fake environment: only the variables a case sets exist.
class FakeEnv {
 public:
  FakeEnv(std::initializer_list<std::pair<const std::string, std::string>> vars) : vars_(vars) {}
  GetEnvFn Fn() const {
    return [this](const char* name) -> const char* {
      auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    };
  }

 private:
  std::map<std::string, std::string> vars_;
};

LaunchOptions Gloo(int world_size = 1, bool given = false) {
  LaunchOptions o;
  o.world_size = world_size;
  o.world_size_given = given;
  o.backend = "gloo";
  return o;
}

TEST(FirstSlurmHostTest, ExpandsTheFirstHostOnly) {
  EXPECT_EQ(FirstSlurmHost("node17"), "node17");
  EXPECT_EQ(FirstSlurmHost("gpu[007-010,12],cpu1"), "gpu007");
  EXPECT_EQ(FirstSlurmHost("a,b"), "a");
  EXPECT_EQ(FirstSlurmHost("rack1-n[3,5-7]"), "rack1-n3");
  EXPECT_EQ(FirstSlurmHost("r[1-2]n[08-09]"), "r1n08");
  EXPECT_EQ(FirstSlurmHost("c[2]-ib"), "c2-ib");
}

TEST(ResolveLaunchTest, AloneWithoutFlagsOrEnvironment) {
  FakeEnv env({});
  auto l = ResolveLaunch({"tool"}, Gloo(), env.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_FALSE(l->launcher);
  EXPECT_EQ(l->world_size, 1);
  EXPECT_EQ(l->source, "flags");
}

TEST(ResolveLaunchTest, TorchrunWithTheAgentStore) {
  FakeEnv env({{"TORCHELASTIC_RUN_ID", "none"},
               {"RANK", "3"},
               {"LOCAL_RANK", "1"},
               {"WORLD_SIZE", "4"},
               {"LOCAL_WORLD_SIZE", "2"},
               {"MASTER_ADDR", "10.0.0.5"},
               {"MASTER_PORT", "29500"},
               {"TORCHELASTIC_RESTART_COUNT", "2"},
               {"TORCHELASTIC_USE_AGENT_STORE", "True"},
               // SLURM's variables of the allocation torchrun runs in: torchrun's win.
               {"SLURM_PROCID", "1"},
               {"SLURM_NTASKS", "2"}});
  auto l = ResolveLaunch({"tool"}, Gloo(), env.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_FALSE(l->launcher);
  EXPECT_EQ(l->source, "torchrun");
  EXPECT_EQ(l->rank, 3);
  EXPECT_EQ(l->world_size, 4);  // --world_size not given: torchrun's
  EXPECT_EQ(l->local_rank, 1);
  EXPECT_EQ(l->local_world_size, 2);
  EXPECT_EQ(l->master_ip, "tcp://10.0.0.5:29500");
  EXPECT_FALSE(l->serve_store);  // rank 3 and rank 0 alike join the agent's store
  EXPECT_EQ(l->restart_count, 2);
}

TEST(ResolveLaunchTest, TorchrunWithoutTheAgentStoreRankZeroServes) {
  FakeEnv env({{"TORCHELASTIC_RUN_ID", "job"}, {"RANK", "0"}, {"LOCAL_RANK", "0"}, {"WORLD_SIZE", "2"},
               {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29501"}});
  auto l = ResolveLaunch({"tool"}, Gloo(2, true), env.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE(l->serve_store);
  EXPECT_EQ(l->restart_count, 0);
  EXPECT_EQ(l->master_ip, "tcp://127.0.0.1:29501");
}

TEST(ResolveLaunchTest, AWorldSizeFlagThatDisagreesIsNamed) {
  FakeEnv env({{"TORCHELASTIC_RUN_ID", "job"}, {"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"},
               {"MASTER_PORT", "1"}});
  auto l = ResolveLaunch({"tool"}, Gloo(4, true), env.Fn());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), "WORLD_SIZE=2 (torchrun) but --world_size 4");
}

TEST(ResolveLaunchTest, SlurmTakesTheFirstHostOfTheNodeList) {
  FakeEnv env({{"SLURM_PROCID", "5"},
               {"SLURM_NTASKS", "8"},
               {"SLURM_LOCALID", "1"},
               {"SLURM_TASKS_PER_NODE", "4(x2)"},
               {"SLURM_JOB_NODELIST", "gpu[011-012]"},
               {"SLURM_RESTART_COUNT", "1"}});
  auto l = ResolveLaunch({"tool"}, Gloo(), env.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->source, "slurm");
  EXPECT_EQ(l->rank, 5);
  EXPECT_EQ(l->world_size, 8);
  EXPECT_EQ(l->local_rank, 1);
  EXPECT_EQ(l->local_world_size, 4);
  EXPECT_EQ(l->master_ip, "tcp://gpu011:12345");  // the port of --master_ip's default
  EXPECT_TRUE(l->serve_store);
  EXPECT_EQ(l->restart_count, 1);
}

TEST(ResolveLaunchTest, SlurmStepVariablesAndMasterFlagWin) {
  FakeEnv env({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "16"}, {"SLURM_STEP_NUM_TASKS", "2"},
               {"SLURM_STEP_NODELIST", "b1,b2"}, {"SLURM_JOB_NODELIST", "a[1-8]"}, {"MASTER_PORT", "2222"}});
  auto l = ResolveLaunch({"tool"}, Gloo(), env.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->world_size, 2);
  EXPECT_EQ(l->master_ip, "tcp://b1:2222");
  LaunchOptions o = Gloo();
  o.master_ip = "tcp://head:7000";
  o.master_ip_given = true;
  l = ResolveLaunch({"tool"}, o, env.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->master_ip, "tcp://head:7000");
}

TEST(ResolveLaunchTest, ABatchScriptsOwnSlurmTaskIsNotARank) {
  // sbatch's script runs as task 0 of a one-task step: the tool runs alone.
  FakeEnv env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"SLURM_JOB_NODELIST", "n1"}});
  auto l = ResolveLaunch({"tool"}, Gloo(), env.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->world_size, 1);
  EXPECT_EQ(l->source, "flags");
}

TEST(ResolveLaunchTest, OpenMpiOnOneMachineAndOnSeveral) {
  FakeEnv one({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
               {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
               // mpirun inside a SLURM allocation: Open MPI's variables win.
               {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}});
  auto l = ResolveLaunch({"tool"}, Gloo(), one.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->source, "open mpi");
  EXPECT_EQ(l->rank, 1);
  EXPECT_EQ(l->world_size, 2);
  EXPECT_EQ(l->local_rank, 1);
  EXPECT_EQ(l->master_ip, "tcp://localhost:12345");
  FakeEnv several({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  l = ResolveLaunch({"tool"}, Gloo(), several.Fn());
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("give --master_ip"), std::string::npos) << l.status();
}

TEST(ResolveLaunchTest, PlainVariablesAndTheirErrors) {
  FakeEnv env({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "4000"}});
  auto l = ResolveLaunch({"tool"}, Gloo(), env.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->source, "environment");
  EXPECT_EQ(l->rank, 1);
  EXPECT_EQ(l->master_ip, "tcp://127.0.0.1:4000");
  FakeEnv outside({{"RANK", "2"}, {"WORLD_SIZE", "2"}});
  l = ResolveLaunch({"tool"}, Gloo(), outside.Fn());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), "rank 2 (environment) is not in 0..1 (its world size)");
  FakeEnv junk({{"RANK", "one"}, {"WORLD_SIZE", "2"}});
  l = ResolveLaunch({"tool"}, Gloo(), junk.Fn());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), "RANK=one (environment) is not a count or index");
}

TEST(ResolveLaunchTest, UerLaunchedRanksIgnoreTheClusterVariables) {
  // A rank started by uer-cc's own launcher inside a SLURM job: its RANK, not SLURM_PROCID.
  FakeEnv env({{"UER_LAUNCHED", "1"}, {"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "1"},
               {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}});
  auto l = ResolveLaunch({"tool"}, Gloo(2, true), env.Fn());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->source, "uer-cc launcher");
  EXPECT_EQ(l->rank, 1);
  EXPECT_EQ(l->master_ip, "tcp://localhost:12345");
}

}  // namespace
}  // namespace uer::runtime
