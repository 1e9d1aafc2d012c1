#include "core/runtime/device.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace uer::runtime {
namespace {

TEST(ModelFlopsPerTokenTest, CountsMatricesAndAttentionNotTablesOrTheHead) {
  const int64_t h = 8, ff = 32, vocab = 100, seq = 16;
  std::vector<std::pair<std::string, torch::Tensor>> named = {
      {"embedding.word_embedding.weight", torch::zeros({vocab, h})},       // a lookup table
      {"embedding.position_embedding.weight", torch::zeros({seq, h})},     // a lookup table
      {"embedding.layer_norm.gamma", torch::zeros({h})},                   // not a matrix
      {"encoder.transformer.0.self_attn.linear_layers.0.weight", torch::zeros({h, h})},
      {"encoder.transformer.0.self_attn.linear_layers.0.bias", torch::zeros({h})},
      {"encoder.transformer.0.self_attn.final_linear.weight", torch::zeros({h, h})},
      {"encoder.transformer.0.feed_forward.linear_1.weight", torch::zeros({ff, h})},
      {"target.mlm.linear_2.weight", torch::zeros({vocab, h})},            // the head: left out
  };
  const double dense = h * h + h * h + ff * h;
  EXPECT_DOUBLE_EQ(ModelFlopsPerToken(named, seq), 6 * dense + 12.0 * seq * h);
}

TEST(GemmPeakTest, MeasuresSomethingPositive) {
  EXPECT_GT(MeasureGemmPeak(torch::kFloat, torch::kCPU, 0.01, 64), 0);
}

TEST(CpuHasBf16Test, TheEnvironmentCanSayNo) {
  setenv("UER_CPU_NO_BF16", "1", 1);
  EXPECT_FALSE(CpuHasBf16());
  unsetenv("UER_CPU_NO_BF16");
}

TEST(ParsePrecisionTest, Fp16FollowsTheCpu) {
  unsetenv("UER_CPU_FP16");
  absl::StatusOr<Precision> p = ParsePrecision("fp16", torch::kCPU);
  if (CpuHasFp16()) {
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(*p, Precision::kFp16);
  } else {
    EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(p.status().message().find("no native fp16"), std::string::npos) << p.status();
  }
  setenv("UER_CPU_FP16", "emulated", 1);
  p = ParsePrecision("fp16", torch::kCPU);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, Precision::kFp16);
  unsetenv("UER_CPU_FP16");
}

}  // namespace
}  // namespace uer::runtime
