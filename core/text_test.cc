#include "core/text.h"

#include <gtest/gtest.h>

namespace uer::core {
namespace {

TEST(TextTest, FindInvalidUtf8NamesTheFirstBadByte) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii"), -1);
  EXPECT_EQ(FindInvalidUtf8("\xe4\xb8\xad\xe6\x96\x87"), -1);   // 中文
  EXPECT_EQ(FindInvalidUtf8("ab\xff" "cd"), 2);                 // not a lead byte
  EXPECT_EQ(FindInvalidUtf8("\xe4\xb8\xad\xe4\xb8"), 3);        // truncated at the end
  EXPECT_EQ(FindInvalidUtf8("x\xc0\xaf"), 1);                   // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xed\xa0\x80"), 0);                // a surrogate
}

TEST(TextTest, PythonWhitespace) {
  for (char32_t cp : {0x09, 0x0A, 0x0D, 0x1C, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x3000}) {
    EXPECT_TRUE(IsPythonSpace(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
  for (char32_t cp : {0x00, 0x41, 0x200B, 0xFEFF, 0x4E2D}) {  // zero-width space and BOM are not
    EXPECT_FALSE(IsPythonSpace(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
}

TEST(TextTest, BlankAndHoldsSpace) {
  EXPECT_TRUE(IsBlank(""));
  EXPECT_TRUE(IsBlank(" \t\r\n"));
  EXPECT_TRUE(IsBlank("\xe3\x80\x80\xc2\xa0 "));  // ideographic space, no-break space
  EXPECT_FALSE(IsBlank(" x "));
  EXPECT_FALSE(IsBlank("\xff"));                    // invalid UTF-8 is not whitespace
  EXPECT_TRUE(HoldsPythonSpace("a b"));
  EXPECT_TRUE(HoldsPythonSpace("\xe2\x80\x83"));    // em space
  EXPECT_FALSE(HoldsPythonSpace("\xe4\xb8\xad"));
  EXPECT_FALSE(HoldsPythonSpace(""));
}

}  // namespace
}  // namespace uer::core
