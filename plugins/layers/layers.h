// Building blocks shared by the built-in embedding, encoder and target plugins, with UER-py's
// parameter names and math (layers/*.py of the seed version). Linked into each plugin that uses
// them; they hold no global state.
//
//   LayerNorm ln(LayerNormOptions(768));                 // gamma * (x - mean) / (std + eps) + beta
//   TransformerLayer layer(TransformerOptions(768, 12, 3072).dropout(0.1));
//   torch::Tensor h = layer->forward(x, additive_mask);  // mask: [batch, 1, seq, seq], 0 or -10000
#ifndef UER_PLUGINS_LAYERS_LAYERS_H_
#define UER_PLUGINS_LAYERS_LAYERS_H_

#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "core/plugin_api.h"

namespace uer::layers {

// Exact (erf) GELU, as UER-py's act_fun.gelu.
// GELU, exact (erf) or its tanh approximation.
torch::Tensor Gelu(const torch::Tensor& x, bool tanh = false);
// Whether the config's hidden_act is the tanh approximation.
bool TanhGelu(const core::v1::ModelConfig& config);

// Dropout that is an identity in eval mode or with p = 0 (no random draws then).
class DropoutImpl : public torch::nn::Module {
 public:
  explicit DropoutImpl(double p);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double p_;
};
TORCH_MODULE(Dropout);

struct LayerNormOptions {
  explicit LayerNormOptions(int64_t size) : size_(size) {}
  TORCH_ARG(int64_t, size);
  TORCH_ARG(double, eps) = 1e-6;
  // UER_STD: gamma * (x - mean) / (unbiased std + eps) + beta; TORCH_VAR: torch.nn.LayerNorm.
  TORCH_ARG(core::v1::LayerNormType, type) = core::v1::UER_STD;
};

class LayerNormImpl : public torch::nn::Module {
 public:
  explicit LayerNormImpl(LayerNormOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor gamma, beta;

 private:
  LayerNormOptions options_;
};
TORCH_MODULE(LayerNorm);

LayerNormOptions LayerNormFromConfig(int64_t size, const core::v1::ModelConfig& config);

// The tokens of a padded [batch, seq] batch (seg > 0), for layers that work on the tokens alone.
struct PackedPositions {
  int64_t batch = 0, seq = 0;  // the grid: `seq` is cut after the last token of any row
  torch::Tensor index;         // [tokens] positions of the tokens in the flattened [batch, seq] grid
  torch::Tensor source_index;  // [tokens] the same positions in the original [batch, seq_length]
  torch::Tensor real;          // [batch, seq] bool, true at the tokens
};

// The tokens of `seg`, or nullopt when packing saves nothing (no padding) or, with
// `require_trailing`, when TrailingLengths refuses `seg` (causal models need trailing padding).
std::optional<PackedPositions> PackPositions(const torch::Tensor& seg, bool require_trailing);

class MultiHeadedAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadedAttentionImpl(int64_t hidden_size, int64_t heads_num, double dropout);
  // key, value, query: [batch, seq, hidden]; mask: additive, broadcastable to [batch, heads, seq, seq].
  torch::Tensor forward(const torch::Tensor& key, const torch::Tensor& value, const torch::Tensor& query,
                        const torch::Tensor& mask);
  // Self-attention over packed tokens x [tokens, hidden] (PackPositions); mask as above over
  // [pos.batch, pos.seq]. Returns [tokens, hidden]: what forward gives at those positions.
  torch::Tensor forward_packed(const torch::Tensor& x, const PackedPositions& pos, const torch::Tensor& mask);
  // Causal self-attention of new positions x [batch, new, hidden] over the positions seen before:
  // their keys and values [batch, heads, seen, per_head] are in *keys / *values (undefined at the
  // start) and gain the new ones. What forward gives at those positions with a causal mask.
  torch::Tensor forward_cached(const torch::Tensor& x, torch::Tensor* keys, torch::Tensor* values);

 private:
  // q, k, v [batch, heads, seq, per_head] -> [batch, seq, hidden] before the output projection.
  torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& mask);
  int64_t hidden_size_, heads_num_, per_head_size_;
  double dropout_p_;
  torch::nn::ModuleList linear_layers_{nullptr};
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, final_linear_{nullptr};
  Dropout dropout_{nullptr};
};
TORCH_MODULE(MultiHeadedAttention);

class PositionwiseFeedForwardImpl : public torch::nn::Module {
 public:
  PositionwiseFeedForwardImpl(int64_t hidden_size, int64_t feedforward_size, bool tanh_gelu = false);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear linear_1_{nullptr}, linear_2_{nullptr};
  bool tanh_gelu_;
};
TORCH_MODULE(PositionwiseFeedForward);

// Post-LayerNorm transformer layer (BERT's).
class TransformerLayerImpl : public torch::nn::Module {
 public:
  explicit TransformerLayerImpl(const core::v1::ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& mask);
  // The same layer on packed tokens [tokens, hidden] (see MultiHeadedAttention::forward_packed).
  torch::Tensor forward_packed(const torch::Tensor& hidden, const PackedPositions& pos, const torch::Tensor& mask);
  // The same layer, causal, on new positions with a key/value cache (MultiHeadedAttention::forward_cached).
  torch::Tensor forward_cached(const torch::Tensor& hidden, torch::Tensor* keys, torch::Tensor* values);

 private:
  torch::Tensor FeedForward(const torch::Tensor& attended, const torch::Tensor& hidden);
  MultiHeadedAttention self_attn_{nullptr};
  PositionwiseFeedForward feed_forward_{nullptr};
  LayerNorm layer_norm_1_{nullptr}, layer_norm_2_{nullptr};
  Dropout dropout_1_{nullptr}, dropout_2_{nullptr};
};
TORCH_MODULE(TransformerLayer);

// UER-py's masked-LM head: gelu(linear_1) -> LayerNorm -> linear_2 on the positions with tgt > 0,
// with the parameter names `prefix`linear_1/2 and `ln_name` registered on `owner`.
struct MlmHead {
  torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};
  LayerNorm layer_norm{nullptr};
  int64_t hidden_size = 0;
  bool tanh_gelu = false;
  void Register(torch::nn::Module* owner, const core::v1::ModelConfig& config, int64_t vocab_size);
  // UER-py's mlm(): loss, correct, denominator; and the loss as a term (its sum and count).
  struct Output {
    torch::Tensor loss, correct, denominator;
    core::LossTerm term;
  };
  Output Forward(const torch::Tensor& memory_bank, const torch::Tensor& tgt_mlm);
  // The vocabulary logits at every position: linear_2(LayerNorm(gelu(linear_1(h)))).
  torch::Tensor Logits(const torch::Tensor& memory_bank);
};

// The mlm head's names in UER-py's newest keys (mlm.linear_1/2, mlm.layer_norm) for the seed's
// (mlm_linear_1/2, layer_norm).
std::vector<core::OldKeyName> MlmHeadOldKeyNames();
// The MLM head's tensors (MlmHead, under "target.") under transformers' names (cls.predictions.*:
// its decoder weight and bias included, which transformers' files may leave out when tied).
void AddMlmHeadKeys(core::HuggingFaceHead* head);
// The MLM head's tensors over the vocabulary (relative to the target), older names included.
std::vector<std::string> MlmHeadVocabularyRows();

// Per row of [N, V] logits: -log softmax[target] and the argmax (a fused kernel on CPU).
std::tuple<torch::Tensor, torch::Tensor> SoftmaxNll(const torch::Tensor& logits, const torch::Tensor& target);

// -log p(tgt) summed over positions with tgt > 0, the count of correct argmaxes there and the count
// of such positions, for [N, vocab] logits (UER-py's one-hot formulation).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> MaskedNll(const torch::Tensor& logits,
                                                                  const torch::Tensor& tgt);

// A target tensor by name, or an InvalidArgument-style exception message for TORCH_CHECK.
const torch::Tensor& Need(const core::TensorMap& tgt, const char* name);

}  // namespace uer::layers

#endif  // UER_PLUGINS_LAYERS_LAYERS_H_
