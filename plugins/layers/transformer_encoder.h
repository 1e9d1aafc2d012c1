// The transformer stack shared by the bert and gpt encoder plugins (compiled into each).
#ifndef UER_PLUGINS_LAYERS_TRANSFORMER_ENCODER_H_
#define UER_PLUGINS_LAYERS_TRANSFORMER_ENCODER_H_

#include "plugins/layers/layers.h"

namespace uer::encoders {

// `causal`: GPT's lower-triangular mask; otherwise BERT's mask from the segment ids (seg > 0).
class TransformerEncoder : public core::Encoder {
 public:
  // Attention gives padding exp(-10000) = 0 weight; gpt's is causal too.
  bool TrailingPaddingInvisible() const override { return true; }
  TransformerEncoder(const core::v1::ModelConfig& c, bool causal) : causal_(causal) {
    transformer_ = register_module("transformer", torch::nn::ModuleList());
    for (int i = 0; i < c.layers_num(); ++i) transformer_->push_back(layers::TransformerLayer(c));
  }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    if (skip_padding()) {
      // GPT's causal mask lets a token see earlier padding, so it packs only trailing padding.
      if (std::optional<layers::PackedPositions> pos = layers::PackPositions(seg, /*require_trailing=*/causal_)) {
        return ForwardPacked(emb, *pos);
      }
    }
    return Layers(emb, Mask(seg > 0, emb.size(0), emb.size(1), emb.scalar_type()));
  }
  // gpt: each layer keeps its keys and values (cache: 2 tensors a layer), so a new token costs
  // one position's pass.
  bool Incremental() const override { return causal_; }
  torch::Tensor ForwardIncremental(const torch::Tensor& emb, std::vector<torch::Tensor>* cache) override {
    TORCH_CHECK(causal_, "a bidirectional transformer cannot decode incrementally");
    const size_t n = transformer_->size();
    if (cache->empty()) cache->resize(2 * n);
    TORCH_CHECK(cache->size() == 2 * n, "cache of ", cache->size(), " tensors for ", n, " layers");
    torch::Tensor hidden = emb;
    for (size_t i = 0; i < n; ++i) {
      hidden = (*transformer_)[i]->as<layers::TransformerLayer>()->forward_cached(hidden, &(*cache)[2 * i],
                                                                                 &(*cache)[2 * i + 1]);
    }
    return hidden;
  }

 private:
  torch::Tensor Mask(const torch::Tensor& real, int64_t batch, int64_t seq, torch::ScalarType type) const {
    if (causal_) {
      torch::Tensor mask = torch::tril(torch::ones({seq, seq}, real.options().dtype(type)));
      return ((1.0 - mask) * -10000.0).expand({batch, 1, seq, seq});
    }
    torch::Tensor mask = real.unsqueeze(1).unsqueeze(1).to(type);  // [batch, 1, 1, seq]
    return (1.0 - mask) * -10000.0;
  }
  torch::Tensor Layers(const torch::Tensor& emb, const torch::Tensor& mask) {
    torch::Tensor hidden = emb;
    for (const auto& layer : *transformer_) hidden = layer->as<layers::TransformerLayer>()->forward(hidden, mask);
    return hidden;
  }
  // Every layer but attention's score product works on the tokens alone; the outputs at the
  // padding are zeros.
  torch::Tensor ForwardPacked(const torch::Tensor& emb, const layers::PackedPositions& pos) {
    const int64_t batch = emb.size(0), seq = emb.size(1), width = emb.size(2);
    torch::Tensor mask = Mask(pos.real, pos.batch, pos.seq, emb.scalar_type());
    torch::Tensor hidden = emb.reshape({batch * seq, width}).index_select(0, pos.source_index);
    for (const auto& layer : *transformer_) {
      hidden = layer->as<layers::TransformerLayer>()->forward_packed(hidden, pos, mask);
    }
    return torch::zeros({batch * seq, hidden.size(1)}, hidden.options())
        .index_copy(0, pos.source_index, hidden)
        .view({batch, seq, hidden.size(1)});
  }

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

#endif  // UER_PLUGINS_LAYERS_TRANSFORMER_ENCODER_H_
