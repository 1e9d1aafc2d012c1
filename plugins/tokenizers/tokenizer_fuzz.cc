// libFuzzer entry point for the bert tokenizer (built with clang -fsanitize=fuzzer outside Bazel:
// see docs/testing.md). The suite runs the bounded version in tokenizers_test.cc.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/runtime/loader.h"
#include "core/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<uer::core::Tokenizer> tokenizer = [] {
    (void)uer::runtime::LoadPlugin("bazel-bin/plugins/tokenizers/bert/libuer_tokenizer_bert.so");
    auto vocab = uer::core::Vocab::FromTokens({"[UNK]", "[CLS]", "a", "##b", "中"}, "fuzz");
    uer::core::TokenizerOptions o;
    o.vocab = std::make_shared<const uer::core::Vocab>(*vocab);
    return std::move(uer::core::CreateTokenizer("bert", o)).value();
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const std::string& t : tokenizer->Tokenize(text)) {
    if (!tokenizer->vocab().Contains(t)) __builtin_trap();
  }
  return 0;
}
