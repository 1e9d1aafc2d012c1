// UER-py's CnnEncoder (seed caef999; UER-py removed it in 2020): the causal convolution stack,
// conv_1 then layers_num convolutions conv.{0..N-1}, no activation. Causal: a caller may cut the
// trailing padding.
#include "plugins/layers/conv_stack.h"
#include "core/plugin_api.h"

namespace uer::encoders {
namespace {

class CnnEncoder : public core::Encoder {
 public:
  explicit CnnEncoder(const core::v1::ModelConfig& c) {
    stack_.Register(this, layers::CausalConvOptions(c.emb_size(), c.hidden_size(), c.kernel_size(), c.layers_num()));
  }
  bool TrailingPaddingInvisible() const override { return true; }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    auto f = [this](const torch::Tensor& x) { return stack_.Forward(x); };
    return skip_padding() ? layers::CutTrailingPadding(f, emb, seg) : f(emb);
  }

 private:
  layers::CausalConvStack stack_;
};

class CnnEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "cnn"; }
  std::string help() const override { return "causal convolutions (UER-py seed's CnnEncoder: layers_num + 1 linear convolutions)"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override { return layers::ValidateConvEncoder(c, "cnn", false); }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<CnnEncoder>(c));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::CnnEncoderFactory);
