// Text as CMRC2018's evaluation script handles it, shared by the mrc reader and its metrics: UTF-8
// code points with their byte offsets, CMRC2018's CJK range and punctuation, an nltk-like word split,
// and the script's EM and F1.
#ifndef UER_PLUGINS_TASKS_MRC_CMRC_TEXT_H_
#define UER_PLUGINS_TASKS_MRC_CMRC_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uer::tasks {

// Code points of UTF-8 text and the byte offset of each (plus the end).
struct Utf8Text {
  std::u32string chars;
  std::vector<size_t> bytes;
  explicit Utf8Text(std::string_view s);
  int64_t size() const { return static_cast<int64_t>(chars.size()); }
};

std::string Utf8(char32_t cp);
bool IsCjk(char32_t c);  // CMRC2018's [\u4e00-\u9fa5]
// CMRC2018's sp_char (its "……" entry is two characters and matches no single one).
bool IsCmrcPunctuation(char32_t c);
bool IsAsciiPunct(char32_t c);
// A stand-in for nltk's word_tokenize on a run without CJK characters: words split at whitespace,
// with leading and trailing ASCII punctuation as tokens of their own, except a period that ends a
// word other than the run's last ("U.S." stays whole, as in the Treebank rules).
void WordTokenize(const std::u32string& run, std::vector<std::string>* out);
// ASCII lower-cased, Python's whitespace stripped at both ends.
std::u32string LowerStrip(std::string_view s);

// CMRC2018's evaluation: text lower-cased and stripped; CJK characters and its punctuation list
// are segments of their own, other runs split at whitespace and punctuation (the official script
// uses nltk's word_tokenize there). F1 over the longest common segment run, EM after removing the
// punctuation, both maximised over the answers.
std::vector<std::string> MixedSegmentation(std::string_view text, bool remove_punctuation);
double CmrcF1(const std::vector<std::string>& answers, const std::string& prediction);
bool CmrcExactMatch(const std::vector<std::string>& answers, const std::string& prediction);

}  // namespace uer::tasks

#endif  // UER_PLUGINS_TASKS_MRC_CMRC_TEXT_H_
