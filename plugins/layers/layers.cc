#include "plugins/layers/layers.h"

#include <cmath>

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <torch/nn/functional/activation.h>
#include <torch/nn/options/rnn.h>

#include "plugins/layers/rnn_by_length.h"

namespace uer::layers {

void AddMlmHeadKeys(core::HuggingFaceHead* head) {
  head->AddLinear("target.mlm_linear_1", "cls.predictions.transform.dense");
  head->AddLayerNorm("target.layer_norm", "cls.predictions.transform.LayerNorm");
  head->keys.emplace_back("target.mlm_linear_2.weight", "cls.predictions.decoder.weight");
  head->keys.emplace_back("target.mlm_linear_2.bias", "cls.predictions.bias");
}

std::vector<std::string> MlmHeadVocabularyRows() { return {"mlm_linear_2.weight", "mlm_linear_2.bias"}; }

std::vector<core::OldKeyName> MlmHeadOldKeyNames() {
  return {{"uer-head", "mlm.linear_1.", "mlm_linear_1."},
          {"uer-head", "mlm.linear_2.", "mlm_linear_2."},
          {"uer-head", "mlm.layer_norm.", "layer_norm."}};
}

// torch's fused exact GELU: x * 0.5 * (1 + erf(x / sqrt(2))) in one kernel.
torch::Tensor Gelu(const torch::Tensor& x, bool tanh) { return torch::gelu(x, tanh ? "tanh" : "none"); }

bool TanhGelu(const core::v1::ModelConfig& c) { return c.hidden_act() != "gelu"; }

LayerNormOptions LayerNormFromConfig(int64_t size, const core::v1::ModelConfig& config) {
  return LayerNormOptions(size).eps(config.layernorm_eps()).type(config.layernorm());
}

namespace {

// UER-py's LayerNorm, y = gamma * (x - mean) / (std + eps) + beta with the unbiased std, as one
// autograd function: one pass per row forward and one backward, instead of about ten elementwise
// kernels (and their saved tensors) each way. CPU float32; other cases use the composite version.
class UerLayerNormFunction : public torch::autograd::Function<UerLayerNormFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& gamma, const torch::Tensor& beta, double eps) {
    torch::Tensor x = x_in.contiguous();
    const int64_t n = x.size(-1), rows = x.numel() / n;
    torch::Tensor y = torch::empty_like(x);
    torch::Tensor xhat = torch::empty_like(x);
    torch::Tensor inv = torch::empty({rows}, x.options());  // 1 / (std + eps)
    torch::Tensor sigma = torch::empty({rows}, x.options());
    const float* xp = x.data_ptr<float>();
    const float* g = gamma.data_ptr<float>();
    const float* b = beta.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    float* hp = xhat.data_ptr<float>();
    float* ip = inv.data_ptr<float>();
    float* sp = sigma.data_ptr<float>();
    const float feps = static_cast<float>(eps);
    at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* xr = xp + r * n;
        double sum = 0;
        for (int64_t i = 0; i < n; ++i) sum += xr[i];
        const float mean = static_cast<float>(sum / n);
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) {
          const float c = xr[i] - mean;
          ss += static_cast<double>(c) * c;
        }
        const float std = static_cast<float>(std::sqrt(ss / (n - 1)));
        const float iv = 1.0f / (std + feps);
        ip[r] = iv;
        sp[r] = std;
        float* yr = yp + r * n;
        float* hr = hp + r * n;
        for (int64_t i = 0; i < n; ++i) {
          const float h = (xr[i] - mean) * iv;
          hr[i] = h;
          yr[i] = g[i] * h + b[i];
        }
      }
    });
    ctx->save_for_backward({xhat, inv, sigma, gamma});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    torch::Tensor xhat = saved[0], inv = saved[1], sigma = saved[2], gamma = saved[3];
    torch::Tensor dy = grads[0].contiguous();
    const int64_t n = xhat.size(-1), rows = xhat.numel() / n;
    torch::Tensor dx = torch::empty_like(dy);
    const float* dyp = dy.data_ptr<float>();
    const float* hp = xhat.data_ptr<float>();
    const float* ip = inv.data_ptr<float>();
    const float* sp = sigma.data_ptr<float>();
    const float* g = gamma.data_ptr<float>();
    float* dxp = dx.data_ptr<float>();
    at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* d = dyp + r * n;
        const float* h = hp + r * n;
        float* o = dxp + r * n;
        // With c = x - mean, s = std + eps, h = c / s and u = dL/dh = dy * gamma:
        // dL/dc_j = u_j / s - (sum_i u_i c_i) c_j / (s^2 (n - 1) std); then subtract the mean.
        const float iv = ip[r];
        const float std = sp[r];
        double uc = 0, mean_dc = 0;
        for (int64_t i = 0; i < n; ++i) uc += static_cast<double>(d[i] * g[i]) * h[i];  // sum u_i h_i = sum u_i c_i / s
        // c_j = h_j * s, so (sum u c) c_j / (s^2 (n-1) std) = uc * h_j / ((n-1) std)  (one s cancels)
        const float k = std > 0 ? static_cast<float>(uc / ((n - 1) * static_cast<double>(std))) : 0.0f;
        for (int64_t i = 0; i < n; ++i) {
          const float dc = d[i] * g[i] * iv - k * h[i];
          o[i] = dc;
          mean_dc += dc;
        }
        const float m = static_cast<float>(mean_dc / n);
        for (int64_t i = 0; i < n; ++i) o[i] -= m;
      }
    });
    torch::Tensor flat_dy = dy.view({rows, n}), flat_h = xhat.view({rows, n});
    torch::Tensor dgamma = (flat_dy * flat_h).sum(0);
    torch::Tensor dbeta = flat_dy.sum(0);
    return {dx, dgamma, dbeta, torch::Tensor()};
  }
};

}  // namespace

LayerNormImpl::LayerNormImpl(LayerNormOptions options) : options_(options) {
  gamma = register_parameter("gamma", torch::ones({options.size()}));
  beta = register_parameter("beta", torch::zeros({options.size()}));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& low_precision_x) {
  // Normalisation in fp32 whatever the input's precision (bf16 under autocast).
  const torch::Tensor x = low_precision_x.to(torch::kFloat);
  if (options_.type() == core::v1::TORCH_VAR) {
    return torch::layer_norm(x, {options_.size()}, gamma, beta, options_.eps());
  }
  if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && gamma.scalar_type() == torch::kFloat32 &&
      x.size(-1) > 1) {
    return UerLayerNormFunction::apply(x, gamma, beta, options_.eps());
  }
  // Two-pass moments with plain reductions (several times faster on CPU than torch.std's Welford
  // kernel over a short last dimension), then UER-py's formula.
  const int64_t n = x.size(-1);
  torch::Tensor centered = x - x.mean(-1, /*keepdim=*/true);
  torch::Tensor std = (centered * centered).sum(-1, /*keepdim=*/true).div_(static_cast<double>(n - 1)).sqrt_();
  return torch::addcmul(beta, gamma, centered / (std + options_.eps()));
}

MultiHeadedAttentionImpl::MultiHeadedAttentionImpl(int64_t hidden_size, int64_t heads_num, double dropout)
    : hidden_size_(hidden_size), heads_num_(heads_num), per_head_size_(hidden_size / heads_num), dropout_p_(dropout) {
  query_ = torch::nn::Linear(hidden_size, hidden_size);
  key_ = torch::nn::Linear(hidden_size, hidden_size);
  value_ = torch::nn::Linear(hidden_size, hidden_size);
  linear_layers_ = register_module("linear_layers", torch::nn::ModuleList(query_, key_, value_));
  dropout_ = register_module("dropout", Dropout(dropout));
  final_linear_ = register_module("final_linear", torch::nn::Linear(hidden_size, hidden_size));
}

torch::Tensor MultiHeadedAttentionImpl::forward(const torch::Tensor& key, const torch::Tensor& value,
                                                const torch::Tensor& query, const torch::Tensor& mask) {
  const int64_t batch = key.size(0);
  auto split = [&](const torch::Tensor& x) { return x.view({batch, -1, heads_num_, per_head_size_}).transpose(1, 2); };
  torch::Tensor q = split(query_->forward(query));
  torch::Tensor k = split(key_->forward(key));
  torch::Tensor v = split(value_->forward(value));
  return final_linear_->forward(Attend(q, k, v, mask));
}

torch::Tensor MultiHeadedAttentionImpl::forward_packed(const torch::Tensor& x, const PackedPositions& pos,
                                                       const torch::Tensor& mask) {
  // One GEMM for the three projections of the packed tokens, then the [batch, seq] grid that
  // attention works on (zeros at the padding, which the mask or causality keeps out of every
  // token's softmax), and back to the tokens for the output projection.
  torch::Tensor weight = torch::cat({query_->weight, key_->weight, value_->weight});
  torch::Tensor bias = torch::cat({query_->bias, key_->bias, value_->bias});
  torch::Tensor qkv = torch::linear(x, weight, bias);
  torch::Tensor grid = torch::zeros({pos.batch * pos.seq, 3 * hidden_size_}, qkv.options())
                           .index_copy(0, pos.index, qkv)
                           .view({pos.batch, pos.seq, 3, heads_num_, per_head_size_})
                           .permute({2, 0, 3, 1, 4});  // [3, batch, heads, seq, per_head]
  torch::Tensor out = Attend(grid[0], grid[1], grid[2], mask);
  return final_linear_->forward(out.view({pos.batch * pos.seq, hidden_size_}).index_select(0, pos.index));
}

torch::Tensor MultiHeadedAttentionImpl::forward_cached(const torch::Tensor& x, torch::Tensor* keys, torch::Tensor* values) {
  const int64_t batch = x.size(0), fresh = x.size(1);
  auto split = [&](const torch::Tensor& t) { return t.view({batch, -1, heads_num_, per_head_size_}).transpose(1, 2); };
  torch::Tensor q = split(query_->forward(x));
  torch::Tensor k = split(key_->forward(x));
  torch::Tensor v = split(value_->forward(x));
  *keys = keys->defined() ? torch::cat({*keys, k}, 2) : k;
  *values = values->defined() ? torch::cat({*values, v}, 2) : v;
  const int64_t seen = keys->size(2) - fresh;
  // New position i (absolute seen + i) sees keys 0 .. seen + i, as the causal mask of forward.
  torch::Tensor allowed = torch::ones({fresh, seen + fresh}, x.options()).tril(seen);
  return final_linear_->forward(Attend(q, *keys, *values, (1.0 - allowed) * -10000.0));
}

torch::Tensor MultiHeadedAttentionImpl::Attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                               const torch::Tensor& mask) {
  const int64_t batch = q.size(0), seq = q.size(2);
  // UER-py's attention. (torch's scaled_dot_product_attention falls back to this math on CPU with
  // a float mask, and draws its dropout with the slow bernoulli_.)
  // q is scaled by 1/sqrt(d) before the product (a [batch, heads, seq, d] pass instead of one over
  // the [batch, heads, seq, seq] scores).
  torch::Tensor scores = torch::matmul(q * (1.0 / std::sqrt(static_cast<double>(per_head_size_))), k.transpose(-2, -1));
  scores = scores + mask;
  torch::Tensor probs = torch::softmax(scores, -1);
  probs = dropout_->forward(probs);
  return torch::matmul(probs, v).transpose(1, 2).contiguous().view({batch, seq, hidden_size_});
}

PositionwiseFeedForwardImpl::PositionwiseFeedForwardImpl(int64_t hidden_size, int64_t feedforward_size, bool tanh_gelu)
    : tanh_gelu_(tanh_gelu) {
  linear_1_ = register_module("linear_1", torch::nn::Linear(hidden_size, feedforward_size));
  linear_2_ = register_module("linear_2", torch::nn::Linear(feedforward_size, hidden_size));
}

torch::Tensor PositionwiseFeedForwardImpl::forward(const torch::Tensor& x) {
  return linear_2_->forward(Gelu(linear_1_->forward(x), tanh_gelu_));
}

TransformerLayerImpl::TransformerLayerImpl(const core::v1::ModelConfig& c) {
  self_attn_ = register_module("self_attn", MultiHeadedAttention(c.hidden_size(), c.heads_num(), c.dropout()));
  dropout_1_ = register_module("dropout_1", Dropout(c.dropout()));
  layer_norm_1_ = register_module("layer_norm_1", LayerNorm(LayerNormFromConfig(c.hidden_size(), c)));
  feed_forward_ = register_module("feed_forward", PositionwiseFeedForward(c.hidden_size(), c.feedforward_size(), TanhGelu(c)));
  dropout_2_ = register_module("dropout_2", Dropout(c.dropout()));
  layer_norm_2_ = register_module("layer_norm_2", LayerNorm(LayerNormFromConfig(c.hidden_size(), c)));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& hidden, const torch::Tensor& mask) {
  torch::Tensor inter = dropout_1_->forward(self_attn_->forward(hidden, hidden, hidden, mask));
  return FeedForward(inter, hidden);
}

torch::Tensor TransformerLayerImpl::forward_packed(const torch::Tensor& hidden, const PackedPositions& pos,
                                                   const torch::Tensor& mask) {
  return FeedForward(dropout_1_->forward(self_attn_->forward_packed(hidden, pos, mask)), hidden);
}

torch::Tensor TransformerLayerImpl::forward_cached(const torch::Tensor& hidden, torch::Tensor* keys,
                                                   torch::Tensor* values) {
  return FeedForward(dropout_1_->forward(self_attn_->forward_cached(hidden, keys, values)), hidden);
}

torch::Tensor TransformerLayerImpl::FeedForward(const torch::Tensor& attended, const torch::Tensor& hidden) {
  torch::Tensor inter = layer_norm_1_->forward(attended + hidden);
  torch::Tensor out = dropout_2_->forward(feed_forward_->forward(inter));
  return layer_norm_2_->forward(out + inter);
}

std::optional<PackedPositions> PackPositions(const torch::Tensor& seg, bool require_trailing) {
  torch::Tensor real = seg > 0;
  torch::Tensor lengths = real.sum(1);
  const int64_t batch = seg.size(0), seq = seg.size(1);
  const int64_t tokens = lengths.sum().item<int64_t>();
  if (tokens == batch * seq || tokens == 0) return std::nullopt;  // nothing to skip, or nothing to keep
  // The columns after the last token of every row are dropped from the grid altogether.
  torch::Tensor any_real = real.any(0);
  const int64_t width = seq - any_real.flip({0}).to(torch::kInt).argmax().item<int64_t>();
  if (require_trailing && !TrailingLengths(seg)) return std::nullopt;
  real = real.narrow(1, 0, width);
  PackedPositions pos;
  pos.batch = batch;
  pos.seq = width;
  pos.index = real.reshape({-1}).nonzero().view({-1});
  pos.source_index = pos.index.div(width, "floor").mul_(seq).add_(pos.index.remainder(width));
  pos.real = real;
  return pos;
}

namespace {

inline uint64_t SplitMix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Dropout as one parallel pass: a counter-based generator (SplitMix64 of the element index and a
// seed drawn from torch's generator, so runs are reproducible and resumable) decides each element
// with 24-bit resolution, and the kept elements are scaled by 1 / (1 - p). Backward multiplies by the
// saved mask. torch.nn.Dropout's bernoulli_ draws element by element from one locked generator.
class FastDropoutFunction : public torch::autograd::Function<FastDropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in, double p) {
    torch::Tensor x = x_in.contiguous();
    const uint64_t seed = static_cast<uint64_t>(torch::randint(INT64_MAX, {1}, torch::kLong).item<int64_t>());
    const uint32_t threshold = static_cast<uint32_t>(p * 16777216.0);  // keep when r >= threshold
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    torch::Tensor y = torch::empty_like(x);
    torch::Tensor mask = torch::empty(x.sizes(), x.options().dtype(torch::kUInt8));
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    uint8_t* mp = mask.data_ptr<uint8_t>();
    at::parallel_for(0, x.numel(), 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const uint32_t r = static_cast<uint32_t>(SplitMix64(seed ^ static_cast<uint64_t>(i)) >> 40);
        const uint8_t keep = r >= threshold;
        mp[i] = keep;
        yp[i] = xp[i] * (static_cast<float>(keep) * scale);
      }
    });
    ctx->save_for_backward({mask});
    ctx->saved_data["scale"] = static_cast<double>(scale);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    torch::Tensor mask = ctx->get_saved_variables()[0];
    const float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    torch::Tensor g = grads[0].contiguous();
    torch::Tensor dx = torch::empty_like(g);
    const float* gp = g.data_ptr<float>();
    const uint8_t* mp = mask.data_ptr<uint8_t>();
    float* dp = dx.data_ptr<float>();
    at::parallel_for(0, g.numel(), 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) dp[i] = gp[i] * (static_cast<float>(mp[i]) * scale);
    });
    return {dx, torch::Tensor()};
  }
};

// -log softmax(logits)[target] per row (logsumexp minus the target's logit) and the argmax of each
// row; backward writes softmax - onehot (times the incoming gradient) in three vectorised passes.
// Replaces log_softmax, gather and their backward passes (which fill [N, V] zeros for the gather
// and run log_softmax's backward over them).
class SoftmaxNllFunction : public torch::autograd::Function<SoftmaxNllFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& logits,
                                                const torch::Tensor& target) {
    torch::Tensor lse = torch::logsumexp(logits, {1});
    torch::Tensor nll = lse - logits.gather(1, target.view({-1, 1})).view({-1});
    torch::Tensor argmax = logits.argmax(1);
    ctx->save_for_backward({logits, target, lse});
    ctx->mark_non_differentiable({argmax});
    return {nll, argmax};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const torch::Tensor& logits = saved[0];
    const torch::Tensor& target = saved[1];
    const torch::Tensor& lse = saved[2];
    torch::Tensor g = grads[0].view({-1, 1});
    // d nll / d logits = softmax - onehot(target), times the incoming gradient of each row.
    torch::Tensor dx = (logits - lse.unsqueeze(1)).exp_().mul_(g);
    dx.scatter_add_(1, target.view({-1, 1}), -g);
    return {dx, torch::Tensor()};
  }
};

}  // namespace

std::tuple<torch::Tensor, torch::Tensor> SoftmaxNll(const torch::Tensor& low_precision_logits, const torch::Tensor& target) {
  // Losses in fp32 whatever the logits' precision (bf16 under autocast).
  const torch::Tensor logits = low_precision_logits.to(torch::kFloat);
  if (logits.device().is_cpu() && logits.scalar_type() == torch::kFloat32 && logits.dim() == 2) {
    torch::autograd::variable_list out = SoftmaxNllFunction::apply(logits, target);
    return {out[0], out[1]};
  }
  torch::Tensor log_probs = torch::log_softmax(logits, -1);
  return {-log_probs.gather(1, target.view({-1, 1})).view({-1}), log_probs.argmax(-1)};
}

DropoutImpl::DropoutImpl(double p) : p_(p) {}

torch::Tensor DropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p_ <= 0.0) return x;
  if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32) return FastDropoutFunction::apply(x, p_);
  torch::Tensor keep = torch::rand_like(x) >= p_;
  return x * keep.to(x.scalar_type()) * (1.0 / (1.0 - p_));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> MaskedNll(const torch::Tensor& logits,
                                                                  const torch::Tensor& tgt) {
  torch::Tensor label_mask = (tgt > 0).to(logits.scalar_type());
  auto [nll, argmax] = SoftmaxNll(logits, tgt);
  torch::Tensor numerator = (label_mask * nll).sum();
  torch::Tensor correct = (label_mask * argmax.eq(tgt).to(logits.scalar_type())).sum();
  return {numerator, correct, label_mask.sum()};
}

void MlmHead::Register(torch::nn::Module* owner, const core::v1::ModelConfig& c, int64_t vocab_size) {
  hidden_size = c.hidden_size();
  tanh_gelu = TanhGelu(c);
  linear_1 = owner->register_module("mlm_linear_1", torch::nn::Linear(c.hidden_size(), c.hidden_size()));
  layer_norm = owner->register_module("layer_norm", LayerNorm(LayerNormFromConfig(c.hidden_size(), c)));
  linear_2 = owner->register_module("mlm_linear_2", torch::nn::Linear(c.hidden_size(), vocab_size));
}

MlmHead::Output MlmHead::Forward(const torch::Tensor& memory_bank, const torch::Tensor& tgt_mlm) {
  // The head works on each position alone, so the positions that count are picked first.
  torch::Tensor tgt = tgt_mlm.contiguous().view({-1});
  torch::Tensor selected = tgt > 0;
  torch::Tensor out = memory_bank.contiguous().view({-1, hidden_size}).index({selected});
  tgt = tgt.index({selected});
  out = layer_norm->forward(Gelu(linear_1->forward(out), tanh_gelu));
  auto [nll, argmax] = SoftmaxNll(linear_2->forward(out), tgt);
  torch::Tensor numerator = nll.sum();
  torch::Tensor denominator = torch::tensor(static_cast<float>(static_cast<double>(out.size(0)) + 1e-6));
  torch::Tensor loss = numerator / denominator.to(numerator.device());
  torch::Tensor correct = out.size(0) == 0 ? torch::zeros({}, out.options())
                                           : argmax.eq(tgt).to(out.scalar_type()).sum();
  return {loss, correct, denominator,
          {numerator, torch::tensor(static_cast<double>(out.size(0)), torch::kDouble), 1e-6}};
}

torch::Tensor MlmHead::Logits(const torch::Tensor& memory_bank) {
  return linear_2->forward(layer_norm->forward(Gelu(linear_1->forward(memory_bank), tanh_gelu)));
}

const torch::Tensor& Need(const core::TensorMap& tgt, const char* name) {
  auto it = tgt.find(name);
  TORCH_CHECK(it != tgt.end(), "the target needs the tensor \"", name, "\"");
  return it->second;
}

}  // namespace uer::layers
