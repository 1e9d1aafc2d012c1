#include "core/runtime/trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/log.h"
#include "core/runtime/io/guard.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/model/model.h"
#include "core/runtime/progress.h"
#include "core/runtime/train/checkpoints.h"

namespace uer::runtime {

TrainingJob::~TrainingJob() = default;

namespace {

namespace fs = std::filesystem;

// The L2 norm of all gradients together (after the all-reduce: what the optimizer applies).
double GradNorm(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  torch::Tensor total;  // summed on the device, then one copy to the host
  for (const torch::Tensor& p : params) {
    if (!p.grad().defined()) continue;
    torch::Tensor sq = p.grad().to(torch::kFloat).pow(2).sum();
    total = total.defined() ? total + sq : sq;
  }
  return total.defined() ? std::sqrt(total.item<double>()) : 0.0;
}

// One run of the loop: the state it carries from step to step, and the parts of a step.
class Loop {
 public:
  Loop(TrainingJob& job, const TrainerOptions& o)
      : job_(job), o_(o), dist_(o.dist), writer_(!dist_ || dist_->rank() == 0), world_(dist_ ? dist_->world_size() : 1),
        optimizer_(job.model().named_parameters(), o.optimizer) {
    for (const auto& p : job.model().parameters()) params_.push_back(p);
  }

  absl::StatusOr<TrainResult> Run() {
    UER_RETURN_IF_ERROR(Start());
    for (; step_ <= o_.total_steps; ++step_) {
      const auto [group_first, group_last] = job_.AccumulationGroup(step_, o_.accumulation_steps);
      // One process stops between optimizer steps; ranks decide together at a group's end below.
      if (!dist_ && step_ == group_first && StopRequested()) return Stopped(step_ - 1);
      UER_ASSIGN_OR_RETURN(const double loss, ForwardBackward(group_last - group_first + 1, step_ == group_last));
      bool stop_now = false;
      if (step_ == group_last) {
        UER_ASSIGN_OR_RETURN(stop_now, FinishGroup());
      }
      UER_RETURN_IF_ERROR(job_.AfterStep(step_, writer_, metrics_));
      if (writer_ && progress_->enabled()) progress_->Update(step_, absl::StrFormat("loss %.3f", loss));
      if (stop_now) return Stopped(step_);
      if (writer_ && job_.ReportAfter(step_, o_.report_steps)) Report();
      if (o_.save_checkpoint_steps > 0 && step_ % o_.save_checkpoint_steps == 0) {
        const std::string ck = CheckpointPath(o_.output_model_path, step_);
        if (writer_) UER_RETURN_IF_ERROR(Save(ck, step_));
        last_good_ = result_.last_checkpoint = ck;
      }
    }
    result_.steps_done = o_.total_steps;
    if (dist_) UER_RETURN_IF_ERROR(dist_->Barrier());
    if (!writer_ || !o_.save_final_model) return std::move(result_);
    UER_RETURN_IF_ERROR(SaveStateDict(o_.output_model_path, ModelStateDict(job_.model())));
    UER_LOG(INFO) << "saved " << o_.output_model_path;
    return std::move(result_);
  }

 private:
  // Everything before the first step: the output folder, loss scaling, resume, rank 0's weights
  // everywhere, the metrics files.
  absl::Status Start() {
    UER_RETURN_IF_ERROR(train::PrepareOutput(o_, writer_));
    // fp16: dynamic loss scaling (bf16 has fp32's range and needs none).
    if (o_.precision == Precision::kFp16) scaler_ = std::make_unique<LossScaler>(o_.loss_scaler);
    run_identity_ = train::RunIdentity(o_.run_settings);
    if (o_.resume) {
      UER_ASSIGN_OR_RETURN(step_, train::ResumeNewest(job_, o_, &optimizer_, scaler_.get(), &run_identity_));
    }
    if (dist_) UER_RETURN_IF_ERROR(dist_->Broadcast(params_));
    if (dist_ && o_.overlap_allreduce) reducer_ = dist_->NewReducer(params_);
    if (writer_ && o_.metrics.enabled()) {
      MetricsOptions m = o_.metrics;
      m.resume_step = o_.resume ? step_ - 1 : -1;
      UER_ASSIGN_OR_RETURN(std::unique_ptr<MetricsWriter> opened, MetricsWriter::Open(m));
      result_.metrics = std::move(opened);
      metrics_ = result_.metrics.get();
      if (!metrics_->event_path().empty()) UER_LOG(INFO) << "TensorBoard events: " << metrics_->event_path();
    }
    progress_ = std::make_unique<Progress>(o_.progress_name, o_.total_steps, Progress::Unit::kItems, "steps", step_ - 1);
    job_.model().train();
    run_start_ = interval_start_ = std::chrono::steady_clock::now();
    first_step_ = step_;
    return absl::OkStatus();
  }

  // The forward pass of this step and its share of the group's gradients; the loss, summed for the
  // report. A non-finite loss stops one process here; ranks note it for the group's vote.
  absl::StatusOr<double> ForwardBackward(int64_t group_size, bool group_end) {
    absl::StatusOr<StepOutput> forward = [&] {
      AutocastGuard autocast(o_.precision, o_.device);
      return job_.Forward(step_);
    }();
    UER_RETURN_IF_ERROR(forward.status());
    StepOutput& s = *forward;
    const double loss = s.out.loss.item<double>();
    if (!std::isfinite(loss)) {
      if (!dist_) {
        return absl::InternalError(absl::StrCat("the loss is ", loss, " at step ", step_, "; stopped without saving (",
                                                NoCheckpoint(), "). Lower --learning_rate or check the data"));
      }
      if (bad_loss_step_ == 0) bad_loss_step_ = step_;
    }
    Count(s, loss);
    UER_ASSIGN_OR_RETURN(torch::Tensor objective, Objective(s));
    if (reducer_ && group_end) reducer_->Arm();
    if (scaler_) objective = objective * scaler_->scale();
    (objective / static_cast<double>(group_size)).backward();
    return loss;
  }

  // The step's values for the report.
  void Count(const StepOutput& s, double loss) {
    result_.losses.push_back(loss);
    sums_.values["loss"] += loss;
    for (const auto& [name, t] : s.out.values) {
      // Scalars other than the loss (counted above); logits and the like are not summed.
      if (name != "loss" && t.numel() == 1) sums_.values[name] += t.item<double>();
    }
    ++sums_.steps;
    sums_.instances += s.instances;
    interval_tokens_ += s.tokens;
    interval_computed_ += s.computed_tokens >= 0 ? s.computed_tokens : s.tokens;
  }

  // What backward runs on: the loss times its weight, or, with global normalisation on several
  // ranks, sum_i / (N_i + eps) with N_i the count of all ranks, times world_size (the gradients are
  // averaged over the ranks).
  absl::StatusOr<torch::Tensor> Objective(const StepOutput& s) {
    if (!dist_ || !o_.global_loss_normalization || s.out.terms.empty()) return s.out.loss * s.weight;
    std::vector<double> counts;
    for (const core::LossTerm& t : s.out.terms) counts.push_back(t.count.item<double>());
    UER_RETURN_IF_ERROR(dist_->AllReduceSum(&counts, s.out.loss.device()));
    torch::Tensor objective = torch::zeros({}, s.out.loss.options());
    for (size_t i = 0; i < counts.size(); ++i) {
      objective = objective + s.out.terms[i].sum * (world_ / (counts[i] + s.out.terms[i].eps));
    }
    return objective;
  }

  // The end of an accumulation group: the ranks' gradients and their vote (stop on any rank's
  // signal or non-finite loss) in one collective, then the optimizer step unless fp16 overflowed
  // (on any rank: the all-reduce carried its inf or NaN to all). Returns whether to stop now.
  absl::StatusOr<bool> FinishGroup() {
    bool stop_now = false;
    if (dist_) {
      std::vector<double> flags = {StopRequested() ? 1.0 : 0.0, bad_loss_step_ ? 1.0 : 0.0};
      UER_RETURN_IF_ERROR(reducer_ ? reducer_->Finish(&flags) : dist_->AllReduceGradients(params_, &flags));
      if (flags[1] > 0) {
        return absl::InternalError(absl::StrCat(
            "rank ", dist_->rank(), ": a non-finite loss on ",
            bad_loss_step_ ? "this rank at step " + std::to_string(bad_loss_step_) : "another rank", " (by step ", step_,
            "); stopped without saving (", NoCheckpoint(), "). Lower --learning_rate or check the data"));
      }
      stop_now = flags[0] > 0;
    }
    const bool finite = !scaler_ || scaler_->Unscale(params_);
    if (scaler_) {
      scaler_->Update(finite);
      if (!finite) {
        UER_LOG(WARNING) << "fp16: the gradients overflowed at step " << step_ << "; step skipped, loss scale now "
                         << scaler_->scale() << " (" << scaler_->skipped_steps() << " skipped so far)";
      }
    }
    if (finite) {
      if (metrics_) grad_norm_ = GradNorm(params_);
      optimizer_.Step();
    }
    job_.model().zero_grad();
    return stop_now;
  }

  // The report line and its scalars, over the steps since the last report.
  void Report() {
    const auto now = std::chrono::steady_clock::now();
    ReportContext c;
    c.step = step_;
    c.total_steps = o_.total_steps;
    c.sums = sums_;
    const double interval = std::chrono::duration<double>(now - interval_start_).count();
    c.tokens_per_second = interval > 0 ? interval_tokens_ * world_ / interval : 0;
    c.computed_tokens_per_second = interval > 0 ? interval_computed_ * world_ / interval : 0;
    c.world_size = world_;
    c.elapsed_seconds = std::chrono::duration<double>(now - run_start_).count();
    c.eta_seconds = c.elapsed_seconds / static_cast<double>(step_ - first_step_ + 1) * (o_.total_steps - step_);
    c.learning_rate = optimizer_.CurrentLearningRate();
    c.grad_norm = grad_norm_;
    UER_LOG(INFO) << job_.ReportLine(c);
    if (metrics_) {
      std::vector<Scalar> scalars = job_.ReportScalars(c);
      scalars.push_back({"train/learning_rate", c.learning_rate});
      if (grad_norm_ >= 0) scalars.push_back({"train/grad_norm", grad_norm_});
      if (scaler_) scalars.push_back({"train/loss_scale", scaler_->scale()});
      metrics_->Write(step_, scalars);
    }
    sums_ = core::ReportSums();
    interval_tokens_ = interval_computed_ = 0;
    interval_start_ = now;
  }

  // A signal asked the run to stop: the checkpoint after `step` (the writer rank saves it; ranks
  // wait for each other), and the result says so.
  absl::StatusOr<TrainResult> Stopped(int64_t step) {
    const std::string ck = CheckpointPath(o_.output_model_path, step);
    if (writer_) UER_RETURN_IF_ERROR(Save(ck, step));
    if (dist_) UER_RETURN_IF_ERROR(dist_->Barrier());
    result_.stopped_by_signal = StopRequested() ? o_.stop_signal->load() : SIGTERM;  // another rank's
    UER_LOG(WARNING) << (dist_ ? absl::StrCat("rank ", dist_->rank(), " ") : "") << "stopped by signal "
                     << result_.stopped_by_signal << " after step " << step << (writer_ ? "; saved " + ck : "");
    result_.last_checkpoint = ck;
    return std::move(result_);
  }

  absl::Status Save(const std::string& ck, int64_t step) {
    return train::SaveCheckpoint(job_, optimizer_, scaler_.get(), ck, step, run_identity_);
  }
  bool StopRequested() const { return o_.stop_signal && o_.stop_signal->load() != 0; }
  std::string NoCheckpoint() const {
    return last_good_.empty() ? std::string("no checkpoint was written yet") : "the last good checkpoint is " + last_good_;
  }

  TrainingJob& job_;
  const TrainerOptions& o_;
  Distributed* dist_;
  const bool writer_;
  const int world_;
  BertAdam optimizer_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<LossScaler> scaler_;
  std::unique_ptr<GradientReducer> reducer_;
  core::StateDict run_identity_;
  TrainResult result_;
  MetricsWriter* metrics_ = nullptr;
  std::unique_ptr<Progress> progress_;
  int64_t step_ = 1, first_step_ = 1, bad_loss_step_ = 0;
  double grad_norm_ = -1;
  std::chrono::steady_clock::time_point run_start_, interval_start_;
  int64_t interval_tokens_ = 0, interval_computed_ = 0;
  core::ReportSums sums_;
  std::string last_good_;
};

// The options a run cannot start with.
absl::Status CheckOptions(const TrainerOptions& o) {
  if (o.output_model_path.empty()) return absl::InvalidArgumentError("--output_model_path is required");
  if (o.total_steps < 1 || o.accumulation_steps < 1 || o.report_steps < 1 || o.save_checkpoint_steps < 0) {
    return absl::InvalidArgumentError("--total_steps, --accumulation_steps and --report_steps must be >= 1");
  }
  UER_RETURN_IF_ERROR(ValidateOptimizerOptions(o.optimizer));
  if (o.precision != Precision::kFp16) return absl::OkStatus();
  if (!(o.loss_scaler.init_scale > 0 && std::isfinite(o.loss_scaler.init_scale))) {
    return absl::InvalidArgumentError(absl::StrCat("--fp16_init_scale must be a number > 0, got ", o.loss_scaler.init_scale));
  }
  if (o.loss_scaler.growth_interval < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--fp16_scale_window must be >= 1, got ", o.loss_scaler.growth_interval));
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainResult> TrainLoop(TrainingJob& job, const TrainerOptions& o) {
  UER_RETURN_IF_ERROR(CheckOptions(o));
  Loop loop(job, o);
  return loop.Run();
}

}  // namespace

std::string FormatDuration(double seconds) {
  const int64_t s = seconds > 0 ? static_cast<int64_t>(seconds) : 0;
  return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
}

std::string CheckpointPath(const std::string& output, int64_t step) { return absl::StrCat(output, "-", step); }

std::vector<int64_t> CheckpointSteps(const std::string& output) {
  fs::path p(output);
  fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string prefix = p.filename().string() + "-";
  std::set<int64_t> steps;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string rest = name.substr(prefix.size());
    if (rest.size() > 6 && rest.compare(rest.size() - 6, 6, ".state") == 0) rest.resize(rest.size() - 6);
    if (rest.empty() || rest.size() > 18 || rest.find_first_not_of("0123456789") != std::string::npos) continue;
    steps.insert(std::stoll(rest));
  }
  return std::vector<int64_t>(steps.begin(), steps.end());
}

int64_t LatestCheckpoint(const std::string& output) {
  int64_t best = 0;
  for (int64_t step : CheckpointSteps(output)) {
    const std::string ck = CheckpointPath(output, step);
    if (fs::exists(ck) && fs::exists(ck + ".state")) best = std::max(best, step);
  }
  return best;
}

absl::Status CatchTorchErrors(const std::function<absl::Status()>& fn) {
  try {
    return fn();
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat("LibTorch refused the model or its input: ", io::FirstLine(e.what_without_backtrace())));
  } catch (const std::exception& e) {
    return absl::InternalError(io::FirstLine(e.what()));
  }
}

absl::StatusOr<TrainResult> Train(TrainingJob& job, const TrainerOptions& options) {
  absl::StatusOr<TrainResult> result = absl::InternalError("not run");
  absl::Status st = CatchTorchErrors([&]() -> absl::Status {
    result = TrainLoop(job, options);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return result;
}

}  // namespace uer::runtime
