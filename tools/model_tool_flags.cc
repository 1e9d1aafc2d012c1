#include "tools/model_tool_flags.h"

#include <gflags/gflags.h>

#include "core/status_macros.h"
#include "tools/tool_common.h"

DEFINE_string(pretrained_model_path, "", "The checkpoint (any format uer-cc reads: UER-py's, HuggingFace's).");
DEFINE_string(load_model_path, "", "Same as --pretrained_model_path (UER-py's newer name).");
DEFINE_string(vocab_path, "", "Path of the vocabulary file.");
DEFINE_string(precision, "fp32", "Arithmetic of the forward passes: fp32, bf16 or fp16 (autocast: matrix products in bf16/fp16 where the device has it).");
DECLARE_string(config_path);     // tools/model_flags.cc
DECLARE_string(sub_vocab_path);  // tools/model_flags.cc

namespace uer::tools {

std::string FlagOrAlias(const char* flag, const char* alias) {
  std::string v = gflags::GetCommandLineFlagInfoOrDie(flag).current_value;
  return v.empty() ? gflags::GetCommandLineFlagInfoOrDie(alias).current_value : v;
}

absl::StatusOr<runtime::ModelSource> ModelSourceFromFlags(const std::string& tokenizer) {
  runtime::ModelSource s;
  s.load_model_path = FlagOrAlias("pretrained_model_path", "load_model_path");
  if (s.load_model_path.empty()) return absl::InvalidArgumentError("--pretrained_model_path is required");
  UER_ASSIGN_OR_RETURN(s.config, ResolveModelConfig(FLAGS_config_path));
  gflags::CommandLineFlagInfo info;
  if (!s.config.has_tokenizer() && gflags::GetCommandLineFlagInfo("tokenizer", &info) && info.is_default) {
    s.config.set_tokenizer(tokenizer);
  }
  s.vocab_path = ResolveVocabPath();
  if (s.vocab_path.empty()) return absl::InvalidArgumentError("--vocab_path is required");
  s.sub_vocab_path = FLAGS_sub_vocab_path;
  s.precision = FLAGS_precision;
  return s;
}

}  // namespace uer::tools
