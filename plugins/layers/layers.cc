#include "plugins/layers/layers.h"

#include <cmath>

#include <torch/nn/functional/activation.h>
#include <torch/nn/options/rnn.h>

namespace uer::layers {

torch::Tensor Gelu(const torch::Tensor& x) { return x * 0.5 * (1.0 + torch::erf(x / std::sqrt(2.0))); }

LayerNormOptions LayerNormFromConfig(int64_t size, const core::v1::ModelConfig& config) {
  return LayerNormOptions(size).eps(config.layernorm_eps()).type(config.layernorm());
}

LayerNormImpl::LayerNormImpl(LayerNormOptions options) : options_(options) {
  gamma = register_parameter("gamma", torch::ones({options.size()}));
  beta = register_parameter("beta", torch::zeros({options.size()}));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  if (options_.type() == core::v1::TORCH_VAR) {
    return torch::layer_norm(x, {options_.size()}, gamma, beta, options_.eps());
  }
  torch::Tensor mean = x.mean(-1, /*keepdim=*/true);
  torch::Tensor std = x.std(-1, /*unbiased=*/true, /*keepdim=*/true);
  return gamma * (x - mean) / (std + options_.eps()) + beta;
}

MultiHeadedAttentionImpl::MultiHeadedAttentionImpl(int64_t hidden_size, int64_t heads_num, double dropout)
    : hidden_size_(hidden_size), heads_num_(heads_num), per_head_size_(hidden_size / heads_num) {
  query_ = torch::nn::Linear(hidden_size, hidden_size);
  key_ = torch::nn::Linear(hidden_size, hidden_size);
  value_ = torch::nn::Linear(hidden_size, hidden_size);
  linear_layers_ = register_module("linear_layers", torch::nn::ModuleList(query_, key_, value_));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
  final_linear_ = register_module("final_linear", torch::nn::Linear(hidden_size, hidden_size));
}

torch::Tensor MultiHeadedAttentionImpl::forward(const torch::Tensor& key, const torch::Tensor& value,
                                                const torch::Tensor& query, const torch::Tensor& mask) {
  const int64_t batch = key.size(0), seq = key.size(1);
  auto split = [&](const torch::Tensor& x) { return x.view({batch, -1, heads_num_, per_head_size_}).transpose(1, 2); };
  torch::Tensor q = split(query_->forward(query));
  torch::Tensor k = split(key_->forward(key));
  torch::Tensor v = split(value_->forward(value));
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1));
  scores = scores / std::sqrt(static_cast<double>(per_head_size_));
  scores = scores + mask;
  torch::Tensor probs = torch::softmax(scores, -1);
  probs = dropout_->forward(probs);
  torch::Tensor out = torch::matmul(probs, v).transpose(1, 2).contiguous().view({batch, seq, hidden_size_});
  return final_linear_->forward(out);
}

PositionwiseFeedForwardImpl::PositionwiseFeedForwardImpl(int64_t hidden_size, int64_t feedforward_size) {
  linear_1_ = register_module("linear_1", torch::nn::Linear(hidden_size, feedforward_size));
  linear_2_ = register_module("linear_2", torch::nn::Linear(feedforward_size, hidden_size));
}

torch::Tensor PositionwiseFeedForwardImpl::forward(const torch::Tensor& x) {
  return linear_2_->forward(Gelu(linear_1_->forward(x)));
}

TransformerLayerImpl::TransformerLayerImpl(const core::v1::ModelConfig& c) {
  self_attn_ = register_module("self_attn", MultiHeadedAttention(c.hidden_size(), c.heads_num(), c.dropout()));
  dropout_1_ = register_module("dropout_1", torch::nn::Dropout(c.dropout()));
  layer_norm_1_ = register_module("layer_norm_1", LayerNorm(LayerNormFromConfig(c.hidden_size(), c)));
  feed_forward_ = register_module("feed_forward", PositionwiseFeedForward(c.hidden_size(), c.feedforward_size()));
  dropout_2_ = register_module("dropout_2", torch::nn::Dropout(c.dropout()));
  layer_norm_2_ = register_module("layer_norm_2", LayerNorm(LayerNormFromConfig(c.hidden_size(), c)));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& hidden, const torch::Tensor& mask) {
  torch::Tensor inter = dropout_1_->forward(self_attn_->forward(hidden, hidden, hidden, mask));
  inter = layer_norm_1_->forward(inter + hidden);
  torch::Tensor out = dropout_2_->forward(feed_forward_->forward(inter));
  return layer_norm_2_->forward(out + inter);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> MaskedNll(const torch::Tensor& log_probs,
                                                                  const torch::Tensor& tgt) {
  torch::Tensor label_mask = (tgt > 0).to(log_probs.scalar_type());
  torch::Tensor nll = -log_probs.gather(1, tgt.view({-1, 1})).view({-1});
  torch::Tensor numerator = (label_mask * nll).sum();
  torch::Tensor correct = (label_mask * log_probs.argmax(-1).eq(tgt).to(log_probs.scalar_type())).sum();
  return {numerator, correct, label_mask.sum()};
}

void MlmHead::Register(torch::nn::Module* owner, const core::v1::ModelConfig& c, int64_t vocab_size) {
  hidden_size = c.hidden_size();
  linear_1 = owner->register_module("mlm_linear_1", torch::nn::Linear(c.hidden_size(), c.hidden_size()));
  layer_norm = owner->register_module("layer_norm", LayerNorm(LayerNormFromConfig(c.hidden_size(), c)));
  linear_2 = owner->register_module("mlm_linear_2", torch::nn::Linear(c.hidden_size(), vocab_size));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> MlmHead::Forward(const torch::Tensor& memory_bank,
                                                                         const torch::Tensor& tgt_mlm) {
  torch::Tensor out = layer_norm->forward(Gelu(linear_1->forward(memory_bank)));
  out = out.contiguous().view({-1, hidden_size});
  torch::Tensor tgt = tgt_mlm.contiguous().view({-1});
  torch::Tensor selected = tgt > 0;
  out = out.index({selected});
  tgt = tgt.index({selected});
  torch::Tensor log_probs = torch::log_softmax(linear_2->forward(out), -1);
  torch::Tensor numerator = -log_probs.gather(1, tgt.view({-1, 1})).sum();
  torch::Tensor denominator = torch::tensor(static_cast<float>(static_cast<double>(out.size(0)) + 1e-6));
  torch::Tensor loss = numerator / denominator.to(numerator.device());
  torch::Tensor correct = out.size(0) == 0 ? torch::zeros({}, log_probs.options())
                                           : log_probs.argmax(-1).eq(tgt).to(log_probs.scalar_type()).sum();
  return {loss, correct, denominator};
}

const torch::Tensor& Need(const core::TensorMap& tgt, const char* name) {
  auto it = tgt.find(name);
  TORCH_CHECK(it != tgt.end(), "the target needs the tensor \"", name, "\"");
  return it->second;
}

}  // namespace uer::layers
