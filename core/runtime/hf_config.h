// HuggingFace's config.json (a BertConfig) to and from a uer-cc model config. Torch-free, so that
// every tool can resolve a model config from a HuggingFace folder.
#ifndef UER_CORE_RUNTIME_HF_CONFIG_H_
#define UER_CORE_RUNTIME_HF_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace uer::runtime {

// config.json (a BertConfig) -> a uer-cc model config: sizes, dropout, max_position_embeddings, the
// torch LayerNorm with its eps, hidden_act (gelu or its tanh approximations; others are refused).
absl::StatusOr<core::v1::ModelConfig> ConfigFromHuggingFace(const std::string& config_json_path);
// Whether a JSON file is a HuggingFace (or Google BERT) config rather than UER-py's: it names a
// key only those write (model_type, architectures, num_hidden_layers, num_attention_heads). UER-py's
// own files are named *_config.json too (models/bert/base_config.json), so the name cannot tell.
bool IsHuggingFaceConfig(const std::string& json_path);
// A model config file of any kind the tools take: a HuggingFace config.json, UER-py's JSON or a text
// proto; checked (errors name the file).
absl::StatusOr<core::v1::ModelConfig> ReadModelConfigFile(const std::string& path);
// A BertConfig config.json for `config` (sizes from it; vocab_size given) and `architecture`.
std::string ConfigToHuggingFace(const core::v1::ModelConfig& config, int64_t vocab_size,
                                const std::string& architecture, bool tie_word_embeddings);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_HF_CONFIG_H_
