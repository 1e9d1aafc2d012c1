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

}  // namespace
}  // namespace uer::tasks
