// UER-py's BertTokenizer: basic tokenization (drop control and invalid characters, normalise
// whitespace, spaces around CJK characters, lower-case and strip accents when do_lower_case,
// split punctuation), then greedy longest-match-first WordPiece with "##" continuations.
// Special tokens ([UNK] [SEP] [PAD] [CLS] [MASK]) are never split.
//
// Flavour::kTransformers follows transformers' BertTokenizer where it differs from UER-py's: the
// special tokens are found anywhere in the text, also inside words ("a[SEP]b" -> a [SEP] b), and
// lower-casing is character by character, without Python's final-sigma rule (ΣΑΣ -> σ ##α ##σ).
//
//   BertTokenizer t(vocab, /*do_lower_case=*/true);
//   t.Tokenize("Hello, 世界!")  // {"hello", ",", "世", "界", "!"}
#ifndef UER_PLUGINS_TOKENIZERS_COMMON_WORDPIECE_H_
#define UER_PLUGINS_TOKENIZERS_COMMON_WORDPIECE_H_

#include "core/tokenizer.h"

namespace uer::tokenizers {

class BertTokenizer : public core::Tokenizer {
 public:
  enum class Flavour { kUerPy, kTransformers };
  BertTokenizer(std::shared_ptr<const core::Vocab> vocab, bool do_lower_case,
                int max_input_chars_per_word = 100, Flavour flavour = Flavour::kUerPy);
  std::vector<std::string> Tokenize(std::string_view text) const override;
  std::vector<int64_t> TokenizeToIds(std::string_view text) const override;

 private:
  // Calls word(const char32_t* begin, const char32_t* end) for each token of basic tokenization.
  template <typename WordFn>
  void BasicTokenize(std::string_view text, WordFn&& word) const;
  // Calls piece(std::string_view piece, int64_t id) for each WordPiece of one word.
  template <typename PieceFn>
  void Wordpiece(const char32_t* begin, const char32_t* end, std::string* scratch, PieceFn&& piece) const;
  // Calls piece(text, id) for every token of `text`: the special tokens first (kTransformers),
  // basic tokenization and WordPiece between them.
  template <typename PieceFn>
  void Run(std::string_view text, PieceFn&& piece) const;

  bool do_lower_case_;
  Flavour flavour_;
  std::vector<std::pair<std::string, int64_t>> specials_;  // kTransformers: the vocabulary's, longest first
  int max_input_chars_per_word_;
};

}  // namespace uer::tokenizers

#endif  // UER_PLUGINS_TOKENIZERS_COMMON_WORDPIECE_H_
