// UER-py's BertEncoder: layers_num post-LayerNorm transformer layers, attention masked by seg > 0.
#include "plugins/encoders/bert/transformer_encoder.h"

namespace uer::encoders {
namespace {

class BertEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "bert"; }
  std::string help() const override { return "BERT: post-LayerNorm transformer, padding masked"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override { return ValidateTransformer(c); }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<TransformerEncoder>(c, /*causal=*/false));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::BertEncoderFactory);
