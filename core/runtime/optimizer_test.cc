#include "core/runtime/optimizer.h"

#include <fstream>
#include <limits>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/test_util.h"

namespace uer::runtime {
namespace {

// Parameters with the given gradients.
std::vector<torch::Tensor> WithGrads(const std::vector<torch::Tensor>& grads) {
  std::vector<torch::Tensor> params;
  for (const torch::Tensor& g : grads) {
    torch::Tensor p = torch::zeros_like(g).requires_grad_(true);
    if (g.numel() > 0) p.mutable_grad() = g.clone();
    params.push_back(p);
  }
  return params;
}

TEST(LossScalerTest, UnscalesExactlyAndSaysFinite) {
  LossScaler scaler({.init_scale = 1024});
  torch::Tensor a = torch::tensor({1024.0f, -2048.0f, 3.0f}), b = torch::tensor({512.0, 0.5}, torch::kDouble);
  std::vector<torch::Tensor> params = WithGrads({a, b});
  params.push_back(torch::zeros({2}).requires_grad_(true));  // no gradient: left alone
  EXPECT_TRUE(scaler.Unscale(params));
  EXPECT_TRUE(torch::equal(params[0].grad(), a / 1024));
  EXPECT_TRUE(torch::equal(params[1].grad(), b / 1024));
  EXPECT_FALSE(params[2].grad().defined());
  scaler.Update(true);
  EXPECT_EQ(scaler.scale(), 1024);
  EXPECT_EQ(scaler.skipped_steps(), 0);
}

TEST(LossScalerTest, AnInfOrNanSkipsAndBacksOff) {
  for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    LossScaler scaler({.init_scale = 65536});
    std::vector<torch::Tensor> params = WithGrads({torch::ones({4}), torch::tensor({1.0f, bad})});
    EXPECT_FALSE(scaler.Unscale(params)) << bad;
    scaler.Update(false);
    EXPECT_EQ(scaler.scale(), 32768);
    EXPECT_EQ(scaler.skipped_steps(), 1);
  }
}

TEST(LossScalerTest, GrowsAfterAnIntervalOfGoodSteps) {
  LossScaler scaler({.init_scale = 8, .growth_interval = 3});
  scaler.Update(true);
  scaler.Update(true);
  EXPECT_EQ(scaler.scale(), 8);
  scaler.Update(true);
  EXPECT_EQ(scaler.scale(), 16);
  scaler.Update(true);
  scaler.Update(true);
  scaler.Update(false);  // the run of good steps starts again
  EXPECT_EQ(scaler.scale(), 8);
  scaler.Update(true);
  scaler.Update(true);
  EXPECT_EQ(scaler.scale(), 8);
  scaler.Update(true);
  EXPECT_EQ(scaler.scale(), 16);
}

TEST(LossScalerTest, StateRoundTrips) {
  LossScaler a({.init_scale = 64, .growth_interval = 5});
  a.Update(false);
  a.Update(true);
  a.Update(true);
  StateDict state;
  for (auto& [k, v] : a.State()) state.emplace_back("uer." + k, v);
  LossScaler b({.init_scale = 64, .growth_interval = 5});
  ASSERT_TRUE(b.LoadState(state, "uer.").ok());
  EXPECT_EQ(b.scale(), 32);
  EXPECT_EQ(b.skipped_steps(), 1);
  // The two go on alike: three more good steps grow both.
  for (LossScaler* s : {&a, &b}) {
    for (int i = 0; i < 3; ++i) s->Update(true);
  }
  EXPECT_EQ(a.scale(), 64);
  EXPECT_EQ(b.scale(), 64);
  // A checkpoint without the keys (fp32, bf16) leaves the scaler as it is; a bad scale is refused.
  LossScaler c;
  ASSERT_TRUE(c.LoadState({{"step", torch::tensor(3)}}, "uer.").ok());
  EXPECT_EQ(c.scale(), 65536);
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
    absl::Status st = c.LoadState({{"uer.loss_scale", torch::tensor(bad, torch::kDouble)}}, "uer.");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// UER-py HEAD's schedulers: the learning rate of every step equals what HEAD's own code gives
// (testing/head/schedules.json, made by testing/head/make_schedules.py from its optimizers.py).
TEST(SchedulerTest, EveryStepEqualsUerPyHeads) {
  std::ifstream in(::uer::testing::RunfilePath("testing/head/schedules.json"));
  ASSERT_TRUE(in) << "testing/head/schedules.json";
  const nlohmann::json golden = nlohmann::json::parse(in);
  int64_t steps = 0;
  std::set<std::string> names;
  for (const auto& c : golden.at("cases")) {
    OptimizerOptions o;
    o.scheduler = c.at("scheduler").get<std::string>();
    o.total_steps = c.at("total_steps").get<int64_t>();
    o.warmup = c.at("warmup").get<double>();
    o.lr_decay = c.at("lr_decay").get<double>();
    o.learning_rate = c.at("learning_rate").get<double>();
    names.insert(o.scheduler);
    if (c.contains("error")) {  // HEAD divides by zero: refused here, naming the flag
      EXPECT_FALSE(ValidateOptimizerOptions(o).ok()) << o.scheduler << " warmup " << o.warmup;
      continue;
    }
    ASSERT_TRUE(ValidateOptimizerOptions(o).ok()) << ValidateOptimizerOptions(o);
    const auto& rates = c.at("rates");
    for (size_t k = 0; k < rates.size(); ++k, ++steps) {
      EXPECT_DOUBLE_EQ(o.learning_rate * SchedulerFactor(o.scheduler, static_cast<int64_t>(k), o), rates[k].get<double>())
          << o.scheduler << " total " << o.total_steps << " warmup " << o.warmup << " step " << k;
    }
  }
  EXPECT_EQ(names.size(), SchedulerNames().size());
  EXPECT_GT(steps, 1000);
}

// BertAdam steps at the scheduler's rate; unknown names and impossible settings are refused.
TEST(SchedulerTest, TheOptimizerFollowsTheScheduler) {
  torch::OrderedDict<std::string, torch::Tensor> params;
  params.insert("w", torch::zeros({2}).requires_grad_(true));
  OptimizerOptions o;
  o.scheduler = "cosine";
  o.total_steps = 20;
  o.learning_rate = 1e-3;
  BertAdam opt(params, o);
  for (int64_t k = 0; k < 5; ++k) {
    EXPECT_DOUBLE_EQ(opt.CurrentLearningRate(), 1e-3 * SchedulerFactor("cosine", k, o));
    params["w"].mutable_grad() = torch::ones({2});
    opt.Step();
  }
  o.scheduler = "cosin";
  EXPECT_THAT(ValidateOptimizerOptions(o).message(), ::testing::HasSubstr("known schedulers are linear, cosine"));
  o.scheduler = "inverse_sqrt";
  o.warmup = 0;
  EXPECT_THAT(ValidateOptimizerOptions(o).message(), ::testing::HasSubstr("needs --warmup > 0"));
}

// UER-py HEAD's adamw and adafactor with its schedulers: the parameters after every step equal what
// HEAD's own trainer code gives (testing/head/optimizers.json, made by make_optimizers.py).
TEST(HeadOptimizerTest, EveryStepEqualsUerPyHeads) {
  std::ifstream in(::uer::testing::RunfilePath("testing/head/optimizers.json"));
  ASSERT_TRUE(in) << "testing/head/optimizers.json";
  const nlohmann::json golden = nlohmann::json::parse(in);
  std::set<std::string> kinds;
  for (const auto& c : golden.at("cases")) {
    OptimizerOptions o;
    o.kind = c.at("optimizer").get<std::string>();
    o.scheduler = c.at("scheduler").get<std::string>();
    o.learning_rate = c.at("learning_rate").get<double>();
    o.total_steps = c.at("total_steps").get<int64_t>();
    o.warmup = c.at("warmup").get<double>();
    ASSERT_TRUE(ValidateOptimizerOptions(o).ok()) << ValidateOptimizerOptions(o);
    kinds.insert(o.kind);
    auto tensor = [](const nlohmann::json& values, const nlohmann::json& shape) {
      return torch::tensor(values.get<std::vector<float>>()).reshape(shape.get<std::vector<int64_t>>());
    };
    torch::OrderedDict<std::string, torch::Tensor> params;
    for (const auto& [name, shape] : c.at("shapes").items()) {
      params.insert(name, tensor(c.at("init").at(name), shape).requires_grad_(true));
    }
    BertAdam opt(params, o);
    int step = 0;
    for (const auto& s : c.at("steps")) {
      for (auto& p : params) p.value().mutable_grad() = tensor(s.at("grads").at(p.key()), c.at("shapes").at(p.key()));
      opt.Step();
      ++step;
      for (const auto& p : params) {
        const torch::Tensor want = tensor(s.at("params").at(p.key()), c.at("shapes").at(p.key()));
        const double diff = (p.value() - want).abs().max().item<double>();
        EXPECT_LE(diff, 1e-7) << o.kind << "/" << o.scheduler << " step " << step << " " << p.key();
      }
    }
    EXPECT_EQ(step, 6);
  }
  EXPECT_EQ(kinds, std::set<std::string>({"adamw", "adafactor"}));
}

// Adafactor's factored moments survive a save and a load (resume).
TEST(HeadOptimizerTest, AdafactorStateRoundTrips) {
  torch::OrderedDict<std::string, torch::Tensor> params;
  params.insert("w", torch::ones({3, 2}).requires_grad_(true));
  OptimizerOptions o;
  o.kind = "adafactor";
  o.total_steps = 10;
  BertAdam a(params, o);
  params["w"].mutable_grad() = torch::full({3, 2}, 0.5f);
  a.Step();
  BertAdam b(params, o);
  ASSERT_TRUE(b.LoadState(a.State()).ok());
  EXPECT_EQ(b.step(), 1);
  for (size_t i = 0; i < a.State().size(); ++i) EXPECT_TRUE(torch::equal(a.State()[i].second, b.State()[i].second));
}

}  // namespace
}  // namespace uer::runtime
