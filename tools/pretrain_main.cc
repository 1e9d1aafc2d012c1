// Pre-trains a model on a preprocessed dataset (UER-py's pretrain.py flags).
//
//   bazel run //tools:pretrain -- --dataset_path dataset.uer --vocab_path vocab.txt
//       --config_path models/bert/tiny.pbtxt --output_model_path models/tiny.bin
//       --total_steps 1000 --save_checkpoint_steps 500 --report_steps 100
#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "core/runtime/launch.h"
#include "core/runtime/pretrain.h"
#include "tools/tool_common.h"

// Paths.
DEFINE_string(dataset_path, "dataset.uer", "Path of the preprocessed dataset.");
DEFINE_string(vocab_path, "", "Path of the vocabulary file.");
DEFINE_string(pretrained_model_path, "", "Path of the pretrained model.");
DEFINE_string(output_model_path, "", "Path of the output model.");
// Training.
DEFINE_int64(total_steps, 100000, "Total training steps.");
DEFINE_int64(save_checkpoint_steps, 10000, "Specific steps to save model checkpoint.");
DEFINE_int64(report_steps, 100, "Specific steps to print prompt.");
DEFINE_int64(accumulation_steps, 1, "Specific steps to accumulate gradient.");
DEFINE_int64(batch_size, 32, "Training batch size. The actual batch_size is [batch_size x world_size x accumulation_steps].");
DEFINE_int64(instances_buffer_size, 25600, "The buffer size of instances in memory (shared by all ranks: each reads its slice of every global batch).");
DEFINE_bool(overlap_allreduce, true, "Several ranks: average gradients in buckets while the backward pass runs (as PyTorch's DDP); --nooverlap_allreduce: all of them after it.");
DEFINE_double(peak_tflops, 0, "The GEMM peak of one process in TFLOP/s for the report's model FLOPs utilisation (MFU); 0 measures it at the start (about a second of fp32 matrix products); negative: no MFU.");
DEFINE_string(precision, "fp32", "Arithmetic of the forward passes: fp32, bf16 or fp16 (autocast: matrix products in bf16 on AMX/AVX-512 BF16 CPUs and GPUs, or in fp16 with dynamic loss scaling on GPUs and fp16 CPUs; LayerNorm, softmax and losses in fp32; weights, optimizer state and checkpoints fp32).");
DEFINE_double(fp16_init_scale, 65536, "--precision fp16: the first loss scale (halved at each step whose gradients overflow).");
DEFINE_int64(fp16_scale_window, 2000, "--precision fp16: good steps in a row after which the loss scale doubles.");
DEFINE_string(tensorboard_dir, "", "Write TensorBoard event files here (rank 0): the report's values, learning rate, tokens/s, gradient norm, MFU, dev metrics; view with tensorboard --logdir.");
DEFINE_string(metrics_path, "", "Write the same values as JSON lines here (one object a report; a resumed run keeps the lines up to its checkpoint).");
DEFINE_bool(skip_padding, true, "Leave padding positions out of the encoder's work where the target reads none of them (the same loss and gradients); --noskip_padding computes every position, as UER-py does.");
DEFINE_bool(overwrite_checkpoints, false, "Without --resume: delete the OUTPUT-STEP checkpoints of an earlier run at --output_model_path instead of refusing to start.");
DEFINE_bool(resume, false, "Continue from the newest OUTPUT-STEP checkpoint and its .state file.");
// Model flags (--config_path, --emb_size, ... --target) come from tools/model_flags.cc.
DECLARE_string(config_path);
DEFINE_int32(seed, 7, "Random seed.");
// Optimizer.
DEFINE_double(learning_rate, 2e-5, "Initial learning rate.");
DEFINE_double(warmup, 0.1, "Warm up value.");
DEFINE_string(optimizer, "bertadam", "bertadam (UER-py's, no bias correction) or adamw (bias-corrected).");
DEFINE_string(schedule, "warmup_linear", "warmup_linear, warmup_constant or warmup_cosine.");
// Subword options (--subword_type, --sub_vocab_path, --subencoder, --sub_layers_num) come from
// tools/model_flags.cc.
DECLARE_string(sub_vocab_path);
// GPU options.
DEFINE_int32(world_size, 1, "Total number of processes (GPUs) for training.");
DEFINE_string(gpu_ranks, "", "List of ranks of each process: \"0 1 2 3\" as UER-py spells it, or 0,1,2,3.");
DEFINE_string(master_ip, "tcp://localhost:12345", "IP-Port of master for training.");
DEFINE_string(backend, "", "Distributed backend: nccl (GPUs, CUDA build) or gloo (CPUs); by default nccl where CUDA is there, else gloo.");
DEFINE_string(loss_normalization, "global", "Distributed runs: global normalises the loss by the target counts of all ranks (N ranks train as one process with N x batch); per_rank by each rank's own, as UER-py does.");
DEFINE_int32(dist_timeout, 600, "Seconds to wait for the other ranks at the rendezvous and in a collective.");

namespace {
std::atomic<int> g_stop{0};
void OnSignal(int sig) { g_stop.store(sig); }
}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> original_argv(argv, argv + argc);
  uer::tools::InitTool("Pre-trains a model.\nUsage: pretrain --dataset_path D --vocab_path V --output_model_path M "
                       "[--config_path C] [--total_steps N]", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto config = uer::tools::ResolveModelConfig(FLAGS_config_path);
  if (!config.ok()) return uer::tools::ExitCode(config.status());
  uer::runtime::PretrainOptions o;
  o.dataset_path = FLAGS_dataset_path;
  o.vocab_path = FLAGS_vocab_path;
  o.sub_vocab_path = FLAGS_sub_vocab_path;
  o.pretrained_model_path = FLAGS_pretrained_model_path;
  o.output_model_path = FLAGS_output_model_path;
  o.config = *config;
  o.total_steps = FLAGS_total_steps;
  o.save_checkpoint_steps = FLAGS_save_checkpoint_steps;
  o.report_steps = FLAGS_report_steps;
  o.accumulation_steps = FLAGS_accumulation_steps;
  o.batch_size = FLAGS_batch_size;
  o.instances_buffer_size = FLAGS_instances_buffer_size;
  o.seed = FLAGS_seed;
  o.learning_rate = FLAGS_learning_rate;
  o.warmup = FLAGS_warmup;
  o.optimizer = FLAGS_optimizer;
  o.schedule = FLAGS_schedule;
  o.resume = FLAGS_resume;
  auto global_loss = uer::tools::ParseLossNormalization(FLAGS_loss_normalization);
  if (!global_loss.ok()) return uer::tools::ExitCode(global_loss.status());
  o.global_loss_normalization = *global_loss;
  o.overwrite_checkpoints = FLAGS_overwrite_checkpoints;
  o.skip_padding = FLAGS_skip_padding;
  o.overlap_allreduce = FLAGS_overlap_allreduce;
  o.precision = FLAGS_precision;
  o.fp16_init_scale = FLAGS_fp16_init_scale;
  o.fp16_scale_window = FLAGS_fp16_scale_window;
  o.tensorboard_dir = FLAGS_tensorboard_dir;
  o.metrics_path = FLAGS_metrics_path;
  o.peak_flops = FLAGS_peak_tflops * 1e12;
  auto ranks = uer::tools::ParseGpuRanks(FLAGS_gpu_ranks);
  if (!ranks.ok()) return uer::tools::ExitCode(ranks.status());
  gflags::CommandLineFlagInfo info;
  auto is_set = [&info](const char* flag) { return gflags::GetCommandLineFlagInfo(flag, &info) && !info.is_default; };
  uer::runtime::LaunchOptions& lo = o.launch;
  lo.world_size = FLAGS_world_size;
  lo.world_size_given = is_set("world_size");
  lo.gpu_ranks = *ranks;
  lo.backend = FLAGS_backend;
  lo.master_ip = FLAGS_master_ip;
  lo.master_ip_given = is_set("master_ip");
  lo.dist_timeout_s = FLAGS_dist_timeout;
  lo.stop_signal = &g_stop;
  std::signal(SIGTERM, OnSignal);  // before the launch: a rank waiting for its peers stops on a signal
  std::signal(SIGINT, OnSignal);
  auto launch = uer::runtime::ResolveLaunch(original_argv, lo);
  if (!launch.ok()) return uer::tools::ExitCode(launch.status());
  if (launch->launcher) return launch->exit_code;
  o.place = *launch;
  o.stop_signal = &g_stop;
  auto result = uer::runtime::RunPretrain(o);
  if (!result.ok()) return uer::tools::ExitCode(result.status());
  return result->stopped_by_signal ? 128 + result->stopped_by_signal : 0;
}
