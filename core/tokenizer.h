// Tokenizer plugins' interface. Torch-free, so that tokenizers and the tools that only tokenize
// compile quickly. Included by core/plugin_api.h.
//
//   UER_ASSIGN_OR_RETURN(auto tokenizer, CreateTokenizer("bert", {vocab, /*do_lower_case=*/true}));
//   std::vector<std::string> tokens = tokenizer->Tokenize("Hello 世界");
#ifndef UER_CORE_TOKENIZER_H_
#define UER_CORE_TOKENIZER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/registry.h"
#include "core/vocab.h"

namespace uer::core {

// ---- Tokenizers ---------------------------------------------------------------------------------

struct TokenizerOptions {
  std::shared_ptr<const Vocab> vocab;
  bool do_lower_case = true;
  // WordPiece gives [UNK] for a longer word (UER-py's seed: 100; its newer versions: 200).
  int max_input_chars_per_word = 100;
};

class Tokenizer {
 public:
  virtual ~Tokenizer();
  // Splits one text into tokens (strings of the vocabulary, or [UNK]).
  virtual std::vector<std::string> Tokenize(std::string_view text) const = 0;
  // Ids of the tokens; unknown tokens map to [UNK].
  std::vector<int64_t> ConvertTokensToIds(const std::vector<std::string>& tokens) const;
  // ConvertTokensToIds(Tokenize(text)); tokenizers may do it without building the strings.
  virtual std::vector<int64_t> TokenizeToIds(std::string_view text) const;
  const Vocab& vocab() const { return *vocab_; }

 protected:
  explicit Tokenizer(std::shared_ptr<const Vocab> vocab) : vocab_(std::move(vocab)) {}
  std::shared_ptr<const Vocab> vocab_;
};

class TokenizerFactory : public FactoryBase {
 public:
  static constexpr PluginKind kKind = PluginKind::kTokenizer;
  ~TokenizerFactory() override;
  PluginKind kind() const final { return kKind; }
  virtual absl::StatusOr<std::unique_ptr<Tokenizer>> Create(const TokenizerOptions& options) const = 0;
  // Whether its tokens come from the text alone (char, space), so that it can build a vocabulary;
  // false for one that splits by the vocabulary (WordPiece).
  virtual bool SplitsWithoutVocab() const { return false; }
};

// Looks the tokenizer up by name (errors list the known ones) and creates it.
absl::StatusOr<std::unique_ptr<Tokenizer>> CreateTokenizer(const std::string& name, const TokenizerOptions& options);

}  // namespace uer::core

#endif  // UER_CORE_TOKENIZER_H_
