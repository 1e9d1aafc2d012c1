// pretrain: UER-py's pretrain.py on a uer-cc dataset (tools/preprocess). CPU, or one GPU with
// --gpu_ranks in a CUDA build. Writes OUTPUT-STEP checkpoints (UER-py's key names) with a training
// state beside each (OUTPUT-STEP.state: optimizer moments, step, RNG state, data position) so that
// --resume continues exactly; SIGTERM/SIGINT write both before the process exits.
//
//   PretrainOptions o;  o.dataset_path = "dataset.uer";  o.vocab_path = "vocab.txt";
//   o.run.trainer.output_model_path = "models/bert.bin";  o.config = resolved_model_config;
//   UER_ASSIGN_OR_RETURN(PretrainResult r, RunPretrain(o));
#ifndef UER_CORE_RUNTIME_PRETRAIN_H_
#define UER_CORE_RUNTIME_PRETRAIN_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/runtime/trainer.h"

namespace uer::runtime {

struct PretrainOptions {
  PretrainOptions() { run.trainer.save_checkpoint_steps = 10000; }
  // The run: output path, total and checkpoint steps, optimizer, resume, distributed place, ...
  TrainingRunOptions run;
  std::string dataset_path = "dataset.uer";
  std::string vocab_path;
  std::string sub_vocab_path;  // subword models (config.subword_type char): the characters' vocabulary
  std::string pretrained_model_path;
  core::v1::ModelConfig config;
  int64_t instances_buffer_size = 25600;
  // Let the encoder leave padding positions out when the target reads none of them (the same loss
  // and gradients; Model::SkipPadding). false computes every position, as UER-py does.
  bool skip_padding = true;
  // The GEMM peak (FLOP/s of one process) that the report's MFU divides by: 0 measures it at the
  // start (MeasureGemmPeak, about a second); < 0 reports no MFU.
  double peak_flops = 0;
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
