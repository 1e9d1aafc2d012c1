// UER-py's BertEncoder: layers_num post-LayerNorm transformer layers, attention masked by seg > 0.
#include "plugins/layers/transformer_encoder.h"

namespace uer::encoders {
namespace {

class BertEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "bert"; }
  std::string help() const override { return "BERT: post-LayerNorm transformer, padding masked"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override { return ValidateTransformer(c); }
  // transformers' BertEncoder.
  std::optional<core::HuggingFaceKeys> HuggingFaceBertKeys(const core::v1::ModelConfig& c) const override {
    core::HuggingFaceKeys k;
    for (int i = 0; i < c.layers_num(); ++i) {
      const std::string u = "encoder.transformer." + std::to_string(i) + ".";
      const std::string h = "encoder.layer." + std::to_string(i) + ".";
      k.AddLinear(u + "self_attn.linear_layers.0", h + "attention.self.query");
      k.AddLinear(u + "self_attn.linear_layers.1", h + "attention.self.key");
      k.AddLinear(u + "self_attn.linear_layers.2", h + "attention.self.value");
      k.AddLinear(u + "self_attn.final_linear", h + "attention.output.dense");
      k.AddLayerNorm(u + "layer_norm_1", h + "attention.output.LayerNorm");
      k.AddLinear(u + "feed_forward.linear_1", h + "intermediate.dense");
      k.AddLinear(u + "feed_forward.linear_2", h + "output.dense");
      k.AddLayerNorm(u + "layer_norm_2", h + "output.LayerNorm");
    }
    return k;
  }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<TransformerEncoder>(c, /*causal=*/false));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::BertEncoderFactory);
