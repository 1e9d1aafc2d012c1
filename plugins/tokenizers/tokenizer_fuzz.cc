// Fuzz harness: corpus lines through every built-in tokenizer (bert, bert_hf, char, space), as
// preprocess and the fine-tuning readers tokenize them (invalid UTF-8 replaced first, as
// --replace_invalid_utf8 does), then to ids.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/loader.h"
#include "core/text.h"
#include "core/tokenizer.h"

namespace {
std::vector<std::unique_ptr<uer::core::Tokenizer>> tokenizers;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  uer::runtime::EnableLazyBuiltinPlugins();
  auto vocab = uer::core::Vocab::FromTokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b", "b", "中", "##中",
                                             "the", "##s", "σ", "##ς", "[", "]", "##a"},
                                            "fuzz");
  uer::core::TokenizerOptions o;
  o.vocab = std::make_shared<const uer::core::Vocab>(*vocab);
  for (const char* name : {"bert", "bert_hf", "char", "space"}) {
    auto t = uer::core::CreateTokenizer(name, o);
    if (!t.ok()) {
      std::fprintf(stderr, "tokenizer %s: %s\n", name, std::string(t.status().message()).c_str());
      std::abort();
    }
    tokenizers.push_back(std::move(t).value());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string line(reinterpret_cast<const char*>(data), size);
  if (uer::core::FindInvalidUtf8(line) >= 0) line = uer::core::ReplaceInvalidUtf8(line);
  for (const auto& t : tokenizers) {
    // One id a token, each in the vocabulary (an unknown token is [UNK]'s; the space tokenizer,
    // as UER-py's, gives an empty token for two spaces in a row).
    const std::vector<std::string> tokens = t->Tokenize(line);
    const std::vector<int64_t> ids = t->ConvertTokensToIds(tokens);
    if (ids.size() != tokens.size()) __builtin_trap();
    for (int64_t id : ids) {
      if (id < 0 || id >= t->vocab().size()) __builtin_trap();
    }
  }
  return 0;
}
