// UER-py's RcnnEncoder (seed caef999; removed from UER-py in 2021): an LSTM of layers_num layers
// (dropout between them and on its output), then the causal convolution stack (conv_1 and
// layers_num - 1 convolutions) over its output.
// Both halves are causal: a caller may cut the trailing padding.
#include <torch/nn/modules/rnn.h>

#include "plugins/layers/conv_stack.h"
#include "plugins/layers/layers.h"
#include "plugins/layers/rnn_by_length.h"

namespace uer::encoders {
namespace {

class RcnnEncoder : public core::Encoder {
 public:
  explicit RcnnEncoder(const core::v1::ModelConfig& c) {
    const layers::CausalConvOptions conv(c.emb_size(), c.hidden_size(), c.kernel_size(), c.layers_num() - 1);
    auto lstm = torch::nn::LSTMOptions(c.emb_size(), c.hidden_size()).num_layers(c.layers_num()).dropout(c.dropout()).batch_first(true);
    rnn_ = register_module("rnn", torch::nn::LSTM(lstm));
    drop_ = register_module("drop", layers::Dropout(c.dropout()));
    stack_.Register(this, conv);
  }
  bool TrailingPaddingInvisible() const override { return true; }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    if (skip_padding()) {
      // The LSTM's rows in groups cut to their lengths (its outputs at the padding zero), then the
      // convolutions, which are causal: the padding's outputs are zeroed again after them.
      if (std::optional<torch::Tensor> lengths = layers::TrailingLengths(seg)) {
        torch::Tensor out = stack_.Forward(drop_->forward(layers::RunByLength(rnn_, emb, *lengths)));
        return out.masked_fill((seg == 0).unsqueeze(-1), 0.0);
      }
    }
    return stack_.Forward(drop_->forward(std::get<0>(rnn_->forward(emb))));
  }

 private:
  torch::nn::LSTM rnn_{nullptr};
  layers::Dropout drop_{nullptr};
  layers::CausalConvStack stack_;
};

class RcnnEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "rcnn"; }
  std::string help() const override { return "LSTM, then causal convolutions (UER-py seed)"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override { return layers::ValidateConvEncoder(c, "rcnn", true); }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<RcnnEncoder>(c));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::RcnnEncoderFactory);
