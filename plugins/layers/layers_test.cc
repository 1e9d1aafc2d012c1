// The fused UER LayerNorm (forward and backward) against the same formula written with tensor ops;
// the padding-skipping paths (packed transformer layer, RNN rows cut to their lengths) against the
// dense ones, outputs at the tokens and gradients.
#include "plugins/layers/layers.h"

#include <torch/nn/modules/rnn.h>

#include "plugins/layers/rnn_by_length.h"

#include "testing/test_util.h"

namespace uer::layers {
namespace {

TEST(LayerNormTest, FusedMatchesCompositeForwardAndBackward) {
  torch::manual_seed(3);
  LayerNorm ln(LayerNormOptions(48));
  {
    torch::NoGradGuard no_grad;
    ln->gamma.uniform_(0.5, 1.5);
    ln->beta.uniform_(-0.5, 0.5);
  }
  torch::Tensor x = (torch::randn({5, 7, 48}) * 3 + 1).requires_grad_(true);
  torch::Tensor w = torch::randn({5, 7, 48});
  torch::Tensor y = ln->forward(x);
  (y * w).sum().backward();
  torch::Tensor dx = x.grad().clone(), dg = ln->gamma.grad().clone(), db = ln->beta.grad().clone();

  torch::Tensor x2 = x.detach().clone().requires_grad_(true);
  torch::Tensor g2 = ln->gamma.detach().clone().requires_grad_(true);
  torch::Tensor b2 = ln->beta.detach().clone().requires_grad_(true);
  torch::Tensor mean = x2.mean(-1, true);
  torch::Tensor std = x2.std(-1, /*unbiased=*/true, /*keepdim=*/true);
  torch::Tensor y2 = g2 * (x2 - mean) / (std + 1e-6) + b2;
  (y2 * w).sum().backward();
  EXPECT_TRUE(torch::allclose(y, y2, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(dx, x2.grad(), 1e-4, 1e-5)) << (dx - x2.grad()).abs().max();
  EXPECT_TRUE(torch::allclose(dg, g2.grad(), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(db, b2.grad(), 1e-5, 1e-5));
}

TEST(DropoutTest, KeepsAboutOneMinusPScalesAndIsAnIdentityInEval) {
  torch::manual_seed(5);
  Dropout d(0.1);
  torch::Tensor x = torch::ones({1000, 1000}).requires_grad_(true);
  torch::Tensor y = d->forward(x);
  const double kept = (y != 0).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(kept, 0.9, 0.002);
  EXPECT_TRUE(torch::allclose(y.masked_select(y != 0), torch::full({1}, 1.0f / 0.9f)));
  y.sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), (y != 0).to(torch::kFloat32) / 0.9f));
  // The same seed gives the same mask; eval mode changes nothing.
  torch::manual_seed(5);
  EXPECT_TRUE(torch::equal(d->forward(x.detach()), y.detach()));
  d->eval();
  EXPECT_TRUE(torch::equal(d->forward(x.detach()), x.detach()));
}

}  // namespace
}  // namespace uer::layers

namespace uer::layers {
namespace {

TEST(SoftmaxNllTest, FusedMatchesLogSoftmaxGatherAndItsGradient) {
  torch::manual_seed(11);
  torch::Tensor logits = (torch::randn({9, 301}) * 4).requires_grad_(true);
  torch::Tensor target = torch::randint(0, 301, {9}, torch::kLong);
  torch::Tensor w = torch::rand({9});
  auto [nll, argmax] = SoftmaxNll(logits, target);
  (nll * w).sum().backward();
  torch::Tensor l2 = logits.detach().clone().requires_grad_(true);
  torch::Tensor lp = torch::log_softmax(l2, -1);
  torch::Tensor nll2 = -lp.gather(1, target.view({-1, 1})).view({-1});
  (nll2 * w).sum().backward();
  EXPECT_TRUE(torch::allclose(nll, nll2, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(argmax, lp.argmax(-1)));
  EXPECT_TRUE(torch::allclose(logits.grad(), l2.grad(), 1e-5, 1e-6));
}

// Rows of random trailing lengths (1..seq), some full, for batch rows enough to make four groups.
torch::Tensor TrailingSeg(int64_t batch, int64_t seq) {
  torch::Tensor lengths = torch::randint(1, seq + 1, {batch}, torch::kLong);
  lengths[0] = seq;
  return (torch::arange(seq).unsqueeze(0) < lengths.unsqueeze(1)).to(torch::kLong);
}

TEST(RnnByLengthTest, SameOutputsAtTheTokensAndSameGradients) {
  torch::manual_seed(5);
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(6, 8).num_layers(2).batch_first(true));
  const int64_t batch = 35, seq = 11;
  torch::Tensor seg = TrailingSeg(batch, seq);
  std::optional<torch::Tensor> lengths = TrailingLengths(seg);
  ASSERT_TRUE(lengths.has_value());
  torch::Tensor x = torch::randn({batch, seq, 6}, torch::requires_grad());
  torch::Tensor tokens = (seg > 0).unsqueeze(-1).to(torch::kFloat);
  torch::Tensor w = torch::randn({batch, seq, 8}) * tokens;  // a loss that reads only the tokens

  torch::Tensor dense = std::get<0>(lstm->forward(x));
  (dense * w).sum().backward();
  torch::Tensor dx = x.grad().clone(), dw = lstm->parameters()[0].grad().clone();
  x.mutable_grad().zero_();
  lstm->zero_grad();
  torch::Tensor cut = RunByLength(lstm, x, *lengths);
  (cut * w).sum().backward();

  EXPECT_TRUE(torch::allclose(cut * tokens, dense * tokens, 1e-5, 1e-6));
  EXPECT_EQ((cut * (1 - tokens)).abs().max().item<float>(), 0.0f) << "outputs at the padding are zeros";
  EXPECT_TRUE(torch::allclose(x.grad(), dx, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(lstm->parameters()[0].grad(), dw, 1e-4, 1e-5));
}

TEST(RnnByLengthTest, OnlyTrailingPaddingWithNoEmptyRowIsCut) {
  EXPECT_FALSE(TrailingLengths(torch::ones({4, 5}, torch::kLong)).has_value());  // nothing to skip
  torch::Tensor seg = torch::ones({2, 5}, torch::kLong);
  seg[1][1] = 0;  // padding before a token
  EXPECT_FALSE(TrailingLengths(seg).has_value());
  seg = torch::ones({2, 5}, torch::kLong);
  seg[1].zero_();  // an empty row
  EXPECT_FALSE(TrailingLengths(seg).has_value());
  seg = torch::ones({2, 5}, torch::kLong);
  seg[1][4] = 0;
  ASSERT_TRUE(TrailingLengths(seg).has_value());
  EXPECT_TRUE(TrailingLengths(seg)->equal(torch::tensor({5, 4}, torch::kLong)));
}

TEST(PackedTransformerTest, SameOutputsAtTheTokensAndSameGradients) {
  torch::manual_seed(9);
  core::v1::ModelConfig c;
  c.set_hidden_size(16);
  c.set_heads_num(4);
  c.set_feedforward_size(32);
  c.set_dropout(0.0);
  c.set_layernorm_eps(1e-6);
  TransformerLayer layer(c);
  const int64_t batch = 6, seq = 9;
  torch::Tensor seg = TrailingSeg(batch, seq);
  seg[0].fill_(0);
  seg[0][0] = 1;  // one short row; the batch still reaches the full width in other rows
  seg[2][3] = 0;  // and padding inside a row: BERT's mask handles any pattern
  torch::Tensor x = torch::randn({batch, seq, 16}, torch::requires_grad());
  torch::Tensor tokens = (seg > 0).unsqueeze(-1).to(torch::kFloat);
  torch::Tensor w = torch::randn({batch, seq, 16}) * tokens;
  torch::Tensor mask = (1.0 - (seg > 0).unsqueeze(1).unsqueeze(1).to(torch::kFloat)) * -10000.0;
  torch::Tensor dense = layer->forward(x, mask);
  (dense * w).sum().backward();
  torch::Tensor dx = x.grad().clone();
  x.mutable_grad().zero_();

  std::optional<PackedPositions> pos = PackPositions(seg, /*require_trailing=*/false);
  ASSERT_TRUE(pos.has_value());
  torch::Tensor packed_mask = (1.0 - pos->real.unsqueeze(1).unsqueeze(1).to(torch::kFloat)) * -10000.0;
  torch::Tensor packed = layer->forward_packed(x.reshape({batch * seq, 16}).index_select(0, pos->source_index),
                                               *pos, packed_mask);
  torch::Tensor out = torch::zeros({batch * seq, 16}).index_copy(0, pos->source_index, packed).view({batch, seq, 16});
  (out * w).sum().backward();
  EXPECT_TRUE(torch::allclose(out * tokens, dense * tokens, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(x.grad(), dx, 1e-5, 1e-5));
  // Causal models need trailing padding: the row with a hole is refused there.
  EXPECT_FALSE(PackPositions(seg, /*require_trailing=*/true).has_value());
}

}  // namespace
}  // namespace uer::layers
