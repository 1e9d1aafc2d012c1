#include "core/tokenizer.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace uer::core {

Tokenizer::~Tokenizer() = default;
TokenizerFactory::~TokenizerFactory() = default;

std::vector<int64_t> Tokenizer::ConvertTokensToIds(const std::vector<std::string>& tokens) const {
  std::vector<int64_t> ids;
  ids.reserve(tokens.size());
  for (const std::string& t : tokens) ids.push_back(vocab_->IdOrUnk(t));
  return ids;
}

std::vector<int64_t> Tokenizer::TokenizeToIds(std::string_view text) const {
  return ConvertTokensToIds(Tokenize(text));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> CreateTokenizer(const std::string& name,
                                                           const TokenizerOptions& options) {
  if (options.vocab == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer \"", name, "\" needs a vocabulary"));
  }
  UER_ASSIGN_OR_RETURN(const TokenizerFactory* factory, FindFactory<TokenizerFactory>(name));
  return factory->Create(options);
}

}  // namespace uer::core
