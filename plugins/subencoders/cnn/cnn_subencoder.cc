// UER-py's CnnSubencoder: character embeddings, k - 1 zero rows before them, one convolution
// Conv2d(1, emb_size, (kernel_size, emb_size)) (key subencoder.cnn, weight [E, 1, k, E]), ReLU, and
// the maximum over the word width.
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv1d.h>
#include <ATen/ops/relu.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>

#include "core/plugin_api.h"

namespace uer::subencoders {
namespace {

class CnnSubencoder : public core::Subencoder {
 public:
  CnnSubencoder(const core::v1::ModelConfig& c, int64_t sub_vocab_size) : kernel_size_(c.kernel_size()) {
    embedding_layer_ = register_module("embedding_layer", torch::nn::Embedding(sub_vocab_size, c.emb_size()));
    cnn_ = register_module("cnn", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, c.emb_size(), {c.kernel_size(), c.emb_size()})));
  }
  torch::Tensor Forward(const torch::Tensor& ids) override {
    torch::Tensor emb = embedding_layer_->forward(ids).transpose(1, 2);  // [words, E, width]
    torch::Tensor padded = at::constant_pad_nd(emb, {kernel_size_ - 1, 0});
    torch::Tensor conv = at::relu(at::conv1d(padded, cnn_->weight.squeeze(1).transpose(1, 2), cnn_->bias));
    return std::get<0>(conv.max(2));
  }

 private:
  int64_t kernel_size_;
  torch::nn::Embedding embedding_layer_{nullptr};
  torch::nn::Conv2d cnn_{nullptr};
};

class CnnSubencoderFactory : public core::SubencoderFactory {
 public:
  std::string name() const override { return "cnn"; }
  std::string help() const override { return "a convolution over the characters, max-pooled"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    if (c.kernel_size() < 1) {
      return absl::InvalidArgumentError("field \"kernel_size\" must be at least 1, got " + std::to_string(c.kernel_size()));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<core::Subencoder>> Create(const core::v1::ModelConfig& c,
                                                           const core::BuildContext& ctx) const override {
    if (ctx.sub_vocab_size < 1) return absl::InvalidArgumentError("no sub vocabulary (--sub_vocab_path)");
    return std::shared_ptr<core::Subencoder>(std::make_shared<CnnSubencoder>(c, ctx.sub_vocab_size));
  }
};

}  // namespace
}  // namespace uer::subencoders

UER_REGISTER_FACTORY(uer::subencoders::CnnSubencoderFactory);
