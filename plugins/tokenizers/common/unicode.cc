#include "plugins/tokenizers/common/unicode.h"

#include <utf8proc.h>

namespace uer::tokenizers {
namespace {

utf8proc_category_t Category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

bool IsCased(char32_t cp) {
  auto c = Category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

bool IsCaseIgnorable(char32_t cp) {
  auto c = Category(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF ||
         c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_SK || cp == '\'' || cp == '.' ||
         cp == ':' || cp == 0x00B7 || cp == 0x2019;
}

}  // namespace

std::u32string DecodeUtf8(std::string_view s, long* bad_offset) {
  if (bad_offset) *bad_offset = -1;
  std::u32string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t i = 0, n = static_cast<utf8proc_ssize_t>(s.size());
  while (i < n) {
    if (p[i] < 0x80) {
      out.push_back(p[i++]);
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate(p + i, n - i, &cp);
    if (len < 0) {
      if (bad_offset && *bad_offset < 0) *bad_offset = static_cast<long>(i);
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(static_cast<char32_t>(cp));
    i += len;
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string* out) {
  utf8proc_uint8_t buf[4];
  utf8proc_ssize_t len = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  out->append(reinterpret_cast<const char*>(buf), len);
}

std::string EncodeUtf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) {
    if (cp < 0x80) out.push_back(static_cast<char>(cp));
    else AppendUtf8(cp, &out);
  }
  return out;
}

bool IsBertWhitespace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  return cp >= 0x80 && Category(cp) == UTF8PROC_CATEGORY_ZS;
}

bool IsBertControl(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  if (cp < 0x20 || cp == 0x7F) return true;
  if (cp < 0x80) return false;
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN:
      return true;
    default:
      return false;
  }
}

bool IsBertPunctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    return true;
  }
  if (cp < 0x80) return false;
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool IsChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::u32string PythonLower(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char32_t cp = s[i];
    if (cp < 0x80) {
      out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (cp == 0x0130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: "i" + COMBINING DOT ABOVE
      out.push_back('i');
      out.push_back(0x0307);
    } else if (cp == 0x03A3) {  // GREEK CAPITAL SIGMA: final form at the end of a word
      bool before = false, after = false;
      for (size_t j = i; j-- > 0;) {
        if (IsCaseIgnorable(s[j])) continue;
        before = IsCased(s[j]);
        break;
      }
      for (size_t j = i + 1; j < s.size(); ++j) {
        if (IsCaseIgnorable(s[j])) continue;
        after = IsCased(s[j]);
        break;
      }
      out.push_back(before && !after ? 0x03C2 : 0x03C3);
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
  }
  return out;
}

std::u32string StripAccents(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  utf8proc_int32_t buf[32];
  for (char32_t cp : s) {
    if (cp < 0xC0) {  // nothing below U+00C0 decomposes into a base and a mark
      out.push_back(cp);
      continue;
    }
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 32,
                                                 UTF8PROC_DECOMPOSE, &last);
    if (n < 0 || n > 32) {
      out.push_back(cp);
      continue;
    }
    for (utf8proc_ssize_t k = 0; k < n; ++k) {
      if (Category(buf[k]) != UTF8PROC_CATEGORY_MN) out.push_back(static_cast<char32_t>(buf[k]));
    }
  }
  return out;
}

std::u32string_view PythonStrip(std::u32string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && IsPythonSpace(s[b])) ++b;
  while (e > b && IsPythonSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace uer::tokenizers
