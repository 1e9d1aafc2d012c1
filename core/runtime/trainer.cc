#include "core/runtime/trainer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/dataset.h"
#include "core/runtime/model.h"
#include "core/runtime/progress.h"

namespace uer::runtime {

TrainingJob::~TrainingJob() = default;

namespace {

namespace fs = std::filesystem;

std::string FirstLine(const std::string& what) {
  const size_t nl = what.find('\n');
  return nl == std::string::npos ? what : what.substr(0, nl);
}

// A string as a uint8 tensor (a state dict holds tensors), and back.
torch::Tensor TextTensor(const std::string& s) {
  return torch::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())}, torch::kUInt8).clone();
}
std::string TensorText(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU).to(torch::kUInt8).contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

// "key=value" lines of the run's settings, sorted.
std::string SettingsText(const std::map<std::string, std::string>& settings) {
  std::string out;
  for (const auto& [k, v] : settings) absl::StrAppend(&out, k, "=", v, "\n");
  return out;
}

absl::Status SaveCheckpoint(TrainingJob& job, const BertAdam& optimizer, const LossScaler* scaler,
                            const std::string& path, int64_t step, const core::StateDict& run_identity) {
  // The training state first: a checkpoint is only used for --resume when its state exists.
  core::StateDict state = optimizer.State();
  if (scaler) {
    for (auto& [k, v] : scaler->State()) state.emplace_back("uer." + k, v);
  }
  state.emplace_back("uer.step", torch::tensor(step));
  state.emplace_back("uer.loader_batches", torch::tensor(job.position()));
  state.emplace_back("uer.cpu_rng_state", at::detail::getDefaultCPUGenerator().get_state());
  for (auto& [k, v] : job.JobState()) state.emplace_back("job." + k, v);
  for (const auto& [k, v] : run_identity) state.emplace_back(k, v);
  const std::string state_tmp = absl::StrCat(path, ".state.tmp.", getpid());
  UER_RETURN_IF_ERROR(SaveStateDict(state_tmp, state));
  if (absl::Status st = SaveStateDict(path, ModelStateDict(job.model())); !st.ok()) {
    unlink(state_tmp.c_str());
    return st;
  }
  std::error_code ec;
  fs::rename(state_tmp, path + ".state", ec);
  if (ec) {
    unlink(state_tmp.c_str());
    return absl::DataLossError(absl::StrCat("cannot write ", path, ".state: ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status Resume(TrainingJob& job, BertAdam* optimizer, LossScaler* scaler, const std::string& ck,
                    const std::map<std::string, std::string>& settings, core::StateDict* run_identity) {
  UER_RETURN_IF_ERROR(LoadModelWeights(&job.model(), ck, {}).status());
  UER_ASSIGN_OR_RETURN(core::StateDict state, LoadStateDict(ck + ".state"));
  UER_RETURN_IF_ERROR(optimizer->LoadState(state));
  if (scaler) UER_RETURN_IF_ERROR(scaler->LoadState(state, "uer."));
  core::StateDict job_state;
  for (const auto& [k, v] : state) {
    // The run goes on under its identity (a copy: a view would keep the .state file mapped for
    // the rest of the run, and make every later checkpoint depend on that file staying untouched).
    if (k == "uer.run_id") run_identity->at(0).second = v.clone();
    if (k == "uer.run_settings") {
      // Say what differs from the run that wrote the checkpoint (a changed batch size or data set
      // is allowed, but should not pass unseen).
      std::map<std::string, std::string> before;
      for (absl::string_view line : absl::StrSplit(TensorText(v), '\n', absl::SkipEmpty())) {
        const size_t eq = line.find('=');
        if (eq != absl::string_view::npos) before[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
      }
      for (const auto& [key, now] : settings) {
        auto it = before.find(key);
        if (it != before.end() && it->second != now) {
          UER_LOG(WARNING) << "--resume: " << key << " was " << it->second << " in the run that wrote " << ck
                           << ", now " << now;
        }
      }
    }
    if (k == "uer.loader_batches") job.Seek(v.item<int64_t>());
    if (k == "uer.cpu_rng_state") {
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      gen.set_state(v);
    }
    if (k.rfind("job.", 0) == 0) job_state.emplace_back(k.substr(4), v);
  }
  return job.LoadJobState(job_state);
}

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

absl::StatusOr<TrainResult> TrainLoop(TrainingJob& job, const TrainerOptions& o) {
  if (o.output_model_path.empty()) return absl::InvalidArgumentError("--output_model_path is required");
  if (o.total_steps < 1 || o.accumulation_steps < 1 || o.report_steps < 1 || o.save_checkpoint_steps < 0) {
    return absl::InvalidArgumentError("--total_steps, --accumulation_steps and --report_steps must be >= 1");
  }
  UER_RETURN_IF_ERROR(ValidateOptimizerOptions(o.optimizer));
  Distributed* dist = o.dist;
  const bool writer_rank = !dist || dist->rank() == 0;
  if (writer_rank) {
    // An unusable output folder is found now, not at the first save thousands of steps later.
    std::error_code dir_ec;
    if (fs::is_directory(o.output_model_path, dir_ec)) {
      return absl::InvalidArgumentError(absl::StrCat("--output_model_path ", o.output_model_path,
                                                     " is a directory; name the model file (", o.output_model_path,
                                                     "/model.bin, say)"));
    }
    const fs::path parent = fs::path(o.output_model_path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    const std::string probe = absl::StrCat(o.output_model_path, ".probe.", getpid());
    FILE* f = ec ? nullptr : fopen(probe.c_str(), "wb");
    if (f == nullptr) {
      return absl::PermissionDeniedError(absl::StrCat("cannot write beside ", o.output_model_path, ": ",
                                                      ec ? ec.message() : std::strerror(errno)));
    }
    fclose(f);
    unlink(probe.c_str());
    RemoveStaleTemporaries(o.output_model_path);
  }
  // Checkpoints of an earlier run in the same place: continuing them is --resume; starting anew
  // over them must be asked for, or a later --resume would pick the older run's higher step.
  if (!o.resume) {
    const std::vector<int64_t> old = CheckpointSteps(o.output_model_path);
    if (!old.empty() && !o.overwrite_checkpoints) {
      return absl::InvalidArgumentError(absl::StrCat(
          CheckpointPath(o.output_model_path, old.back()), " (and ", old.size() - 1, " more of steps ",
          old.front(), "..", old.back(), ") are checkpoints of an earlier run: continue it with --resume, or "
          "pass --overwrite_checkpoints to delete them and start anew"));
    }
    if (!old.empty() && writer_rank) {
      for (int64_t s : old) {
        std::error_code ec;
        fs::remove(CheckpointPath(o.output_model_path, s), ec);
        fs::remove(CheckpointPath(o.output_model_path, s) + ".state", ec);
      }
      UER_LOG(WARNING) << "--overwrite_checkpoints: deleted " << old.size() << " checkpoint(s) of an earlier run ("
                       << CheckpointPath(o.output_model_path, old.front()) << " .. " << old.back() << ")";
    }
  }
  torch::nn::Module& model = job.model();
  BertAdam optimizer(model.named_parameters(), o.optimizer);
  // fp16: dynamic loss scaling (bf16 has fp32's range and needs none).
  std::unique_ptr<LossScaler> scaler;
  if (o.precision == Precision::kFp16) {
    if (!(o.loss_scaler.init_scale > 0 && std::isfinite(o.loss_scaler.init_scale))) {
      return absl::InvalidArgumentError(absl::StrCat("--fp16_init_scale must be a number > 0, got ", o.loss_scaler.init_scale));
    }
    if (o.loss_scaler.growth_interval < 1) {
      return absl::InvalidArgumentError(absl::StrCat("--fp16_scale_window must be >= 1, got ", o.loss_scaler.growth_interval));
    }
    scaler = std::make_unique<LossScaler>(o.loss_scaler);
  }
  std::vector<torch::Tensor> params;
  for (const auto& p : model.parameters()) params.push_back(p);
  const bool writer = !dist || dist->rank() == 0;

  // The run's identity, stored in every checkpoint: a random id (kept across resumes) and the
  // settings it ran with.
  core::StateDict run_identity = {{"uer.run_id", torch::tensor(static_cast<int64_t>(std::random_device{}() >> 1))},
                                  {"uer.run_settings", TextTensor(SettingsText(o.run_settings))}};
  int64_t step = 1;
  if (o.resume) {
    // The newest complete checkpoint; a damaged one (a torn file, a full disk) is passed over for
    // the one before, saying so.
    std::vector<int64_t> steps = CheckpointSteps(o.output_model_path);
    std::string skipped;
    for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
      const std::string ck = CheckpointPath(o.output_model_path, *it);
      if (!fs::exists(ck) || !fs::exists(ck + ".state")) continue;
      absl::Status st = Resume(job, &optimizer, scaler.get(), ck, o.run_settings, &run_identity);
      if (!st.ok()) {
        UER_LOG(WARNING) << "--resume: cannot use " << ck << " (" << st.message() << "); trying the one before";
        skipped = ck;
        continue;
      }
      step = *it + 1;
      UER_LOG(INFO) << "resumed from " << ck << " at step " << step
                    << (skipped.empty() ? "" : " (newer checkpoints were damaged)");
      break;
    }
    if (step == 1) {
      if (!skipped.empty()) {
        return absl::DataLossError(absl::StrCat("--resume: no usable checkpoint ", o.output_model_path,
                                                "-STEP (the oldest tried, ", skipped, ", was damaged too)"));
      }
      UER_LOG(WARNING) << "--resume: no checkpoint " << o.output_model_path << "-STEP with a .state file; starting anew";
    }
  }
  if (dist) UER_RETURN_IF_ERROR(dist->Broadcast(params));  // rank 0's weights everywhere
  std::unique_ptr<GradientReducer> reducer;
  if (dist && o.overlap_allreduce) reducer = dist->NewReducer(params);

  TrainResult result;
  if (writer && o.metrics.enabled()) {
    MetricsOptions m = o.metrics;
    m.resume_step = o.resume ? step - 1 : -1;
    UER_ASSIGN_OR_RETURN(std::unique_ptr<MetricsWriter> opened, MetricsWriter::Open(m));
    result.metrics = std::move(opened);
    if (!result.metrics->event_path().empty()) UER_LOG(INFO) << "TensorBoard events: " << result.metrics->event_path();
  }
  MetricsWriter* metrics = result.metrics.get();
  Progress progress(o.progress_name, o.total_steps, Progress::Unit::kItems, "steps", step - 1);
  double grad_norm = -1;
  model.train();
  const auto run_start = std::chrono::steady_clock::now();
  auto interval_start = run_start;
  int64_t interval_tokens = 0, interval_computed = 0, first_step = step;
  core::ReportSums sums;
  std::string last_good;
  const int world = dist ? dist->world_size() : 1;
  int64_t bad_loss_step = 0;
  auto stop_requested = [&] { return o.stop_signal && o.stop_signal->load() != 0; };
  auto no_checkpoint = [&] {
    return last_good.empty() ? std::string("no checkpoint was written yet") : "the last good checkpoint is " + last_good;
  };
  for (; step <= o.total_steps; ++step) {
    const auto [group_first, group_last] = job.AccumulationGroup(step, o.accumulation_steps);
    const bool at_boundary = step == group_first;
    if (!dist && at_boundary && stop_requested()) {
      const std::string ck = CheckpointPath(o.output_model_path, step - 1);
      UER_RETURN_IF_ERROR(SaveCheckpoint(job, optimizer, scaler.get(), ck, step - 1, run_identity));
      UER_LOG(WARNING) << "stopped by signal " << o.stop_signal->load() << " after step " << step - 1 << "; saved " << ck;
      result.stopped_by_signal = o.stop_signal->load();
      result.last_checkpoint = ck;
      return result;
    }
    absl::StatusOr<StepOutput> forward = [&] {
      AutocastGuard autocast(o.precision, o.device);
      return job.Forward(step);
    }();
    UER_RETURN_IF_ERROR(forward.status());
    StepOutput& s = *forward;
    const double loss = s.out.loss.item<double>();
    if (dist && !std::isfinite(loss) && bad_loss_step == 0) bad_loss_step = step;  // decided with the others below
    if (!dist && !std::isfinite(loss)) {
      return absl::InternalError(absl::StrCat("the loss is ", loss, " at step ", step, "; stopped without saving (",
                                              no_checkpoint(), "). Lower --learning_rate or check the data"));
    }
    result.losses.push_back(loss);
    sums.values["loss"] += loss;
    for (const auto& [name, t] : s.out.values) {
      // Scalars other than the loss (counted above); logits and the like are not summed.
      if (name != "loss" && t.numel() == 1) sums.values[name] += t.item<double>();
    }
    ++sums.steps;
    sums.instances += s.instances;
    interval_tokens += s.tokens;
    interval_computed += s.computed_tokens >= 0 ? s.computed_tokens : s.tokens;
    torch::Tensor objective = s.out.loss * s.weight;
    if (dist && o.global_loss_normalization && !s.out.terms.empty()) {
      // sum_i / (N_i + eps) with N_i the count of all ranks: times world_size, since the gradients
      // are averaged over the ranks.
      std::vector<double> counts;
      for (const core::LossTerm& t : s.out.terms) counts.push_back(t.count.item<double>());
      UER_RETURN_IF_ERROR(dist->AllReduceSum(&counts, s.out.loss.device()));
      objective = torch::zeros({}, s.out.loss.options());
      for (size_t i = 0; i < counts.size(); ++i) {
        objective = objective + s.out.terms[i].sum * (world / (counts[i] + s.out.terms[i].eps));
      }
    }
    if (reducer && step == group_last) reducer->Arm();
    if (scaler) objective = objective * scaler->scale();
    (objective / static_cast<double>(group_last - group_first + 1)).backward();
    bool stop_now = false;
    if (step == group_last) {
      if (dist) {
        // Gradients and two flags in one collective, so that every rank decides the same: stop on
        // a signal (any rank's) or on a non-finite loss (any rank's).
        std::vector<double> flags = {stop_requested() ? 1.0 : 0.0, bad_loss_step ? 1.0 : 0.0};
        UER_RETURN_IF_ERROR(reducer ? reducer->Finish(&flags) : dist->AllReduceGradients(params, &flags));
        if (flags[1] > 0) {
          return absl::InternalError(absl::StrCat(
              "rank ", dist->rank(), ": a non-finite loss on ",
              bad_loss_step ? "this rank at step " + std::to_string(bad_loss_step) : "another rank", " (by step ", step,
              "); stopped without saving (", no_checkpoint(), "). Lower --learning_rate or check the data"));
        }
        stop_now = flags[0] > 0;
      }
      // fp16: the gradients divided by the loss scale; an overflow (on any rank: the all-reduce
      // carried its inf or NaN to all) skips the step everywhere and halves the scale.
      const bool finite = !scaler || scaler->Unscale(params);
      if (scaler) {
        scaler->Update(finite);
        if (!finite) {
          UER_LOG(WARNING) << "fp16: the gradients overflowed at step " << step << "; step skipped, loss scale now "
                           << scaler->scale() << " (" << scaler->skipped_steps() << " skipped so far)";
        }
      }
      if (finite) {
        if (metrics) grad_norm = GradNorm(params);
        optimizer.Step();
      }
      model.zero_grad();
    }
    UER_RETURN_IF_ERROR(job.AfterStep(step, writer, metrics));
    if (writer && progress.enabled()) progress.Update(step, absl::StrFormat("loss %.3f", loss));
    if (stop_now) {
      const std::string ck = CheckpointPath(o.output_model_path, step);
      if (writer) UER_RETURN_IF_ERROR(SaveCheckpoint(job, optimizer, scaler.get(), ck, step, run_identity));
      UER_RETURN_IF_ERROR(dist->Barrier());
      result.stopped_by_signal = stop_requested() ? o.stop_signal->load() : SIGTERM;
      UER_LOG(WARNING) << "rank " << dist->rank() << " stopped by a signal after step " << step
                       << (writer ? "; saved " + ck : "");
      result.last_checkpoint = ck;
      return result;
    }
    if (writer && job.ReportAfter(step, o.report_steps)) {
      const auto now = std::chrono::steady_clock::now();
      ReportContext c;
      c.step = step;
      c.total_steps = o.total_steps;
      c.sums = sums;
      const double interval = std::chrono::duration<double>(now - interval_start).count();
      c.tokens_per_second = interval > 0 ? interval_tokens * world / interval : 0;
      c.computed_tokens_per_second = interval > 0 ? interval_computed * world / interval : 0;
      c.world_size = world;
      c.elapsed_seconds = std::chrono::duration<double>(now - run_start).count();
      c.eta_seconds = c.elapsed_seconds / static_cast<double>(step - first_step + 1) * (o.total_steps - step);
      c.learning_rate = optimizer.CurrentLearningRate();
      c.grad_norm = grad_norm;
      UER_LOG(INFO) << job.ReportLine(c);
      if (metrics) {
        std::vector<Scalar> scalars = job.ReportScalars(c);
        scalars.push_back({"train/learning_rate", c.learning_rate});
        if (grad_norm >= 0) scalars.push_back({"train/grad_norm", grad_norm});
        if (scaler) scalars.push_back({"train/loss_scale", scaler->scale()});
        metrics->Write(step, scalars);
      }
      sums = core::ReportSums();
      interval_tokens = 0;
      interval_computed = 0;
      interval_start = now;
    }
    if (o.save_checkpoint_steps > 0 && step % o.save_checkpoint_steps == 0) {
      const std::string ck = CheckpointPath(o.output_model_path, step);
      if (writer) UER_RETURN_IF_ERROR(SaveCheckpoint(job, optimizer, scaler.get(), ck, step, run_identity));
      last_good = ck;
      result.last_checkpoint = ck;
    }
  }
  result.steps_done = o.total_steps;
  if (dist) UER_RETURN_IF_ERROR(dist->Barrier());
  if (!writer || !o.save_final_model) return result;
  UER_RETURN_IF_ERROR(SaveStateDict(o.output_model_path, ModelStateDict(model)));
  UER_LOG(INFO) << "saved " << o.output_model_path;
  return result;
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
    return absl::InvalidArgumentError(absl::StrCat("LibTorch refused the model or its input: ", FirstLine(e.what_without_backtrace())));
  } catch (const std::exception& e) {
    return absl::InternalError(FirstLine(e.what()));
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
