// The "bert_hf" tokenizer: transformers' BertTokenizer, for models brought in from HuggingFace
// (their config selects it). It differs from UER-py's "bert" on special tokens written inside the
// text and on context-dependent lower-casing (see plugins/tokenizers/common/wordpiece.h).
#include "plugins/tokenizers/common/wordpiece.h"

namespace uer::tokenizers {
namespace {

class BertHfTokenizerFactory : public core::TokenizerFactory {
 public:
  std::string name() const override { return "bert_hf"; }
  std::string help() const override {
    return "BERT WordPiece as transformers' BertTokenizer does it (special tokens anywhere, per-character lower-casing)";
  }
  absl::StatusOr<std::unique_ptr<core::Tokenizer>> Create(const core::TokenizerOptions& options) const override {
    return std::unique_ptr<core::Tokenizer>(new BertTokenizer(options.vocab, options.do_lower_case,
                                                              options.max_input_chars_per_word,
                                                              BertTokenizer::Flavour::kTransformers));
  }
};

}  // namespace
}  // namespace uer::tokenizers

UER_REGISTER_FACTORY(uer::tokenizers::BertHfTokenizerFactory);
