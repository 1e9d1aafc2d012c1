#include "core/vocab.h"

#include <fstream>

#include "testing/test_util.h"

namespace uer::core {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

std::string Write(const std::string& name, const std::string& text) {
  std::string path = ::uer::testing::TempDir("vocab") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(VocabTest, FindsSpecialTokensByString) {
  ASSERT_OK_AND_ASSIGN(Vocab v, Vocab::FromTokens({"a", "[PAD]", "[UNK]", "b", "[CLS]", "[SEP]", "[MASK]"}, "x"));
  EXPECT_EQ(v.pad_id(), 1);
  EXPECT_EQ(v.unk_id(), 2);
  EXPECT_EQ(v.cls_id(), 4);
  EXPECT_EQ(v.sep_id(), 5);
  EXPECT_EQ(v.mask_id(), 6);
  EXPECT_EQ(v.IdOrUnk("b"), 3);
  EXPECT_EQ(v.IdOrUnk("zzz"), 2);
  EXPECT_EQ(v.Token(3), "b");
}

TEST(VocabTest, LoadsFirstFieldOfEachLine) {
  std::string p = Write("counts.txt", "[PAD] 0\n[UNK]\t5\r\nhello 3\n");
  ASSERT_OK_AND_ASSIGN(Vocab v, Vocab::Load(p));
  EXPECT_EQ(v.size(), 3);
  EXPECT_EQ(v.Id("hello"), 2);
}

TEST(VocabTest, BadInputNamesFileAndLine) {
  EXPECT_THAT(Vocab::Load("/nonexistent/vocab.txt"),
              StatusIs(absl::StatusCode::kNotFound, "cannot open vocabulary /nonexistent/vocab.txt"));
  std::string empty = Write("empty.txt", "");
  EXPECT_THAT(Vocab::Load(empty), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is empty")));
  std::string dup = Write("dup.txt", "[UNK]\na\nb\na\n");
  EXPECT_THAT(Vocab::Load(dup), StatusIs(absl::StatusCode::kInvalidArgument, dup + ":4: token \"a\" repeats line 2"));
  std::string no_unk = Write("nounk.txt", "[PAD]\na\n");
  EXPECT_THAT(Vocab::Load(no_unk), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no [UNK] token")));
  std::string blank = Write("blank.txt", "[UNK]\n\na\n");
  EXPECT_THAT(Vocab::Load(blank), StatusIs(absl::StatusCode::kInvalidArgument, blank + ":2: empty line in vocabulary (one token a line)"));
}

TEST(VocabTest, GoogleChineseVocabularyGivesUerIds) {
  UER_REQUIRE_SHARED_DATA();
  ASSERT_OK_AND_ASSIGN(Vocab v, Vocab::Load(::uer::testing::SharedDir() + "/data/vocab/google_zh_vocab.txt"));
  EXPECT_EQ(v.size(), 21128);
  EXPECT_EQ(v.pad_id(), 0);
  EXPECT_EQ(v.unk_id(), 100);
  EXPECT_EQ(v.cls_id(), 101);
  EXPECT_EQ(v.sep_id(), 102);
  EXPECT_EQ(v.mask_id(), 103);
}

}  // namespace
}  // namespace uer::core
