// pretrain: UER-py's pretrain.py on a uer-cc dataset (tools/preprocess). CPU, or one GPU with
// --gpu_ranks in a CUDA build. Writes OUTPUT-STEP checkpoints (UER-py's key names) with a training
// state beside each (OUTPUT-STEP.state: optimizer moments, step, RNG state, data position) so that
// --resume continues exactly; SIGTERM/SIGINT write both before the process exits.
//
//   PretrainOptions o;  o.dataset_path = "dataset.uer";  o.vocab_path = "vocab.txt";
//   o.output_model_path = "models/bert.bin";  o.config = resolved_model_config;
//   UER_ASSIGN_OR_RETURN(PretrainResult r, RunPretrain(o));
#ifndef UER_CORE_RUNTIME_PRETRAIN_H_
#define UER_CORE_RUNTIME_PRETRAIN_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/runtime/launch.h"

namespace uer::runtime {

struct PretrainOptions {
  std::string dataset_path = "dataset.uer";
  std::string vocab_path;
  std::string sub_vocab_path;  // subword models (config.subword_type char): the characters' vocabulary
  std::string pretrained_model_path;
  std::string output_model_path;
  core::v1::ModelConfig config;
  int64_t total_steps = 100000;
  int64_t save_checkpoint_steps = 10000;
  int64_t report_steps = 100;
  int64_t accumulation_steps = 1;
  int64_t batch_size = 32;
  int64_t instances_buffer_size = 25600;
  int seed = 7;
  double learning_rate = 2e-5;
  double warmup = 0.1;
  std::string optimizer = "bertadam";  // bertadam | adamw
  std::string schedule = "warmup_linear";
  LaunchOptions launch;  // world_size, gpu_ranks, backend, master_ip, dist_timeout_s
  Launch place;          // this rank's place (ResolveLaunch); alone by default
  bool resume = false;
  bool global_loss_normalization = true;  // TrainerOptions::global_loss_normalization
  bool overwrite_checkpoints = false;     // TrainerOptions::overwrite_checkpoints
  // Let the encoder leave padding positions out when the target reads none of them (the same loss
  // and gradients; Model::SkipPadding). false computes every position, as UER-py does.
  bool skip_padding = true;
  bool overlap_allreduce = true;  // TrainerOptions::overlap_allreduce
  // The GEMM peak (FLOP/s of one process) that the report's MFU divides by: 0 measures it at the
  // start (MeasureGemmPeak, about a second); < 0 reports no MFU.
  double peak_flops = 0;
  std::string precision = "fp32";  // fp32 | bf16 | fp16 (ParsePrecision): the forward passes' arithmetic
  // fp16's dynamic loss scaling (LossScalerOptions): the first scale, and the good steps after
  // which it doubles.
  double fp16_init_scale = 65536;
  int64_t fp16_scale_window = 2000;
  std::string tensorboard_dir, metrics_path;  // TrainerOptions::metrics
  // Set by a signal handler: the loop saves a checkpoint and stops at the next step.
  std::atomic<int>* stop_signal = nullptr;
};

struct PretrainResult {
  int64_t steps_done = 0;
  std::vector<double> losses;  // the loss of every step (the sum the trainer minimises)
  std::string last_checkpoint;
  int stopped_by_signal = 0;
};

absl::StatusOr<PretrainResult> RunPretrain(const PretrainOptions& options);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_PRETRAIN_H_
