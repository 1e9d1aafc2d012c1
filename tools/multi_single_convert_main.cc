// Strips or adds the "module." prefix that nn.DataParallel / DDP checkpoints carry (UER-py's seed
// scripts/multi_single_convert.py). uer-cc's loaders strip it themselves; this is for Python users.
//
//   bazel run //tools:multi_single_convert -- --input_model_path multi.bin --output_model_path single.bin
//       --delete_module_prefix
#include <iostream>

#include <gflags/gflags.h>

#include "tools/tool_common.h"
#include "core/runtime/apps/toolbox.h"

DEFINE_string(input_model_path, "", "The checkpoint to convert.");
DEFINE_string(output_model_path, "", "Where the converted checkpoint goes.");
DEFINE_bool(delete_module_prefix, false, "Strip \"module.\" from every key (multi-GPU to single-GPU).");
DEFINE_bool(add_module_prefix, false, "Put \"module.\" before every key (single-GPU to multi-GPU).");

int main(int argc, char** argv) {
  uer::tools::InitTool("Adds or strips the module. prefix of checkpoint keys.\nUsage: multi_single_convert "
                       "--input_model_path IN --output_model_path OUT (--delete_module_prefix | --add_module_prefix)",
                       &argc, &argv);
  uer::apps::ModulePrefixOptions o;
  o.input_model_path = FLAGS_input_model_path;
  o.output_model_path = FLAGS_output_model_path;
  o.delete_module_prefix = FLAGS_delete_module_prefix;
  o.add_module_prefix = FLAGS_add_module_prefix;
  return uer::tools::ExitCode(uer::apps::ConvertModulePrefix(o, std::cout));
}
