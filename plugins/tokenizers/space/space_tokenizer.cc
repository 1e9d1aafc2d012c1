// UER-py's SpaceTokenizer: text.strip().split(" "). Like UER-py, two spaces in a row give an empty
// token (which maps to [UNK]).
#include "core/tokenizer.h"
#include "plugins/tokenizers/common/unicode.h"

namespace uer::tokenizers {
namespace {

class SpaceTokenizer : public core::Tokenizer {
 public:
  explicit SpaceTokenizer(std::shared_ptr<const core::Vocab> vocab) : core::Tokenizer(std::move(vocab)) {}
  std::vector<std::string> Tokenize(std::string_view text) const override {
    const std::u32string cps = DecodeUtf8(text);
    const std::string stripped = EncodeUtf8(PythonStrip(cps));
    std::vector<std::string> out;
    size_t b = 0;
    while (true) {
      size_t e = stripped.find(' ', b);
      out.push_back(stripped.substr(b, e == std::string::npos ? std::string::npos : e - b));
      if (e == std::string::npos) break;
      b = e + 1;
    }
    return out;
  }
};

class SpaceTokenizerFactory : public core::TokenizerFactory {
 public:
  std::string name() const override { return "space"; }
  std::string help() const override { return "split on single spaces (UER-py's SpaceTokenizer)"; }
  bool SplitsWithoutVocab() const override { return true; }
  absl::StatusOr<std::unique_ptr<core::Tokenizer>> Create(
      const core::TokenizerOptions& options) const override {
    return std::unique_ptr<core::Tokenizer>(new SpaceTokenizer(options.vocab));
  }
};

}  // namespace
}  // namespace uer::tokenizers

UER_REGISTER_FACTORY(uer::tokenizers::SpaceTokenizerFactory);
