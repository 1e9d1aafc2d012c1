#include "core/runtime/optimizer.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <ATen/Parallel.h>
#include <ATen/ops/_amp_foreach_non_finite_check_and_unscale.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace uer::runtime {
using namespace ::uer::core;  // NOLINT: the SDK types the runtime works with

namespace {

// The factor of each of UER-py HEAD's schedulers (its uer/utils/optimizers.py, transformers' and
// fairseq's formulas) at step k, with warmup and decay step counts as HEAD computes them: floats.
double HeadFactor(const std::string& name, double k, double total, double warmup, double decay, double lr) {
  const double warm = k / std::max(1.0, warmup);
  if (name == "constant") return 1.0;
  if (name == "constant_with_warmup") return k < warmup ? warm : 1.0;
  if (name == "tri_stage") {
    constexpr double kInit = 0.01, kFinal = 0.05;
    if (k < warmup) return (lr * kInit + k * ((lr - lr * kInit) / warmup)) / lr;
    if (k < total - decay) return 1.0;
    if (k <= total) return std::exp(std::log(kFinal) / std::max(decay, 1.0) * (k - total + decay));
    return lr * kFinal / lr;
  }
  if (name == "inverse_sqrt") {
    if (k < warmup) return (k * (lr / warmup)) / lr;
    if (k > total) return 1e-7 / lr;
    return (lr * std::pow(warmup, 0.5) * std::pow(k, -0.5)) / lr;
  }
  if (k < warmup) return warm;
  const double progress = (k - warmup) / std::max(1.0, total - warmup);
  if (name == "linear") return std::max(0.0, (total - k) / std::max(1.0, total - warmup));
  if (name == "cosine") return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * progress)));
  if (name == "cosine_with_restarts") {
    if (progress >= 1.0) return 0.0;
    return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * std::fmod(progress, 1.0))));
  }
  // polynomial, power 1, down to 1e-7
  constexpr double kEnd = 1e-7;
  if (k > total) return kEnd / lr;
  return ((lr - kEnd) * (1 - (k - warmup) / (total - warmup)) + kEnd) / lr;
}

}  // namespace

double SchedulerFactor(const std::string& scheduler, int64_t step, const OptimizerOptions& o) {
  const double total = static_cast<double>(o.total_steps);
  return HeadFactor(scheduler, static_cast<double>(step), total, total * o.warmup, total * o.lr_decay, o.learning_rate);
}

const std::vector<std::string>& SchedulerNames() {
  static const std::vector<std::string> kNames = {"linear", "cosine", "cosine_with_restarts", "polynomial",
                                                  "constant", "constant_with_warmup", "inverse_sqrt", "tri_stage"};
  return kNames;
}

absl::Status ValidateOptimizerOptions(const OptimizerOptions& o) {
  if (o.kind != "bertadam" && o.kind != "adamw" && o.kind != "adafactor") {
    return absl::InvalidArgumentError(
        absl::StrCat("--optimizer ", o.kind, ": known optimizers are bertadam, adamw, adafactor"));
  }
  const std::vector<std::string>& schedulers = SchedulerNames();
  if (!o.scheduler.empty() && std::find(schedulers.begin(), schedulers.end(), o.scheduler) == schedulers.end()) {
    return absl::InvalidArgumentError(absl::StrCat("--scheduler ", o.scheduler, ": known schedulers are ",
                                                   absl::StrJoin(schedulers, ", ")));
  }
  if ((o.scheduler == "inverse_sqrt" || o.scheduler == "tri_stage") && o.warmup <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--scheduler ", o.scheduler,
                                                   " needs --warmup > 0 (UER-py divides by the warmup steps)"));
  }
  if (o.scheduler == "polynomial" && o.learning_rate <= 1e-7) {
    return absl::InvalidArgumentError("--scheduler polynomial decays to 1e-7: --learning_rate must be more");
  }
  if (o.scheduler == "tri_stage" && !(o.lr_decay >= 0 && o.lr_decay <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("--lr_decay must be in [0, 1], got ", o.lr_decay));
  }
  if (o.schedule != "warmup_linear" && o.schedule != "warmup_constant" && o.schedule != "warmup_cosine") {
    return absl::InvalidArgumentError(absl::StrCat("--schedule ", o.schedule,
                                                   ": known schedules are warmup_linear, warmup_constant, warmup_cosine"));
  }
  if (!std::isfinite(o.learning_rate) || o.learning_rate <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--learning_rate must be a number > 0, got ", o.learning_rate));
  }
  if (!(o.warmup >= 0 && o.warmup < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("--warmup must be in [0, 1), got ", o.warmup));
  }
  if (o.total_steps < 1) return absl::InvalidArgumentError("--total_steps must be >= 1");
  return absl::OkStatus();
}

double ScheduleFactor(const std::string& schedule, double x, double warmup) {
  if (x < warmup) return x / warmup;
  if (schedule == "warmup_constant") return 1.0;
  if (schedule == "warmup_cosine") return 0.5 * (1.0 + std::cos(M_PI * x));
  return 1.0 - x;  // warmup_linear
}

BertAdam::BertAdam(const torch::OrderedDict<std::string, torch::Tensor>& params, OptimizerOptions options)
    : options_(std::move(options)) {
  for (const auto& p : params) {
    const std::string& n = p.key();
    const bool no_decay = absl::StrContains(n, "bias") || absl::StrContains(n, "gamma") || absl::StrContains(n, "beta");
    torch::Tensor m = torch::zeros_like(p.value()), v = torch::zeros_like(p.value());
    if (options_.kind == "adafactor" && p.value().dim() >= 2) {  // the factored second moment: rows, columns
      std::vector<int64_t> rows = p.value().sizes().vec(), cols = rows;
      rows.pop_back();
      cols.erase(cols.end() - 2);
      m = torch::zeros(rows, p.value().options());
      v = torch::zeros(cols, p.value().options());
    }
    slots_.push_back({n, p.value(), m, v, no_decay ? 0.0 : options_.weight_decay});
  }
}

double BertAdam::CurrentLearningRate() const {
  if (options_.total_steps <= 0) return options_.learning_rate;
  if (!options_.scheduler.empty()) return options_.learning_rate * SchedulerFactor(options_.scheduler, step_, options_);
  return options_.learning_rate *
         ScheduleFactor(options_.schedule, static_cast<double>(step_) / options_.total_steps, options_.warmup);
}

namespace {

// UER-py HEAD's AdamW (uer/utils/optimizers.py with correct_bias=False, as its trainer builds it):
// no clipping, no bias correction, the weight decay after the update; HEAD's tensor operations in
// HEAD's order, so the same floats come out.
void HeadAdamWStep(torch::Tensor& param, torch::Tensor& m, torch::Tensor& v, const torch::Tensor& grad, double lr,
                   double weight_decay, const OptimizerOptions& o) {
  m.mul_(o.beta1).add_(grad, 1.0 - o.beta1);
  v.mul_(o.beta2).addcmul_(grad, grad, 1.0 - o.beta2);
  torch::Tensor denom = v.sqrt().add_(o.eps);
  param.addcdiv_(m, denom, -lr);
  if (weight_decay > 0.0) param.add_(param, -lr * weight_decay);
}

torch::Tensor Rms(const torch::Tensor& t) { return t.norm(2) / std::pow(static_cast<double>(t.numel()), 0.5); }

// UER-py HEAD's Adafactor as its trainer builds it (scale_parameter and relative_step off, no first
// moment): the second moment factored into rows and columns for matrices (in `row`, `col`), whole
// otherwise (in `col`); decay 1 - step^-0.8, eps 1e-30, updates clipped to RMS 1.
void HeadAdafactorStep(torch::Tensor& param, torch::Tensor& row, torch::Tensor& col, const torch::Tensor& grad,
                       double lr, double weight_decay, int64_t step) {
  const double beta2t = 1.0 - std::pow(static_cast<double>(step), -0.8);
  torch::Tensor update = grad.pow(2) + 1e-30;
  if (grad.dim() >= 2) {
    row.mul_(beta2t).add_(update.mean(-1), 1.0 - beta2t);
    col.mul_(beta2t).add_(update.mean(-2), 1.0 - beta2t);
    torch::Tensor r = (row / row.mean(-1, /*keepdim=*/true)).rsqrt_();
    update = torch::mm(r.unsqueeze(-1), col.rsqrt().unsqueeze(0));
    update.mul_(grad);
  } else {
    col.mul_(beta2t).add_(update, 1.0 - beta2t);
    update = col.rsqrt().mul_(grad);
  }
  update.div_((Rms(update) / 1.0).clamp_(1.0));
  update.mul_(lr);
  if (weight_decay != 0) param.add_(param, -weight_decay * lr);
  param.add_(-update);
}

}  // namespace

void BertAdam::Step() {
  torch::NoGradGuard no_grad;
  const double lr = CurrentLearningRate();
  if (options_.kind == "adamw" || options_.kind == "adafactor") {
    for (Slot& s : slots_) {
      torch::Tensor grad = s.param.grad();
      if (!grad.defined()) continue;
      if (options_.kind == "adamw") {
        HeadAdamWStep(s.param, s.m, s.v, grad, lr, s.weight_decay, options_);
      } else {
        HeadAdafactorStep(s.param, s.m, s.v, grad, lr, s.weight_decay, step_ + 1);
      }
    }
    ++step_;
    return;
  }
  for (Slot& s : slots_) {
    torch::Tensor grad = s.param.grad();
    if (!grad.defined()) continue;
    if (FusedStep(s, grad, lr)) continue;
    if (options_.max_grad_norm > 0) {
      // torch.nn.utils.clip_grad_norm_(p, max_norm) on one parameter.
      torch::Tensor norm = grad.norm(2);
      torch::Tensor coef = torch::clamp(options_.max_grad_norm / (norm + 1e-6), c10::nullopt, 1.0);
      grad.mul_(coef);
    }
    s.m.mul_(options_.beta1).add_(grad, 1 - options_.beta1);
    s.v.mul_(options_.beta2).addcmul_(grad, grad, 1 - options_.beta2);
    torch::Tensor update = s.m / (s.v.sqrt() + options_.eps);
    if (s.weight_decay > 0.0) update += s.weight_decay * s.param;
    s.param.add_(-(lr * update));
  }
  ++step_;
}

// One pass over a CPU float32 parameter: clip, moments, update. The same float operations in the
// same order as the tensor version below (what UER-py's BertAdam does), without 12 kernel launches
// and 12 passes over memory per parameter.
bool BertAdam::FusedStep(Slot& s, const torch::Tensor& grad, double lr) {
  if (!s.param.device().is_cpu() || s.param.scalar_type() != torch::kFloat32 || !s.param.is_contiguous() ||
      !grad.is_contiguous() || grad.scalar_type() != torch::kFloat32) {
    return false;
  }
  const int64_t n = s.param.numel();
  float* p = s.param.data_ptr<float>();
  float* g = grad.data_ptr<float>();
  float* m = s.m.data_ptr<float>();
  float* v = s.v.data_ptr<float>();
  float coef = 1.0f;
  if (options_.max_grad_norm > 0) {
    const float norm = grad.norm(2).item<float>();
    const float c = static_cast<float>(options_.max_grad_norm) / (norm + 1e-6f);
    coef = c < 1.0f ? c : 1.0f;
  }
  const float b1 = static_cast<float>(options_.beta1), b2 = static_cast<float>(options_.beta2);
  const float a1 = static_cast<float>(1 - options_.beta1), a2 = static_cast<float>(1 - options_.beta2);
  const float eps = static_cast<float>(options_.eps), wd = static_cast<float>(s.weight_decay);
  const float flr = static_cast<float>(lr);
  at::parallel_for(0, n, 32768, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float gi = g[i] * coef;
      const float mi = m[i] * b1 + a1 * gi;
      const float vi = v[i] * b2 + a2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      float u = mi / (std::sqrt(vi) + eps);
      if (wd > 0.0f) u += wd * p[i];
      p[i] += -(flr * u);
    }
  });
  return true;
}

StateDict BertAdam::State() const {
  StateDict out;
  out.emplace_back("step", torch::tensor(step_));
  for (const Slot& s : slots_) {
    out.emplace_back("m." + s.name, s.m);
    out.emplace_back("v." + s.name, s.v);
  }
  return out;
}

absl::Status BertAdam::LoadState(const StateDict& state) {
  std::map<std::string, torch::Tensor> m;
  for (const auto& [k, v] : state) m[k] = v;
  if (!m.count("step")) return absl::InvalidArgumentError("optimizer state has no step");
  torch::NoGradGuard no_grad;
  for (Slot& s : slots_) {
    auto a = m.find("m." + s.name), b = m.find("v." + s.name);
    if (a == m.end() || b == m.end()) return absl::InvalidArgumentError("optimizer state lacks " + s.name);
    if (a->second.sizes() != s.m.sizes()) return absl::InvalidArgumentError("optimizer state shape differs for " + s.name);
    s.m.copy_(a->second);
    s.v.copy_(b->second);
  }
  step_ = m["step"].item<int64_t>();
  return absl::OkStatus();
}

LossScaler::LossScaler(LossScalerOptions options) : options_(options), scale_(options.init_scale) {}

bool LossScaler::Unscale(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  // Gradients grouped by device and dtype, as the fused ATen kernel wants them.
  std::map<std::pair<std::string, int>, std::vector<torch::Tensor>> groups;
  for (const torch::Tensor& p : params) {
    const torch::Tensor& g = p.grad();
    if (g.defined()) groups[{g.device().str(), static_cast<int>(g.scalar_type())}].push_back(g);
  }
  bool finite = true;
  for (auto& [key, grads] : groups) {
    const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(grads.front().device());
    torch::Tensor found_inf = torch::zeros({1}, opts);
    torch::Tensor inv_scale = torch::full({1}, 1.0 / scale_, opts);
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale);
    finite = finite && found_inf.item<float>() == 0.0f;
  }
  return finite;
}

void LossScaler::Update(bool finite) {
  if (!finite) {
    scale_ *= options_.backoff_factor;
    good_steps_ = 0;
    ++skipped_;
    return;
  }
  if (++good_steps_ >= options_.growth_interval) {
    scale_ *= options_.growth_factor;
    good_steps_ = 0;
  }
}

StateDict LossScaler::State() const {
  return {{"loss_scale", torch::tensor(scale_, torch::kDouble)},
          {"loss_scale_good_steps", torch::tensor(good_steps_)},
          {"loss_scale_skipped", torch::tensor(skipped_)}};
}

absl::Status LossScaler::LoadState(const StateDict& state, const std::string& prefix) {
  for (const auto& [k, v] : state) {
    if (k.rfind(prefix, 0) != 0) continue;
    const std::string name = k.substr(prefix.size());
    if (name != "loss_scale" && name != "loss_scale_good_steps" && name != "loss_scale_skipped") continue;
    if (v.numel() != 1) return absl::InvalidArgumentError(absl::StrCat(k, " is not a scalar"));
    if (name == "loss_scale") {
      const double x = v.item<double>();
      if (!std::isfinite(x) || x <= 0) return absl::InvalidArgumentError(absl::StrCat(k, " is ", x, ", not a scale"));
      scale_ = x;
    } else if (name == "loss_scale_good_steps") {
      good_steps_ = v.item<int64_t>();
    } else {
      skipped_ = v.item<int64_t>();
    }
  }
  return absl::OkStatus();
}

}  // namespace uer::runtime
