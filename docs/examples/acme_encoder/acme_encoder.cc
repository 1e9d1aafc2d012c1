// A third-party encoder plugin, built as its own shared library against the public plugin API only
// (core/plugin_api.h + libuer_core.so). Select it with
//
//   bazel run //tools:list_plugins -- --plugins=/path/to/libuer_encoder_acme_tiny.so
//   ... --config_path docs/examples/acme_encoder/tiny.pbtxt   (encoder: "acme.tiny")
//
// It maps each embedding through one linear layer and tanh, and zeroes padded positions. Its scale
// comes from the plugin-specific option "acme.scale" of the model config.
#include <torch/nn/modules/linear.h>

#include "core/plugin_api.h"
#include "core/plugin_stamp.h"

namespace acme {

class TinyEncoder : public uer::core::Encoder {
 public:
  TinyEncoder(int64_t emb_size, int64_t hidden_size, double scale) : scale_(scale) {
    linear_ = register_module("linear", torch::nn::Linear(emb_size, hidden_size));
  }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    TORCH_CHECK(emb.dim() == 3, "acme.tiny expects [batch, seq, emb], got ", emb.sizes());
    torch::Tensor mask = (seg > 0).unsqueeze(-1).to(emb.dtype());
    return torch::tanh(linear_->forward(emb)) * scale_ * mask;
  }

 private:
  torch::nn::Linear linear_{nullptr};
  double scale_;
};

class TinyEncoderFactory : public uer::core::EncoderFactory {
 public:
  std::string name() const override { return "acme.tiny"; }
  std::string help() const override { return "example third-party encoder: linear + tanh"; }
  std::string stability() const override { return "example"; }
  absl::Status Validate(const uer::core::v1::ModelConfig& c) const override {
    auto it = c.options().find("acme.scale");
    if (it != c.options().end() && !(std::atof(it->second.c_str()) > 0)) {
      return absl::InvalidArgumentError("option \"acme.scale\" must be a number > 0, got \"" + it->second + "\"");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<uer::core::Encoder>> Create(
      const uer::core::v1::ModelConfig& c, const uer::core::BuildContext&) const override {
    auto it = c.options().find("acme.scale");
    double scale = it == c.options().end() ? 1.0 : std::atof(it->second.c_str());
    return std::shared_ptr<uer::core::Encoder>(
        std::make_shared<TinyEncoder>(c.emb_size(), c.hidden_size(), scale));
  }
};

}  // namespace acme

UER_REGISTER_FACTORY(acme::TinyEncoderFactory);
// Outside this tree there is no uer_plugin() macro to generate the stamp: write it by hand.
UER_PLUGIN_DEFINE_INFO("acme.tiny")
