// UER-py's AvgSubencoder: the mean of a word's character embeddings over the batch's word width
// (the padding columns' id-0 row included, as UER-py averages them).
#include <torch/nn/modules/embedding.h>

#include "core/plugin_api.h"

namespace uer::subencoders {
namespace {

class AvgSubencoder : public core::Subencoder {
 public:
  AvgSubencoder(const core::v1::ModelConfig& c, int64_t sub_vocab_size)
      : embedding_layer_(register_module("embedding_layer", torch::nn::Embedding(sub_vocab_size, c.emb_size()))) {}
  torch::Tensor Forward(const torch::Tensor& ids) override { return embedding_layer_->forward(ids).mean(1); }

 private:
  torch::nn::Embedding embedding_layer_;
};

class AvgSubencoderFactory : public core::SubencoderFactory {
 public:
  std::string name() const override { return "avg"; }
  std::string help() const override { return "mean of the characters' embeddings"; }
  absl::StatusOr<std::shared_ptr<core::Subencoder>> Create(const core::v1::ModelConfig& c,
                                                           const core::BuildContext& ctx) const override {
    if (ctx.sub_vocab_size < 1) return absl::InvalidArgumentError("no sub vocabulary (--sub_vocab_path)");
    return std::shared_ptr<core::Subencoder>(std::make_shared<AvgSubencoder>(c, ctx.sub_vocab_size));
  }
};

}  // namespace
}  // namespace uer::subencoders

UER_REGISTER_FACTORY(uer::subencoders::AvgSubencoderFactory);
