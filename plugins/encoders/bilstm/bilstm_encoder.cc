// UER-py's BilstmEncoder: two separate LSTMs, the second over the reversed sequence; their outputs
// are concatenated (forward half first), as the bilm target expects.
#include <torch/nn/modules/rnn.h>

#include "plugins/layers/layers.h"
#include "plugins/layers/rnn_by_length.h"

namespace uer::encoders {
namespace {

class BilstmEncoder : public core::Encoder {
 public:
  explicit BilstmEncoder(const core::v1::ModelConfig& c) {
    auto options = torch::nn::LSTMOptions(c.emb_size(), c.hidden_size() / 2)
                       .num_layers(c.layers_num())
                       .dropout(c.dropout())
                       .batch_first(true);
    forward_ = register_module("rnn_forward", torch::nn::LSTM(options));
    backward_ = register_module("rnn_backward", torch::nn::LSTM(options));
    drop_ = register_module("drop", layers::Dropout(c.dropout()));
  }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    // Skipping padding, the left-to-right half runs each row cut to its length; the right-to-left half
    // starts in the padding (UER-py's math), so it always runs over all of it.
    std::optional<torch::Tensor> lengths;
    if (skip_padding()) lengths = layers::TrailingLengths(seg);
    torch::Tensor fwd = drop_->forward(lengths ? layers::RunByLength(forward_, emb, *lengths)
                                               : std::get<0>(forward_->forward(emb)));
    torch::Tensor bwd = drop_->forward(std::get<0>(backward_->forward(emb.flip({1})))).flip({1});
    return torch::cat({fwd, bwd}, 2);
  }

 private:
  torch::nn::LSTM forward_{nullptr}, backward_{nullptr};
  layers::Dropout drop_{nullptr};
};

class BilstmEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "bilstm"; }
  std::string help() const override { return "two LSTMs, left-to-right and right-to-left (for bilm)"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    if (c.hidden_size() % 2 != 0) return absl::InvalidArgumentError("field \"hidden_size\" must be even");
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<BilstmEncoder>(c));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::BilstmEncoderFactory);
