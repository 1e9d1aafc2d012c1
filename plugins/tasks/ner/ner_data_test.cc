// The ner task's data side: labels, UER-py's TSV layout, the label map, entity counting.
#include "plugins/tasks/ner/ner_data.h"

#include <fstream>

#include "testing/test_util.h"

namespace uer::tasks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

class NerDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::uer::testing::TempDir("ner_data");
    auto v = core::Vocab::Load(::uer::testing::WriteUerVocab(dir_, "abcdxyz"));
    ASSERT_OK(v);
    vocab_ = std::make_shared<const core::Vocab>(*std::move(v));
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  std::string dir_;
  std::shared_ptr<const core::Vocab> vocab_;
};

TEST_F(NerDataTest, EntitiesCountedAsUerPyCountsThem) {
  NerLabels l = NerLabels::FromNames({"[PAD]", "O", "B-LOC", "I-LOC", "B-PER"});
  EntityCounts c;
  // gold: LOC(1..2), PER(4); pred: LOC(1..2) right, PER(4) extended over 5 (wrong), B at padding ignored.
  c.Add({1, 2, 3, 1, 4, 1, 0}, {1, 2, 3, 1, 4, 3, 2}, l);
  EXPECT_EQ(c.gold, 2);
  EXPECT_EQ(c.predicted, 2);
  EXPECT_EQ(c.correct, 1);
  EXPECT_DOUBLE_EQ(c.f1(), 0.5);
}

TEST_F(NerDataTest, NerDataAndLabelMap) {
  core::TaskReadOptions o;
  o.seq_length = 4;
  const std::string train = Write("ner.tsv", "text_a\tlabel\na b x\tB-LOC I-LOC O\nc d q z y\tO O O S-PER O\n");
  ASSERT_OK_AND_ASSIGN(NerLabels l, CollectNerLabels(train, o));
  EXPECT_THAT(l.names, ElementsAre("[PAD]", "B-LOC", "I-LOC", "O", "S-PER"));
  EXPECT_EQ(l.o_id, 3);
  ASSERT_OK_AND_ASSIGN(NerData d, ReadNerTsv(train, *vocab_, l, o));
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_THAT(d.examples[0].src, ElementsAre(104, 105, 108, 0));
  EXPECT_THAT(d.examples[0].label, ElementsAre(1, 2, 3, 0));
  EXPECT_EQ(d.examples[1].src[2], 100);  // "q" is not in the vocabulary: [UNK]
  EXPECT_EQ(d.examples[1].length, 4);
  ASSERT_OK(WriteNerLabels(dir_ + "/labels.json", l));
  ASSERT_OK_AND_ASSIGN(NerLabels back, ReadNerLabels(dir_ + "/labels.json"));
  EXPECT_EQ(back.names, l.names);

  const std::string mismatch = Write("mm.tsv", "text_a\tlabel\na b\tO\n");
  EXPECT_THAT(ReadNerTsv(mismatch, *vocab_, l, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(mismatch + ":2: 2 tokens but 1 labels")));
  const std::string unseen = Write("unseen.tsv", "text_a\tlabel\na b\tO B-ORG\n");
  EXPECT_THAT(ReadNerTsv(unseen, *vocab_, l, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(unseen + ":2: the label \"B-ORG\" does not occur in the training file")));
}

TEST_F(NerDataTest, ServedTextSplitsIntoCharactersOrAtSpacesWithCodePointOffsets) {
  std::vector<NerToken> spaced = SplitNerText("中国  ab");  // a space: run_ner's space-separated tokens
  ASSERT_EQ(spaced.size(), 2u);
  EXPECT_EQ(spaced[0].text, "中国");
  EXPECT_EQ(spaced[0].end, 2);
  EXPECT_EQ(spaced[1].text, "ab");
  EXPECT_EQ(spaced[1].start, 4);
  EXPECT_EQ(spaced[1].end, 6);
  std::vector<NerToken> chars = SplitNerText("中国ab");
  ASSERT_EQ(chars.size(), 4u);
  EXPECT_EQ(chars[2].text, "a");
  EXPECT_EQ(chars[3].start, 3);
}

TEST_F(NerDataTest, ServedEntitiesCarryTheirTextAndOffsets) {
  NerLabels l = NerLabels::FromNames({"[PAD]", "O", "B-LOC", "I-LOC", "B-PER"});
  std::vector<NerToken> t = SplitNerText("在北京见张三");
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[1].text, "北");
  EXPECT_EQ(t[1].start, 1);
  // O B-LOC I-LOC O B-PER I-LOC: PER runs on over the I- after it, as EntityCounts reads it.
  std::vector<core::ServedSpan> e = NerEntities(t, {1, 2, 3, 1, 4, 3}, {1, 0.8f, 0.6f, 1, 0.5f, 0.5f}, l);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].label, "LOC");
  EXPECT_EQ(e[0].text, "北京");
  EXPECT_EQ(e[0].start, 1);
  EXPECT_EQ(e[0].end, 3);
  EXPECT_NEAR(e[0].score, 0.7, 1e-6);
  EXPECT_EQ(e[1].label, "PER");
  EXPECT_EQ(e[1].text, "张三");
  EXPECT_EQ(e[1].start, 4);
  EXPECT_EQ(e[1].end, 6);
}

}  // namespace
}  // namespace uer::tasks
