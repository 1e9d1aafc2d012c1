// The recurrent encoders (lstm, gru; bidirectional with --bidirectional), UER-py's RnnEncoder and
// GruEncoder: one torch RNN registered as "rnn", zero initial state, dropout on the output. Told
// to skip padding, a left-to-right RNN runs each row cut to its length.
#ifndef UER_PLUGINS_LAYERS_RNN_ENCODER_H_
#define UER_PLUGINS_LAYERS_RNN_ENCODER_H_

#include <torch/nn/modules/rnn.h>

#include "plugins/layers/layers.h"
#include "plugins/layers/rnn_by_length.h"

namespace uer::encoders {

template <typename Rnn, typename RnnOptions>
class RnnEncoder : public core::Encoder {
 public:
  explicit RnnEncoder(const core::v1::ModelConfig& c) {
    const bool bi = c.bidirectional();
    rnn_ = register_module("rnn", Rnn(RnnOptions(c.emb_size(), bi ? c.hidden_size() / 2 : c.hidden_size())
                                          .num_layers(c.layers_num())
                                          .dropout(c.dropout())
                                          .batch_first(true)
                                          .bidirectional(bi)));
    drop_ = register_module("drop", layers::Dropout(c.dropout()));
  }
  // Left to right, a token's output never sees the padding after it.
  bool TrailingPaddingInvisible() const override { return !rnn_->options.bidirectional(); }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    // Left to right only: the backward direction of a bidirectional RNN starts in the padding.
    if (skip_padding() && !rnn_->options.bidirectional()) {
      if (std::optional<torch::Tensor> lengths = layers::TrailingLengths(seg)) {
        return drop_->forward(layers::RunByLength(rnn_, emb, *lengths));
      }
    }
    return drop_->forward(std::get<0>(rnn_->forward(emb)));
  }

 private:
  Rnn rnn_{nullptr};
  layers::Dropout drop_{nullptr};
};

inline absl::Status ValidateRnn(const core::v1::ModelConfig& c) {
  if (c.bidirectional() && c.hidden_size() % 2 != 0) {
    return absl::InvalidArgumentError("field \"hidden_size\" must be even with \"bidirectional\", got " +
                                      std::to_string(c.hidden_size()));
  }
  return absl::OkStatus();
}

}  // namespace uer::encoders

#endif  // UER_PLUGINS_LAYERS_RNN_ENCODER_H_
