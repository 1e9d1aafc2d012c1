// UER-py's GruEncoder (--bidirectional for both directions).
#include "plugins/layers/rnn_encoder.h"

namespace uer::encoders {
namespace {

class GruEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "gru"; }
  std::string help() const override { return "GRU (bidirectional with --bidirectional)"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override { return ValidateRnn(c); }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<RnnEncoder<torch::nn::GRU, torch::nn::GRUOptions>>(c));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::GruEncoderFactory);
