#include "core/runtime/train/checkpoints.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/runtime/io/atomic_file.h"
#include "core/log.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/dataset.h"
#include "core/runtime/model/model.h"

namespace uer::runtime::train {

namespace {

namespace fs = std::filesystem;

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

}  // namespace

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
  const std::string state_tmp = TemporaryPath(path + ".state");
  UER_RETURN_IF_ERROR(SaveStateDict(state_tmp, state));
  if (absl::Status st = SaveStateDict(path, ModelStateDict(job.model())); !st.ok()) {
    unlink(state_tmp.c_str());
    return st;
  }
  return CommitTemporary(state_tmp, path + ".state");
}

namespace {

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

}  // namespace

absl::Status PrepareOutput(const TrainerOptions& o, bool writer) {
  if (writer) {
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
  if (o.resume) return absl::OkStatus();
  const std::vector<int64_t> old = CheckpointSteps(o.output_model_path);
  if (!old.empty() && !o.overwrite_checkpoints) {
    return absl::InvalidArgumentError(absl::StrCat(
        CheckpointPath(o.output_model_path, old.back()), " (and ", old.size() - 1, " more of steps ", old.front(), "..",
        old.back(), ") are checkpoints of an earlier run: continue it with --resume, or "
        "pass --overwrite_checkpoints to delete them and start anew"));
  }
  if (!old.empty() && writer) {
    for (int64_t s : old) {
      std::error_code ec;
      fs::remove(CheckpointPath(o.output_model_path, s), ec);
      fs::remove(CheckpointPath(o.output_model_path, s) + ".state", ec);
    }
    UER_LOG(WARNING) << "--overwrite_checkpoints: deleted " << old.size() << " checkpoint(s) of an earlier run ("
                     << CheckpointPath(o.output_model_path, old.front()) << " .. " << old.back() << ")";
  }
  return absl::OkStatus();
}

core::StateDict RunIdentity(const std::map<std::string, std::string>& settings) {
  return {{"uer.run_id", torch::tensor(static_cast<int64_t>(std::random_device{}() >> 1))},
          {"uer.run_settings", TextTensor(SettingsText(settings))}};
}

absl::StatusOr<int64_t> ResumeNewest(TrainingJob& job, const TrainerOptions& o, BertAdam* optimizer,
                                     LossScaler* scaler, core::StateDict* run_identity) {
  // The newest complete checkpoint; a damaged one (a torn file, a full disk) is passed over for
  // the one before, saying so.
  const std::vector<int64_t> steps = CheckpointSteps(o.output_model_path);
  std::string skipped;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const std::string ck = CheckpointPath(o.output_model_path, *it);
    if (!fs::exists(ck) || !fs::exists(ck + ".state")) continue;
    absl::Status st = Resume(job, optimizer, scaler, ck, o.run_settings, run_identity);
    if (!st.ok()) {
      UER_LOG(WARNING) << "--resume: cannot use " << ck << " (" << st.message() << "); trying the one before";
      skipped = ck;
      continue;
    }
    UER_LOG(INFO) << "resumed from " << ck << " at step " << *it + 1
                  << (skipped.empty() ? "" : " (newer checkpoints were damaged)");
    return *it + 1;
  }
  if (!skipped.empty()) {
    return absl::DataLossError(absl::StrCat("--resume: no usable checkpoint ", o.output_model_path,
                                            "-STEP (the oldest tried, ", skipped, ", was damaged too)"));
  }
  UER_LOG(WARNING) << "--resume: no checkpoint " << o.output_model_path << "-STEP with a .state file; starting anew";
  return 1;
}

}  // namespace uer::runtime::train
