#include "tools/finetune_flags.h"

#include <atomic>
#include <csignal>
#include <iostream>

#include <gflags/gflags.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/runtime/finetune.h"
#include "core/runtime/launch.h"
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
// Model options beside tools/model_flags.cc's.
DEFINE_int64(batch_size, 64, "Batch size.");
DEFINE_int64(seq_length, 128, "Sequence length.");
DEFINE_string(pooling, "first", "Pooling type: mean, max, first, last (classifier).");
DEFINE_bool(pool_tokens_only, false, "mean, max and last pool over the tokens alone (padding left out, as UER-py's later versions do); the seed's pools over the whole padded sequence. Fine-tuning then skips the padding's work.");
DEFINE_string(tokenizer, "bert", "Tokenizer: bert, char, space (classifier; NER input is space-separated).");
// Optimizer and training.
DEFINE_double(learning_rate, 2e-5, "Learning rate.");
DEFINE_double(warmup, 0.1, "Warm up value.");
DEFINE_int32(epochs_num, 3, "Number of epochs.");
DEFINE_int64(report_steps, 100, "Specific steps to print prompt.");
DEFINE_int32(seed, 7, "Random seed.");
DEFINE_bool(replace_invalid_utf8, false, "Read invalid UTF-8 (a GBK file) as U+FFFD instead of stopping at the line.");
DEFINE_string(precision, "fp32", "Arithmetic of the forward passes: fp32, bf16 or fp16 (autocast; fp16 with dynamic loss scaling, on GPUs and fp16 CPUs; weights, optimizer state and checkpoints stay fp32).");
DEFINE_double(fp16_init_scale, 65536, "--precision fp16: the first loss scale (halved at each step whose gradients overflow).");
DEFINE_int64(fp16_scale_window, 2000, "--precision fp16: good steps in a row after which the loss scale doubles.");
DEFINE_string(tensorboard_dir, "", "Write TensorBoard event files here (rank 0): the report's values, learning rate, tokens/s, gradient norm, MFU, dev metrics; view with tensorboard --logdir.");
DEFINE_string(metrics_path, "", "Write the same values as JSON lines here (one object a report; a resumed run keeps the lines up to its checkpoint).");
DEFINE_bool(skip_bad_lines, false, "Skip (and count) malformed lines instead of stopping at the first.");
// Training loop.
DEFINE_string(task, "", "The task plugin: classifier, ner, or a plugin's (finetune and infer).");
DEFINE_int64(accumulation_steps, 1, "Specific steps to accumulate gradient.");
DEFINE_bool(overwrite_checkpoints, false, "Without --resume: delete the OUTPUT-STEP checkpoints of an earlier run at --output_model_path instead of refusing to start.");
DEFINE_bool(resume, false, "Continue from the newest OUTPUT-STEP checkpoint (written on SIGTERM/SIGINT).");
// Device and distributed (as pretrain's).
DEFINE_string(gpu_ranks, "", "GPU ranks: one GPU to run on alone, or this machine's ranks with --world_size (\"0 1\" or 0,1).");
DEFINE_int32(world_size, 1, "Total number of processes (data parallel ranks).");
DEFINE_string(master_ip, "tcp://localhost:12345", "IP-Port of master for training.");
DEFINE_string(backend, "", "Distributed backend: nccl (GPUs, CUDA build) or gloo (CPUs); by default nccl where CUDA is there, else gloo.");
DEFINE_string(loss_normalization, "global", "Distributed runs: global normalises the loss by the target counts of all ranks (N ranks train as one process with N x batch); per_rank by each rank's own, as UER-py does.");
DEFINE_int32(dist_timeout, 600, "Seconds to wait for the other ranks at the rendezvous and in a collective.");

DECLARE_int32(labels_num);
DECLARE_string(sub_vocab_path);
DECLARE_string(config_path);
DECLARE_string(plugins);

namespace uer::tools {

void SetFlagDefault(const char* name, const std::string& value) {
  CHECK(!gflags::SetCommandLineOptionWithMode(name, value.c_str(), gflags::SET_FLAGS_DEFAULT).empty())
      << "no flag --" << name;
}

namespace {

std::atomic<int> g_stop{0};
void OnSignal(int sig) { g_stop.store(sig); }

bool IsSet(const char* name) {
  gflags::CommandLineFlagInfo info;
  return gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default;
}

// The task's options (its flags), and --labels_num when given.
std::map<std::string, std::string> TaskOptions(const std::string& task) {
  std::map<std::string, std::string> o;
  if (auto f = core::registry::Find(core::PluginKind::kTask, task); f.ok()) o = PluginOptionValues(**f);
  if (IsSet("labels_num")) o["labels_num"] = std::to_string(FLAGS_labels_num);
  return o;
}

}  // namespace

void InitTaskTool(const char* usage, int* argc, char*** argv, const std::string& task) {
  InitTool(usage, argc, argv, [&task](int argc, char** argv) {
    // The task and the plugin that may bring it, before the command line is checked.
    const std::string name = task.empty() ? CommandLineValue(argc, argv, "task") : task;
    if (name.empty()) return;
    FLAGS_plugins = CommandLineValue(argc, argv, "plugins");
    LoadPluginsFromFlags();
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
  runtime::FinetuneOptions o;
  o.task = task.empty() ? FLAGS_task : task;
  o.task_options = TaskOptions(o.task);
  o.pretrained_model_path = FLAGS_pretrained_model_path;
  o.output_model_path = FLAGS_output_model_path;
  o.vocab_path = FLAGS_vocab_path;
  o.sub_vocab_path = FLAGS_sub_vocab_path;
  o.train_path = FLAGS_train_path;
  o.dev_path = FLAGS_dev_path;
  o.test_path = FLAGS_test_path;
  o.config = *config;
  o.batch_size = FLAGS_batch_size;
  o.seq_length = FLAGS_seq_length;
  o.learning_rate = FLAGS_learning_rate;
  o.warmup = FLAGS_warmup;
  o.epochs_num = FLAGS_epochs_num;
  o.report_steps = FLAGS_report_steps;
  o.accumulation_steps = FLAGS_accumulation_steps;
  o.seed = FLAGS_seed;
  o.skip_bad_lines = FLAGS_skip_bad_lines;
  o.replace_invalid_utf8 = FLAGS_replace_invalid_utf8;
  o.precision = FLAGS_precision;
  o.fp16_init_scale = FLAGS_fp16_init_scale;
  o.fp16_scale_window = FLAGS_fp16_scale_window;
  o.tensorboard_dir = FLAGS_tensorboard_dir;
  o.metrics_path = FLAGS_metrics_path;
  o.resume = FLAGS_resume;
  auto global_loss = ParseLossNormalization(FLAGS_loss_normalization);
  if (!global_loss.ok()) return ExitCode(global_loss.status());
  o.global_loss_normalization = *global_loss;
  o.overwrite_checkpoints = FLAGS_overwrite_checkpoints;
  auto ranks = ParseGpuRanks(FLAGS_gpu_ranks);
  if (!ranks.ok()) return ExitCode(ranks.status());
  o.launch.world_size = FLAGS_world_size;
  o.launch.gpu_ranks = *ranks;
  o.launch.backend = FLAGS_backend;
  o.launch.master_ip = FLAGS_master_ip;
  o.launch.master_ip_given = IsSet("master_ip");
  o.launch.dist_timeout_s = FLAGS_dist_timeout;
  o.launch.world_size_given = IsSet("world_size");
  o.launch.stop_signal = &g_stop;
  std::signal(SIGTERM, OnSignal);  // before the launch: a rank waiting for its peers stops on a signal
  std::signal(SIGINT, OnSignal);
  auto launch = runtime::ResolveLaunch(OriginalArgv(), o.launch);
  if (!launch.ok()) return ExitCode(launch.status());
  if (launch->launcher) return launch->exit_code;
  o.place = *launch;
  o.stop_signal = &g_stop;
  auto result = runtime::RunFinetune(o);
  if (!result.ok()) return ExitCode(result.status());
  if (result->stopped_by_signal) return 128 + result->stopped_by_signal;
  if (o.place.rank != 0) return 0;
  std::cout << "best dev " << result->metric_name << ": " << result->best_dev << "\n";
  if (!result->test_report.empty()) std::cout << result->test_report << "\n";
  std::cout << "model: " << o.output_model_path << "\n";
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
  o.vocab_path = FLAGS_vocab_path;
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
