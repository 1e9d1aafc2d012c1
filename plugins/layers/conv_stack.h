// The causal convolution stack of UER-py's cnn, gatedcnn, rcnn and crnn encoders, with its own
// options (not the model config), for any encoder that wants one:
//
//   CausalConvStack stack;
//   stack.Register(this, CausalConvOptions(emb_size, hidden_size, kernel_size, layers_num - 1).gated(true));
//   torch::Tensor h = stack.Forward(emb);   // [batch, seq, emb_size] -> [batch, seq, hidden_size]
//
// A first convolution `conv_1` (UER-py's Conv2d(1, H, (k, input_size)), weight [H, 1, k, input])
// and `inner_layers` convolutions `conv.{i}` (Conv2d(H, H, (k, 1)), weight [H, H, k, 1]), each fed
// k - 1 zero rows before the sequence, so position t sees positions <= t only. No activation, no
// dropout, no normalisation (UER-py's math); gated: each convolution times sigmoid of its twin
// `gate_1` / `gate.{i}`, with a residual every block_size layers by one of two rules (below). The
// parameters keep UER-py's Conv2d shapes; the work is done as 1-D convolutions over the sequence.
#ifndef UER_PLUGINS_LAYERS_CONV_STACK_H_
#define UER_PLUGINS_LAYERS_CONV_STACK_H_

#include <functional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/parameterlist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "core/config.h"

namespace uer::layers {

// Where a gated stack adds its residual.
enum class GatedResidual {
  // UER-py's seed (caef999): after inner layer i when (i + 1) % block_size != 0, the first residual
  // being the input itself (so input_size must equal hidden_size).
  kSeed,
  // UER-py since 4d2b1c1: when (i + 1) % block_size == 0, the first residual being the first gated
  // output; with a learned bias on every convolution and gate (conv_b1, gate_b1, conv_b.{i},
  // gate_b.{i}, [1, H, 1, 1]).
  kHead,
};

struct CausalConvOptions {
  CausalConvOptions(int64_t input_size, int64_t hidden_size, int64_t kernel_size, int64_t inner_layers)
      : input_size_(input_size), hidden_size_(hidden_size), kernel_size_(kernel_size), inner_layers_(inner_layers) {}
  TORCH_ARG(int64_t, input_size);
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, inner_layers);
  TORCH_ARG(bool, gated) = false;
  TORCH_ARG(GatedResidual, residual) = GatedResidual::kSeed;
  TORCH_ARG(int64_t, block_size) = 2;
};

class CausalConvStack {
 public:
  // Registers conv_1 [, gate_1, conv_b1, gate_b1], conv [, gate, conv_b, gate_b] on `owner`, in
  // UER-py's order.
  void Register(torch::nn::Module* owner, const CausalConvOptions& options);
  // x [batch, seq, input_size] -> [batch, seq, hidden_size].
  torch::Tensor Forward(const torch::Tensor& x) const;

 private:
  torch::Tensor Layer(const torch::Tensor& padded, const torch::nn::Conv2d& conv, const torch::nn::Conv2d& gate,
                      const torch::Tensor& conv_bias, const torch::Tensor& gate_bias, bool first) const;
  CausalConvOptions options_{0, 0, 1, 0};
  torch::nn::Conv2d conv_1_{nullptr}, gate_1_{nullptr};
  torch::Tensor conv_b1_, gate_b1_;
  std::vector<torch::nn::Conv2d> conv_, gate_;
  std::vector<torch::Tensor> conv_b_, gate_b_;
};

// For encoders whose output at a token depends on no later position (causal convolutions,
// left-to-right RNNs): runs `f` on the batch cut after its longest row when all padding of `seg`
// is trailing, and writes zeros at the padding; otherwise runs `f` on the whole batch.
torch::Tensor CutTrailingPadding(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                                 const torch::Tensor& x, const torch::Tensor& seg);

// The checks every convolutional encoder makes of the model config, naming the field:
// kernel_size in 1..max_seq_length, layers_num >= 1, block_size >= 1, and with `same_width`
// (a residual or recurrence reading the embedding at the hidden width) emb_size == hidden_size.
absl::Status ValidateConvEncoder(const core::v1::ModelConfig& config, const std::string& encoder, bool same_width);

}  // namespace uer::layers

#endif  // UER_PLUGINS_LAYERS_CONV_STACK_H_
