// The one training loop (UER-py's Trainer.train, Marian's Train): a run hands it a TrainingJob (its
// model, its batches, its report) and the loop does the rest, written once: gradient accumulation,
// the gradient all-reduce of distributed runs, the NaN policy, SIGTERM/SIGINT saves, exact resume
// (weights, optimizer moments, data position, RNG, the job's own state), the report/save schedule,
// and LibTorch's exceptions turned into a Status at its boundary.
//
//   PretrainJob job(...);                               // a TrainingJob
//   UER_ASSIGN_OR_RETURN(TrainResult r, Train(job, trainer_options));
//
// Checkpoints are OUTPUT-STEP (the model, UER-py's keys) with OUTPUT-STEP.state beside it; --resume
// continues from the newest complete pair.
#ifndef UER_CORE_RUNTIME_TRAINER_H_
#define UER_CORE_RUNTIME_TRAINER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "absl/status/statusor.h"
#include "core/plugin_api.h"
#include "core/runtime/device.h"
#include "core/runtime/distributed.h"
#include "core/runtime/launch.h"
#include "core/runtime/metrics.h"
#include "core/runtime/optimizer.h"
#include "core/target_data.h"

namespace uer::runtime {

// What one forward pass gave.
struct StepOutput {
  core::TargetOutput out;
  int64_t tokens = 0;     // positions of the batch (for tokens/s)
  int64_t computed_tokens = -1;  // positions the model computed (padding skipped); -1: tokens
  int64_t instances = 0;  // rows of the batch
  // The loss is multiplied by this before backward (a rank's share of a global mean); 1 usually.
  // Not used where the loss's terms are normalised over all ranks (TrainerOptions).
  double weight = 1.0;
};

// What the report line is made of.
struct ReportContext {
  int64_t step = 0, total_steps = 0;
  core::ReportSums sums;  // the target's values, and "loss", over the interval (this rank's)
  double tokens_per_second = 0;  // all ranks together
  double computed_tokens_per_second = 0;  // the positions computed (StepOutput::computed_tokens), all ranks
  int world_size = 1;
  double elapsed_seconds = 0;    // since the run (or its resume) started
  double eta_seconds = 0;
  double learning_rate = 0;      // what the next optimizer step applies (the schedule's value)
  double grad_norm = -1;         // the L2 norm of the last applied gradients (metrics only); -1: not computed
};

class TrainingJob {
 public:
  virtual ~TrainingJob();
  virtual torch::nn::Module& model() = 0;
  // The forward pass of the next batch (the model is in train mode). `step` is 1-based.
  virtual absl::StatusOr<StepOutput> Forward(int64_t step) = 0;
  // The data position a checkpoint stores, and moving there on resume.
  virtual int64_t position() const = 0;
  virtual void Seek(int64_t position) = 0;
  // The accumulation group of `step`: the first and last forward pass whose gradients one optimizer
  // step applies. UER-py's: [k*acc + 1, (k+1)*acc] (a last, incomplete group is never applied);
  // fine-tuning ends a group at each epoch's end, so that every epoch's last batches count before
  // the dev evaluation.
  virtual std::pair<int64_t, int64_t> AccumulationGroup(int64_t step, int64_t acc) const {
    const int64_t first = (step - 1) / acc * acc + 1;
    return {first, first + acc - 1};
  }
  // Whether to report after `step` (UER-py: every report_steps steps; its fine-tuning counts them
  // within each epoch).
  virtual bool ReportAfter(int64_t step, int64_t report_steps) const { return step % report_steps == 0; }
  // The report line (rank 0 logs it).
  virtual std::string ReportLine(const ReportContext& context) const = 0;
  // The report's scalars for TensorBoard and --metrics_path ("train/loss", ...); the trainer adds
  // train/learning_rate and train/grad_norm.
  virtual std::vector<Scalar> ReportScalars(const ReportContext& context) const {
    return {{"train/loss", context.sums.Mean("loss")}};
  }
  // After each forward pass and the optimizer step it completes, on every rank (`writer`: this rank
  // writes files; `metrics`: where it records scalars, or null): the end of a fine-tuning epoch
  // evaluates and saves the best model here. The model must be back in train mode when it returns.
  virtual absl::Status AfterStep(int64_t step, bool writer, MetricsWriter* metrics) { return absl::OkStatus(); }
  // The job's own state in a checkpoint ("job." keys), read back on resume.
  virtual core::StateDict JobState() const { return {}; }
  virtual absl::Status LoadJobState(const core::StateDict& state) { return absl::OkStatus(); }
};

struct TrainerOptions {
  std::string output_model_path;
  int64_t total_steps = 100000;       // forward passes (UER-py counts accumulation micro-steps)
  int64_t accumulation_steps = 1;
  int64_t report_steps = 100;
  int64_t save_checkpoint_steps = 0;  // 0: only on a signal
  bool save_final_model = true;       // output_model_path at the end (pretrain)
  bool resume = false;
  // Without resume: checkpoints of an earlier run at output_model_path are deleted (true) or refused.
  bool overwrite_checkpoints = false;
  // What the run is (data set, batch size, ...), stored in its checkpoints as "key=value" lines: a
  // resume with other values says what differs.
  std::map<std::string, std::string> run_settings;
  OptimizerOptions optimizer;
  Distributed* dist = nullptr;        // null: one process
  // Distributed runs: a loss with terms (core::TargetOutput::terms) is normalised by the counts of
  // all ranks together, so that N ranks train as one process with N times the batch. false: each
  // rank by its own counts (UER-py's way; the ranks' gradients are then averaged).
  bool global_loss_normalization = true;
  // Distributed runs: gradients averaged while the backward pass runs (GradientReducer); false: in
  // one go after it (Distributed::AllReduceGradients).
  bool overlap_allreduce = true;
  // Forward passes under autocast in this precision on this device (AutocastGuard); fp32: none.
  Precision precision = Precision::kFp32;
  // fp16: the dynamic loss scaling's settings (LossScaler).
  LossScalerOptions loss_scaler;
  torch::Device device{torch::kCPU};
  std::atomic<int>* stop_signal = nullptr;
  // --tensorboard_dir / --metrics_path: rank 0 records every report's scalars (resume_step is set
  // by the trainer).
  MetricsOptions metrics;
  std::string progress_name = "train";  // the terminal's progress line: "pretrain: step 120/1000 ..."
};

// What a training run takes from its command line beside its job's own settings; PretrainOptions
// and FinetuneOptions embed it (tools/training_flags.cc maps the flags to it). The job sets the
// loop's runtime fields (dist, device, precision, run_settings) and what it computes itself
// (fine-tuning: total_steps from its epochs).
struct TrainingRunOptions {
  TrainerOptions trainer;
  int64_t batch_size = 32;  // per rank
  int seed = 7;
  std::string precision = "fp32";  // fp32 | bf16 | fp16 (ParsePrecision)
  LaunchOptions launch;  // world_size, gpu_ranks, backend, master_ip, dist_timeout_s
  Launch place;          // this rank's place (ResolveLaunch); alone by default
};

struct TrainResult {
  int64_t steps_done = 0;
  std::vector<double> losses;  // the loss of every forward pass
  std::string last_checkpoint;
  int stopped_by_signal = 0;   // the signal that stopped the run (a checkpoint was saved), or 0
  std::shared_ptr<MetricsWriter> metrics;  // rank 0's, for what the run records after training; or null
};

absl::StatusOr<TrainResult> Train(TrainingJob& job, const TrainerOptions& options);

// OUTPUT-STEP; the steps of every OUTPUT-STEP or OUTPUT-STEP.state file, sorted; and the newest step
// with a complete checkpoint (model and .state), or 0.
std::string CheckpointPath(const std::string& output, int64_t step);
std::vector<int64_t> CheckpointSteps(const std::string& output);
int64_t LatestCheckpoint(const std::string& output);

// H:MM:SS, for elapsed times and ETAs in report lines.
std::string FormatDuration(double seconds);

// Runs `fn`, turning a LibTorch exception (a shape error deep inside a module) into an
// InvalidArgument status with its first line: every tool ends with a message, never an abort.
absl::Status CatchTorchErrors(const std::function<absl::Status()>& fn);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_TRAINER_H_
