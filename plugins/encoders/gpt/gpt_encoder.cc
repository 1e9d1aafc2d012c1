// UER-py's GptEncoder: the same transformer layers with a causal (lower-triangular) mask.
#include "plugins/layers/transformer_encoder.h"

namespace uer::encoders {
namespace {

class GptEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "gpt"; }
  std::string help() const override { return "GPT: transformer with a causal mask"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override { return ValidateTransformer(c); }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<TransformerEncoder>(c, /*causal=*/true));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::GptEncoderFactory);
