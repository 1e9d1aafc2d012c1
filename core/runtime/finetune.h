// Fine-tuning and inference for any task plugin (UER-py's run_classifier.py, run_ner.py, ...): the
// task's data side reads the files, sizes the head, evaluates and writes predictions; the model is
// the pre-trained embedding and encoder plus the task's head; training runs on the one Trainer
// (accumulation, SIGTERM/SIGINT saves, exact --resume, data parallelism over Gloo or NCCL ranks).
//
//   FinetuneOptions o;  o.task = "classifier";  o.train_path = "train.tsv";  o.dev_path = "dev.tsv";
//   o.vocab_path = "vocab.txt";  o.output_model_path = "models/classifier.bin";  o.config = config;
//   UER_ASSIGN_OR_RETURN(FinetuneResult r, RunFinetune(o));   // r.best_dev, r.test_report
#ifndef UER_CORE_RUNTIME_FINETUNE_H_
#define UER_CORE_RUNTIME_FINETUNE_H_

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/plugin_api.h"
#include "core/runtime/device.h"
#include "core/runtime/launch.h"
#include "core/runtime/model/model.h"
#include "core/runtime/trainer.h"

namespace uer::runtime {

struct FinetuneOptions {
  FinetuneOptions() { run.batch_size = 64; }
  // The run: output path (the best epoch), optimizer, resume, precision (training and evaluation),
  // metrics (dev/ and test/ values too), distributed place, ... (total_steps follows from the epochs).
  TrainingRunOptions run;
  std::string task;                                 // a task plugin's name
  std::map<std::string, std::string> task_options;  // handed to the task's data side
  std::string pretrained_model_path, vocab_path, train_path, dev_path, test_path;
  std::string sub_vocab_path;    // subword models (config.subword_type char)
  core::v1::ModelConfig config;  // labels_num is set by the task from the training file
  int64_t seq_length = 128;
  int epochs_num = 3;
  bool skip_bad_lines = false;
  bool replace_invalid_utf8 = false;  // core::TaskReadOptions
};

struct FinetuneResult {
  std::string metric_name;         // the task's dev metric ("accuracy", "MRR", "F1")
  std::vector<double> dev_metric;  // per epoch
  double best_dev = 0;
  double test_metric = -1;  // -1 without a test file
  std::string test_report;
  int64_t labels_num = 0;
  int64_t train_instances = 0;
  double train_seconds = 0, eval_seconds = 0;
  int64_t train_samples = 0, eval_samples = 0;  // what the seconds were spent on
  int stopped_by_signal = 0;                    // a checkpoint was saved; --resume continues
};

absl::StatusOr<FinetuneResult> RunFinetune(const FinetuneOptions& options);

struct InferOptions {
  std::string task;
  std::map<std::string, std::string> task_options;
  std::string load_model_path, vocab_path, test_path, prediction_path;
  std::string sub_vocab_path;  // subword models (config.subword_type char)
  core::v1::ModelConfig config;
  int64_t batch_size = 64;
  int64_t seq_length = 128;
  bool replace_invalid_utf8 = false;
  std::vector<int> gpu_ranks;
  std::string precision = "fp32";  // fp32 | bf16 (ParsePrecision)
};

// The Predictor: forward passes in eval mode over a task's data set, batch by batch, each batch cut
// after its longest row where the plugins allow it (Task::ReadsPadding,
// Encoder::TrailingPaddingInvisible): the same outputs, less work on short texts.
class Predictor {
 public:
  // Forward passes under autocast in `precision`; the outputs handed on are fp32.
  Predictor(FinetuneModel* model, torch::Device device, int64_t batch_size, Precision precision = Precision::kFp32);
  // `use(begin, out)` for rows [begin, begin + batch) of `data`.
  void Run(const core::TaskDataset& data, const std::function<void(int64_t, const core::TargetOutput&)>& use) const;

 private:
  FinetuneModel* model_;
  torch::Device device_;
  int64_t batch_size_;
  bool trim_;
  Precision precision_;
};

// A prediction file: the task's header line, then a line per input.
absl::Status RunInfer(const InferOptions& options);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_FINETUNE_H_
