// The fused UER LayerNorm (forward and backward) against the same formula written with tensor ops.
#include "plugins/layers/layers.h"

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

}  // namespace
}  // namespace uer::layers
