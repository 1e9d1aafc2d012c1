#include "plugins/layers/conv_stack.h"

#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv1d.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/zeros.h>

#include "plugins/layers/rnn_by_length.h"

namespace uer::layers {

void CausalConvStack::Register(torch::nn::Module* owner, const CausalConvOptions& o) {
  options_ = o;
  const int64_t h = o.hidden_size(), k = o.kernel_size();
  auto first = [&] { return torch::nn::Conv2d(torch::nn::Conv2dOptions(1, h, {k, o.input_size()})); };
  auto inner = [&] { return torch::nn::Conv2d(torch::nn::Conv2dOptions(h, h, {k, 1})); };
  conv_1_ = owner->register_module("conv_1", first());
  if (o.gated()) gate_1_ = owner->register_module("gate_1", first());
  const bool biases = o.gated() && o.residual() == GatedResidual::kHead;
  if (biases) {
    conv_b1_ = owner->register_parameter("conv_b1", torch::randn({1, h, 1, 1}));
    gate_b1_ = owner->register_parameter("gate_b1", torch::randn({1, h, 1, 1}));
  }
  auto convs = [&](const char* name, std::vector<torch::nn::Conv2d>* out) {
    auto list = owner->register_module(name, torch::nn::ModuleList());
    for (int64_t i = 0; i < o.inner_layers(); ++i) {
      out->push_back(inner());
      list->push_back(out->back());
    }
  };
  auto bias_list = [&](const char* name, std::vector<torch::Tensor>* out) {
    auto list = owner->register_module(name, torch::nn::ParameterList());
    for (int64_t i = 0; i < o.inner_layers(); ++i) {
      list->append(torch::randn({1, h, 1, 1}));
      out->push_back(list->at(i));
    }
  };
  convs("conv", &conv_);
  if (o.gated()) convs("gate", &gate_);
  if (biases) {
    bias_list("conv_b", &conv_b_);
    bias_list("gate_b", &gate_b_);
  }
}

namespace {

// A Conv2d's weight as a 1-D convolution's [out, in, k]: the first layer's [H, 1, k, E] reads the
// embedding's features as channels, an inner layer's [H, H, k, 1] its channels.
torch::Tensor Weight1d(const torch::nn::Conv2d& conv, bool first) {
  return first ? conv->weight.squeeze(1).transpose(1, 2) : conv->weight.squeeze(3);
}

}  // namespace

torch::Tensor CausalConvStack::Layer(const torch::Tensor& padded, const torch::nn::Conv2d& conv,
                                     const torch::nn::Conv2d& gate, const torch::Tensor& conv_bias,
                                     const torch::Tensor& gate_bias, bool first) const {
  torch::Tensor h = at::conv1d(padded, Weight1d(conv, first), conv->bias);
  if (!options_.gated()) return h;
  torch::Tensor g = at::conv1d(padded, Weight1d(gate, first), gate->bias);
  if (conv_bias.defined()) {
    h = h + conv_bias.view({1, -1, 1});
    g = g + gate_bias.view({1, -1, 1});
  }
  return h * at::sigmoid(g);
}

torch::Tensor CausalConvStack::Forward(const torch::Tensor& x) const {
  const int64_t pad = options_.kernel_size() - 1;
  const bool seed_rule = options_.residual() == GatedResidual::kSeed;
  const bool head_rule = options_.gated() && options_.residual() == GatedResidual::kHead;
  torch::Tensor input = x.transpose(1, 2);  // [batch, features, seq]
  torch::Tensor h = Layer(at::constant_pad_nd(input, {pad, 0}), conv_1_, gate_1_, conv_b1_, gate_b1_, true);
  torch::Tensor residual;
  if (options_.gated()) residual = head_rule ? h : input;
  for (int64_t i = 0; i < options_.inner_layers(); ++i) {
    const bool gated = options_.gated();
    h = Layer(at::constant_pad_nd(h, {pad, 0}), conv_[i], gated ? gate_[i] : torch::nn::Conv2d(nullptr),
              head_rule ? conv_b_[i] : torch::Tensor(), head_rule ? gate_b_[i] : torch::Tensor(), false);
    if (gated && (seed_rule ? (i + 1) % options_.block_size() != 0 : (i + 1) % options_.block_size() == 0)) {
      h = h + residual;
      residual = h;
    }
  }
  return h.transpose(1, 2).contiguous();
}

torch::Tensor CutTrailingPadding(const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& x,
                                 const torch::Tensor& seg) {
  std::optional<torch::Tensor> lengths = TrailingLengths(seg);
  if (!lengths) return f(x);
  const int64_t seq = x.size(1), longest = lengths->max().item<int64_t>();
  torch::Tensor out = f(x.narrow(1, 0, longest));
  out = out.masked_fill((seg.narrow(1, 0, longest) == 0).unsqueeze(-1), 0.0);
  return at::constant_pad_nd(out, {0, 0, 0, seq - longest});
}

absl::Status ValidateConvEncoder(const core::v1::ModelConfig& c, const std::string& encoder, bool same_width) {
  auto bad = [&](const std::string& what) { return absl::InvalidArgumentError("encoder " + encoder + ": " + what); };
  if (c.kernel_size() < 1) return bad("field \"kernel_size\" must be at least 1, got " + std::to_string(c.kernel_size()));
  if (c.kernel_size() > c.max_seq_length()) {
    return bad("field \"kernel_size\" (" + std::to_string(c.kernel_size()) + ") is larger than the longest sequence, \"max_seq_length\" (" +
               std::to_string(c.max_seq_length()) + ")");
  }
  if (c.layers_num() < 1) return bad("field \"layers_num\" must be at least 1, got " + std::to_string(c.layers_num()));
  if (c.block_size() < 1) return bad("field \"block_size\" must be at least 1, got " + std::to_string(c.block_size()));
  if (c.hidden_size() < 1 || c.emb_size() < 1) return bad("fields \"emb_size\" and \"hidden_size\" must be positive");
  if (same_width && c.emb_size() != c.hidden_size()) {
    return bad("fields \"emb_size\" (" + std::to_string(c.emb_size()) + ") and \"hidden_size\" (" + std::to_string(c.hidden_size()) +
               ") must be equal (UER-py's " + encoder + " reads the embedding at the hidden width)");
  }
  return absl::OkStatus();
}

}  // namespace uer::layers
