// UER-py's LstmEncoder (--bidirectional for both directions).
#include "plugins/layers/rnn_encoder.h"

namespace uer::encoders {
namespace {

class LstmEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "lstm"; }
  std::string help() const override { return "LSTM (bidirectional with --bidirectional)"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override { return ValidateRnn(c); }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<RnnEncoder<torch::nn::LSTM, torch::nn::LSTMOptions>>(c));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::LstmEncoderFactory);
