#include "plugins/tokenizers/bert/bert_tokenizer.h"

#include "absl/strings/numbers.h"
#include "plugins/tokenizers/common/unicode.h"

namespace uer::tokenizers {
namespace {

bool IsNeverSplit(const std::u32string& t) {
  static const std::u32string* kSpecial = new std::u32string[5]{U"[UNK]", U"[SEP]", U"[PAD]", U"[CLS]", U"[MASK]"};
  for (int i = 0; i < 5; ++i) {
    if (t == kSpecial[i]) return true;
  }
  return false;
}

// Python's str.split() with no argument: runs of whitespace separate, empty pieces are dropped.
template <typename F>
void SplitOnPythonSpace(std::u32string_view s, F&& emit) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsPythonSpace(s[i])) ++i;
    size_t b = i;
    while (i < s.size() && !IsPythonSpace(s[i])) ++i;
    if (i > b) emit(s.substr(b, i - b));
  }
}

}  // namespace

BertTokenizer::BertTokenizer(std::shared_ptr<const core::Vocab> vocab, bool do_lower_case,
                             int max_input_chars_per_word)
    : core::Tokenizer(std::move(vocab)),
      do_lower_case_(do_lower_case),
      max_input_chars_per_word_(max_input_chars_per_word) {}

std::vector<std::u32string> BertTokenizer::BasicTokenize(std::string_view text) const {
  const std::u32string in = DecodeUtf8(text);
  // Clean (drop NUL, U+FFFD and control characters; whitespace to ' ') and pad CJK characters.
  std::u32string cleaned;
  cleaned.reserve(in.size() + 16);
  for (char32_t cp : in) {
    if (cp == 0 || cp == 0xFFFD || IsBertControl(cp)) continue;
    if (IsBertWhitespace(cp)) {
      cleaned.push_back(' ');
    } else if (IsChineseChar(cp)) {
      cleaned.push_back(' ');
      cleaned.push_back(cp);
      cleaned.push_back(' ');
    } else {
      cleaned.push_back(cp);
    }
  }
  std::vector<std::u32string> out;
  SplitOnPythonSpace(cleaned, [&](std::u32string_view piece) {
    std::u32string token(piece);
    const bool special = IsNeverSplit(token);
    if (do_lower_case_ && !special) token = StripAccents(PythonLower(token));
    if (special) {
      out.push_back(std::move(token));
      return;
    }
    // Split punctuation off, then re-split on whitespace (drops the empty pieces).
    std::u32string current;
    auto flush = [&] {
      SplitOnPythonSpace(current, [&](std::u32string_view p) { out.emplace_back(p); });
      current.clear();
    };
    for (char32_t cp : token) {
      if (IsBertPunctuation(cp)) {
        flush();
        current.push_back(cp);
        flush();
      } else {
        current.push_back(cp);
      }
    }
    flush();
  });
  return out;
}

void BertTokenizer::WordpieceTokenize(const std::u32string& word, std::vector<std::string>* out) const {
  const std::string unk(core::kUnkToken);
  if (static_cast<int>(word.size()) > max_input_chars_per_word_) {
    out->push_back(unk);
    return;
  }
  // Byte offsets of each code point in the UTF-8 form of the word.
  std::string bytes;
  std::vector<size_t> offset;
  offset.reserve(word.size() + 1);
  for (char32_t cp : word) {
    offset.push_back(bytes.size());
    AppendUtf8(cp, &bytes);
  }
  offset.push_back(bytes.size());
  const size_t first = out->size();
  std::string candidate;
  size_t start = 0;
  const size_t n = word.size();
  while (start < n) {
    size_t end = n;
    bool found = false;
    while (start < end) {
      candidate.clear();
      if (start > 0) candidate.append("##");
      candidate.append(bytes, offset[start], offset[end] - offset[start]);
      if (vocab_->Contains(candidate)) {
        found = true;
        break;
      }
      --end;
    }
    if (!found) {
      out->resize(first);
      out->push_back(unk);
      return;
    }
    out->push_back(candidate);
    start = end;
  }
}

std::vector<std::string> BertTokenizer::Tokenize(std::string_view text) const {
  std::vector<std::string> out;
  for (const std::u32string& token : BasicTokenize(text)) WordpieceTokenize(token, &out);
  return out;
}

namespace {

class BertTokenizerFactory : public core::TokenizerFactory {
 public:
  std::string name() const override { return "bert"; }
  std::string help() const override {
    return "BERT basic tokenization + WordPiece (UER-py's BertTokenizer)";
  }
  absl::StatusOr<std::unique_ptr<core::Tokenizer>> Create(
      const core::TokenizerOptions& options) const override {
    return std::unique_ptr<core::Tokenizer>(
        new BertTokenizer(options.vocab, options.do_lower_case, options.max_input_chars_per_word));
  }
};

}  // namespace
}  // namespace uer::tokenizers

UER_REGISTER_FACTORY(uer::tokenizers::BertTokenizerFactory);
