// The request parsers on arbitrary bytes: an error status or a call, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/runtime/serve/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace uer::runtime::serve;
  const std::string body(reinterpret_cast<const char*>(data), size);
  ModelInfo info;
  info.name = "m";
  info.kind = uer::core::ServedKind::kClassification;
  info.labels = {"a", "b"};
  info.text_pair = size % 2 == 0;
  const size_t split = size ? data[0] % (size + 1) : 0;
  for (const std::string& header : {std::string(), std::to_string(split)}) {
    auto call = ParseKserveInfer(info, {body, header});
    if (call.ok()) {
      std::vector<Prediction> answers(call->inputs.size());
      for (auto& a : answers) a.answer.scores = {0.5f, -1.0f};
      call->respond(info, answers);
    }
  }
  (void)ParsePredict(info, body);
  ModelInfo encoder;
  encoder.embedding = true;
  (void)ParseEmbed(encoder, body);
  (void)RequestedModel(body);
  return 0;
}
