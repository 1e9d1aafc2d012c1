// The transformer stack shared by the bert and gpt encoder plugins (compiled into each).
#ifndef UER_PLUGINS_ENCODERS_BERT_TRANSFORMER_ENCODER_H_
#define UER_PLUGINS_ENCODERS_BERT_TRANSFORMER_ENCODER_H_

#include "plugins/layers/layers.h"

namespace uer::encoders {

// `causal`: GPT's lower-triangular mask; otherwise BERT's mask from the segment ids (seg > 0).
class TransformerEncoder : public core::Encoder {
 public:
  TransformerEncoder(const core::v1::ModelConfig& c, bool causal) : causal_(causal) {
    transformer_ = register_module("transformer", torch::nn::ModuleList());
    for (int i = 0; i < c.layers_num(); ++i) transformer_->push_back(layers::TransformerLayer(c));
  }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    const int64_t batch = emb.size(0), seq = emb.size(1);
    torch::Tensor mask;
    if (causal_) {
      mask = torch::tril(torch::ones({seq, seq}, emb.options()));
      mask = ((1.0 - mask) * -10000.0).expand({batch, 1, seq, seq});
    } else {
      mask = (seg > 0).unsqueeze(1).unsqueeze(1).to(emb.scalar_type());  // [batch, 1, 1, seq]
      mask = (1.0 - mask) * -10000.0;
    }
    torch::Tensor hidden = emb;
    for (const auto& layer : *transformer_) hidden = layer->as<layers::TransformerLayer>()->forward(hidden, mask);
    return hidden;
  }

 private:
  bool causal_;
  torch::nn::ModuleList transformer_{nullptr};
};

inline absl::Status ValidateTransformer(const core::v1::ModelConfig& c) {
  if (c.hidden_size() % c.heads_num() != 0) {
    return absl::InvalidArgumentError("field \"hidden_size\" (" + std::to_string(c.hidden_size()) +
                                      ") must be a multiple of \"heads_num\" (" + std::to_string(c.heads_num()) + ")");
  }
  if (c.emb_size() != c.hidden_size()) {
    return absl::InvalidArgumentError("fields \"emb_size\" and \"hidden_size\" must be equal for a transformer (" +
                                      std::to_string(c.emb_size()) + " vs " + std::to_string(c.hidden_size()) + ")");
  }
  return absl::OkStatus();
}

}  // namespace uer::encoders

#endif  // UER_PLUGINS_ENCODERS_BERT_TRANSFORMER_ENCODER_H_
