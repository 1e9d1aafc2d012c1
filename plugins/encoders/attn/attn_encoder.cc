// UER-py's AttnEncoder (seed caef999; removed from UER-py in 2021): layers_num multi-headed
// self-attention layers, padding masked as keys as BERT's, with no residual, LayerNorm or
// feed-forward. Told to skip padding, it works on the tokens alone (outputs at the padding zero).
#include <torch/nn/modules/container/modulelist.h>

#include "plugins/layers/layers.h"

namespace uer::encoders {
namespace {

class AttnEncoder : public core::Encoder {
 public:
  explicit AttnEncoder(const core::v1::ModelConfig& c) {
    self_attn_ = register_module("self_attn", torch::nn::ModuleList());
    for (int i = 0; i < c.layers_num(); ++i) {
      self_attn_->push_back(layers::MultiHeadedAttention(c.hidden_size(), c.heads_num(), c.dropout()));
    }
  }
  bool TrailingPaddingInvisible() const override { return true; }
  torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) override {
    if (skip_padding()) {
      if (std::optional<layers::PackedPositions> pos = layers::PackPositions(seg, /*require_trailing=*/false)) {
        const int64_t batch = emb.size(0), seq = emb.size(1), width = emb.size(2);
        torch::Tensor mask = Mask(pos->real, emb.scalar_type());
        torch::Tensor h = emb.reshape({batch * seq, width}).index_select(0, pos->source_index);
        for (const auto& layer : *self_attn_) h = layer->as<layers::MultiHeadedAttention>()->forward_packed(h, *pos, mask);
        return torch::zeros({batch * seq, h.size(1)}, h.options())
            .index_copy(0, pos->source_index, h)
            .view({batch, seq, h.size(1)});
      }
    }
    torch::Tensor mask = Mask(seg > 0, emb.scalar_type());
    torch::Tensor h = emb;
    for (const auto& layer : *self_attn_) h = layer->as<layers::MultiHeadedAttention>()->forward(h, h, h, mask);
    return h;
  }

 private:
  // UER-py's additive mask over the keys: 0 at tokens, -10000 at padding, [batch, 1, 1, seq].
  static torch::Tensor Mask(const torch::Tensor& real, torch::ScalarType type) {
    return (1.0 - real.unsqueeze(1).unsqueeze(1).to(type)) * -10000.0;
  }
  torch::nn::ModuleList self_attn_{nullptr};
};

class AttnEncoderFactory : public core::EncoderFactory {
 public:
  std::string name() const override { return "attn"; }
  std::string help() const override { return "self-attention layers alone (no residual, LayerNorm or feed-forward)"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    auto bad = [](const std::string& m) { return absl::InvalidArgumentError("encoder attn: " + m); };
    if (c.layers_num() < 1) return bad("field \"layers_num\" must be at least 1, got " + std::to_string(c.layers_num()));
    if (c.heads_num() < 1 || c.hidden_size() % c.heads_num() != 0) {
      return bad("field \"hidden_size\" (" + std::to_string(c.hidden_size()) + ") must be a multiple of \"heads_num\" (" +
                 std::to_string(c.heads_num()) + ")");
    }
    if (c.emb_size() != c.hidden_size()) {
      return bad("fields \"emb_size\" (" + std::to_string(c.emb_size()) + ") and \"hidden_size\" (" +
                 std::to_string(c.hidden_size()) + ") must be equal (the first layer reads the embedding)");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<core::Encoder>> Create(const core::v1::ModelConfig& c,
                                                        const core::BuildContext&) const override {
    return std::shared_ptr<core::Encoder>(std::make_shared<AttnEncoder>(c));
  }
};

}  // namespace
}  // namespace uer::encoders

UER_REGISTER_FACTORY(uer::encoders::AttnEncoderFactory);
