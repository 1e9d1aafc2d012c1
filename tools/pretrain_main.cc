// Pre-trains a model on a preprocessed dataset (UER-py's pretrain.py flags).
//
//   bazel run //tools:pretrain -- --dataset_path dataset.uer --vocab_path vocab.txt
//       --config_path models/bert/tiny.pbtxt --output_model_path models/tiny.bin
//       --total_steps 1000 --save_checkpoint_steps 500 --report_steps 100
#include <gflags/gflags.h>

#include "core/runtime/pretrain.h"
#include "tools/tool_common.h"
#include "tools/training_flags.h"

// The shared training flags (--output_model_path, --batch_size, --learning_rate, --resume,
// --world_size, ...) come from tools/training_flags.cc, the model flags (--config_path, --emb_size,
// ... --target, --subword_type, --sub_vocab_path) from tools/model_flags.cc.
DEFINE_string(dataset_path, "dataset.uer", "Path of the preprocessed dataset.");
DEFINE_int64(total_steps, 100000, "Total training steps.");
DEFINE_int64(save_checkpoint_steps, 10000, "Specific steps to save model checkpoint.");
DEFINE_int64(instances_buffer_size, 25600, "The buffer size of instances in memory (shared by all ranks: each reads its slice of every global batch).");
DEFINE_double(peak_tflops, 0, "The GEMM peak of one process in TFLOP/s for the report's model FLOPs utilisation (MFU); 0 measures it at the start (about a second of fp32 matrix products); negative: no MFU.");
DEFINE_bool(skip_padding, true, "Leave padding positions out of the encoder's work where the target reads none of them (the same loss and gradients); --noskip_padding computes every position, as UER-py does.");
DECLARE_string(config_path);
DECLARE_string(vocab_path);
DECLARE_string(sub_vocab_path);
DECLARE_string(pretrained_model_path);

int main(int argc, char** argv) {
  uer::tools::SetFlagDefault("batch_size", "32");  // UER-py's pretrain.py
  uer::tools::SetFlagDefault("output_model_path", "");
  uer::tools::InitTool("Pre-trains a model.\nUsage: pretrain --dataset_path D --vocab_path V --output_model_path M "
                       "[--config_path C] [--total_steps N]", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto config = uer::tools::ResolveModelConfig(FLAGS_config_path);
  if (!config.ok()) return uer::tools::ExitCode(config.status());
  auto run = uer::tools::TrainingRunFromFlags();
  if (!run.ok()) return uer::tools::ExitCode(run.status());
  if (run->place.launcher) return run->place.exit_code;
  uer::runtime::PretrainOptions o;
  o.run = *std::move(run);
  o.run.trainer.total_steps = FLAGS_total_steps;
  o.run.trainer.save_checkpoint_steps = FLAGS_save_checkpoint_steps;
  o.dataset_path = FLAGS_dataset_path;
  o.vocab_path = uer::tools::ResolveVocabPath();
  o.sub_vocab_path = FLAGS_sub_vocab_path;
  o.pretrained_model_path = FLAGS_pretrained_model_path;
  o.config = *config;
  o.instances_buffer_size = FLAGS_instances_buffer_size;
  o.skip_padding = FLAGS_skip_padding;
  o.peak_flops = FLAGS_peak_tflops * 1e12;
  auto result = uer::runtime::RunPretrain(o);
  if (!result.ok()) return uer::tools::ExitCode(result.status());
  return result->stopped_by_signal ? 128 + result->stopped_by_signal : 0;
}
