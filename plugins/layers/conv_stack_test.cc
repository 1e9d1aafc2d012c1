// CausalConvStack against UER-py's formulation written out here (Conv2d over a [B, 1, L+k-1, E]
// image with zero rows before it, as the seed and UER-py's later gatedcnn compute it): plain,
// gated with the seed's residual rule, gated with the later rule and its biases. Causality, and
// CutTrailingPadding leaving the tokens' outputs as they are.
#include "plugins/layers/conv_stack.h"

#include <ATen/ops/conv2d.h>
#include <torch/nn/module.h>

#include "testing/test_util.h"

namespace uer::layers {
namespace {

struct Owner : torch::nn::Module {};

// UER-py's loop, with the Conv2d parameters the stack registered on `owner`.
torch::Tensor Reference(Owner& owner, const CausalConvOptions& o, const torch::Tensor& emb) {
  auto p = owner.named_parameters();
  const int64_t b = emb.size(0), l = emb.size(1), k = o.kernel_size(), h = o.hidden_size();
  const bool head = o.gated() && o.residual() == GatedResidual::kHead;
  auto conv = [&](const std::string& name, const torch::Tensor& x) { return at::conv2d(x, p[name + ".weight"], p[name + ".bias"]); };
  torch::Tensor x = torch::cat({torch::zeros({b, k - 1, o.input_size()}), emb}, 1).unsqueeze(1);
  torch::Tensor hidden = conv("conv_1", x);
  if (o.gated()) {
    torch::Tensor gate = conv("gate_1", x);
    if (head) {
      hidden = hidden + p["conv_b1"].repeat({1, 1, l, 1});
      gate = gate + p["gate_b1"].repeat({1, 1, l, 1});
    }
    hidden = hidden * torch::sigmoid(gate);
  }
  torch::Tensor res = head ? hidden : emb.unsqueeze(3).transpose(1, 2);
  torch::Tensor padding = torch::zeros({b, h, k - 1, 1});
  hidden = torch::cat({padding, hidden}, 2);
  for (int64_t i = 0; i < o.inner_layers(); ++i) {
    const std::string n = std::to_string(i);
    torch::Tensor next = conv("conv." + n, hidden);
    if (o.gated()) {
      torch::Tensor gate = conv("gate." + n, hidden);
      if (head) {
        next = next + p["conv_b." + n].repeat({1, 1, l, 1});
        gate = gate + p["gate_b." + n].repeat({1, 1, l, 1});
      }
      next = next * torch::sigmoid(gate);
      const bool add = head ? (i + 1) % o.block_size() == 0 : (i + 1) % o.block_size() != 0;
      if (add) {
        next = next + res;
        res = next;
      }
    }
    hidden = torch::cat({padding, next}, 2);
  }
  return hidden.narrow(2, k - 1, l).transpose(1, 2).contiguous().view({b, l, h});
}

class ConvStackTest : public ::testing::TestWithParam<int> {};

CausalConvOptions Options(int variant) {
  CausalConvOptions o(16, 16, 3, 4);
  if (variant >= 1) o.gated(true).block_size(2);
  if (variant == 2) o.residual(GatedResidual::kHead);
  return o;
}

TEST_P(ConvStackTest, MatchesUerPysConv2dLoop) {
  torch::manual_seed(4);
  Owner owner;
  CausalConvStack stack;
  const CausalConvOptions o = Options(GetParam());
  stack.Register(&owner, o);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : owner.parameters()) p.normal_(0, 0.3);
  }
  torch::Tensor emb = torch::randn({3, 9, 16});
  torch::Tensor ours = stack.Forward(emb), theirs = Reference(owner, o, emb);
  EXPECT_TRUE(torch::allclose(ours, theirs, 1e-5, 1e-5)) << (ours - theirs).abs().max();
  // Causal: changing position 6 leaves positions 0-5 alone.
  torch::Tensor changed = emb.clone();
  changed.select(1, 6).normal_();
  torch::Tensor again = stack.Forward(changed);
  EXPECT_TRUE(torch::equal(again.narrow(1, 0, 6), ours.narrow(1, 0, 6)));
  EXPECT_FALSE(torch::equal(again.narrow(1, 6, 1), ours.narrow(1, 6, 1)));
}

TEST_P(ConvStackTest, RegistersUerPysKeys) {
  Owner owner;
  CausalConvStack stack;
  stack.Register(&owner, Options(GetParam()));
  std::vector<std::string> keys;
  for (const auto& p : owner.named_parameters()) keys.push_back(p.key());
  // A module's own parameters come before its children's, in LibTorch as in PyTorch's state_dict.
  EXPECT_EQ(keys.front(), GetParam() == 2 ? "conv_b1" : "conv_1.weight");
  const size_t per_layer = GetParam() == 0 ? 2 : GetParam() == 1 ? 4 : 6;
  EXPECT_EQ(keys.size(), per_layer * 5);  // conv_1 (and gate_1, biases) + 4 inner layers
  auto has = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
  EXPECT_TRUE(has("conv.3.weight"));
  EXPECT_EQ(has("gate.3.bias"), GetParam() >= 1);
  EXPECT_EQ(has("conv_b1") && has("gate_b.3"), GetParam() == 2);
  EXPECT_EQ(owner.named_parameters()["conv_1.weight"].sizes(), (std::vector<int64_t>{16, 1, 3, 16}));
  EXPECT_EQ(owner.named_parameters()["conv.0.weight"].sizes(), (std::vector<int64_t>{16, 16, 3, 1}));
}

INSTANTIATE_TEST_SUITE_P(Variants, ConvStackTest, ::testing::Values(0, 1, 2),
                         [](const auto& info) { return std::string(info.param == 0 ? "plain" : info.param == 1 ? "gated_seed" : "gated_head"); });

TEST(CutTrailingPaddingTest, KeepsTheTokensOutputsAndZerosThePadding) {
  torch::manual_seed(5);
  Owner owner;
  CausalConvStack stack;
  stack.Register(&owner, CausalConvOptions(8, 8, 2, 2));
  torch::Tensor emb = torch::randn({3, 7, 8});
  torch::Tensor seg = torch::tensor({1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0}, torch::kInt64).view({3, 7});
  auto f = [&](const torch::Tensor& x) { return stack.Forward(x); };
  torch::Tensor cut = CutTrailingPadding(f, emb, seg), full = f(emb);
  torch::Tensor tokens = (seg > 0).unsqueeze(-1);
  EXPECT_TRUE(torch::allclose(cut.masked_select(tokens), full.masked_select(tokens), 1e-6, 1e-6));
  EXPECT_EQ(cut.masked_select(tokens.logical_not()).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(cut.sizes(), full.sizes());
}

}  // namespace
}  // namespace uer::layers
