// Reading model configs: text-format protobuf (.pbtxt) or UER-py's flat JSON (.json).
//
//   UER_ASSIGN_OR_RETURN(v1::ModelConfig config, LoadModelConfig("models/bert/tiny.pbtxt"));
//
// Errors name the file, the line and the field ("models/x.json:3: field \"layers_num\": expected an
// integer, got \"two\"").
#ifndef UER_CORE_CONFIG_H_
#define UER_CORE_CONFIG_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.pb.h"

namespace uer::core {

// The config's messages are uer::core::v1::ModelConfig and friends (core/config.proto): inside
// uer::core they are v1::ModelConfig.

// Parses `path` (by extension: .json is UER-py JSON, anything else text format) and merges it into
// `config`, so that fields the file does not set keep their value.
absl::Status MergeModelConfigFromFile(const std::string& path, v1::ModelConfig* config);
absl::StatusOr<v1::ModelConfig> LoadModelConfig(const std::string& path);

// The same, from text; `name` stands for the file in messages.
absl::Status MergeModelConfigFromText(std::string_view text, std::string_view name,
                                      v1::ModelConfig* config);
absl::Status MergeModelConfigFromJson(std::string_view text, std::string_view name,
                                      v1::ModelConfig* config);

// Checks the values that every model needs (sizes > 0, dropout in [0, 1)). Plugins check the rest.
absl::Status ValidateModelConfig(const v1::ModelConfig& config);

// Sets one field by its name from a string (as flags give it): "hidden_size", "512".
absl::Status SetModelConfigField(const std::string& field, const std::string& value,
                                 v1::ModelConfig* config);

// The config as text format, every field shown (defaults included), for the tools' start-up log.
std::string ModelConfigToText(const v1::ModelConfig& config);

}  // namespace uer::core

#endif  // UER_CORE_CONFIG_H_
