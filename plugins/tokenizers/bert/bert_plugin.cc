// The "bert" tokenizer: UER-py's BertTokenizer.
#include "plugins/tokenizers/common/wordpiece.h"

namespace uer::tokenizers {
namespace {

class BertTokenizerFactory : public core::TokenizerFactory {
 public:
  std::string name() const override { return "bert"; }
  std::string help() const override { return "BERT basic tokenization + WordPiece (UER-py's BertTokenizer)"; }
  absl::StatusOr<std::unique_ptr<core::Tokenizer>> Create(const core::TokenizerOptions& options) const override {
    return std::unique_ptr<core::Tokenizer>(
        new BertTokenizer(options.vocab, options.do_lower_case, options.max_input_chars_per_word));
  }
};

}  // namespace
}  // namespace uer::tokenizers

UER_REGISTER_FACTORY(uer::tokenizers::BertTokenizerFactory);
