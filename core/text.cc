#include "core/text.h"

#include <utf8proc.h>

namespace uer::core {
namespace {

// Calls f(code point) for each character of `s` until f returns false. Returns false when an
// invalid sequence stopped the walk.
template <typename F>
bool ForEachCodePoint(std::string_view s, F f) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t i = 0, n = static_cast<utf8proc_ssize_t>(s.size());
  while (i < n) {
    utf8proc_int32_t cp = p[i];
    utf8proc_ssize_t len = 1;
    if (p[i] >= 0x80) {
      len = utf8proc_iterate(p + i, n - i, &cp);
      if (len < 0) return false;
    }
    if (!f(static_cast<char32_t>(cp))) return true;
    i += len;
  }
  return true;
}

}  // namespace

long FindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t i = 0, n = static_cast<utf8proc_ssize_t>(s.size());
  while (i < n) {
    if (p[i] < 0x80) { ++i; continue; }
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate(p + i, n - i, &cp);
    if (len < 0) return static_cast<long>(i);
    i += len;
  }
  return -1;
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
  bool valid = ForEachCodePoint(s, [&](char32_t cp) { return blank = IsPythonSpace(cp); });
  return valid && blank;
}

bool HoldsPythonSpace(std::string_view s) {
  bool found = false;
  ForEachCodePoint(s, [&](char32_t cp) { return !(found = IsPythonSpace(cp)); });
  return found;
}

}  // namespace uer::core
