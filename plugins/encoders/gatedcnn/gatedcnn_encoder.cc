// UER-py's GatedcnnEncoder: conv_1 * sigmoid(gate_1), then layers_num - 1 gated convolutions, a
// residual every block_size layers. The residual rule is the seed's by default (UER-py caef999,
// which the golden outputs and the seed's checkpoints follow); options { key: "gatedcnn.residual"
// value: "head" } selects UER-py's corrected rule and its extra biases (checkpoints of UER-py since
// 2020, which hold encoder.conv_b1).
#include "plugins/layers/conv_stack.h"
#include "core/plugin_api.h"

namespace uer::encoders {
namespace {

constexpr char kResidualOption[] = "gatedcnn.residual";

layers::GatedResidual Residual(const core::v1::ModelConfig& c) {
  auto it = c.options().find(kResidualOption);
  return it != c.options().end() && it->second == "head" ? layers::GatedResidual::kHead : layers::GatedResidual::kSeed;
}

class GatedcnnEncoder : public core::Encoder {
 public:
  explicit GatedcnnEncoder(const core::v1::ModelConfig& c) {
    stack_.Register(this, layers::CausalConvOptions(c.emb_size(), c.hidden_size(), c.kernel_size(), c.layers_num() - 1)
                              .gated(true)
                              .residual(Residual(c))
                              .block_size(c.block_size()));
  }
  bool TrailingPaddingInvisible() const override { return true; }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    auto f = [this](const torch::Tensor& x) { return stack_.Forward(x); };
    return skip_padding() ? layers::CutTrailingPadding(f, emb, seg) : f(emb);
  }

 private:
  layers::CausalConvStack stack_;
};

class GatedcnnEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "gatedcnn"; }
  std::string help() const override {
    return "gated causal convolutions with residuals (options gatedcnn.residual: seed | head)";
  }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    auto it = c.options().find(kResidualOption);
    if (it != c.options().end() && it->second != "seed" && it->second != "head") {
      return absl::InvalidArgumentError(std::string("option \"") + kResidualOption + "\" must be seed or head, got \"" + it->second + "\"");
    }
    // The seed's rule adds the embedding itself as the first residual; the corrected rule never
    // reads it at the hidden width.
    return layers::ValidateConvEncoder(c, "gatedcnn", Residual(c) == layers::GatedResidual::kSeed && c.layers_num() > 1);
  }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<GatedcnnEncoder>(c));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::GatedcnnEncoderFactory);
