// Unicode helpers shared by the tokenizer plugins (linked into each of them; no global state).
// Character properties, NFD and case mapping come from utf8proc; the few rules below reproduce
// what Python's str methods do, since UER-py's tokenizers are written with them.
//
//   std::u32string cps = DecodeUtf8(line);   // invalid bytes become U+FFFD
//   if (IsPunctuation(cps[0])) ...
#ifndef UER_PLUGINS_TOKENIZERS_COMMON_UNICODE_H_
#define UER_PLUGINS_TOKENIZERS_COMMON_UNICODE_H_

#include <string>
#include <string_view>

#include "core/text.h"

namespace uer::tokenizers {

// UTF-8 to code points. Each invalid byte sequence becomes U+FFFD (as Python's errors="replace").
// Returns the byte offset of the first invalid sequence in *bad_offset (or -1).
std::u32string DecodeUtf8(std::string_view s, long* bad_offset = nullptr);
void AppendUtf8(char32_t cp, std::string* out);
std::string EncodeUtf8(std::u32string_view cps);
// From core/text.h: the first invalid UTF-8 sequence; Python's str.isspace() (what str.strip()
// and str.split() use).
using core::FindInvalidUtf8;
using core::IsPythonSpace;

// BERT's rules: whitespace = " \t\n\r" or category Zs; control = category C* except \t\n\r;
// punctuation = ASCII non-alphanumerics or category P*.
bool IsBertWhitespace(char32_t cp);
bool IsBertControl(char32_t cp);
bool IsBertPunctuation(char32_t cp);
// The CJK Unified Ideograph blocks BERT puts spaces around.
bool IsChineseChar(char32_t cp);
// Python's str.lower() (full mapping: U+0130 and the final sigma included).
std::u32string PythonLower(std::u32string_view s);
// NFD, then drop the nonspacing marks (category Mn).
std::u32string StripAccents(std::u32string_view s);
// str.strip() with Python's whitespace.
std::u32string_view PythonStrip(std::u32string_view s);

}  // namespace uer::tokenizers

#endif  // UER_PLUGINS_TOKENIZERS_COMMON_UNICODE_H_
