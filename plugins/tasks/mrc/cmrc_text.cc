#include "plugins/tasks/mrc/cmrc_text.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "core/text.h"

namespace uer::tasks {

Utf8Text::Utf8Text(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    bytes.push_back(i);
    chars.push_back(cp);
    i += static_cast<size_t>(n);
  }
  bytes.push_back(s.size());
}

std::string Utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
  return out;
}

bool IsCjk(char32_t c) { return c >= 0x4e00 && c <= 0x9fa5; }

bool IsCmrcPunctuation(char32_t c) {
  static const std::u32string kChars = U"-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』";
  return kChars.find(c) != std::u32string::npos;
}

bool IsAsciiPunct(char32_t c) { return c < 0x80 && std::ispunct(static_cast<int>(c)); }

void WordTokenize(const std::u32string& run, std::vector<std::string>* out) {
  size_t i = 0;
  size_t last_word = run.size();
  while (last_word > 0 && core::IsPythonSpace(run[last_word - 1])) --last_word;
  while (i < run.size()) {
    while (i < run.size() && core::IsPythonSpace(run[i])) ++i;
    size_t j = i;
    while (j < run.size() && !core::IsPythonSpace(run[j])) ++j;
    if (j > i) {
      size_t b = i, e = j;
      std::vector<std::string> tail;
      while (b < e && IsAsciiPunct(run[b])) out->push_back(Utf8(run[b++]));
      while (e > b && IsAsciiPunct(run[e - 1]) && !(run[e - 1] == U'.' && j < last_word)) tail.push_back(Utf8(run[--e]));
      if (e > b) {
        std::string w;
        for (size_t k = b; k < e; ++k) w += Utf8(run[k]);
        out->push_back(w);
      }
      out->insert(out->end(), tail.rbegin(), tail.rend());
    }
    i = j;
  }
}

std::u32string LowerStrip(std::string_view s) {
  Utf8Text t(s);
  std::u32string c = t.chars;
  for (char32_t& ch : c) {
    if (ch < 0x80) ch = static_cast<char32_t>(absl::ascii_tolower(static_cast<unsigned char>(ch)));
  }
  size_t b = 0, e = c.size();
  while (b < e && core::IsPythonSpace(c[b])) ++b;
  while (e > b && core::IsPythonSpace(c[e - 1])) --e;
  return c.substr(b, e - b);
}

std::vector<std::string> MixedSegmentation(std::string_view text, bool remove_punctuation) {
  const std::u32string s = LowerStrip(text);
  std::vector<std::string> out;
  std::u32string run;
  for (char32_t c : s) {
    if (remove_punctuation && IsCmrcPunctuation(c)) continue;
    if (IsCjk(c) || IsCmrcPunctuation(c)) {
      if (!run.empty()) WordTokenize(run, &out);
      run.clear();
      out.push_back(Utf8(c));
    } else {
      run.push_back(c);
    }
  }
  if (!run.empty()) WordTokenize(run, &out);
  return out;
}

namespace {

std::u32string WithoutPunctuation(std::string_view text) {
  std::u32string out;
  for (char32_t c : LowerStrip(text)) {
    if (!IsCmrcPunctuation(c)) out.push_back(c);
  }
  return out;
}

}  // namespace

double CmrcF1(const std::vector<std::string>& answers, const std::string& prediction) {
  double best = 0;
  const std::vector<std::string> p = MixedSegmentation(prediction, true);
  for (const std::string& answer : answers) {
    const std::vector<std::string> a = MixedSegmentation(answer, true);
    // The longest common run of segments.
    int64_t lcs = 0;
    std::vector<int64_t> prev(p.size() + 1, 0), cur(p.size() + 1, 0);
    for (size_t i = 0; i < a.size(); ++i) {
      for (size_t j = 0; j < p.size(); ++j) {
        cur[j + 1] = a[i] == p[j] ? prev[j] + 1 : 0;
        lcs = std::max(lcs, cur[j + 1]);
      }
      std::swap(prev, cur);
    }
    if (lcs == 0) continue;
    const double precision = static_cast<double>(lcs) / p.size(), recall = static_cast<double>(lcs) / a.size();
    best = std::max(best, 2 * precision * recall / (precision + recall));
  }
  return best;
}

bool CmrcExactMatch(const std::vector<std::string>& answers, const std::string& prediction) {
  const std::u32string p = WithoutPunctuation(prediction);
  for (const std::string& a : answers) {
    if (WithoutPunctuation(a) == p) return true;
  }
  return false;
}

}  // namespace uer::tasks
