// The BERT converters (UER-py's convert_bert_*.py): uer-cc's (UER-py's) key names to and from
// HuggingFace's (a model folder, .safetensors or .bin) and Google's (a TensorFlow checkpoint), with
// the heads of --target as the target and task plugins declare them.
//
//   UER_ASSIGN_OR_RETURN(BertConversion c, BertConversionNamed("convert_bert_from_uer_to_huggingface"));
//   UER_RETURN_IF_ERROR(ConvertBert(c.direction, options));
#ifndef UER_CORE_RUNTIME_APPS_CONVERT_BERT_H_
#define UER_CORE_RUNTIME_APPS_CONVERT_BERT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace uer::apps {

struct ConvertBertOptions {
  std::string input_model_path, output_model_path;
  std::string target = "bert";     // the heads: bert, mlm, none, or a plugin's
  bool verify = false;             // read the written file back and compare every tensor
  std::string vocab_path;          // uer -> HuggingFace folder: copied as vocab.txt
  std::string output_config_path;  // HuggingFace -> uer: config.json as a model config (text proto)
  int64_t layers_num = 0;          // > 0: the checkpoint must have this many layers
  // uer -> HuggingFace folder: the model config that config.json is written from.
  std::function<absl::StatusOr<core::v1::ModelConfig>()> resolve_config;
  std::string progress_name = "convert";  // the terminal's progress line
};

// What a converter's name says: its direction, its usage line, and its default heads
// (convert_bert_text_classification_*: classifier; *_token_classification_*: ner).
struct BertConversion {
  enum Direction { kFromHuggingFace, kToHuggingFace, kFromGoogle, kToGoogle };
  Direction direction = kFromHuggingFace;
  std::string usage;
  std::string default_target;  // empty: --target's own default
};
absl::StatusOr<BertConversion> BertConversionNamed(const std::string& tool);

// Converts; LibTorch's exceptions (a damaged tensor) become a status.
absl::Status ConvertBert(BertConversion::Direction direction, const ConvertBertOptions& o);

}  // namespace uer::apps

#endif  // UER_CORE_RUNTIME_APPS_CONVERT_BERT_H_
