// UER-py's CharTokenizer: list(text.strip()), one token per Unicode character.
#include "core/tokenizer.h"
#include "plugins/tokenizers/common/unicode.h"

namespace uer::tokenizers {
namespace {

class CharTokenizer : public core::Tokenizer {
 public:
  explicit CharTokenizer(std::shared_ptr<const core::Vocab> vocab) : core::Tokenizer(std::move(vocab)) {}
  std::vector<std::string> Tokenize(std::string_view text) const override {
    const std::u32string cps = DecodeUtf8(text);
    std::vector<std::string> out;
    for (char32_t cp : PythonStrip(cps)) {
      std::string t;
      AppendUtf8(cp, &t);
      out.push_back(std::move(t));
    }
    return out;
  }
};

class CharTokenizerFactory : public core::TokenizerFactory {
 public:
  std::string name() const override { return "char"; }
  std::string help() const override { return "one token per character (UER-py's CharTokenizer)"; }
  bool SplitsWithoutVocab() const override { return true; }
  absl::StatusOr<std::unique_ptr<core::Tokenizer>> Create(
      const core::TokenizerOptions& options) const override {
    return std::unique_ptr<core::Tokenizer>(new CharTokenizer(options.vocab));
  }
};

}  // namespace
}  // namespace uer::tokenizers

UER_REGISTER_FACTORY(uer::tokenizers::CharTokenizerFactory);
