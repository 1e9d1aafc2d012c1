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

}  // namespace
}  // namespace uer::layers
