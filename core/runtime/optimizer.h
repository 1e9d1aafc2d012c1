// UER-py's optimizers. BertAdam exactly as the seed's (no bias correction, per-parameter gradient
// clipping to norm 1, decoupled weight decay 0.01 except bias/gamma/beta, learning-rate schedule
// counted in optimizer steps), and HEAD's adamw and adafactor as its trainer builds them, by flag.
//
//   BertAdam opt(model->named_parameters(), {.learning_rate = 1e-3, .warmup = 0.1, .total_steps = 20});
//   loss.backward(); opt.Step(); model->zero_grad();
#ifndef UER_CORE_RUNTIME_OPTIMIZER_H_
#define UER_CORE_RUNTIME_OPTIMIZER_H_

#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "core/runtime/checkpoint.h"

namespace uer::runtime {

// warmup_linear (default), warmup_constant, warmup_cosine; x = step / total_steps.
double ScheduleFactor(const std::string& schedule, double x, double warmup);

struct OptimizerOptions {
  // bertadam (the seed's) | adamw | adafactor (UER-py HEAD's, as its trainer builds them)
  std::string kind = "bertadam";
  double learning_rate = 2e-5;
  double warmup = 0.1;
  int64_t total_steps = 100000;
  std::string schedule = "warmup_linear";
  // UER-py HEAD's --scheduler (linear, cosine, ...; SchedulerFactor); when set it replaces
  // `schedule`. lr_decay: tri_stage's decay steps, as a fraction of total_steps.
  std::string scheduler;
  double lr_decay = 0.5;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-6;
  double weight_decay = 0.01;
  double max_grad_norm = 1.0;  // per parameter (BertAdam); <= 0 disables
};

// UER-py HEAD's schedulers: the factor of the learning rate at optimizer step `step` (0 for the
// first), as HEAD's LambdaLR gives it, with warmup and decay steps total_steps * warmup and
// total_steps * lr_decay (unrounded, as HEAD passes them).
double SchedulerFactor(const std::string& scheduler, int64_t step, const OptimizerOptions& options);
// HEAD's --scheduler choices.
const std::vector<std::string>& SchedulerNames();

// Refuses an unknown optimizer or schedule (listing the known ones), a learning rate that is not a
// finite number > 0, a warmup outside [0, 1) and total_steps < 1. Errors name the flag.
absl::Status ValidateOptimizerOptions(const OptimizerOptions& options);

class BertAdam {
 public:
  BertAdam(const torch::OrderedDict<std::string, torch::Tensor>& params, OptimizerOptions options);
  void Step();
  double CurrentLearningRate() const;
  int64_t step() const { return step_; }
  // The optimizer's state (moments per parameter name and the step) for resuming.
  StateDict State() const;
  absl::Status LoadState(const StateDict& state);

 private:
  struct Slot {
    std::string name;
    torch::Tensor param, m, v;
    double weight_decay;
  };
  bool FusedStep(Slot& s, const torch::Tensor& grad, double lr);
  OptimizerOptions options_;
  std::vector<Slot> slots_;
  int64_t step_ = 0;
};

// Dynamic loss scaling for --precision fp16, as PyTorch's torch.amp.GradScaler does it: the loss
// is multiplied by scale() before the backward pass, so that small gradients are not flushed to
// zero in fp16; Unscale() divides the gradients back (one fused pass) and says whether all are
// finite. A step whose gradients overflowed is skipped and the scale halved; after
// growth_interval good steps in a row it doubles. The scale and the counts are training state
// (saved in a checkpoint's .state, so a resumed run goes on as the uninterrupted one).
//
//   (loss * scaler.scale()).backward();
//   const bool finite = scaler.Unscale(params);
//   scaler.Update(finite);
//   if (finite) optimizer.Step();
//   model->zero_grad();
struct LossScalerOptions {
  double init_scale = 65536.0;  // 2^16, GradScaler's
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class LossScaler {
 public:
  explicit LossScaler(LossScalerOptions options = {});
  double scale() const { return scale_; }
  // Divides each defined gradient of `params` by the scale; false when any gradient holds an inf
  // or a NaN (the gradients are then of no use).
  bool Unscale(const std::vector<torch::Tensor>& params);
  // After Unscale: a skipped step backs the scale off, a run of good ones grows it.
  void Update(bool finite);
  int64_t skipped_steps() const { return skipped_; }
  // "loss_scale", "loss_scale_good_steps", "loss_scale_skipped" (the caller prefixes them).
  StateDict State() const;
  // Keys under `prefix`; absent keys leave the scaler as it is (a checkpoint of an fp32 or bf16
  // run). A scale that is not a finite number > 0 is refused.
  absl::Status LoadState(const StateDict& state, const std::string& prefix);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t good_steps_ = 0, skipped_ = 0;
};

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_OPTIMIZER_H_
