// UER-py's LstmSubencoder (and its GRU twin, which UER-py's seed offers as a choice but never
// built): character embeddings through a recurrent stack of sub_layers_num layers of emb_size
// units (dropout between layers, zero initial state), averaged over the batch's word width.
#ifndef UER_PLUGINS_LAYERS_RNN_SUBENCODER_H_
#define UER_PLUGINS_LAYERS_RNN_SUBENCODER_H_

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/rnn.h>

#include "core/plugin_api.h"

namespace uer::subencoders {

template <typename Rnn, typename RnnOptions>
class RnnSubencoder : public core::Subencoder {
 public:
  RnnSubencoder(const core::v1::ModelConfig& c, int64_t sub_vocab_size) {
    embedding_layer_ = register_module("embedding_layer", torch::nn::Embedding(sub_vocab_size, c.emb_size()));
    rnn_ = register_module("rnn", Rnn(RnnOptions(c.emb_size(), c.emb_size())
                                          .num_layers(c.sub_layers_num())
                                          .dropout(c.dropout())
                                          .batch_first(true)));
  }
  torch::Tensor Forward(const torch::Tensor& ids) override {
    return std::get<0>(rnn_->forward(embedding_layer_->forward(ids))).mean(1);
  }

 private:
  torch::nn::Embedding embedding_layer_{nullptr};
  Rnn rnn_{nullptr};
};

template <typename Rnn, typename RnnOptions>
class RnnSubencoderFactory : public core::SubencoderFactory {
 public:
  RnnSubencoderFactory(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}
  std::string name() const override { return name_; }
  std::string help() const override { return help_; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    if (c.sub_layers_num() < 1) {
      return absl::InvalidArgumentError("field \"sub_layers_num\" must be at least 1, got " + std::to_string(c.sub_layers_num()));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<core::Subencoder>> Create(const core::v1::ModelConfig& c,
                                                           const core::BuildContext& ctx) const override {
    if (ctx.sub_vocab_size < 1) return absl::InvalidArgumentError("no sub vocabulary (--sub_vocab_path)");
    return std::shared_ptr<core::Subencoder>(std::make_shared<RnnSubencoder<Rnn, RnnOptions>>(c, ctx.sub_vocab_size));
  }

 private:
  std::string name_, help_;
};

}  // namespace uer::subencoders

#endif  // UER_PLUGINS_LAYERS_RNN_SUBENCODER_H_
