#include "core/text.h"

#include <utf8proc.h>

namespace uer::core {
namespace {

// Calls f(code point) for each character of `s` until f returns false. Returns the byte offset of
// the invalid sequence that stopped the walk, or -1.
template <typename F>
long ForEachCodePoint(std::string_view s, F f) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t i = 0, n = static_cast<utf8proc_ssize_t>(s.size());
  while (i < n) {
    utf8proc_int32_t cp = p[i];
    utf8proc_ssize_t len = 1;
    if (p[i] >= 0x80) {
      len = utf8proc_iterate(p + i, n - i, &cp);
      if (len < 0) return static_cast<long>(i);
    }
    if (!f(static_cast<char32_t>(cp))) return -1;
    i += len;
  }
  return -1;
}

}  // namespace

long FindInvalidUtf8(std::string_view s) {
  return ForEachCodePoint(s, [](char32_t) { return true; });
}

std::string ReplaceInvalidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const long bad = FindInvalidUtf8(s);
    if (bad < 0) {
      out.append(s);
      break;
    }
    out.append(s.substr(0, static_cast<size_t>(bad)));
    out.append("\xEF\xBF\xBD");
    s.remove_prefix(static_cast<size_t>(bad) + 1);
  }
  return out;
}

std::string InvalidUtf8Message(std::string_view path, int64_t line, long byte) {
  return std::string(path) + ":" + std::to_string(line) + ": invalid UTF-8 at byte " + std::to_string(byte) +
         " (use --replace_invalid_utf8 to read it as U+FFFD)";
}

bool IsPythonSpace(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E:
    case 0x1F: case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool IsBlank(std::string_view s) {
  bool blank = true;
  const long bad = ForEachCodePoint(s, [&](char32_t cp) { return blank = IsPythonSpace(cp); });
  return bad < 0 && blank;
}

bool HoldsPythonSpace(std::string_view s) {
  bool found = false;
  ForEachCodePoint(s, [&](char32_t cp) { return !(found = IsPythonSpace(cp)); });
  return found;
}

}  // namespace uer::core
