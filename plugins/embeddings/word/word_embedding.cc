// UER-py's WordEmbedding: word embeddings, LayerNorm, dropout.
#include <torch/nn/modules/embedding.h>

#include "plugins/layers/layers.h"

namespace uer::embeddings {
namespace {

class WordEmbedding : public core::Embedding {
 public:
  WordEmbedding(const core::v1::ModelConfig& c, int64_t vocab_size) {
    dropout_ = register_module("dropout", layers::Dropout(c.dropout()));
    word_ = register_module("word_embedding", torch::nn::Embedding(vocab_size, c.emb_size()));
    layer_norm_ = register_module("layer_norm", layers::LayerNorm(layers::LayerNormFromConfig(c.emb_size(), c)));
  }
  torch::Tensor Forward(const torch::Tensor& src, const torch::Tensor&) override {
    return dropout_->forward(layer_norm_->forward(word_->forward(src)));
  }

 private:
  layers::Dropout dropout_{nullptr};
  torch::nn::Embedding word_{nullptr};
  layers::LayerNorm layer_norm_{nullptr};
};

class WordEmbeddingFactory : public core::EmbeddingFactory {
 public:
  std::string name() const override { return "word"; }
  std::string help() const override { return "word embeddings, LayerNorm, dropout"; }
  std::vector<std::string> VocabularyRows() const override { return {"word_embedding.weight"}; }
  std::vector<core::OldKeyName> OldKeyNames() const override {
    return {{"uer-head", "word.embedding.", "word_embedding."}};
  }
  absl::StatusOr<std::shared_ptr<core::Embedding>> Create(const core::v1::ModelConfig& c,
                                                          const core::BuildContext& ctx) const override {
    if (ctx.vocab_size <= 0) return absl::InvalidArgumentError("needs the vocabulary size");
    return std::shared_ptr<core::Embedding>(std::make_shared<WordEmbedding>(c, ctx.vocab_size));
  }
};

}  // namespace
}  // namespace uer::embeddings

UER_REGISTER_FACTORY(uer::embeddings::WordEmbeddingFactory);
