// UER-py's BertEmbedding: word + position + segment embeddings, LayerNorm, dropout.
#include <torch/nn/modules/embedding.h>

#include "plugins/layers/layers.h"

namespace uer::embeddings {
namespace {

class BertEmbedding : public core::Embedding {
 public:
  BertEmbedding(const core::v1::ModelConfig& c, int64_t vocab_size) {
    dropout_ = register_module("dropout", layers::Dropout(c.dropout()));
    word_ = register_module("word_embedding", torch::nn::Embedding(vocab_size, c.emb_size()));
    position_ = register_module("position_embedding", torch::nn::Embedding(c.max_seq_length(), c.emb_size()));
    segment_ = register_module("segment_embedding", torch::nn::Embedding(3, c.emb_size()));
    layer_norm_ = register_module("layer_norm", layers::LayerNorm(layers::LayerNormFromConfig(c.emb_size(), c)));
  }
  int64_t max_positions() const override { return position_->weight.size(0); }
  torch::Tensor Forward(const torch::Tensor& src, const torch::Tensor& seg) override {
    TORCH_CHECK(src.size(1) <= position_->weight.size(0), "sequence of ", src.size(1),
                " tokens is longer than max_seq_length ", position_->weight.size(0));
    torch::Tensor word = word_->forward(src);
    torch::Tensor pos = position_->forward(
        torch::arange(src.size(1), torch::TensorOptions().dtype(torch::kLong).device(src.device())).unsqueeze(0).expand({src.size(0), -1}));
    torch::Tensor emb = word + pos + segment_->forward(seg);
    return dropout_->forward(layer_norm_->forward(emb));
  }

 private:
  layers::Dropout dropout_{nullptr};
  torch::nn::Embedding word_{nullptr}, position_{nullptr}, segment_{nullptr};
  layers::LayerNorm layer_norm_{nullptr};
};

class BertEmbeddingFactory : public core::EmbeddingFactory {
 public:
  std::string name() const override { return "bert"; }
  std::string help() const override { return "word + position + segment embeddings, LayerNorm, dropout"; }
  std::vector<std::string> VocabularyRows() const override { return {"word_embedding.weight"}; }
  // UER-py's newest names (embedding.word.embedding, .pos.embedding, .seg.embedding).
  std::vector<core::OldKeyName> OldKeyNames() const override {
    return {{"uer-head", "word.embedding.", "word_embedding."},
            {"uer-head", "pos.embedding.", "position_embedding."},
            {"uer-head", "seg.embedding.", "segment_embedding."}};
  }
  // transformers' BertEmbeddings; UER-py's segment embedding keeps row 0 for the padding.
  std::optional<core::HuggingFaceKeys> HuggingFaceBertKeys(const core::v1::ModelConfig&) const override {
    core::HuggingFaceKeys k;
    k.keys = {{"embedding.word_embedding.weight", "embeddings.word_embeddings.weight"},
              {"embedding.position_embedding.weight", "embeddings.position_embeddings.weight"},
              {"embedding.segment_embedding.weight", "embeddings.token_type_embeddings.weight"}};
    k.leading_rows["embedding.segment_embedding.weight"] = 1;
    k.AddLayerNorm("embedding.layer_norm", "embeddings.LayerNorm");
    return k;
  }
  absl::StatusOr<std::shared_ptr<core::Embedding>> Create(const core::v1::ModelConfig& c,
                                                          const core::BuildContext& ctx) const override {
    if (ctx.vocab_size <= 0) return absl::InvalidArgumentError("needs the vocabulary size");
    return std::shared_ptr<core::Embedding>(std::make_shared<BertEmbedding>(c, ctx.vocab_size));
  }
};

}  // namespace
}  // namespace uer::embeddings

UER_REGISTER_FACTORY(uer::embeddings::BertEmbeddingFactory);
