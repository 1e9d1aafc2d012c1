// Text checks shared by the tools and the tokenizer plugins: UTF-8 validity and Python's notion
// of whitespace (UER-py reads its files with Python's str.strip() and str.split()).
//
//   if (long bad = core::FindInvalidUtf8(line); bad >= 0) ...   // byte offset of the first bad sequence
//   if (core::IsBlank(line)) ...                                  // str.strip() would leave nothing
#ifndef UER_CORE_TEXT_H_
#define UER_CORE_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace uer::core {

// Byte offset of the first invalid UTF-8 sequence (overlong, surrogate, truncated, > U+10FFFF), or -1.
long FindInvalidUtf8(std::string_view s);

// `s` with each invalid UTF-8 sequence (its first byte, then on) read as U+FFFD, as Python's
// errors="replace" does byte by byte.
std::string ReplaceInvalidUtf8(std::string_view s);

// The one message for a line with invalid UTF-8 (a GBK file, say), for every reader:
// "PATH:LINE: invalid UTF-8 at byte N (use --replace_invalid_utf8 to read it as U+FFFD)".
std::string InvalidUtf8Message(std::string_view path, int64_t line, long byte);

// Python's str.isspace() for one code point.
bool IsPythonSpace(char32_t cp);

// Whether `s` holds nothing but Python whitespace (an empty string included). Invalid UTF-8 is not
// whitespace.
bool IsBlank(std::string_view s);

// Whether `s` holds any Python whitespace character.
bool HoldsPythonSpace(std::string_view s);

}  // namespace uer::core

#endif  // UER_CORE_TEXT_H_
