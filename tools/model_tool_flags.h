// The flags of the tools that run a pre-trained model (extract_features, cloze_test,
// topn_words_dep, generate): the checkpoint under UER-py's seed name (--pretrained_model_path) or
// its newer one (--load_model_path), the vocabulary, and the model config (tools/model_flags.cc).
#ifndef UER_TOOLS_MODEL_TOOL_FLAGS_H_
#define UER_TOOLS_MODEL_TOOL_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/runtime/apps/toolbox.h"

namespace uer::tools {

// The model source from the flags. `tokenizer` is the tool's default tokenizer (the seed's), used
// when neither --tokenizer nor the config file names one.
absl::StatusOr<runtime::ModelSource> ModelSourceFromFlags(const std::string& tokenizer);

// The first non-empty of a flag and its alias (an input under the seed's name or HEAD's).
std::string FlagOrAlias(const char* flag, const char* alias);

}  // namespace uer::tools

#endif  // UER_TOOLS_MODEL_TOOL_FLAGS_H_
