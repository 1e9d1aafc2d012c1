#include "tools/finetune_flags.h"

#include <iostream>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "tools/tool_common.h"

// Paths.
DEFINE_string(pretrained_model_path, "", "Path of the pretrained model, UER-py's or uer-cc's keys (training).");
DEFINE_string(output_model_path, "./models/classifier_model.bin", "Path of the output model: the best epoch on dev (training).");
DEFINE_string(load_model_path, "", "Path of the fine-tuned model (inference).");
DEFINE_string(vocab_path, "", "Path of the vocabulary file.");
DEFINE_string(train_path, "", "Path of the trainset (training).");
DEFINE_string(dev_path, "", "Path of the devset (training).");
DEFINE_string(test_path, "", "Path of the testset.");
DEFINE_string(prediction_path, "", "Path of the prediction file (inference).");
DEFINE_string(label2id_path, "", "NER label map (inference); default: LOAD_MODEL_PATH.labels.json, written by run_ner.");
// Model options beside tools/model_flags.cc's.
DEFINE_int64(batch_size, 64, "Batch size.");
DEFINE_int64(seq_length, 128, "Sequence length.");
DEFINE_string(pooling, "first", "Pooling type: mean, max, first, last (classifier).");
DEFINE_string(tokenizer, "bert", "Tokenizer: bert, char, space (classifier; NER input is space-separated).");
DEFINE_string(subword_type, "none", "Subword feature type: none, char (not built in uer-cc yet).");
// Optimizer and training.
DEFINE_double(learning_rate, 2e-5, "Learning rate.");
DEFINE_double(warmup, 0.1, "Warm up value.");
DEFINE_int32(epochs_num, 3, "Number of epochs.");
DEFINE_int64(report_steps, 100, "Specific steps to print prompt.");
DEFINE_int32(seed, 7, "Random seed.");
DEFINE_bool(skip_bad_lines, false, "Skip (and count) malformed lines instead of stopping at the first.");
// Evaluation and output.
DEFINE_bool(mean_reciprocal_rank, false, "Evaluation metrics for DBQA dataset (needs a qid column).");
DEFINE_bool(output_logits, false, "Write the logits (classifier inference).");
DEFINE_bool(output_prob, false, "Write the probabilities (classifier inference).");
// Device.
DEFINE_string(gpu_ranks, "", "One GPU to run on (a CUDA build); empty = CPU.");

DECLARE_int32(labels_num);
DECLARE_string(config_path);

namespace uer::tools {

void SetFlagDefault(const char* name, const std::string& value) {
  CHECK(!gflags::SetCommandLineOptionWithMode(name, value.c_str(), gflags::SET_FLAGS_DEFAULT).empty())
      << "no flag --" << name;
}

namespace {
absl::Status CheckSubword() {
  if (FLAGS_subword_type != "none") {
    return absl::UnimplementedError("--subword_type char is not built in uer-cc yet");
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<FinetuneOptions> FinetuneOptionsFromFlags(const core::v1::ModelConfig& config) {
  UER_RETURN_IF_ERROR(CheckSubword());
  for (const auto& [name, value] : {std::pair<const char*, const std::string&>{"vocab_path", FLAGS_vocab_path},
                                    {"train_path", FLAGS_train_path}, {"dev_path", FLAGS_dev_path}}) {
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  }
  FinetuneOptions o;
  o.pretrained_model_path = FLAGS_pretrained_model_path;
  o.output_model_path = FLAGS_output_model_path;
  o.vocab_path = FLAGS_vocab_path;
  o.train_path = FLAGS_train_path;
  o.dev_path = FLAGS_dev_path;
  o.test_path = FLAGS_test_path;
  o.config = config;
  o.batch_size = FLAGS_batch_size;
  o.seq_length = FLAGS_seq_length;
  o.learning_rate = FLAGS_learning_rate;
  o.warmup = FLAGS_warmup;
  o.epochs_num = FLAGS_epochs_num;
  o.report_steps = FLAGS_report_steps;
  o.seed = FLAGS_seed;
  o.mean_reciprocal_rank = FLAGS_mean_reciprocal_rank;
  o.skip_bad_lines = FLAGS_skip_bad_lines;
  UER_ASSIGN_OR_RETURN(o.gpu_ranks, ParseGpuRanks(FLAGS_gpu_ranks));
  return o;
}

absl::StatusOr<InferOptions> InferOptionsFromFlags(const core::v1::ModelConfig& config) {
  UER_RETURN_IF_ERROR(CheckSubword());
  if (FLAGS_vocab_path.empty()) return absl::InvalidArgumentError("--vocab_path is required");
  InferOptions o;
  o.load_model_path = FLAGS_load_model_path;
  o.vocab_path = FLAGS_vocab_path;
  o.test_path = FLAGS_test_path;
  o.prediction_path = FLAGS_prediction_path;
  o.label2id_path = FLAGS_label2id_path;
  o.config = config;
  o.batch_size = FLAGS_batch_size;
  o.seq_length = FLAGS_seq_length;
  gflags::CommandLineFlagInfo info;
  o.labels_num = gflags::GetCommandLineFlagInfo("labels_num", &info) && !info.is_default ? FLAGS_labels_num : 0;
  o.output_logits = FLAGS_output_logits;
  o.output_prob = FLAGS_output_prob;
  UER_ASSIGN_OR_RETURN(o.gpu_ranks, ParseGpuRanks(FLAGS_gpu_ranks));
  return o;
}

int RunFinetuneTool(absl::StatusOr<FinetuneResult> (*run)(const FinetuneOptions&), const char* metric) {
  LoadPluginsFromFlags();
  auto config = ResolveModelConfig(FLAGS_config_path);
  if (!config.ok()) return ExitCode(config.status());
  auto options = FinetuneOptionsFromFlags(*config);
  if (!options.ok()) return ExitCode(options.status());
  auto result = run(*options);
  if (!result.ok()) return ExitCode(result.status());
  std::cout << "best dev " << metric << ": " << result->best_dev << "\n";
  if (!result->test_report.empty()) std::cout << result->test_report << "\n";
  std::cout << "model: " << options->output_model_path << "\n";
  return 0;
}

int RunInferTool(absl::Status (*run)(const InferOptions&)) {
  LoadPluginsFromFlags();
  auto config = ResolveModelConfig(FLAGS_config_path);
  if (!config.ok()) return ExitCode(config.status());
  auto options = InferOptionsFromFlags(*config);
  if (!options.ok()) return ExitCode(options.status());
  return ExitCode(run(*options));
}

}  // namespace uer::tools
