// Loads a checkpoint, reports its key generation, size and key problems, and optionally writes the
// model's outputs for given inputs (UER-py's check_model.py, made useful).
//
//   bazel run //tools:check_model -- --load_model_path model.bin --config_path models/bert/tiny.pbtxt
//       --vocab_path vocab.txt [--inputs_path io.pt --output_path out.pt] [--save_model_path seed.bin]
#include <iostream>

#include <gflags/gflags.h>

#include "core/runtime/apps/check_model.h"
#include "tools/tool_common.h"

DEFINE_string(load_model_path, "", "The checkpoint to check (torch.save state dict).");
DEFINE_string(vocab_path, "", "Path of the vocabulary file.");
DECLARE_string(sub_vocab_path);  // tools/model_flags.cc, with --subword_type, --subencoder, --sub_layers_num
DEFINE_string(inputs_path, "", "A torch.save dict with src, seg and the target's tensors (optional).");
DEFINE_string(output_path, "", "Where the outputs for --inputs_path go.");
DEFINE_string(save_model_path, "", "Save the loaded weights again under the seed's key names (optional).");
DEFINE_bool(allow_missing_target, false, "Accept a checkpoint without the target's weights.");
DEFINE_string(task, "", "Check a fine-tuned checkpoint as this task's (classifier, ner, mrc); by default the task is found.");
DEFINE_string(input_model_path, "", "Same as --load_model_path (UER-py's seed name).");
// Model flags (--config_path, --emb_size, ... --target) come from tools/model_flags.cc.
DECLARE_string(config_path);

int main(int argc, char** argv) {
  uer::tools::InitTool("Checks a checkpoint against a model config.\nUsage: check_model --load_model_path M "
                       "--vocab_path V [--config_path C] [--inputs_path IN --output_path OUT]", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto config = uer::tools::ResolveModelConfig(FLAGS_config_path);
  if (!config.ok()) return uer::tools::ExitCode(config.status());
  uer::apps::CheckModelOptions o;
  o.load_model_path = FLAGS_load_model_path.empty() ? FLAGS_input_model_path : FLAGS_load_model_path;
  o.vocab_path = uer::tools::ResolveVocabPath();
  o.sub_vocab_path = FLAGS_sub_vocab_path;
  o.config = *config;
  o.inputs_path = FLAGS_inputs_path;
  o.output_path = FLAGS_output_path;
  o.save_model_path = FLAGS_save_model_path;
  o.allow_missing_target = FLAGS_allow_missing_target;
  o.task = FLAGS_task;
  return uer::tools::ExitCode(uer::apps::RunCheckModel(o, std::cout));
}
