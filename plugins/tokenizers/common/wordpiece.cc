#include "plugins/tokenizers/common/wordpiece.h"

#include "plugins/tokenizers/common/unicode.h"

namespace uer::tokenizers {
namespace {

bool IsNeverSplit(const char32_t* b, const char32_t* e) {
  static const std::u32string_view kSpecial[] = {U"[UNK]", U"[SEP]", U"[PAD]", U"[CLS]", U"[MASK]"};
  if (e - b < 5 || e - b > 6 || *b != '[') return false;
  const std::u32string_view t(b, e - b);
  for (const auto& s : kSpecial) {
    if (t == s) return true;
  }
  return false;
}

}  // namespace

BertTokenizer::BertTokenizer(std::shared_ptr<const core::Vocab> vocab, bool do_lower_case,
                             int max_input_chars_per_word, Flavour flavour)
    : core::Tokenizer(std::move(vocab)),
      do_lower_case_(do_lower_case),
      flavour_(flavour),
      max_input_chars_per_word_(max_input_chars_per_word) {
  if (flavour_ == Flavour::kTransformers) {
    for (const char* s : {"[MASK]", "[UNK]", "[SEP]", "[PAD]", "[CLS]"}) {
      if (const int64_t id = vocab_->Id(s); id >= 0) specials_.emplace_back(s, id);
    }
  }
}

template <typename WordFn>
void BertTokenizer::BasicTokenize(std::string_view text, WordFn&& word) const {
  // Clean (drop NUL, U+FFFD and control characters; whitespace to ' ') and pad CJK characters.
  const std::u32string in = DecodeUtf8(text);
  std::u32string cleaned;
  cleaned.reserve(in.size() * 3 + 1);
  for (char32_t cp : in) {
    if (cp < 0x80) {
      if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') cleaned.push_back(' ');
      else if (cp >= 0x20 && cp != 0x7F) cleaned.push_back(cp);
      continue;
    }
    if (IsChineseChar(cp)) {
      cleaned.push_back(' ');
      cleaned.push_back(cp);
      cleaned.push_back(' ');
    } else if (cp == 0xFFFD || IsBertControl(cp)) {
      continue;
    } else {
      cleaned.push_back(IsBertWhitespace(cp) ? U' ' : cp);
    }
  }
  std::u32string lowered;
  const char32_t* p = cleaned.data();
  const char32_t* const end = p + cleaned.size();
  while (p < end) {
    // Python's str.split(): runs of whitespace separate words.
    while (p < end && IsPythonSpace(*p)) ++p;
    const char32_t* b = p;
    while (p < end && !IsPythonSpace(*p)) ++p;
    if (p == b) continue;
    const char32_t* e = p;
    if (IsNeverSplit(b, e)) {
      word(b, e);
      continue;
    }
    if (e - b == 1 && IsChineseChar(*b)) {  // the common case in Chinese text
      word(b, e);
      continue;
    }
    if (do_lower_case_) {
      bool ascii = true;
      for (const char32_t* q = b; q < e; ++q) ascii &= *q < 0x80;
      if (ascii) {
        lowered.assign(b, e);
        for (char32_t& c : lowered) c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
      } else if (flavour_ == Flavour::kTransformers) {
        // Character by character, as Rust's char::to_lowercase: no final-sigma context.
        std::u32string chars;
        for (const char32_t* q = b; q < e; ++q) chars += *q == U'\u03A3' ? std::u32string(1, U'\u03C3') : PythonLower(std::u32string_view(q, 1));
        lowered = StripAccents(chars);
      } else {
        lowered = StripAccents(PythonLower(std::u32string_view(b, e - b)));
      }
      b = lowered.data();
      e = b + lowered.size();
    }
    // Split punctuation off; whitespace cannot appear here, so only empty pieces are dropped.
    const char32_t* start = b;
    for (const char32_t* q = b; q < e; ++q) {
      if (IsBertPunctuation(*q)) {
        if (q > start) word(start, q);
        word(q, q + 1);
        start = q + 1;
      }
    }
    if (e > start) word(start, e);
  }
}

template <typename PieceFn>
void BertTokenizer::Wordpiece(const char32_t* begin, const char32_t* end, std::string* bytes,
                              PieceFn&& piece) const {
  const int64_t n = end - begin;
  if (n > max_input_chars_per_word_) {
    piece(core::kUnkToken, vocab_->unk_id());
    return;
  }
  bytes->clear();
  for (const char32_t* q = begin; q < end; ++q) {
    if (*q < 0x80) bytes->push_back(static_cast<char>(*q));
    else AppendUtf8(*q, bytes);
  }
  // Most words are in the vocabulary whole.
  const int64_t whole = vocab_->Id(*bytes);
  if (whole >= 0) {
    piece(*bytes, whole);
    return;
  }
  std::vector<size_t> offset;
  offset.reserve(n + 1);
  size_t off = 0;
  for (const char32_t* q = begin; q < end; ++q) {
    offset.push_back(off);
    off += *q < 0x80 ? 1 : *q < 0x800 ? 2 : *q < 0x10000 ? 3 : 4;
  }
  offset.push_back(off);
  std::vector<std::pair<std::string, int64_t>> pieces;
  std::string candidate;
  int64_t start = 0;
  while (start < n) {
    int64_t stop = n, id = -1;
    while (start < stop) {
      candidate.clear();
      if (start > 0) candidate.append("##");
      candidate.append(*bytes, offset[start], offset[stop] - offset[start]);
      id = vocab_->Id(candidate);
      if (id >= 0) break;
      --stop;
    }
    if (id < 0) {
      piece(core::kUnkToken, vocab_->unk_id());
      return;
    }
    pieces.emplace_back(candidate, id);
    start = stop;
  }
  for (const auto& [text, id] : pieces) piece(text, id);
}

template <typename PieceFn>
void BertTokenizer::Run(std::string_view text, PieceFn&& piece) const {
  std::string scratch;
  auto basic = [&](std::string_view part) {
    BasicTokenize(part, [&](const char32_t* b, const char32_t* e) { Wordpiece(b, e, &scratch, piece); });
  };
  if (specials_.empty()) {
    basic(text);
    return;
  }
  // transformers splits the raw text on its special tokens before anything else.
  size_t start = 0, at = 0;
  while ((at = text.find('[', at)) != std::string_view::npos) {
    const std::pair<std::string, int64_t>* hit = nullptr;
    for (const auto& s : specials_) {
      if (text.compare(at, s.first.size(), s.first) == 0) {
        hit = &s;
        break;
      }
    }
    if (hit == nullptr) {
      ++at;
      continue;
    }
    if (at > start) basic(text.substr(start, at - start));
    piece(hit->first, hit->second);
    at += hit->first.size();
    start = at;
  }
  if (start < text.size()) basic(text.substr(start));
}

std::vector<std::string> BertTokenizer::Tokenize(std::string_view text) const {
  std::vector<std::string> out;
  Run(text, [&](std::string_view p, int64_t) { out.emplace_back(p); });
  return out;
}

std::vector<int64_t> BertTokenizer::TokenizeToIds(std::string_view text) const {
  std::vector<int64_t> out;
  out.reserve(text.size() / 2);
  Run(text, [&](std::string_view, int64_t id) { out.push_back(id); });
  return out;
}

}  // namespace uer::tokenizers
