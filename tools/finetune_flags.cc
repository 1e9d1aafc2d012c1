#include "tools/finetune_flags.h"

#include <iostream>

#include <gflags/gflags.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/runtime/finetune.h"
#include "tools/tool_common.h"
#include "tools/training_flags.h"

// Paths.
DEFINE_string(load_model_path, "", "Path of the fine-tuned model (inference).");
DEFINE_string(train_path, "", "Path of the trainset (training).");
DEFINE_string(dev_path, "", "Path of the devset (training).");
DEFINE_string(test_path, "", "Path of the testset.");
DEFINE_string(prediction_path, "", "Path of the prediction file (inference).");
// Beside the shared training flags (tools/training_flags.cc: --output_model_path, --batch_size,
// --learning_rate, --resume, --world_size, ...) and the model flags (tools/model_flags.cc).
DEFINE_int64(seq_length, 128, "Sequence length.");
DEFINE_string(pooling, "first", "Pooling type: mean, max, first, last (classifier).");
DEFINE_bool(pool_tokens_only, false, "mean, max and last pool over the tokens alone (padding left out, as UER-py's later versions do); the seed's pools over the whole padded sequence. Fine-tuning then skips the padding's work.");
DEFINE_string(tokenizer, "bert", "Tokenizer: bert, char, space (classifier; NER input is space-separated).");
// Training.
DEFINE_int32(epochs_num, 3, "Number of epochs.");
DEFINE_bool(replace_invalid_utf8, false, "Read invalid UTF-8 (a GBK file) as U+FFFD instead of stopping at the line.");
DEFINE_bool(skip_bad_lines, false, "Skip (and count) malformed lines instead of stopping at the first.");
// The task.
DEFINE_string(task, "", "The task plugin: classifier, ner, or a plugin's (finetune and infer).");

DECLARE_int32(labels_num);
DECLARE_string(sub_vocab_path);
DECLARE_string(config_path);
DECLARE_string(pretrained_model_path);
DECLARE_string(vocab_path);
DECLARE_int64(batch_size);
DECLARE_string(precision);
DECLARE_string(gpu_ranks);

namespace uer::tools {

namespace {

// The task's options (its flags), and --labels_num when given.
}  // namespace

std::map<std::string, std::string> TaskOptions(const std::string& task) {
  std::map<std::string, std::string> o;
  if (auto f = core::registry::Find(core::PluginKind::kTask, task); f.ok()) o = PluginOptionValues(**f);
  if (FlagIsSet("labels_num")) o["labels_num"] = std::to_string(FLAGS_labels_num);
  return o;
}

void InitTaskTool(const char* usage, int* argc, char*** argv, const std::string& task, const std::string& skip_task) {
  InitTool(usage, argc, argv, [&task, &skip_task](int argc, char** argv) {
    // The task and the plugin that may bring it, before the command line is checked.
    const std::string name = task.empty() ? CommandLineValue(argc, argv, "task") : task;
    if (name.empty() || name == skip_task) return;
    LoadPlugins(CommandLineValue(argc, argv, "plugins"));
    auto factory = core::registry::Find(core::PluginKind::kTask, name);
    if (!factory.ok()) {
      std::cerr << "error: --task " << name << ": " << factory.status().message() << std::endl;
      std::_Exit(2);
    }
    OfferPluginOptions(**factory);
  });
}

int RunFinetuneTool(const std::string& task) {
  LoadPluginsFromFlags();
  auto config = ResolveModelConfig(FLAGS_config_path);
  if (!config.ok()) return ExitCode(config.status());
  // The tool's default tokenizer (run_mrc's is char) when neither the command line nor the config names one.
  if (!config->has_tokenizer()) config->set_tokenizer(FLAGS_tokenizer);
  auto run = TrainingRunFromFlags();
  if (!run.ok()) return ExitCode(run.status());
  if (run->place.launcher) return run->place.exit_code;
  runtime::FinetuneOptions o;
  o.run = *std::move(run);
  o.task = task.empty() ? FLAGS_task : task;
  o.task_options = TaskOptions(o.task);
  o.pretrained_model_path = FLAGS_pretrained_model_path;
  o.vocab_path = ResolveVocabPath();
  o.sub_vocab_path = FLAGS_sub_vocab_path;
  o.train_path = FLAGS_train_path;
  o.dev_path = FLAGS_dev_path;
  o.test_path = FLAGS_test_path;
  o.config = *config;
  o.seq_length = FLAGS_seq_length;
  o.epochs_num = FLAGS_epochs_num;
  o.skip_bad_lines = FLAGS_skip_bad_lines;
  o.replace_invalid_utf8 = FLAGS_replace_invalid_utf8;
  auto result = runtime::RunFinetune(o);
  if (!result.ok()) return ExitCode(result.status());
  if (result->stopped_by_signal) return 128 + result->stopped_by_signal;
  if (o.run.place.rank != 0) return 0;
  std::cout << "best dev " << result->metric_name << ": " << result->best_dev << "\n";
  if (!result->test_report.empty()) std::cout << result->test_report << "\n";
  std::cout << "model: " << o.run.trainer.output_model_path << "\n";
  return 0;
}

int RunInferTool(const std::string& task) {
  LoadPluginsFromFlags();
  auto config = ResolveModelConfig(FLAGS_config_path);
  if (!config.ok()) return ExitCode(config.status());
  // The tool's default tokenizer (run_mrc's is char) when neither the command line nor the config names one.
  if (!config->has_tokenizer()) config->set_tokenizer(FLAGS_tokenizer);
  runtime::InferOptions o;
  o.task = task.empty() ? FLAGS_task : task;
  o.task_options = TaskOptions(o.task);
  o.load_model_path = FLAGS_load_model_path;
  o.vocab_path = ResolveVocabPath();
  o.sub_vocab_path = FLAGS_sub_vocab_path;
  o.test_path = FLAGS_test_path;
  o.prediction_path = FLAGS_prediction_path;
  o.config = *config;
  o.batch_size = FLAGS_batch_size;
  o.seq_length = FLAGS_seq_length;
  o.replace_invalid_utf8 = FLAGS_replace_invalid_utf8;
  o.precision = FLAGS_precision;
  auto ranks = ParseGpuRanks(FLAGS_gpu_ranks);
  if (!ranks.ok()) return ExitCode(ranks.status());
  o.gpu_ranks = *ranks;
  return ExitCode(runtime::RunInfer(o));
}

}  // namespace uer::tools
