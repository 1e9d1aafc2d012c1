// The training loop's checkpoints: OUTPUT-STEP (the model, UER-py's keys) with OUTPUT-STEP.state
// beside it (optimizer moments, loss scale, step, data position, RNG state, the job's own state and
// the run's identity), the output folder's checks before a run, and resuming from the newest
// complete checkpoint. Internal to the trainer (core/runtime/trainer.cc).
#ifndef UER_CORE_RUNTIME_TRAIN_CHECKPOINTS_H_
#define UER_CORE_RUNTIME_TRAIN_CHECKPOINTS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "core/runtime/trainer.h"

namespace uer::runtime::train {

// Before a run: the output path names a file in a folder that can be written (made if missing;
// stale temporaries of a killed run removed, on the writer rank); without `resume`, an earlier
// run's checkpoints there are refused, or deleted with `overwrite_checkpoints`.
absl::Status PrepareOutput(const TrainerOptions& o, bool writer);

// What identifies a run in its checkpoints: a random id kept across resumes, and its settings
// ("key=value" lines; a resume with other values says what differs).
core::StateDict RunIdentity(const std::map<std::string, std::string>& settings);

// Writes OUTPUT-STEP and its .state (the .state first, renamed into place last).
absl::Status SaveCheckpoint(TrainingJob& job, const BertAdam& optimizer, const LossScaler* scaler,
                            const std::string& path, int64_t step, const core::StateDict& run_identity);

// Loads the newest complete checkpoint of `o.output_model_path` into the job, the optimizer and
// the scaler, passing over damaged ones (said); returns the step to continue with (1: none found).
absl::StatusOr<int64_t> ResumeNewest(TrainingJob& job, const TrainerOptions& o, BertAdam* optimizer,
                                     LossScaler* scaler, core::StateDict* run_identity);

}  // namespace uer::runtime::train

#endif  // UER_CORE_RUNTIME_TRAIN_CHECKPOINTS_H_
