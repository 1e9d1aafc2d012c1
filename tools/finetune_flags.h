// The flags of the fine-tuning tools (run_classifier, run_ner) and their inference tools, in UER-py's
// names, defined once (tools/finetune_flags.cc). A tool sets its own defaults before parsing:
//
//   uer::tools::SetFlagDefault("batch_size", "32");
//   uer::tools::InitTool(...);
//   auto options = uer::tools::FinetuneOptionsFromFlags(*config);
// The model flags (--config_path, --embedding, --encoder, --labels_num ...) come from model_flags.cc.
#ifndef UER_TOOLS_FINETUNE_FLAGS_H_
#define UER_TOOLS_FINETUNE_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "tools/finetune_lib.h"

namespace uer::tools {

// Changes a flag's default (what --help shows and what applies when the flag is not given).
void SetFlagDefault(const char* name, const std::string& value);

absl::StatusOr<FinetuneOptions> FinetuneOptionsFromFlags(const core::v1::ModelConfig& config);
absl::StatusOr<InferOptions> InferOptionsFromFlags(const core::v1::ModelConfig& config);

// The rest of a fine-tuning tool's main() after InitTool: plugins, the resolved config, the options
// from the flags, the run, and the report on stdout (`metric` names the dev metric). Returns the
// exit code.
int RunFinetuneTool(absl::StatusOr<FinetuneResult> (*run)(const FinetuneOptions&), const char* metric);
// The same for an inference tool.
int RunInferTool(absl::Status (*run)(const InferOptions&));

}  // namespace uer::tools

#endif  // UER_TOOLS_FINETUNE_FLAGS_H_
