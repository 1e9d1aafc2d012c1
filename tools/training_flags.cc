#include "tools/training_flags.h"

#include <atomic>
#include <csignal>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "core/runtime/launch.h"
#include "core/status_macros.h"
#include "tools/tool_common.h"

// Paths.
DEFINE_string(vocab_path, "", "Path of the vocabulary file.");
DEFINE_string(pretrained_model_path, "", "Path of the pretrained model, UER-py's, uer-cc's or HuggingFace's keys.");
// The defaults are fine-tuning's (UER-py's run_classifier); pretrain sets its own.
DEFINE_string(output_model_path, "./models/classifier_model.bin", "Path of the output model (fine-tuning: the best epoch on dev).");
// Training.
DEFINE_int64(batch_size, 64, "Batch size of each process (the global batch is batch_size x world_size x accumulation_steps).");
DEFINE_int64(report_steps, 100, "Specific steps to print prompt.");
DEFINE_int64(accumulation_steps, 1, "Specific steps to accumulate gradient.");
DEFINE_int32(seed, 7, "Random seed.");
DEFINE_bool(resume, false, "Continue from the newest OUTPUT-STEP checkpoint and its .state file (written on SIGTERM/SIGINT and every --save_checkpoint_steps).");
DEFINE_bool(overwrite_checkpoints, false, "Without --resume: delete the OUTPUT-STEP checkpoints of an earlier run at --output_model_path instead of refusing to start.");
DEFINE_string(precision, "fp32", "Arithmetic of the forward passes: fp32, bf16 or fp16 (autocast: matrix products in bf16 on AMX/AVX-512 BF16 CPUs and GPUs, or in fp16 with dynamic loss scaling on GPUs and fp16 CPUs; LayerNorm, softmax and losses in fp32; weights, optimizer state and checkpoints fp32).");
DEFINE_double(fp16_init_scale, 65536, "--precision fp16: the first loss scale (halved at each step whose gradients overflow).");
DEFINE_int64(fp16_scale_window, 2000, "--precision fp16: good steps in a row after which the loss scale doubles.");
DEFINE_string(tensorboard_dir, "", "Write TensorBoard event files here (rank 0): the report's values, learning rate, tokens/s, gradient norm, MFU, dev metrics; view with tensorboard --logdir.");
DEFINE_string(metrics_path, "", "Write the same values as JSON lines here (one object a report; a resumed run keeps the lines up to its checkpoint).");
// Optimizer.
DEFINE_double(learning_rate, 2e-5, "Initial learning rate.");
DEFINE_double(warmup, 0.1, "Warm up value.");
DEFINE_string(optimizer, "bertadam", "bertadam (the seed's BertAdam), adamw or adafactor (UER-py HEAD's: what its trainer builds, step for step).");
DEFINE_string(schedule, "warmup_linear", "The seed's schedules: warmup_linear, warmup_constant or warmup_cosine.");
DEFINE_string(scheduler, "", "UER-py HEAD's schedulers (replace --schedule): linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup, inverse_sqrt or tri_stage; the learning rate of every step as HEAD's.");
DEFINE_double(lr_decay, 0.5, "--scheduler tri_stage: the decay stage, as a fraction of the total steps.");
// Devices and distributed runs.
DEFINE_int32(world_size, 1, "Total number of processes (data parallel ranks).");
DEFINE_string(gpu_ranks, "", "GPU ranks: one GPU to run on alone, or this machine's ranks with --world_size (\"0 1\" as UER-py spells it, or 0,1).");
DEFINE_string(master_ip, "tcp://localhost:12345", "IP-Port of master for training.");
DEFINE_string(backend, "", "Distributed backend: nccl (GPUs, CUDA build) or gloo (CPUs); by default nccl where CUDA is there, else gloo.");
DEFINE_string(loss_normalization, "global", "Distributed runs: global normalises the loss by the target counts of all ranks (N ranks train as one process with N x batch); per_rank by each rank's own, as UER-py does.");
DEFINE_int32(dist_timeout, 600, "Seconds to wait for the other ranks at the rendezvous and in a collective.");
DEFINE_bool(overlap_allreduce, true, "Several ranks: average gradients in buckets while the backward pass runs (as PyTorch's DDP); --nooverlap_allreduce: all of them after it.");

namespace uer::tools {

namespace {
std::atomic<int> g_stop{0};
void OnSignal(int sig) { g_stop.store(sig); }
}  // namespace

void SetFlagDefault(const char* name, const std::string& value) {
  CHECK(!gflags::SetCommandLineOptionWithMode(name, value.c_str(), gflags::SET_FLAGS_DEFAULT).empty())
      << "no flag --" << name;
}

absl::StatusOr<runtime::TrainingRunOptions> TrainingRunFromFlags() {
  runtime::TrainingRunOptions run;
  runtime::TrainerOptions& t = run.trainer;
  t.output_model_path = FLAGS_output_model_path;
  t.report_steps = FLAGS_report_steps;
  t.accumulation_steps = FLAGS_accumulation_steps;
  t.resume = FLAGS_resume;
  t.overwrite_checkpoints = FLAGS_overwrite_checkpoints;
  UER_ASSIGN_OR_RETURN(t.global_loss_normalization, ParseLossNormalization(FLAGS_loss_normalization));
  t.overlap_allreduce = FLAGS_overlap_allreduce;
  t.optimizer.kind = FLAGS_optimizer;
  t.optimizer.schedule = FLAGS_schedule;
  t.optimizer.scheduler = FLAGS_scheduler;
  t.optimizer.lr_decay = FLAGS_lr_decay;
  t.optimizer.learning_rate = FLAGS_learning_rate;
  t.optimizer.warmup = FLAGS_warmup;
  t.loss_scaler.init_scale = FLAGS_fp16_init_scale;
  t.loss_scaler.growth_interval = FLAGS_fp16_scale_window;
  t.metrics.tensorboard_dir = FLAGS_tensorboard_dir;
  t.metrics.metrics_path = FLAGS_metrics_path;
  t.stop_signal = &g_stop;
  run.batch_size = FLAGS_batch_size;
  run.seed = FLAGS_seed;
  run.precision = FLAGS_precision;
  runtime::LaunchOptions& lo = run.launch;
  UER_ASSIGN_OR_RETURN(lo.gpu_ranks, ParseGpuRanks(FLAGS_gpu_ranks));
  lo.world_size = FLAGS_world_size;
  lo.world_size_given = FlagIsSet("world_size");
  lo.backend = FLAGS_backend;
  lo.master_ip = FLAGS_master_ip;
  lo.master_ip_given = FlagIsSet("master_ip");
  lo.dist_timeout_s = FLAGS_dist_timeout;
  lo.stop_signal = &g_stop;
  std::signal(SIGTERM, OnSignal);  // before the launch: a rank waiting for its peers stops on a signal
  std::signal(SIGINT, OnSignal);
  UER_ASSIGN_OR_RETURN(run.place, runtime::ResolveLaunch(OriginalArgv(), lo));
  return run;
}

}  // namespace uer::tools
