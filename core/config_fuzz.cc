// Fuzz harness: model configs, as protobuf text format and as UER-py JSON (the first byte chooses),
// then the checks every model runs and the text the tools log.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  uer::core::v1::ModelConfig config;
  const absl::Status s = (data[0] & 1) ? uer::core::MergeModelConfigFromJson(text, "fuzz.json", &config)
                                       : uer::core::MergeModelConfigFromText(text, "fuzz.pbtxt", &config);
  if (s.ok()) {
    (void)uer::core::ValidateModelConfig(config);
    (void)uer::core::ModelConfigToText(config);
  }
  return 0;
}
