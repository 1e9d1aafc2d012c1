// The flags of the fine-tuning tools (finetune, run_classifier, run_ner) and of their inference
// tools (infer, run_classifier_infer, run_ner_infer), in UER-py's names, defined once
// (tools/finetune_flags.cc). A tool sets its own defaults before parsing, then hands over:
//
//   uer::tools::SetFlagDefault("batch_size", "32");
//   uer::tools::InitTaskTool(..., "ner");         // "" = the --task flag
//   return uer::tools::RunFinetuneTool("ner");
// The model flags (--config_path, --embedding, --encoder, --labels_num ...) come from model_flags.cc.
#ifndef UER_TOOLS_FINETUNE_FLAGS_H_
#define UER_TOOLS_FINETUNE_FLAGS_H_

#include <map>
#include <string>

#include "tools/training_flags.h"  // SetFlagDefault

namespace uer::tools {

// InitTool for a tool that runs `task` (empty: the --task on the command line): its options become
// flags of the tool (the task's plugin loaded first, from --plugins). A --task equal to `skip_task`
// is the tool's own (serve's "embedding"), not a plugin.
void InitTaskTool(const char* usage, int* argc, char*** argv, const std::string& task,
                  const std::string& skip_task = "");
// The task's options as the command line sets them (defaults filled in), with --labels_num.
std::map<std::string, std::string> TaskOptions(const std::string& task);

// The rest of a fine-tuning tool's main() after InitTool: plugins, the resolved config, the options
// from the flags, the run (on this machine's ranks with --world_size), and the report on stdout.
// `task` names the task plugin; empty takes --task. Returns the exit code.
int RunFinetuneTool(const std::string& task);
// The same for an inference tool.
int RunInferTool(const std::string& task);

}  // namespace uer::tools

#endif  // UER_TOOLS_FINETUNE_FLAGS_H_
