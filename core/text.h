// Text checks shared by the tools and the tokenizer plugins: UTF-8 validity and Python's notion
// of whitespace (UER-py reads its files with Python's str.strip() and str.split()).
//
//   if (long bad = core::FindInvalidUtf8(line); bad >= 0) ...   // byte offset of the first bad sequence
//   if (core::IsBlank(line)) ...                                  // str.strip() would leave nothing
#ifndef UER_CORE_TEXT_H_
#define UER_CORE_TEXT_H_

#include <string_view>

namespace uer::core {

// Byte offset of the first invalid UTF-8 sequence (overlong, surrogate, truncated, > U+10FFFF), or -1.
long FindInvalidUtf8(std::string_view s);

// Python's str.isspace() for one code point.
bool IsPythonSpace(char32_t cp);

// Whether `s` holds nothing but Python whitespace (an empty string included). Invalid UTF-8 is not
// whitespace.
bool IsBlank(std::string_view s);

// Whether `s` holds any Python whitespace character.
bool HoldsPythonSpace(std::string_view s);

}  // namespace uer::core

#endif  // UER_CORE_TEXT_H_
