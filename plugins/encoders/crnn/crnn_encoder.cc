// UER-py's CrnnEncoder (seed caef999; removed from UER-py in 2021): the causal convolution stack
// (conv_1 and layers_num - 1 convolutions), then an LSTM of layers_num layers over its output
// (dropout between them and on its output).
// Both halves are causal: a caller may cut the trailing padding.
#include <torch/nn/modules/rnn.h>

#include "plugins/layers/conv_stack.h"
#include "plugins/layers/layers.h"
#include "plugins/layers/rnn_by_length.h"

namespace uer::encoders {
namespace {

class CrnnEncoder : public core::Encoder {
 public:
  explicit CrnnEncoder(const core::v1::ModelConfig& c) {
    const layers::CausalConvOptions conv(c.emb_size(), c.hidden_size(), c.kernel_size(), c.layers_num() - 1);
    auto lstm = torch::nn::LSTMOptions(c.emb_size(), c.hidden_size()).num_layers(c.layers_num()).dropout(c.dropout()).batch_first(true);
    stack_.Register(this, conv);
    rnn_ = register_module("rnn", torch::nn::LSTM(lstm));
    drop_ = register_module("drop", layers::Dropout(c.dropout()));
  }
  bool TrailingPaddingInvisible() const override { return true; }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    if (skip_padding()) {
      // The causal convolutions, then the LSTM's rows in groups cut to their lengths (its outputs
      // at the padding zero).
      if (std::optional<torch::Tensor> lengths = layers::TrailingLengths(seg)) {
        return drop_->forward(layers::RunByLength(rnn_, stack_.Forward(emb), *lengths));
      }
    }
    return drop_->forward(std::get<0>(rnn_->forward(stack_.Forward(emb))));
  }

 private:
  torch::nn::LSTM rnn_{nullptr};
  layers::Dropout drop_{nullptr};
  layers::CausalConvStack stack_;
};

class CrnnEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "crnn"; }
  std::string help() const override { return "causal convolutions, then LSTM (UER-py seed)"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override { return layers::ValidateConvEncoder(c, "crnn", true); }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<CrnnEncoder>(c));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::CrnnEncoderFactory);
